import type { Server as NetServer } from 'node:net';
import type { TLSSocket, Server as TlsServer } from 'node:tls';
import { COMPUTER_STATUSES, deriveComputerStatus } from '@palisade/core';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type HeldCertificates, servedCertificate } from '../agent-endpoint/served-certificate.js';
import type { ComputerStatusGroup } from '../store/store.js';

/**
 * What the gauges read at each scrape. Each is optional: a part the manager runs without
 * (tests, a node without the dialer) leaves its gauge out rather than reporting zero.
 */
export interface MetricsSources {
  /** Computers by display status inputs (store.computerStatusCounts). */
  computerStatusCounts?: (now: number) => Promise<ComputerStatusGroup[]>;
  /** Alerts and events waiting per notifier (capped per source). */
  notifierBacklog?: () => Promise<Array<{ notifier: string; alerts: number; events: number }>>;
  /** Computers whose listener is due to be called now, and calls running on this node. */
  dialQueue?: (now: number) => Promise<{ due: number; inFlight: number }>;
  /**
   * The store's commits: group commits and the units of work they carried (ingest.ts), and the
   * write-ahead log syncs (null where the engine's commit syncs itself).
   */
  storeCommits?: () => { commits: number; units: number; logSyncs: number | null } | null;
  now?: () => number;
}

/**
 * Counts bumped on every heartbeat, kept by label values in a Map and added to their
 * prom-client counter when it is read (its `collect`, at each scrape): prom-client's own `inc`
 * hashes the labels, validates them and looks them up on every call, a few µs per heartbeat
 * under load for counts nobody reads between scrapes.
 */
class Tally<L extends string> {
  private readonly counts = new Map<string, { labels: Record<L, string>; n: number }>();

  /** One more for these label values; `key` names them uniquely (their values joined). */
  add(key: string, labels: () => Record<L, string>): void {
    const c = this.counts.get(key);
    if (c) c.n += 1;
    else this.counts.set(key, { labels: labels(), n: 1 });
  }

  /** Adds what was counted since the last call to `counter`. */
  flushInto(counter: Counter<L>): void {
    for (const c of this.counts.values())
      if (c.n > 0) {
        counter.inc(c.labels, c.n);
        c.n = 0;
      }
  }
}

/** Seconds buckets for latencies from sub-millisecond commits to multi-second stalls. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The manager's metrics in Prometheus' text format (`GET /metrics`, docs/monitoring.md
 * "Metrics"), on a registry of its own (prom-client's global one would mix two managers
 * started in one process, as tests do). Names are `palisade_…`, units in the name (`_seconds`,
 * `_bytes`), counters end in `_total` (Prometheus naming conventions).
 */
export class ManagerMetrics {
  readonly registry = new Registry();
  /** Heartbeats answered on the agent endpoint, by outcome (`ok`, `refused` 4xx, `busy` 503, `failed` other 5xx) and HTTP status. */
  readonly heartbeats: Counter<'outcome' | 'status'>;
  /** Activations answered, by outcome and HTTP status (503 = the activation queue was full). */
  readonly activations: Counter<'outcome' | 'status'>;
  /** TLS handshakes completed, by port, `full` or `resumed`, protocol, and the certificate key served. */
  readonly handshakes: Counter<'port' | 'session' | 'version' | 'certificate'>;
  /** TLS handshakes that failed (no shared protocol or suite, bad certificate, timeouts). */
  readonly handshakeFailures: Counter<'port'>;
  /** Connections or requests refused by a limit, by port and by which cap (connection caps, queues). */
  readonly refusals: Counter<'port' | 'cap'>;
  /** Events not acknowledged because their computer was over its event rate (the agent sends them again). */
  readonly eventsDeferred: Counter;
  /** Rows removed by retention, by table (`events`, `alerts`, `audit`, `outbox`). */
  readonly retentionPruned: Counter<'table'>;
  /** Agent events and alert notifications a row cap removed before every notifier delivered them. */
  readonly notifierItemsDropped: Counter<'source'>;
  /** Time from a heartbeat request's arrival to its reply, by who dialled. */
  readonly ingestSeconds: Histogram<'transport'>;
  /** Time of the heartbeat's store transaction (commit included). */
  readonly storeSeconds: Histogram;
  /** Agents' listeners this node called, by why (`schedule`, an action) and outcome (`ok` or the failure). */
  readonly dials: Counter<'reason' | 'outcome'>;

