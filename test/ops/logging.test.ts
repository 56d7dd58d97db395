// Logs (DESIGN §7): pino JSON, one child logger per connection, `grep pq_handshake` finds handshake events
// (both ways, success and failure), LOG_LEVEL is honoured, and no line carries a token, the API secret, SDP,
// ICE candidates, data payloads, a client public key or KEM ciphertext seen on the wire, in any encoding.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { decodeJwt } from "jose";
import { SignalRequestSchema } from "../../gen/volly/signaling/v1/signal_pb.js";
import { loadConfig } from "../../src/config.js";
import { CAPTURED_SECRET, capturedKeys, startCaptured, type CapturedServer } from "../helpers/captured-server.js";
import { openChannel, UpgradeRefused } from "../helpers/channels.js";
import { generateTokenKeyPair } from "../helpers/independent-pq-client.js";
import { TestClient } from "../helpers/signal-client.js";
import { makeToken } from "../helpers/tokens.js";
import { joinWithToken } from "./helpers/join-with-token.js";

const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

describe("log content at LOG_LEVEL=trace", () => {
  let node: CapturedServer;
  /** Strings that must never appear in a log line, with what they are. */
  const secrets: Array<[string, string]> = [];
  const bytes: Array<[string, Uint8Array]> = [];

  before(async () => {
    node = await startCaptured("trace");
    const room = "log-room";
    secrets.push(["API secret", CAPTURED_SECRET]);

    // Way (b) over WebSocket and way (a) over gRPC, with the raw frames kept for their key material.
    const tokenB = await makeToken({ ...capturedKeys, identity: "log-b", room });
    const wayB = await joinWithToken({ kind: "ws-protobuf", port: node.port, token: tokenB, pq: "ML-KEM-768" });
    const kp = await generateTokenKeyPair("ML-KEM-768");
    const tokenA = await makeToken({ ...capturedKeys, identity: "log-a", room, claims: { pqPublicKey: b64(kp.publicKey), pqAlgorithm: "ML-KEM-768", pqKeyExpiry: Date.now() + 600_000 } });
    const wayA = await joinWithToken({ kind: "grpc-js", port: node.port, token: tokenA, pq: "ML-KEM-768", tokenKeyPair: kp });
    for (const [token, c] of [[tokenB, wayB], [tokenA, wayA]] as const) {
      assert.equal(c.first.message.case, "join");
      secrets.push(["token", token], ["token signature", token.split(".")[2] ?? ""], ["token payload", token.split(".")[1] ?? ""]);
      for (const r of c.sent) if (r.message.case === "pqHandshake") bytes.push(["client public key", r.message.value.clientPublicKey]);
      for (const r of c.wire) {
        if (r.message.case === "pqHandshakeResponse") bytes.push(["KEM ciphertext", r.message.value.kemCiphertext], ["server finished", r.message.value.serverFinished]);
      }
      for (const r of c.sent) if (r.message.case === "pqFinished") bytes.push(["client finished", r.message.value.clientFinished]);
    }
    bytes.push(["token-bound public key", kp.publicKey]);

    // Relays with SDP, candidates and a data payload, between clients of both transports.
    const alice = await TestClient.connect({ kind: "ws-flat", port: node.port, identity: "log-alice", room, pq: "ML-KEM-768", token: capturedKeys });
    const bob = await TestClient.connect({ kind: "grpc-js", port: node.port, identity: "log-bob", room, pq: "ML-KEM-768", tokenKey: true, token: capturedKeys });
    secrets.push(["token", alice.token], ["token", bob.token]);
    const sdpOffer = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=LOGTEST-OFFER-SDP\r\n";
    const sdpAnswer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=LOGTEST-ANSWER-SDP\r\n";
    const candidate = JSON.stringify({ candidate: "candidate:LOGTEST 1 udp 2122260223 192.0.2.7 54400 typ host", sdpMid: "0" });
    alice.send({ case: "offer", value: { sdp: sdpOffer, target: "log-bob" } });
    await bob.waitFor("offer");
    bob.send({ case: "answer", value: { sdp: sdpAnswer, target: "log-alice" } });
    await alice.waitFor("answer");
    alice.send({ case: "trickle", value: { candidate, target: "log-bob" } });
    await bob.waitFor("trickle");
    alice.send({ case: "data", value: { payload: new TextEncoder().encode("LOGTEST-DATA-PAYLOAD"), topic: "chat", id: "d1" } });
    await bob.waitFor("data");
    secrets.push(["SDP", "LOGTEST-OFFER-SDP"], ["SDP", "LOGTEST-ANSWER-SDP"], ["SDP", "4611731400430051336"], ["candidate", "LOGTEST 1 udp"], ["candidate", "192.0.2.7"]);
    secrets.push(["data payload", "LOGTEST-DATA-PAYLOAD"], ["data payload", b64(new TextEncoder().encode("LOGTEST-DATA-PAYLOAD"))]);

    // Failures: an invalid client key (right length, fails the FIPS 203 modulus check) and a refused token.
    const badKey = new Uint8Array(1184).fill(0xff);
    const failing = await openChannel("ws-protobuf", node.port, { token: await makeToken({ ...capturedKeys, identity: "log-bad", room }) });
    failing.send(create(SignalRequestSchema, { message: { case: "pqHandshake", value: { algorithm: "ML-KEM-768", clientPublicKey: badKey } } }));
    await failing.closed;
    bytes.push(["invalid client key", badKey]);
    const forged = await makeToken({ key: capturedKeys.key, secret: "not-the-secret-at-all-0123456789", identity: "log-forged", room });
    await assert.rejects(openChannel("ws-protobuf", node.port, { token: forged }), UpgradeRefused);
    secrets.push(["refused token", forged]);
    // A token whose key has expired is refused before the upgrade: still a failed handshake (way a).
    const expiredKey = (await generateTokenKeyPair("ML-KEM-768")).publicKey;
    const expired = await makeToken({ ...capturedKeys, identity: "log-expired", room, claims: { pqPublicKey: b64(expiredKey), pqAlgorithm: "ML-KEM-768", pqKeyExpiry: Date.now() - 1000 } });
    await assert.rejects(openChannel("ws-protobuf", node.port, { token: expired }), UpgradeRefused);
    secrets.push(["refused token", expired]);
    bytes.push(["token-bound public key", expiredKey]);

    await alice.leave();
    bob.kill();
    wayA.channel.kill();
    wayB.channel.kill();
    await new Promise((r) => setTimeout(r, 100));
    await node.server.close(1000);
  });

  test("every line is one JSON object with level, time and msg", () => {
    assert.ok(node.lines.length > 10, `${node.lines.length} lines`);
    for (const line of node.lines) {
      const entry = JSON.parse(line) as { level?: string; time?: string; msg?: string };
      assert.ok(entry.level && entry.time && entry.msg, line);
    }
  });

  test("`grep pq_handshake` finds the handshakes: both ways succeeding, and the failure with its reason", () => {
    const grep = node.lines.filter((l) => l.includes("pq_handshake")).map((l) => JSON.parse(l) as Record<string, unknown>);
    const ok = grep.filter((e) => e.event === "pq_handshake" && e.result === "success");
    assert.equal(ok.length, 4, "four successful handshakes");
    assert.deepEqual(new Set(ok.map((e) => e.way)), new Set(["message", "token"]), "way (b) and way (a)");
    for (const e of ok) {
      assert.match(String(e.sessionId), /^[0-9a-f]{32}$/);
      assert.equal(e.algorithm, "ML-KEM-768");
      assert.ok(e.connId && e.identity && e.room, "connection fields from the per-connection child logger");
    }
    const failed = grep.filter((e) => e.event === "pq_handshake" && e.result !== "success");
    assert.deepEqual(failed.map((e) => [e.result, e.level, e.algorithm]), [["pq_key_invalid", "warn", "ML-KEM-768"], ["pq_key_expired", "warn", "ML-KEM-768"]]);
    assert.equal(failed[0]?.identity, "log-bad");
    assert.equal(failed[1]?.way, "token");
  });

  test("no line holds a token, the secret, SDP, candidates, payloads, keys or ciphertext (base64 or hex)", () => {
    const text = node.lines.join("\n");
    const count = (what: string): number => bytes.filter(([w]) => w === what).length;
    assert.deepEqual([count("client public key"), count("KEM ciphertext"), count("token-bound public key")], [1, 2, 2], "wire material captured");
    const needles: Array<[string, string]> = [...secrets];
    for (const [what, b] of bytes) {
      // Whole values and 24-character pieces (a truncated dump still leaks), in both encodings.
      needles.push([`${what} (base64)`, b64(b)], [`${what} (hex)`, hex(b)]);
      needles.push([`${what} (base64 piece)`, b64(b.subarray(12, 30))], [`${what} (hex piece)`, hex(b.subarray(12, 24))]);
    }
    assert.ok(needles.length > 30);
    const leaks = needles.filter(([, n]) => n !== "" && text.includes(n)).map(([what]) => what);
    assert.deepEqual(leaks, [], "leaked into the logs");
    assert.doesNotMatch(text, /(\d{1,3},){48}/, "no byte arrays dumped as numbers");
    assert.ok(!node.lines.some((l) => decodeJwtSafe(l)), "no JWT-shaped string");
  });
});

