/**
 * Precedence of two semantic versions (`1.2.3`, `1.2.3-rc.1`), as Semantic Versioning 2.0.0
 * §11 orders them: major, minor, patch numerically; a pre-release sorts before its release;
 * pre-release identifiers compare one by one, numeric ones numerically and below alphanumeric
 * ones, a shorter list first when all before are equal. Build metadata (`+…`) is ignored.
 * Negative when `a` comes first, positive when `b` does, 0 when equal. Text that is not a
 * version sorts before every version, and among itself as strings, so a list stays ordered.
 */
export function compareSemver(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return pa ? 1 : pb ? -1 : a < b ? -1 : a > b ? 1 : 0;
  for (let i = 0; i < 3; i++) if (pa.core[i] !== pb.core[i]) return pa.core[i]! - pb.core[i]!;
  if (pa.pre.length === 0 || pb.pre.length === 0) return pb.pre.length - pa.pre.length;
  for (let i = 0; i < Math.min(pa.pre.length, pb.pre.length); i++) {
    const x = pa.pre[i]!;
    const y = pb.pre[i]!;
    if (x === y) continue;
    const nx = /^[0-9]+$/.test(x);
    const ny = /^[0-9]+$/.test(y);
    if (nx && ny) return Number(x) - Number(y);
    if (nx !== ny) return nx ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return pa.pre.length - pb.pre.length;
}

function parse(v: string): { core: number[]; pre: string[] } | null {
  const m = /^([0-9]+)\.([0-9]+)\.([0-9]+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(v.trim());
  if (!m) return null;
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ? m[4].split('.') : [] };
}
