// How the CLI ends: one exit status per kind of outcome, and the errors that carry them. Server
// answers keep the server's own stable code (src/errors.ts); failures the CLI finds itself carry
// one of CLI_CODES, so `--json` callers can branch on `error.code` either way.

export const EXIT = {
  ok: 0,
  /** The command ran and something failed: a server refusal, a check, a missing file. */
  failure: 1,
  /** The command line itself is wrong: unknown command or option, a missing or bad argument. */
  usage: 2,
  /** The configuration file is unreadable or invalid (sysexits EX_CONFIG, as `stockade serve`). */
  config: 78,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

export const CLI_CODES = {
  USAGE: 'the command line is not valid for this command',
  CONFIG_INVALID: 'the configuration is unreadable or invalid',
  UNREACHABLE: 'the Stockade server did not answer',
  ROUTE_MISSING: 'the server does not offer this route (older server?)',
  NOT_A_DATA_DIR: 'the directory holds no Stockade data',
  WAL_PRUNED: 'the WAL no longer reaches back to the requested time',
  SKU_NOT_FOUND: 'the SKU has no record at that time',
  NOT_AVAILABLE: 'the program is not part of this tree',
  CHILD_FAILED: 'a program the CLI ran failed',
  CHECKS_FAILED: 'at least one check failed',
  TOO_MANY_DEAD_LETTERS: 'more dead letters than one replay --all takes',
} as const;

export type CliCode = keyof typeof CLI_CODES;

/** A wrong command line: exit 2, with the command's usage shown. */
export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The command ran and failed. `code` is a server error code or one of CLI_CODES. */
export class CommandFailed extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly exitStatus: ExitStatus = EXIT.failure,
  ) {
    super(message);
    this.name = 'CommandFailed';
  }
}
