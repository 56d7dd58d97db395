import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startHandshake } from "../../src/client/pq/client-handshake.js";
import { errorIdOf } from "../../src/errors.js";
import { concat } from "../../src/protocol/pq/bytes.js";
import { generateKeyPair } from "../../src/protocol/pq/kem.js";
import { nodePrimitives } from "../../src/pq/node-primitives.js";
import { ServerHandshake } from "../../src/pq/server-handshake.js";
import type { PqPolicy, PqTokenBinding } from "../../src/pq/server-handshake.js";
import { validateTokenPqClaims } from "../../src/pq/token-pq-claims.js";

const p = nodePrimitives;
const TOKEN = "header.payload.signature";
const NOW = 1_760_000_000_000;
const basePolicy: PqPolicy = { defaultAlgorithm: "ML-KEM-768", requireHybrid: false, sessionTimeoutMs: 86_400_000 };
const id = (expected: string) => (e: unknown) => errorIdOf(e) === expected;

function handshake(token: Partial<PqTokenBinding> = {}, policy: Partial<PqPolicy> = {}): ServerHandshake {
  return new ServerHandshake({ policy: { ...basePolicy, ...policy }, token: { accessToken: TOKEN, ...token }, now: () => NOW });
}
async function message(algorithm: "ML-KEM-768" | "X25519MLKEM768" = "ML-KEM-768") {
  const kp = await generateKeyPair(algorithm, p);
  return { algorithm: algorithm as string, clientPublicKey: kp.publicKey, sessionId: "client-label", clientNonce: p.randomBytes(32) };
}

describe("server handshake: way (b) validation", () => {
  it("answers with a fresh 128-bit session id, a 32-byte nonce and expires_at = now + timeout", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const hs = handshake();
      const r = await hs.onHandshake(await message());
      assert.ok(r);
      assert.match(r.sessionId, /^[0-9a-f]{32}$/);
      assert.equal(r.serverNonce.length, 32);
      assert.equal(r.serverFinished.length, 32);
      assert.equal(r.kemCiphertext.length, 1088);
      assert.equal(r.algorithm, "ML-KEM-768");
      assert.equal(r.expiresAt, BigInt(NOW + 86_400_000));
      assert.equal(hs.state, "awaiting_finished");
      ids.add(r.sessionId);
    }
    assert.equal(ids.size, 3);
  });

  it("refuses algorithms outside the exact allow-list", async () => {
    for (const algorithm of ["ml-kem-768", "ML-KEM-1024", "ML-KEM-512", " ML-KEM-768", "X25519Kyber768", "X-Wing", "x25519mlkem768"]) {
      const hs = handshake();
      await assert.rejects(async () => hs.onHandshake({ ...(await message()), algorithm }), id("pq_algorithm_unsupported"), algorithm);
      assert.equal(hs.state, "failed");
    }
  });

  it("an empty algorithm (field absent) means the server's default, and the response names it", async () => {
    const hs = handshake({}, { defaultAlgorithm: "X25519MLKEM768" });
    const r = await hs.onHandshake({ ...(await message("X25519MLKEM768")), algorithm: "" });
    assert.equal(r?.algorithm, "X25519MLKEM768");
    assert.equal(r?.kemCiphertext.length, 1120);
  });

  it("requireHybrid refuses ML-KEM-768 alone (both ways) and accepts the hybrid", async () => {
    await assert.rejects(async () => handshake({}, { requireHybrid: true }).onHandshake(await message()), id("pq_hybrid_required"));
    assert.ok(await handshake({}, { requireHybrid: true }).onHandshake(await message("X25519MLKEM768")));
    const kp = await generateKeyPair("ML-KEM-768", p);
    await assert.rejects(() => handshake({ publicKey: kp.publicKey }, { requireHybrid: true }).start(), id("pq_hybrid_required"));
  });

  it("client_nonce: empty or 32 bytes; anything else refused", async () => {
    assert.ok(await handshake().onHandshake({ ...(await message()), clientNonce: new Uint8Array(0) }));
    for (const len of [1, 16, 31, 33, 64]) {
      await assert.rejects(async () => handshake().onHandshake({ ...(await message()), clientNonce: new Uint8Array(len) }), id("pq_nonce_invalid"));
    }
  });

  it("an empty client nonce still completes (hashed as empty) with the SDK client", async () => {
    const hs = handshake();
    const started = await startHandshake({ algorithm: "ML-KEM-768", accessToken: TOKEN, primitives: p });
    // A client that sends no nonce: the SDK hashes the nonce it sent, so the transcript must differ from this one.
    const r = await hs.onHandshake({ ...started.message, clientNonce: new Uint8Array(0) });
    assert.ok(r);
    await assert.rejects(() => started.complete(r), (e: unknown) => e instanceof Error && /server_finished/.test(e.message));
  });

  it("malformed keys: wrong length, modulus, all-zero hybrid X25519 share", async () => {
    const m = await message();
    await assert.rejects(() => handshake().onHandshake({ ...m, clientPublicKey: m.clientPublicKey.subarray(1) }), id("pq_key_invalid"));
    await assert.rejects(() => handshake().onHandshake({ ...m, algorithm: "X25519MLKEM768" }), id("pq_key_invalid"));
    const bad = m.clientPublicKey.slice();
    bad[0] = 0xff;
    bad[1]! |= 0x0f;
    await assert.rejects(() => handshake().onHandshake({ ...m, clientPublicKey: bad }), id("pq_key_invalid"));
    const h = await message("X25519MLKEM768");
    const zero = concat(h.clientPublicKey.subarray(0, 1184), new Uint8Array(32));
    await assert.rejects(() => handshake().onHandshake({ ...h, clientPublicKey: zero }), id("pq_key_invalid"));
  });

  it("a second pq_handshake is a duplicate; pq_finished out of turn is unexpected", async () => {
    const hs = handshake();
    await assert.rejects(() => hs.onFinished({ clientFinished: new Uint8Array(32) }), id("unexpected_message"));
    const [m1, m2] = [await message(), await message()];
    const hs2 = handshake();
    const first = hs2.onHandshake(m1);
    // Delivered before the first answer resolved: still one handshake per connection, and the refusal is fatal
    // for the first one too (it is abandoned, nothing of it survives).
    await assert.rejects(() => hs2.onHandshake(m2), id("pq_handshake_duplicate"));
    await assert.rejects(() => first, id("pq_handshake_timeout"));
    assert.equal(hs2.state, "failed");
    const hs3 = handshake();
    assert.ok(await hs3.onHandshake(m1));
    await assert.rejects(() => hs3.onHandshake(m2), id("pq_handshake_duplicate"));
    await assert.rejects(() => hs3.onFinished({ clientFinished: new Uint8Array(32) }), id("unexpected_message"));
  });

  it("keeps the client's proposed id only as a (bounded) label", async () => {
    const hs = handshake();
    const started = await startHandshake({ algorithm: "ML-KEM-768", accessToken: TOKEN, primitives: p, label: "x".repeat(500) });
    const r = await hs.onHandshake(started.message);
    assert.ok(r);
    const { clientFinished } = await started.complete(r);
    const session = await hs.onFinished({ clientFinished });
    assert.equal(session.label, "x".repeat(128));
    assert.equal(session.createdAt, NOW);
    assert.equal(session.expiresAt, NOW + 86_400_000);
    assert.equal(session.isExpired(NOW + 86_400_000), true);
    session.destroy();
    assert.throws(() => session.seal(new Uint8Array(1)), id("pq_record_invalid"));
  });

  it("destroy() before pq_finished leaves nothing usable", async () => {
    const hs = handshake();
    const r = await hs.onHandshake(await message());
    assert.ok(r);
    hs.destroy();
    assert.equal(hs.state, "failed");
    await assert.rejects(() => hs.onFinished({ clientFinished: new Uint8Array(32) }), id("unexpected_message"));
  });
});

