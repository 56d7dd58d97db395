import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { NodeInfoSchema, StoredCallSchema, StoredSessionSchema } from "../../gen/volly/signaling/v1/internal_pb.js";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { redisOptions } from "../../src/redis/redis-connection.js";
import { SESSION_FIELDS } from "../../src/redis/redis-codec.js";
import { LEASE_MS } from "../../src/redis/redis-keys.js";
import { createBackend, type Backend } from "../../src/store/create-backend.js";
import { deletePrefix, freePort, keysUnder, REDIS_URL, RedisServer, redisSkip, requireRedis, uniquePrefix, withRedis } from "../helpers/redis.js";
import { busContract } from "./bus.contract.js";
import { participant, room, limitsOf } from "./contract-fixtures.js";
import { storeContract } from "./store.contract.js";

const log = createLogger("silent");
const skip = await redisSkip();

async function backend(prefix: string, url = REDIS_URL): Promise<Backend> {
  return createBackend({ url, prefix }, log);
}

// The same contracts as the memory backend, against the real Redis, each test on a prefix of its own.
storeContract("redis", async () => {
  const prefix = uniquePrefix("store");
  const b = await backend(prefix);
  return {
    store: b.store,
    close: async () => {
      await b.close();
      await deletePrefix(REDIS_URL, prefix);
    },
  };
}, { skip });

busContract("redis", async () => {
  const prefix = uniquePrefix("bus");
  const one = await backend(prefix);
  const two = await backend(prefix);
  return {
    buses: [one.bus, two.bus],
    close: async () => {
      await one.close();
      await two.close();
      await deletePrefix(REDIS_URL, prefix);
    },
  };
}, { skip });

