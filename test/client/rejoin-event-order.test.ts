import assert from "node:assert/strict";
import { test } from "node:test";
import { startTestServer } from "../helpers/test-server.js";
import { nextEvent, nodeClient } from "../helpers/werift-sdk.js";

// client-sdk.md documents the order of a rejoin's events; apps reset their state by it, so it is pinned here.

test("a rejoin emits connected, then reconnected {resumed: false}, the new state complete by both", async () => {
  const brief = await startTestServer({ VOLLY_RESUME_WINDOW: "1" });
  // The SDK retries only after 2.5 s, when the server has already removed the participant.
  const alice = await nodeClient(brief.wsUrl, "ro-alice", "rejoin-order", { reconnect: { initialDelayMs: 2500, jitter: 0 } });
  const bob = await nodeClient(brief.wsUrl, "ro-bob", "rejoin-order");
  try {
    await alice.client.connect();
    await bob.client.connect();
    const events: string[] = [];
    alice.client.on("participantLeft", (p) => events.push(`left ${p.identity}`));
    alice.client.on("participantJoined", (p) => events.push(`joined ${p.identity}`));
    alice.client.on("connected", (info) => events.push(`connected ${info.participant.sid === alice.client.sid}`));
    alice.client.on("reconnected", ({ resumed }) => events.push(`reconnected ${resumed} ${alice.client.participants.length}`));
    const reconnected = nextEvent(alice.client, "reconnected", 15_000);
    alice.tap.cut();
    await reconnected;
    // bob stayed (same sid), so the rebuilt roster reports no change for him.
    assert.deepEqual(events, ["connected true", "reconnected false 1"]);
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
    await brief.close();
  }
});

test("a peer that comes back under the same identity as a new participant (a reloaded page) is reported left, then joined", async () => {
  const srv = await startTestServer({ VOLLY_RESUME_WINDOW: "20" });
  const bob = await nodeClient(srv.wsUrl, "rl-bob", "reload");
  const first = await nodeClient(srv.wsUrl, "rl-alice", "reload");
  try {
    await bob.client.connect();
    const joinedOnce = nextEvent(bob.client, "participantJoined", 10_000);
    await first.client.connect();
    const [oldJoined] = await joinedOnce;
    const oldSid = oldJoined.sid;
    const events: string[] = [];
    bob.client.on("participantLeft", (p) => events.push(`left ${p.sid === oldSid ? "old" : "new"}`));
    bob.client.on("participantJoined", (p) => events.push(`joined ${p.sid === oldSid ? "old" : "new"}`));
    // The page goes away without a leave (its participant is kept for a resume), and loads again.
    first.tap.cut();
    const second = await nodeClient(srv.wsUrl, "rl-alice", "reload");
    const rejoined = nextEvent(bob.client, "participantJoined", 10_000);
    await second.client.connect();
    await rejoined;
    assert.deepEqual(events, ["left old", "joined new"]);
    assert.deepEqual(bob.client.participants.map((p) => p.sid), [second.client.sid]);
    await second.client.disconnect();
  } finally {
    await first.client.disconnect();
    await bob.client.disconnect();
    await srv.close();
  }
});
