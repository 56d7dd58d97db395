// The same identity joining on two nodes at once: one connection replaces the other. Its view of the room
// must never list another sid of its own identity. Across nodes the replaced participant's own JOINED can be
// queued after the newcomer is in the room, while its departure is announced to everyone but the newcomer:
// without a guard the newcomer keeps a copy of itself for good (probe D, D1).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import type { SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { redisSkip } from "../helpers/redis.js";
import type { TestClient } from "../helpers/signal-client.js";
import { join, text, twoNodes } from "./cluster-fixture.js";

const ITERATIONS = 30;

/** A client's roster (sid → identity, its own sid left out) from its join and the updates it got, in order. */
function rosterOf(c: TestClient, updates: SignalResponse[]): Map<string, string> {
  const self = c.join?.participant?.sid ?? "";
  const roster = new Map<string, string>();
  for (const p of c.join?.otherParticipants ?? []) roster.set(p.sid, p.identity);
  for (const r of updates) {
    if (r.message.case !== "participantUpdate") continue;
    for (const p of r.message.value.participants) {
      if (p.sid === self) continue;
      if (p.state === ParticipantState.DISCONNECTED) roster.delete(p.sid);
      else roster.set(p.sid, p.identity);
    }
  }
  return roster;
}

/** Everything `c` was sent up to a data message from `barrier` (sent after everything else). */
async function streamUntilBarrier(c: TestClient, from: TestClient, topic: string): Promise<SignalResponse[]> {
  from.send({ case: "data", value: { target: c.join?.participant?.identity ?? "", topic, payload: new TextEncoder().encode(topic), id: topic } });
  const seen: SignalResponse[] = [];
  for (;;) {
    const r = await c.next(5000);
    if (r.message.case === "data" && text(r.message.value.payload) === topic) return seen;
    seen.push(r);
  }
}

/**
 * The connection of `joined` that stays: the others are replaced (told DUPLICATE_IDENTITY and closed). The
 * first to close marks the race as decided; undefined when none or several stay.
 */
async function survivor(joined: TestClient[]): Promise<TestClient | undefined> {
  const closed = new Set<TestClient>();
  const closings = joined.map((c) => c.channel.closed.then(() => void closed.add(c)));
  if (joined.length > 1) await Promise.race([Promise.race(closings), new Promise((r) => setTimeout(r, 3000))]);
  // Past the loser's close, whatever its node still announces about it is queued within milliseconds.
  await new Promise((r) => setTimeout(r, 200));
  const open = joined.filter((c) => !closed.has(c));
  return open.length === 1 ? open[0] : undefined;
}

/** One race in a room of its own: an observer on node A, then "dup" on A (WebSocket) and B (gRPC) at once. */
async function race(nodes: ReturnType<typeof twoNodes>, room: string): Promise<{ winnerSid: string; winnerView: Map<string, string>; observerView: Map<string, string> }> {
  const observer = await join(nodes.a, "ws-protobuf", "observer", room);
  const settled = await Promise.allSettled([join(nodes.a, "ws-protobuf", "dup", room), join(nodes.b, "grpc-js", "dup", room)]);
  const joined = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const winner = await survivor(joined);
  assert.ok(winner, `${room}: one connection of "dup" stays (${joined.length} joined)`);
  const winnerView = rosterOf(winner, [...winner.stash.splice(0), ...(await streamUntilBarrier(winner, observer, `barrier-${room}`))]);
  const observerView = rosterOf(observer, [...observer.stash.splice(0), ...(await streamUntilBarrier(observer, winner, `barrier-${room}`))]);
  for (const c of [observer, winner]) c.kill();
  return { winnerSid: winner.join?.participant?.sid ?? "", winnerView, observerView };
}

describe("the same identity joining on two nodes at once", { skip: await redisSkip() }, () => {
  const nodes = twoNodes();

  test(`${ITERATIONS} races: the survivor never lists another sid of its own identity`, async () => {
    const problems: string[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const { winnerSid, winnerView } = await race(nodes, `dup-views-${i}`);
      const foreignSelves = [...winnerView].filter(([, identity]) => identity === "dup");
      if (foreignSelves.length > 0) problems.push(`race ${i}: winner ${winnerSid} lists ${JSON.stringify(foreignSelves)}`);
      assert.deepEqual([...winnerView.values()].filter((identity) => identity !== "dup"), ["observer"], `race ${i}: the winner lists the observer`);
    }
    assert.deepEqual(problems, []);
  });

  // The replaced participant's JOINED, announced by its own node, must not come after its departure, which the
  // winner's node announces (protocol.md: a departure is the last update about its sid). That ordering is
  // Rooms.join's (src/room/membership.ts), which announces the JOINED under the identity's change lock.
  test(`${ITERATIONS} races: the observer lists the survivor alone`, async () => {
    const problems: string[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const { winnerSid, observerView } = await race(nodes, `dup-observer-${i}`);
      if (observerView.size !== 1 || observerView.get(winnerSid) !== "dup") problems.push(`race ${i}: winner ${winnerSid}, observer lists ${JSON.stringify([...observerView])}`);
    }
    assert.deepEqual(problems, []);
  });
});
