import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AGENT_ERRORS, LISTENER_ERRORS } from '@palisade/agent';
import { ERRORS } from '@palisade/manager';
import { WIRE_ERRORS } from '@palisade/protocol';

/**
 * docs/errors.md against the error registries: the manager's (REST API and agent endpoint), the
 * agent's (CLI and daemon) and the agent listener's, each in its own section, so an operator
 * reading the doc sees exactly the codes the code can answer with.
 */
const DOC = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

/** The doc's sections by heading; the text before the first `## ` is the manager's. */
function section(heading: string | null): string {
  const parts = DOC.split(/^## /m);
  if (heading === null) return parts[0]!;
  const found = parts.find((p) => p.startsWith(heading));
  assert.ok(found, `docs/errors.md has a section "## ${heading}"`);
  return found;
}

/** Table rows `| \`CODE\` | 400 | meaning |` (or `| \`CODE\` | meaning |`) as code → status (or null). */
function rows(text: string): Map<string, number | null> {
  const out = new Map<string, number | null>();
  for (const m of text.matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|(?:\s*([0-9]{3})\s*\|)?(.*)\|\s*$/gm)) {
    const [, code, status, meaning] = m;
    assert.ok(!out.has(code!), `${code} is listed once in its section`);
    assert.ok(meaning!.trim().length > 0, `${code} has a meaning`);
    out.set(code!, status === undefined ? null : Number(status));
  }
  return out;
}

function sameCodes(what: string, documented: Map<string, number | null>, registry: Map<string, number | null>) {
  const missing = [...registry.keys()].filter((k) => !documented.has(k));
  const extra = [...documented.keys()].filter((k) => !registry.has(k));
  assert.deepEqual(
    { missing, extra },
    { missing: [], extra: [] },
    `${what}: in the registry but not the doc, or the reverse`,
  );
  for (const [k, status] of registry) assert.equal(documented.get(k), status, `${what}: ${k} status`);
}

const withStatus = (r: Record<string, { status: number }>) =>
  new Map<string, number | null>(Object.entries(r).map(([k, v]) => [k, v.status]));

test('the manager section lists exactly the codes in manager errors.ts, each with its HTTP status', () => {
  sameCodes('manager', rows(section(null)), withStatus(ERRORS));
});

test('the agent section lists exactly the codes in agent-error.ts', () => {
  sameCodes(
    'agent',
    rows(section('The agent (`palisade-agent`)')),
    new Map(Object.keys(AGENT_ERRORS).map((k) => [k, null])),
  );
});

test('the listener section lists exactly the codes in listener-error.ts, each with its HTTP status', () => {
  sameCodes('listener', rows(section("The agent's listener (4118)")), withStatus(LISTENER_ERRORS));
});

test('the wire codes are answered by both ends with the status protocol gives them', () => {
  for (const [code, { status }] of Object.entries(WIRE_ERRORS)) {
    assert.equal(ERRORS[code as keyof typeof ERRORS].status, status, `manager ${code}`);
    assert.equal(LISTENER_ERRORS[code as keyof typeof LISTENER_ERRORS].status, status, `listener ${code}`);
  }
});