describe("Redis backend specifics", { skip }, () => {
  before(() => requireRedis());

  test("start-up fails with a clear message when Redis does not answer (no fallback to memory)", async () => {
    const port = await freePort();
    await assert.rejects(
      createBackend({ url: `redis://:s3cret@127.0.0.1:${port}`, prefix: "" }, log),
      (e: Error) => {
        assert.match(e.message, new RegExp(`Redis at redis://\\*\\*\\*@127\\.0\\.0\\.1:${port} did not answer`));
        assert.match(e.message, /ECONNREFUSED|closed/);
        assert.doesNotMatch(e.message, /s3cret/);
        return true;
      },
    );
  });

  test("rediss:// is accepted by the config and turns TLS on in ioredis; redis:// does not", () => {
    const config = loadConfig({ REDIS_URL: "rediss://user:pw@redis.example:6380/2", REDIS_PREFIX: "v:" });
    assert.deepEqual(config.redis, { url: "rediss://user:pw@redis.example:6380/2", prefix: "v:", nodeId: config.nodeId });
    assert.deepEqual(redisOptions({ url: "rediss://redis.example:6380", prefix: "" }, "store").tls, {});
    assert.equal(redisOptions({ url: "redis://redis.example", prefix: "" }, "store").tls, undefined);
    const host = loadConfig({ REDIS_HOST: "h", REDIS_PORT: "7000", REDIS_PASSWORD: "p@ss" });
    assert.equal(host.redis?.url, "redis://:p%40ss@h:7000");
  });

  test("session:<id> is a HASH of exactly the documented fields, with a TTL, gone when the session ends", async () => {
    const prefix = uniquePrefix("layout");
    const b = await backend(prefix);
    try {
      const expiresAt = Date.now() + 120_000;
      await b.store.createSession(create(StoredSessionSchema, {
        sessionId: "0123456789abcdef0123456789abcdef", identity: "alice", room: "r", participantSid: "PA_a",
        algorithm: "ML-KEM-768", nodeId: "n1", createdAt: BigInt(Date.now()), expiresAt: BigInt(expiresAt), rekeys: 0, state: "active",
      }));
      await withRedis(REDIS_URL, async (redis) => {
        const key = `${prefix}session:0123456789abcdef0123456789abcdef`;
        assert.deepEqual(await redis.keys(`${prefix}session:*`), [key]);
        assert.equal(await redis.type(key), "hash");
        const fields = await redis.hgetall(key);
        assert.deepEqual(Object.keys(fields).sort(), [...SESSION_FIELDS].sort());
        assert.equal(fields.expires_at, String(expiresAt));
        const ttl = await redis.pttl(key);
        assert.ok(ttl > 100_000 && ttl <= 120_000 + 30_000, `ttl ${ttl}`);
      });
      await b.store.endSession("0123456789abcdef0123456789abcdef", false);
      await withRedis(REDIS_URL, async (redis) => assert.deepEqual(await redis.keys(`${prefix}session:*`), []));
    } finally {
      await b.close();
      await deletePrefix(REDIS_URL, prefix);
    }
  });

  test("after the script cache is emptied, script calls still run in the order they were issued", async () => {
    // A call that misses the cache goes again as EVAL only after its NOSCRIPT reply: with one script cached
    // again and another not, an online mark issued before an offline mark ran after it (online for 30 s).
    // A Redis of its own: SCRIPT FLUSH empties the whole server's cache, under other suites' feet.
    const own = await RedisServer.start();
    const prefix = uniquePrefix("noscript");
    const b = await backend(prefix, own.url);
    try {
      const s = b.store;
      const now = Date.now();
      for (let round = 0; round < 3; round++) {
        await withRedis(own.url, (redis) => redis.script("FLUSH"));
        // Some other connection goes offline first: its script alone is in the cache again.
        await s.setOffline(`warm-${round}`, "PA_w.1", now);
        await Promise.all([s.setOnline(`p-${round}`, "PA_p.1", 30_000, now, "n1"), s.setOffline(`p-${round}`, "PA_p.1", now + 1)]);
        const [p] = await s.getPresence([`p-${round}`], now + 2);
        assert.equal(p?.online, false, `round ${round}: offline, as the later call said`);
      }
    } finally {
      await b.close();
      await own.stop();
    }
  });

  test("a node's presence index holds an identity while the node has a connection of it, and no longer", async () => {
    const prefix = uniquePrefix("presidx");
    const b = await backend(prefix);
    try {
      const s = b.store;
      const now = Date.now();
      await s.setOnline("a", "CO_1", 30_000, now, "n1");
      await s.setOnline("a", "CO_2", 30_000, now, "n1");
      await s.setOnline("a", "CO_3", 30_000, now, "n2");
      const index = (node: string) => withRedis(REDIS_URL, (redis) => redis.smembers(`${prefix}node:${node}:presence`));
      await s.setOffline("a", "CO_1", now);
      assert.deepEqual([await index("n1"), await index("n2")], [["a"], ["a"]]);
      await s.setOffline("a", "CO_2", now);
      assert.deepEqual([await index("n1"), await index("n2")], [[], ["a"]]);
      // A removed participant's connections go as one (setParticipantOffline), the index with them.
      await s.setOnline("a", "PA_r.1", 30_000, now, "n1");
      await s.setOnline("a", "PA_r.2", 30_000, now, "n2");
      assert.deepEqual([await index("n1"), await index("n2")], [["a"], ["a"]]);
      await s.setParticipantOffline("a", "PA_r", now);
      assert.deepEqual([await index("n1"), await index("n2")], [[], ["a"]], "CO_3 still holds a on n2");
    } finally {
      await b.close();
      await deletePrefix(REDIS_URL, prefix);
    }
  });

  test("every key a room and its participants use has a TTL, so nothing outlives a dead cluster", async () => {
    const prefix = uniquePrefix("ttl");
    const b = await backend(prefix);
    try {
      const s = b.store;
      await s.heartbeatNode(create(NodeInfoSchema, { nodeId: "n1", updatedAt: BigInt(Date.now()) }), 6000);
      await s.createRoom(room("t"), 10, Date.now());
      await s.joinParticipant(participant("t", "a", "PA_a", "n1"), 10);
      await s.joinParticipant(participant("t", "b", "PA_b", "n1"), 10);
      await s.enqueue("t", "a", new Uint8Array([1]), limitsOf(10));
      await s.markAway("t", "b", "PA_b", Date.now() + 30_000);
      await s.setOnline("a", "CO_1", 30_000, Date.now(), "node-p");
      await s.putCall(create(StoredCallSchema, { callId: "c", room: "t", caller: "a", callee: "b" }));
      await withRedis(REDIS_URL, async (redis) => {
        const keys = await keysUnder(REDIS_URL, prefix);
        assert.ok(keys.length >= 12, keys.join(" "));
        for (const key of keys) {
          if (key === `${prefix}stats`) continue;
          const ttl = await redis.pttl(key);
          assert.ok(ttl > 0, `${key} has no TTL`);
        }
        assert.ok((await redis.pttl(`${prefix}participant:PA_a`)) <= LEASE_MS);
        assert.ok((await redis.pttl(`${prefix}participant:PA_b`)) > LEASE_MS, "an away participant lives past its deadline");
      });
    } finally {
      await b.close();
      await deletePrefix(REDIS_URL, prefix);
    }
  });

  test("while its Redis is down commands fail fast with store_unavailable; it reconnects when Redis is back", async () => {
    const server = await RedisServer.start();
    const b = await backend(uniquePrefix("outage"), server.url);
    try {
      await b.store.createRoom(room("o"), 10, Date.now());
      await server.stop();
      const started = Date.now();
      await assert.rejects(b.store.getRoom("o"), /storage is unavailable/);
      await assert.rejects(b.store.ping());
      await assert.rejects(b.bus.ping());
      await assert.rejects(b.bus.publish("node:x", new Uint8Array([1])), /storage is unavailable/);
      assert.ok(Date.now() - started < 2000, "failures are immediate, not queued");
      await server.start();
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          await b.store.ping();
          await b.bus.ping();
          break;
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.equal(await b.store.getRoom("o"), undefined, "the restarted Redis kept nothing");
      const got: number[] = [];
      await b.bus.subscribe("node:after", (p) => got.push(p[0] ?? -1));
      await b.bus.publish("node:after", new Uint8Array([42]));
      const until = Date.now() + 5000;
      while (got.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(got, [42]);
    } finally {
      await b.close();
      await server.stop();
    }
  });
});
