import { WIRE_ERRORS } from '@palisade/protocol';

/**
 * Every error the agent's listener (4118) answers the manager with: a stable code, its HTTP
 * status and a sentence, in the `{"error": {"code", "message"}}` body the manager's endpoint
 * uses too. The manager logs them and shows them in the computer's last dial. docs/errors.md
 * lists exactly these (a test checks it).
 */
export const LISTENER_ERRORS = {
  // The codes the manager's agent endpoint answers with too: one definition, in protocol.
  ...WIRE_ERRORS,
  NOT_THE_MANAGER: {
    status: 403,
    message:
      'this listener accepts only the manager: a client certificate from the pinned manager CA with OU=Palisade Manager',
  },
  NOT_FOUND: { status: 404, message: 'no such route on the agent listener' },
  INVALID_REQUEST: { status: 400, message: 'request body does not match the schema' },
  BUSY: { status: 503, message: 'the agent is busy with another exchange; try again' },
  INTERNAL: { status: 500, message: 'the exchange failed on the agent; the agent logged the details' },
} as const satisfies Record<string, { status: number; message: string }>;
export type ListenerErrorCode = keyof typeof LISTENER_ERRORS;

export class ListenerError extends Error {
  override readonly name = 'ListenerError';
  constructor(
    readonly code: ListenerErrorCode,
    detail?: string,
    /** `cause`: the error this one reports, kept for the logs. */
    options?: ErrorOptions,
  ) {
    super(detail ? `${LISTENER_ERRORS[code].message}: ${detail}` : LISTENER_ERRORS[code].message, options);
  }
}
