import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startHandshake } from "../../src/client/pq/client-handshake.js";
import { concat } from "../../src/protocol/pq/bytes.js";
import { generateKeyPair } from "../../src/protocol/pq/kem.js";
import { ServerHandshake } from "../../src/pq/server-handshake.js";
import { node, web, ALGS, TOKEN, policy, rand, txt, str, establish, catalogue, pqKind, flip } from "./handshake-fixtures.js";

describe("refusals", () => {
  it("tampered kem_ciphertext fails at server_finished on the client", async () => {
    for (const algorithm of ALGS) {
      const hs = new ServerHandshake({ policy, token: { accessToken: TOKEN } });
      const started = await startHandshake({ algorithm, accessToken: TOKEN, primitives: web });
      const response = (await hs.onHandshake(started.message))!;
      const ct = response.kemCiphertext.slice();
      ct[10]! ^= 0x40; // ML-KEM part: implicit rejection gives another secret, no decapsulation error
      await assert.rejects(() => started.complete({ ...response, kemCiphertext: ct }), pqKind("finished_invalid"));
    }
  });

  it("a different access token fails at server_finished (the transcript binds it)", async () => {
    const hs = new ServerHandshake({ policy, token: { accessToken: TOKEN } });
    const started = await startHandshake({ algorithm: "ML-KEM-768", accessToken: `${TOKEN}x`, primitives: web });
    const response = await hs.onHandshake(started.message);
    assert.ok(response);
    await assert.rejects(() => started.complete(response), pqKind("finished_invalid"));
  });

  it("a wrong client_finished fails at the server and nothing survives", async () => {
    const hs = new ServerHandshake({ policy, token: { accessToken: TOKEN } });
    const started = await startHandshake({ algorithm: "ML-KEM-768", accessToken: TOKEN, primitives: web });
    const { clientFinished } = await started.complete((await hs.onHandshake(started.message))!);
    const bad = clientFinished.slice();
    bad[0]! ^= 1;
    await assert.rejects(() => hs.onFinished({ clientFinished: bad }), catalogue("pq_finished_invalid"));
    assert.equal(hs.state, "failed");
    await assert.rejects(() => hs.onFinished({ clientFinished }), catalogue("unexpected_message"));
  });

  it("server refuses replayed, reordered, truncated, bit-flipped and wrong-epoch records (fatally)", async () => {
    const cases: Array<[string, (r: Array<{ epoch: number; seq: bigint; ciphertext: Uint8Array }>) => object]> = [
      ["replay", (r) => r[0]!],
      ["reorder", (r) => r[2]!],
      ["truncated", (r) => ({ ...r[1]!, ciphertext: r[1]!.ciphertext.subarray(0, r[1]!.ciphertext.length - 1) })],
      ["short", (r) => ({ ...r[1]!, ciphertext: r[1]!.ciphertext.subarray(0, 15) })],
      ["bit flip", (r) => ({ ...r[1]!, ciphertext: flip(r[1]!.ciphertext) })],
      ["wrong epoch", (r) => ({ ...r[1]!, epoch: 1 })],
      ["seq as wrong value", (r) => ({ ...r[1]!, seq: 5n })],
    ];
    for (const [name, pick] of cases) {
      const { server, client } = await establish("ML-KEM-768", "message");
      const recs = [await client.seal(txt("a")), await client.seal(txt("b")), await client.seal(txt("c"))];
      server.open(recs[0]!);
      assert.throws(() => server.open(pick(recs) as (typeof recs)[0]), catalogue("pq_record_invalid"), name);
      // Fatal: even the genuine next record is refused now, but the server can still seal its error/leave.
      assert.throws(() => server.open(recs[1]!), catalogue("pq_record_invalid"), name);
      assert.equal(str(await client.open(server.seal(txt("error")))), "error");
    }
  });

  it("client refuses replayed, reordered, truncated, bit-flipped and wrong-epoch records", async () => {
    const mutations: Array<[string, (r: Array<{ epoch: number; seq: bigint; ciphertext: Uint8Array }>) => object]> = [
      ["replay", (r) => r[0]!],
      ["reorder", (r) => r[2]!],
      ["truncated", (r) => ({ ...r[1]!, ciphertext: r[1]!.ciphertext.subarray(1) })],
      ["bit flip", (r) => ({ ...r[1]!, ciphertext: flip(r[1]!.ciphertext) })],
      ["wrong epoch", (r) => ({ ...r[1]!, epoch: 1 })],
    ];
    for (const [name, pick] of mutations) {
      const { server, client } = await establish("X25519MLKEM768", "message");
      const recs = [server.seal(txt("a")), server.seal(txt("b")), server.seal(txt("c"))];
      assert.equal(str(await client.open(recs[0]!)), "a");
      await assert.rejects(() => client.open(pick(recs) as (typeof recs)[0]), pqKind("record_invalid"), name);
      await assert.rejects(() => client.open(recs[1]!), pqKind("record_invalid"), name);
    }
  });

  it("genuine old-epoch records are refused once the new epoch is in use (both sides)", async () => {
    const { server, client } = await establish("ML-KEM-768", "message");
    const held1 = await client.seal(txt("held1")); // epoch 0, seq 0
    const held2 = await client.seal(txt("held2")); // epoch 0, seq 1: delivered only after the client's epoch-1 record
    const req = await client.startRekey();
    const prepared = await server.prepareRekey(req);
    const answer = server.seal(txt("answer")); // epoch 0, seq 0
    const extra = server.seal(txt("extra")); // a genuine epoch-0 record after the answer (a misbehaving server)
    prepared.commit();
    assert.equal(str(await client.open(answer)), "answer");
    await client.completeRekey(prepared.response);
    await assert.rejects(() => client.open(extra), pqKind("record_invalid"));
    assert.equal(str(server.open(held1)), "held1"); // old epoch still accepted before the first new-epoch record
    assert.equal(str(server.open(await client.seal(txt("epoch1")))), "epoch1");
    assert.throws(() => server.open(held2), catalogue("pq_record_invalid"));
  });

  it("rekey refusals: wrong algorithm, bad key, second rekey in flight", async () => {
    const { server, client } = await establish("ML-KEM-768", "message");
    const hybrid = await generateKeyPair("X25519MLKEM768", node);
    await assert.rejects(() => server.prepareRekey({ algorithm: "X25519MLKEM768", clientPublicKey: hybrid.publicKey }), catalogue("pq_rekey_invalid"));
    await assert.rejects(() => server.prepareRekey({ algorithm: "ML-KEM-768", clientPublicKey: rand(100) }), catalogue("pq_rekey_invalid"));
    const req = await client.startRekey();
    await assert.rejects(() => client.startRekey(), pqKind("state"));
    const prepared = await server.prepareRekey(req);
    await assert.rejects(() => server.prepareRekey(req), catalogue("pq_rekey_invalid"));
    prepared.commit();
    // Still refused until the client's first epoch-1 record: a compliant client cannot rekey again before it.
    await assert.rejects(() => server.prepareRekey(req), catalogue("pq_rekey_invalid"));
    await assert.rejects(() => client.completeRekey({ ...prepared.response, epoch: 5 }), pqKind("rekey_invalid"));
  });

  it("hybrid: an all-zero X25519 share is refused by the server", async () => {
    const hs = new ServerHandshake({ policy, token: { accessToken: TOKEN } });
    const kp = await generateKeyPair("X25519MLKEM768", node);
    const share = concat(kp.publicKey.subarray(0, 1184), new Uint8Array(32));
    await assert.rejects(
      () => hs.onHandshake({ algorithm: "X25519MLKEM768", clientPublicKey: share, sessionId: "x", clientNonce: rand(32) }),
      catalogue("pq_key_invalid"),
    );
  });

  it("token path: same key in a later pq_handshake is ignored, another key refused", async () => {
    for (const algorithm of ALGS) {
      const kp = await generateKeyPair(algorithm, node);
      const hs = new ServerHandshake({ policy, token: { accessToken: TOKEN, publicKey: kp.publicKey, algorithm } });
      assert.ok(await hs.start());
      const same = { algorithm, clientPublicKey: kp.publicKey, sessionId: "label", clientNonce: rand(32) };
      assert.equal(await hs.onHandshake(same), undefined);
      if (algorithm === "X25519MLKEM768") {
        // Same ML-KEM part, another X25519 part: still "the same key".
        const x = concat(kp.publicKey.subarray(0, 1184), rand(32));
        assert.equal(await hs.onHandshake({ ...same, clientPublicKey: x }), undefined);
      }
      const other = await generateKeyPair(algorithm, node);
      await assert.rejects(() => hs.onHandshake({ ...same, clientPublicKey: other.publicKey }), catalogue("pq_key_mismatch"));
      assert.equal(hs.state, "failed"); // a refusal is fatal for the connection
    }
  });
});
