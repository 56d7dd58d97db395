import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import type { ClientPqSession } from "../../src/client/pq/client-session.js";
import { concat, uint32be, uint64be } from "../../src/protocol/pq/bytes.js";
import {
  deriveHandshakeKeys,
  deriveRekeyKeys,
  exportKey,
  finishedMac,
  recordAad,
  recordNonce,
  rekeyTranscript,
  transcriptHash,
} from "../../src/protocol/pq/key-schedule.js";
import type { PqPrimitives } from "../../src/protocol/pq/primitives.js";
import type { PqSession } from "../../src/pq/pq-session.js";
import { node, web, ALGS, TOKEN, rand, txt, str, establish, pqKind } from "./handshake-fixtures.js";

describe("primitives: node:crypto and WebCrypto agree", () => {
  it("RFC 5869 A.1 (HKDF-SHA256) under both", async () => {
    const ikm = new Uint8Array(22).fill(0x0b);
    const salt = Uint8Array.from({ length: 13 }, (_, i) => i);
    const info = Uint8Array.from({ length: 10 }, (_, i) => 0xf0 + i);
    for (const p of [node, web]) {
      const prk = await p.hkdfExtract(salt, ikm);
      assert.equal(Buffer.from(prk).toString("hex"), "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
      assert.equal(
        Buffer.from(await p.hkdfExpand(prk, info, 42)).toString("hex"),
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
      );
    }
  });

  it("sha256, hkdf, hmac (incl. empty keys and salts) are identical", async () => {
    for (const len of [0, 1, 55, 64, 1000]) {
      const data = rand(len);
      assert.deepEqual(await node.sha256(data), await web.sha256(data));
      assert.deepEqual(await node.hmacSha256(data, txt("x")), await web.hmacSha256(data, txt("x")));
      assert.deepEqual(await node.hkdfExtract(data, rand(32).fill(7)), await web.hkdfExtract(data, rand(32).fill(7)));
    }
    const prk = rand(32);
    for (const len of [0, 1, 31, 32, 33, 64, 100, 8160]) {
      assert.deepEqual(await node.hkdfExpand(prk, txt("info"), len), await web.hkdfExpand(prk, txt("info"), len));
    }
    await assert.rejects(() => node.hkdfExpand(prk, txt("info"), 8161), RangeError);
    await assert.rejects(() => web.hkdfExpand(prk, txt("info"), 8161), RangeError);
  });

  it("AES-256-GCM: each opens what the other seals; bad tags and short inputs refused", async () => {
    const key = rand(32);
    const nonce = rand(12);
    const aad = rand(40);
    for (const len of [0, 1, 16, 1024]) {
      const pt = rand(len);
      const a = await node.aesGcmSeal(key, nonce, aad, pt);
      const b = await web.aesGcmSeal(key, nonce, aad, pt);
      assert.deepEqual(a, b);
      assert.equal(a.length, len + 16);
      assert.deepEqual(await web.aesGcmOpen(key, nonce, aad, a), pt);
      assert.deepEqual(await node.aesGcmOpen(key, nonce, aad, b), pt);
      for (const p of [node, web]) {
        const bad = a.slice();
        bad[bad.length - 1]! ^= 1;
        await assert.rejects(() => p.aesGcmOpen(key, nonce, aad, bad), pqKind("aead_failed"));
        await assert.rejects(() => p.aesGcmOpen(key, nonce, rand(40), a), pqKind("aead_failed"));
        await assert.rejects(() => p.aesGcmOpen(key, nonce, aad, a.subarray(0, 15)), pqKind("aead_failed"));
      }
    }
  });

  it("X25519: cross-runtime shared secrets match; all-zero results refused", async () => {
    const n = await node.x25519Generate();
    const w = await web.x25519Generate();
    assert.equal(n.publicKey.length, 32);
    assert.equal(w.publicKey.length, 32);
    assert.deepEqual(await node.x25519Derive(n.privateKey, w.publicKey), await web.x25519Derive(w.privateKey, n.publicKey));
    for (const p of [node, web]) {
      const kp = await p.x25519Generate();
      await assert.rejects(() => p.x25519Derive(kp.privateKey, new Uint8Array(32)), pqKind("x25519_zero"));
      await assert.rejects(() => p.x25519Derive(kp.privateKey, Uint8Array.of(1, ...new Uint8Array(31))), pqKind("x25519_zero"));
      await assert.rejects(() => p.x25519Derive(kp.privateKey, new Uint8Array(31)), pqKind("x25519_invalid"));
    }
  });
});

describe("key schedule (DESIGN §5)", () => {
  const input = {
    algorithm: "X25519MLKEM768",
    sessionId: "0123456789abcdef0123456789abcdef",
    accessToken: TOKEN,
    clientNonce: rand(32),
    serverNonce: rand(32),
    clientPublicKey: rand(1216),
    kemCiphertext: rand(1120),
  };

  it("transcript hash is the exact length-prefixed layout", async () => {
    const lp = (x: Uint8Array): Buffer => Buffer.concat([Buffer.from(uint32be(x.length)), Buffer.from(x)]);
    const expected = createHash("sha256")
      .update("volly-pq-v1")
      .update(lp(txt(input.algorithm)))
      .update(lp(txt(input.sessionId)))
      .update(lp(createHash("sha256").update(TOKEN).digest()))
      .update(lp(input.clientNonce))
      .update(lp(input.serverNonce))
      .update(lp(input.clientPublicKey))
      .update(lp(input.kemCiphertext))
      .digest();
    assert.deepEqual(Buffer.from(await transcriptHash(node, input)), expected);
    // An empty client nonce is hashed as lp(empty) = 00000000.
    const empty = await transcriptHash(node, { ...input, clientNonce: new Uint8Array(0) });
    assert.notDeepEqual(empty, await transcriptHash(node, input));
  });

  it("every function gives identical bytes under node and WebCrypto primitives", async () => {
    const run = async (p: PqPrimitives) => {
      const th = await transcriptHash(p, input);
      const keys = await deriveHandshakeKeys(p, rand(64).fill(3), th);
      const rt = await rekeyTranscript(p, { ...input, newEpoch: 7 });
      const next = await deriveRekeyKeys(p, keys.chain, new Uint8Array(64).fill(5), rt);
      return {
        th,
        keys,
        sf: await finishedMac(p, keys.confirm, "server", th),
        cf: await finishedMac(p, keys.confirm, "client", th),
        rt,
        next,
        ex: await exportKey(p, keys.exporter, "volly messaging", 48),
      };
    };
    const a = await run(node);
    const b = await run(web);
    assert.deepEqual(a, b);
    const all = [a.keys.c2s, a.keys.s2c, a.keys.confirm, a.keys.chain, a.keys.exporter, a.next.c2s, a.next.s2c, a.next.chain];
    assert.equal(new Set(all.map((k) => Buffer.from(k).toString("hex"))).size, all.length, "all keys distinct");
    assert.notDeepEqual(a.sf, a.cf);
  });

  it("record nonce and AAD layouts", () => {
    assert.deepEqual(recordNonce(1, 2n), Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2));
    const aad = recordAad("ab", "s2c", 0x01020304, 0x05n);
    assert.deepEqual(aad, concat(txt("volly-record-v1"), Uint8Array.of(0, 0, 0, 2), txt("ab"), Uint8Array.of(2), uint32be(0x01020304), uint64be(5)));
    assert.equal(recordAad("ab", "c2s", 0, 0n)[txt("volly-record-v1").length + 6], 0x01);
  });
});

