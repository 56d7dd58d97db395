import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { SignalRequestSchema, SignalResponseSchema } from "../../gen/volly/signaling/v1/signal_pb.js";
import { DisconnectReason } from "../../gen/volly/signaling/v1/models_pb.js";
import { decodePlaintext, encodePlaintext } from "../../src/protocol/signal-codec.js";
import { openChannel } from "../helpers/channels.js";
import { createIndependentClient, generateTokenKeyPair } from "../helpers/independent-pq-client.js";
import { TestClient } from "../helpers/signal-client.js";
import { makeToken } from "../helpers/tokens.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

describe("post-quantum channel end to end (independent client vs the real server)", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({});
  });
  after(() => srv.close());

  test("the seed's literal flat JSON flow over a text WebSocket", async () => {
    const token = await makeToken({ identity: "seed-user", room: "conversation-123" });
    const ch = await openChannel("ws-flat", srv.port, { token, path: "/" });
    const pq = createIndependentClient({ accessToken: token, algorithm: "ML-KEM-768" });
    const hs = await pq.handshakeMessage("unique-session-id");
    // Exactly the seed's message, as text.
    ch.sendRaw(JSON.stringify({ type: "pq_handshake", algorithm: "ML-KEM-768", client_public_key: b64(hs.clientPublicKey), session_id: "unique-session-id", client_nonce: b64(hs.clientNonce) }));
    const raw = await ch.responses.take();
    assert.equal(ch.frameFormats[0], "flat");
    assert.equal(raw.message.case, "pqHandshakeResponse");
    if (raw.message.case !== "pqHandshakeResponse") return;
    const r = raw.message.value;
    assert.equal(r.algorithm, "ML-KEM-768");
    assert.equal(r.kemCiphertext.length, 1088);
    assert.match(r.sessionId, /^[0-9a-f]{32}$/);
    assert.notEqual(r.sessionId, "unique-session-id");
    const { clientFinished } = await pq.onHandshakeResponse(r);
    ch.sendRaw(JSON.stringify({ type: "pq_finished", client_finished: b64(clientFinished) }));
    const secure = await ch.responses.take();
    assert.equal(secure.message.case, "secure");
    if (secure.message.case !== "secure") return;
    const join = JSON.parse(new TextDecoder().decode(await pq.open(secure.message.value)));
    assert.equal(join.type, "join");
    assert.equal(join.room.name, "conversation-123");
    assert.equal(join.participant.identity, "seed-user");
    assert.equal(join.pq_session.session_id, r.sessionId);
    // An encrypted flat ping gets an encrypted flat pong.
    const rec = await pq.seal(new TextEncoder().encode(JSON.stringify({ type: "ping", timestamp: "42" })));
    ch.sendRaw(JSON.stringify({ type: "secure", epoch: rec.epoch, seq: String(rec.seq), ciphertext: b64(rec.ciphertext) }));
    const out = await ch.responses.take();
    if (out.message.case !== "secure") throw new Error("expected a record");
    const pong = JSON.parse(new TextDecoder().decode(await pq.open(out.message.value)));
    assert.deepEqual([pong.type, pong.last_ping_timestamp], ["pong", "42"]);
    ch.kill();
  });

  test("the raw flat handshake response carries base64 kem_ciphertext", async () => {
    const token = await makeToken({ identity: "raw-json", room: "raw" });
    const { default: WebSocket } = await import("ws");
    const ws = new WebSocket(`${srv.wsUrl}?access_token=${token}`);
    await new Promise((r) => ws.once("open", r));
    const pq = createIndependentClient({ accessToken: token, algorithm: "ML-KEM-768" });
    const hs = await pq.handshakeMessage();
    ws.send(JSON.stringify({ type: "pq_handshake", algorithm: "ML-KEM-768", client_public_key: b64(hs.clientPublicKey), session_id: "s" }));
    const text = await new Promise<string>((r) => ws.once("message", (d) => r(d.toString())));
    const response = JSON.parse(text);
    assert.equal(response.type, "pq_handshake_response");
    assert.equal(unb64(response.kem_ciphertext).length, 1088);
    ws.terminate();
  });

  for (const algorithm of ["ML-KEM-768", "X25519MLKEM768"] as const) {
    for (const tokenKey of [false, true]) {
      test(`${algorithm}, key ${tokenKey ? "in the token" : "in pq_handshake"}: encrypted offer/answer/trickle between two participants`, async () => {
        const room = `pq-${algorithm}-${tokenKey}`;
        const a = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "a", room, pq: algorithm, tokenKey });
        const b = await TestClient.connect({ kind: "grpc-js", port: srv.port, identity: "b", room, pq: algorithm, tokenKey });
        assert.equal(a.join?.pqSession?.algorithm, algorithm);
        if (tokenKey) assert.equal(b.join?.otherParticipants[0]?.pqPublicKey.length, algorithm === "ML-KEM-768" ? 1184 : 1216);
        a.send({ case: "offer", value: { sdp: "v=0 pq", target: "b", callId: "k" } });
        assert.equal((await b.waitFor("offer")).from, "a");
        b.send({ case: "answer", value: { sdp: "v=0 pq answer", target: "a", callId: "k" } });
        assert.equal((await a.waitFor("answer")).sdp, "v=0 pq answer");
        a.send({ case: "trickle", value: { candidate: "{}", target: "b", callId: "k" } });
        assert.equal((await b.waitFor("trickle")).candidate, "{}");
        await a.leave();
        await b.leave();
      });
    }
  }

  test("a tampered kem_ciphertext fails at server_finished on the client", async () => {
    const token = await makeToken({ identity: "tamper", room: "t" });
    const ch = await openChannel("ws-protobuf", srv.port, { token });
    const pq = createIndependentClient({ accessToken: token, algorithm: "ML-KEM-768" });
    ch.send(create(SignalRequestSchema, { message: { case: "pqHandshake", value: await pq.handshakeMessage() } }));
    const r = await ch.responses.take();
    if (r.message.case !== "pqHandshakeResponse") throw new Error("expected response");
    const tampered = { ...r.message.value, kemCiphertext: r.message.value.kemCiphertext.slice() };
    tampered.kemCiphertext[10] = (tampered.kemCiphertext[10] ?? 0) ^ 1;
    // Decapsulation succeeds (implicit rejection) but yields other keys: the finished MAC catches it.
    await assert.rejects(pq.onHandshakeResponse(tampered), /server_finished/);
    ch.kill();
  });

  test("a wrong client_finished is refused by the server (permission_denied, 4007)", async () => {
    const token = await makeToken({ identity: "badfin", room: "t" });
    const ch = await openChannel("ws-protobuf", srv.port, { token });
    const pq = createIndependentClient({ accessToken: token, algorithm: "ML-KEM-768" });
    ch.send(create(SignalRequestSchema, { message: { case: "pqHandshake", value: await pq.handshakeMessage() } }));
    const r = await ch.responses.take();
    if (r.message.case !== "pqHandshakeResponse") throw new Error("expected response");
    const { clientFinished } = await pq.onHandshakeResponse(r.message.value);
    clientFinished[0] = (clientFinished[0] ?? 0) ^ 0xff;
    ch.send(create(SignalRequestSchema, { message: { case: "pqFinished", value: { clientFinished } } }));
    const error = await ch.responses.take();
    assert.equal(error.message.case, "error");
    if (error.message.case === "error") assert.equal(error.message.value.code, "permission_denied");
    const leave = await ch.responses.take();
    assert.equal(leave.message.case, "leave");
    assert.equal((await ch.closed).code, 4007);
  });

  test("replayed, reordered, truncated and bit-flipped records are refused with data_loss (4015)", async () => {
    const attacks: Array<{ name: string; run: (c: TestClient) => Promise<void> }> = [
      { name: "replay", run: async (c) => {
        const rec = await c.pq!.seal(encodePlaintext(SignalRequestSchema, ping(1n), "protobuf"));
        c.sendOuter(secure(rec));
        await c.waitFor("pong");
        c.sendOuter(secure(rec));
      } },
      { name: "reorder", run: async (c) => {
        const r1 = await c.pq!.seal(encodePlaintext(SignalRequestSchema, ping(1n), "protobuf"));
        const r2 = await c.pq!.seal(encodePlaintext(SignalRequestSchema, ping(2n), "protobuf"));
        c.sendOuter(secure(r2));
        c.sendOuter(secure(r1));
      } },
      { name: "truncate", run: async (c) => {
        const r = await c.pq!.seal(encodePlaintext(SignalRequestSchema, ping(1n), "protobuf"));
        c.sendOuter(secure({ ...r, ciphertext: r.ciphertext.subarray(0, r.ciphertext.length - 3) }));
      } },
      { name: "bit flip", run: async (c) => {
        const r = await c.pq!.seal(encodePlaintext(SignalRequestSchema, ping(1n), "protobuf"));
        const flipped = r.ciphertext.slice();
        flipped[2] = (flipped[2] ?? 0) ^ 0x10;
        c.sendOuter(secure({ ...r, ciphertext: flipped }));
      } },
      { name: "wrong epoch", run: async (c) => {
        const r = await c.pq!.seal(encodePlaintext(SignalRequestSchema, ping(1n), "protobuf"));
        c.sendOuter(secure({ ...r, epoch: 1 }));
      } },
      { name: "undecodable plaintext", run: async (c) => {
        c.sendOuter(secure(await c.pq!.seal(new Uint8Array([0xff, 0xff, 0xff]))));
      } },

    ];
    for (const attack of attacks) {
      const peer = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "peer", room: `attack-${attack.name}`, pq: "ML-KEM-768" });
      const c = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "victim", room: `attack-${attack.name}`, pq: "ML-KEM-768" });
      await c.flush();
      await attack.run(c);
      const error = await c.waitFor("error");
      assert.equal(error.code, "data_loss", attack.name);
      assert.equal((await c.waitFor("leave")).reason, DisconnectReason.PROTOCOL_ERROR, attack.name);
      assert.equal((await c.channel.closed).code, 4015, attack.name);
      const gone = await peer.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "victim" && u.participants[0].state === 3);
      assert.ok(gone, attack.name);
      await peer.leave();
    }
  });

  test("a record whose header does not decode (JSON) is refused like any bad record: data_loss (4015)", async () => {
    for (const header of ['{"secure":{"epoch":0,"seq":0.5,"ciphertext":"AAAA"}}', '{"secure":{"epoch":4294967296,"seq":0,"ciphertext":"AAAA"}}', '{"secure":{"epoch":0,"seq":0,"ciphertext":"!!"}}']) {
      const c = await TestClient.connect({ kind: "ws-json", port: srv.port, identity: "header", room: "bad-header", pq: "ML-KEM-768" });
      await c.flush();
      c.channel.sendRaw(header);
      const error = await c.waitFor("error");
      assert.deepEqual([error.code, error.reason], ["data_loss", "pq_record_invalid"], header);
      assert.equal((await c.waitFor("leave")).reason, DisconnectReason.PROTOCOL_ERROR, header);
      assert.equal((await c.channel.closed).code, 4015, header);
    }
  });

  test("a plaintext signal after the handshake is refused (no downgrade), its request id repeated", async () => {
    for (const kind of ["ws-protobuf", "ws-json"] as const) {
      const c = await TestClient.connect({ kind, port: srv.port, identity: `plain-${kind}`, room: "dg", pq: "ML-KEM-768" });
      c.sendOuter(create(SignalRequestSchema, { requestId: 87, message: { case: "offer", value: { sdp: "x", target: "plain" } } }));
      const error = await c.waitFor("error", (_e, r) => r.requestId === 87);
      assert.equal(error.code, "failed_precondition", kind);
      assert.equal(error.reason, "pq_required", kind);
      assert.equal((await c.channel.closed).code, 4009, kind);
    }
  });

  test("a plaintext signal before the handshake is refused in the clear", async () => {
    const token = await makeToken({ identity: "early", room: "dg" });
    const ch = await openChannel("ws-flat", srv.port, { token });
    ch.sendRaw(JSON.stringify({ type: "offer", sdp: "x", target: "someone" }));
    const error = await ch.responses.take();
    assert.equal(error.message.case, "error");
    if (error.message.case === "error") assert.equal(error.message.value.code, "failed_precondition");
    assert.equal((await ch.closed).code, 4009);
  });

  test("a key in pq_handshake that differs from the token's is refused; the same key is ignored", async () => {
    const kp = await generateTokenKeyPair("ML-KEM-768");
    const other = await generateTokenKeyPair("ML-KEM-768");
    const token = await makeToken({ identity: "keyed", room: "k", claims: { pqPublicKey: b64(kp.publicKey), pqAlgorithm: "ML-KEM-768" } });
    const ch = await openChannel("ws-protobuf", srv.port, { token });
    const first = await ch.responses.take();
    assert.equal(first.message.case, "pqHandshakeResponse");
    ch.send(create(SignalRequestSchema, { message: { case: "pqHandshake", value: { algorithm: "ML-KEM-768", clientPublicKey: other.publicKey, sessionId: "", clientNonce: new Uint8Array(0) } } }));
    const error = await ch.responses.take();
    if (error.message.case !== "error") throw new Error(`expected error, got ${error.message.case}`);
    assert.equal(error.message.value.code, "permission_denied");
    assert.match(error.message.value.message, /differs from the key in the token/);
    assert.equal((await ch.closed).code, 4007);

    // Same key: ignored, and the handshake still completes.
    const ch2 = await openChannel("ws-protobuf", srv.port, { token });
    const pq = createIndependentClient({ accessToken: token, algorithm: "ML-KEM-768", tokenKeyPair: kp });
    const r = await ch2.responses.take();
    if (r.message.case !== "pqHandshakeResponse") throw new Error("expected response");
    ch2.send(create(SignalRequestSchema, { message: { case: "pqHandshake", value: { algorithm: "ML-KEM-768", clientPublicKey: kp.publicKey, sessionId: "", clientNonce: new Uint8Array(0) } } }));
    const { clientFinished } = await pq.onHandshakeResponse(r.message.value);
    ch2.send(create(SignalRequestSchema, { message: { case: "pqFinished", value: { clientFinished } } }));
    const join = await ch2.responses.take();
    if (join.message.case !== "secure") throw new Error(`expected a record, got ${join.message.case}`);
    assert.equal(decodePlaintext(SignalResponseSchema, await pq.open(join.message.value), "protobuf").message.case, "join");
    ch2.kill();
  });

  test("bad keys are refused: wrong length, failed modulus check, unknown algorithm", async () => {
    const kp = await generateTokenKeyPair("ML-KEM-768");
    const badModulus = kp.publicKey.slice();
    badModulus[0] = 0xff;
    badModulus[1] = (badModulus[1] ?? 0) | 0x0f;
    const cases = [
      { key: kp.publicKey.subarray(0, 1000), algorithm: "ML-KEM-768", code: "invalid_argument", close: 4003 },
      { key: badModulus, algorithm: "ML-KEM-768", code: "invalid_argument", close: 4003 },
      { key: kp.publicKey, algorithm: "ml-kem-768", code: "invalid_argument", close: 4003 },
      { key: kp.publicKey, algorithm: "ML-KEM-1024", code: "invalid_argument", close: 4003 },
    ];
    for (const c of cases) {
      const token = await makeToken({ identity: "badkey", room: "bk" });
      const ch = await openChannel("ws-protobuf", srv.port, { token });
      ch.send(create(SignalRequestSchema, { message: { case: "pqHandshake", value: { algorithm: c.algorithm, clientPublicKey: c.key, sessionId: "", clientNonce: new Uint8Array(32) } } }));
      const error = await ch.responses.take();
      if (error.message.case !== "error") throw new Error(`expected error, got ${error.message.case}`);
      assert.equal(error.message.value.code, c.code, c.algorithm);
      assert.equal((await ch.closed).code, c.close);
    }
    // A bad key in the token is refused before the upgrade.
    const token = await makeToken({ identity: "badtoken", room: "bk", claims: { pqPublicKey: b64(badModulus) } });
    const res = await fetch(`${srv.httpUrl}/rtc/validate?access_token=${token}`);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /invalid post-quantum public key/);
    // So is a hybrid key whose X25519 half is of small order (it was found only after the upgrade).
    const hybrid = await generateTokenKeyPair("X25519MLKEM768");
    const lowOrder = hybrid.publicKey.slice();
    lowOrder.set(Buffer.from("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", "hex"), 1184);
    const hybridToken = await makeToken({ identity: "badhybrid", room: "bk", claims: { pqPublicKey: b64(lowOrder), pqAlgorithm: "X25519MLKEM768" } });
    const refused = await fetch(`${srv.httpUrl}/rtc/validate?access_token=${hybridToken}`);
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /X25519 share is a point of small order/);
  });

  test("rekey: the channel carries on in the new epoch and old-epoch records are refused after the switch", async () => {
    const a = await TestClient.connect({ kind: "ws-json", port: srv.port, identity: "rk-a", room: "rekey", pq: "X25519MLKEM768" });
    const b = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "rk-b", room: "rekey", pq: "X25519MLKEM768" });
    await a.flush();
    // Seal the rekey request and, right behind it, one more epoch-0 record that is held back.
    const rekeyRecord = await a.pq!.seal(encodePlaintext(SignalRequestSchema, create(SignalRequestSchema, { message: { case: "rekey", value: await a.pq!.startRekey() } }), "json"));
    const heldOldEpoch = await a.pq!.seal(encodePlaintext(SignalRequestSchema, ping(9n), "json"));
    a.sendOuter(secure(rekeyRecord));
    const rekey = await a.waitFor("rekey");
    assert.equal(rekey.epoch, 1);
    assert.equal(a.pq!.epoch, 1);
    // The first new-epoch record switches the server's receive side.
    a.send({ case: "offer", value: { sdp: "after rekey", target: "rk-b" } });
    assert.equal((await b.waitFor("offer")).sdp, "after rekey");
    const stats = await (await fetch(`${srv.apiUrl}/volly/sessions/stats`)).json() as Record<string, number>;
    assert.ok(stats.rekeys >= 1);
    // Before that record the held one would have been accepted; now its epoch is over.
    a.sendOuter(secure(heldOldEpoch));
    assert.equal((await a.waitFor("error")).code, "data_loss");
    assert.equal((await a.channel.closed).code, 4015);
    await b.leave();
  });
});

