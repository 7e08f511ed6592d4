/**
 * Every failure the agent reports to its operator: a stable code and one line that names the
 * cause and, where there is one, the fix. The CLI prints `palisade-agent: MESSAGE` and exits 1.
 */
export const AGENT_ERRORS = {
  NOT_ACTIVATED: 'this agent is not activated',
  ALREADY_ACTIVATED: 'this state directory already holds an activation',
  TOKEN_REQUIRED: 'activation needs --token (make one with "palisade-manager token create --policy NAME")',
  FINGERPRINT_REQUIRED: 'refusing to activate without --ca-fingerprint',
  FINGERPRINT_MISMATCH: 'the manager CA does not match --ca-fingerprint',
  MANAGER_URL_INVALID: 'manager address is not of the form dsm://HOST:PORT/',
  MANAGER_NAME_UNRESOLVED: 'manager host name does not resolve',
  MANAGER_UNREACHABLE: 'cannot connect to the manager',
  MANAGER_TLS_FAILED: 'TLS with the manager failed',
  MANAGER_REFUSED: 'the manager refused the request',
  ACTIVATION_REFUSED: 'the manager refused activation',
  MANAGER_REPLY_INVALID: 'the manager sent a reply this agent does not understand',
  STATE_LOCKED: 'another agent process is using this state directory',
  AGENT_RUNNING: 'an agent is already running on this state directory',
  STATE_INVALID: 'the state directory is damaged',
  ROOT_REQUIRED: 'this command must run as root',
  SERVICE_FAILED: 'the service manager failed',
} as const;
export type AgentErrorCode = keyof typeof AGENT_ERRORS;

export interface AgentErrorOptions {
  /** For MANAGER_REFUSED and ACTIVATION_REFUSED: the manager's error code (e.g. TOKEN_EXPIRED). */
  managerCode?: string | undefined;
  /** For a 503 `MANAGER_BUSY`: the manager's `Retry-After`, seconds; null (default) when it gave none. */
  retryAfterSeconds?: number | null;
  /** The error this one reports (a socket or file system error), kept for the logs. */
  cause?: unknown;
}

export class AgentError extends Error {
  override readonly name = 'AgentError';
  readonly managerCode: string | undefined;
  readonly retryAfterSeconds: number | null;
  constructor(
    readonly code: AgentErrorCode,
    detail?: string,
    o: AgentErrorOptions = {},
  ) {
    super(detail ? `${AGENT_ERRORS[code]}: ${detail}` : AGENT_ERRORS[code], 'cause' in o ? { cause: o.cause } : {});
    this.managerCode = o.managerCode;
    this.retryAfterSeconds = o.retryAfterSeconds ?? null;
  }
}
