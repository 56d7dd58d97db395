import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { createLogger } from "../../src/logger.js";
import { createBackend, type Backend } from "../../src/store/create-backend.js";
import { RedisServer, redisServerSkip } from "../helpers/redis.js";
import { participant, room, limitsOf } from "./contract-fixtures.js";

const log = createLogger("silent");
const te = new TextEncoder();

/** Read events Redis has processed, all clients together (`INFO stats`). */
async function readsProcessed(info: Redis): Promise<number> {
  const stats = await info.info("stats");
  const m = /total_reads_processed:(\d+)/.exec(stats);
  assert.ok(m, "INFO stats has total_reads_processed");
  return Number(m[1]);
}

// A Redis of the suite's own: its counters see this suite's commands only.
describe("Redis commands of one tick leave the node in one write", { skip: redisServerSkip() }, () => {
  let server: RedisServer;
  let backend: Backend;
  let info: Redis;

  before(async () => {
    server = await RedisServer.start();
    backend = await createBackend({ url: server.url, prefix: "coalesce:" }, log);
    info = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await info.connect();
  });

  after(async () => {
    info?.disconnect();
    await backend?.close();
    await server?.stop();
  });

  test("twenty commands issued together reach Redis as one read, answered each in order", async () => {
    const s = backend.store;
    await s.createRoom(room("tick"), 10, Date.now());
    // Redis learns a script on its first use (EVALSHA is refused, EVAL follows): not what is counted here.
    await s.getRoom("tick");
    const before = await readsProcessed(info);
    const names = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? "tick" : `missing-${i}`));
    const rooms = await Promise.all(names.map((n) => s.getRoom(n)));
    const reads = (await readsProcessed(info)) - before;
    assert.deepEqual(rooms.map((r) => r?.name), names.map((n) => (n === "tick" ? "tick" : undefined)));
    // One read for the twenty, one for the second INFO; a command per write would be up to twenty-one.
    assert.ok(reads <= 2, `Redis read ${reads} times for twenty commands of one tick`);
  });

  test("an enqueue batch and the commands of its tick go out together and keep call order", async () => {
    const s = backend.store;
    await s.createRoom(room("order"), 10, Date.now());
    assert.ok((await s.joinParticipant(participant("order", "a", "PA_order_a", "node-a"), 10)).ok);
    const queued = Promise.all([0, 1, 2].map((i) => s.enqueue("order", "a", te.encode(`m${i}`), limitsOf(100), "node-a")));
    // Issued after the enqueues in the same tick: sent after their batch, so it sees all three.
    const box = s.readMailbox("PA_order_a", 0n);
    assert.deepEqual((await queued).map((q) => q?.messageId), [1n, 2n, 3n]);
    assert.deepEqual((await box).messages.map((m) => m.id), [1n, 2n, 3n]);
  });
});
