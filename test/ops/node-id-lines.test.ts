// docs/operations.md §6: every log line carries `nodeId`, also the lines the process writes about the node
// rather than the node itself: a start-up failure and the shutdown. Run as `npm start` runs the server.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { useTakenPort } from "../helpers/taken-port.js";
import { freePort } from "../helpers/redis.js";
import { runServer } from "../helpers/server-run.js";

const NODE_ID = "ND_node-id-lines";

/**
 * Runs `node dist/server/main.js` (what `npm start` runs) with `env` until it exits; once it logs "listening" it is sent SIGTERM.
 * PQ is off so that the lines do not depend on whether this machine built the native ML-KEM.
 */
async function runMain(env: Record<string, string>): Promise<{ code: number | null; entries: Array<Record<string, unknown>>; stdout: string }> {
  const { code, stdout } = await runServer({ VOLLY_NODE_ID: NODE_ID, VOLLY_PQ_ENABLED: "false", LOG_LEVEL: "debug", ...env }, 45_000, "listening");
  // Every line must be JSON: one that is not fails the test here.
  const entries = stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, entries, stdout };
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
    assert.equal(entries.at(-1)?.level, "fatal", stdout);
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

// A supervisor may signal while the node is still starting (here: at its first line, before "listening"). The
// handlers are installed first, so the node drains and says so rather than dying of Node's default for SIGTERM.
test("a SIGTERM during start-up stops the node cleanly, with its last lines in order", async () => {
  const { code, stdout } = await runServer({ VOLLY_NODE_ID: NODE_ID, VOLLY_PQ_ENABLED: "false", LOG_LEVEL: "debug" }, 45_000, "backend ready");
  assert.equal(code, 0, stdout);
  const entries = stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
  const messages = entries.map((e) => e.msg);
  assert.ok(messages.indexOf("backend ready") < messages.indexOf("shutting down"), stdout);
  assert.equal(messages.at(-1), "closed", stdout);
  assertEveryLineHasNodeId(entries, stdout);
});