for (const algorithm of ALGS) {
  for (const way of ["message", "token"] as const) {
    describe(`${algorithm}, way ${way === "token" ? "(a) token key" : "(b) pq_handshake"}`, () => {
      it("establishes matching sessions; records flow both ways in order", async () => {
        const { server, client } = await establish(algorithm, way);
        assert.equal(server.sessionId, client.sessionId);
        assert.match(server.sessionId, /^[0-9a-f]{32}$/);
        assert.equal(server.algorithm, algorithm);
        assert.equal(client.expiresAt, server.expiresAt);
        // Concurrent seals keep call order.
        const sealed = await Promise.all([0, 1, 2, 3, 4].map((i) => client.seal(txt(`c${i}`))));
        sealed.forEach((r, i) => assert.equal(r.seq, BigInt(i)));
        for (let i = 0; i < 5; i++) assert.equal(str(server.open(sealed[i]!)), `c${i}`);
        const down = [0, 1, 2].map((i) => server.seal(txt(`s${i}`)));
        const opened = await Promise.all(down.map((r) => client.open(r)));
        assert.deepEqual(opened.map(str), ["s0", "s1", "s2"]);
        const big = rand(1024);
        assert.deepEqual(server.open(await client.seal(big)), big);
      });

      it("exportKey: identical on both sides, independent per label, stable across rekey", async () => {
        const { server, client } = await establish(algorithm, way);
        const a = await server.exportKey("volly messaging", 32);
        assert.deepEqual(await client.exportKey("volly messaging", 32), a);
        assert.notDeepEqual(await server.exportKey("volly files", 32), a);
        await rekey(server, client);
        assert.deepEqual(await server.exportKey("volly messaging", 32), a);
        assert.deepEqual(await client.exportKey("volly messaging", 32), a);
      });

      it("rekey: epoch 1 then 2; old-epoch records refused after the switch; records keep flowing", async () => {
        const { server, client } = await establish(algorithm, way);
        const early = await client.seal(txt("epoch0-a"));
        assert.equal(str(server.open(early)), "epoch0-a");
        const staleUp = await client.seal(txt("epoch0-late")); // sealed under epoch 0, delivered after the rekey
        const req = await client.startRekey();
        const reqRecord = await client.seal(txt("rekey-request"));
        assert.equal(str(server.open(staleUp)), "epoch0-late");
        assert.equal(str(server.open(reqRecord)), "rekey-request");
        const prepared = await server.prepareRekey(req);
        assert.equal(prepared.response.epoch, 1);
        const answer = server.seal(txt("rekey-answer")); // last record of epoch 0
        prepared.commit();
        assert.equal(answer.epoch, 0);
        const after = server.seal(txt("first-epoch1"));
        assert.deepEqual([after.epoch, after.seq], [1, 0n]);
        // The epoch-1 record races ahead of completeRekey: open waits for it.
        const pendingAnswer = client.open(answer);
        const pendingAfter = client.open(after);
        assert.equal(str(await pendingAnswer), "rekey-answer");
        await client.completeRekey(prepared.response);
        assert.equal(str(await pendingAfter), "first-epoch1");
        assert.equal(client.epoch, 1);
        // Server still accepts epoch 0 from the client until its first epoch-1 record.
        const up1 = await client.seal(txt("up-epoch1"));
        assert.deepEqual([up1.epoch, up1.seq], [1, 0n]);
        assert.equal(str(server.open(up1)), "up-epoch1");
        assert.equal(server.rekeys, 1);
        assert.equal(client.rekeys, 1);
        // (That the epoch keys differ from each other and from the handshake keys is asserted on the key
        // schedule itself above: session keys never leave their objects.)
        await rekey(server, client);
        assert.equal(server.epoch, 2);
        assert.equal(client.epoch, 2);
        assert.equal(str(server.open(await client.seal(txt("up-epoch2")))), "up-epoch2");
        assert.equal(str(await client.open(server.seal(txt("down-epoch2")))), "down-epoch2");
      });
    });
  }
}

/** One full rekey round with a record each way afterwards. */
async function rekey(server: PqSession, client: ClientPqSession): Promise<void> {
  const req = await client.startRekey();
  const prepared = await server.prepareRekey(req);
  const answer = server.seal(txt("answer"));
  prepared.commit();
  assert.equal(str(await client.open(answer)), "answer");
  await client.completeRekey(prepared.response);
  assert.equal(str(server.open(await client.seal(txt("ping")))), "ping");
  assert.equal(str(await client.open(server.seal(txt("pong")))), "pong");
}
