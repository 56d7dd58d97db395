// Timed server-side handshakes (see handshake-cost.ts). Prints one JSON line.
import { generateKeyPair, decapsulate } from "../src/protocol/pq/kem.js";
import { deriveHandshakeKeys, finishedMac, transcriptHash } from "../src/protocol/pq/key-schedule.js";
import type { PqAlgorithm } from "../src/protocol/pq/algorithms.js";
import { nodePrimitives } from "../src/pq/node-primitives.js";
import { useNativeKeccak } from "../src/pq/native-keccak.js";
import { useNativeMlKem } from "../src/pq/native-mlkem.js";
import { ServerHandshake } from "../src/pq/server-handshake.js";
import { median } from "./lib/stats.js";

const n = Number(process.argv[2] ?? 500);
// As the server runs it (src/default-server.ts).
await useNativeKeccak();
useNativeMlKem();
const token = "bench.token.value";
const out = [];
for (const algorithm of ["ML-KEM-768", "X25519MLKEM768"] as PqAlgorithm[]) {
  const times: number[] = [];
  for (let i = 0; i < n + 50; i++) {
    const kp = await generateKeyPair(algorithm, nodePrimitives);
    const clientNonce = nodePrimitives.randomBytes(32);
    const server = new ServerHandshake({ policy: { defaultAlgorithm: "ML-KEM-768", requireHybrid: false, sessionTimeoutMs: 86_400_000 }, token: { accessToken: token } });
    const t0 = performance.now();
    const r = await server.onHandshake({ algorithm, clientPublicKey: kp.publicKey, sessionId: "", clientNonce });
    let elapsed = performance.now() - t0;
    if (!r) throw new Error("no response");
    const ss = await decapsulate(algorithm, r.kemCiphertext, kp.secretKey, nodePrimitives);
    const th = await transcriptHash(nodePrimitives, { algorithm, sessionId: r.sessionId, accessToken: token, clientNonce, serverNonce: r.serverNonce, clientPublicKey: kp.publicKey, kemCiphertext: r.kemCiphertext });
    const keys = await deriveHandshakeKeys(nodePrimitives, ss, th);
    const clientFinished = await finishedMac(nodePrimitives, keys.confirm, "client", th);
    const t1 = performance.now();
    const session = await server.onFinished({ clientFinished });
    elapsed += performance.now() - t1;
    session.destroy();
    if (i >= 50) times.push(elapsed * 1000);
  }
  const us = median(times);
  out.push({ algorithm, microsPerHandshake: us, handshakesPerSecond: 1e6 / us });
}
console.log(JSON.stringify(out));
