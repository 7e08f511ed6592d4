/**
 * Every error the manager answers with, on either port: a stable code, its HTTP status and the
 * default sentence. docs/errors.md lists exactly these (a test checks it). Bodies are
 * `{"error": {"code": "…", "message": "…"}}`; the message may add specifics to the default.
 */
export const ERRORS = {
  INVALID_JSON: { status: 400, message: 'request body is not valid JSON' },
  VALIDATION_FAILED: { status: 400, message: 'request does not match the schema' },
  PROTOCOL_VERSION_UNSUPPORTED: { status: 400, message: 'protocol version not supported by this manager' },
  CSR_INVALID: { status: 400, message: 'certificate request is not acceptable' },
  TLS_POLICY_UNKNOWN: { status: 400, message: 'unknown TLS policy name' },
  NOTIFIER_CONFIG_INVALID: { status: 400, message: 'notifier configuration is not usable' },
  EVENTS_CURSOR_INVALID: { status: 400, message: 'events cursor not recognised' },
  API_KEY_REQUIRED: { status: 401, message: 'send an API key in the api-secret-key header' },
  API_KEY_INVALID: { status: 401, message: 'API key not recognised (unknown or revoked)' },
  CLIENT_CERTIFICATE_REQUIRED: { status: 401, message: 'this endpoint needs the agent certificate issued at activation' },
  CERTIFICATE_NOT_RECOGNIZED: { status: 403, message: 'client certificate was not issued by this manager to an activated computer' },
  CERTIFICATE_REVOKED: { status: 403, message: 'client certificate was revoked (the computer was deactivated); activate again' },
  TOKEN_UNKNOWN: { status: 403, message: 'activation token not recognised' },
  TOKEN_EXPIRED: { status: 403, message: 'activation token has expired' },
  TOKEN_USED_UP: { status: 403, message: 'activation token has no uses left' },
  READ_ONLY_API_KEY: { status: 403, message: 'this API key is read-only' },
  NOT_FOUND: { status: 404, message: 'no such route' },
  COMPUTER_NOT_FOUND: { status: 404, message: 'no computer with that ID' },
  ALERT_NOT_FOUND: { status: 404, message: 'no alert with that ID' },
  NOTIFIER_NOT_FOUND: { status: 404, message: 'no notifier with that ID' },
  POLICY_NOT_FOUND: { status: 404, message: 'no policy with that name' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed on this route' },
  NOTIFIER_NAME_TAKEN: { status: 409, message: 'another notifier already has that name' },
  COMPUTER_DEACTIVATED: { status: 409, message: 'the computer is deactivated' },
  LEGACY_TLS_PORT_UNAVAILABLE: { status: 409, message: 'the legacy TLS listener could not open its port; the TLS policy was not changed' },
  EXCHANGE_NOT_ON_THIS_CONNECTION: { status: 409, message: 'operation results must be sent on the connection that received the operations' },
  BODY_TOO_LARGE: { status: 413, message: 'request body is larger than the limit' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'send the body as application/json' },
  INTERNAL: { status: 500, message: 'internal error; the manager logged the details' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class PalisadeError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    detail?: string,
  ) {
    super(detail ? `${ERRORS[code].message}: ${detail}` : ERRORS[code].message);
    this.status = ERRORS[code].status;
  }

  toBody() {
    return { error: { code: this.code, message: this.message } };
  }
}
