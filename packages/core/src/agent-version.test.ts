import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cipherSuiteRowFor, KNOWN_BUILDS, parseAgentVersion } from './agent-version.js';
import { CIPHER_SUITE_ROWS } from './cipher-suites.js';

test('reads the numeric form: 9.x revision 2+ is SP1, 10+ has no service packs, patch/update unknown', () => {
  assert.deepEqual(parseAgentVersion('9.6.2-8207'), {
    product: 'deep-security',
    text: '9.6.2-8207',
    form: 'numeric',
    major: 9,
    minor: 6,
    servicePack: 1,
    patch: null,
    update: null,
    revision: 2,
    build: 8207,
  });
  assert.equal((parseAgentVersion('9.5.3-2754') as { servicePack: number }).servicePack, 1);
  assert.equal((parseAgentVersion('9.6.1-3000') as { servicePack: number }).servicePack, 0);
  assert.equal((parseAgentVersion('9.5.0-100') as { servicePack: number }).servicePack, 0);
  const v20 = parseAgentVersion(' 20.0.0-877 ');
  assert.equal(v20?.product, 'deep-security');
  assert.deepEqual([v20?.major, (v20 as { build: number }).build, v20?.text], [20, 877, '20.0.0-877']);
  // Trend Micro's pages also write the build after a dot.
  assert.equal((parseAgentVersion('12.0.0.967') as { build: number }).build, 967);
  assert.equal((parseAgentVersion('Deep Security Agent 10.0.0-2548') as { build: number }).build, 2548);
});

test('reads the descriptive form; a missing patch or update is 0', () => {
  assert.deepEqual(parseAgentVersion('9.6 SP1 P1 U5'), {
    product: 'deep-security',
    text: '9.6 SP1 P1 U5',
    form: 'descriptive',
    major: 9,
    minor: 6,
    servicePack: 1,
    patch: 1,
    update: 5,
    revision: null,
    build: null,
  });
  const long = parseAgentVersion('Deep Security Agent 9.5 Service Pack 1 Patch 3 Update 3');
  assert.deepEqual(
    [
      long?.major,
      long?.minor,
      (long as { servicePack: number }).servicePack,
      long?.patch,
      (long as { update: number }).update,
    ],
    [9, 5, 1, 3, 3],
  );
  const u16 = parseAgentVersion('10.0 U16');
  assert.deepEqual([u16?.major, u16?.minor, u16?.patch, (u16 as { update: number }).update], [10, 0, 0, 16]);
  assert.equal((parseAgentVersion('20') as { major: number }).major, 20);
  assert.equal((parseAgentVersion('12.0 LTS') as { minor: number }).minor, 0);
});

test('reads Palisade versions: prefixed, or a bare semver below 9 without a numeric build', () => {
  assert.deepEqual(parseAgentVersion('0.1.0'), {
    product: 'palisade',
    text: '0.1.0',
    major: 0,
    minor: 1,
    patch: 0,
    prerelease: null,
  });
  assert.equal(parseAgentVersion('palisade/0.1.0')?.product, 'palisade');
  assert.equal(parseAgentVersion('Palisade 12.3.4')?.product, 'palisade');
  assert.equal((parseAgentVersion('0.2.0-rc.1') as { prerelease: string }).prerelease, 'rc.1');
  // A numeric suffix is a Deep Security build; a bare 9+ version is Deep Security without a build.
  assert.equal(parseAgentVersion('0.1.0-5')?.product, 'deep-security');
  assert.equal(parseAgentVersion('9.5.3')?.product, 'deep-security');
});

test('rejects what is not a version', () => {
  for (const s of ['', '   ', 'latest', '10.0 SP1', '11.0 Patch 2', '9.6 U5 SP1', 'x'.repeat(65), '1.2.3.4.5']) {
    assert.equal(parseAgentVersion(s), undefined, JSON.stringify(s));
  }
});