describe("server handshake: way (a) token key", () => {
  it("start() without a token key returns undefined and waits for pq_handshake", async () => {
    const hs = handshake();
    assert.equal(await hs.start(), undefined);
    assert.equal(hs.way, "message");
    assert.ok(await hs.onHandshake(await message()));
  });

  it("encapsulates at once with an empty client nonce; expired keys refused", async () => {
    const kp = await generateKeyPair("X25519MLKEM768", p);
    const hs = handshake({ publicKey: kp.publicKey, algorithm: "X25519MLKEM768", keyExpiry: NOW + 1 });
    const r = await hs.start();
    assert.equal(r?.algorithm, "X25519MLKEM768");
    assert.equal(hs.way, "token");
    await assert.rejects(() => hs.start(), id("pq_handshake_duplicate"));
    await assert.rejects(() => handshake({ publicKey: kp.publicKey, algorithm: "X25519MLKEM768", keyExpiry: NOW }).start(), id("pq_key_expired"));
    // A token key without pqAlgorithm means ML-KEM-768.
    const ml = await generateKeyPair("ML-KEM-768", p);
    assert.equal((await handshake({ publicKey: ml.publicKey }).start())?.algorithm, "ML-KEM-768");
  });
});

describe("validateTokenPqClaims", () => {
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");

  it("no key: undefined (way b), but a bad pqAlgorithm is still refused", () => {
    assert.equal(validateTokenPqClaims({}, NOW), undefined);
    assert.equal(validateTokenPqClaims({ pqAlgorithm: "X25519MLKEM768" }, NOW), undefined);
    assert.throws(() => validateTokenPqClaims({ pqAlgorithm: "ML-KEM-1024" }, NOW), id("pq_algorithm_unsupported"));
    assert.throws(() => validateTokenPqClaims({ pqAlgorithm: 768 }, NOW), id("pq_algorithm_unsupported"));
  });

  it("decodes exact-length keys for both algorithms", async () => {
    const ml = await generateKeyPair("ML-KEM-768", p);
    const got = validateTokenPqClaims({ pqPublicKey: b64(ml.publicKey), pqKeyExpiry: NOW + 1000 }, NOW);
    assert.deepEqual(got, { algorithm: "ML-KEM-768", publicKey: ml.publicKey, keyExpiry: NOW + 1000 });
    const hy = await generateKeyPair("X25519MLKEM768", p);
    assert.equal(validateTokenPqClaims({ pqPublicKey: b64(hy.publicKey), pqAlgorithm: "X25519MLKEM768" }, NOW)?.publicKey.length, 1216);
    // The hybrid token binds the full share: a bare ek is the wrong length there, and vice versa.
    assert.throws(() => validateTokenPqClaims({ pqPublicKey: b64(ml.publicKey), pqAlgorithm: "X25519MLKEM768" }, NOW), id("pq_key_invalid"));
    assert.throws(() => validateTokenPqClaims({ pqPublicKey: b64(hy.publicKey) }, NOW), id("pq_key_invalid"));
  });

  it("strict base64: no base64url, whitespace, missing padding, non-canonical bits or non-strings", async () => {
    const ml = await generateKeyPair("ML-KEM-768", p);
    const good = b64(ml.publicKey);
    const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const last = good.at(-2)!; // 1184 = 3·394 + 2: the final quantum is "XYZ=", Z carries 2 padding bits
    const nonCanonical = `${good.slice(0, -2)}${ALPHABET[ALPHABET.indexOf(last) ^ 1]}=`;
    assert.deepEqual(Buffer.from(nonCanonical, "base64"), Buffer.from(ml.publicKey), "node would accept it silently");
    const variants = [
      Buffer.from(ml.publicKey).toString("base64url"),
      `${good.slice(0, 100)}\n${good.slice(100)}`,
      ` ${good}`,
      good.slice(0, -1),
      nonCanonical,
      `${good.slice(0, 10)}*${good.slice(11)}`,
    ];
    for (const v of variants) assert.throws(() => validateTokenPqClaims({ pqPublicKey: v }, NOW), id("pq_key_invalid"), v.slice(-8));
    for (const v of [123, null, [good], { k: good }]) assert.throws(() => validateTokenPqClaims({ pqPublicKey: v }, NOW), id("pq_key_invalid"));
    // The refusal says what the key looks like: the right bytes in base64url used to read "must encode exactly 1184 bytes".
    const says = (v: string, text: RegExp) => assert.throws(() => validateTokenPqClaims({ pqPublicKey: v }, NOW), (e: unknown) => e instanceof Error && text.test(e.message), v.slice(-8));
    says(Buffer.from(ml.publicKey).toString("base64url"), /1580 characters, not 1579\): this looks like unpadded base64 or base64url; use standard base64/);
    says(good.replace(/=+$/, ""), /this looks like unpadded base64 or base64url/);
    says(Buffer.from(ml.publicKey).toString("hex"), /this looks like hex; use standard base64/);
    says(good.slice(0, 200), /must encode exactly 1184 bytes as standard padded base64 \(1580 characters, not 200\)$/);
  });

  it("modulus check on the token key", async () => {
    const ml = await generateKeyPair("ML-KEM-768", p);
    const bad = ml.publicKey.slice();
    bad[0] = 0xff;
    bad[1]! |= 0x0f;
    assert.throws(() => validateTokenPqClaims({ pqPublicKey: b64(bad) }, NOW), id("pq_key_invalid"));
  });

  it("pqKeyExpiry: milliseconds only, and not passed", async () => {
    const key = b64((await generateKeyPair("ML-KEM-768", p)).publicKey);
    assert.throws(() => validateTokenPqClaims({ pqPublicKey: key, pqKeyExpiry: Math.floor(NOW / 1000) + 3600 }, NOW), id("token_invalid"));
    assert.throws(() => validateTokenPqClaims({ pqPublicKey: key, pqKeyExpiry: String(NOW + 1000) }, NOW), id("token_invalid"));
    assert.throws(() => validateTokenPqClaims({ pqPublicKey: key, pqKeyExpiry: NOW + 0.5 }, NOW), id("token_invalid"));
    assert.throws(() => validateTokenPqClaims({ pqPublicKey: key, pqKeyExpiry: NOW }, NOW), id("pq_key_expired"));
    assert.throws(() => validateTokenPqClaims({ pqPublicKey: key, pqKeyExpiry: NOW - 1 }, NOW), id("pq_key_expired"));
  });
});
