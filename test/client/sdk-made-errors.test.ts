import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Code, ConnectError, generateVollyAccessToken, VollyMessagingClient, type VollyPostQuantumSession } from "../../src/client/index.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { DEV_KEY, DEV_SECRET, nodeClient } from "../helpers/werift-sdk.js";

// The docs promise ConnectError for every failure: errors the SDK makes itself from bad arguments are
// InvalidArgument, never a RangeError or a TypeError from the code underneath.

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

const invalidArgument = (e: unknown): boolean => e instanceof ConnectError && e.code === Code.InvalidArgument;

test("exportKey with a length outside 1..8160 or not an integer rejects with InvalidArgument", async () => {
  const alice = await nodeClient(server.wsUrl, "ee-alice", "sdk-errors");
  try {
    await alice.client.connect();
    const session = alice.client.getPostQuantumSession();
    for (const length of [0, -1, 1.5, 8161, 10_000, Number.NaN]) {
      await assert.rejects(session.exportKey("label", length), invalidArgument, `length ${length}`);
    }
    assert.equal((await session.exportKey("label", 8160)).length, 8160);
  } finally {
    await alice.client.disconnect();
  }
});

test("generateVollyAccessToken with an unusable ttl rejects with InvalidArgument", async () => {
  for (const ttl of ["abc", "", "-2h", "2h ago", 0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
    await assert.rejects(generateVollyAccessToken(DEV_KEY, DEV_SECRET, { room: "r", identity: "i", ttl }), invalidArgument, `ttl ${String(ttl)}`);
  }
  assert.ok(await generateVollyAccessToken(DEV_KEY, DEV_SECRET, { room: "r", identity: "i", ttl: "2h" }));
});

test("a VollyMessagingClient without a session handle from the SDK throws InvalidArgument", () => {
  for (const postQuantumSession of [{}, undefined, "session"]) {
    assert.throws(() => new VollyMessagingClient({ postQuantumSession: postQuantumSession as unknown as VollyPostQuantumSession }), invalidArgument);
  }
});

test("sendData with a payload that is neither a string nor bytes rejects with InvalidArgument, and sends nothing", async () => {
  const alice = await nodeClient(server.wsUrl, "sd-alice", "sdk-payload");
  const bob = await nodeClient(server.wsUrl, "sd-bob", "sdk-payload");
  try {
    await alice.client.connect();
    await bob.client.connect();
    const received: string[] = [];
    bob.client.on("data", (m) => received.push(m.id));
    for (const payload of [123, undefined, null, { bytes: [1] }, [1, 2]]) {
      await assert.rejects(alice.client.sendData(payload as unknown as string, { id: `bad-${String(payload)}` }), invalidArgument, String(payload));
    }
    const ack = await alice.client.sendData(new Uint8Array([1]), { id: "good" });
    assert.equal(ack.recipients, 1);
    for (let i = 0; i < 50 && !received.includes("good"); i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(received, ["good"]);
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
  }
});

test("messaging send with a body that is neither a string nor bytes, and discoverUsers without an array of strings, reject with InvalidArgument", async () => {
  const alice = await nodeClient(server.wsUrl, "ma-alice", "sdk-args");
  try {
    await alice.client.connect();
    const messaging = new VollyMessagingClient({ postQuantumSession: alice.client.getPostQuantumSession() });
    for (const body of [new ArrayBuffer(4), 7, undefined, null]) {
      await assert.rejects(messaging.send(body as unknown as string), invalidArgument, String(body));
    }
    // A string would otherwise be asked about letter by letter, and undefined answered with nobody.
    for (const identities of ["bob", undefined, [1, 2], ["ok", null]]) {
      await assert.rejects(alice.client.discoverUsers(identities as unknown as string[]), invalidArgument, String(identities));
    }
    assert.deepEqual((await alice.client.discoverUsers(["ma-alice"])).map((u) => u.online), [true]);
    messaging.close();
  } finally {
    await alice.client.disconnect();
  }
});

// The server counts an identity's characters for discover as for a join: an emoji is one, not two UTF-16 units.
test("discoverUsers asks about an identity of 200 emoji, which can join", async () => {
  const identity = "🦊".repeat(200);
  const fox = await nodeClient(server.wsUrl, identity, "sdk-emoji");
  try {
    await fox.client.connect();
    assert.deepEqual((await fox.client.discoverUsers([identity])).map((u) => [u.identity, u.online]), [[identity, true]]);
  } finally {
    await fox.client.disconnect();
  }
});
