import { spawn } from "node:child_process";

/**
 * A Node child process (a fixture that runs a client in a runtime of its own) whose stdout is read as lines:
 * fixtures report what they saw one line at a time.
 */
export interface ChildLines {
  /** Every complete line so far. */
  readonly lines: string[];
  /** The exit code, and everything written to stderr. */
  readonly exited: Promise<{ code: number | null; stderr: string }>;
  /** Resolves once `done(lines)` holds; rejects with the output so far when the process exits first. */
  until(done: (lines: string[]) => boolean, what: string): Promise<void>;
}

/** Runs `node <args>` and reads its stdout as lines. */
export function spawnLines(args: string[]): ChildLines {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let buffered = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split("\n");
    buffered = parts.pop() ?? "";
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once("exit", (code) => resolve({ code, stderr })));
  const until = async (done: (lines: string[]) => boolean, what: string): Promise<void> => {
    while (!done(lines)) {
      const more = new Promise<void>((resolve) => waiters.push(resolve));
      const gone = exited.then(({ code }) => { throw new Error(`exited (${code}) before ${what}: ${lines.join(" | ")}\n${stderr}`); });
      await Promise.race([more, gone]);
    }
  };
  return { lines, exited, until };
}