describe("LOG_LEVEL", () => {
  test("warn keeps handshake failures and drops info events; silent logs nothing", async () => {
    for (const level of ["warn", "silent"] as const) {
      const node = await startCaptured(level);
      try {
        const c = await TestClient.connect({ kind: "ws-protobuf", port: node.port, identity: `lvl-${level}`, room: "lvl", pq: "ML-KEM-768", token: capturedKeys });
        const bad = await openChannel("ws-protobuf", node.port, { token: await makeToken({ ...capturedKeys, identity: "lvl-bad", room: "lvl" }) });
        bad.send(create(SignalRequestSchema, { message: { case: "pqHandshake", value: { algorithm: "ML-KEM-768", clientPublicKey: new Uint8Array(7) } } }));
        await bad.closed;
        c.kill();
      } finally {
        await node.server.close(1000);
      }
      const levels = node.lines.map((l) => (JSON.parse(l) as { level: string }).level);
      if (level === "silent") assert.deepEqual(node.lines, []);
      else {
        assert.ok(levels.every((l) => ["warn", "error", "fatal"].includes(l)), levels.join(","));
        assert.ok(node.lines.some((l) => l.includes('"pq_handshake"') && l.includes('"pq_key_invalid"')));
        assert.ok(!node.lines.some((l) => l.includes("pq_handshake established")));
      }
    }
  });

  test("an unknown LOG_LEVEL is a configuration error", () => {
    assert.throws(() => loadConfig({ LOG_LEVEL: "verbose" }), /LOG_LEVEL="verbose" must be one of/);
  });
});

function decodeJwtSafe(line: string): boolean {
  for (const m of line.matchAll(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/g)) {
    try {
      decodeJwt(m[0]);
      return true;
    } catch {
      // not a JWT
    }
  }
  return false;
}
