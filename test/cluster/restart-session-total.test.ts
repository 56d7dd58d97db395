// After Redis restarts empty the cluster counters start again from what the nodes re-register
// (scale-out.md). `total_sessions` counts the re-registered sessions, so it does not go backwards when
// they end: it was reported at least the live sessions while they lived, and then fell to 0.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { eventually } from "../helpers/polling.js";
import { RedisServer, redisServerSkip, uniquePrefix } from "../helpers/redis.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

interface Stats {
  active_sessions: number;
  total_sessions: number;
}

/** The stats, or undefined while the node cannot read them (Redis down). */
async function stats(srv: TestServer): Promise<Stats | undefined> {
  const res = await fetch(`${srv.apiUrl}/volly/sessions/stats`, { signal: AbortSignal.timeout(10_000) });
  return res.ok ? ((await res.json()) as Stats) : undefined;
}

/** [active_sessions, total_sessions] */
function counts(s: Stats | undefined): [number | undefined, number | undefined] {
  return [s?.active_sessions, s?.total_sessions];
}

describe("total_sessions across an empty Redis restart", { skip: redisServerSkip() }, () => {
  test("counts the sessions the node re-registers, and does not drop when they end", async () => {
    const redis = await RedisServer.start();
    let srv: TestServer | undefined;
    const clients: TestClient[] = [];
    try {
      srv = await startTestServer({ REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix("restart-total") });
      const node = srv;
      const connect = async (identity: string) => {
        const c = await TestClient.connect({ kind: "ws-protobuf", port: node.port, identity, room: "restart-total", pq: "ML-KEM-768" });
        clients.push(c);
        return c;
      };
      const [alice, bob] = [await connect("alice"), await connect("bob")];
      assert.deepEqual(counts(await stats(node)), [2, 2]);

      await redis.stop();
      await redis.start();
      // The node notices on its next heartbeat and re-registers both sessions in the empty Redis.
      let back: Stats | undefined;
      await eventually(async () => {
        back = await stats(node).catch(() => undefined);
        return back?.active_sessions === 2;
      }, "both sessions re-registered", 30_000);
      assert.equal(back?.total_sessions, 2, "the counter starts again from the re-registered sessions");

      await alice.leave();
      await bob.leave();
      await eventually(async () => (await stats(node))?.active_sessions === 0, "both sessions ended", 10_000);
      assert.equal((await stats(node))?.total_sessions, 2, "ending the re-registered sessions does not lower the total");

      await connect("carol");
      assert.deepEqual(counts(await stats(node)), [1, 3], "a new session counts on top");
    } finally {
      for (const c of clients) c.kill();
      await srv?.close();
      await redis.stop();
    }
  });
});