/** Expected row per version, written from the spec's wording (lines 65–124), boundaries on both sides. */
const PLACEMENTS: ReadonlyArray<readonly [string, string, boolean?]> = [
  // 9.5 (line 67) / 9.5 SP1 – SP1 P3 U2 (line 70) / SP1 P3 U3 – 8 (line 74)
  ['9.5', 'ds-9.5'],
  ['9.5 P1', 'ds-9.5', true], // a pre-SP1 patch: not in the spec, the row before SP1
  ['9.5 SP1', 'ds-9.5-sp1'],
  ['9.5 SP1 P3 U2', 'ds-9.5-sp1'],
  ['9.5 SP1 P3 U3', 'ds-9.5-sp1-p3-u3'],
  ['9.5 SP1 P3 U8', 'ds-9.5-sp1-p3-u3'],
  ['9.5 SP1 P3 U9', 'ds-9.5-sp1-p3-u3', true],
  // 9.6 – 9.6 P1 (line 83) / 9.6 P2 – SP1 P1 U4 (line 86) / SP1 P1 U5 – 21 (line 90)
  ['9.6', 'ds-9.6'],
  ['9.6 P1', 'ds-9.6'],
  ['9.6 P1 U3', 'ds-9.6'],
  ['9.6 P2', 'ds-9.6-p2'],
  ['9.6 SP1', 'ds-9.6-p2'],
  ['9.6 SP1 P1 U4', 'ds-9.6-p2'],
  ['9.6 SP1 P1 U5', 'ds-9.6-sp1-p1-u5'],
  ['9.6 SP1 P1 U21', 'ds-9.6-sp1-p1-u5'],
  ['9.6 SP1 P1 U22', 'ds-9.6-sp1-p1-u5', true],
  // 10.0 up to U15 (line 99) / U16 and later (line 102)
  ['10.0', 'ds-10.0'],
  ['10.0 U15', 'ds-10.0'],
  ['10.0 U16', 'ds-10.0-u16'],
  ['10.0 Update 30', 'ds-10.0-u16'],
  ['10.3', 'ds-10.0-u16', true],
  // 11.0 up to U4 (line 108) / U6 and later (line 113); U5 is in neither — placed with U4
  ['11.0', 'ds-11.0'],
  ['11.0 U4', 'ds-11.0'],
  ['11.0 U5', 'ds-11.0', true],
  ['11.0 U6', 'ds-11.0-u6'],
  ['11.0 U23', 'ds-11.0-u6'],
  ['11.3', 'ds-11.0-u6', true],
  // 12.0 and 20 (line 119)
  ['12.0', 'ds-12.0'],
  ['12.0.0-1234', 'ds-12.0'],
  ['12.5', 'ds-12.0', true],
  ['20', 'ds-20'],
  ['20.0.0-877', 'ds-20'],
  ['20.0.1-3445', 'ds-20'],
  ['21.0.0-100', 'ds-20', true],
  ['30.1', 'ds-20', true],
  // numeric forms a single row (or a confirmed build) decides
  ['9.5.1-1500', 'ds-9.5'],
  ['9.6.2-8207', 'ds-9.6-sp1-p1-u5'], // = 9.6 SP1 P1 U13
  ['9.6.2-9000', 'ds-9.6-sp1-p1-u5'],
  ['10.0.0-2548', 'ds-10.0'], // = 10.0 U5
  ['10.0.0-100', 'ds-10.0'],
  ['11.0.0-1617', 'ds-11.0-u6'], // = 11.0 U23
  ['11.0.0-2061', 'ds-11.0-u6'],
  // our own agent
  ['0.1.0', 'palisade'],
  ['palisade/3.0.0', 'palisade'],
];

test("places every row's boundary versions in exactly that row", () => {
  for (const [text, rowId, beyond = false] of PLACEMENTS) {
    const p = cipherSuiteRowFor(text);
    assert.equal(p.kind, 'row', `${text}: ${JSON.stringify(p)}`);
    if (p.kind !== 'row') continue;
    assert.equal(p.row.id, rowId, text);
    assert.equal(p.beyondSpec, beyond, `${text} beyondSpec`);
  }
  // Every row of the table is reached by some version above.
  const reached = new Set(PLACEMENTS.map(([, id]) => id));
  assert.deepEqual(
    CIPHER_SUITE_ROWS.map((r) => r.id).filter((id) => !reached.has(id)),
    [],
  );
});

test('a numeric build that two rows could hold is ambiguous, never guessed', () => {
  const cases: ReadonlyArray<readonly [string, readonly string[]]> = [
    ['9.5.3-2754', ['ds-9.5-sp1', 'ds-9.5-sp1-p3-u3']],
    ['9.5.2-1000', ['ds-9.5-sp1', 'ds-9.5-sp1-p3-u3']],
    ['9.6.1-5000', ['ds-9.6', 'ds-9.6-p2']],
    ['9.6.2-8206', ['ds-9.6-p2', 'ds-9.6-sp1-p1-u5']],
    ['10.0.0-2549', ['ds-10.0', 'ds-10.0-u16']],
    ['11.0.0-1616', ['ds-11.0', 'ds-11.0-u6']],
    ['11.0.0', ['ds-11.0', 'ds-11.0-u6']],
  ];
  for (const [text, ids] of cases) {
    const p = cipherSuiteRowFor(text);
    assert.equal(p.kind, 'ambiguous', `${text}: ${JSON.stringify(p)}`);
    if (p.kind !== 'ambiguous') continue;
    assert.deepEqual(
      p.candidates.map((r) => r.id),
      ids,
      text,
    );
    assert.match(p.reason, /report the release instead/);
  }
});

test('unreadable versions and versions older than 9.5 are unknown, with a reason', () => {
  const garbage = cipherSuiteRowFor('latest');
  assert.equal(garbage.kind, 'unknown');
  assert.equal(garbage.version, null);
  assert.match(garbage.kind === 'unknown' ? garbage.reason : '', /not an agent version/);
  for (const old of ['9.0', '9.0.0-4000', '8.0 SP2', '9.1']) {
    const p = cipherSuiteRowFor(old);
    assert.equal(p.kind, 'unknown', old);
    assert.match(p.kind === 'unknown' ? p.reason : '', /older than Deep Security Agent 9\.5/, old);
  }
});

test('each confirmed build lands in the row its release belongs to', () => {
  for (const k of KNOWN_BUILDS) {
    const numeric = cipherSuiteRowFor(`${k.line.join('.')}-${k.build}`);
    const [major, minor, sp, patch, update] = k.level;
    const descriptive = cipherSuiteRowFor(
      `${major}.${minor}${sp ? ` SP${sp}` : ''}${patch ? ` P${patch}` : ''} U${update}`,
    );
    assert.equal(numeric.kind, 'row', k.source);
    assert.equal(descriptive.kind, 'row', k.source);
    if (numeric.kind === 'row' && descriptive.kind === 'row')
      assert.equal(numeric.row.id, descriptive.row.id, k.source);
  }
});

test('accepts an already parsed version', () => {
  const v = parseAgentVersion('11.0 U6')!;
  const p = cipherSuiteRowFor(v);
  assert.equal(p.kind === 'row' ? p.row.id : p.kind, 'ds-11.0-u6');
});
