import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareSemver } from './semver-order.js';

test('semver precedence follows SemVer 2.0.0 §11 (the example chain from the spec)', () => {
  const chain = [
    '1.0.0-alpha',
    '1.0.0-alpha.1',
    '1.0.0-alpha.beta',
    '1.0.0-beta',
    '1.0.0-beta.2',
    '1.0.0-beta.11',
    '1.0.0-rc.1',
    '1.0.0',
    '1.0.1',
    '1.2.0',
    '1.10.0',
    '2.0.0',
  ];
  for (let i = 0; i + 1 < chain.length; i++) {
    assert.ok(compareSemver(chain[i]!, chain[i + 1]!) < 0, `${chain[i]} < ${chain[i + 1]}`);
    assert.ok(compareSemver(chain[i + 1]!, chain[i]!) > 0, `${chain[i + 1]} > ${chain[i]}`);
  }
  assert.equal(compareSemver('1.0.0+build.1', '1.0.0'), 0);
  assert.ok(compareSemver('not a version', '0.0.1') < 0);
});
