import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** What a server process printed, and how it ended. */
export interface ServerRun {
  readonly code: number | null;
  /** stdout and stderr together, in arrival order. */
  readonly output: string;
  readonly stdout: string;
  readonly stderr: string;
  /** The line the run was stopped at (`stopAt`), when it came. */
  readonly stoppedAt?: Record<string, unknown>;
}

/**
 * Runs the compiled server (`dist/server/main.js`, what `npm start` runs) with `env` on loopback and free ports,
 * over a clean environment, until it exits (a start-up failure), killed after `timeoutMs`. With `stopAt` it is
 * sent SIGTERM once it logs a line with that `msg` ("listening", say).
 */
export function runServer(env: Record<string, string>, timeoutMs = 60_000, stopAt?: string): Promise<ServerRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["dist/server/main.js"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, VOLLY_HOST: "127.0.0.1", VOLLY_PORT: "0", VOLLY_API_PORT: "0", LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let stdout = "";
    let stderr = "";
    let stoppedAt: Record<string, unknown> | undefined;
    child.stdout.on("data", (c: Buffer) => {
      output += c.toString();
      stdout += c.toString();
      if (stopAt === undefined || stoppedAt !== undefined) return;
      stoppedAt = stdout.split("\n").map(parseLine).find((entry) => entry?.msg === stopAt);
      if (stoppedAt !== undefined) child.kill("SIGTERM");
    });
    child.stderr.on("data", (c: Buffer) => {
      output += c.toString();
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output, stdout, stderr, ...(stoppedAt ? { stoppedAt } : {}) });
    });
  });
}

/** A log line as an object, or undefined when it is not JSON. */
export function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return v && typeof v === "object" ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
