/**
 * The error codes both ends of an exchange answer with: the manager's agent endpoint (4120) and
 * the agent's listener (4118), in the same `{"error": {"code", "message"}}` body. Defined once
 * here so the two sides cannot drift; each side's registry includes them, and docs/errors.md lists
 * them under both. The message may add specifics (`got 2, this manager speaks 1`).
 */
export const WIRE_ERRORS = {
  PROTOCOL_VERSION_UNSUPPORTED: { status: 400, message: 'protocol version not supported' },
  /**
   * Results, or the reply to a report, must come on the connection that carried the exchange:
   * an operation is completed only by the party that was handed it (docs/heartbeat.md).
   */
  EXCHANGE_NOT_ON_THIS_CONNECTION: {
    status: 409,
    message: 'this exchange belongs to another connection: send it on the connection that began it',
  },
  BODY_TOO_LARGE: { status: 413, message: 'request body is larger than the limit' },
} as const satisfies Record<string, { status: number; message: string }>;

export type WireErrorCode = keyof typeof WIRE_ERRORS;
