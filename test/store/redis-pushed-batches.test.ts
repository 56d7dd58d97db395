import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { BusEnvelopeSchema } from "../../gen/volly/signaling/v1/internal_pb.js";
import { createLogger } from "../../src/logger.js";
import { readBatchRouting } from "../../src/protocol/bus-deliveries.js";
import { responseSpans } from "../../src/protocol/enqueue-batch.js";
import { PUSH_MIN_BYTES } from "../../src/redis/pushed-batch.js";
import { Delivery } from "../../src/room/delivery.js";
import { LocalParticipants } from "../../src/room/local-participants.js";
import { createBackend } from "../../src/store/create-backend.js";
import type { Store } from "../../src/store/store.js";
import { keysUnder, REDIS_URL, RedisServer, redisServerSkip, redisSkip, sleep, uniquePrefix, withRedis } from "../helpers/redis.js";
import { until } from "../helpers/polling.js";
import { useTwoBackends } from "./two-backends.js";
import { CommandCounter, participant, recorder, room, limitsOf } from "./contract-fixtures.js";

const skip = await redisSkip();
const log = createLogger("silent");
const te = new TextEncoder();
const td = new TextDecoder();

/** A message body of `n` bytes that names itself (`tag`), so a misplaced slice shows. */
const body = (tag: string, n = 1500) => tag + ".".repeat(n - tag.length);
const PUSHED = "mailbox_enqueue_pushed";
const SCRIPTED = "mailbox_enqueue_batch";

/** The messages a routing names, as the receiving node reads them: [index in the batch, sid, id]. */
function routedMessages(announce: Uint8Array): Array<[number, string, bigint]> {
  const routing = readBatchRouting(announce);
  assert.ok(routing, "a routing envelope");
  return routing.index.map((index, k) => [index, routing.sid[k] as string, routing.messageId[k] as bigint]);
}

/** One turn of enqueues from node-a (one batch), answered. */
function send(s: Store, roomName: string, targets: readonly string[], texts: readonly string[], limit = 100) {
  return Promise.all(targets.map((t, i) => s.enqueue(roomName, t, te.encode(texts[i] as string), limitsOf(limit), "node-a")));
}

