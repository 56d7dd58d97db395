// What the key schedule and handshake refusal tests share: both primitives backends, a token, and an
// in-process handshake between the server and the project's client SDK.
import assert from "node:assert/strict";
import { acceptTokenHandshake, startHandshake } from "../../src/client/pq/client-handshake.js";
import type { ClientPqSession } from "../../src/client/pq/client-session.js";
import { errorIdOf } from "../../src/errors.js";
import type { PqAlgorithm } from "../../src/protocol/pq/algorithms.js";
import { utf8 } from "../../src/protocol/pq/bytes.js";
import { generateKeyPair } from "../../src/protocol/pq/kem.js";
import { isPqError } from "../../src/protocol/pq/pq-error.js";
import { createWebCryptoPrimitives } from "../../src/protocol/pq/webcrypto-primitives.js";
import { nodePrimitives } from "../../src/pq/node-primitives.js";
import type { PqSession } from "../../src/pq/pq-session.js";
import { ServerHandshake } from "../../src/pq/server-handshake.js";

export const node = nodePrimitives;
export const web = createWebCryptoPrimitives();
export const ALGS: PqAlgorithm[] = ["ML-KEM-768", "X25519MLKEM768"];
export const TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
export const policy = { defaultAlgorithm: "ML-KEM-768" as const, requireHybrid: false, sessionTimeoutMs: 86_400_000 };
export const rand = (n: number): Uint8Array => node.randomBytes(n);
export const txt = (s: string): Uint8Array => utf8(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);

export interface Pair {
  server: PqSession;
  client: ClientPqSession;
}

/** Server handshake ↔ the project's client SDK, in process. */
export async function establish(algorithm: PqAlgorithm, way: "message" | "token"): Promise<Pair> {
  if (way === "message") {
    const hs = new ServerHandshake({ policy, token: { accessToken: TOKEN } });
    const started = await startHandshake({ algorithm, accessToken: TOKEN, primitives: web });
    assert.equal(started.message.clientNonce.length, 32);
    const response = await hs.onHandshake(started.message);
    assert.ok(response);
    const { clientFinished, session } = await started.complete(response);
    return { server: await hs.onFinished({ clientFinished }), client: session };
  }
  const keyPair = await generateKeyPair(algorithm, web);
  const hs = new ServerHandshake({ policy, token: { accessToken: TOKEN, publicKey: keyPair.publicKey, algorithm } });
  const response = await hs.start();
  assert.ok(response);
  const pending = acceptTokenHandshake({ algorithm, accessToken: TOKEN, keyPair, primitives: web });
  const { clientFinished, session } = await pending.complete(response);
  return { server: await hs.onFinished({ clientFinished }), client: session };
}

export function catalogue(id: string): (e: unknown) => boolean {
  return (e) => errorIdOf(e) === id;
}
export const pqKind = (kind: string) => (e: unknown) => isPqError(e) && e.kind === kind;

export function flip(b: Uint8Array): Uint8Array {
  const c = b.slice();
  c[0]! ^= 0x80;
  return c;
}
