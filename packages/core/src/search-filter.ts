/**
 * Deep Security's search (`POST /api/<resource>/search`): a `SearchFilter` body — `searchCriteria`
 * (all must hold), `maxItems`, `sortByObjectID` — whose criteria each name a `fieldName` and carry
 * one test: `stringTest`/`stringValue` (`%` and `_` wildcards unless `stringWildcards` is false),
 * `numericTest`/`numericValue`, `idTest`/`idValue` (no field name: the object's ID),
 * `booleanTest`, `choiceTest`/`choiceValue`, `nullTest`, and the date range
 * `firstDateValue`/`lastDateValue` with `firstDateInclusive`/`lastDateInclusive`. Member names,
 * operators and defaults are those of Deep Security's API reference (SearchFilter and
 * SearchCriteria models; "Search for Resources" in its automation guide).
 *
 * Parsed and checked once against the resource's searchable fields (so an unknown field or a
 * test that does not suit the field is a clear 400, never an empty result), then applied to the
 * objects as the API shows them: a search finds exactly what a list would show.
 */

export const SEARCH_FIELD_KINDS = ['string', 'numeric', 'boolean', 'choice', 'date', 'id'] as const;
export type SearchFieldKind = (typeof SEARCH_FIELD_KINDS)[number];

/** A searchable field of a resource: its kind, and for choices the values it takes. */
export interface SearchField {
  readonly kind: SearchFieldKind;
  /** `choice` fields: the values (tests on other values are refused, naming these). */
  readonly choices?: readonly string[];
}

/** A resource's searchable fields by name (case-sensitive, as Deep Security's are). */
export type SearchFields = Readonly<Record<string, SearchField>>;

export const NUMERIC_TESTS = [
  'less-than',
  'less-than-or-equal',
  'equal',
  'greater-than-or-equal',
  'greater-than',
  'not-equal',
] as const;
export type NumericTest = (typeof NUMERIC_TESTS)[number];
export const EQUALITY_TESTS = ['equal', 'not-equal'] as const;
export type EqualityTest = (typeof EQUALITY_TESTS)[number];

/** Deep Security's default and largest page. */
export const SEARCH_MAX_ITEMS = 5000;

export type SearchCriterion =
  | { readonly test: 'id'; readonly op: NumericTest; readonly value: number }
  | {
      readonly test: 'string';
      readonly field: string;
      readonly op: EqualityTest;
      readonly value: string;
      readonly wildcards: boolean;
    }
  | { readonly test: 'numeric'; readonly field: string; readonly op: NumericTest; readonly value: number }
  | { readonly test: 'boolean'; readonly field: string; readonly value: boolean }
  | { readonly test: 'choice'; readonly field: string; readonly op: EqualityTest; readonly value: string }
  | { readonly test: 'null'; readonly field: string; readonly isNull: boolean }
  | {
      readonly test: 'date';
      readonly field: string;
      readonly first: number | null;
      readonly firstInclusive: boolean;
      readonly last: number | null;
      readonly lastInclusive: boolean;
    };

/** A parsed SearchFilter. */
export interface SearchFilter {
  readonly criteria: readonly SearchCriterion[];
  /** 1 … {@link SEARCH_MAX_ITEMS}. */
  readonly maxItems: number;
  /** Deep Security's `sortByObjectID`; objects are in ID order either way here. */
  readonly sortByObjectID: boolean;
  /** Highest ID first. */
  readonly sortDescending: boolean;
}

export type SearchFilterParse =
  | { readonly ok: true; readonly filter: SearchFilter }
  | { readonly ok: false; readonly problems: readonly string[] };

