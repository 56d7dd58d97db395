import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PqAlgorithm } from "../../src/protocol/pq/algorithms.js";
import type { PqSession } from "../../src/pq/pq-session.js";
import { ServerHandshake } from "../../src/pq/server-handshake.js";
import { validateTokenPqClaims } from "../../src/pq/token-pq-claims.js";
import { createIndependentClient, generateTokenKeyPair } from "../helpers/independent-pq-client.js";
import type { IndependentClient } from "../helpers/independent-pq-client.js";

// The independent client is written from DESIGN §5 alone (noble ML-KEM + WebCrypto, nothing from src/): if it
// and the server agree on every byte here, the spec and the server code agree.

const TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IiLCJyb29tIjoicm9vbS0xIn0.ZmFrZS1zaWduYXR1cmU";
const policy = { defaultAlgorithm: "ML-KEM-768" as const, requireHybrid: false, sessionTimeoutMs: 3_600_000 };
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function connect(algorithm: PqAlgorithm, way: "message" | "token"): Promise<{ server: PqSession; client: IndependentClient }> {
  const now = 1_750_000_000_000;
  if (way === "message") {
    const client = createIndependentClient({ accessToken: TOKEN, algorithm });
    const hs = new ServerHandshake({ policy, token: { accessToken: TOKEN }, now: () => now });
    const msg = await client.handshakeMessage("proposed-by-client");
    const response = await hs.onHandshake(msg);
    assert.ok(response);
    assert.equal(response.expiresAt, BigInt(now + policy.sessionTimeoutMs));
    const { clientFinished } = await client.onHandshakeResponse(response);
    const server = await hs.onFinished({ clientFinished });
    assert.equal(server.label, "proposed-by-client");
    assert.notEqual(server.sessionId, "proposed-by-client");
    return { server, client };
  }
  const tokenKeyPair = await generateTokenKeyPair(algorithm);
  // The token path as the server sees it: the claims, strictly decoded.
  const claims = validateTokenPqClaims(
    { pqPublicKey: Buffer.from(tokenKeyPair.publicKey).toString("base64"), pqAlgorithm: algorithm, pqKeyExpiry: now + 60_000 },
    now,
  );
  assert.ok(claims);
  const client = createIndependentClient({ accessToken: TOKEN, algorithm, tokenKeyPair });
  const hs = new ServerHandshake({ policy, token: { accessToken: TOKEN, ...claims }, now: () => now });
  const response = await hs.start();
  assert.ok(response);
  const { clientFinished } = await client.onHandshakeResponse(response);
  return { server: await hs.onFinished({ clientFinished }), client };
}

async function exchange(server: PqSession, client: IndependentClient, tag: string): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const up = await client.seal(enc(`${tag} up ${i}`));
    assert.equal(up.epoch, client.epoch);
    assert.equal(dec(server.open(up)), `${tag} up ${i}`);
    const down = server.seal(enc(`${tag} down ${i}`));
    assert.equal(dec(await client.open(down)), `${tag} down ${i}`);
  }
  const kib = new Uint8Array(1024).map((_, i) => i & 0xff);
  assert.deepEqual(server.open(await client.seal(kib)), kib);
}

for (const algorithm of ["ML-KEM-768", "X25519MLKEM768"] as const) {
  for (const way of ["message", "token"] as const) {
    describe(`independent client ↔ server: ${algorithm}, ${way === "token" ? "way (a) token key" : "way (b) pq_handshake"}`, () => {
      it("handshake, records both ways, two rekeys, exporter", async () => {
        const { server, client } = await connect(algorithm, way);
        assert.equal(client.sessionId, server.sessionId);
        await exchange(server, client, "epoch0");
        const exported = await server.exportKey("volly messaging v1", 64);
        assert.deepEqual(await client.exportKey("volly messaging v1", 64), exported);
        assert.notDeepEqual(await client.exportKey("volly messaging v2", 64), exported);

        for (const epoch of [1, 2]) {
          const req = await client.startRekey();
          const reqRecord = await client.seal(enc(JSON.stringify({ rekey: req.algorithm }))); // as the SDK would send it
          assert.equal(JSON.parse(dec(server.open(reqRecord))).rekey, algorithm);
          const prepared = await server.prepareRekey(req);
          assert.equal(prepared.response.epoch, epoch);
          const answer = server.seal(enc("rekey answer"));
          prepared.commit();
          assert.equal(answer.epoch, epoch - 1);
          assert.equal(dec(await client.open(answer)), "rekey answer");
          await client.onRekeyResponse(prepared.response);
          assert.equal(client.epoch, epoch);
          assert.equal(server.epoch, epoch);
          await exchange(server, client, `epoch${epoch}`);
        }
        assert.equal(server.rekeys, 2);
        assert.deepEqual(await client.exportKey("volly messaging v1", 64), exported);
        server.destroy();
      });

      it("the independent client refuses a tampered server_finished", async () => {
        const client = createIndependentClient({ accessToken: TOKEN, algorithm });
        const hs = new ServerHandshake({ policy, token: { accessToken: TOKEN } });
        const response = await hs.onHandshake(await client.handshakeMessage());
        assert.ok(response);
        const bad = response.serverFinished.slice();
        bad[31]! ^= 1;
        await assert.rejects(() => client.onHandshakeResponse({ ...response, serverFinished: bad }));
      });
    });
  }
}