describe("Redis enqueue batches pushed onto known mailboxes (MULTI, responses outside Lua)", { skip }, () => {
  const pair = useTwoBackends("pushed");

  const exists = (key: string) => withRedis(REDIS_URL, async (r) => r.exists(`${pair.prefix}${key}`));

  test("once a node knows its recipients, a batch is pushed and answers, queues and routes as the script's path does", async () => {
    const s = pair.one.store;
    await s.createRoom(room("pb"), 10, Date.now());
    for (const [id, node] of [["b1", "node-b"], ["b2", "node-b"], ["a", "node-a"]] as const) {
      assert.ok((await s.joinParticipant(participant("pb", id, `PA_pb_${id}`, node), 10)).ok);
    }
    const raw: Uint8Array[] = [];
    const unsubscribe = await pair.two.bus.subscribe("node:node-b", (p) => raw.push(p.slice()));
    try {
      // First contact goes by the script, which tells the node where the recipients are.
      const scripted = pair.counter.of(SCRIPTED);
      await send(s, "pb", ["b1", "b2", "a"], ["first-b1", "first-b2", "first-a"]);
      assert.equal(pair.counter.of(SCRIPTED) - scripted, 1);
      await until(() => raw.length === 1, "the first envelope");

      const targets = ["b1", "b2", "a", "b1", "b2"];
      const texts = targets.map((t, i) => body(`${t}/${i}`));
      const pushed = pair.counter.of(PUSHED);
      const queued = await send(s, "pb", targets, texts);
      assert.equal(pair.counter.of(PUSHED) - pushed, 1, "one pushed batch");
      assert.equal(pair.counter.of(SCRIPTED) - scripted, 1, "and no script with the responses");
      assert.deepEqual(queued.map((q) => [q?.sid, q?.nodeId, q?.messageId, q?.forwarded, q?.overflow]), [
        ["PA_pb_b1", "node-b", 2n, true, false], ["PA_pb_b2", "node-b", 2n, true, false], ["PA_pb_a", "node-a", 2n, false, false],
        ["PA_pb_b1", "node-b", 3n, true, false], ["PA_pb_b2", "node-b", 3n, true, false],
      ]);
      const box = await s.readMailbox("PA_pb_b1", 0n);
      assert.deepEqual(box.messages.map((m) => [m.id, td.decode(m.response).slice(0, 8)]), [[1n, "first-b1"], [2n, "b1/0...."], [3n, "b1/3...."]]);
      assert.equal((await s.readMailbox("PA_pb_a", 1n)).messages.map((m) => td.decode(m.response))[0], texts[2]);

      await until(() => raw.length === 3, "the routing and the batch");
      const [, announce, batch] = raw;
      const routing = fromBinary(BusEnvelopeSchema, announce as Uint8Array).message;
      assert.equal(routing.case, "routing");
      if (routing.case !== "routing") return;
      // By recipient, as the script saw them (groups numbered in order of first message): b1, b2, a.
      assert.deepEqual(routing.value.messages, []);
      assert.deepEqual(routing.value.groups.map((g) => [g.group, g.sid, g.firstMessageId]), [[1, "PA_pb_b1", 2n], [2, "PA_pb_b2", 2n]]);
      assert.deepEqual([...routing.value.messageGroups], [0, 1, 0, 2, 0, 3, 0, 1, 0, 2]);
      assert.equal(routing.value.batchCount, 5);
      assert.equal(routing.value.batchBytes, batch?.length);
      assert.deepEqual(routedMessages(announce as Uint8Array), [
        [0, "PA_pb_b1", 2n], [1, "PA_pb_b2", 2n], [3, "PA_pb_b1", 3n], [4, "PA_pb_b2", 3n],
      ]);
      const spans = responseSpans(batch as Uint8Array, 5);
      assert.ok(spans);
      assert.deepEqual(targets.map((_, i) => td.decode((batch as Uint8Array).subarray(spans[2 * i], spans[2 * i + 1]))), texts);

      // Under PUSH_MIN_BYTES a batch keeps to one script, routes known or not.
      const small = await send(s, "pb", ["b1"], ["small"]);
      assert.equal(small[0]?.messageId, 4n);
      assert.equal(pair.counter.of(SCRIPTED) - scripted, 2);
      assert.ok(PUSH_MIN_BYTES > "small".length);
    } finally {
      await unsubscribe();
    }
  });

  test("a route gone stale (the participant rejoined with a new sid, or left) queues for whoever holds the identity now, and leaves no mailbox behind", async () => {
    const s = pair.one.store;
    await s.createRoom(room("ps"), 10, Date.now());
    for (const id of ["x", "y"]) assert.ok((await s.joinParticipant(participant("ps", id, `PA_ps_${id}1`, "node-b"), 10)).ok);
    await send(s, "ps", ["x", "y"], ["hello-x", "hello-y"]);
    // Another node changes the room; node-a still knows the old sids.
    assert.ok((await pair.two.store.joinParticipant(participant("ps", "x", "PA_ps_x2", "node-b"), 10)).ok);
    assert.ok(await pair.two.store.removeParticipant("ps", "y", "PA_ps_y1", Date.now()));

    const pushed = pair.counter.of(PUSHED);
    const texts = ["x/0", "y/1", "x/2"].map((t) => body(t, 2000));
    const queued = await send(s, "ps", ["x", "y", "x"], texts);
    assert.equal(pair.counter.of(PUSHED) - pushed, 1, "pushed onto the old mailboxes, then fixed by the script");
    assert.deepEqual(queued.map((q) => q && [q.sid, q.messageId, q.forwarded]), [["PA_ps_x2", 1n, true], undefined, ["PA_ps_x2", 2n, true]]);
    assert.deepEqual((await s.readMailbox("PA_ps_x2", 0n)).messages.map((m) => td.decode(m.response)), [texts[0], texts[2]]);
    for (const sid of ["PA_ps_x1", "PA_ps_y1"]) {
      assert.equal(await exists(`mailbox:${sid}`), 0, `no mailbox left for ${sid}`);
      assert.equal(await exists(`mailbox:${sid}:ids`), 0);
    }

    // The answer taught the node the new sid: the next batch is pushed where it belongs.
    const next = await send(s, "ps", ["x", "x", "x"], ["x/3", "x/4", "x/5"].map((t) => body(t, 2000)));
    assert.equal(pair.counter.of(PUSHED) - pushed, 2);
    assert.deepEqual(next.map((q) => q?.messageId), [3n, 4n, 5n]);
    assert.equal(await exists("mailbox:PA_ps_x1"), 0);
  });

  test("a recipient that resumed on another node is forwarded there by envelope; the batch's own node still gets its routing", async () => {
    const s = pair.one.store;
    await s.createRoom(room("pm"), 10, Date.now());
    for (const id of ["z", "w"]) assert.ok((await s.joinParticipant(participant("pm", id, `PA_pm_${id}`, "node-b"), 10)).ok);
    await send(s, "pm", ["z", "w"], ["hi-z", "hi-w"]);
    assert.ok(await pair.two.store.claimParticipant("pm", "z", "PA_pm_z", "node-c"));
    const raw = new Map<string, Uint8Array[]>();
    const unsubscribe = await Promise.all(["node-b", "node-c"].map((node) =>
      pair.two.bus.subscribe(`node:${node}`, (p) => raw.set(node, [...(raw.get(node) ?? []), p.slice()]))));
    try {
      const pushed = pair.counter.of(PUSHED);
      const texts = [body("z/0", 3000), body("w/1", 3000)];
      const queued = await send(s, "pm", ["z", "w"], texts);
      assert.equal(pair.counter.of(PUSHED) - pushed, 1);
      assert.deepEqual(queued.map((q) => [q?.nodeId, q?.messageId, q?.forwarded]), [["node-c", 2n, true], ["node-b", 2n, true]]);
      await until(() => (raw.get("node-b") ?? []).length === 2 && (raw.get("node-c") ?? []).length === 1, "the publishes");
      const c = fromBinary(BusEnvelopeSchema, (raw.get("node-c") ?? [])[0] as Uint8Array).message;
      assert.deepEqual(c.case === "delivery" ? [c.value.sid, c.value.messageId, td.decode(c.value.response)] : c.case, ["PA_pm_z", 2n, texts[0]]);
      assert.deepEqual(routedMessages((raw.get("node-b") ?? [])[0] as Uint8Array), [[1, "PA_pm_w", 2n]]);
    } finally {
      for (const u of unsubscribe) await u();
    }
  });

  test("the bound of a mailbox and its overflow while away are the script's path's", async () => {
    const s = pair.one.store;
    await s.createRoom(room("po"), 10, Date.now());
    assert.ok((await s.joinParticipant(participant("po", "v", "PA_po_v", "node-b"), 10)).ok);
    await send(s, "po", ["v"], ["v/0"], 3);
    assert.ok(await pair.two.store.markAway("po", "v", "PA_po_v", Date.now() + 60_000));
    const pushed = pair.counter.of(PUSHED);
    const texts = [1, 2, 3, 4].map((i) => body(`v/${i}`, 1200));
    const queued = await send(s, "po", ["v", "v", "v", "v"], texts, 3);
    assert.equal(pair.counter.of(PUSHED) - pushed, 1);
    assert.deepEqual(queued.map((q) => [q?.messageId, q?.overflow]), [[2n, false], [3n, false], [4n, true], [5n, true]]);
    const box = await s.readMailbox("PA_po_v", 0n);
    assert.equal(box.firstId, 3n);
    assert.deepEqual(box.messages.map((m) => [m.id, td.decode(m.response)]), [[3n, texts[1]], [4n, texts[2]], [5n, texts[3]]]);
  });

  test("an away recipient's bytes since it went away are counted on the pushed path as on the script's", async () => {
    const s = pair.one.store;
    await s.createRoom(room("pbytes"), 10, Date.now());
    assert.ok((await s.joinParticipant(participant("pbytes", "w", "PA_pb_w", "node-b"), 10)).ok);
    const limits = limitsOf(100, 6000);
    await s.enqueue("pbytes", "w", te.encode("w/0"), limits, "node-a");
    assert.ok(await pair.two.store.markAway("pbytes", "w", "PA_pb_w", Date.now() + 60_000));
    const pushed = pair.counter.of(PUSHED);
    const batch = (tag: string) => Promise.all([1, 2].map((i) => s.enqueue("pbytes", "w", te.encode(body(`${tag}/${i}`, 2100)), limits, "node-a")));
    // 4,200 bytes since going away: within the bound; 8,400 after the second batch: past it.
    assert.deepEqual((await batch("first")).map((q) => q?.overflow), [false, false]);
    assert.deepEqual((await batch("second")).map((q) => q?.overflow), [true, true]);
    assert.equal(pair.counter.of(PUSHED) - pushed, 2, "both batches went by the pushed path");
  });

  test("Delivery across two nodes with pushed batches: every message once, whole and in id order", async () => {
    const s = pair.one.store;
    await s.createRoom(room("pd"), 10, Date.now());
    for (const [id, node] of [["y", "pd-b"], ["z", "pd-b"]] as const) {
      assert.ok((await s.joinParticipant(participant("pd", id, `PA_pd_${id}`, node), 10)).ok);
    }
    const localB = new LocalParticipants();
    const got = { y: [] as Array<[bigint, string]>, z: [] as Array<[bigint, string]> };
    localB.add(recorder("PA_pd_y", got.y));
    localB.add(recorder("PA_pd_z", got.z));
    const da = new Delivery(pair.one.store, pair.one.bus, "pd-a", new LocalParticipants(), limitsOf(1000), log);
    const db = new Delivery(pair.two.store, pair.two.bus, "pd-b", localB, limitsOf(1000), log);
    await db.start();
    try {
      const pushed = pair.counter.of(PUSHED);
      const sent = { y: [] as string[], z: [] as string[] };
      for (let burst = 0; burst < 5; burst++) {
        await Promise.all(Array.from({ length: 12 }, (_, i) => {
          const to = i % 3 === 0 ? "z" : "y";
          const text = body(`${to}${burst}.${i}`, 300 + 50 * i);
          sent[to].push(text);
          return da.toParticipant("pd", to, te.encode(text));
        }));
      }
      assert.ok(pair.counter.of(PUSHED) - pushed >= 4, "every burst after the first is pushed");
      await until(() => got.y.length >= sent.y.length && got.z.length >= sent.z.length, "every delivery");
      await new Promise((r) => setTimeout(r, 100));
      for (const name of ["y", "z"] as const) {
        assert.deepEqual(got[name].map(([id]) => id), sent[name].map((_, i) => BigInt(i + 1)), `${name}: ids 1.. once, in order`);
        assert.deepEqual(got[name].map(([, t]) => t), sent[name], `${name}: its own messages, whole`);
      }
    } finally {
      await Promise.all([da.stop(), db.stop()]);
    }
  });
});