const FILTER_MEMBERS = new Set(['maxItems', 'searchCriteria', 'sortByObjectID', 'sortDescending']);
const CRITERION_MEMBERS = new Set([
  'fieldName',
  'booleanTest',
  'numericTest',
  'numericValue',
  'stringTest',
  'stringValue',
  'stringWildcards',
  'choiceTest',
  'choiceValue',
  'firstDateValue',
  'firstDateInclusive',
  'lastDateValue',
  'lastDateInclusive',
  'nullTest',
  'idTest',
  'idValue',
]);
/** Which members make which test. */
const TEST_MEMBERS: Record<Exclude<SearchCriterion['test'], never>, readonly string[]> = {
  id: ['idTest', 'idValue'],
  string: ['stringTest', 'stringValue', 'stringWildcards'],
  numeric: ['numericTest', 'numericValue'],
  boolean: ['booleanTest'],
  choice: ['choiceTest', 'choiceValue'],
  null: ['nullTest'],
  date: ['firstDateValue', 'firstDateInclusive', 'lastDateValue', 'lastDateInclusive'],
};
/** The kinds of field each test suits. String tests also read choice fields, as text. */
const TEST_KINDS: Record<Exclude<SearchCriterion['test'], 'id' | 'null'>, readonly SearchFieldKind[]> = {
  string: ['string', 'choice'],
  numeric: ['numeric'],
  boolean: ['boolean'],
  choice: ['choice'],
  date: ['date'],
};

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'a list' : typeof value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const given = (v: unknown) => v !== undefined && v !== null;

/**
 * Parses a SearchFilter body against a resource's fields. Problems name the criterion
 * (`searchCriteria[1].fieldName: "hostname" is not a searchable field (…)`); all are reported.
 * An empty body (or no criteria) finds everything, as in Deep Security.
 */
export function parseSearchFilter(body: unknown, fields: SearchFields): SearchFilterParse {
  const problems: string[] = [];
  const input = body === undefined || body === null ? {} : body;
  if (!isObject(input)) return { ok: false, problems: [`(body): ${describe(input)} is not a search filter object`] };
  for (const key of Object.keys(input))
    if (!FILTER_MEMBERS.has(key))
      problems.push(`${key}: is not a search filter member (${[...FILTER_MEMBERS].join(', ')})`);

  let maxItems = SEARCH_MAX_ITEMS;
  if (given(input.maxItems)) {
    const m = input.maxItems;
    if (typeof m !== 'number' || !Number.isInteger(m) || m < 0) {
      problems.push(`maxItems: ${describe(m)} is not a whole number of items`);
    } else if (m > 0) {
      // 0 is "not set" (the SDKs' default value); more than the largest page is that page.
      maxItems = Math.min(m, SEARCH_MAX_ITEMS);
    }
  }
  const flag = (name: string): boolean => {
    const v = input[name];
    if (!given(v)) return false;
    if (typeof v === 'boolean') return v;
    problems.push(`${name}: ${describe(v)} is not true or false`);
    return false;
  };
  const sortByObjectID = flag('sortByObjectID');
  const sortDescending = flag('sortDescending');

  const criteria: SearchCriterion[] = [];
  const raw = given(input.searchCriteria) ? input.searchCriteria : [];
  if (!Array.isArray(raw)) {
    problems.push(`searchCriteria: ${describe(raw)} is not a list`);
  } else {
    raw.forEach((c, i) => {
      const r = parseCriterion(c, `searchCriteria[${i}]`, fields);
      if (typeof r === 'string' || Array.isArray(r)) problems.push(...(Array.isArray(r) ? r : [r]));
      else criteria.push(r);
    });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, filter: { criteria, maxItems, sortByObjectID, sortDescending } };
}

