import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { ParticipantInfoSchema, ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { ParticipantRoster } from "../../src/client/participant-roster.js";

const bob = (state: ParticipantState, version: number, sid = "PA_bob1") =>
  create(ParticipantInfoSchema, { sid, identity: "bob", state, version, metadata: `v${version}` });

// A server that announces a change after the departure it raced (an older server, or a raw relay of the
// protocol) must not leave a participant listed for good: a sid that left never comes back.
test("an update that arrives after its participant's departure does not bring it back", () => {
  const roster = new ParticipantRoster("alice");
  roster.reset(undefined, [bob(ParticipantState.JOINED, 1)]);
  assert.deepEqual(roster.apply([bob(ParticipantState.DISCONNECTED, 3)]).map((c) => c.kind), ["left"]);
  assert.deepEqual(roster.apply([bob(ParticipantState.JOINED, 2)]), []);
  assert.equal(roster.get("bob"), undefined);
  // The same identity joining again has a new sid: a new participant.
  assert.deepEqual(roster.apply([bob(ParticipantState.JOINED, 1, "PA_bob2")]).map((c) => c.kind), ["joined"]);
  assert.equal(roster.get("bob")?.sid, "PA_bob2");
});

// A reloaded page, or a rejoin after a lost `join`: the server replaces the old participant by the new one
// without a DISCONNECTED for the old sid. Apps keyed by sid must hear that the old one left.
test("a new sid for a listed identity is the old participant leaving and a new one joining", () => {
  const roster = new ParticipantRoster("alice");
  roster.reset(undefined, [bob(ParticipantState.JOINED, 3)]);
  const changes = roster.apply([bob(ParticipantState.JOINED, 1, "PA_bob2")]);
  assert.deepEqual(changes.map((c) => [c.kind, c.participant.sid, c.participant.state]), [["left", "PA_bob1", "disconnected"], ["joined", "PA_bob2", "joined"]]);
  assert.deepEqual(roster.list().map((p) => p.sid), ["PA_bob2"]);
  // A late update about the replaced sid changes nothing.
  assert.deepEqual(roster.apply([bob(ParticipantState.JOINED, 4)]), []);
  assert.deepEqual(roster.apply([bob(ParticipantState.DISCONNECTED, 5)]), []);
  assert.equal(roster.get("bob")?.sid, "PA_bob2");
});

test("a departure heard before the participant itself keeps it from being listed", () => {
  const roster = new ParticipantRoster("alice");
  roster.reset(undefined, []);
  assert.deepEqual(roster.apply([bob(ParticipantState.DISCONNECTED, 2)]), []);
  assert.deepEqual(roster.apply([bob(ParticipantState.JOINED, 1)]), []);
  assert.deepEqual(roster.list(), []);
});
