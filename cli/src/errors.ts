/** Exit codes of the CLI, stable for scripts. */
export enum ExitCode {
  Ok = 0,
  /** The operation failed: an API error, an unreachable gateway, a model or prediction that FAILED. */
  Failure = 1,
  /** The command line is wrong. */
  Usage = 2,
  /** Not logged in, wrong email or password, or a session that can no longer be refreshed. */
  Auth = 3,
  /** Stopped with Ctrl-C. */
  Interrupted = 130,
}

/** An error meant for the user: its message is printed as it is, and the process exits with its code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.Failure,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usage = (message: string): CliError => new CliError(message, ExitCode.Usage);
