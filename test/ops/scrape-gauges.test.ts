// The gauges /metrics sets at scrape time: volly_memory_per_session_bytes divides by the open connections
// (docs/operations.md §5: "resident memory / open connections"), and volly_rooms_active never reads 0 because
// the store did not answer (it keeps the last count read).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { WebSocket } from "ws";
import { Metrics } from "../../src/metrics/metrics.js";
import { TestClient } from "../helpers/signal-client.js";
import { RedisServer, redisServerSkip } from "../helpers/redis.js";
import { eventually } from "../helpers/polling.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { makeToken } from "../helpers/tokens.js";
import { parsePrometheusText, sumOf, type MetricFamily } from "./helpers/prom-text.js";

async function scrape(srv: TestServer): Promise<Map<string, MetricFamily>> {
  const res = await fetch(`${srv.apiUrl}/metrics`);
  assert.equal(res.status, 200);
  return parsePrometheusText(await res.text());
}

describe("volly_memory_per_session_bytes", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.close());

  test("connections still in the PQ handshake count: resident memory / open connections, not / joined participants", async () => {
    const sockets: WebSocket[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const token = await makeToken({ identity: `mid-handshake-${i}`, room: "memory-room" });
        const ws = new WebSocket(`${srv.wsUrl}/rtc?access_token=${token}`);
        sockets.push(ws);
        await new Promise<void>((resolve, reject) => {
          ws.once("open", () => resolve());
          ws.once("error", reject);
        });
      }
      let families = await scrape(srv);
      await eventually(async () => {
        families = await scrape(srv);
        return sumOf(families, "volly_connections_active") === 4;
      }, "4 open connections");
      assert.equal(sumOf(families, "volly_participants_active"), 0, "nobody joined: all four are mid-handshake");
      // The server runs in this process: its resident memory is on the same scrape.
      const rss = sumOf(families, "volly_process_resident_memory_bytes");
      const perSession = sumOf(families, "volly_memory_per_session_bytes");
      assert.ok(rss > 0);
      assert.ok(perSession * 4 > rss / 2 && perSession * 4 < rss * 2, `memory per session ${perSession} × 4 against resident ${rss}`);
    } finally {
      for (const ws of sockets) ws.terminate();
    }
  });
});

describe("volly_rooms_active keeps its last value when the store does not answer", () => {
  test("a failed read leaves the gauge; a slow one is not waited for, and sets it when it ends", async () => {
    const metrics = new Metrics();
    const rooms = async () => (await metrics.rooms.get()).values[0]?.value;
    await metrics.refresh(() => Promise.resolve(3));
    assert.equal(await rooms(), 3);
    await metrics.refresh(() => Promise.reject(new Error("store down")));
    assert.equal(await rooms(), 3, "a failed read is not 0 rooms");
    await metrics.refresh(() => {
      throw new Error("store down, at once");
    });
    assert.equal(await rooms(), 3);
    let finish: (n: number) => void = () => {};
    let reads = 0;
    const slow = () => {
      reads++;
      return new Promise<number>((resolve) => (finish = resolve));
    };
    await metrics.refresh(slow);
    await metrics.refresh(slow);
    assert.equal(await rooms(), 3, "the scrapes went on with the last value");
    assert.equal(reads, 1, "a scrape during a slow read waits on that read, it does not start another");
    finish(5);
    await eventually(async () => (await rooms()) === 5, "the slow read sets the gauge when it ends");
    await metrics.refresh(() => Promise.resolve(6));
    assert.equal(await rooms(), 6, "reads start again once the slow one ended");
  });

  const skip = redisServerSkip();
  describe("on a Redis node", { skip }, () => {
    let redis: RedisServer;
    let srv: TestServer;
    before(async () => {
      redis = await RedisServer.start();
      srv = await startTestServer({ REDIS_URL: redis.url, VOLLY_PQ_ENABLED: "false" });
    });
    after(async () => {
      redis.unpause();
      await srv.close();
      await redis.stop();
    });

    test("Redis stalled (SIGSTOP): the room is still counted, and the scrape answers", async () => {
      const alice = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "alice", room: "stall-room", pq: false });
      const bob = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "bob", room: "stall-room", pq: false });
      const before = await scrape(srv);
      assert.equal(sumOf(before, "volly_rooms_active"), 1);
      redis.pause();
      try {
        const during = await scrape(srv);
        assert.equal(sumOf(during, "volly_participants_active"), 2);
        assert.equal(sumOf(during, "volly_rooms_active"), 1, "a store that does not answer is not a deployment without rooms");
      } finally {
        redis.unpause();
      }
      await eventually(async () => sumOf(await scrape(srv), "volly_rooms_active") === 1, "rooms still 1 after the stall");
      await alice.leave();
      await bob.leave();
    });

    test("a scrape counts the rooms without reading them (anyone who reaches the signal port may scrape)", async () => {
      const calls = (m: Map<string, MetricFamily>, command: string): number =>
        m.get("volly_redis_command_duration_seconds")?.samples.find((x) => x.name.endsWith("_count") && x.labels.command === command)?.value ?? 0;
      const clients = await Promise.all(["r1", "r2", "r3"].map((room, i) => TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: `counted-${i}`, room, pq: false })));
      const first = await scrape(srv);
      for (let i = 0; i < 3; i++) await scrape(srv);
      const last = await scrape(srv);
      assert.ok(sumOf(last, "volly_rooms_active") >= 3, "the rooms are counted");
      assert.equal(calls(last, "room_count") - calls(first, "room_count"), 4, "one count per scrape");
      assert.equal(calls(last, "room_read"), calls(first, "room_read"), "no room is read to count them");
      for (const c of clients) await c.leave();
    });
  });
});
