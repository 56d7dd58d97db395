// A handshake the connection ends before it is done or refused (the client closes after pq_handshake_response,
// gives up with a clear `leave`, or never starts) is a failed handshake too: `grep pq_handshake` finds it with
// result pq_handshake_abandoned, and volly_pq_handshakes_total counts it (README: "grep pq_handshake finds
// every handshake, successful or not"). A handshake that succeeded or was refused is told once, not again.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { WebSocket } from "ws";
import { capturedKeys, startCaptured, type CapturedServer } from "../helpers/captured-server.js";
import { createIndependentClient, generateTokenKeyPair } from "../helpers/independent-pq-client.js";
import { eventually } from "../helpers/polling.js";
import { TestClient } from "../helpers/signal-client.js";
import { makeToken } from "../helpers/tokens.js";

const ABANDONED = "pq_handshake_abandoned";

let srv: CapturedServer;
before(async () => {
  srv = await startCaptured("info");
});
after(() => srv.server.close(1000));

/** The `pq_handshake` lines of the connections of `identity`. */
function handshakeLines(identity: string): Array<Record<string, unknown>> {
  return srv.lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e.identity === identity && e.event === "pq_handshake");
}

async function counted(result: string, algorithm: string): Promise<number> {
  const metric = await srv.server.services.metrics.handshakes.get();
  return metric.values.find((v) => v.labels.result === result && v.labels.algorithm === algorithm)?.value ?? 0;
}

/** A raw WebSocket (flat JSON) that has connected; `frames` collects what the server sends. */
async function rawSocket(token: string): Promise<{ ws: WebSocket; frames: Array<Record<string, unknown>> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/rtc?access_token=${token}`);
  const frames: Array<Record<string, unknown>> = [];
  ws.on("message", (data) => frames.push(JSON.parse(String(data)) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return { ws, frames };
}

async function closeAndWaitForLine(ws: WebSocket, identity: string): Promise<Record<string, unknown>> {
  ws.close();
  await eventually(async () => handshakeLines(identity).length > 0, `a pq_handshake line for ${identity}`);
  const lines = handshakeLines(identity);
  assert.equal(lines.length, 1, JSON.stringify(lines));
  return lines[0] as Record<string, unknown>;
}

describe("abandoned post-quantum handshakes are logged and counted", () => {
  test("pq_handshake_response received, then closed without pq_finished (way b)", async () => {
    const identity = "abandons-after-response";
    const before = await counted(ABANDONED, "ML-KEM-768");
    const token = await makeToken({ identity, room: "abandon", ...capturedKeys });
    const { ws, frames } = await rawSocket(token);
    const fields = await createIndependentClient({ accessToken: token, algorithm: "ML-KEM-768" }).handshakeMessage("label");
    ws.send(JSON.stringify({
      type: "pq_handshake",
      algorithm: fields.algorithm,
      client_public_key: Buffer.from(fields.clientPublicKey).toString("base64"),
      client_nonce: Buffer.from(fields.clientNonce).toString("base64"),
    }));
    await eventually(async () => frames.some((f) => f.type === "pq_handshake_response"), "pq_handshake_response");
    const line = await closeAndWaitForLine(ws, identity);
    assert.equal(line.level, "warn");
    assert.equal(line.msg, "pq_handshake failed");
    assert.equal(line.result, ABANDONED);
    assert.equal(line.algorithm, "ML-KEM-768");
    assert.equal(line.way, "message");
    assert.equal(line.awaiting, "pq_finished");
    assert.equal(await counted(ABANDONED, "ML-KEM-768"), before + 1);
  });

  test("the server spoke first (the token binds a key, way a) and the client closed", async () => {
    const identity = "abandons-token-way";
    const before = await counted(ABANDONED, "X25519MLKEM768");
    const key = await generateTokenKeyPair("X25519MLKEM768");
    const claims = { pqPublicKey: Buffer.from(key.publicKey).toString("base64"), pqAlgorithm: "X25519MLKEM768" };
    const { ws, frames } = await rawSocket(await makeToken({ identity, room: "abandon", claims, ...capturedKeys }));
    await eventually(async () => frames.some((f) => f.type === "pq_handshake_response"), "pq_handshake_response");
    const line = await closeAndWaitForLine(ws, identity);
    assert.deepEqual([line.result, line.algorithm, line.way, line.awaiting], [ABANDONED, "X25519MLKEM768", "token", "pq_finished"]);
    assert.equal(await counted(ABANDONED, "X25519MLKEM768"), before + 1);
  });

  test("a client that never starts the handshake (a plaintext client against a PQ server) and closes", async () => {
    const identity = "never-starts";
    const before = await counted(ABANDONED, "");
    const { ws } = await rawSocket(await makeToken({ identity, room: "abandon", ...capturedKeys }));
    const line = await closeAndWaitForLine(ws, identity);
    assert.deepEqual([line.result, line.algorithm, line.way, line.awaiting], [ABANDONED, undefined, "message", "pq_handshake"]);
    assert.equal(await counted(ABANDONED, ""), before + 1);
  });

  test("a clear `leave` before pq_finished (the client giving up) is abandoned too", async () => {
    const identity = "leaves-mid-handshake";
    const { ws } = await rawSocket(await makeToken({ identity, room: "abandon", ...capturedKeys }));
    ws.send(JSON.stringify({ type: "leave" }));
    await eventually(async () => handshakeLines(identity).length > 0, "a pq_handshake line");
    assert.deepEqual(handshakeLines(identity).map((l) => l.result), [ABANDONED]);
    ws.terminate();
  });

  test("a handshake that succeeded, or was refused, is told once: never also abandoned", async () => {
    const done = await TestClient.connect({ kind: "ws-flat", port: srv.port, identity: "completes", room: "abandon", pq: "ML-KEM-768", token: capturedKeys });
    await done.leave();
    const refused = await rawSocket(await makeToken({ identity: "refused", room: "abandon", ...capturedKeys }));
    refused.ws.send(JSON.stringify({ type: "pq_handshake", algorithm: "ML-KEM-768", client_public_key: Buffer.alloc(10).toString("base64") }));
    await new Promise((resolve) => refused.ws.once("close", resolve));
    // Both connections have ended and been disposed of once `participant left` / `connection closing` are out.
    await eventually(async () => srv.lines.some((l) => l.includes('"identity":"refused"') && l.includes("connection closing")), "the refusal's close");
    await eventually(async () => srv.lines.some((l) => l.includes('"identity":"completes"') && l.includes("pq session ended")), "the session's end");
    assert.deepEqual(handshakeLines("completes").map((l) => l.result), ["success"]);
    assert.deepEqual(handshakeLines("refused").map((l) => l.result), ["pq_key_invalid"]);
  });
});
