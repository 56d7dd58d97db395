// Redis coming back with older data (a restart from an RDB snapshot; likewise AOF `everysec` losing its last
// second, or a lagging replica promoted): mailbox counters go back, and new messages got ids their recipients
// already had, which the delivery cursor dropped as duplicates without a word (probe F1). Also a mailbox
// counter evicted alone (probe F2). Nodes must notice, re-register, and every message must arrive.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join as joinPath } from "node:path";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { eventually } from "../helpers/polling.js";
import { redisServerSkip, uniquePrefix } from "../helpers/redis.js";
import type { TestClient } from "../helpers/signal-client.js";
import { Cluster, join } from "./cluster-fixture.js";
import type { NodeProcess } from "../helpers/node-process.js";

const skip = redisServerSkip();
const te = new TextEncoder();

/** A redis-server with RDB persistence in a temp dir, on the first free port of 6431–6440. */
class SnapshotRedis {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(joinPath(tmpdir(), "volly-rollback-"));
  port = 0;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(extra: string[] = []): Promise<void> {
    if (this.port === 0) this.port = await freePortIn(6431, 6440);
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no", ...extra];
    const child = spawn("redis-server", args, { stdio: "ignore" });
    this.child = child;
    await eventually(async () => (await this.command((r) => r.ping()).catch(() => "")) === "PONG", `redis-server on ${this.port}`, 10_000);
  }

  /** Runs one command on a connection of its own. */
  async command<T>(fn: (r: Redis) => Promise<T>): Promise<T> {
    const r = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    r.on("error", () => {});
    try {
      await r.connect();
      return await fn(r);
    } finally {
      r.disconnect();
    }
  }

  /** SHUTDOWN NOSAVE: gone without writing what changed since the last SAVE. */
  async crash(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    await this.command((r) => r.shutdown("NOSAVE")).catch(() => {});
    await exited;
    this.child = undefined;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function freePortIn(first: number, last: number): Promise<number> {
  for (let port = first; port <= last; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once("error", () => resolve(false));
      s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${first}-${last}`);
}

/** Pings every 2 s, like real clients, so liveness never ends a connection while Redis is away. */
function keepAlive(clients: TestClient[]): () => void {
  const timer = setInterval(() => {
    for (const c of clients) c.send({ case: "ping", value: { timestamp: BigInt(Date.now()) } });
  }, 2000);
  return () => clearInterval(timer);
}

/**
 * Sends `ids` from `from` to `to` (identity `target`): each must arrive. A send refused as `unavailable`
 * (the node's connection to a restarted Redis not back yet) is retried, as clients do; silence is a failure.
 */
async function relay(from: TestClient, to: TestClient, target: string, ids: string[]): Promise<void> {
  for (const id of ids) {
    const deadline = Date.now() + 30_000;
    let outcome = "";
    do {
      const rid = from.send({ case: "data", value: { target, payload: te.encode(id), id } });
      // One waiter per client at a time: a second one racing it could take the other's message.
      outcome = await to.waitFor("data", (v) => v.id === id, 5000).then(
        () => "delivered",
        () => from.waitFor("error", (_v, r) => r.requestId === rid, 1000).then(
          (e) => `error ${e.code}/${e.reason}`,
          () => `lost without an error (${target}'s last message id ${to.lastMessageId})`,
        ),
      );
      if (outcome === "error unavailable/store_unavailable") {
        // The error may come first and the delivery never: wait a moment before the retry.
        await new Promise((r) => setTimeout(r, 100));
      }
    } while (outcome === "error unavailable/store_unavailable" && Date.now() < deadline);
    assert.equal(outcome, "delivered", `${id} -> ${target}${logs.map((n) => `\n--- ${n.nodeId}:\n${n.log}`).join("")}`);
  }
}

/** The nodes whose logs a failure shows. */
const logs: NodeProcess[] = [];

/** How often `line` is in the node's recent output. */
function count(node: NodeProcess, line: string): number {
  return node.log.split(line).length - 1;
}

