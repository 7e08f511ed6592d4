import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { SyslogSettings } from '../store/store.js';
import type { DestinationGuard } from './destination-guard.js';
import type { Notification } from './notification.js';
import { DeliveryError, type NotifierTransport } from './notifier-transport.js';
import { formatSyslog, octetCounted } from './syslog-format.js';

/**
 * Largest datagram we send. RFC 5426 §3.2: receivers must take 480 octets (IPv4) and should take
 * 2048; beyond a few KiB IP fragments and many receivers truncate. Longer messages are cut here;
 * use TCP or TLS for them.
 */
export const UDP_MAX_BYTES = 8192;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Syslog delivery: RFC 5424 messages over UDP (RFC 5426, one message per datagram), TCP
 * (RFC 6587 octet counting) or TLS (RFC 5425, the same framing; TLS 1.2 or later, the
 * receiver's certificate checked against `ca` or the system's CAs and the host name).
 *
 * What "delivered" can mean differs: over TCP and TLS, the bytes were accepted by a live
 * connection (syslog has no application acknowledgement, so messages written in the instant a
 * receiver dies may be lost); over UDP, the datagram left. A receiver that is down is a refused
 * connection for TCP and TLS: nothing is marked delivered and the backlog waits.
 */
export class SyslogSender implements NotifierTransport {
  private stream: Socket | null = null;
  private udp: UdpSocket | null = null;
  private udpError: Error | null = null;

  constructor(
    private readonly s: SyslogSettings,
    private readonly manager: string,
    private readonly productVersion: string,
    /** Checks the receiver's address against the destination policy; absent: any (tests). */
    private readonly guard?: DestinationGuard,
  ) {}

  private format(n: Notification): string {
    return formatSyslog(n, {
      facility: this.s.facility,
      format: this.s.format,
      manager: this.manager,
      productVersion: this.productVersion,
    });
  }

  async deliver(items: readonly Notification[]): Promise<void> {
    if (items.length === 0) return;
    if (this.s.transport === 'udp') return this.deliverUdp(items);
    let socket: Socket;
    try {
      socket = await this.connected();
    } catch (e) {
      throw new DeliveryError(`${this.where()}: ${(e as Error).message}`, 0, { cause: e });
    }
    const frames = Buffer.concat(items.map((n) => octetCounted(this.format(n))));
    try {
      await new Promise<void>((resolve, reject) => {
        const onClose = () => reject(new Error('connection closed'));
        socket.once('close', onClose);
        socket.write(frames, (err) => {
          socket.off('close', onClose);
          if (err) reject(err);
          else resolve();
        });
      });
    } catch (e) {
      this.dropStream();
      throw new DeliveryError(`${this.where()}: ${(e as Error).message}`, 0, { cause: e });
    }
  }

  private where(): string {
    return `syslog ${this.s.transport}://${this.s.host}:${this.s.port}`;
  }

  /** The open stream, or a new one. A stream the receiver closed is replaced, not written to. */
  private connected(): Promise<Socket> {
    const open = this.stream;
    if (open && !open.destroyed && open.writable && !open.connecting) return Promise.resolve(open);
    this.dropStream();
    return new Promise((resolve, reject) => {
      try {
        this.guard?.assertLiteral(this.s.host, this.s.port);
      } catch (e) {
        reject(e);
        return;
      }
      const lookup = this.guard ? { lookup: this.guard.lookup(this.s.port) } : {};
      const secure = this.s.transport === 'tls';
      const socket = secure
        ? tlsConnect({
            host: this.s.host,
            port: this.s.port,
            ...(isIP(this.s.host) ? {} : { servername: this.s.host }),
            ...(this.s.ca ? { ca: this.s.ca } : {}),
            minVersion: 'TLSv1.2',
            ...lookup,
          })
        : netConnect({ host: this.s.host, port: this.s.port, ...lookup });
      socket.setTimeout(CONNECT_TIMEOUT_MS, () =>
        socket.destroy(new Error(`no connection within ${CONNECT_TIMEOUT_MS / 1000} s`)),
      );
      const fail = (e: Error) => {
        socket.destroy();
        reject(e);
      };
      socket.once('error', fail);
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        socket.off('error', fail);
        socket.setTimeout(0);
        socket.setKeepAlive(true, 60_000);
        // Receivers do not talk back; anything they send is read and dropped.
        socket.on('data', () => {});
        const gone = () => {
          socket.destroy();
          if (this.stream === socket) this.stream = null;
        };
        socket.on('error', gone);
        socket.on('end', gone);
        this.stream = socket;
        resolve(socket);
      });
    });
  }

  private dropStream(): void {
    this.stream?.destroy();
    this.stream = null;
  }

  private async deliverUdp(items: readonly Notification[]): Promise<void> {
    if (!this.udp) {
      const target = isIP(this.s.host)
        ? { address: this.s.host, family: isIP(this.s.host) }
        : await lookup(this.s.host).catch((e: Error) => {
            throw new DeliveryError(`${this.where()}: ${e.message}`, 0, { cause: e });
          });
      try {
        this.guard?.assertAllowed(this.s.host, target.address, this.s.port);
      } catch (e) {
        throw new DeliveryError(`${this.where()}: ${(e as Error).message}`, 0, { cause: e });
      }
      const udp = createSocket(target.family === 6 ? 'udp6' : 'udp4');
      // A connected socket gets ICMP port-unreachable back as an error on a later send, so a
      // receiver known to be down stops delivery (it cannot be known for the datagram before).
      udp.on('error', (e) => (this.udpError = e));
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.connect(this.s.port, target.address, () => {
          udp.off('error', reject);
          resolve();
        });
      }).catch((e: Error) => {
        udp.close();
        throw new DeliveryError(`${this.where()}: ${e.message}`, 0, { cause: e });
      });
      this.udp = udp;
    }
    const udp = this.udp;
    for (let i = 0; i < items.length; i++) {
      let buf = Buffer.from(this.format(items[i]!), 'utf8');
      if (buf.length > UDP_MAX_BYTES) buf = buf.subarray(0, UDP_MAX_BYTES);
      try {
        if (this.udpError) throw this.udpError;
        await new Promise<void>((resolve, reject) => udp.send(buf, (err) => (err ? reject(err) : resolve())));
      } catch (e) {
        this.udpError = null;
        this.udp.close();
        this.udp = null;
        throw new DeliveryError(`${this.where()}: ${(e as Error).message}`, i, { cause: e });
      }
    }
  }

  close(): void {
    this.dropStream();
    this.udp?.close();
    this.udp = null;
  }
}