  /** What {@link heartbeats} and {@link handshakes} counted since they were last read. */
  private readonly heartbeatTally = new Tally<'outcome' | 'status'>();
  private readonly handshakeTally = new Tally<'port' | 'session' | 'version' | 'certificate'>();

  constructor(sources: MetricsSources = {}) {
    const registers = [this.registry];
    const now = sources.now ?? Date.now;
    collectDefaultMetrics({ register: this.registry, prefix: 'palisade_' });
    const heartbeatTally = this.heartbeatTally;
    this.heartbeats = new Counter({
      name: 'palisade_heartbeats_total',
      help: 'Heartbeats answered on the agent endpoint, by outcome and HTTP status',
      labelNames: ['outcome', 'status'],
      registers,
      collect() {
        heartbeatTally.flushInto(this);
      },
    });
    this.activations = new Counter({
      name: 'palisade_activations_total',
      help: 'Activations answered, by outcome and HTTP status',
      labelNames: ['outcome', 'status'],
      registers,
    });
    const handshakeTally = this.handshakeTally;
    this.handshakes = new Counter({
      name: 'palisade_tls_handshakes_total',
      help: 'TLS handshakes completed, by port, full or resumed session, protocol and certificate key',
      labelNames: ['port', 'session', 'version', 'certificate'],
      registers,
      collect() {
        handshakeTally.flushInto(this);
      },
    });
    this.handshakeFailures = new Counter({
      name: 'palisade_tls_handshake_failures_total',
      help: 'TLS handshakes that failed, by port',
      labelNames: ['port'],
      registers,
    });
    this.refusals = new Counter({
      name: 'palisade_refusals_total',
      help: 'Connections or requests refused by a limit, by port and cap',
      labelNames: ['port', 'cap'],
      registers,
    });
    this.eventsDeferred = new Counter({
      name: 'palisade_events_deferred_total',
      help: 'Events not acknowledged because their computer was over its event rate (the agent sends them again later)',
      registers,
    });
    this.retentionPruned = new Counter({
      name: 'palisade_retention_pruned_total',
      help: 'Rows removed by retention, by table (events, alerts, audit, outbox)',
      labelNames: ['table'],
      registers,
    });
    this.notifierItemsDropped = new Counter({
      name: 'palisade_notifier_items_dropped_total',
      help: 'Agent events and alert notifications removed by a retention row cap before every notifier delivered them',
      labelNames: ['source'],
      registers,
    });
    this.ingestSeconds = new Histogram({
      name: 'palisade_heartbeat_ingest_seconds',
      help: 'Time from a heartbeat request to its reply, by who dialled',
      labelNames: ['transport'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.storeSeconds = new Histogram({
      name: 'palisade_heartbeat_store_seconds',
      help: "Time of a heartbeat's store transaction, commit included",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.dials = new Counter({
      name: 'palisade_dials_total',
      help: "Agents' listeners this node called (Manager Initiated, Bidirectional), by reason and outcome",
      labelNames: ['reason', 'outcome'],
      registers,
    });
    const servers = new Map<string, NetServer>();
    this.servers = servers;
    new Gauge({
      name: 'palisade_open_connections',
      help: 'Connections open now, by port',
      labelNames: ['port'],
      registers,
      async collect() {
        this.reset();
        for (const [port, server] of servers) {
          const n = await new Promise<number>((resolve) => server.getConnections((e, count) => resolve(e ? 0 : count)));
          this.set({ port }, n);
        }
      },
    });
    if (sources.computerStatusCounts) {
      const read = sources.computerStatusCounts;
      new Gauge({
        name: 'palisade_computers',
        help: 'Computers by display status',
        labelNames: ['status'],
        registers,
        async collect() {
          const t = now();
          const by = new Map<string, number>(COMPUTER_STATUSES.map((s) => [s, 0]));
          for (const g of await read(t)) {
            const status = deriveComputerStatus({
              activated: true,
              deactivated: g.deactivated,
              vmStopped: g.vmStopped,
              offlineDeadline: g.offline ? t : null,
              now: t,
              updateInFlight: g.updating,
              expectedFingerprint: g.pending ? 'expected' : null,
              appliedFingerprint: null,
            });
            by.set(status, (by.get(status) ?? 0) + g.count);
          }
          for (const [status, n] of by) this.set({ status }, n);
        },
      });
    }
    if (sources.notifierBacklog) {
      const read = sources.notifierBacklog;
      new Gauge({
        name: 'palisade_notifier_backlog',
        help: 'Alerts and events waiting for each notifier (counted up to 10,000 per source)',
        labelNames: ['notifier', 'source'],
        registers,
        async collect() {
          this.reset();
          for (const b of await read()) {
            this.set({ notifier: b.notifier, source: 'alerts' }, b.alerts);
            this.set({ notifier: b.notifier, source: 'events' }, b.events);
          }
        },
      });
    }
    if (sources.dialQueue) {
      const read = sources.dialQueue;
      let last: Promise<{ due: number; inFlight: number }> | null = null;
      // Both gauges from one read per scrape.
      const once = () => {
        last ??= read(now()).finally(() => setTimeout(() => (last = null), 1_000).unref());
        return last;
      };
      new Gauge({
        name: 'palisade_dial_queue_depth',
        help: 'Computers whose listener is due to be called now (Manager Initiated, Bidirectional)',
        registers,
        async collect() {
          this.set((await once()).due);
        },
      });
      new Gauge({
        name: 'palisade_dials_in_flight',
        help: "Calls to agents' listeners running on this node",
        registers,
        async collect() {
          this.set((await once()).inFlight);
        },
      });
    }
    if (sources.storeCommits) {
      const read = sources.storeCommits;
      // Counters kept by the store and the ingest: each scrape sets them to the count so far.
      const counted = (name: string, help: string, value: (c: NonNullable<ReturnType<typeof read>>) => number | null) =>
        new Counter({
          name,
          help,
          registers,
          collect() {
            const c = read();
            const v = c ? value(c) : null;
            this.reset();
            if (v !== null) this.inc(v);
          },
        });
      counted(
        'palisade_store_group_commits_total',
        'Commits of units of work shared by concurrent exchanges',
        (c) => c.commits,
      );
      counted(
        'palisade_store_group_commit_units_total',
        'Units of work (reports, results) those commits carried',
        (c) => c.units,
      );
      counted(
        'palisade_store_log_syncs_total',
        'Syncs of the write-ahead log after commits (SQLite)',
        (c) => c.logSyncs,
      );
    }
  }

  private readonly servers: Map<string, NetServer>;

  /**
   * Counts a TLS server's handshakes (full or resumed, protocol, the certificate key it served)
   * and failures, and its open connections, under `port` (`4120`, `legacy`, `4119`). `held`: what
   * its contexts hold (served-certificate.ts), which can spare reading the certificate served.
   */
  watchTlsServer(server: TlsServer, port: string, held: HeldCertificates = 'unknown'): void {
    this.servers.set(port, server);
    server.on('secureConnection', (s: TLSSocket) => {
      const session = s.isSessionReused() ? 'resumed' : 'full';
      const version = s.getProtocol() ?? 'unknown';
      const certificate = servedCertificate(s, held);
      this.handshakeTally.add(`${port} ${session} ${version} ${certificate}`, () => ({
        port,
        session,
        version,
        certificate,
      }));
    });
    server.on('tlsClientError', () => this.handshakeFailures.inc({ port }));
  }

  /** Counts a reply of the agent endpoint by route. */
  observeAgentReply(route: string | undefined, status: number, seconds: number): void {
    const outcome = status < 400 ? 'ok' : status === 503 ? 'busy' : status < 500 ? 'refused' : 'failed';
    if (route === '/agent/v1/heartbeat') {
      this.heartbeatTally.add(String(status), () => ({ outcome, status: String(status) }));
      if (status < 400) this.ingestSeconds.observe({ transport: 'agent' }, seconds);
    } else if (route === '/agent/v1/activate') this.activations.inc({ outcome, status: String(status) });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