describe("post-quantum timers", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_SESSION_TIMEOUT: "2", VOLLY_PQ_HANDSHAKE_TIMEOUT: "1", VOLLY_PQ_REKEY_INTERVAL: "1", VOLLY_PQ_REKEY_GRACE: "0" });
  });
  after(() => srv.close());

  test("a handshake that does not complete in time is closed", async () => {
    const ch = await openChannel("ws-flat", srv.port, { token: await makeToken({ identity: "slow", room: "timers" }) });
    const error = await ch.responses.take(5000);
    if (error.message.case !== "error") throw new Error("expected error");
    assert.equal(error.message.value.code, "deadline_exceeded");
    assert.equal((await ch.closed).code, 4004);
  });

  test("a channel that ignores the rekey interval is closed with REKEY_REQUIRED", async () => {
    const c = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "lazy", room: "timers", pq: "ML-KEM-768" });
    const leave = await c.waitFor("leave", () => true, 5000);
    assert.ok([DisconnectReason.REKEY_REQUIRED, DisconnectReason.SESSION_EXPIRED].includes(leave.reason));
    await c.channel.closed;
  });
});

describe("post-quantum session expiry", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_SESSION_TIMEOUT: "2" });
  });
  after(() => srv.close());

  test("at the session timeout the client gets leave{SESSION_EXPIRED, RESUME} and the session counts as expired", async () => {
    const before = await (await fetch(`${srv.apiUrl}/volly/sessions/stats`)).json() as Record<string, number>;
    const c = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "exp", room: "expiry", pq: "ML-KEM-768" });
    const during = await (await fetch(`${srv.apiUrl}/volly/sessions/stats`)).json() as Record<string, number>;
    assert.equal(during.active_sessions, before.active_sessions + 1);
    assert.equal(during.total_sessions, before.total_sessions + 1);
    const leave = await c.waitFor("leave", () => true, 6000);
    assert.equal(leave.reason, DisconnectReason.SESSION_EXPIRED);
    assert.equal(leave.action, 1 /* RESUME */);
    assert.equal((await c.channel.closed).code, 4016);
    let stats = during;
    for (let i = 0; i < 50 && stats.expired_sessions === before.expired_sessions; i++) {
      await new Promise((r) => setTimeout(r, 100));
      stats = await (await fetch(`${srv.apiUrl}/volly/sessions/stats`)).json() as Record<string, number>;
    }
    assert.equal(stats.expired_sessions, before.expired_sessions + 1);
    assert.equal(stats.active_sessions, before.active_sessions);
  });
});

