import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, test } from "node:test";
import { VollyMessagingClient, type DataChannelLike, type VollyCall, type VollyMessage } from "../../src/client/index.js";
import { NodeProcess } from "../helpers/node-process.js";
import { deletePrefix, REDIS_URL, redisSkip, uniquePrefix } from "../helpers/redis.js";
import { nextEvent, nodeClient, until } from "../helpers/werift-sdk.js";

// The werift call of werift-call.test.ts with the two participants on different nodes of a Redis cluster (two
// server processes sharing one Redis under a prefix of their own).
const backendMissing = existsSync("src/redis/redis-backend.ts") ? false : "this build has no Redis backend (src/redis/redis-backend.ts)";
const skip = backendMissing || (await redisSkip());

const prefix = uniquePrefix("werift-cluster");
const nodes: NodeProcess[] = [];
before(async () => {
  if (skip) return;
  const env = { REDIS_URL, REDIS_PREFIX: prefix };
  nodes.push(...(await Promise.all([NodeProcess.start(env, "a"), NodeProcess.start(env, "b")])));
});
after(async () => {
  await Promise.all(nodes.map((n) => n.kill()));
  if (!skip) await deletePrefix(REDIS_URL, prefix);
});

test("two Node clients on different cluster nodes call each other (werift) and exchange data-channel and PQ messages", { skip }, async () => {
  const [a, b] = nodes as [NodeProcess, NodeProcess];
  const room = "cluster-call";
  const alice = await nodeClient(`ws://127.0.0.1:${a.port}`, "alice", room);
  const bob = await nodeClient(`ws://127.0.0.1:${b.port}`, "bob", room);
  try {
    await alice.client.connect();
    const joined = nextEvent(alice.client, "participantJoined");
    await bob.client.connect();
    assert.equal((await joined)[0].identity, "bob");
    assert.notEqual(alice.client.joined?.server.nodeId, bob.client.joined?.server.nodeId, "different nodes");

    let bobChannel: DataChannelLike | undefined;
    const bobGot: string[] = [];
    bob.client.on("incomingCall", (call: VollyCall) => {
      call.on("dataChannel", (channel) => {
        bobChannel = channel;
        channel.onmessage = (e: { data: unknown }) => bobGot.push(String(e.data));
      });
      void call.accept();
    });
    const started = Date.now();
    const call = await alice.client.createCall({ recipient: "bob" });
    const channel = await call.createDataChannel("messages");
    const aliceGot: string[] = [];
    channel.onmessage = (e: { data: unknown }) => aliceGot.push(String(e.data));
    channel.send("hello across nodes");
    await until(() => bobGot.length === 1 && bobChannel !== undefined, "bob receives");
    (bobChannel as DataChannelLike).send("hello back");
    await until(() => aliceGot.length === 1, "alice receives");
    console.log(`cross-node werift call: data channel round trip ${Date.now() - started} ms after the invitation`);

    // The messaging client across nodes too.
    const inbox: VollyMessage[] = [];
    new VollyMessagingClient({ postQuantumSession: bob.client.getPostQuantumSession() }).on("message", (m) => inbox.push(m));
    const receipt = await new VollyMessagingClient({ postQuantumSession: alice.client.getPostQuantumSession() }).send("via the cluster", { to: "bob" });
    assert.equal(receipt.recipients, 1);
    await until(() => inbox.length === 1, "message across nodes");

    const ended = nextEvent(call, "ended");
    await (bob.client.calls[0] as VollyCall).hangup();
    assert.equal((await ended)[0], "remote_hangup");
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
  }
});