function parseCriterion(c: unknown, at: string, fields: SearchFields): SearchCriterion | string[] {
  if (!isObject(c)) return [`${at}: ${describe(c)} is not a search criterion object`];
  const problems: string[] = [];
  for (const key of Object.keys(c))
    if (!CRITERION_MEMBERS.has(key)) problems.push(`${at}.${key}: is not a search criterion member`);
  const present = (Object.keys(TEST_MEMBERS) as SearchCriterion['test'][]).filter((t) =>
    TEST_MEMBERS[t].some((m) => given(c[m])),
  );
  const fieldName = c.fieldName;
  const field = typeof fieldName === 'string' ? fields[fieldName] : undefined;
  // A criterion with only a boolean field's name is Deep Security's booleanTest at its default (true).
  if (present.length === 0 && field?.kind === 'boolean') present.push('boolean');
  if (present.length !== 1) {
    problems.push(
      present.length === 0
        ? `${at}: has no test (one of idTest/idValue, stringValue, numericValue, booleanTest, choiceValue, nullTest, firstDateValue/lastDateValue)`
        : `${at}: has more than one test (${present.join(', ')}); one criterion tests one thing`,
    );
    return problems;
  }
  const test = present[0]!;
  if (test === 'id') {
    if (given(fieldName) && fieldName !== 'ID')
      problems.push(`${at}.fieldName: an ID test takes no field name (it tests ID)`);
    const op = readOp(c.idTest, NUMERIC_TESTS, `${at}.idTest`, problems);
    const value = c.idValue;
    if (typeof value !== 'number' || !Number.isInteger(value))
      problems.push(`${at}.idValue: ${describe(value)} is not an ID`);
    return problems.length > 0 ? problems : { test, op, value: value as number };
  }
  if (typeof fieldName !== 'string' || fieldName === '') {
    problems.push(`${at}.fieldName: is required for a ${test} test`);
    return problems;
  }
  if (field === undefined) {
    const names = Object.keys(fields).sort();
    problems.push(
      `${at}.fieldName: "${fieldName}" is not a searchable field (field names are case-sensitive: ${names.join(', ')})`,
    );
    return problems;
  }
  if (test !== 'null' && !TEST_KINDS[test].includes(field.kind)) {
    problems.push(`${at}: a ${test} test does not suit ${fieldName}, a ${field.kind} field`);
    return problems;
  }
  switch (test) {
    case 'string': {
      const op = readOp(c.stringTest, EQUALITY_TESTS, `${at}.stringTest`, problems);
      if (typeof c.stringValue !== 'string') problems.push(`${at}.stringValue: ${describe(c.stringValue)} is not text`);
      const w = c.stringWildcards;
      if (given(w) && typeof w !== 'boolean')
        problems.push(`${at}.stringWildcards: ${describe(w)} is not true or false`);
      return problems.length > 0
        ? problems
        : { test, field: fieldName, op, value: c.stringValue as string, wildcards: w !== false };
    }
    case 'numeric': {
      const op = readOp(c.numericTest, NUMERIC_TESTS, `${at}.numericTest`, problems);
      if (typeof c.numericValue !== 'number' || !Number.isFinite(c.numericValue))
        problems.push(`${at}.numericValue: ${describe(c.numericValue)} is not a number`);
      return problems.length > 0 ? problems : { test, field: fieldName, op, value: c.numericValue as number };
    }
    case 'boolean': {
      const v = given(c.booleanTest) ? c.booleanTest : true;
      if (typeof v !== 'boolean') problems.push(`${at}.booleanTest: ${describe(v)} is not true or false`);
      return problems.length > 0 ? problems : { test, field: fieldName, value: v as boolean };
    }
    case 'choice': {
      const op = readOp(c.choiceTest, EQUALITY_TESTS, `${at}.choiceTest`, problems);
      const v = c.choiceValue;
      if (typeof v !== 'string') problems.push(`${at}.choiceValue: ${describe(v)} is not text`);
      else if (field.choices && !field.choices.includes(v))
        problems.push(`${at}.choiceValue: "${v}" is not one of ${fieldName}'s values (${field.choices.join(', ')})`);
      return problems.length > 0 ? problems : { test, field: fieldName, op, value: v as string };
    }
    case 'null': {
      const v = c.nullTest;
      if (typeof v !== 'boolean') problems.push(`${at}.nullTest: ${describe(v)} is not true or false`);
      return problems.length > 0 ? problems : { test, field: fieldName, isNull: v as boolean };
    }
    case 'date': {
      const date = (name: string): number | null => {
        const v = c[name];
        if (!given(v)) return null;
        if (typeof v === 'number' && Number.isFinite(v)) return v;
        problems.push(`${at}.${name}: ${describe(v)} is not a time (epoch milliseconds)`);
        return null;
      };
      const inclusive = (name: string): boolean => {
        const v = c[name];
        if (!given(v)) return true;
        if (typeof v === 'boolean') return v;
        problems.push(`${at}.${name}: ${describe(v)} is not true or false`);
        return true;
      };
      const first = date('firstDateValue');
      const last = date('lastDateValue');
      const firstInclusive = inclusive('firstDateInclusive');
      const lastInclusive = inclusive('lastDateInclusive');
      return problems.length > 0 ? problems : { test, field: fieldName, first, firstInclusive, last, lastInclusive };
    }
  }
}

