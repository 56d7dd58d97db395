import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RoomServiceClient } from "livekit-server-sdk";
import { deletePrefix, REDIS_URL, redisSkip, uniquePrefix } from "../helpers/redis.js";
import { TestClient } from "../helpers/signal-client.js";
import { Cluster } from "../cluster/cluster-fixture.js";
import { startTestServer } from "../helpers/test-server.js";
import { DEV_KEY, DEV_SECRET } from "../helpers/tokens.js";

// A change to a participant is read, merged and written back. On Redis, changes made at once (several
// UpdateParticipant calls, the participant's own update_metadata beside an admin's) each wrote over the
// others: attributes were lost, and the room heard two different updates with the same version.
const backends = [
  { name: "memory", skip: false as string | false, env: (): Record<string, string> => ({}) },
  { name: "Redis", skip: await redisSkip(), env: (prefix: string): Record<string, string> => ({ REDIS_URL, REDIS_PREFIX: prefix }) },
];

for (const backend of backends) {
  describe(`concurrent changes to one participant (${backend.name})`, { skip: backend.skip }, () => {
    test("none is lost, each gets its own version, and the room hears them in order", async () => {
      const prefix = uniquePrefix("concurrent-changes");
      const srv = await startTestServer(backend.env(prefix));
      const api = new RoomServiceClient(srv.apiUrl, DEV_KEY, DEV_SECRET);
      const room = "changes";
      const alice = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "alice", room, pq: "ML-KEM-768" });
      const bob = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "bob", room, pq: "ML-KEM-768" });
      try {
        const versions: number[] = [];
        const seen = bob.waitFor("participantUpdate", (u) => {
          for (const p of u.participants) if (p.identity === "alice") versions.push(p.version);
          return versions.length >= 11;
        }, 20_000);
        const changes = Array.from({ length: 10 }, (_, i) => api.updateParticipant(room, "alice", { attributes: { [`k${i}`]: "v" } }));
        alice.send({ case: "updateMetadata", value: { metadata: "set-by-alice" } });
        await Promise.all(changes);
        await seen;

        const stored = await api.getParticipant(room, "alice");
        assert.deepEqual(Object.keys(stored.attributes).sort(), Array.from({ length: 10 }, (_, i) => `k${i}`).sort());
        assert.equal(stored.metadata, "set-by-alice");
        assert.equal(new Set(versions).size, versions.length, `no version announced twice: ${versions.join(",")}`);
        assert.deepEqual(versions, [...versions].sort((a, b) => a - b), "announced in version order");
        assert.equal(stored.version, Math.max(...versions));
      } finally {
        alice.kill();
        bob.kill();
        await srv.close();
        if (backend.name === "Redis") await deletePrefix(REDIS_URL, prefix);
      }
    });
  });
}

// An admin's change is news to the participant too. That update was queued after the change's lock was
// released, so changes made at once through two nodes could reach the participant out of version order
// (2,3,...,8,9,7), leaving it with a stale description of itself. Two node processes on one Redis, calls split.
describe("concurrent admin changes through two nodes", { skip: await redisSkip() }, () => {
  test("the participant hears them in version order too, ending with the stored one", async () => {
    const cluster = new Cluster();
    const [a, b] = await Promise.all([cluster.add("self-a"), cluster.add("self-b")]);
    const apis = [new RoomServiceClient(a.apiUrl, DEV_KEY, DEV_SECRET), new RoomServiceClient(b.apiUrl, DEV_KEY, DEV_SECRET)];
    const room = "self-changes";
    const clients: TestClient[] = [];
    try {
      // A participant of its own per round: waitFor keeps what its predicate passed over for later waits.
      for (let round = 0; round < 20; round++) {
        const identity = `alice-${round}`;
        const alice = await TestClient.connect({ kind: "ws-protobuf", port: a.port, identity, room, pq: "ML-KEM-768" });
        clients.push(alice);
        const versions: number[] = [];
        const seen = alice.waitFor("participantUpdate", (u) => {
          for (const p of u.participants) if (p.identity === identity) versions.push(p.version);
          return versions.length >= 16;
        }, 20_000);
        await Promise.all(Array.from({ length: 16 }, (_, i) => apis[i % 2]?.updateParticipant(room, identity, { metadata: `r${round}-${i}` })));
        await seen;
        const stored = await apis[0]?.getParticipant(room, identity);
        assert.deepEqual(versions, [...versions].sort((x, y) => x - y), `round ${round}: heard in version order: ${versions.join(",")}`);
        assert.equal(versions.at(-1), stored?.version, "the last one heard is the stored one");
      }
    } finally {
      for (const c of clients) c.kill();
      await cluster.destroy();
    }
  });
});
