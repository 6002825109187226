/** The admin command's exit codes (docs/operations.md: "The admin command"). */
export const ExitCode = {
  Ok: 0,
  /** Anything unexpected: the database unreachable, a tool that failed. */
  Failed: 1,
  /** Unknown command or option, bad argument, or a configuration the server would refuse too. */
  Usage: 2,
  /** No such account, device or whitelist entry. */
  NotFound: 3,
  /** Not done on purpose: confirmation declined, a server holds the database, or not possible on this database. */
  Refused: 4,
  /** A check failed: the backup's integrity check, a restore file that is not a sound database, or a copy that differs. */
  CheckFailed: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Ends the command with `exitCode` and a message for the operator. */
export class AdminFailure extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** A stable name for --json output. */
    readonly code: string,
  ) {
    super(message);
    this.name = 'AdminFailure';
  }
}

export const usage = (message: string) => new AdminFailure(ExitCode.Usage, message, 'USAGE');
export const notFound = (message: string) => new AdminFailure(ExitCode.NotFound, message, 'NOT_FOUND');
export const refused = (message: string, code = 'REFUSED') => new AdminFailure(ExitCode.Refused, message, code);
export const checkFailed = (message: string) => new AdminFailure(ExitCode.CheckFailed, message, 'CHECK_FAILED');
