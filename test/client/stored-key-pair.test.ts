import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import {
  Code,
  ConnectError,
  generatePqKeyPair,
  generateVollyAccessToken,
  importPqKeyPair,
  VollySignalingClient,
  type PqAlgorithm,
} from "../../src/client/index.js";
import { runBin } from "../ops/helpers/bin-process.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { DEV_KEY, DEV_SECRET } from "../helpers/werift-sdk.js";

// A key pair stored as bytes (here: printed by the CLI) reaches the SDK through importPqKeyPair, and a pair
// that cannot work is refused when the client is made, not at connect() with an unrelated error.

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

interface CliPq {
  algorithm: string;
  publicKey: string;
  secretKey: string;
  keyExpiry: number;
}

async function cliToken(room: string, identity: string, algorithm: PqAlgorithm): Promise<{ token: string; pq: CliPq }> {
  const { code, stdout, stderr } = await runBin(["token", "--room", room, "--identity", identity, "--pq-algorithm", algorithm, "--json"]);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout) as { token: string; pq: CliPq };
}

function isInvalid(pattern: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof ConnectError && e.code === Code.InvalidArgument && pattern.test(e.rawMessage);
}

for (const algorithm of ["ML-KEM-768", "X25519MLKEM768"] as const) {
  test(`a CLI-minted ${algorithm} token and the key pair it printed connect through the SDK (way a)`, async () => {
    const room = `cli-${algorithm.toLowerCase()}`;
    const { token, pq } = await cliToken(room, `${room}-alice`, algorithm);
    const tokenKeyPair = await importPqKeyPair(pq);
    assert.equal(tokenKeyPair.publicKeyBase64, pq.publicKey);
    const client = new VollySignalingClient({ url: server.wsUrl, token, webSocket: WebSocket, tokenKeyPair, reconnect: false });
    try {
      const info = await client.connect();
      assert.equal(info.participant.identity, `${room}-alice`);
      assert.equal(client.getPostQuantumSession().algorithm, algorithm);
      assert.deepEqual(info.participant.pqPublicKey, tokenKeyPair.publicKey);
    } finally {
      await client.disconnect();
    }
  });
}

test("raw key bytes given as tokenKeyPair are refused at construction, pointing to importPqKeyPair", async () => {
  const { token, pq } = await cliToken("cli-raw", "cli-raw-alice", "ML-KEM-768");
  const raw = { algorithm: pq.algorithm, publicKey: Buffer.from(pq.publicKey, "base64"), secretKey: Buffer.from(pq.secretKey, "base64"), publicKeyBase64: pq.publicKey };
  assert.throws(
    // @ts-expect-error: what a JavaScript caller (or a cast) passes
    () => new VollySignalingClient({ url: server.wsUrl, token, webSocket: WebSocket, tokenKeyPair: raw }),
    isInvalid(/importPqKeyPair/),
  );
});

test("halves of different pairs, another algorithm, or malformed bytes are refused with InvalidArgument", async () => {
  const { token, pq } = await cliToken("cli-mix", "cli-mix-alice", "X25519MLKEM768");
  const other = await cliToken("cli-mix", "cli-mix-bob", "X25519MLKEM768");
  const otherSecret = Buffer.from(other.pq.secretKey, "base64");
  const ownSecret = Buffer.from(pq.secretKey, "base64");
  // The ML-KEM half of another pair; the X25519 half of another pair.
  await assert.rejects(importPqKeyPair({ ...pq, secretKey: Buffer.concat([otherSecret.subarray(0, 2400), ownSecret.subarray(2400)]) }), isInvalid(/another public key/));
  await assert.rejects(importPqKeyPair({ ...pq, secretKey: Buffer.concat([ownSecret.subarray(0, 2400), otherSecret.subarray(2400)]) }), isInvalid(/X25519/));
  await assert.rejects(importPqKeyPair({ ...pq, algorithm: "ML-KEM-768" }), isInvalid(/publicKey must be 1184 bytes/));
  await assert.rejects(importPqKeyPair({ ...pq, secretKey: "not base64!" }), isInvalid(/not standard base64/));
  await assert.rejects(importPqKeyPair({ ...pq, algorithm: "ML-KEM-1024" }), isInvalid(/unsupported algorithm/));
  // A well-formed pair that is not the token's, and one of another algorithm than the token names.
  const notBound = await importPqKeyPair(other.pq);
  assert.throws(() => new VollySignalingClient({ url: server.wsUrl, token, webSocket: WebSocket, tokenKeyPair: notBound }), isInvalid(/not the key pair/));
  const mlkem = await generatePqKeyPair("ML-KEM-768");
  const mlkemToken = await generateVollyAccessToken(DEV_KEY, DEV_SECRET, { room: "cli-mix", identity: "cli-mix-carol", pqPublicKey: mlkem.publicKey, pqAlgorithm: "ML-KEM-768" });
  const relabelled = { ...mlkem, algorithm: "X25519MLKEM768" as const };
  assert.throws(() => new VollySignalingClient({ url: server.wsUrl, token: mlkemToken, webSocket: WebSocket, tokenKeyPair: relabelled }), isInvalid(/pqAlgorithm/));
  // A secret key whose ML-KEM half belongs to another pair, passed without importing.
  const foreign = { ...mlkem, secretKey: { algorithm: "ML-KEM-768" as const, mlkem: (await generatePqKeyPair()).secretKey.mlkem } };
  assert.throws(() => new VollySignalingClient({ url: server.wsUrl, token: mlkemToken, webSocket: WebSocket, tokenKeyPair: foreign }), isInvalid(/another public key/));
});