function readOp<T extends string>(value: unknown, allowed: readonly T[], at: string, problems: string[]): T {
  if (!given(value)) return 'equal' as T; // Deep Security's default for every operator
  const hit = allowed.find((a) => a === value);
  if (hit) return hit;
  problems.push(`${at}: ${describe(value)} is not one of ${allowed.join(', ')}`);
  return 'equal' as T;
}

function compare(op: NumericTest, a: number, b: number): boolean {
  switch (op) {
    case 'less-than':
      return a < b;
    case 'less-than-or-equal':
      return a <= b;
    case 'equal':
      return a === b;
    case 'greater-than-or-equal':
      return a >= b;
    case 'greater-than':
      return a > b;
    case 'not-equal':
      return a !== b;
  }
}

/**
 * `%` any run of characters, `_` one character (SQL LIKE, which Deep Security's wildcards are);
 * matched case-insensitively, as host names and rule names are compared by people.
 */
export function wildcardPattern(value: string, wildcards: boolean): RegExp {
  let source = '';
  for (const ch of value) {
    if (wildcards && ch === '%') source += '[\\s\\S]*';
    else if (wildcards && ch === '_') source += '[\\s\\S]';
    else source += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'iu');
}

/** A compiled filter: does one object (as the API shows it) match? */
export function searchPredicate(filter: SearchFilter): (object: Readonly<Record<string, unknown>>) => boolean {
  const tests = filter.criteria.map(criterionTest);
  return (o) => tests.every((t) => t(o));
}

type ObjectTest = (o: Readonly<Record<string, unknown>>) => boolean;

function criterionTest(c: SearchCriterion): ObjectTest {
  switch (c.test) {
    case 'id':
      return (o) => typeof o.ID === 'number' && compare(c.op, o.ID, c.value);
    case 'string': {
      const re = wildcardPattern(c.value, c.wildcards);
      return (o) => {
        const v = o[c.field];
        // A missing value equals nothing, and so is "not equal" to everything.
        const hit = typeof v === 'string' && re.test(v);
        return c.op === 'equal' ? hit : !hit;
      };
    }
    case 'numeric':
      return (o) => {
        const v = o[c.field];
        return typeof v === 'number' && compare(c.op, v, c.value);
      };
    case 'boolean':
      return (o) => o[c.field] === c.value;
    case 'choice':
      return (o) => (o[c.field] === c.value) === (c.op === 'equal');
    case 'null':
      return (o) => (o[c.field] === undefined || o[c.field] === null) === c.isNull;
    case 'date':
      return (o) => {
        const v = o[c.field];
        if (typeof v !== 'number') return false;
        if (c.first !== null && (c.firstInclusive ? v < c.first : v <= c.first)) return false;
        if (c.last !== null && (c.lastInclusive ? v > c.last : v >= c.last)) return false;
        return true;
      };
  }
}

/**
 * Applies a filter to objects as the API shows them (each with its numeric `ID`): the matches in
 * ID order (descending with `sortDescending`), at most `maxItems`.
 */
export function applySearchFilter<T extends { readonly ID: number }>(filter: SearchFilter, objects: readonly T[]): T[] {
  const matches = searchPredicate(filter);
  const out = objects.filter((o) => matches(o as unknown as Record<string, unknown>));
  out.sort((a, b) => (filter.sortDescending ? b.ID - a.ID : a.ID - b.ID));
  return out.slice(0, filter.maxItems);
}
