import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { activate, StateDir } from '@palisade/agent';
import { ConsoleAuthService } from '@palisade/manager';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { AGENT_BIN } from '../cli.js';
import { activateTestAgent, startTestManager, type TestManager } from '../harness.js';
import { waitFor } from '../polling.js';

const CHROMIUM = '/usr/bin/chromium';
const root = new URL('../../../../', import.meta.url).pathname;
const built = existsSync(join(root, 'packages/console/dist/index.html'));
const DIRECTION = 'platformSettingAgentCommunicationsDirection';
const INACTIVE_VM = 'platformSettingHeartbeatInactiveVmOfflineAlertEnabled';
const SHIFT = 'platformSettingHeartbeatLocalTimeShiftAlertThreshold';
const DIRECTION_LABEL = 'Direction of Workload Security Manager to Agent/Appliance communication';
const PASSWORD = 'a long console passphrase';
/** Where screenshots go when asked for (scripts/console-screenshots.mjs): docs/console/*.png at 1280×800. */
const SHOTS = process.env.PALISADE_CONSOLE_SCREENSHOTS;
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// Under CI the suite must run: a missing browser or console build is a failure, not a skip.
const missing = !existsSync(CHROMIUM)
  ? `${CHROMIUM} (apt-get install chromium)`
  : !built
    ? 'the console build (npm run build)'
    : null;
if (missing && process.env.CI === 'true') throw new Error(`console browser suite needs ${missing}`);

