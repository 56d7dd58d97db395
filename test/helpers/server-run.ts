import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Runs the compiled server (`dist/server/main.js`) with `env` on loopback and free ports until it exits (a
 * start-up failure), killed after `timeoutMs`. `output` is stdout and stderr together.
 */
export function runServer(env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; output: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["dist/server/main.js"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, VOLLY_HOST: "127.0.0.1", VOLLY_PORT: "0", VOLLY_API_PORT: "0", LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => {
      output += c.toString();
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output, stderr });
    });
  });
}