describe("Redis pushed batches when Redis fails", { skip: redisServerSkip() }, () => {
  test("after a Redis restart (its data and scripts gone), a pushed batch to a remembered sid finds nobody and leaves nothing behind", async () => {
    const server = await RedisServer.start();
    const counter = new CommandCounter();
    const prefix = uniquePrefix("pushrestart");
    const b = await createBackend({ url: server.url, prefix }, log, counter);
    try {
      const join = async () => {
        await b.store.createRoom(room("r"), 10, Date.now());
        assert.ok((await b.store.joinParticipant(participant("r", "a", "PA_pr_a", "node-b"), 10)).ok);
      };
      await join();
      await send(b.store, "r", ["a"], ["learn"]);
      await server.stop();
      await server.start();
      for (let tries = 0; !(await b.store.ping().then(() => true, () => false)); tries++) {
        assert.ok(tries < 100, "the store reconnects");
        await sleep(50);
      }
      const texts = ["a0", "a1", "a2"].map((t) => body(t, 2000));
      const pushed = counter.of(PUSHED);
      assert.deepEqual(await send(b.store, "r", ["a", "a", "a"], texts), [undefined, undefined, undefined]);
      assert.equal(counter.of(PUSHED) - pushed, 1, "pushed by EVAL, which a restarted Redis runs without knowing the script");
      assert.deepEqual(await keysUnder(server.url, prefix), [], "no mailbox left for the gone participant");
      // Finding nobody, the node forgot the route: once the participant is back, the next batch goes by
      // the script, and the one after is pushed again.
      await join();
      assert.deepEqual((await send(b.store, "r", ["a", "a", "a"], texts)).map((q) => q?.messageId), [1n, 2n, 3n]);
      assert.equal(counter.of(PUSHED) - pushed, 1);
      assert.deepEqual((await send(b.store, "r", ["a", "a", "a"], texts)).map((q) => q?.messageId), [4n, 5n, 6n]);
      assert.equal(counter.of(PUSHED) - pushed, 2);
    } finally {
      await b.close();
      await server.stop();
    }
  });

  /**
   * A store on a Redis of its own, whose node has learnt the routes of `identities` (on node-b) in room
   * `name`, so that its next batch to them is pushed; the server is stopped afterwards.
   */
  async function withLearntRoutes(name: string, identities: readonly string[], run: (server: RedisServer, store: Store) => Promise<void>) {
    const server = await RedisServer.start();
    const b = await createBackend({ url: server.url, prefix: uniquePrefix(`push${name}`) }, log);
    try {
      await b.store.createRoom(room(name), 10, Date.now());
      for (const id of identities) assert.ok((await b.store.joinParticipant(participant(name, id, `PA_${name}_${id}`, "node-b"), 10)).ok);
      await send(b.store, name, identities, identities.map((id) => `learn-${id}`));
      await run(server, b.store);
    } finally {
      server.unpause();
      await b.close();
      await server.stop();
    }
  }

  /** Enqueues one message of 2,000 bytes to each of `targets` (one batch) and waits for every outcome. */
  const settle = (store: Store, name: string, targets: readonly string[]) =>
    Promise.allSettled(targets.map((t, i) => store.enqueue(name, t, te.encode(body(`${t}${i}`, 2000)), limitsOf(10), "node-a")));

  function assertAllRejected(results: ReadonlyArray<PromiseSettledResult<unknown>>, why: RegExp) {
    for (const r of results) {
      assert.equal(r.status, "rejected");
      if (r.status === "rejected") assert.match(String(r.reason), why);
    }
  }
  const assertAllUnavailable = (results: ReadonlyArray<PromiseSettledResult<unknown>>) => assertAllRejected(results, /storage is unavailable/);

  test("a pushed batch that a stalled Redis does not answer fails with store_timeout within the command timeout, by its EXEC's timer", () =>
    withLearntRoutes("st", ["a", "c"], async (server, store) => {
      server.pause();
      const started = Date.now();
      // Two recipients: a MULTI, two RPUSHes, the script, a PUBLISH and the EXEC, of which only the EXEC is timed.
      const results = await settle(store, "st", ["a", "c", "a"]);
      const waited = Date.now() - started;
      // Sent and not answered: it may still run (it does, below), so not "unavailable" but store_timeout.
      assertAllRejected(results, /storage did not answer in time; the request may still take effect/);
      assert.ok(waited >= 2500 && waited < 10_000, `failed after ${waited} ms, by the 3 s command timeout`);
      server.unpause();
      // Redis ran the late batch when it woke; the node carries on with the next one.
      const after = await send(store, "st", ["a"], [body("after", 5000)]);
      assert.equal(after[0]?.sid, "PA_st_a");
    }));

  test("a pushed batch that Redis does not answer rejects each of its messages with store_unavailable", () =>
    withLearntRoutes("f", ["a"], async (server, store) => {
      await server.stop();
      assertAllUnavailable(await settle(store, "f", ["a", "a", "a"]));
    }));
});
