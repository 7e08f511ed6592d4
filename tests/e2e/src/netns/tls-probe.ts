// Run inside a test host's namespace: `node tls-probe.js HOST PORT TIMEOUT_MS`. Prints one JSON
// line: {"tcp": …, "tls": …, "error": …}.
//   tcp: the TCP handshake completed (nftables let the SYN through).
//   tls: the server completed its half of a TLS handshake — the listener served this peer (its
//        guard did not drop it). No client certificate is sent, so the listener refuses the peer
//        right after; that is the listener's business, not the firewall's.
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

const [host, portText, timeoutText] = process.argv.slice(2);
const timeoutMs = Number(timeoutText ?? 3000);
const result: { tcp: boolean; tls: boolean; error: string | null } = { tcp: false, tls: false, error: null };
let printed = false;
const finish = (error?: string) => {
  if (printed) return;
  printed = true;
  if (error && !result.error) result.error = error;
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
};
setTimeout(() => finish(result.tcp ? 'no TLS answer in time' : 'TCP connect timed out (dropped)'), timeoutMs).unref();

const socket = tcpConnect({ host: host!, port: Number(portText) });
socket.once('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
socket.once('connect', () => {
  result.tcp = true;
  const tls = tlsConnect({ socket, servername: 'palisade-agent', rejectUnauthorized: false });
  tls.once('secureConnect', () => {
    result.tls = true;
    tls.destroy();
    finish();
  });
  tls.once('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
  tls.once('close', () => finish('closed before TLS'));
});
