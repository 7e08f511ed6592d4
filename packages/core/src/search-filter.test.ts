import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applySearchFilter, parseSearchFilter, type SearchFields, type SearchFilter } from './search-filter.js';

const FIELDS: SearchFields = {
  hostName: { kind: 'string' },
  policyID: { kind: 'numeric' },
  lastAgentCommunication: { kind: 'date' },
  active: { kind: 'boolean' },
  platform: { kind: 'choice', choices: ['linux', 'win32', 'darwin'] },
  description: { kind: 'string' },
};

const COMPUTERS = [
  { ID: 1, hostName: 'web-1.example.test', policyID: 1, lastAgentCommunication: 1000, active: true, platform: 'linux' },
  { ID: 2, hostName: 'web-2.example.test', policyID: 2, lastAgentCommunication: 2000, active: true, platform: 'linux' },
  { ID: 3, hostName: 'DB_1', policyID: 2, lastAgentCommunication: null, active: false, platform: 'win32' },
  {
    ID: 7,
    hostName: 'mac-1',
    policyID: 3,
    lastAgentCommunication: 3000,
    active: true,
    platform: 'darwin',
    description: 'x',
  },
];

function filter(body: unknown): SearchFilter {
  const r = parseSearchFilter(body, FIELDS);
  if (!r.ok) assert.fail(r.problems.join('\n'));
  return r.filter;
}
const ids = (body: unknown) => applySearchFilter(filter(body), COMPUTERS).map((c) => c.ID);
const one = (criterion: Record<string, unknown>) => ids({ searchCriteria: [criterion] });

test('no criteria (or no body) finds everything, in ID order, at most 5000', () => {
  assert.deepEqual(ids(undefined), [1, 2, 3, 7]);
  assert.deepEqual(ids({}), [1, 2, 3, 7]);
  assert.deepEqual(filter({ maxItems: 0 }).maxItems, 5000, '0 is the SDK default: not set');
  assert.deepEqual(filter({ maxItems: 100000 }).maxItems, 5000);
});

test('find a computer by host name, with % and _ wildcards, case-insensitively', () => {
  assert.deepEqual(one({ fieldName: 'hostName', stringValue: 'web-2.example.test' }), [2]);
  assert.deepEqual(one({ fieldName: 'hostName', stringTest: 'equal', stringValue: 'web-%' }), [1, 2]);
  assert.deepEqual(one({ fieldName: 'hostName', stringValue: 'WEB-_.EXAMPLE.TEST' }), [1, 2]);
  assert.deepEqual(one({ fieldName: 'hostName', stringTest: 'not-equal', stringValue: 'web%' }), [3, 7]);
  // Wildcards off: % and _ are themselves (DB_1 has a real underscore).
  assert.deepEqual(one({ fieldName: 'hostName', stringValue: 'DB_1', stringWildcards: false }), [3]);
  assert.deepEqual(one({ fieldName: 'hostName', stringValue: 'web%', stringWildcards: false }), []);
  // Regular-expression characters are plain text.
  assert.deepEqual(one({ fieldName: 'hostName', stringValue: 'web-1.example.tes.' }), []);
  // A missing value equals nothing and differs from everything.
  assert.deepEqual(one({ fieldName: 'description', stringTest: 'not-equal', stringValue: 'x' }), [1, 2, 3]);
});

test('page through with idTest greater-than and maxItems; sortDescending', () => {
  const page = (after: number) =>
    ids({ maxItems: 2, sortByObjectID: true, searchCriteria: [{ idTest: 'greater-than', idValue: after }] });
  assert.deepEqual(page(0), [1, 2]);
  assert.deepEqual(page(2), [3, 7]);
  assert.deepEqual(page(7), []);
  assert.deepEqual(one({ idValue: 3 }), [3], 'idTest defaults to equal');
  assert.deepEqual(ids({ sortDescending: true, maxItems: 3 }), [7, 3, 2]);
});

