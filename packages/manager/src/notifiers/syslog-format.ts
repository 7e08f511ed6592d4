import { type Notification, notificationHost, notificationSentence } from './notification.js';

export interface SyslogFormatOptions {
  /** RFC 5424 facility, 0-23. */
  facility: number;
  format: 'plain' | 'cef';
  /** This manager's host name: the HOSTNAME of messages about no computer, and `manager=` in SD. */
  manager: string;
  productVersion: string;
}

/**
 * RFC 5424 §6.2.1 severities. Clearing or dismissing an alert is good news whatever the
 * alert's severity, so it goes out as Notice rather than paging anyone a second time.
 */
function syslogSeverity(n: Notification): number {
  if (n.kind === 'alert' && n.action !== 'raised') return 5;
  return ({ critical: 2, error: 3, warning: 4, info: 6 } as Record<string, number>)[n.severity] ?? 6;
}

/** PRINTUSASCII (%d33-126) only, at most `max` characters; NILVALUE "-" when empty (RFC 5424 §6). */
function printable(s: string | null, max: number): string {
  const clean = (s ?? '').replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean === '' ? '-' : clean;
}

/** PARAM-VALUE escapes '"', '\' and ']' (RFC 5424 §6.3.3). */
function paramValue(s: string): string {
  return s.replace(/[\\"\]]/g, (c) => `\\${c}`);
}

/**
 * `palisade@32473`: private SD-IDs are `name@<private enterprise number>` (RFC 5424 §7.2.2);
 * 32473 is the number IANA reserves for documentation (RFC 5612). Receivers key on it as text.
 */
export const SD_ID = 'palisade@32473';

function structuredData(n: Notification, manager: string): string {
  const params: Array<[string, string | number | null]> =
    n.kind === 'alert'
      ? [
          ['kind', 'alert'],
          ['id', n.id],
          ['action', n.action],
          ['type', n.alert.type],
          ['severity', n.alert.severity],
          ['alertID', n.alert.ID],
          ['computerID', n.alert.computerID],
          ['subject', n.alert.subject],
          ['manager', manager],
        ]
      : [
          ['kind', 'event'],
          ['id', n.id],
          ['type', n.event.type],
          ['severity', n.event.severity],
          ['computerID', n.event.computerID],
          ['seq', n.event.seq],
          ['agentTime', new Date(n.event.agentTime).toISOString()],
          ['manager', manager],
        ];
  return `[${SD_ID}${params
    .filter(([, v]) => v !== null)
    .map(([k, v]) => ` ${k}="${paramValue(String(v))}"`)
    .join('')}]`;
}

/** CEF header fields escape '\' and '|'; extension values escape '\', '=' and line breaks. */
const cefHeader = (s: string) => s.replace(/[\\|]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ');
const cefValue = (s: string) =>
  s
    .replace(/[\\=]/g, (c) => `\\${c}`)
    .replace(/\r/g, '\\r')
    .replace(/\n/g, '\\n');

/** CEF 0-10: Low 0-3, Medium 4-6, High 7-8, Very-High 9-10. */
function cefSeverity(n: Notification): number {
  if (n.kind === 'alert' && n.action !== 'raised') return 3;
  return ({ critical: 10, error: 8, warning: 6, info: 3 } as Record<string, number>)[n.severity] ?? 3;
}

/**
 * ArcSight Common Event Format: `CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|ext`.
 * Extension keys are CEF's own (rt, dvchost, act, cat, msg, externalId, cs1/cs1Label, cn1/
 * cn1Label), so a SIEM maps them without a custom parser.
 */
export function cefMessage(n: Notification, productVersion: string): string {
  const ext: Array<[string, string | number | null]> =
    n.kind === 'alert'
      ? [
          ['rt', n.time],
          ['dvchost', n.alert.hostName],
          ['cat', 'alert'],
          ['act', n.action],
          ['externalId', n.id],
          ['cn1Label', 'alertID'],
          ['cn1', n.alert.ID],
          ['cs1Label', 'computerID'],
          ['cs1', n.alert.computerID === null ? null : String(n.alert.computerID)],
          ['cs2Label', n.alert.subject === null ? null : 'subject'],
          ['cs2', n.alert.subject],
          ['msg', n.alert.message],
        ]
      : [
          ['rt', n.time],
          ['start', n.event.agentTime],
          ['dvchost', n.event.hostName],
          ['cat', 'event'],
          ['externalId', n.id],
          ['cn1Label', 'seq'],
          ['cn1', n.event.seq],
          ['cs1Label', 'computerID'],
          ['cs1', String(n.event.computerID)],
          ['msg', n.event.message],
        ];
  const signature = n.kind === 'alert' ? n.alert.type : n.event.type;
  const name =
    n.kind === 'alert'
      ? `${n.alert.name}${n.action === 'raised' ? '' : ` ${n.action}`}`
      : n.event.message.slice(0, 128) || n.event.type;
  const header = ['CEF:0', 'Palisade', 'Palisade Manager', productVersion, signature, name, String(cefSeverity(n))].map(
    (f, i) => (i === 0 ? f : cefHeader(f)),
  );
  return `${header.join('|')}|${ext
    .filter(([, v]) => v !== null && v !== '')
    .map(([k, v]) => `${k}=${cefValue(String(v))}`)
    .join(' ')}`;
}

/**
 * One RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG`.
 * HOSTNAME is the computer the alert or event is about (its originator, §6.2.4), else this
 * manager; MSGID the alert or event type. MSG is plain text or CEF, without a BOM (MSG-ANY:
 * receivers differ on BOMs, and CEF parsers expect `CEF:` first).
 */
export function formatSyslog(n: Notification, o: SyslogFormatOptions): string {
  const pri = o.facility * 8 + syslogSeverity(n);
  const msgid = n.kind === 'alert' ? n.alert.type : n.event.type;
  const header = `<${pri}>1 ${new Date(n.time).toISOString()} ${printable(notificationHost(n) ?? o.manager, 255)} palisade - ${printable(msgid, 32)}`;
  const msg = o.format === 'cef' ? cefMessage(n, o.productVersion) : notificationSentence(n);
  return `${header} ${structuredData(n, o.manager)} ${msg.replace(/[\r\n]+/g, ' ')}`;
}

/** RFC 6587 §3.4.1 octet counting (also RFC 5425 §4.3 over TLS): `MSG-LEN SP SYSLOG-MSG`. */
export function octetCounted(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
