// An away participant whose mailbox takes more than VOLLY_MAX_UNACKED_BYTES could only resume with a gap:
// it leaves at once (RESUME_FAILED), not at the end of its resume window. Nothing awaits that clean-up,
// so a store failing at that moment must be logged, not become an unhandled rejection (which ends a Node
// process: every connection of the node with it). On both stores.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DisconnectReason, ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { errors } from "../../src/errors.js";
import { eventually } from "../helpers/polling.js";
import { TestClient } from "../helpers/signal-client.js";
import { STORES, storeSkip, useServerOn } from "../helpers/server-on-store.js";

const payload = new Uint8Array(16_000).fill(120);

for (const backend of STORES) {
  describe(`an away participant's overflowing mailbox (${backend} store)`, { skip: await storeSkip(backend) }, () => {
    const srv = useServerOn(backend, "mailbox-overflow", { VOLLY_PQ_ENABLED: "false", VOLLY_MAX_UNACKED_BYTES: "300000", VOLLY_RESUME_WINDOW: "60" });

    /** `away` joins `room` and drops; `sender` stays. */
    async function awayAndSender(room: string) {
      const away = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: `mo-away-${backend}`, room, pq: false });
      const sender = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: `mo-sender-${backend}`, room, pq: false });
      const sid = away.join?.participant?.sid ?? "";
      away.channel.kill();
      await away.channel.closed;
      await eventually(async () => ((await srv.server.services.store.getParticipant(room, `mo-away-${backend}`))?.awayUntil ?? 0n) > 0n, "the participant to be away");
      return { away, sender, sid };
    }

    test("ends it at once with RESUME_FAILED, long before its window", async () => {
      const { sender, sid } = await awayAndSender(`mo-${backend}`);
      const gone = sender.waitFor("participantUpdate", (u) => u.participants.some((p) => p.sid === sid && p.state === ParticipantState.DISCONNECTED), 10_000);
      for (let i = 0; i < 24; i++) sender.send({ case: "data", value: { target: `mo-away-${backend}`, topic: "fill", payload, id: `f${i}` } });
      const update = await gone;
      assert.equal(update.participants.find((p) => p.sid === sid)?.disconnectReason, DisconnectReason.RESUME_FAILED);
      await sender.leave();
    });

    test("a resume that lands between the overflow's read and its removal keeps the participant", async () => {
      const { sender, sid } = await awayAndSender(`mo-resumed-${backend}`);
      const { store, delivery } = srv.server.services;
      const lookup = store.getParticipantBySid.bind(store);
      let readDone!: () => void;
      const read = new Promise<void>((resolve) => (readDone = resolve));
      let resumeDone!: () => void;
      const resumed = new Promise<void>((resolve) => (resumeDone = resolve));
      store.getParticipantBySid = async (asked) => {
        const p = await lookup(asked);
        if (asked === sid) {
          readDone();
          await resumed;
        }
        return p;
      };
      // What Delivery.route calls when an enqueue reports the overflow; its read answers "away".
      delivery.onOverflow(sid);
      await read;
      store.getParticipantBySid = lookup;
      const back = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: `mo-away-${backend}`, room: `mo-resumed-${backend}`, pq: false, query: { reconnect: "1", sid } });
      assert.ok(back.reconnect, "the resume succeeded");
      resumeDone();
      // The overflow's clean-up has run once the participant's record can be read after it.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.ok(await store.getParticipantBySid(sid), "the resumed participant is still in the store");
      sender.send({ case: "data", value: { target: `mo-away-${backend}`, topic: "after", payload: new Uint8Array([1]), id: "after" } });
      assert.equal((await back.waitFor("data", (d) => d.topic === "after", 5_000)).id, "after", "and still gets what is sent to it");
      await Promise.all([back.leave(), sender.leave()]);
    });

    test("with the store failing at that moment, the failure is logged and the node keeps serving", async () => {
      const { sender, sid } = await awayAndSender(`mo-failing-${backend}`);
      const { store } = srv.server.services;
      const lookup = store.getParticipantBySid.bind(store);
      const unhandled: unknown[] = [];
      const onUnhandled = (e: unknown) => unhandled.push(e);
      process.on("unhandledRejection", onUnhandled);
      let failed = 0;
      store.getParticipantBySid = async (asked) => {
        if (asked !== sid) return lookup(asked);
        failed++;
        throw errors.storeUnavailable();
      };
      try {
        for (let i = 0; i < 24; i++) sender.send({ case: "data", value: { target: `mo-away-${backend}`, topic: "fill", payload, id: `f${i}` } });
        // The sender's own requests are answered after the overflow: the node is still serving it.
        const rid = sender.send({ case: "ping", value: { timestamp: 1n } });
        await sender.waitFor("pong", (_v, r) => r.requestId === rid, 10_000);
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.ok(failed > 0, "the overflow's clean-up asked the store");
        assert.deepEqual(unhandled, [], "no unhandled rejection");
      } finally {
        process.off("unhandledRejection", onUnhandled);
        store.getParticipantBySid = lookup;
      }
      await sender.leave();
    });
  });
}
