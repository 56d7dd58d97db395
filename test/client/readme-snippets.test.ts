import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import { decodeJwt } from "jose";
import WebSocket from "ws";
import {
  generatePqKeyPair,
  generateVollyAccessToken,
  VollyMessagingClient,
  type DataChannelLike,
  type VollyCall,
  type VollyMessage,
  type VollySignalingClient,
  type VollyUserPresence,
} from "../../src/client/index.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { LoopbackPeerConnection } from "../helpers/werift-peer.js";
import { DEV_KEY, DEV_SECRET, nodeClient, until } from "../helpers/werift-sdk.js";

// The README's client snippets (the product brief's, marked `<!-- snippet: group -->`) run as written: the blocks
// of a group become one module (its imports resolve `@volly/signaling/client` through the package's own exports),
// the only edits being the test server's URL for `ws://localhost:7880`. Changing a snippet incompatibly fails here.

const README = readFileSync("README.md", "utf8");
const OUT = resolve("test-artifacts/readme-snippets");

function blocks(group: string): string[] {
  const found = [...README.matchAll(/<!-- snippet: ([\w-]+) -->\s*```typescript\n([\s\S]*?)```/g)]
    .filter((m) => m[1] === group)
    .map((m) => m[2] as string);
  assert.ok(found.length > 0, `README has no "${group}" snippet`);
  return found;
}

/** Runs a snippet group with `env` in scope; returns the values of `names` it defined. */
async function runGroup(group: string, env: Record<string, unknown>, names: string[]): Promise<Record<string, unknown>> {
  const code = blocks(group).join("\n").replaceAll("ws://localhost:7880", server.wsUrl);
  const lines = code.split("\n");
  const imports = lines.filter((l) => l.startsWith("import "));
  const body = lines.filter((l) => !l.startsWith("import "));
  const source = [
    ...imports,
    "export async function run(env: Record<string, unknown>) {",
    Object.keys(env).length > 0 ? `  const { ${Object.keys(env).join(", ")} } = env;` : "",
    ...body.map((l) => `  ${l}`),
    `  return { ${names.join(", ")} };`,
    "}",
  ].join("\n");
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, `${group}.ts`);
  writeFileSync(file, source);
  const module = (await import(`${pathToFileURL(file).href}?${Date.now()}`)) as { run(env: Record<string, unknown>): Promise<Record<string, unknown>> };
  return module.run(env);
}

let server: TestServer;
const cleanup: Array<() => Promise<void>> = [];
const globals = globalThis as { WebSocket?: unknown; RTCPeerConnection?: unknown };
const saved = { WebSocket: globals.WebSocket, RTCPeerConnection: globals.RTCPeerConnection };

before(async () => {
  server = await startTestServer();
  // What a browser has: WebSocket and RTCPeerConnection globals (werift kept on loopback).
  globals.WebSocket = WebSocket;
  globals.RTCPeerConnection = LoopbackPeerConnection;
});
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  globals.WebSocket = saved.WebSocket;
  globals.RTCPeerConnection = saved.RTCPeerConnection;
  await server.close();
});

test("README: token with a post-quantum key, and a raw WebSocket connection (the server encapsulates to the key)", async () => {
  const { token, connection, clientPublicKey } = await runGroup("connect", {}, ["token", "connection", "clientPublicKey"]);
  const claims = decodeJwt(token as string);
  assert.equal(claims.sub, "user-alice");
  assert.equal(claims.pqAlgorithm, "ML-KEM-768");
  assert.equal(claims.pqPublicKey, Buffer.from(clientPublicKey as Uint8Array).toString("base64"));
  const ws = connection as WebSocket;
  cleanup.push(async () => ws.close());
  const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
    ws.onmessage = (event) => resolve(JSON.parse(String(event.data)) as Record<string, unknown>);
    ws.onerror = () => reject(new Error("WebSocket failed"));
  });
  assert.equal(first.type, "pq_handshake_response");
  assert.equal(first.algorithm, "ML-KEM-768");
  assert.equal(Buffer.from(first.kem_ciphertext as string, "base64").length, 1088);
});

