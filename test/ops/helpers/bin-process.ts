import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The `volly-signaling` bin of this checkout. */
export const BIN = fileURLToPath(new URL("../../../bin/volly-signaling.mjs", import.meta.url));

/** A server started through the bin (`volly-signaling` with no command), as an operator would. */
export interface BinServer {
  readonly port: number;
  readonly apiPort: number;
  readonly child: ChildProcess;
  /** Every stdout line so far (pino JSON). */
  readonly lines: string[];
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Runs the bin with `args` on plain Node (no tsx flags) and collects its output. */
export function runBin(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** How the bin is launched: Node's own flags before it, the bin's arguments after it. */
export interface BinLaunch {
  readonly nodeArgs?: readonly string[];
  readonly args?: readonly string[];
}

/** Starts `volly-signaling` on loopback with free ports; resolves once it logged "listening". */
export function startBinServer(env: NodeJS.ProcessEnv = {}, launch: BinLaunch = {}): Promise<BinServer> {
  const child = spawn(process.execPath, [...(launch.nodeArgs ?? []), BIN, ...(launch.args ?? [])], {
    env: { PATH: process.env.PATH, VOLLY_HOST: "127.0.0.1", VOLLY_PORT: "0", VOLLY_API_PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the bin did not log "listening" in 20 s:\n${lines.join("\n")}`));
    }, 20_000);
    let buffered = "";
    child.stderr.on("data", (c: Buffer) => lines.push(`stderr: ${c.toString()}`));
    child.stdout.on("data", (c: Buffer) => {
      buffered += c.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const line of parts) {
        lines.push(line);
        const entry = safeJson(line);
        if (entry?.msg === "listening" && typeof entry.port === "number" && typeof entry.apiPort === "number") {
          clearTimeout(timer);
          resolve({
            port: entry.port,
            apiPort: entry.apiPort,
            child,
            lines,
            stop: () => {
              child.kill("SIGTERM");
              return exited;
            },
          });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the bin exited with ${code} before listening:\n${lines.join("\n")}`));
    });
  });
}

function safeJson(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return v && typeof v === "object" ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
