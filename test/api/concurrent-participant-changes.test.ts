import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RoomServiceClient } from "livekit-server-sdk";
import { deletePrefix, REDIS_URL, redisSkip, uniquePrefix } from "../helpers/redis.js";
import { TestClient } from "../helpers/signal-client.js";
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
