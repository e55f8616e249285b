// The shape every CLI command has: a name, a one-line summary for the command list, its full
// help text, and a run function that throws UsageError / CommandFailed / ConfigError to fail.

export interface CliCommand {
  name: string;
  summary: string;
  help: string;
  /** Resolves with the exit status (0 unless the command reports failure itself). */
  run(args: string[]): Promise<number>;
}
