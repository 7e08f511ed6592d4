import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Where a command writes: the process's streams, or a test's buffers. */
export type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

/** A CLI mistake: printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `parseArgs` with errors turned into one-line usage errors naming the command. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  args: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>>['values'] {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError(`${command}: ${(e as Error).message.split('\n')[0]} (see --help)`);
  }
}

export function parsePort(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n > 65535) throw new UsageError(`--${name} "${v}" is not a port number (0-65535)`);
  return n;
}

export function parsePositiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[1-9][0-9]{0,8}$/.test(v)) throw new UsageError(`--${name} "${v}" is not a whole number ≥ 1`);
  return Number(v);
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30m`, `24h`, `7d`, `90s`, or `never` (returns null). */
export function parseDuration(name: string, v: string): number | null {
  if (v === 'never') return null;
  const m = /^([1-9][0-9]{0,6})([smhd])$/.exec(v);
  if (!m) throw new UsageError(`--${name} "${v}" is not a duration like 30m, 24h, 7d or never`);
  return Number(m[1]) * UNITS[m[2]!]!;
}
