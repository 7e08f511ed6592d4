/**
 * Agent version strings, and which row of the cipher-suite table a version belongs to.
 *
 * Deep Security agents report a numeric version `major.minor.revision-build` (`9.6.2-8207`,
 * `10.0.0-2548`, `20.0.0-877`); the spec's table speaks in releases ("9.6 SP1 Patch 1 Update 5").
 * Going from one to the other needs Trend Micro's build list, which we do not have. What we know,
 * and the convention we hold to where we do not:
 *
 * - 10.0 and later: revision is 0 and the update level is encoded only in the build number,
 *   which grows with each update of a line. (Confirmed: 10.0.0-2548 = 10.0 U5, 11.0.0-1617 =
 *   11.0 U23, 12.0.0-967 = 12.0 U8 — sources in {@link KNOWN_BUILDS}.)
 * - 9.5 / 9.6: revision 0 or 1 is the line without a service pack, 2 and up is SP1 (confirmed
 *   for 9.6: 9.6.2-8207 is 9.6 SP1 Patch 1 Update 13; for 9.5 the example `9.5.3-2754` is taken
 *   to be SP1 by the same rule — unconfirmed). Patch and update come only from the build.
 * - So a numeric version is placed by its line and by the confirmed builds; when its line spans
 *   two rows and no confirmed build decides, the answer is `ambiguous` with both rows — never a
 *   guess. An operator (or a simulator) can always give the release explicitly instead:
 *   `9.6 SP1 P1 U5`, `9.5 SP1 Patch 3 Update 3`, `10.0 U16`, `11.0 Update 6`, `12.0`, `20`.
 *
 * Palisade agents report their own semver (`0.1.0`). They are told apart by a `palisade/`
 * prefix (`palisade/0.1.0`, `Palisade 0.1.0`) or, without one, by being a bare three-part version
 * below 9 with no numeric build: every Deep Security version in the table starts at 9.5 and
 * reports a build. Once Palisade reaches 9.0 its agent must send the prefix.
 */
import { CIPHER_SUITE_ROWS, type CipherSuiteRow, type ReleaseLevel } from './cipher-suites.js';

/** A Deep Security agent version, in either form. */
export interface DeepSecurityAgentVersion {
  readonly product: 'deep-security';
  /** The string as given, trimmed. */
  readonly text: string;
  /** `numeric` = `9.6.2-8207`; `descriptive` = `9.6 SP1 P1 U5`. */
  readonly form: 'numeric' | 'descriptive';
  readonly major: number;
  readonly minor: number;
  /** 0 = none. For the numeric form derived from the revision (see the file comment). */
  readonly servicePack: number;
  /**
   * Null when the string does not say, which is always the case for the numeric form (the
   * build encodes it). In the descriptive form a missing `Patch`/`Update` means 0 (the release
   * itself: `10.0` is 10.0 GA).
   */
  readonly patch: number | null;
  readonly update: number | null;
  /** Numeric form: the third component (`9.6.2-8207` → 2). Null for the descriptive form. */
  readonly revision: number | null;
  /** Numeric form: the build (`9.6.2-8207` → 8207); null when absent or descriptive. */
  readonly build: number | null;
}

/** A Palisade agent version (semver). */
export interface PalisadeAgentVersion {
  readonly product: 'palisade';
  readonly text: string;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Semver pre-release tag (`0.2.0-rc.1` → `rc.1`), null for a release. */
  readonly prerelease: string | null;
}

export type AgentVersion = DeepSecurityAgentVersion | PalisadeAgentVersion;

/** A numeric build whose release we could confirm, used to place numeric versions. */
export interface KnownBuild {
  /** `major.minor.revision` of the numeric form. */
  readonly line: readonly [major: number, minor: number, revision: number];
  readonly build: number;
  readonly level: ReleaseLevel;
  /** Where it is written down. */
  readonly source: string;
}

/**
 * Builds confirmed from Trend Micro's own pages. Only builds that help place a version are
 * useful: at or after 9.6.2-8207 is past 9.6 SP1 P1 U5; at or before 10.0.0-2548 is before
 * 10.0 U16; at or after 11.0.0-1617 is past 11.0 U6. The row boundaries themselves (the first
 * build of 9.5 SP1 P3 U3, 9.6 SP1 P1 U5, 10.0 U16, 11.0 U6) are not published where we could
 * find them; add them here when they are, with the source.
 */
