import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { inspect } from "node:util";
import WebSocket from "ws";
import {
  Code,
  ConnectError,
  generatePqKeyPair,
  generateVollyAccessToken,
  VollySignalingClient,
  type VollySignalingClientOptions,
} from "../../src/client/index.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { DEV_KEY, DEV_SECRET, nextEvent, nodeClient, until } from "../helpers/werift-sdk.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

async function rejectsWith(promise: Promise<unknown>, code: Code, pattern?: RegExp): Promise<ConnectError> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof ConnectError, `expected a ConnectError, got ${String(e)}`);
    assert.equal(Code[e.code], Code[code], e.message);
    if (pattern) assert.match(e.rawMessage, pattern);
    return e;
  }
  assert.fail("expected a rejection");
}

test("connect, presence events and disconnect", async () => {
  const room = "presence";
  const alice = await nodeClient(server.wsUrl, "alice", room);
  const bob = await nodeClient(server.wsUrl, "bob", room);
  const connected = nextEvent(alice.client, "connected");
  const info = await alice.client.connect();
  assert.deepEqual((await connected)[0], info);
  assert.equal(alice.client.state, "connected");
  assert.equal(info.room.name, room);
  assert.equal(info.participant.identity, "alice");
  assert.equal(info.participants.length, 0);
  assert.match(alice.client.sid ?? "", /^PA_/);

  const joined = nextEvent(alice.client, "participantJoined");
  const bobInfo = await bob.client.connect();
  assert.deepEqual(bobInfo.participants.map((p) => p.identity), ["alice"]);
  assert.equal((await joined)[0].identity, "bob");
  assert.deepEqual(alice.client.participants.map((p) => p.identity), ["bob"]);

  // Metadata changes reach the others; a third participant speaks canonical JSON on the wire.
  const updated = nextEvent(alice.client, "participantUpdated");
  await bob.client.updateMetadata({ metadata: "{\"status\":\"busy\"}", attributes: { team: "blue" } });
  const [changed] = await updated;
  assert.deepEqual([changed.identity, changed.metadata, changed.attributes.team], ["bob", "{\"status\":\"busy\"}", "blue"]);
  const carol = await nodeClient(server.wsUrl, "carol", room, { format: "json" });
  const carolInfo = await carol.client.connect();
  assert.deepEqual(carolInfo.participants.map((p) => p.identity).sort(), ["alice", "bob"]);
  // Alice hears carol leave before bob's turn, so the next participantLeft below can only be bob's.
  const carolLeft = nextEvent(alice.client, "participantLeft");
  await carol.client.disconnect();
  assert.equal((await carolLeft)[0].identity, "carol");

  const left = nextEvent(alice.client, "participantLeft");
  const bobGone = nextEvent(bob.client, "disconnected");
  await bob.client.disconnect();
  assert.equal((await bobGone)[0].reason, "client_initiated");
  assert.equal(bob.client.state, "disconnected");
  const [gone] = await left;
  assert.equal(gone.identity, "bob");
  assert.equal(gone.state, "disconnected");
  assert.equal(alice.client.participants.length, 0);
  await alice.client.disconnect();
});

test("discoverUsers answers presence in the order asked; more than 100 identities is InvalidArgument", async () => {
  const alice = await nodeClient(server.wsUrl, "disc-alice", "discover");
  const bob = await nodeClient(server.wsUrl, "disc-bob", "discover-elsewhere");
  await bob.client.connect();
  try {
    // No connect(): the first call connects.
    const users = await alice.client.discoverUsers(["disc-bob", "nobody@volli.app", "disc-alice"]);
    assert.deepEqual(users.map((u) => [u.identity, u.online]), [["disc-bob", true], ["nobody@volli.app", false], ["disc-alice", true]]);
    assert.ok(users[0]!.lastSeen > 0);
    assert.deepEqual(await alice.client.discoverUsers([]), []);
    const many = Array.from({ length: 101 }, (_, i) => `user-${i}`);
    await rejectsWith(alice.client.discoverUsers(many), Code.InvalidArgument, /at most 100/);
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
  }
});