describe('the web console in Chromium: the reference procedures, literally', { skip: missing ?? false }, () => {
  let m: TestManager;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  let base: string;
  let policyId: number;
  let computerId: number;
  let state: StateDir;
  const agents: ChildProcess[] = [];
  /** A real agent process (`palisade-agent start`), listening on loopback when its direction asks. */
  const startAgent = (dir: StateDir) => {
    const p = spawn(
      process.execPath,
      [AGENT_BIN, 'start', '--state-dir', dir.dir, '--listen-address', '127.0.0.1', '--listen-port', '0'],
      { stdio: 'ignore' },
    );
    agents.push(p);
  };
  const consoleErrors: string[] = [];

  const applied = () =>
    (state.appliedConfiguration()?.configuration as { communication?: { direction?: string } } | undefined)
      ?.communication?.direction;
  type SettingsView = Record<string, { value: string | null }>;
  const overrides = async (path: string) =>
    (await m.api('GET', `${path}?overrides=true`)).json<{
      policySettings: SettingsView;
      computerSettings: SettingsView;
    }>();

  /** Chromium logs a refusal the test provoked as a failed resource load: not a console fault. */
  function deliberate(status: number) {
    const i = consoleErrors.findIndex((e) => e.includes(`status of ${status}`));
    if (i >= 0) consoleErrors.splice(i, 1);
  }
  async function newPage(ctx: BrowserContext): Promise<Page> {
    const p = await ctx.newPage();
    p.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(`${p.url()}: ${msg.text()}`);
    });
    p.on('pageerror', (e) => consoleErrors.push(`${p.url()}: ${e.message}`));
    return p;
  }
  async function signIn(p: Page, name: string) {
    await p.goto(`${base}/`);
    await p.getByLabel('User name').fill(name);
    await p.getByLabel('Password').fill(PASSWORD);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { name: 'Dashboard' }).waitFor();
  }
  async function shot(p: Page, name: string) {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    await p.screenshot({ path: join(SHOTS, `${name}.png`) });
  }
  /** axe-core (WCAG 2.x A/AA rules) on the page as it is; serious and critical findings fail. */
  async function axe(p: Page, what: string) {
    await p.evaluate(axeSource);
    const r = (await p.evaluate(async () => {
      const a = (globalThis as unknown as { axe: { run: (o: unknown) => Promise<unknown> } }).axe;
      return a.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    })) as { violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> };
    const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(
      bad.map((v) => `${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
      [],
      `${what}: no serious accessibility violations`,
    );
  }
  /** "From the Computers or Policies menu, select a table row, then click the Details button." */
  async function openEditor(p: Page, menu: 'Computers' | 'Policies', row: string) {
    await p.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: menu }).click();
    await p.getByRole('heading', { name: menu, level: 1 }).waitFor();
    await p.getByRole('radio', { name: `Select ${row}` }).check();
    await p.getByRole('button', { name: 'Details' }).click();
    await p.getByRole('heading', { name: row, level: 1 }).waitFor();
  }
  /** "Go to Settings > General > Communication Direction." */
  async function settingsGeneral(p: Page) {
    await p
      .getByRole('navigation', { name: /editor/ })
      .getByRole('link', { name: 'Settings' })
      .click();
    await p.getByRole('tab', { name: 'General' }).click();
  }
  async function choose(p: Page, section: string, label: string, option: string | RegExp) {
    const group = p.getByRole('group', { name: section });
    const select = group.getByLabel(label);
    const options = await select.locator('option').allTextContents();
    const wanted = options.find((o) => (typeof option === 'string' ? o === option : option.test(o)));
    assert.ok(wanted, `"${String(option)}" among ${options.join(' | ')}`);
    await select.selectOption({ label: wanted });
  }
  async function save(p: Page) {
    await p.getByRole('button', { name: 'Save', exact: true }).click();
    await p.getByText(/^Saved\./).waitFor();
  }

  before(async () => {
    m = await startTestManager({ heartbeatIntervalSeconds: 600, dialer: { pollIntervalMs: 120_000 } });
    base = `https://localhost:${m.manager.apiPort}`;
    const users = new ConsoleAuthService(m.manager.store);
    await users.createUser('admin', 'full-access', PASSWORD, 'cli');
    await users.createUser('auditor', 'read-only', PASSWORD, 'cli');
    policyId = (
      await m.api('POST', '/api/policies', {
        name: 'Web servers',
        policySettings: { [DIRECTION]: { value: 'Bidirectional' } },
      })
    ).json<{ ID: number }>().ID;
    state = await activateTestAgent(m, { policy: 'Web servers', hostName: 'web-01' });
    startAgent(state);
    computerId = (await m.api('GET', '/api/computers')).json<{ computers: Array<{ ID: number }> }>().computers[0]!.ID;
    await waitFor('the agent applied Bidirectional', () => applied() === 'bidirectional', 30_000);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    // The manager's certificate is from its own CA, which this browser profile does not hold.
    admin = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    page = await newPage(admin);
  });
  after(async () => {
    const t0 = Date.now();
    const step = (what: string) =>
      process.env.PALISADE_TEST_LOG && console.error(`${what} after ${Date.now() - t0} ms`);
    await browser?.close();
    step('browser closed');
    await Promise.all(
      agents.map(
        (a) =>
          new Promise<void>((resolve) => {
            if (a.exitCode !== null || a.signalCode !== null) return resolve();
            a.once('exit', () => resolve());
            a.kill('SIGTERM');
            // Its final heartbeat is bounded; should it still hang, it is killed outright.
            setTimeout(() => a.kill('SIGKILL'), 15_000).unref();
          }),
      ),
    );
    step('agents stopped');
    await m?.close();
    step('manager closed');
  });

  test('sign in; the dashboard counts computers by status and updates live (server-sent events)', async () => {
    await signIn(page, 'admin');
    const online = page.locator('[data-status="Managed (Online)"]');
    await waitFor('one online computer on the dashboard', async () => (await online.textContent()) === '1', 20_000);
    await shot(page, 'dashboard');
    // Another computer activates and heartbeats: the tile changes without a reload.
    const second = await activateTestAgent(m, { policy: 'Web servers', hostName: 'web-02' });
    startAgent(second);
    const url = page.url();
    await waitFor('the dashboard shows two online computers', async () => (await online.textContent()) === '2', 30_000);
    assert.equal(page.url(), url, 'no navigation happened');
  });

  test('Policy: Policies → row → Details → Settings > General > Communication Direction → Manager Initiated → Save; the agent follows', async () => {
    await openEditor(page, 'Policies', 'Web servers');
    await settingsGeneral(page);
    await shot(page, 'policy-editor-settings');
    await choose(page, 'Communication Direction', DIRECTION_LABEL, 'Manager Initiated');
    await save(page);
    assert.equal((await overrides(`/api/policies/${policyId}`)).policySettings[DIRECTION]?.value, 'Manager Initiated');
    await waitFor('the agent applied Manager Initiated', () => applied() === 'manager-initiated', 30_000);
  });

  test('Computer: Computers → row → Details → … → Bidirectional → Save, then Inherited (showing what it inherits) → Save', async () => {
    await openEditor(page, 'Computers', 'web-01');
    await settingsGeneral(page);
    await choose(page, 'Communication Direction', DIRECTION_LABEL, 'Bidirectional');
    await save(page);
    assert.equal((await overrides(`/api/computers/${computerId}`)).computerSettings[DIRECTION]?.value, 'Bidirectional');
    await waitFor('the agent applied Bidirectional', () => applied() === 'bidirectional', 30_000);
    await shot(page, 'computer-editor-settings');
    // Inherited names the value and the policy it comes from.
    await choose(page, 'Communication Direction', DIRECTION_LABEL, 'Inherited (Manager Initiated)');
    await page.getByText('Inherited from Web servers: Manager Initiated.').waitFor();
    await save(page);
    assert.equal((await overrides(`/api/computers/${computerId}`)).computerSettings[DIRECTION]?.value, null);
    await waitFor('the agent is back on Manager Initiated', () => applied() === 'manager-initiated', 30_000);
  });

  test('Heartbeat: the interval and missed heartbeats are read-only; Raise Offline Errors For Inactive Virtual Machines → Yes → Save', async () => {
    await openEditor(page, 'Policies', 'Web servers');
    await settingsGeneral(page);
    const hb = page.getByRole('group', { name: 'Heartbeat' });
    assert.equal(await hb.getByLabel('Heartbeat Interval').inputValue(), '10 Minutes');
    assert.equal(await hb.getByLabel('Heartbeat Interval').getAttribute('readonly'), '');
    await choose(page, 'Heartbeat', 'Raise Offline Errors For Inactive Virtual Machines', 'Yes');
    await save(page);
    assert.equal((await overrides(`/api/policies/${policyId}`)).policySettings[INACTIVE_VM]?.value, 'true');
    assert.equal(
      (await m.api('GET', `/api/computers/${computerId}`)).json<{ computerSettings: SettingsView }>().computerSettings[
        INACTIVE_VM
      ]?.value,
      'true',
      'the computer inherits it',
    );
    // And back to Inherited on the policy: the Base Policy's No.
    await choose(page, 'Heartbeat', 'Raise Offline Errors For Inactive Virtual Machines', 'Inherited (No)');
    await save(page);
    assert.equal((await overrides(`/api/policies/${policyId}`)).policySettings[INACTIVE_VM]?.value, null);
  });

  test('a value the API refuses: its reason beside the field, and nothing of that Save stored', async () => {
    await openEditor(page, 'Policies', 'Web servers');
    await settingsGeneral(page);
    const hb = page.getByRole('group', { name: 'Heartbeat' });
    const shift = hb.getByLabel('Raise Alert when Local Time Shift exceeds (minutes)');
    // Two changes in one Save, one of them out of range: the manager refuses the whole write.
    await choose(page, 'Heartbeat', 'Raise Offline Errors For Inactive Virtual Machines', 'Yes');
    await shift.fill('1000000');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const reason = hb.getByRole('alert');
    await reason.waitFor();
    assert.match(
      (await reason.textContent()) ?? '',
      /takes "Unlimited" or a whole number of minutes from 1 to 999999, got "1000000"/,
    );
    // Beside that field: its error is what describes it.
    const describedBy = (await shift.getAttribute('aria-describedby')) ?? '';
    assert.ok(describedBy.split(' ').includes((await reason.getAttribute('id')) ?? '-'), describedBy);
    assert.equal(await shift.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByText(/^Saved\./).count(), 0);
    const held = (await overrides(`/api/policies/${policyId}`)).policySettings;
    assert.deepEqual([held[SHIFT]?.value, held[INACTIVE_VM]?.value], [null, null], 'nothing saved');
    deliberate(400);
    await shot(page, 'policy-editor-field-error');
    // Corrected: saved, and the error is gone.
    await shift.fill('30');
    await save(page);
    assert.equal(await reason.count(), 0);
    const now = (await overrides(`/api/policies/${policyId}`)).policySettings;
    assert.deepEqual([now[SHIFT]?.value, now[INACTIVE_VM]?.value], ['30', 'true']);
    // Back to Inherited: the field emptied, the other one chosen back.
    await shift.fill('');
    await choose(page, 'Heartbeat', 'Raise Offline Errors For Inactive Virtual Machines', 'Inherited (No)');
    await save(page);
    const back = (await overrides(`/api/policies/${policyId}`)).policySettings;
    assert.deepEqual([back[SHIFT]?.value, back[INACTIVE_VM]?.value], [null, null]);
  });

  test('leaving an editor with unsaved changes asks first, and staying keeps them', async () => {
    await openEditor(page, 'Policies', 'Web servers');
    await settingsGeneral(page);
    await choose(page, 'Communication Direction', DIRECTION_LABEL, 'Bidirectional');
    await page.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'Computers' }).click();
    await page.getByRole('alertdialog', { name: 'Leave without saving?' }).waitFor();
    await page.getByRole('button', { name: 'Stay' }).click();
    assert.match(page.url(), /\/policies\/\d+\/settings$/);
    await page.getByRole('button', { name: 'Undo changes' }).click();
    assert.equal((await overrides(`/api/policies/${policyId}`)).policySettings[DIRECTION]?.value, 'Manager Initiated');
  });

  test('the hidden listening-port rule shows, and so does the rule that replaces it', async () => {
    await openEditor(page, 'Computers', 'web-01');
    await page
      .getByRole('navigation', { name: /editor/ })
      .getByRole('link', { name: 'Firewall' })
      .click();
    const rules = page.getByRole('table', { name: 'Rules in effect' });
    await rules.getByText('Hidden rule', { exact: true }).waitFor();
    type Effective = { listeningPort: number; hiddenRuleReplacedBy: number | null };
    const port = (await m.api('GET', `/api/computers/${computerId}/firewall/effective`)).json<Effective>()
      .listeningPort;
    const rule = (
      await m.api('POST', '/api/firewallrules', {
        name: 'Manager only to the agent port',
        action: 'bypass',
        priority: '4',
        direction: 'incoming',
        frameType: 'ip',
        protocol: 'tcp',
        destinationPortType: 'multiple',
        destinationPortMultiple: [String(port)],
        sourceIPType: 'single',
        sourceIPValue: '127.0.0.1',
      })
    ).json<{ ID: number; name: string }>();
    // Assigned in the console: the computer's Firewall page, Assigned rules, Save.
    await page.reload();
    await page.getByRole('checkbox', { name: /Manager only to the agent port/ }).check();
    await page.getByRole('region', { name: 'Assigned rules' }).getByRole('button', { name: 'Save' }).click();
    await rules.getByText('Replaces the hidden rule').waitFor();
    await page.getByText(`replaced by “${rule.name}” (rule ${rule.ID})`).waitFor();
    assert.equal(await rules.getByText('Hidden rule', { exact: true }).count(), 0);
    assert.equal(
      (await m.api('GET', `/api/computers/${computerId}/firewall/effective`)).json<Effective>().hiddenRuleReplacedBy,
      rule.ID,
    );
    await shot(page, 'computer-editor-firewall');
  });

  test('a rule that names IP and port lists: the editor shows the lists by name, and saving keeps them', async () => {
    const list = async (path: string, name: string, items: string[]) =>
      (await m.api('POST', path, { name, items })).json<{ ID: number }>().ID;
    const admins = await list('/api/iplists', 'Admin hosts', ['198.18.0.10', '198.18.1.0/24']);
    const jump = await list('/api/iplists', 'Jump hosts', ['198.18.2.1 - 198.18.2.9']);
    const ports = await list('/api/portlists', 'Admin ports', ['22', '8443']);
    type Rule = Record<string, unknown> & { ID: number };
    const rule = (
      await m.api('POST', '/api/firewallrules', {
        name: 'Admin access',
        action: 'allow',
        priority: '2',
        direction: 'incoming',
        frameType: 'ip',
        protocol: 'tcp',
        sourceIPType: 'ip-list',
        sourceIPListID: admins,
        destinationPortType: 'port-list',
        destinationPortListID: ports,
        // A member the form does not show: a save must not reset it.
        anyFlags: false,
        tcpflags: ['syn'],
      })
    ).json<Rule>();
    const stored = async () => (await m.api('GET', `/api/firewallrules/${rule.ID}`)).json<Rule>();
    // Policies menu → Firewall Rules: the table names the lists.
    await page.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'Policies' }).click();
    await page.getByRole('navigation', { name: 'Policies' }).getByRole('link', { name: 'Firewall Rules' }).click();
    await page.getByRole('heading', { name: 'Firewall Rules', level: 1 }).waitFor();
    const row = page.getByRole('row', { name: /Admin access/ });

    await row.getByText('IP list Admin hosts').waitFor();
    await row.getByText('port list Admin ports').waitFor();
    await page.getByRole('radio', { name: 'Select Admin access' }).check();
    await page.getByRole('button', { name: 'Details' }).click();
    await page.getByRole('heading', { name: 'Admin access', level: 1 }).waitFor();
    const selected = async (label: string) =>
      page.getByLabel(label, { exact: true }).locator('option:checked').textContent();
    await waitFor(
      'the source IP list is shown by name',
      async () => (await selected('Source IP list')) === 'Admin hosts',
      10_000,
    );
    assert.equal(await selected('Source IP'), 'IP list');
    assert.equal(await selected('Destination ports'), 'Port list');
    assert.equal(await selected('Destination port list'), 'Admin ports');
    assert.equal(await selected('Source MAC'), 'Any');
    await page.getByText('2 items: 198.18.0.10, 198.18.1.0/24').waitFor();
    // The lists of the kind are offered by name.
    const offered = await page.getByLabel('Source IP list', { exact: true }).locator('option').allTextContents();
    assert.deepEqual(offered.filter((o) => o !== 'Choose…').sort(), ['Admin hosts', 'Jump hosts']);
    await page.getByRole('group', { name: 'Packet source and destination' }).scrollIntoViewIfNeeded();
    await shot(page, 'firewall-rule-editor');

    // An edit elsewhere in the rule keeps both lists (and the TCP flags the form does not show).
    await page.getByLabel('Description').fill('SSH and the admin UI from the admin hosts');
    await save(page);
    let r = await stored();
    assert.equal(r.description, 'SSH and the admin UI from the admin hosts');
    assert.deepEqual(
      [r.sourceIPType, r.sourceIPListID, r.destinationPortType, r.destinationPortListID, r.tcpflags],
      ['ip-list', admins, 'port-list', ports, ['syn']],
    );
    // Another list, chosen by name; then the ports as entries typed in.
    await page.getByLabel('Source IP list', { exact: true }).selectOption({ label: 'Jump hosts' });
    await save(page);
    r = await stored();
    assert.deepEqual([r.sourceIPType, r.sourceIPListID], ['ip-list', jump]);
    await page.getByLabel('Destination ports', { exact: true }).selectOption({ label: 'Entries' });
    await page.getByLabel('Destination ports entries').fill('22, 8443');
    await save(page);
    r = await stored();
    assert.deepEqual(
      [r.sourceIPType, r.sourceIPListID, r.destinationPortType, r.destinationPortMultiple, r.destinationPortListID],
      ['ip-list', jump, 'multiple', ['22', '8443'], undefined],
    );
  });

  test('Policies > IP Lists: New with the reasons beside the fields; Delete refused while a rule names the list', async () => {
    type List = { ID: number; name: string; items: string[] };
    const lists = async () => (await m.api('GET', '/api/iplists')).json<{ ipLists: List[] }>().ipLists;
    await page.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'Policies' }).click();
    await page.getByRole('navigation', { name: 'Policies' }).getByRole('link', { name: 'IP Lists' }).click();
    await page.getByRole('heading', { name: 'IP Lists', level: 1 }).waitFor();
    await page.getByRole('row', { name: /Jump hosts/ }).waitFor();
    await page.getByRole('button', { name: 'New', exact: true }).click();
    await page.getByRole('heading', { name: 'New IP list', level: 1 }).waitFor();
    await page.getByLabel('Name').fill('Jump hosts');
    await page.getByLabel('Items').fill('198.18.4.0/24\n198.18.4.300 # typo');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const itemsError = page.getByRole('alert').filter({ hasText: /items\[1\]: .*198\.18\.4\.300/ });
    await itemsError.waitFor();
    deliberate(400);
    const describedBy = await page.getByLabel('Items').getAttribute('aria-describedby');
    assert.ok(describedBy?.includes((await itemsError.getAttribute('id')) ?? '-'), 'tied to the Items field');
    await page.getByLabel('Items').fill('198.18.4.0/24\n198.18.5.1 # the printer');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'another list of that kind already has that name' }).waitFor();
    deliberate(409);
    assert.deepEqual(
      (await lists()).map((l) => l.name),
      ['Admin hosts', 'Jump hosts'],
      'nothing stored by the refusals',
    );
    await page.getByLabel('Name').fill('Office');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText(/^Saved\./).waitFor();
    await page.getByRole('heading', { name: 'Office', level: 1 }).waitFor();
    assert.deepEqual((await lists()).find((l) => l.name === 'Office')?.items, [
      '198.18.4.0/24',
      '198.18.5.1 # the printer',
    ]);
    await axe(page, 'IP list editor');
    await shot(page, 'ip-list-editor');
    // Delete: refused with the manager's reason while a rule names the list; done when none does.
    await page.getByRole('navigation', { name: 'Policies' }).getByRole('link', { name: 'IP Lists' }).click();
    await page.getByRole('radio', { name: 'Select Jump hosts' }).check();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByText(/^Not deleted: .*named by firewall rule \d+ \("Admin access"\)/).waitFor();
    deliberate(409);
    await axe(page, 'IP lists');
    await shot(page, 'ip-lists');
    await page.getByRole('radio', { name: 'Select Office' }).check();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('radio', { name: 'Select Office' }).waitFor({ state: 'detached' });
    assert.deepEqual(
      (await lists()).map((l) => l.name),
      ['Admin hosts', 'Jump hosts'],
    );
  });

  test("Administration > Notifiers: Send test reaches the receiver; a dead receiver's reason is shown", async () => {
    // A webhook receiver on loopback, and a port nothing listens on (bound, then closed).
    const received: Array<{ event?: { type?: string; message?: string } }> = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    const listen = async (s: Server) => {
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
      return (s.address() as AddressInfo).port;
    };
    const port = await listen(receiver);
    const closed = createServer();
    const deadPort = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    type Notifier = { ID: number; name: string; delivery: { failures: number } };
    // Loopback receivers must be listed: notifiers refuse special-use addresses by default (docs/security.md).
    const allow = await m.api('POST', '/api/systemsettings/palisadeSettingNotifierDestinationAllowList', {
      value: '127.0.0.1',
    });
    assert.equal(allow.status, 200);
    try {
      await page.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'Administration' }).click();
      await page.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: 'Notifiers' }).click();
      const section = page.getByRole('region', { name: 'Notifiers' });
      await section.getByLabel('Name').fill('Ops webhook');
      await section.getByLabel('URL').fill(`http://127.0.0.1:${port}/hook`);
      await section.getByRole('button', { name: 'New notifier' }).click();
      await section
        .getByRole('row', { name: /Ops webhook/ })
        .getByRole('button', { name: 'Send test' })
        .click();
      await section.getByText('“Ops webhook”: The webhook receiver took the test message.').waitFor();
      // The manager's refusals of a new notifier, each beside the field it concerns.
      const beside = async (label: string, reason: RegExp) => {
        const error = section.getByRole('alert').filter({ hasText: reason });
        await error.waitFor();
        const describedBy = await section.getByLabel(label, { exact: true }).getAttribute('aria-describedby');
        assert.ok(describedBy?.includes((await error.getAttribute('id')) ?? '-'), `${reason} tied to ${label}`);
      };
      await section.getByLabel('Name').fill('Ops webhook');
      await section.getByLabel('URL').fill('ftp://127.0.0.1/hook');
      await section.getByRole('button', { name: 'New notifier' }).click();
      await beside('URL', /webhook\.url must be http:\/\/ or https:\/\//);
      deliberate(400);
      await section.getByLabel('URL').fill(`http://127.0.0.1:${port}/other`);
      await section.getByRole('button', { name: 'New notifier' }).click();
      await beside('Name', /another notifier already has that name/);
      deliberate(409);
      assert.equal((await m.api('GET', '/api/notifiers')).json<{ notifiers: Notifier[] }>().notifiers.length, 1);
      const got = await waitFor(
        'the receiver got the test message',
        () => received.find((r) => r.event?.type === 'notifier-test'),
        10_000,
      );
      assert.match(got.event?.message ?? '', /to notifier "Ops webhook", sent by user admin/);
      // A receiver that is gone: the reason is shown, and the notifier's delivery state is untouched.
      const gone = (
        await m.api('POST', '/api/notifiers', {
          name: 'Gone',
          kind: 'webhook',
          enabled: false,
          webhook: { url: `http://127.0.0.1:${deadPort}/` },
        })
      ).json<Notifier>();
      await page.reload();
      await section.getByRole('row', { name: /Gone/ }).getByRole('button', { name: 'Send test' }).click();
      await section.getByText(/^Test of “Gone” failed: .*ECONNREFUSED/).waitFor();
      deliberate(502);
      await shot(page, 'administration-notifiers');
      assert.equal((await m.api('GET', `/api/notifiers/${gone.ID}`)).json<Notifier>().delivery.failures, 0);
    } finally {
      receiver.close();
      const all = (await m.api('GET', '/api/notifiers')).json<{ notifiers: Notifier[] }>().notifiers;
      for (const n of all) await m.api('DELETE', `/api/notifiers/${n.ID}`);
    }
  });

  test('Administration > Users: New user (errors beside the field), Disable, Enable; Change password from the user menu', async () => {
    type Admin = { ID: number; username: string; roleID: number; active: boolean };
    const user = async (name: string) =>
      (await m.api('GET', '/api/administrators'))
        .json<{ administrators: Admin[] }>()
        .administrators.find((u) => u.username === name);
    await page.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'Administration' }).click();
    await page.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: 'Users' }).click();
    const section = page.getByRole('region', { name: 'Users' });
    await section.getByRole('row', { name: /admin.*\(you\)/ }).waitFor();
    const form = section.getByRole('form', { name: 'New user' });
    // The form's own check (too short), then the manager's (name taken), each beside its field.
    await form.getByLabel('User name').fill('admin');
    await form.getByLabel('Role').selectOption({ label: 'Auditor — Read only: every change is refused' });
    await form.getByLabel('Password', { exact: true }).fill('short');
    await form.getByLabel('Password again').fill('short');
    await form.getByRole('button', { name: 'New user' }).click();
    await form.getByRole('alert').filter({ hasText: 'At least 12 characters.' }).waitFor();
    await form.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await form.getByLabel('Password again').fill(PASSWORD);
    await form.getByRole('button', { name: 'New user' }).click();
    const taken = form.getByRole('alert').filter({ hasText: 'another console user already has that name' });
    await taken.waitFor();
    deliberate(409);
    const described = await form.getByLabel('User name').getAttribute('aria-describedby');
    assert.equal(await taken.getAttribute('id'), described?.split(' ').pop(), 'the reason is tied to the field');
    await form.getByLabel('User name').fill('operator');
    await form.getByRole('button', { name: 'New user' }).click();
    const row = section.getByRole('row', { name: /operator/ });
    await row.getByText('Enabled').waitFor();
    assert.deepEqual([(await user('operator'))?.roleID, (await user('operator'))?.active], [2, true]);
    // Disable asks first, then the manager disables; Enable undoes it.
    await row.getByRole('button', { name: 'Disable' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Disable' }).click();
    await row.getByText('Disabled').waitFor();
    assert.equal((await user('operator'))?.active, false);
    await row.getByRole('button', { name: 'Enable' }).click();
    await row.getByText('Enabled').waitFor();
    assert.equal((await user('operator'))?.active, true);
    await shot(page, 'administration-users');
    await axe(page, '/administration/users');

    // Change password: a wrong current password is refused beside its field, and the session stays.
    const NEW = 'another console passphrase';
    const changeTo = async (current: string, next: string) => {
      await page.getByRole('banner').getByRole('button', { name: 'Change password' }).click();
      const dialog = page.getByRole('dialog', { name: 'Change your password' });
      await dialog.getByLabel('Current password').fill(current);
      await dialog.getByLabel('New password', { exact: true }).fill(next);
      await dialog.getByLabel('New password again').fill(next);
      await dialog.getByRole('button', { name: 'Change password' }).click();
      return dialog;
    };
    const wrong = await changeTo('not my password at all', NEW);
    await wrong.getByRole('alert').filter({ hasText: 'the current password is not right' }).waitFor();
    deliberate(403);
    await axe(page, 'the Change password dialog');
    await shot(page, 'change-password');
    await wrong.getByRole('button', { name: 'Close' }).click();
    const ok = await changeTo(PASSWORD, NEW);
    await ok.getByText('Password changed.').waitFor();
    await ok.getByRole('button', { name: 'Close' }).click();
    const signInWith = async (password: string) =>
      (await m.api('POST', '/api/session', { userName: 'admin', password })).status;
    assert.deepEqual([await signInWith(NEW), await signInWith(PASSWORD)], [200, 401]);
    await page.getByRole('heading', { name: 'Administration', level: 1 }).waitFor();
    await (await changeTo(NEW, PASSWORD)).getByText('Password changed.').waitFor();
    await page.keyboard.press('Escape');
    const audit = (await m.api('GET', '/api/auditevents?limit=20'))
      .json<{ auditEvents: Array<{ action: string; actor: { name: string | null } }> }>()
      .auditEvents.filter((e) => e.action.startsWith('user.') && !e.action.startsWith('user.sign'))
      .map((e) => `${e.action} by ${e.actor.name}`);
    assert.deepEqual(audit.slice(0, 6), [
      'user.password by admin',
      'user.password by admin',
      'user.password.failed by admin',
      'user.enable by admin',
      'user.disable by admin',
      'user.create by admin',
    ]);
  });

  test('Administration > Users: Rename (a taken name refused beside it), the user signs in under the new name; Change role; the last full-access user kept; Delete', async () => {
    type Admin = { ID: number; username: string; roleID: number };
    const byName = async (name: string) =>
      (await m.api('GET', '/api/administrators'))
        .json<{ administrators: Admin[] }>()
        .administrators.find((u) => u.username === name);
    const card = await administration(page, 'Users');
    const dialogOf = async (row: string, button: string, title: string) => {
      await card
        .getByRole('row', { name: new RegExp(`^${row}\\b`) })
        .getByRole('button', { name: button })
        .click();
      return page.getByRole('dialog', { name: title });
    };
    let dialog = await dialogOf('operator', 'Rename', 'Rename “operator”');
    await dialog.getByLabel('User name').fill('admin');
    await dialog.getByRole('button', { name: 'Rename' }).click();
    const taken = dialog.getByRole('alert').filter({ hasText: 'another console user already has that name' });
    await taken.waitFor();
    deliberate(409);
    assert.equal(
      await taken.getAttribute('id'),
      (await dialog.getByLabel('User name').getAttribute('aria-describedby'))?.split(' ').pop(),
    );
    await axe(page, 'the Rename dialog');
    await dialog.getByLabel('User name').fill('night.operator');
    await dialog.getByRole('button', { name: 'Rename' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await card.getByRole('row', { name: /^night\.operator\b/ }).waitFor();
    const id = (await byName('night.operator'))?.ID;
    assert.ok(id, 'renamed through the API');
    assert.equal(await byName('operator'), undefined);
    // The renamed user signs in to the console under the new name; the old one is refused.
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    try {
      const other = await newPage(ctx);
      await signIn(other, 'night.operator');
      await other.getByRole('banner').getByText('night.operator').waitFor();
      assert.equal((await m.api('POST', '/api/session', { userName: 'operator', password: PASSWORD })).status, 401);

      // Making oneself an Auditor while the only full-access user: the manager's 409 beside Role.
      dialog = await dialogOf('admin', 'Change role', 'Role of “admin”');
      await dialog.getByLabel('Role').selectOption({ label: 'Auditor — Read only: every change is refused' });
      await dialog.getByRole('button', { name: 'Change role' }).click();
      await dialog.getByRole('alert').filter({ hasText: 'is the only enabled full-access user' }).waitFor();
      deliberate(409);
      await shot(page, 'administration-users-role');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      assert.equal((await byName('admin'))?.roleID, 1);
      dialog = await dialogOf('night.operator', 'Change role', 'Role of “night.operator”');
      await dialog.getByLabel('Role').selectOption({ label: 'Full Access — Reads and changes everything' });
      await dialog.getByRole('button', { name: 'Change role' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await card.getByRole('row', { name: /^night\.operator\b.*Full Access/ }).waitFor();
      assert.equal((await byName('night.operator'))?.roleID, 1);

      // No Delete on one's own row; another user's Delete asks, removes it and ends its session.
      const own = card.getByRole('row', { name: /^admin \(you\)/ });
      assert.equal(await own.getByRole('button', { name: 'Delete' }).count(), 0, 'you cannot delete yourself');
      await card
        .getByRole('row', { name: /^night\.operator\b/ })
        .getByRole('button', { name: 'Delete' })
        .click();
      await page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
      await card.getByText('“night.operator” deleted.').waitFor();
      assert.equal(await byName('night.operator'), undefined);
      assert.equal((await m.api('GET', `/api/administrators/${id}`)).status, 404);
      await other.reload();
      await other.getByRole('button', { name: 'Sign in' }).waitFor();
      deliberate(401);
    } finally {
      await ctx.close();
    }
    const audit = (await m.api('GET', '/api/auditevents?limit=30'))
      .json<{ auditEvents: Array<{ action: string; targetID: number | null }> }>()
      .auditEvents.filter((e) => e.targetID === id && ['user.rename', 'user.role', 'user.delete'].includes(e.action))
      .map((e) => e.action);
    assert.deepEqual(audit, ['user.delete', 'user.role', 'user.rename']);
  });

  test('Administration > Audit Log: the changes newest first, as the API lists them', async () => {
    const card = await administration(page, 'Audit Log', 'Audit log');
    const table = card.getByRole('table', { name: 'Audit log' });
    await table.getByRole('cell', { name: 'user.delete' }).first().waitFor();
    const shown = await table.locator('tbody tr td:nth-child(3)').allInnerTexts();
    const listed = (await m.api('GET', '/api/auditevents?limit=50'))
      .json<{ auditEvents: Array<{ action: string }> }>()
      .auditEvents.map((e) => e.action);
    assert.deepEqual(shown, listed);
    // Who and Action are never broken inside a word to squeeze the table: a one-word name or
    // code lies on one line (a name of several words may wrap between them).
    const broken = await table.locator('tbody tr td:is(:nth-child(2), :nth-child(3))').evaluateAll((cells) =>
      cells
        .filter((cell) => !/\s/.test((cell.textContent ?? '').trim()))
        .map((cell) => {
          const doc = (globalThis as unknown as { document: { createRange(): DomRange } }).document;
          const range = doc.createRange();
          range.selectNodeContents(cell);
          const lines = new Set(Array.from(range.getClientRects(), (r) => Math.round(r.top))).size;
          return lines > 1 ? cell.textContent : null;
        })
        .filter((text) => text !== null),
    );
    assert.deepEqual(broken, [], 'broken inside the word');
    await axe(page, 'the audit log');
  });

  /** The little of a DOM Range the layout checks use (the test is compiled without the DOM library). */
  interface DomRange {
    selectNodeContents(node: unknown): void;
    getClientRects(): ArrayLike<{ top: number }>;
  }
  /** Administration > SECTION from the main menu; the section's card. */
  async function administration(p: Page, section: string, heading = section) {
    await p.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'Administration' }).click();
    await p.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: section }).click();
    const card = p.getByRole('region', { name: heading });
    await card.waitFor();
    return card;
  }
  /** What the page's clipboard holds (the test's context is granted clipboard-read). */
  const clipboard = (p: Page) =>
    p.evaluate(() =>
      (
        globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
      ).navigator.clipboard.readText(),
    );
  /** The secret a "shown once" dialog holds, copied with its Copy button, the dialog closed after. */
  async function secretFromDialog(p: Page, title: string | RegExp, label: string) {
    const dialog = p.getByRole('dialog', { name: title });
    await dialog.getByText('it will not be shown again').waitFor();
    const secret = await dialog.getByLabel(label).inputValue();
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await dialog.getByText('Copied.').waitFor();
    assert.equal(await clipboard(p), secret, 'Copy put the secret on the clipboard');
    await axe(p, `the "${String(title)}" dialog`);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'hidden' });
    return secret;
  }

  test('Administration > API Keys: New (the API refusal beside the field; the secret once), it works with its role, Delete revokes it', async () => {
    await admin.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const card = await administration(page, 'API Keys');
    const form = card.getByRole('form', { name: 'New API key' });
    const count = async () => (await m.api('GET', '/api/apikeys')).json<{ apiKeys: unknown[] }>().apiKeys.length;
    const before = await count();
    // The manager's limit (254 characters), not the form's: its reason shows beside Name, nothing made.
    await form.getByLabel('Name').fill('k'.repeat(300));
    await form.getByRole('button', { name: 'New API key' }).click();
    const tooLong = form.getByRole('alert').filter({ hasText: 'body.keyName must NOT have more than 254 characters' });
    await tooLong.waitFor();
    deliberate(400);
    const described = await form.getByLabel('Name').getAttribute('aria-describedby');
    assert.equal(await tooLong.getAttribute('id'), described?.split(' ').pop(), 'the reason is tied to the field');
    assert.equal(await count(), before);
    await form.getByLabel('Name').fill('reporting');
    await form.getByLabel('Role').selectOption({ label: 'Auditor — Read only: every change is refused' });
    await form.getByLabel('Description').fill('nightly report');
    await form.getByRole('button', { name: 'New API key' }).click();
    const secret = await secretFromDialog(page, 'API key “reporting” created', 'Secret key');
    const row = card.getByRole('row', { name: /reporting/ });
    await row.getByText('Active').waitFor();
    await shot(page, 'administration-apikeys');
    await axe(page, '/administration/apikeys');
    const as = (method: string, path: string, body?: unknown) =>
      m.api(method, path, body, { 'api-secret-key': secret });
    assert.equal((await as('GET', '/api/computers')).status, 200, 'the key reads');
    assert.equal((await as('POST', '/api/policies', { name: 'nope', parentID: 1 })).status, 403, 'as an Auditor');
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
    await card.getByText('“reporting” deleted').waitFor();
    await row.waitFor({ state: 'detached' });
    assert.equal((await as('GET', '/api/computers')).status, 401, 'refused once deleted');
  });

  test('Administration > Activation Tokens: New (the API refusal beside the field; the token once) activates a real agent; Revoke refuses it', async () => {
    const card = await administration(page, 'Activation Tokens');
    const form = card.getByRole('form', { name: 'New activation token' });
    await form.getByLabel('Policy').selectOption({ label: 'Web servers' });
    await form.getByLabel('Description').fill('lab hosts');
    await form.getByLabel('Maximum uses').fill('0');
    await form.getByRole('button', { name: 'New activation token' }).click();
    await form.getByRole('alert').filter({ hasText: 'body.maxUses must be >= 1' }).waitFor();
    deliberate(400);
    await form.getByLabel('Maximum uses').fill('3');
    await form.getByLabel('Expires after (hours)').fill('-1');
    await form.getByRole('button', { name: 'New activation token' }).click();
    const past = form.getByRole('alert').filter({ hasText: /expires: .* is not in the future/ });
    await past.waitFor();
    const pastFor = await form.getByLabel('Expires after (hours)').getAttribute('aria-describedby');
    assert.equal(await past.getAttribute('id'), pastFor?.split(' ').pop(), 'beside Expires after');
    deliberate(400);
    await form.getByLabel('Expires after (hours)').fill('48');
    await form.getByRole('button', { name: 'New activation token' }).click();
    const token = await secretFromDialog(page, 'Activation token created', 'Token');
    assert.match(token, /^pat_/);
    type Token = { ID: number; description: string; maxUses: number; uses: number; policyID: number; status: string };
    const listed = async () =>
      (await m.api('GET', '/api/activationtokens'))
        .json<{ activationTokens: Token[] }>()
        .activationTokens.find((t) => t.description === 'lab hosts');
    const made = await listed();
    assert.deepEqual([made?.policyID, made?.maxUses, made?.uses, made?.status], [policyId, 3, 0, 'valid']);
    const row = card.getByRole('row', { name: /lab hosts/ });
    await row.getByText('0 of 3').waitFor();
    const activateWith = (hostName: string) =>
      activate(new StateDir(m.tempDir()), {
        managerUrl: m.agentUrl,
        token,
        caFingerprint: m.manager.caFingerprint,
        hostName,
      });
    await activateWith('lab-01');
    const computers = (await m.api('GET', '/api/computers')).json<{
      computers: Array<{ hostName: string; policyID: number }>;
    }>().computers;
    assert.equal(
      computers.find((c) => c.hostName === 'lab-01')?.policyID,
      policyId,
      "activated into the token's policy",
    );
    await shot(page, 'administration-tokens');
    await axe(page, '/administration/tokens');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Revoke' }).click();
    await row.getByText('Revoked').waitFor();
    assert.equal((await listed())?.status, 'revoked');
    await assert.rejects(activateWith('lab-02'), /revoked/);
    assert.equal(await row.getByRole('button', { name: 'Revoke' }).count(), 0);
  });

  test('Administration > Deployment Scripts: no packages said plainly; then Generate → a script that passes bash -n, copied and downloaded', async () => {
    const card = await administration(page, 'Deployment Scripts', 'Agent packages');
    await card.getByText('This manager holds no agent packages').waitFor();
    await axe(page, '/administration/scripts without packages');
    mkdirSync(m.manager.agentPackages.dir, { recursive: true });
    // The manager does not look inside a package: its name says what it is, its hash is its identity.
    writeFileSync(join(m.manager.agentPackages.dir, 'palisade-agent-0.3.0-linux-x86_64.tar.gz'), 'package bytes');
    await page.reload();
    await card.getByRole('row', { name: /0\.3\.0.*Linux.*x86_64/ }).waitFor();
    const scripts = page.getByRole('region', { name: 'Deployment Scripts' });
    await scripts.getByLabel('Platform').selectOption({ label: 'Linux' });
    await scripts.getByLabel('Security policy').selectOption({ label: 'Web servers' });
    await scripts.getByLabel('Activate agent automatically after installation').check();
    await scripts.getByLabel('Validate Workload Security Manager TLS certificate').check();
    await scripts.getByRole('button', { name: 'Generate script' }).click();
    const area = scripts.getByRole('textbox', { name: 'Script', exact: true });
    await waitFor(
      'the script is shown',
      async () => (await area.inputValue()).startsWith('#!/usr/bin/env bash'),
      10_000,
    );
    const body = await area.inputValue();
    assert.ok((await area.getAttribute('readonly')) !== null, 'read-only');
    const syntax = spawnSync('bash', ['-n'], { input: body, encoding: 'utf8' });
    assert.equal(syntax.status, 0, syntax.stderr);
    assert.ok(body.includes(`POLICY_NAME='Web servers'`) || body.includes('Web servers'), 'the policy chosen');
    await scripts.getByRole('button', { name: 'Copy' }).click();
    await scripts.getByText('Copied.').waitFor();
    assert.equal(await clipboard(page), body);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      scripts.getByRole('button', { name: 'Download' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'palisade-deploy-linux.sh');
    assert.equal(readFileSync((await download.path()) as string, 'utf8'), body, 'the file is the script');
    const tokens = (await m.api('GET', '/api/activationtokens')).json<{
      activationTokens: Array<{ description: string; policyID: number }>;
    }>().activationTokens;
    assert.ok(tokens.some((t) => t.description === 'deployment script (linux)' && t.policyID === policyId));
    await shot(page, 'administration-scripts');
    await axe(page, '/administration/scripts');
  });

  test('Computer editor > Overview: Upgrade agent asks, queues the newest package; the upgrade shows with its state and times', async () => {
    await openEditor(page, 'Computers', 'web-01');
    const upgrades = page.getByRole('region', { name: 'Agent upgrades' });
    await upgrades.getByText('No upgrade has been requested').waitFor();
    await page.getByRole('button', { name: 'Upgrade agent' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Upgrade' }).click();
    await page.getByText(/^Queued: the agent installs version 0\.3\.0/).waitFor();
    const row = upgrades.getByRole('row', { name: /→ 0\.3\.0/ });
    await row.getByText(/^(Pending|Sent)/).waitFor();
    type Upgrade = { toVersion: string; status: string; requestedBy: string; created: number };
    const listed = (await m.api('GET', `/api/computers/${computerId}/agentupgrades`)).json<{
      agentUpgrades: Upgrade[];
    }>().agentUpgrades;
    assert.deepEqual(
      listed.map((u) => [u.toVersion, ['pending', 'sent'].includes(u.status)]),
      [['0.3.0', true]],
    );
    await shot(page, 'computer-editor-upgrades');
    await axe(page, 'Computer editor > Overview with an upgrade');
  });

  test('a read-only user sees no Save, New, Delete or action buttons, and the API refuses its writes', async () => {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    try {
      const ro = await newPage(ctx);
      await signIn(ro, 'auditor');
      await openEditor(ro, 'Policies', 'Web servers');
      await settingsGeneral(ro);
      assert.equal(await ro.getByRole('button', { name: 'Save' }).count(), 0);
      assert.ok(
        await ro.getByRole('group', { name: 'Communication Direction' }).getByLabel(DIRECTION_LABEL).isDisabled(),
      );
      await ro.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'Policies' }).click();
      for (const name of ['New', 'Delete']) assert.equal(await ro.getByRole('button', { name }).count(), 0, name);
      await openEditor(ro, 'Computers', 'web-01');
      for (const name of ['Check Status', 'Send Policy', 'Upgrade agent', 'Deactivate'])
        assert.equal(await ro.getByRole('button', { name }).count(), 0, name);
      // The same write the console would make, with the session's CSRF token: refused.
      const r = await ro.evaluate(async (id) => {
        const s = (await (await fetch('/api/session')).json()) as { csrfToken: string };
        const res = await fetch(`/api/policies/${id}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken },
          body: JSON.stringify({
            policySettings: { platformSettingAgentCommunicationsDirection: { value: 'Bidirectional' } },
          }),
        });
        return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
      }, policyId);
      assert.deepEqual(r, { status: 403, code: 'READ_ONLY_USER' });
      for (const [section, heading, buttons] of [
        ['API Keys', 'API Keys', ['New API key', 'Delete']],
        ['Activation Tokens', 'Activation Tokens', ['New activation token', 'Revoke']],
        ['Deployment Scripts', 'Agent packages', ['Generate script']],
        ['Users', 'Users', ['New user', 'Disable', 'Rename', 'Change role', 'Delete']],
      ] as const) {
        const card = await administration(ro, section, heading);
        await card.getByRole('row').nth(1).waitFor();
        for (const name of buttons)
          assert.equal(await ro.getByRole('button', { name }).count(), 0, `${section}: ${name}`);
      }
      deliberate(403);
      assert.equal(
        (await overrides(`/api/policies/${policyId}`)).policySettings[DIRECTION]?.value,
        'Manager Initiated',
      );
    } finally {
      await ctx.close();
    }
  });

  test('every main page passes axe-core without serious violations', async () => {
    const pages: Array<[string, string, string]> = [
      ['/dashboard', 'Dashboard', 'dashboard'],
      ['/computers', 'Computers', 'computers'],
      [`/computers/${computerId}/overview`, 'web-01', 'computer-editor-overview'],
      ['/policies', 'Policies', 'policies'],
      ['/firewall-rules', 'Firewall Rules', 'firewall-rules'],
      ['/lists/port', 'Port Lists', 'port-lists'],
      ['/alerts', 'Alerts', 'alerts'],
      ['/events', 'Events', 'events'],
      ['/administration/users', 'Administration', 'administration-users'],
      ['/administration/tls', 'Administration', 'administration-tls'],
      ['/administration/audit', 'Administration', 'administration-audit'],
    ];
    for (const [path, heading, name] of pages) {
      await page.goto(`${base}${path}`);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await page.waitForLoadState('networkidle').catch(() => {});
      await axe(page, path);
      if (name !== 'dashboard') await shot(page, name);
    }
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await axe(page, 'sign-in');
    await shot(page, 'sign-in');
  });

  test('no errors in the browser console', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
