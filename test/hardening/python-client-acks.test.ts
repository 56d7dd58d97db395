// The Python client (sdk/python/volly_client.py) acknowledges what it receives, as the TypeScript SDK does: an
// `ack` every 32 stream messages and a `ping` (carrying last_message_id) every ping_interval. A client that
// did neither kept up to VOLLY_RESUME_QUEUE_LIMIT messages in its mailbox for its whole life, and was cut off
// by the ping timeout whenever it had nothing to send.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { TestClient } from "../helpers/signal-client.js";
import { eventually } from "../helpers/polling.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { generatePythonStubs, PYTHON, PYTHON_SDK, pythonSkip as skip, removePythonStubs } from "../ops/helpers/python-sdk.js";

/** Runs the Python client until it receives an `answer`; resolves with its exit code and stderr. */
function runPython(stubs: string, port: number, room: string, identity: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [
      join(PYTHON_SDK, "volly_client.py"),
      "--server", `127.0.0.1:${port}`, "--room", room, "--identity", identity, "--wait-for", "answer", "--timeout", "20",
    ], { env: { PATH: process.env.PATH, VOLLY_PYTHON_STUBS: stubs, PYTHONDONTWRITEBYTECODE: "1" }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** The sid of `identity` once it has joined `room`. */
async function sidOnceJoined(srv: TestServer, room: string, identity: string): Promise<string> {
  let sid = "";
  await eventually(async () => {
    sid = (await srv.server.services.store.getParticipant(room, identity))?.info?.sid ?? "";
    return sid !== "";
  }, `${identity} to join`, 20_000);
  return sid;
}

/** Whether `sent` messages were queued for the participant, and at most `kept` of them are still unacknowledged. */
async function acknowledged(srv: TestServer, sid: string, sent: number, kept: number): Promise<boolean> {
  const mailbox = await srv.server.services.store.readMailbox(sid, 0n);
  return mailbox.nextId > BigInt(sent) && mailbox.messages.length <= kept;
}

describe("Python client acknowledges its mailbox", { skip }, () => {
  let stubs = "";
  before(() => {
    stubs = generatePythonStubs("acks");
  });
  after(() => removePythonStubs(stubs));

  test("an ack every 32 messages: of 100 offers, fewer than 32 stay unacknowledged", async () => {
    // A ping interval far beyond the test: only the batched acks can acknowledge.
    const srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_PING_INTERVAL: "3600", VOLLY_PING_TIMEOUT: "7200" });
    try {
      const bob = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "ts-bob", room: "py-acks", pq: false });
      const python = runPython(stubs, srv.port, "py-acks", "py-acker");
      const sid = await sidOnceJoined(srv, "py-acks", "py-acker");
      for (let i = 0; i < 100; i++) bob.send({ case: "offer", value: { sdp: `v=0 ${i}`, target: "py-acker" } });
      await eventually(() => acknowledged(srv, sid, 100, 31), "the Python client's acks", 15_000);
      bob.send({ case: "answer", value: { sdp: "v=0 done", target: "py-acker" } });
      const out = await python;
      assert.equal(out.code, 0, out.stderr);
      await bob.leave();
    } finally {
      await srv.close();
    }
  });

  test("a ping every ping_interval: it acknowledges the rest and keeps an idle client past the ping timeout", async () => {
    const srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_PING_INTERVAL: "1", VOLLY_PING_TIMEOUT: "2" });
    let bobAlive: NodeJS.Timeout | undefined;
    try {
      const bob = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "ts-bob", room: "py-pings", pq: false });
      // Bob pings too: with a 2 s ping timeout and the server's 1 s tick, its WebSocket control pong alone could
      // come too late when the machine is busy, and a timed-out Bob never delivers the final answer.
      bobAlive = setInterval(() => bob.send({ case: "ping", value: { timestamp: BigInt(Date.now()) } }), 400);
      const python = runPython(stubs, srv.port, "py-pings", "py-pinger");
      const sid = await sidOnceJoined(srv, "py-pings", "py-pinger");
      for (let i = 0; i < 5; i++) bob.send({ case: "offer", value: { sdp: `v=0 ${i}`, target: "py-pinger" } });
      await eventually(() => acknowledged(srv, sid, 5, 0), "the Python client's ping to acknowledge", 15_000);
      // Silent but for its pings for twice the ping timeout: still there, the same participant.
      await new Promise((r) => setTimeout(r, 4000));
      assert.equal((await srv.server.services.store.getParticipant("py-pings", "py-pinger"))?.info?.sid, sid);
      bob.send({ case: "answer", value: { sdp: "v=0 done", target: "py-pinger" } });
      const out = await python;
      assert.equal(out.code, 0, out.stderr);
      clearInterval(bobAlive);
      await bob.leave();
    } finally {
      clearInterval(bobAlive);
      await srv.close();
    }
  });
});