test("errors surface as ConnectError with the server's code", async () => {
  const badSecret = await generateVollyAccessToken(DEV_KEY, "not-the-secret-at-all", { room: "errors", identity: "mallory" });
  await rejectsWith(new VollySignalingClient({ url: server.wsUrl, token: badSecret, webSocket: WebSocket }).connect(), Code.Unauthenticated, /signature/);
  const noJoin = await generateVollyAccessToken(DEV_KEY, DEV_SECRET, { room: "errors", identity: "eve", grants: { roomJoin: false } });
  await rejectsWith(new VollySignalingClient({ url: server.wsUrl, token: noJoin, webSocket: WebSocket }).connect(), Code.PermissionDenied);
  await rejectsWith(new VollySignalingClient({ url: "ws://127.0.0.1:1", token: noJoin, webSocket: WebSocket }).connect(), Code.Unavailable);
  // An address no WebSocket can open is refused at construction, saying what is wrong with it.
  for (const [url, reason] of [["::::", /is not a URL/], ["localhost:7880", /must be ws:\/\/, wss:\/\/, http:\/\/ or https:\/\/, not localhost:/], ["ftp://127.0.0.1/", /not ftp:/]] as const) {
    assert.throws(() => new VollySignalingClient({ url, token: noJoin, webSocket: WebSocket }), (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument && reason.test(e.rawMessage), url);
  }

  // So is an option outside its range, naming the option: NaN or 0 would otherwise surface at connect() as a
  // timeout, and a NaN backoff as a retry storm. Plain JavaScript apps can pass anything, hence the casts.
  const odd = (o: object) => o as Partial<VollySignalingClientOptions>;
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  for (const [options, reason] of [
    [{ connectTimeoutMs: Number.NaN }, /^connectTimeoutMs must be a number of milliseconds above 0, not NaN$/],
    [{ connectTimeoutMs: 0 }, /connectTimeoutMs must be .* not 0$/],
    [odd({ requestTimeoutMs: "5000" }), /requestTimeoutMs must be .* not "5000"$/],
    [{ rekeyIntervalMs: -5 }, /rekeyIntervalMs must be/],
    [odd({ format: "xml" }), /^format must be 'protobuf', 'json' or 'flat', not "xml"$/],
    [{ reconnect: { maxAttempts: -1 } }, /^reconnect.maxAttempts must be a whole number, at least 0, not -1$/],
    [{ reconnect: { maxAttempts: 2.5 } }, /reconnect.maxAttempts/],
    [{ reconnect: { initialDelayMs: Number.NaN } }, /^reconnect.initialDelayMs must be milliseconds, at least 0, not NaN$/],
    [{ reconnect: { multiplier: 0.5 } }, /reconnect.multiplier must be at least 1/],
    [{ reconnect: { jitter: 2 } }, /reconnect.jitter must be from 0 to 1, not 2$/],
    // Values JSON cannot show are named all the same (JSON.stringify threw, and the TypeError named no option).
    [odd({ requestTimeoutMs: 5000n }), /^requestTimeoutMs must be .* not 5000n$/],
    [odd({ reconnect: { jitter: 1n } }), /^reconnect.jitter must be .* not 1n$/],
    [odd({ format: circular }), /^format must be .* not Object \{…\}$/],
    [odd({ format: "x".repeat(500) }), /^format must be .* not "x{76}\.\.\.$/],
    // The brief's claims object passed as the token: said so, without echoing what it holds.
    [odd({ token: { identity: "alice", room: "r", apiSecret: "s3cret" } }), /^token must be an access token \(a JWT string, .*\), not an object$/],
    [odd({ token: undefined }), /^token is required$/],
  ] as const) {
    assert.throws(() => new VollySignalingClient({ url: server.wsUrl, token: noJoin, webSocket: WebSocket, ...options }), (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument && reason.test(e.rawMessage), inspect(options));
  }

  const keys = await generatePqKeyPair();
  const bound = await generateVollyAccessToken(DEV_KEY, DEV_SECRET, { room: "errors", identity: "trent", pqPublicKey: keys.publicKey });
  assert.throws(() => new VollySignalingClient({ url: server.wsUrl, token: bound, webSocket: WebSocket }), (e: unknown) => e instanceof ConnectError && e.code === Code.FailedPrecondition);
  const other = await generatePqKeyPair();
  assert.throws(() => new VollySignalingClient({ url: server.wsUrl, token: bound, webSocket: WebSocket, tokenKeyPair: other }), (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument);

  const early = await nodeClient(server.wsUrl, "err-early", "errors");
  const connecting = early.client.connect();
  await early.client.disconnect();
  await rejectsWith(connecting, Code.Canceled);
  assert.equal(early.client.state, "disconnected");

  const alice = await nodeClient(server.wsUrl, "err-alice", "errors");
  try {
    await alice.client.connect();
    await rejectsWith(alice.client.createCall({ recipient: "nobody-here" }), Code.NotFound, /not in your room/);
    assert.equal(alice.client.calls.length, 0);
    await rejectsWith(alice.client.sendData(new Uint8Array(20_000), { target: "nobody-here" }), Code.InvalidArgument, /payload/);
    await rejectsWith(alice.client.sendData("hi", { target: "nobody-here" }), Code.NotFound);
    assert.equal(alice.client.state, "connected");
  } finally {
    await alice.client.disconnect();
  }
});

test("a token-bound hybrid key (way a) connects, and others see the key", async () => {
  const keys = await generatePqKeyPair("X25519MLKEM768");
  const token = await generateVollyAccessToken(DEV_KEY, DEV_SECRET, {
    room: "bound", identity: "bound-alice", pqPublicKey: keys.publicKeyBase64, pqAlgorithm: "X25519MLKEM768",
  });
  const alice = new VollySignalingClient({ url: server.wsUrl, token, webSocket: WebSocket, tokenKeyPair: keys });
  const bob = await nodeClient(server.wsUrl, "bound-bob", "bound", { pqAlgorithm: "X25519MLKEM768", format: "flat" });
  try {
    await alice.connect();
    const session = alice.getPostQuantumSession();
    assert.equal(session.algorithm, "X25519MLKEM768");
    const info = await bob.client.connect();
    assert.equal(bob.client.getPostQuantumSession().algorithm, "X25519MLKEM768");
    assert.deepEqual(info.participants[0]?.pqPublicKey, keys.publicKey);
    assert.equal(info.participants[0]?.pqAlgorithm, "X25519MLKEM768");
    // exportKey: same label, same key; another label, another key.
    const k1 = await session.exportKey("volly messaging", 32);
    assert.deepEqual(await session.exportKey("volly messaging", 32), k1);
    assert.notDeepEqual(await session.exportKey("volly media", 32), k1);
  } finally {
    await alice.disconnect();
    await bob.client.disconnect();
  }
});

test("rekeying on a short interval keeps the channel working; the server's interval is honoured", async () => {
  // The server closes a channel that does not rekey within its interval (+ grace): 1 s and 0 s here.
  const strict = await startTestServer({ VOLLY_PQ_REKEY_INTERVAL: "1", VOLLY_PQ_REKEY_GRACE: "0" });
  const alice = await nodeClient(strict.wsUrl, "rk-alice", "rekey", { rekeyIntervalMs: 150 });
  const bob = await nodeClient(strict.wsUrl, "rk-bob", "rekey");
  try {
    await alice.client.connect();
    await bob.client.connect();
    let reconnects = 0;
    bob.client.on("reconnecting", () => reconnects++);
    const received: string[] = [];
    bob.client.on("data", (m) => received.push(new TextDecoder().decode(m.payload)));
    await until(() => alice.client.getPostQuantumSession().rekeys >= 4, "four rekeys", 15_000);
    for (let i = 0; i < 5; i++) assert.equal((await alice.client.sendData(`m${i}`, { target: "rk-bob" })).recipients, 1);
    await until(() => received.length === 5, "data after rekeys");
    assert.ok(alice.client.getPostQuantumSession().epoch >= 4);
    // bob follows the server's 1 s interval by himself and is never cut off for not rekeying.
    await until(() => bob.client.getPostQuantumSession().rekeys >= 2, "bob's scheduled rekeys", 15_000);
    assert.equal(reconnects, 0);
    assert.equal(bob.client.state, "connected");
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
    await strict.close();
  }
});

test("rekey() while a rekey is under way joins it: overlapping manual and scheduled rekeys never cost the connection", async () => {
  const alice = await nodeClient(server.wsUrl, "rko-alice", "rekey-overlap", { rekeyIntervalMs: 60 });
  try {
    await alice.client.connect();
    let reconnects = 0;
    alice.client.on("reconnecting", () => reconnects++);
    const calls: Array<Promise<void>> = [];
    for (let i = 0; i < 60; i++) {
      calls.push(alice.client.rekey());
      await new Promise((r) => setTimeout(r, i % 7));
    }
    const settled = await Promise.allSettled(calls);
    assert.deepEqual(settled.filter((r) => r.status === "rejected"), []);
    assert.equal(reconnects, 0);
    assert.equal(alice.client.state, "connected");
    assert.ok(alice.client.getPostQuantumSession().rekeys >= 2);
  } finally {
    await alice.client.disconnect();
  }
});

test("plaintext servers: refused by default (no downgrade), accepted with postQuantum: false", async () => {
  const plain = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
  try {
    const strictClient = await nodeClient(plain.wsUrl, "pt-alice", "plain");
    await rejectsWith(strictClient.client.connect(), Code.FailedPrecondition, /post-quantum/);
    const relaxed = await nodeClient(plain.wsUrl, "pt-bob", "plain", { postQuantum: false });
    await relaxed.client.connect();
    assert.equal(relaxed.client.getPostQuantumSession().established, false);
    await rejectsWith(relaxed.client.getPostQuantumSession().exportKey("x", 16), Code.FailedPrecondition);
    assert.deepEqual((await relaxed.client.discoverUsers(["pt-bob"]))[0]?.online, true);
    await relaxed.client.disconnect();
  } finally {
    await plain.close();
  }
});
