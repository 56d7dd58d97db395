import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { freePorts, sleep } from "./redis.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const START_TIMEOUT_MS = 60_000;

/**
 * A server node as its own process (`node dist/server/main.js`, what `npm start` runs), on free
 * loopback ports chosen here (bind-then-release; a start that loses the race for a port is retried).
 */
export class NodeProcess {
  private output = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    private readonly child: ChildProcess,
    readonly nodeId: string,
    readonly port: number,
    readonly apiPort: number,
  ) {
    child.stdout?.on("data", (d: Buffer) => this.keep(d));
    child.stderr?.on("data", (d: Buffer) => this.keep(d));
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  /** Starts a node with `env` on top of: loopback, free ports, LOG_LEVEL=warn, a fresh VOLLY_NODE_ID. */
  static async start(env: Record<string, string>, name = "node"): Promise<NodeProcess> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const [port = 0, apiPort = 0] = await freePorts(2);
      const nodeId = `ND_${name}_${randomBytes(3).toString("hex")}`;
      const child = spawn(process.execPath, ["dist/server/main.js"], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          VOLLY_HOST: "127.0.0.1",
          VOLLY_PORT: String(port),
          VOLLY_API_PORT: String(apiPort),
          VOLLY_NODE_ID: nodeId,
          LOG_LEVEL: process.env.TEST_NODE_LOG_LEVEL ?? "warn",
          ...env,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const node = new NodeProcess(child, nodeId, port, apiPort);
      try {
        await node.waitHealthy(START_TIMEOUT_MS);
        return node;
      } catch (e) {
        lastError = e;
        await node.kill();
        if (!/EADDRINUSE/.test(node.output)) break;
      }
    }
    throw lastError;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  /** The last lines the process printed (for failure messages). */
  get log(): string {
    return this.output.slice(-4000);
  }

  /** `/healthz` status, or 0 when the node does not answer. */
  async health(): Promise<number> {
    try {
      const res = await fetch(`${this.httpUrl}/healthz`, { signal: AbortSignal.timeout(3000) });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }

  /** `/volly/sessions/stats` of this node. */
  async stats(): Promise<{ active_sessions: number; total_sessions: number; expired_sessions: number; node_id: string }> {
    const res = await fetch(`${this.apiUrl}/volly/sessions/stats`, { signal: AbortSignal.timeout(3000) });
    return (await res.json()) as { active_sessions: number; total_sessions: number; expired_sessions: number; node_id: string };
  }

  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    while ((await this.health()) !== 200) {
      if (exited) throw new Error(`node ${this.nodeId} exited during start-up:\n${this.log}`);
      if (Date.now() > deadline) throw new Error(`node ${this.nodeId} not healthy after ${timeoutMs} ms:\n${this.log}`);
      await sleep(100);
    }
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) the process: a node that stops answering without going away. */
  freeze(frozen: boolean): void {
    this.child.kill(frozen ? "SIGSTOP" : "SIGCONT");
  }

  /** kill -9: no goodbye to anyone. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM (graceful drain); resolves with the exit code. */
  async terminate(timeoutMs = 30_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const { code } = await this.exited;
    clearTimeout(timer);
    return code;
  }

  private keep(d: Buffer): void {
    this.output = (this.output + d.toString("utf8")).slice(-20_000);
  }
}

/** Polls `check` until it holds (generous timeouts: the CI machine is small and shared). */
export async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