export const KNOWN_BUILDS: readonly KnownBuild[] = [
  {
    line: [9, 6, 2],
    build: 8207,
    level: [9, 6, 1, 1, 13],
    source: 'success.trendmicro.com/ja-JP/solution/KA-0008874: "9.6 … Patch 1 Update 13 (ビルド:9.6.2-8207)"',
  },
  {
    line: [10, 0, 0],
    build: 2548,
    level: [10, 0, 0, 0, 5],
    source: 'success.trendmicro.com/ja-JP/solution/KA-0008874: "10.0 Update 5 (ビルド:10.0.0-2548)"',
  },
  {
    line: [11, 0, 0],
    build: 1617,
    level: [11, 0, 0, 0, 23],
    source: 'help.deepsecurity.trendmicro.com/20_0/on-premise/agent-integrity-check.html: "11.0 update 23 (11.0.1617)"',
  },
  {
    line: [12, 0, 0],
    build: 967,
    level: [12, 0, 0, 0, 8],
    source: 'help.deepsecurity.trendmicro.com/20_0/on-premise/agent-integrity-check.html: "12.0 update 8 (12.0.0.967)"',
  },
];

const PALISADE_PREFIXED =
  /^palisade(?:\s*[/@ ]\s*|-)v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/i;
// A pre-release tag with a letter in it (`-dev.1`, `-rc.2`); a purely numeric suffix is a build.
const BARE_SEMVER = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]*[A-Za-z][0-9A-Za-z.-]*))?(?:\+[0-9A-Za-z.-]+)?$/;
const DS_NUMERIC = /^(?:deep\s+security(?:\s+agent)?\s+)?(\d+)\.(\d+)\.(\d+)(?:[-.](\d+))?$/i;
const DS_DESCRIPTIVE =
  /^(?:deep\s+security(?:\s+agent)?\s+)?(\d+)(?:\.(\d+))?(?:\s*(?:sp|service\s*pack)\s*(\d+))?(?:\s*(?:p|patch)\s*(\d+))?(?:\s*(?:u|update)\s*(\d+))?(?:\s+(?:lts|gm|ga))?$/i;

/** The first Deep Security major without service packs or patches. */
const FIRST_UPDATE_ONLY_MAJOR = 10;

function int(s: string | undefined): number | null {
  return s === undefined ? null : Number.parseInt(s, 10);
}

/**
 * Parses an agent version string. Returns undefined for anything it cannot read (empty,
 * free text, `10.0 SP1` — 10.0 and later have no service packs or patches).
 */
export function parseAgentVersion(input: string): AgentVersion | undefined {
  const text = input.trim();
  if (text === '' || text.length > 64) return undefined;

  const prefixed = PALISADE_PREFIXED.exec(text);
  const bare = prefixed ? null : BARE_SEMVER.exec(text);
  // Below 9 and without a build it cannot be a Deep Security agent of the table (file comment).
  const pal = prefixed ?? (bare && Number(bare[1]) < 9 ? bare : null);
  if (pal) {
    return {
      product: 'palisade',
      text,
      major: Number(pal[1]),
      minor: Number(pal[2]),
      patch: Number(pal[3]),
      prerelease: pal[4] ?? null,
    };
  }

  const num = DS_NUMERIC.exec(text);
  if (num) {
    const major = Number(num[1]);
    const minor = Number(num[2]);
    const revision = Number(num[3]);
    return {
      product: 'deep-security',
      text,
      form: 'numeric',
      major,
      minor,
      // 9.x: revision 0/1 = no service pack, 2+ = SP1 (file comment). 10+: no service packs.
      servicePack: major < FIRST_UPDATE_ONLY_MAJOR ? (revision >= 2 ? 1 : 0) : 0,
      patch: null,
      update: null,
      revision,
      build: int(num[4]),
    };
  }

  const desc = DS_DESCRIPTIVE.exec(text);
  if (desc) {
    const major = Number(desc[1]);
    const servicePack = int(desc[3]) ?? 0;
    const patch = int(desc[4]) ?? 0;
    if (major >= FIRST_UPDATE_ONLY_MAJOR && (servicePack !== 0 || patch !== 0)) return undefined;
    return {
      product: 'deep-security',
      text,
      form: 'descriptive',
      major,
      minor: int(desc[2]) ?? 0,
      servicePack,
      patch,
      update: int(desc[5]) ?? 0,
      revision: null,
      build: null,
    };
  }
  return undefined;
}

/** Where a version sits in the cipher-suite table. */
export type RowPlacement =
  | {
      readonly kind: 'row';
      readonly version: AgentVersion;
      readonly row: CipherSuiteRow;
      /**
       * The version is newer than the last release the spec vouches for in this row (21.0 →
       * the 20 row, 9.6 SP1 P1 U22 → the U5–21 row, 12.5 → the 12.0 row). We assume it offers
       * the row's suites — the newest list we have for it — but the spec does not say so.
       */
      readonly beyondSpec: boolean;
    }
  | {
      readonly kind: 'ambiguous';
      readonly version: AgentVersion;
      /** Every row the version may be in, oldest first (at least two). */
      readonly candidates: readonly CipherSuiteRow[];
      readonly reason: string;
    }
  | {
      readonly kind: 'unknown';
      /** Null when the string could not be parsed. */
      readonly version: AgentVersion | null;
      readonly reason: string;
    };

