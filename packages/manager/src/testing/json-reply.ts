import type { ApiViews } from '../api/api-views.js';

/** A reply to a JSON request: the status, and the body parsed when it is JSON (else its text). */
export interface JsonReply {
  status: number;
  body: unknown;
  /**
   * The body as `T`, the shape the test expects (an `ApiViews` member). A cast: the test's
   * assertions check it.
   */
  json<T>(): T;
}

export function jsonReply(status: number, body: unknown): JsonReply {
  return { status, body, json: <T>() => body as T };
}

/** The `error` member of an error reply (`{"message", "error": {"code", "message"}}`). */
export const errorOf = (r: JsonReply) => r.json<ApiViews['Error']>().error;
