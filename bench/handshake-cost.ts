// Handshake cost alone: the server side of one way-(b) handshake (onHandshake + onFinished), in a child
// process pinned to the server core, for both algorithms. The client's work happens outside the timed part.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface HandshakeCost {
  algorithm: string;
  microsPerHandshake: number;
  handshakesPerSecond: number;
}

/** Runs bench/handshake-worker.ts pinned to `core`; `n` handshakes per algorithm. */
export async function measureHandshakes(core: number, n: number): Promise<HandshakeCost[]> {
  const { stdout } = await run("taskset", ["-c", String(core), "node", "--import", "tsx", "bench/handshake-worker.ts", String(n)], { timeout: 300_000 });
  return JSON.parse(stdout.trim().split("\n").pop() ?? "[]") as HandshakeCost[];
}
