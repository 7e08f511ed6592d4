/**
 * The store a command was pointed at does not exist. Only `start` creates a store; any other
 * command refuses, so a mistyped `--data-dir` or `--db` never quietly makes a new one (and
 * prints a new CA's fingerprint or a token no manager knows).
 */
export class StoreNotFoundError extends Error {}