function ping(timestamp: bigint) {
  return create(SignalRequestSchema, { message: { case: "ping", value: { timestamp } } });
}

function secure(record: { epoch: number; seq: bigint; ciphertext: Uint8Array }) {
  return create(SignalRequestSchema, { message: { case: "secure", value: record } });
}

describe("post-quantum policy: the hybrid required", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ALGORITHM: "X25519MLKEM768", VOLLY_PQ_REQUIRE_HYBRID: "true" });
  });
  after(() => srv.close());

  test("ML-KEM-768 alone is refused, in the handshake and in a token; the hybrid works", async () => {
    const refused = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "pure", room: "hy", pq: "ML-KEM-768", awaitJoin: false }).catch((e: unknown) => e);
    assert.match(String(refused), /"code":"failed_precondition","message":"this server requires the X25519MLKEM768 hybrid"/);
    const kp = await generateTokenKeyPair("ML-KEM-768");
    const token = await makeToken({ identity: "pure-token", room: "hy", claims: { pqPublicKey: b64(kp.publicKey), pqAlgorithm: "ML-KEM-768" } });
    const res = await fetch(`${srv.httpUrl}/rtc/validate?access_token=${token}`);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /requires the X25519MLKEM768 hybrid/);
    const ok = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "hybrid", room: "hy", pq: "X25519MLKEM768" });
    assert.equal(ok.join?.pqSession?.algorithm, "X25519MLKEM768");
    await ok.leave();
  });

  test("a pq_handshake without an algorithm gets the server's default", async () => {
    const token = await makeToken({ identity: "noalg", room: "hy" });
    const ch = await openChannel("ws-protobuf", srv.port, { token });
    const kp = await generateTokenKeyPair("X25519MLKEM768");
    ch.send(create(SignalRequestSchema, { message: { case: "pqHandshake", value: { algorithm: "", clientPublicKey: kp.publicKey, sessionId: "", clientNonce: new Uint8Array(32) } } }));
    const r = await ch.responses.take();
    assert.equal(r.message.case, "pqHandshakeResponse");
    if (r.message.case === "pqHandshakeResponse") assert.equal(r.message.value.algorithm, "X25519MLKEM768");
    ch.kill();
  });
});

describe("with PQ off", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
  });
  after(() => srv.close());

  test("a PQ message is refused by its wire name, as with PQ on", async () => {
    const c = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "no-pq", room: "plain", pq: false });
    c.send({ case: "pqHandshake", value: { algorithm: "ML-KEM-768" } });
    assert.equal((await c.waitFor("error")).message, "message pq_handshake is not allowed at this point");
    await c.leave();
  });
});
