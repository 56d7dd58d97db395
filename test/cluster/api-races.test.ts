import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RoomServiceClient } from "livekit-server-sdk";
import { DisconnectReason, ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { redisSkip } from "../helpers/redis.js";
import type { TestClient } from "../helpers/signal-client.js";
import { DEV_KEY, DEV_SECRET } from "../helpers/tokens.js";
import { join, resume, twoNodes } from "./cluster-fixture.js";

const skip = await redisSkip();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// RoomService calls racing what participants do on another node. Each race is run many times with a random
// offset, since which side wins decides the path; every outcome must leave the room and the connections
// agreeing with the store.
describe("RoomService racing participants across two nodes", { skip }, () => {
  const nodes = twoNodes();

  test("RemoveParticipant racing a resume on the other node: a resumed connection is told it was removed", async () => {
    const api = new RoomServiceClient(nodes.a.apiUrl, DEV_KEY, DEV_SECRET);
    let resumed = 0;
    for (let i = 0; i < 80; i++) {
      const room = `remove-race-${i}`;
      const alice = await join(nodes.a, "ws-protobuf", "alice", room);
      const sid = alice.join?.participant?.sid ?? "";
      alice.channel.kill();
      await alice.channel.closed;
      const [back] = await Promise.allSettled([
        resume(nodes.b, "ws-protobuf", "alice", room, sid, 0n),
        // Spread over about a resume's own duration (a PQ handshake and the claim), so that either may win.
        sleep(Math.random() * 40).then(() => api.removeParticipant(room, "alice")),
      ]);
      if (back.status === "fulfilled") {
        resumed++;
        // Resumed before the removal: the removal must reach it on its new node, not the old one.
        const client: TestClient = back.value;
        const leave = await client.waitFor("leave", () => true, 5000);
        assert.equal(leave.reason, DisconnectReason.PARTICIPANT_REMOVED, `iteration ${i}`);
        await client.channel.closed;
      }
      assert.deepEqual((await api.listParticipants(room)).map((p) => p.identity), [], `iteration ${i}: nobody left in the room`);
    }
    // Which side wins is up to timing; the test only means something if resumes did win some races.
    assert.ok(resumed > 0, "no resume won a race");
  });

  test("UpdateRoomMetadata from both nodes at once: everyone ends on the metadata the store holds", async () => {
    const apis = [new RoomServiceClient(nodes.a.apiUrl, DEV_KEY, DEV_SECRET), new RoomServiceClient(nodes.b.apiUrl, DEV_KEY, DEV_SECRET)];
    for (let i = 0; i < 15; i++) {
      const room = `metadata-race-${i}`;
      await apis[0]?.createRoom({ name: room, metadata: "init" });
      const p = await join(nodes.a, "ws-protobuf", "p", room);
      const q = await join(nodes.b, "ws-protobuf", "q", room);
      const seen: Record<string, string[]> = { p: [], q: [] };
      const values = Array.from({ length: 6 }, (_, k) => `m${k}`);
      const heardAll = [p, q].map((c, n) => c.waitFor("roomUpdate", (u) => (seen[n === 0 ? "p" : "q"]?.push(u.room?.metadata ?? ""), seen[n === 0 ? "p" : "q"]?.length === 6), 10_000));
      await Promise.all(values.map((v, k) => (apis[k % 2] as RoomServiceClient).updateRoomMetadata(room, v)));
      await Promise.all(heardAll);
      const stored = (await apis[0]?.listRooms([room]))?.[0]?.metadata;
      assert.equal(seen.p?.at(-1), stored, `iteration ${i}: p heard ${seen.p?.join(",")}, the store has ${stored}`);
      assert.equal(seen.q?.at(-1), stored, `iteration ${i}: q heard ${seen.q?.join(",")}, the store has ${stored}`);
      await p.leave();
      await q.leave();
    }
  });

  test("UpdateParticipant racing RemoveParticipant on the other node: the departure is the last the room hears", async () => {
    const apis = [new RoomServiceClient(nodes.a.apiUrl, DEV_KEY, DEV_SECRET), new RoomServiceClient(nodes.b.apiUrl, DEV_KEY, DEV_SECRET)];
    for (let i = 0; i < 30; i++) {
      const room = `update-remove-${i}`;
      const observer = await join(nodes.a, "ws-protobuf", "obs", room);
      const bob = await join(nodes.b, "ws-protobuf", "bob", room);
      const sid = bob.join?.participant?.sid ?? "";
      await observer.waitFor("participantUpdate", (u) => u.participants.some((p) => p.sid === sid));
      await Promise.allSettled([
        (apis[1] as RoomServiceClient).updateParticipant(room, "bob", { metadata: `m${i}` }),
        sleep(Math.random() * 5).then(() => (apis[0] as RoomServiceClient).removeParticipant(room, "bob")),
      ]);
      // Everything the observer hears about bob's sid, in order, until 300 ms after its departure.
      const heard: Array<{ state: ParticipantState; version: number }> = [];
      let quietFrom = Infinity;
      for (let deadline = Date.now() + 5000; Date.now() < Math.min(deadline, quietFrom + 300); ) {
        const r = await observer.next(Math.max(1, Math.min(deadline, quietFrom + 300) - Date.now())).catch(() => undefined);
        if (r?.message.case !== "participantUpdate") continue;
        for (const p of r.message.value.participants) {
          if (p.sid !== sid) continue;
          heard.push({ state: p.state, version: p.version });
          if (p.state === ParticipantState.DISCONNECTED) quietFrom = Date.now();
        }
      }
      const told = heard.map((h) => `${ParticipantState[h.state]}@${h.version}`).join(", ");
      assert.equal(heard.at(-1)?.state, ParticipantState.DISCONNECTED, `iteration ${i}: the observer heard ${told}`);
      await observer.leave();
      await bob.channel.closed;
    }
  });
});
