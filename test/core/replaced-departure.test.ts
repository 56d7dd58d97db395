// A participant replaced by a new connection with its identity has left the room, and the room is told so
// (DISCONNECTED, DUPLICATE_IDENTITY) before it hears of the newcomer, as LiveKit does. The newcomer's JOINED
// cannot stand for it: a hidden newcomer is never announced, and the old sid would stay listed for good.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DisconnectReason, ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { CallAction } from "../../gen/volly/signaling/v1/signal_pb.js";
import { TestClient } from "../helpers/signal-client.js";
import { STORES, storeSkip, useServerOn } from "../helpers/server-on-store.js";

type Seen = [identity: string, sid: string, state: ParticipantState, reason: DisconnectReason];

/** The observer's participant updates (identity, sid, state, reason), in arrival order, up to the one `last` matches. */
async function updatesUntil(observer: TestClient, last: (identity: string, sid: string) => boolean): Promise<Seen[]> {
  const seen: Seen[] = [];
  for (;;) {
    const r = await observer.next();
    if (r.message.case !== "participantUpdate") continue;
    for (const p of r.message.value.participants) {
      seen.push([p.identity, p.sid, p.state, p.disconnectReason]);
      if (last(p.identity, p.sid)) return seen;
    }
  }
}

for (const backend of STORES) {
  describe(`a replaced participant's departure is announced (${backend} store)`, { skip: await storeSkip(backend) }, () => {
    const srv = useServerOn(backend, "replaced", { VOLLY_PQ_ENABLED: "false" });

    const connect = (identity: string, room: string, hidden = false) =>
      TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity, room, pq: false, token: { grant: { hidden } } });

    test("replaced by a hidden connection: the observer gets DISCONNECTED(old sid, DUPLICATE_IDENTITY)", async () => {
      const room = `rd-hidden-${backend}`;
      const observer = await connect("rd-observer", room);
      const x = await connect("rd-x", room);
      const oldSid = x.join?.participant?.sid ?? "";
      const hiddenX = await connect("rd-x", room, true);
      assert.equal((await x.waitFor("leave")).reason, DisconnectReason.DUPLICATE_IDENTITY);
      // A visible joiner after it: its JOINED comes after everything the hidden join announced.
      const marker = await connect("rd-marker", room);
      const markerSid = marker.join?.participant?.sid ?? "";
      assert.deepEqual(await updatesUntil(observer, (_identity, sid) => sid === markerSid), [
        ["rd-x", oldSid, ParticipantState.JOINED, DisconnectReason.UNKNOWN],
        ["rd-x", oldSid, ParticipantState.DISCONNECTED, DisconnectReason.DUPLICATE_IDENTITY],
        ["rd-marker", markerSid, ParticipantState.JOINED, DisconnectReason.UNKNOWN],
      ]);
      assert.deepEqual(marker.join?.otherParticipants.map((p) => p.identity), ["rd-observer"]);
      for (const c of [marker, hiddenX, observer]) await c.leave();
    });

    test("replaced by a visible connection: DISCONNECTED(old sid) first, then JOINED(new sid)", async () => {
      const room = `rd-visible-${backend}`;
      const observer = await connect("rd-observer", room);
      const x = await connect("rd-x", room);
      const oldSid = x.join?.participant?.sid ?? "";
      const newX = await connect("rd-x", room);
      const newSid = newX.join?.participant?.sid ?? "";
      assert.notEqual(newSid, oldSid);
      assert.equal((await x.waitFor("leave")).reason, DisconnectReason.DUPLICATE_IDENTITY);
      assert.deepEqual(await updatesUntil(observer, (_identity, sid) => sid === newSid), [
        ["rd-x", oldSid, ParticipantState.JOINED, DisconnectReason.UNKNOWN],
        ["rd-x", oldSid, ParticipantState.DISCONNECTED, DisconnectReason.DUPLICATE_IDENTITY],
        ["rd-x", newSid, ParticipantState.JOINED, DisconnectReason.UNKNOWN],
      ]);
      for (const c of [newX, observer]) await c.leave();
    });

    test("the replaced participant's calls end: the peer gets HANGUP and the departure, and the call is gone", async () => {
      const room = `rd-call-${backend}`;
      const alice = await connect("rd-alice", room);
      const bob = await connect("rd-bob", room);
      const bobSid = bob.join?.participant?.sid ?? "";
      alice.send({ case: "call", value: { action: CallAction.INVITE, target: "rd-bob", callId: "rd-c1", audio: true } });
      await bob.waitFor("call", (c) => c.action === CallAction.INVITE);
      bob.send({ case: "call", value: { action: CallAction.ACCEPT, target: "rd-alice", callId: "rd-c1" } });
      await alice.waitFor("call", (c) => c.action === CallAction.ACCEPT);
      const newBob = await connect("rd-bob", room);
      const hangup = await alice.waitFor("call", (c) => c.action === CallAction.HANGUP);
      assert.deepEqual([hangup.callId, hangup.from, hangup.fromSid, hangup.reason], ["rd-c1", "rd-bob", bobSid, "participant replaced"]);
      await alice.waitFor("participantUpdate", (u) => u.participants.some((p) => p.sid === bobSid && p.state === ParticipantState.DISCONNECTED));
      assert.equal(await srv.server.services.store.getCall(room, "rd-c1"), undefined);
      // The newcomer can call again with the same id: nothing of the old call is left in its way.
      newBob.send({ case: "call", value: { action: CallAction.INVITE, target: "rd-alice", callId: "rd-c1" } });
      assert.equal((await alice.waitFor("call", (c) => c.action === CallAction.INVITE)).from, "rd-bob");
      for (const c of [newBob, alice]) await c.leave();
    });
  });
}
