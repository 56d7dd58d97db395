// docs/operations.md §6: every log line carries `nodeId`, also the lines the process writes about the node
// rather than the node itself: a start-up failure and the shutdown. Run as `npm start` runs the server.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { useTakenPort } from "../helpers/taken-port.js";
import { freePort } from "../helpers/redis.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const NODE_ID = "ND_node-id-lines";

/**
 * Runs `node dist/server/main.js` (what `npm start` runs) with `env` until it exits; once it logs "listening" it is sent SIGTERM.
 * PQ is off so that the lines do not depend on whether this machine built the native ML-KEM.
 */
function runMain(env: Record<string, string>): Promise<{ code: number | null; entries: Array<Record<string, unknown>>; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["dist/server/main.js"], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        VOLLY_HOST: "127.0.0.1",
        VOLLY_PORT: "0",
        VOLLY_API_PORT: "0",
        VOLLY_NODE_ID: NODE_ID,
        VOLLY_PQ_ENABLED: "false",
        LOG_LEVEL: "debug",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stopped = false;
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
      if (!stopped && /"msg":"listening"/.test(stdout)) {
        stopped = true;
        child.kill("SIGTERM");
      }
    });
    child.stderr.on("data", () => {});
    const timer = setTimeout(() => child.kill("SIGKILL"), 45_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const entries = stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, entries, stdout });
    });
  });
}

function assertEveryLineHasNodeId(entries: Array<Record<string, unknown>>, stdout: string): void {
  assert.ok(entries.length > 0, "the process logged something");
  for (const entry of entries) assert.equal(entry.nodeId, NODE_ID, `line without this node's id: ${JSON.stringify(entry)}\n${stdout}`);
}

describe("every line of the server process names its node", { concurrency: true }, () => {
  const taken = useTakenPort();

  test("the fatal line (and its debug details) of a port taken by another process carries nodeId", async () => {
    const { code, entries, stdout } = await runMain({ VOLLY_PORT: String(taken.port) });
    assert.equal(code, 1, stdout);
    const fatal = entries.at(-1);
    assert.equal(fatal?.level, "fatal");
    assert.equal(fatal?.code, "EADDRINUSE");
    assert.ok(entries.some((e) => e.msg === "start-up failure details"), stdout);
    assertEveryLineHasNodeId(entries, stdout);
  });

  test("the fatal line of Redis not answering carries nodeId", async () => {
    const { code, entries, stdout } = await runMain({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    assert.equal(code, 1, stdout);
    assert.equal(entries.at(-1)?.level, "fatal");
    assertEveryLineHasNodeId(entries, stdout);
  });

  test("SIGTERM: 'shutting down' and 'closed' carry nodeId like every line before them", async () => {
    const { code, entries, stdout } = await runMain({});
    assert.equal(code, 0, stdout);
    const messages = entries.map((e) => e.msg);
    assert.ok(messages.includes("shutting down") && messages.includes("closed"), stdout);
    assert.equal(entries.find((e) => e.msg === "shutting down")?.signal, "SIGTERM");
    assertEveryLineHasNodeId(entries, stdout);
  });
});
