/**
 * What `podpulse` exits with, so scripts can branch without parsing text (docs/cli.md). Stable: a code's meaning
 * never changes; new situations get new codes.
 */
export const CLI_EXIT = {
  ok: 0,
  /** The server refused the request (validation, conflict, a server-side failure); the message names what. */
  refused: 1,
  /** The command line is wrong: unknown subcommand or flag, missing argument, unreadable local file. */
  usage: 2,
  /** The instance, command, revision, release or rollout does not exist (HTTP 404). */
  notFound: 3,
  /** No token, an unknown token (401), or a role too low for the request (403). */
  auth: 4,
  /** The server could not be reached, did not answer in time, or answered 502/503/504. */
  unreachable: 5,
  /** `exec`: the command did not succeed on every instance (non-zero exit, refused, timeout, error, expired, lost). */
  commandFailed: 6,
  /** `exec`: `--wait` ran out while some instances had not answered yet. */
  waitTimedOut: 7,
} as const;

export type CliExitCode = (typeof CLI_EXIT)[keyof typeof CLI_EXIT];

/** An error that ends the CLI with a chosen exit code and a one-line message (plus optional details). */
export class CliError extends Error {
  readonly exitCode: CliExitCode;
  /** A stable error code: the server's (`PODPULSE_ERR_...`) or the CLI's own. */
  readonly code: string;
  readonly details: readonly string[];

  constructor(exitCode: CliExitCode, code: string, message: string, details: readonly string[] = []) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.code = code;
    this.details = details;
  }
}

export const usageError = (message: string): CliError => new CliError(CLI_EXIT.usage, 'PODPULSE_ERR_USAGE', message);
