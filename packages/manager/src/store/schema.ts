import type { Generated } from 'kysely';

/**
 * Every table as Kysely sees it: the one schema type of the store, matching the one migration
 * set (migrations/). Times are epoch milliseconds in BIGINT columns so that SQLite and PostgreSQL
 * store them alike; JSON documents are TEXT (the store never queries inside them). Only
 * repositories (repositories/) see this type; callers get records.
 */
export interface Database {
  system_settings: { key: string; value: string };
  certificate_authority: { id: number; certificate: string; private_key: string; created_at: number };
  policies: {
    id: Generated<number>;
    parent_id: number | null;
    name: string;
    description: string;
    created_at: number;
    updated_at: number;
  };
  policy_settings: { policy_id: number; name: string; value: string };
  computer_settings: { computer_id: number; name: string; value: string };
  api_keys: {
    id: Generated<number>;
    name: string;
    key_prefix: string;
    secret_hash: string;
    role: string;
    created_at: number;
    last_used_at: number | null;
    revoked_at: number | null;
    description: Generated<string>;
    locale: Generated<string>;
    time_zone: Generated<string>;
    expires_at: number | null;
    /** 1: Deep Security's `active: false` (kept, refused until unlocked). */
    locked: Generated<number>;
  };
  activation_tokens: {
    id: Generated<number>;
    token_hash: string;
    policy_id: number;
    max_uses: number | null;
    uses: number;
    expires_at: number | null;
    created_at: number;
    /** 0008_agent_lifecycle: see migration-0008-agent-lifecycle.ts. */
    revoked_at: number | null;
    description: string;
  };
  computers: {
    id: Generated<number>;
    host_name: string;
    platform: string;
    agent_version: string;
    policy_id: number;
    state: string;
    cert_serial: string;
    activated_at: number;
    deactivated_at: number | null;
    last_communication: number | null;
    offline_deadline: number | null;
    last_ip: string | null;
    clock_offset_ms: number | null;
    /** The host's uptime, seconds. */
    uptime_seconds: number | null;
    /** The agent's own uptime, seconds (migration 0017; null before an agent reports it). */
    agent_uptime_seconds: number | null;
    drivers: string;
    counters: string;
    expected_fingerprint: string | null;
    applied_fingerprint: string | null;
    events_acked_through: number;
    tls_protocol: string | null;
    tls_cipher_suite: string | null;
    /** 0003_monitoring: see migration-0003-monitoring.ts. */
    offline_since: number | null;
    vm_state: string | null;
    vm_state_source: string | null;
    vm_state_changed_at: number | null;
    clock_offset_change_ms: number | null;
    /** 0012_tls_certificate_type: see migration-0012-tls-certificate-type.ts. */
    tls_certificate_type: string | null;
  };
  events: {
    id: Generated<number>;
    computer_id: number;
    /**
     * The agent's numbering of `seq` ('' before epochs); unique (computer_id, epoch, seq), and
     * (epoch, seq) where not '' (migration 0020).
     */
    epoch: Generated<string>;
    seq: number;
    agent_time: number;
    received_at: number;
    type: string;
    severity: string;
    message: string;
    data: string | null;
    /** 0019: the inserting transaction on PostgreSQL (feed-position.ts); 0 on SQLite. */
    tx: Generated<number>;
  };
  operations: {
    id: Generated<number>;
    computer_id: number;
    type: string;
    fingerprint: string;
    payload: string;
    status: string;
    created_at: number;
    sent_at: number | null;
    completed_at: number | null;
    reason: string | null;
  };
  audit_events: {
    id: Generated<number>;
    time: number;
    actor: string;
    action: string;
    target_type: string;
    target_id: string;
    setting: string | null;
    old_value: string | null;
    new_value: string | null;
  };
  /** 0003_monitoring. */
  alerts: {
    id: Generated<number>;
    type: string;
    severity: string;
    computer_id: number | null;
    subject: string;
    message: string;
    data: string | null;
    raised_at: number;
    cleared_at: number | null;
    dismissed_at: number | null;
    dismissed_by: string | null;
  };
  alert_notifications: {
    id: Generated<number>;
    alert_id: number;
    action: string;
    time: number;
    /** 0019: the inserting transaction on PostgreSQL (feed-position.ts); 0 on SQLite. */
    tx: Generated<number>;
  };
  notifiers: {
    id: Generated<number>;
    name: string;
    kind: string;
    config: string;
    enabled: number;
    created_at: number;
    updated_at: number;
    alert_cursor: number;
    event_cursor: number;
    /** 0019: with alert_cursor, the alert outbox position delivered through (feed-position.ts). */
    alert_cursor_tx: Generated<number>;
    event_cursor_tx: Generated<number>;
    delivered_count: Generated<number>;
    last_delivered_at: number | null;
    failures: Generated<number>;
    last_error: string | null;
    last_error_at: number | null;
    next_attempt_at: Generated<number>;
    lease_owner: string | null;
    lease_until: number | null;
  };
  /** 0004_dialer: see migration-0004-dialer.ts. */
  dial_targets: {
    computer_id: number;
    expected_direction: string;
    applied_direction: string | null;
    listen_port: number | null;
    listen_address: string | null;
    default_port: number;
    next_dial_at: number | null;
    claim_token: string | null;
    claimed_until: number | null;
    last_dial_at: number | null;
    last_dial_ok_at: number | null;
    last_dial_error: string | null;
    dial_failures: number;
    updated_at: number;
  };
  /** 0005_firewall: see migration-0005-firewall.ts. */
  firewall_rules: { id: Generated<number>; name: string; rule: string; created_at: number; updated_at: number };
  policy_firewall_rules: { policy_id: number; rule_id: number; position: number };
  computer_firewall_rules: { computer_id: number; rule_id: number; position: number };
  /** 0010_firewall_lists: see migration-0010-firewall-lists.ts. */
  firewall_lists: {
    id: Generated<number>;
    kind: string;
    name: string;
    description: string;
    items: string;
    created_at: number;
    updated_at: number;
  };
  /** 0007_console: see migration-0007-console.ts. */
  console_users: {
    id: Generated<number>;
    name: string;
    password_hash: string;
    role: string;
    created_at: number;
    updated_at: number;
    disabled_at: number | null;
    last_sign_in_at: number | null;
    failed_sign_ins: Generated<number>;
    locked_until: number | null;
  };
  console_sessions: {
    id_hash: string;
    user_id: number;
    csrf_token: string;
    created_at: number;
    last_seen_at: number;
    expires_at: number;
  };
  /** 0008_agent_lifecycle: see migration-0008-agent-lifecycle.ts. */
  computer_identities: {
    computer_id: number;
    /** SHA-256 (hex) of the host identity secret. */
    host_guid: string;
    /** SHA-256 (hex) of the continuity token handed out last, and of the one before. */
    continuity_current: string | null;
    continuity_previous: string | null;
    clone_detected_at: number | null;
  };
  revoked_certificates: { serial: string; computer_id: number; revoked_at: number };
  agent_upgrades: {
    id: Generated<number>;
    computer_id: number;
    from_version: string;
    to_version: string;
    package_file: string;
    sha256: string;
    status: string;
    reason: string | null;
    requested_by: string;
    created_at: number;
    sent_at: number | null;
    completed_at: number | null;
  };
  /** 0009_versions: see migration-0009-versions.ts. */
  versions: { name: string; version: number };
  /** 0014_manager_nodes: see migration-0014-manager-nodes.ts. */
  manager_nodes: {
    id: Generated<number>;
    name: string;
    hostnames: string;
    agent_addresses: string;
    version: string;
    started_at: number;
    last_seen: number;
    offline_since: number | null;
  };
}
