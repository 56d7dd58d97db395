import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { TokenVerifier as LiveKitVerifier } from "livekit-server-sdk";
import { Code, ConnectError, generatePqKeyPair, generateVollyAccessToken } from "../../src/client/index.js";
import { TokenVerifier } from "../../src/auth/access-token.js";
import { validateTokenPqClaims } from "../../src/pq/token-pq-claims.js";
import { DEV_KEY, DEV_SECRET } from "../helpers/werift-sdk.js";

const verifier = new TokenVerifier(new Map([[DEV_KEY, DEV_SECRET]]));

test("generateVollyAccessToken writes LiveKit's layout, which both the server and livekit-server-sdk accept", async () => {
  const token = await generateVollyAccessToken(DEV_KEY, DEV_SECRET, {
    room: "conversation-123", identity: "user-alice", name: "Alice", metadata: "{\"a\":1}", attributes: { team: "blue" }, ttl: 600,
    grants: { canPublishData: false, roomAdmin: true },
  });
  assert.equal(decodeProtectedHeader(token).alg, "HS256");
  const claims = await verifier.verify(token);
  assert.equal(claims.identity, "user-alice");
  assert.equal(claims.name, "Alice");
  assert.equal(claims.metadata, "{\"a\":1}");
  assert.deepEqual(claims.attributes, { team: "blue" });
  assert.equal(claims.video.room, "conversation-123");
  assert.equal(claims.video.roomJoin, true);
  assert.equal(claims.video.canPublish, true);
  assert.equal(claims.video.canPublishData, false);
  assert.equal(claims.video.roomAdmin, true);
  const raw = decodeJwt(token);
  assert.equal(raw.iss, DEV_KEY);
  assert.equal((raw.exp ?? 0) - (raw.nbf ?? 0), 600);
  const livekit = await new LiveKitVerifier(DEV_KEY, DEV_SECRET).verify(token);
  assert.equal(livekit.sub, "user-alice");
  assert.equal(livekit.video?.room, "conversation-123");
});

test("pqPublicKey as bytes or base64, default algorithm and 24-hour key expiry; the server accepts the claims", async () => {
  for (const algorithm of ["ML-KEM-768", "X25519MLKEM768"] as const) {
    const keys = await generatePqKeyPair(algorithm);
    const fromBytes = decodeJwt(await generateVollyAccessToken(DEV_KEY, DEV_SECRET, { room: "r", identity: "i", pqPublicKey: keys.publicKey, pqAlgorithm: algorithm }));
    const fromBase64 = decodeJwt(await generateVollyAccessToken(DEV_KEY, DEV_SECRET, { room: "r", identity: "i", pqPublicKey: keys.publicKeyBase64, pqAlgorithm: algorithm }));
    assert.equal(fromBytes.pqPublicKey, keys.publicKeyBase64);
    assert.equal(fromBase64.pqPublicKey, keys.publicKeyBase64);
    assert.equal(fromBytes.pqAlgorithm, algorithm);
    const expiry = fromBytes.pqKeyExpiry as number;
    assert.ok(Math.abs(expiry - (Date.now() + 86_400_000)) < 60_000, "milliseconds, 24 h ahead");
    const key = validateTokenPqClaims({ pqPublicKey: fromBytes.pqPublicKey, pqAlgorithm: fromBytes.pqAlgorithm, pqKeyExpiry: expiry }, Date.now());
    assert.deepEqual(key?.publicKey, keys.publicKey);
  }
  const plain = decodeJwt(await generateVollyAccessToken(DEV_KEY, DEV_SECRET, { room: "r", identity: "i" }));
  assert.equal(plain.pqPublicKey, undefined);
  const defaulted = decodeJwt(await generateVollyAccessToken(DEV_KEY, DEV_SECRET, { room: "r", identity: "i", pqPublicKey: (await generatePqKeyPair()).publicKey }));
  assert.equal(defaulted.pqAlgorithm, "ML-KEM-768");
});

test("malformed token options are ConnectError InvalidArgument", async () => {
  const invalid = (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument;
  await assert.rejects(generateVollyAccessToken(DEV_KEY, DEV_SECRET, { room: "r", identity: "i", pqPublicKey: new Uint8Array(1000) }), invalid);
  await assert.rejects(generateVollyAccessToken(DEV_KEY, DEV_SECRET, { room: "r", identity: "i", pqPublicKey: "not base64!" }), invalid);
  const mlkem = await generatePqKeyPair();
  await assert.rejects(generateVollyAccessToken(DEV_KEY, DEV_SECRET, { room: "r", identity: "i", pqPublicKey: mlkem.publicKey, pqAlgorithm: "X25519MLKEM768" }), invalid);
  await assert.rejects(generateVollyAccessToken(DEV_KEY, DEV_SECRET, { room: "r", identity: "" }), invalid);
  await assert.rejects(generatePqKeyPair("ML-KEM-512" as "ML-KEM-768"), invalid);
});
