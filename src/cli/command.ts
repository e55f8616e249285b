// The shape every CLI command has (its one-line summary lives in main.ts's command list): a name,
// its full help text, and a run function that throws UsageError / CommandFailed / ConfigError to fail.

export interface CliCommand {
  name: string;
  help: string;
  /** Resolves with the exit status (0 unless the command reports failure itself). */
  run(args: string[]): Promise<number>;
}