const END = Number.POSITIVE_INFINITY;

function compareLevels(a: ReleaseLevel, b: ReleaseLevel): number {
  for (let i = 0; i < 5; i++) {
    if (a[i]! !== b[i]!) return a[i]! < b[i]! ? -1 : 1;
  }
  return 0;
}

const maxLevel = (a: ReleaseLevel, b: ReleaseLevel): ReleaseLevel => (compareLevels(a, b) >= 0 ? a : b);
const minLevel = (a: ReleaseLevel, b: ReleaseLevel): ReleaseLevel => (compareLevels(a, b) <= 0 ? a : b);

type DeepSecurityRow = CipherSuiteRow & { readonly from: ReleaseLevel };
const DS_ROWS = CIPHER_SUITE_ROWS.filter((r) => r.from !== null) as readonly DeepSecurityRow[];
const PALISADE_ROW: CipherSuiteRow = CIPHER_SUITE_ROWS.find((r) => r.product === 'palisade')!;

/** Index of the last Deep Security row whose `from` is not after `level`; -1 when before them all. */
function rowIndexAt(level: ReleaseLevel): number {
  let found = -1;
  DS_ROWS.forEach((row, i) => {
    if (compareLevels(row.from, level) <= 0) found = i;
  });
  return found;
}

/** The lowest and highest release a Deep Security version can be. */
function levelBounds(v: DeepSecurityAgentVersion): readonly [ReleaseLevel, ReleaseLevel] {
  if (v.form === 'descriptive') {
    const level: ReleaseLevel = [v.major, v.minor, v.servicePack, v.patch ?? 0, v.update ?? 0];
    return [level, level];
  }
  let low: ReleaseLevel = [v.major, v.minor, v.servicePack, 0, 0];
  let high: ReleaseLevel = [v.major, v.minor, v.servicePack, END, END];
  if (v.build !== null) {
    for (const k of KNOWN_BUILDS) {
      if (k.line[0] !== v.major || k.line[1] !== v.minor || k.line[2] !== v.revision) continue;
      // Builds grow with each patch/update of a line, so a confirmed build bounds the release.
      if (v.build >= k.build) low = maxLevel(low, k.level);
      if (v.build <= k.build) high = minLevel(high, k.level);
    }
  }
  return [low, high];
}

/**
 * Places an agent version in exactly one row of {@link CIPHER_SUITE_ROWS}, or says why it
 * cannot: `ambiguous` (a numeric build between two rows, see the file comment) or `unknown`
 * (unparseable, or older than 9.5, the oldest row). Anything at or past 20 is the 20 row;
 * past 20.x it is flagged `beyondSpec`. Every Palisade version is the `palisade` row.
 */
export function cipherSuiteRowFor(version: string | AgentVersion): RowPlacement {
  const v = typeof version === 'string' ? parseAgentVersion(version) : version;
  if (v === undefined) {
    return {
      kind: 'unknown',
      version: null,
      reason: `"${String(version).slice(0, 64)}" is not an agent version we can read (expected e.g. 9.6.2-8207, 9.6 SP1 P1 U5, 20.0.0-877 or palisade/0.1.0)`,
    };
  }
  if (v.product === 'palisade') return { kind: 'row', version: v, row: PALISADE_ROW, beyondSpec: false };

  const [low, high] = levelBounds(v);
  const first = rowIndexAt(low);
  const last = rowIndexAt(high);
  if (first === -1) {
    return {
      kind: 'unknown',
      version: v,
      reason: `${v.text} is older than Deep Security Agent 9.5, the oldest version the spec lists`,
    };
  }
  if (first === last) {
    const row = DS_ROWS[first]!;
    return { kind: 'row', version: v, row, beyondSpec: row.through !== null && compareLevels(low, row.through) > 0 };
  }
  const candidates = DS_ROWS.slice(first, last + 1);
  return {
    kind: 'ambiguous',
    version: v,
    candidates,
    reason:
      `${v.text} may be ${candidates.map((r) => r.label).join(' or ')}: the release cannot be told from ` +
      `${v.build === null ? 'a version without a build' : 'the build number (where those rows start is not known)'}; ` +
      'report the release instead, e.g. "9.6 SP1 P1 U5"',
  };
}
