// A token-bound PQ key (way (a)) with a short `pqKeyExpiry`: the session outlives the key, and a drop after
// the key expired must still resume the participant. Refreshed tokens bind no key, so the SDK resumes with an
// ephemeral one (way (b)), of the bound key's algorithm; the room keeps seeing the key the join published.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeJwt } from "jose";
import { generatePqKeyPair, generateVollyAccessToken, type PqAlgorithm } from "../../src/client/index.js";
import { startTestServer } from "../helpers/test-server.js";
import { DEV_KEY, DEV_SECRET, nextEvent, nodeClient, until } from "../helpers/werift-sdk.js";

const text = (payload: Uint8Array): string => new TextDecoder().decode(payload);

async function resumesAfterKeyExpiry(algorithm: PqAlgorithm, env: Record<string, string>): Promise<void> {
  const server = await startTestServer({ VOLLY_TOKEN_REFRESH_INTERVAL: "1", VOLLY_RESUME_WINDOW: "10", ...env });
  const room = `key-expiry-${algorithm}`;
  const keys = await generatePqKeyPair(algorithm);
  const keyExpiry = Date.now() + 3000;
  const token = await generateVollyAccessToken(DEV_KEY, DEV_SECRET, {
    room, identity: "ke-alice", pqPublicKey: keys.publicKeyBase64, pqAlgorithm: algorithm, pqKeyExpiry: keyExpiry,
  });
  const alice = await nodeClient(server.wsUrl, "ke-alice", room, { token, tokenKeyPair: keys });
  const bob = await nodeClient(server.wsUrl, "ke-bob", room, { pqAlgorithm: algorithm });
  try {
    await alice.client.connect();
    await bob.client.connect();
    const sid = alice.client.sid;
    assert.deepEqual(bob.client.participants[0]?.pqPublicKey, keys.publicKey, "the join published the token's key");
    const got: string[] = [];
    alice.client.on("data", (m) => got.push(text(m.payload)));
    const errors: unknown[] = [];
    alice.client.on("error", (e) => errors.push(e));

    // Past the key's expiry (plus a refresh or two): the token the SDK now holds is a refreshed one.
    await until(() => Date.now() > keyExpiry + 1500, "the token key's expiry", 10_000);
    const reconnected = nextEvent(alice.client, "reconnected", 15_000);
    const disconnected = nextEvent(alice.client, "disconnected", 15_000);
    alice.tap.cut();
    await bob.client.sendData("while alice was away", { target: "ke-alice" });
    const outcome = await Promise.race([reconnected.then(([r]) => r), disconnected.then(([d]) => d)]);
    assert.deepEqual(outcome, { resumed: true }, "resumed, not disconnected");
    assert.equal(alice.client.sid, sid, "the same participant");
    assert.equal(alice.client.getPostQuantumSession().algorithm, algorithm, "the ephemeral key kept the bound key's algorithm");
    const used = new URL(alice.tap.opened.at(-1)!.url).searchParams.get("access_token") ?? "";
    assert.equal("pqPublicKey" in decodeJwt(used), false, "the resume used a refreshed token, which binds no key");
    await until(() => got.length === 1, "the message sent during the drop");
    assert.deepEqual(got, ["while alice was away"]);
    assert.deepEqual(bob.client.participants.map((p) => p.identity), ["ke-alice"]);
    assert.deepEqual(bob.client.participants[0]?.pqPublicKey, keys.publicKey, "others still see the key the join published");
    const late = await nodeClient(server.wsUrl, "ke-carol", room, { pqAlgorithm: algorithm });
    try {
      const info = await late.client.connect();
      assert.deepEqual(info.participants.find((p) => p.identity === "ke-alice")?.pqPublicKey, keys.publicKey, "and so does a newcomer");
    } finally {
      await late.client.disconnect();
    }
    assert.deepEqual(errors, []);
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
    await server.close();
  }
}

test("an ML-KEM-768 token key expired: a drop resumes the participant with an ephemeral key", async () => {
  await resumesAfterKeyExpiry("ML-KEM-768", {});
});

test("a hybrid token key expired, on a server requiring the hybrid: the resume's ephemeral key is hybrid too", async () => {
  await resumesAfterKeyExpiry("X25519MLKEM768", { VOLLY_PQ_ALGORITHM: "X25519MLKEM768", VOLLY_PQ_REQUIRE_HYBRID: "true" });
});
