import {
  applySearchFilter,
  EQUALITY_TESTS,
  NUMERIC_TESTS,
  parseSearchFilter,
  SEARCH_MAX_ITEMS,
  type SearchFields,
} from '@palisade/core';
import { type TObject, type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PalisadeError } from '../errors.js';

const Op = (values: readonly string[], description: string) =>
  Type.Optional(
    Type.Union(
      values.map((v) => Type.Literal(v)),
      { description },
    ),
  );
const Maybe = <T extends TSchema>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));

/**
 * Deep Security's SearchCriteria: a field name and one test. Shaped here (types, no unknown
 * members); core's parseSearchFilter checks the field names and that each test suits its field.
 */
const SearchCriterion = Type.Object(
  {
    fieldName: Maybe(Type.String({ maxLength: 128, description: 'case-sensitive; not used by ID tests' })),
    stringTest: Op(EQUALITY_TESTS, 'default equal'),
    stringValue: Maybe(Type.String({ maxLength: 1024, description: '% any run of characters, _ one character' })),
    stringWildcards: Maybe(Type.Boolean({ description: 'default true; false: % and _ are plain characters' })),
    numericTest: Op(NUMERIC_TESTS, 'default equal'),
    numericValue: Maybe(Type.Number()),
    idTest: Op(NUMERIC_TESTS, 'default equal'),
    idValue: Maybe(Type.Integer()),
    booleanTest: Maybe(Type.Boolean({ description: 'default true' })),
    choiceTest: Op(EQUALITY_TESTS, 'default equal'),
    choiceValue: Maybe(Type.String({ maxLength: 128 })),
    nullTest: Maybe(Type.Boolean({ description: 'true: the field has no value' })),
    firstDateValue: Maybe(Type.Number({ description: 'epoch ms; no lower bound when absent' })),
    firstDateInclusive: Maybe(Type.Boolean({ description: 'default true' })),
    lastDateValue: Maybe(Type.Number({ description: 'epoch ms; no upper bound when absent' })),
    lastDateInclusive: Maybe(Type.Boolean({ description: 'default true' })),
  },
  { additionalProperties: false },
);

/** Deep Security's SearchFilter. */
export const SearchFilterBody = Type.Object(
  {
    maxItems: Maybe(
      Type.Integer({
        minimum: 0,
        description: `default and most ${SEARCH_MAX_ITEMS} (0: the default; more: the most)`,
      }),
    ),
    searchCriteria: Maybe(
      Type.Array(SearchCriterion, { maxItems: 64, description: 'every criterion must hold; none: everything' }),
    ),
    sortByObjectID: Maybe(Type.Boolean({ description: 'results are in ID order either way' })),
    sortDescending: Maybe(Type.Boolean({ description: 'highest ID first' })),
  },
  { additionalProperties: false },
);

type JsonSchema = {
  type?: string;
  const?: unknown;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
};

/**
 * The searchable fields of a view, read from its schema: text members are string fields (a union
 * of literals is a choice), numbers numeric (or dates, as named), booleans boolean; objects and
 * lists are not searchable, and `ID` is the ID test's. Derived rather than listed, so a search
 * can test exactly the members a list shows.
 */
export function searchFieldsOf(view: TObject, dates: readonly string[] = []): SearchFields {
  const out: Record<string, SearchFields[string]> = {};
  for (const [name, raw] of Object.entries(view.properties as Record<string, JsonSchema>)) {
    if (name === 'ID') continue;
    const branches = (raw.anyOf ?? [raw]).filter((b) => b.type !== 'null');
    if (branches.length > 0 && branches.every((b) => b.const !== undefined)) {
      out[name] = { kind: 'choice', choices: branches.map((b) => String(b.const)) };
      continue;
    }
    if (branches.length !== 1) continue;
    const type = branches[0]!.type;
    if (type === 'string') out[name] = { kind: 'string' };
    else if (type === 'integer' || type === 'number') out[name] = { kind: dates.includes(name) ? 'date' : 'numeric' };
    else if (type === 'boolean') out[name] = { kind: 'boolean' };
  }
  return out;
}

export interface SearchRouteOptions<T extends { ID: number }> {
  /** The collection path, e.g. `/api/computers`: the route is `<path>/search`. */
  readonly path: string;
  /** The list envelope member, e.g. `computers`. */
  readonly envelope: string;
  /** One object's schema, as the list route shows it. */
  readonly view: TObject;
  readonly fields: SearchFields;
  readonly noun: string;
  readonly tags: readonly string[];
  /** Extra query parameters (e.g. `expand`), passed to `list`. */
  readonly querystring?: TObject;
  /** The objects as the list route shows them. */
  list(query: Record<string, unknown>): Promise<T[]>;
}

/**
 * `POST <path>/search` (Deep Security's search operation): the objects the list route would show,
 * filtered by the criteria, in ID order, at most `maxItems`, in the list's envelope. A filter that
 * names an unknown field or a test that does not suit a field is a 400 naming it
 * (SEARCH_CRITERIA_INVALID), never an empty list. Read-only keys may search.
 */
export function searchRoute<T extends { ID: number }>(app: FastifyInstance, o: SearchRouteOptions<T>): void {
  app.post<{ Body: unknown; Querystring: Record<string, unknown> }>(
    `${o.path}/search`,
    {
      config: { readsOnly: true },
      schema: {
        summary: `Search ${o.noun}`,
        description: `Deep Security's search: fields ${Object.keys(o.fields).sort().join(', ')}, and ID (idTest).`,
        tags: o.tags,
        body: SearchFilterBody,
        ...(o.querystring ? { querystring: o.querystring } : {}),
        response: { 200: Type.Object({ [o.envelope]: Type.Array(o.view) }) },
      },
    },
    async (req) => {
      const parsed = parseSearchFilter(req.body, o.fields);
      if (!parsed.ok) throw new PalisadeError('SEARCH_CRITERIA_INVALID', parsed.problems.join('; '));
      return { [o.envelope]: applySearchFilter(parsed.filter, await o.list(req.query ?? {})) };
    },
  );
}