test("README: the token claims snippet matches what generateVollyAccessToken writes", async () => {
  const { standardToken, vollyToken } = (await runGroup("claims", {}, ["standardToken", "vollyToken"])) as Record<string, Record<string, unknown>>;
  const keys = await generatePqKeyPair(vollyToken!.pqAlgorithm as "ML-KEM-768");
  const jwt = await generateVollyAccessToken(DEV_KEY, DEV_SECRET, {
    room: standardToken!.room as string,
    identity: standardToken!.identity as string,
    pqPublicKey: keys.publicKeyBase64,
    pqAlgorithm: vollyToken!.pqAlgorithm as "ML-KEM-768",
    pqKeyExpiry: vollyToken!.pqKeyExpiry as number,
  });
  const claims = decodeJwt(jwt) as Record<string, unknown> & { video: Record<string, unknown> };
  assert.equal(claims.video.roomJoin, standardToken!.roomJoin);
  assert.equal(claims.video.room, standardToken!.room);
  assert.equal(claims.sub, standardToken!.identity);
  assert.equal(claims.pqAlgorithm, vollyToken!.pqAlgorithm);
  assert.equal(claims.pqKeyExpiry, vollyToken!.pqKeyExpiry);
  assert.equal(claims.pqPublicKey, keys.publicKeyBase64);
});

test("README: the messaging client over the signaling client's post-quantum session", async () => {
  const bob = await nodeClient(server.wsUrl, "user-bob", "conversation-123");
  cleanup.push(() => bob.client.disconnect());
  await bob.client.connect();
  const bobInbox: VollyMessage[] = [];
  new VollyMessagingClient({ postQuantumSession: bob.client.getPostQuantumSession() }).on("message", (m) => bobInbox.push(m));

  const { signalingConnection, messagingConnection } = await runGroup("messaging", {}, ["signalingConnection", "messagingConnection"]);
  const signaling = signalingConnection as VollySignalingClient;
  cleanup.push(() => signaling.disconnect());
  // Nothing connected yet: the first send connects, runs the handshake and joins.
  const receipt = await (messagingConnection as VollyMessagingClient).send("hello over the PQ session", { to: "user-bob" });
  assert.equal(receipt.recipients, 1);
  assert.match(signaling.getPostQuantumSession().sessionId ?? "", /^[0-9a-f]{32}$/);
  await until(() => bobInbox.length === 1, "bob's message");
  assert.deepEqual([bobInbox[0]?.from, bobInbox[0]?.body], ["user-alice", "hello over the PQ session"]);
});

test("README: createCall, discoverUsers and createDataChannel, with werift as RTCPeerConnection", async () => {
  const room = "conversation-123";
  const bob = await nodeClient(server.wsUrl, "user-bob", room);
  const other = await nodeClient(server.wsUrl, "bob@volli.app", "elsewhere");
  cleanup.push(() => bob.client.disconnect(), () => other.client.disconnect());
  await bob.client.connect();
  await other.client.connect();
  const bobGot: string[] = [];
  bob.client.on("incomingCall", (call: VollyCall) => {
    call.on("dataChannel", (channel: DataChannelLike) => {
      channel.onmessage = (event: { data: unknown }) => bobGot.push(String(event.data));
    });
    void call.accept();
  });

  process.env.VOLLY_SIGNALING_URL = server.wsUrl;
  const env = {
    generateToken: () => generateVollyAccessToken(DEV_KEY, DEV_SECRET, { room, identity: "user-alice" }),
    encryptedMessage: "ciphertext-from-the-app",
  };
  const { signaling, call, onlineUsers } = await runGroup("calls", env, ["signaling", "call", "onlineUsers", "dataChannel"]);
  cleanup.push(() => (signaling as VollySignalingClient).disconnect());
  assert.deepEqual((onlineUsers as VollyUserPresence[]).map((u) => [u.identity, u.online]), [
    ["alice@volli.app", false],
    ["bob@volli.app", true],
    ["charlie@volli.app", false],
  ]);
  await until(() => bobGot.length === 1, "bob receives the data-channel message");
  assert.deepEqual(bobGot, ["ciphertext-from-the-app"]);
  assert.equal((call as VollyCall).state, "connected");
});