test('numeric, boolean, choice, null and date-range tests; criteria all hold', () => {
  assert.deepEqual(one({ fieldName: 'policyID', numericTest: 'greater-than-or-equal', numericValue: 2 }), [2, 3, 7]);
  assert.deepEqual(one({ fieldName: 'policyID', numericTest: 'not-equal', numericValue: 2 }), [1, 7]);
  assert.deepEqual(one({ fieldName: 'active', booleanTest: false }), [3]);
  assert.deepEqual(one({ fieldName: 'active' }), [1, 2, 7], 'booleanTest defaults to true');
  assert.deepEqual(one({ fieldName: 'platform', choiceValue: 'linux' }), [1, 2]);
  assert.deepEqual(one({ fieldName: 'platform', choiceTest: 'not-equal', choiceValue: 'linux' }), [3, 7]);
  assert.deepEqual(one({ fieldName: 'platform', stringValue: 'l%' }), [1, 2], 'choices read as text too');
  assert.deepEqual(one({ fieldName: 'lastAgentCommunication', nullTest: true }), [3]);
  assert.deepEqual(one({ fieldName: 'description', nullTest: false }), [7]);
  assert.deepEqual(one({ fieldName: 'lastAgentCommunication', firstDateValue: 2000 }), [2, 7]);
  assert.deepEqual(
    one({
      fieldName: 'lastAgentCommunication',
      firstDateValue: 1000,
      firstDateInclusive: false,
      lastDateValue: 3000,
      lastDateInclusive: false,
    }),
    [2],
  );
  assert.deepEqual(
    ids({
      searchCriteria: [
        { fieldName: 'hostName', stringValue: 'web%' },
        { fieldName: 'policyID', numericValue: 2 },
      ],
    }),
    [2],
  );
});

test('bad filters are refused with every problem named, never answered with an empty list', () => {
  const r = parseSearchFilter(
    {
      maxItems: -1,
      sortByObjectID: 'yes',
      extra: 1,
      searchCriteria: [
        { fieldName: 'hostname', stringValue: 'x' },
        { fieldName: 'policyID', stringValue: 'x' },
        { fieldName: 'hostName', stringTest: 'like', stringValue: 'x' },
        { fieldName: 'hostName' },
        { fieldName: 'hostName', stringValue: 'x', numericValue: 1 },
        { fieldName: 'platform', choiceValue: 'solaris' },
        { idTest: 'greater-than', idValue: 'ten' },
        { fieldName: 'lastAgentCommunication', firstDateValue: '2024-01-01' },
        'hostName',
      ],
    },
    FIELDS,
  );
  assert.equal(r.ok, false);
  assert.deepEqual(!r.ok && r.problems, [
    'extra: is not a search filter member (maxItems, searchCriteria, sortByObjectID, sortDescending)',
    'maxItems: -1 is not a whole number of items',
    'sortByObjectID: "yes" is not true or false',
    'searchCriteria[0].fieldName: "hostname" is not a searchable field (field names are case-sensitive: active, description, hostName, lastAgentCommunication, platform, policyID)',
    'searchCriteria[1]: a string test does not suit policyID, a numeric field',
    'searchCriteria[2].stringTest: "like" is not one of equal, not-equal',
    'searchCriteria[3]: has no test (one of idTest/idValue, stringValue, numericValue, booleanTest, choiceValue, nullTest, firstDateValue/lastDateValue)',
    'searchCriteria[4]: has more than one test (string, numeric); one criterion tests one thing',
    'searchCriteria[5].choiceValue: "solaris" is not one of platform\'s values (linux, win32, darwin)',
    'searchCriteria[6].idValue: "ten" is not an ID',
    'searchCriteria[7].firstDateValue: "2024-01-01" is not a time (epoch milliseconds)',
    'searchCriteria[8]: "hostName" is not a search criterion object',
  ]);
  assert.deepEqual(parseSearchFilter([], FIELDS), {
    ok: false,
    problems: ['(body): a list is not a search filter object'],
  });
});
