import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, describe, test } from 'node:test';
import { CertificateAuthority, createCertificateAuthority } from '../pki/certificate-authority.js';
import { type DeploymentScriptInput, deploymentScript, shq } from './deployment-script.js';

const shellcheck = spawnSync('shellcheck', ['--version']);
const noShellcheck =
  shellcheck.error || shellcheck.status !== 0 ? 'shellcheck is missing (apt-get install shellcheck)' : false;
if (noShellcheck && process.env.CI === 'true') throw new Error(`CI must check the scripts: ${noShellcheck}`);

describe('deployment script text', () => {
  let input: DeploymentScriptInput;
  before(async () => {
    const ca = await CertificateAuthority.load(await createCertificateAuthority());
    input = {
      platform: 'linux',
      managerHost: 'manager.example.com',
      apiPort: 4119,
      heartbeatPort: 4120,
      caPem: ca.certificatePem,
      caFingerprint: ca.fingerprint,
      packages: [
        {
          architecture: 'x86_64',
          version: '1.2.3',
          fileName: 'palisade-agent-1.2.3-linux-x86_64.tar.gz',
          sha256: 'ab'.repeat(32),
        },
      ],
      // A policy name that would break naive quoting (tokens are base64url: shq is tested on its own below).
      activation: {
        token: 'pat_Ab-_9',
        policyName: 'Web "front" $(x)',
        tokenId: 7,
        tokenLimits: '100 uses, expires 2030-01-01T00:00:00.000Z',
      },
      generatedAt: new Date(0),
    };
  });

  test('quotes any value into one shell word', () => {
    for (const v of ["it's", '$(rm -rf /)', '`x`', 'a\nb', '']) {
      const r = spawnSync('bash', ['-c', `printf %s ${shq(v)}`], { encoding: 'utf8' });
      assert.equal(r.stdout, v);
    }
  });

  test('the macOS script (launchd) is valid bash and shellcheck-clean; it cannot run here (docs/deployment.md)', {
    skip: noShellcheck,
  }, () => {
    const mac = deploymentScript({
      ...input,
      platform: 'macos',
      packages: [
        { ...input.packages[0]!, architecture: 'aarch64', fileName: 'palisade-agent-1.2.3-macos-aarch64.tar.gz' },
      ],
    });
    assert.match(mac, /launchctl bootstrap system/);
    assert.match(mac, /shasum -a 256/);
    assert.equal(spawnSync('bash', ['-n'], { input: mac }).status, 0);
    const sc = spawnSync('shellcheck', ['-s', 'bash', '-'], { input: mac, encoding: 'utf8' });
    assert.equal(sc.status, 0, sc.stdout);
  });

  test('the Linux script is shellcheck-clean with awkward names, and stops for a missing architecture', {
    skip: noShellcheck,
  }, () => {
    const s = deploymentScript(input);
    const sc = spawnSync('shellcheck', ['-s', 'bash', '-'], { input: s, encoding: 'utf8' });
    assert.equal(sc.status, 0, sc.stdout);
    assert.match(s, /aarch64 \| arm64\) fail "this manager holds no linux agent package for aarch64/);
  });

  test('refuses inputs it cannot write safely', () => {
    assert.throws(() => deploymentScript({ ...input, packages: [] }), /at least one package/);
    assert.throws(() => deploymentScript({ ...input, managerHost: 'a b' }), /not a host name/);
    assert.throws(() => deploymentScript({ ...input, caFingerprint: 'sha1:00' }), /sha256/);
    assert.throws(() => deploymentScript({ ...input, caPem: 'x' }), /PEM/);
  });
});
