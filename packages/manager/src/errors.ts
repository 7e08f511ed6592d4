import { WIRE_ERRORS } from '@palisade/protocol';

/**
 * Every error the manager answers with, on either port: a stable code, its HTTP status and the
 * default sentence. docs/errors.md lists exactly these (a test checks it). Bodies are
 * `{"message": "…", "error": {"code": "…", "message": "…"}}`: the top-level `message` is Deep
 * Security's error shape, which its clients and SDKs read; `error.code` is the stable code. The
 * message may add specifics to the default.
 */
export const ERRORS = {
  // The codes the agent's listener answers with too: one definition, in protocol.
  ...WIRE_ERRORS,
  INVALID_JSON: { status: 400, message: 'request body is not valid JSON' },
  VALIDATION_FAILED: { status: 400, message: 'request does not match the schema' },
  API_VERSION_UNSUPPORTED: { status: 400, message: 'api-version header not supported; this manager speaks v1' },
  CSR_INVALID: { status: 400, message: 'certificate request is not acceptable' },
  NOTIFIER_CONFIG_INVALID: { status: 400, message: 'notifier configuration is not usable' },
  NOTIFIER_DESTINATION_REFUSED: {
    status: 400,
    message: 'the notifier destination is not allowed by palisadeSettingNotifierDestinationAllowList',
  },
  EVENTS_CURSOR_INVALID: { status: 400, message: 'events cursor not recognised' },
  TLS_POLICY_UNKNOWN: { status: 400, message: 'unknown TLS policy name' },
  SETTING_VALUE_INVALID: {
    status: 400,
    message: 'value not allowed for this setting (GET /api/settings lists the allowed values)',
  },
  SETTING_READ_ONLY: { status: 400, message: 'this setting is read-only: it is shown but never written or overridden' },
  SETTING_NOT_SUPPORTED_ON_PLATFORM: { status: 400, message: "this value is not supported on the computer's platform" },
  BASE_POLICY_SETTING_REQUIRED: {
    status: 400,
    message: 'the Base Policy must keep a value for every setting; it has no parent to inherit from',
  },
  BASE_POLICY_FIXED: { status: 400, message: 'the Base Policy cannot be moved or deleted' },
  POLICY_PARENT_REQUIRED: { status: 400, message: 'every policy but the Base Policy needs a parent policy' },
  POLICY_REFERENCE_UNKNOWN: { status: 400, message: 'the request names a policy that does not exist' },
  POLICY_CYCLE: { status: 400, message: 'a policy cannot be placed under itself or one of its descendants' },
  FIREWALL_RULE_INVALID: { status: 400, message: 'firewall rule is not valid' },
  FIREWALL_RULE_NOT_ENFORCEABLE: { status: 400, message: 'firewall rule cannot be enforced by the agent (nftables)' },
  USER_INVALID: { status: 400, message: 'console user is not valid' },
  PASSWORD_TOO_WEAK: { status: 400, message: 'password not accepted' },
  FIREWALL_RULE_REFERENCE_UNKNOWN: { status: 400, message: 'the request names a firewall rule that does not exist' },
  FIREWALL_LIST_INVALID: { status: 400, message: 'IP, MAC or port list is not valid' },
  SYSTEM_SETTING_VALUE_INVALID: {
    status: 400,
    message: 'system setting value refused; nothing was changed (GET /api/systemsettings lists the settings)',
  },
  SYSTEM_SETTING_NAME_UNKNOWN: {
    status: 400,
    message: 'no system setting of that name; nothing was changed (GET /api/systemsettings lists the settings)',
  },
  ROLE_REFERENCE_UNKNOWN: { status: 400, message: 'roleID names no role (GET /api/roles lists them)' },
  SEARCH_CRITERIA_INVALID: {
    status: 400,
    message: 'search filter not usable (field names are case-sensitive; the reason names the criterion)',
  },
  EXPAND_INVALID: { status: 400, message: 'expand value not recognised' },
  FIREWALL_LIST_REFERENCE_UNKNOWN: {
    status: 400,
    message: 'the firewall rule names an IP, MAC or port list that does not exist',
  },
  API_KEY_REQUIRED: {
    status: 401,
    message: 'send an API key in the api-secret-key header, or sign in to the console',
  },
  SIGN_IN_FAILED: { status: 401, message: 'user name or password not recognised' },
  SESSION_EXPIRED: { status: 401, message: 'the console session has ended (expired or signed out); sign in again' },
  API_KEY_INVALID: { status: 401, message: 'API key not recognised (unknown, revoked, locked or expired)' },
  CLIENT_CERTIFICATE_REQUIRED: {
    status: 401,
    message: 'this endpoint needs the agent certificate issued at activation',
  },
  CERTIFICATE_NOT_RECOGNIZED: {
    status: 403,
    message: 'client certificate was not issued by this manager to an activated computer',
  },
  CERTIFICATE_REVOKED: {
    status: 403,
    message: 'client certificate was revoked (the computer was deactivated); activate again',
  },
  TOKEN_UNKNOWN: { status: 403, message: 'activation token not recognised' },
  TOKEN_EXPIRED: { status: 403, message: 'activation token has expired' },
  TOKEN_USED_UP: { status: 403, message: 'activation token has no uses left' },
  TOKEN_REVOKED: { status: 403, message: 'activation token was revoked' },
  ACTIVATION_NOT_ALLOWED: {
    status: 403,
    message: 'the manager does not allow this activation (platformSettingAgentInitiatedActivation… system settings)',
  },
  AGENT_CLONED: {
    status: 409,
    message:
      "this host is a copy of another computer's host (same host identity) and is not activated as one of its own",
  },
  READ_ONLY_API_KEY: { status: 403, message: 'this API key is read-only' },
  READ_ONLY_USER: { status: 403, message: 'this console user is read-only' },
  CURRENT_PASSWORD_WRONG: { status: 403, message: 'the current password is not right; the password was not changed' },
  CONSOLE_SESSION_REQUIRED: {
    status: 403,
    message: "this changes the signed-in console user's own password: sign in to the console (an API key has none)",
  },
  CSRF_TOKEN_INVALID: {
    status: 403,
    message: 'a console write needs the x-csrf-token header the session was given (GET /api/session)',
  },
  NOT_FOUND: { status: 404, message: 'no such route or resource' },
  USER_NOT_FOUND: { status: 404, message: 'no console user with that name or ID' },
  COMPUTER_NOT_FOUND: { status: 404, message: 'no computer with that ID' },
  ALERT_NOT_FOUND: { status: 404, message: 'no alert with that ID' },
  MANAGER_NODE_NOT_FOUND: { status: 404, message: 'no manager node with that ID' },
  NOTIFIER_NOT_FOUND: { status: 404, message: 'no notifier with that ID' },
  POLICY_NOT_FOUND: { status: 404, message: 'no policy with that ID or name' },
  FIREWALL_RULE_NOT_FOUND: { status: 404, message: 'no firewall rule with that ID' },
  FIREWALL_LIST_NOT_FOUND: { status: 404, message: 'no list of that kind with that ID' },
  ACTIVATION_TOKEN_NOT_FOUND: { status: 404, message: 'no activation token with that ID' },
  API_KEY_NOT_FOUND: { status: 404, message: 'no API key with that ID' },
  ROLE_NOT_FOUND: { status: 404, message: 'no role with that ID (GET /api/roles lists them)' },
  AGENT_PACKAGE_NOT_FOUND: {
    status: 404,
    message: 'the manager holds no agent package for that (run "npm run package:agent"; docs/deployment.md)',
  },
  SETTING_NOT_FOUND: { status: 404, message: 'no setting with that name (GET /api/settings lists them)' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed on this route' },
  USER_NAME_TAKEN: { status: 409, message: 'another console user already has that name' },
  LAST_FULL_ACCESS_USER: {
    status: 409,
    message:
      'the last enabled full-access console user cannot be disabled, made an Auditor or deleted; enable or create another first',
  },
  USER_IS_YOU: {
    status: 409,
    message: 'a console user cannot delete itself; another full-access user can',
  },
  NOTIFIER_NAME_TAKEN: { status: 409, message: 'another notifier already has that name' },
  COMPUTER_DEACTIVATED: { status: 409, message: 'the computer is deactivated' },
  ACTIVATION_TOKEN_REVOKED_ALREADY: { status: 409, message: 'the activation token is revoked already' },
  API_KEY_REVOKED_ALREADY: { status: 409, message: 'the API key is revoked already' },
  MANAGER_NODE_ONLINE: {
    status: 409,
    message: 'the manager node is online: stop it first, and delete it once it shows offline',
  },
  POLICY_NAME_TAKEN: { status: 409, message: 'another policy already has that name' },
  POLICY_HAS_CHILDREN: { status: 409, message: 'the policy has child policies; move or delete them first' },
  POLICY_IN_USE: { status: 409, message: 'computers are assigned to the policy; assign them another policy first' },
  FIREWALL_RULE_NAME_TAKEN: { status: 409, message: 'another firewall rule already has that name' },
  FIREWALL_LIST_NAME_TAKEN: { status: 409, message: 'another list of that kind already has that name' },
  FIREWALL_LIST_IN_USE: { status: 409, message: 'firewall rules name the list; change them first' },
  FIREWALL_RULE_IN_USE: {
    status: 409,
    message: 'the firewall rule is assigned to policies or computers; unassign it first',
  },
  LEGACY_TLS_PORT_UNAVAILABLE: {
    status: 409,
    message: 'the legacy TLS listener could not open its port; the TLS policy was not changed',
  },
  LEGACY_API_NOT_PROVIDED: {
    status: 410,
    message:
      'Palisade has no legacy /rest API or session login: send an API key in the api-secret-key header to the REST API under /api (api-version v1)',
  },
  SIGN_IN_LOCKED: {
    status: 429,
    message: 'too many failed sign-ins: this user is locked for a while (it doubles with each further failure)',
  },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'send the body as application/json' },
  INTERNAL: { status: 500, message: 'internal error; the manager logged the details' },
  NOTIFIER_TEST_FAILED: { status: 502, message: "the notifier's receiver did not take the test message" },
  MANAGER_BUSY: {
    status: 503,
    message: 'the manager is serving as many requests of this kind as it queues; retry after the Retry-After seconds',
  },
  STORE_UNAVAILABLE: {
    status: 503,
    message: 'the database refuses writes (disk full, I/O error or read-only storage); nothing was stored',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class PalisadeError extends Error {
  override readonly name: string = 'PalisadeError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    detail?: string,
    /** `cause`: the error this one reports, kept for the logs. */
    options?: ErrorOptions,
  ) {
    super(detail ? `${ERRORS[code].message}: ${detail}` : ERRORS[code].message, options);
    this.status = ERRORS[code].status;
  }

  toBody() {
    return { message: this.message, error: { code: this.code, message: this.message } };
  }
}
