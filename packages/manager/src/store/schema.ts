import type { Generated } from 'kysely';

/**
 * Tables as Kysely sees them. Times are epoch milliseconds in BIGINT columns so that SQLite and
 * PostgreSQL store them alike; JSON documents are TEXT (the store never queries inside them).
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
  };
  activation_tokens: {
    id: Generated<number>;
    token_hash: string;
    policy_id: number;
    max_uses: number | null;
    uses: number;
    expires_at: number | null;
    created_at: number;
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
    uptime_seconds: number | null;
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
  };
  events: {
    id: Generated<number>;
    computer_id: number;
    seq: number;
    agent_time: number;
    received_at: number;
    type: string;
    severity: string;
    message: string;
    data: string | null;
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
}
