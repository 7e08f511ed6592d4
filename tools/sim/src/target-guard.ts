import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Where a simulated fleet may send traffic: this machine's loopback (127.0.0.0/8, ::1) and the
 * benchmarking range 198.18.0.0/15 (RFC 2544 §C.2.2, RFC 6890) that the project's test
 * namespaces use. A load generator pointed anywhere else would be a flood, so it refuses.
 */
const ALLOWED = new BlockList();
ALLOWED.addSubnet('127.0.0.0', 8, 'ipv4');
ALLOWED.addSubnet('198.18.0.0', 15, 'ipv4');
ALLOWED.addAddress('::1', 'ipv6');

export function isAllowedTarget(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  const v4 = address.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i)?.[1];
  if (v4) return ALLOWED.check(v4, 'ipv4');
  return ALLOWED.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** Resolves `host` and throws unless every address it names is an allowed target. */
export async function checkTarget(host: string): Promise<void> {
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  const outside = addresses.filter((a) => !isAllowedTarget(a));
  if (addresses.length === 0 || outside.length > 0) {
    throw new Error(
      `"${host}" resolves to ${outside.join(', ') || 'nothing'}: palisade-sim only loads managers on loopback (127.0.0.0/8, ::1) or in test namespaces (198.18.0.0/15)`,
    );
  }
}
