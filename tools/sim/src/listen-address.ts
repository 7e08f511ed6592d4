/**
 * Where simulated agent number `index` listens: an address of its own in 127.64.0.0/10, part of
 * loopback (127.0.0.0/8 is all this machine's on Linux, without configuring anything), so ten
 * thousand listeners can each use the agent's usual port, as ten thousand hosts would, and the
 * manager's dialer calls them the way it calls a fleet: one address per computer.
 * Indices 1 … 4,194,303 map to distinct addresses.
 */
export function listenAddress(index: number): string {
  if (!Number.isInteger(index) || index < 1 || index >= 1 << 22)
    throw new RangeError(`agent index ${index} has no listen address (1 to ${(1 << 22) - 1})`);
  return `127.${64 + (index >> 16)}.${(index >> 8) & 255}.${index & 255}`;
}
