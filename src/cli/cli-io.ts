/** Where a CLI command reads its environment and writes its output (the process, or a test's buffers). */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Exit codes: 0 done, 1 failed, 2 bad command line (like most Unix tools), 78 bad configuration (EX_CONFIG). */
export const EXIT = { ok: 0, failed: 1, usage: 2, config: 78 } as const;