describe("Redis comes back with older data", { skip }, () => {
  const redis = new SnapshotRedis();
  let cluster: Cluster | undefined;
  let a: NodeProcess;
  let b: NodeProcess;
  before(async () => {
    await redis.start();
    cluster = new Cluster(redis.url, uniquePrefix("rollback"));
    [a, b] = await Promise.all([cluster.add("a"), cluster.add("b")]);
    logs.push(a, b);
  });
  after(async () => {
    await cluster?.destroy().catch(() => {});
    await redis.stop();
  });

  test("restart from an older snapshot: the nodes notice, raise the counters, and no message is lost", async (t) => {
    const alice = await join(a, "ws-protobuf", "alice", "stale");
    const carol = await join(a, "ws-protobuf", "carol", "stale");
    const bob = await join(b, "ws-protobuf", "bob", "stale");
    const stopPings = keepAlive([alice, bob]);
    try {
      await alice.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "bob", 10_000);
      await relay(bob, alice, "alice", ["m0"]);
      assert.equal(await redis.command((r) => r.save()), "OK");
      await relay(bob, alice, "alice", ["m1", "m2", "m3", "m4", "m5"]);
      await relay(alice, bob, "bob", ["n1", "n2", "n3"]);
      alice.ack();
      await carol.leave();
      const had = [alice.lastMessageId, bob.lastMessageId];

      await redis.crash();
      await redis.start();
      t.diagnostic(`Redis back from the snapshot; alice had message id ${had[0]}, bob ${had[1]}`);
      // Sent at once: these may get ids from the rolled-back counters before a node notices (its next
      // heartbeat, within 2 s); they are then reported by the cursors and queued again.
      await relay(bob, alice, "alice", ["r1", "r2"]);
      await relay(alice, bob, "bob", ["s1", "s2"]);
      // Both nodes re-register (heartbeat or cursor report); polled, not slept.
      await eventually(async () => count(a, "re-registered with the store") >= 1 && count(b, "re-registered with the store") >= 1, "both nodes to re-register", 20_000)
        .catch((e: unknown) => {
          throw new Error(`${String(e)}\n--- a:\n${a.log}\n--- b:\n${b.log}`);
        });
      for (const n of [a, b]) {
        for (const line of n.log.split("\n").filter((l) => /back in time|went backwards|ids went back/.test(l))) t.diagnostic(`${n.nodeId}: ${line.slice(0, 300)}`);
      }
      await relay(bob, alice, "alice", ["r3", "r4", "r5", "r6"]);
      await relay(alice, bob, "bob", ["s3", "s4"]);
      assert.ok(alice.lastMessageId > (had[0] ?? 0n), "ids keep increasing for alice");
      assert.ok(bob.lastMessageId > (had[1] ?? 0n), "ids keep increasing for bob");
    } finally {
      stopPings();
      for (const c of [alice, bob, carol]) c.kill();
    }
  });

  test("a mailbox counter evicted alone: the recipient's node re-registers it, the messages arrive", async () => {
    const prefix = cluster?.prefix ?? "";
    const dan = await join(a, "ws-protobuf", "dan", "evicted");
    const eve = await join(b, "ws-protobuf", "eve", "evicted");
    try {
      await dan.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "eve", 10_000);
      await relay(dan, eve, "eve", ["e1", "e2", "e3", "e4"]);
      const sid = eve.join?.participant?.sid ?? "";
      assert.equal(await redis.command((r) => r.del(`${prefix}mailbox:${sid}:ids`)), 1);
      // The counter starts again at 1: ids 1..4 repeat. None may be lost.
      await relay(dan, eve, "eve", ["e5", "e6", "e7", "e8", "e9"]);
    } finally {
      dan.kill();
      eve.kill();
    }
  });
});

describe("Redis's maxmemory-policy is checked at start-up", { skip }, () => {
  for (const [policy, warned] of [["allkeys-lru", true], ["noeviction", false]] as const) {
    test(`${policy}: ${warned ? "a warning names it" : "no warning"}`, async () => {
      const redis = new SnapshotRedis();
      let cluster: Cluster | undefined;
      try {
        await redis.start(["--maxmemory", "64mb", "--maxmemory-policy", policy]);
        cluster = new Cluster(redis.url, uniquePrefix("eviction"));
        const node = await cluster.add("p");
        // The check runs before the node serves: its line is out once the node is healthy.
        const line = node.log.split("\n").find((l) => l.includes("maxmemory-policy"));
        if (warned) {
          assert.ok(line !== undefined, `no warning in:\n${node.log}`);
          const parsed = JSON.parse(line) as { level: number | string; maxmemoryPolicy: string };
          assert.ok(parsed.level === 40 || parsed.level === "warn", `level ${parsed.level}`);
          assert.equal(parsed.maxmemoryPolicy, policy);
        } else {
          assert.equal(line, undefined);
        }
      } finally {
        await cluster?.destroy().catch(() => {});
        await redis.stop();
      }
    });
  }
});
