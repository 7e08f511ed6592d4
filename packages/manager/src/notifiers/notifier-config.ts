import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { type Static, Type } from '@sinclair/typebox';
import type { SecretBox } from '../keys/secret-box.js';
import type { NotifierSettings, Severity, WebhookSettings, WebhookTarget } from '../store/store.js';

/** Severities in rising order; alerts use `warning` and `critical`, agent events all four. */
export const SEVERITIES = ['info', 'warning', 'error', 'critical'] as const satisfies readonly Severity[];

export function severityRank(s: string): number {
  const i = SEVERITIES.indexOf(s as Severity);
  return Math.max(i, 0);
}

/** Default ports: RFC 5426 (UDP 514), RFC 6587 / IANA syslog-conn (TCP 601), RFC 5425 (TLS 6514). */
export const SYSLOG_DEFAULT_PORTS = { udp: 514, tcp: 601, tls: 6514 } as const;

const Pem = Type.String({ minLength: 1, maxLength: 65536 });

const WebhookSection = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    /** Extra request headers, e.g. an Authorization token; shown redacted by the API. */
    headers: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$' }), Type.String({ maxLength: 4096 }), {
        maxProperties: 20,
      }),
    ),
    /** PEM CA(s) to trust for an https URL signed by a private CA; default the system's. */
    ca: Type.Optional(Pem),
    timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 120 })),
  },
  { additionalProperties: false },
);

const SyslogSection = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 253 }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    transport: Type.Union([Type.Literal('udp'), Type.Literal('tcp'), Type.Literal('tls')]),
    /** `plain` (a sentence, RFC 5424 structured data) or `cef` (ArcSight Common Event Format). */
    format: Type.Optional(Type.Union([Type.Literal('plain'), Type.Literal('cef')])),
    /** RFC 5424 facility 0-23; default 16 (local0). */
    facility: Type.Optional(Type.Integer({ minimum: 0, maximum: 23 })),
    /** PEM CA(s) to trust for `tls`; default the system's. The certificate must name `host`. */
    ca: Type.Optional(Pem),
  },
  { additionalProperties: false },
);

/** `POST /api/notifiers` body. */
export const NotifierBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    kind: Type.Union([Type.Literal('webhook'), Type.Literal('syslog')]),
    enabled: Type.Optional(Type.Boolean()),
    /** What to send; default both. */
    sources: Type.Optional(
      Type.Array(Type.Union([Type.Literal('alerts'), Type.Literal('events')]), {
        minItems: 1,
        maxItems: 2,
        uniqueItems: true,
      }),
    ),
    /** Send only alerts and events at least this severe; default `info` (everything). */
    minSeverity: Type.Optional(Type.Union(SEVERITIES.map((s) => Type.Literal(s)))),
    webhook: Type.Optional(WebhookSection),
    syslog: Type.Optional(SyslogSection),
  },
  { additionalProperties: false },
);
export type NotifierBody = Static<typeof NotifierBody>;

const FORBIDDEN_HEADERS = new Set(['host', 'content-length', 'content-type', 'transfer-encoding', 'connection']);

function pemProblem(pem: string): string | null {
  try {
    new X509Certificate(pem);
    return null;
  } catch (e) {
    return `is not a PEM certificate (${(e as Error).message})`;
  }
}

/** The purpose a webhook's URL and headers are sealed for (SecretBox additional data). */
const WEBHOOK_SECRET_PURPOSE = 'notifiers.webhook';

/**
 * A URL as the API shows it once stored: user name, password and query values masked, so a
 * token in any of them is never shown again (the path is shown: it names the receiver).
 */
export function maskedUrl(href: string): string {
  const url = new URL(href);
  if (url.username) url.username = '****';
  if (url.password) url.password = '****';
  if (url.search) {
    const masked = [...url.searchParams.keys()].map((k) => `${encodeURIComponent(k)}=****`).join('&');
    url.search = masked;
  }
  return url.href;
}

/** Seals a webhook's URL and header values with the master key; the masked URL and header names stay readable. */
export function sealWebhook(
  box: SecretBox,
  target: WebhookTarget,
): Pick<WebhookSettings, 'url' | 'headerNames' | 'secret'> {
  return {
    url: maskedUrl(target.url),
    headerNames: Object.keys(target.headers),
    secret: box.seal(JSON.stringify(target), WEBHOOK_SECRET_PURPOSE),
  };
}

/** The URL and header values a webhook sends with, opened from what is stored. */
export function openWebhook(box: SecretBox, w: WebhookSettings): WebhookTarget {
  return JSON.parse(box.openText(w.secret, WEBHOOK_SECRET_PURPOSE)) as WebhookTarget;
}

/**
 * Checks what the schema cannot (the section matches the kind, the URL, the CA) and fills in
 * defaults, sealing the webhook's URL and headers with `box`. Returns the reason a body is
 * unusable, or the settings to store.
 */
export function notifierSettingsFrom(
  body: NotifierBody,
  box: SecretBox,
): { settings: NotifierSettings } | { problem: string } {
  const common = { sources: body.sources ?? ['alerts', 'events'], minSeverity: body.minSeverity ?? 'info' } as const;
  if (body.kind === 'webhook') {
    const w = body.webhook;
    if (!w || body.syslog)
      return { problem: 'a webhook notifier takes a "webhook" section (url, headers, ca) and no "syslog" one' };
    let url: URL;
    try {
      url = new URL(w.url);
    } catch {
      return { problem: `webhook.url "${w.url}" is not a URL` };
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      return { problem: `webhook.url must be http:// or https://, got ${url.protocol}` };
    for (const [h, value] of Object.entries(w.headers ?? {})) {
      if (FORBIDDEN_HEADERS.has(h.toLowerCase())) return { problem: `webhook.headers may not set "${h}"` };
      // RFC 9110 §5.5: a field value holds no CR, LF or NUL; one would split the request (header injection).
      if (/[\r\n\0]/.test(value)) return { problem: `webhook.headers.${h} contains a line break or NUL` };
    }
    if (w.ca !== undefined) {
      if (url.protocol !== 'https:') return { problem: 'webhook.ca applies to https:// URLs only' };
      const p = pemProblem(w.ca);
      if (p) return { problem: `webhook.ca ${p}` };
    }
    return {
      settings: {
        ...common,
        kind: 'webhook',
        webhook: {
          ...sealWebhook(box, { url: url.href, headers: w.headers ?? {} }),
          ca: w.ca ?? null,
          timeoutSeconds: w.timeoutSeconds ?? 10,
        },
      },
    };
  }
  const s = body.syslog;
  if (!s || body.webhook)
    return {
      problem: 'a syslog notifier takes a "syslog" section (host, port, transport, format) and no "webhook" one',
    };
  if (!isIP(s.host) && !/^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$/.test(s.host)) {
    return { problem: `syslog.host "${s.host}" is not a host name or IP address` };
  }
  if (s.ca !== undefined) {
    if (s.transport !== 'tls') return { problem: 'syslog.ca applies to the tls transport only' };
    const p = pemProblem(s.ca);
    if (p) return { problem: `syslog.ca ${p}` };
  }
  return {
    settings: {
      ...common,
      kind: 'syslog',
      syslog: {
        host: s.host,
        port: s.port ?? SYSLOG_DEFAULT_PORTS[s.transport],
        transport: s.transport,
        format: s.format ?? 'plain',
        facility: s.facility ?? 16,
        ca: s.ca ?? null,
      },
    },
  };
}
