import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { NodeInfoSchema, StoredCallSchema, StoredSessionSchema, type StoredParticipant } from "../../gen/volly/signaling/v1/internal_pb.js";
import type { Store } from "../../src/store/store.js";
import { participant, room, session, until } from "./contract-fixtures.js";

/**
 * The second half of the `Store` contract (`storeContract` in store.contract.ts registers it inside its
 * suite): calls, PQ sessions, presence, nodes and locks. `current` is the test's fresh store, `join` a join
 * that must succeed.
 */
export function storeRecordsContract(current: () => Store, join: (p: StoredParticipant, max?: number) => Promise<unknown>): void {
  test("calls: put, get, list by party, delete; a call in a missing room is not kept", async () => {
    const s = current();
    await s.createRoom(room("cl"), 10, 1);
    await s.putCall(create(StoredCallSchema, { callId: "1", room: "cl", caller: "a", callee: "b", audio: true, invitedAt: 5n }));
    await s.putCall(create(StoredCallSchema, { callId: "2", room: "cl", caller: "c", callee: "a" }));
    await s.putCall(create(StoredCallSchema, { callId: "3", room: "cl", caller: "c", callee: "d" }));
    await s.putCall(create(StoredCallSchema, { callId: "9", room: "ghost", caller: "a", callee: "b" }));
    const one = await s.getCall("cl", "1");
    assert.deepEqual([one?.caller, one?.callee, one?.audio, one?.invitedAt], ["a", "b", true, 5n]);
    assert.deepEqual((await s.listCallsOf("cl", "a")).map((c) => c.callId).sort(), ["1", "2"]);
    assert.equal(await s.getCall("ghost", "9"), undefined);
    await s.deleteCall("cl", "1");
    assert.equal(await s.getCall("cl", "1"), undefined);
    assert.deepEqual(await s.listCallsOf("ghost", "a"), []);
  });

  test("addCallConnected adds each party once and reports the call established exactly once, under concurrency", async () => {
    const s = current();
    await s.createRoom(room("cc"), 10, 1);
    const invite = (callId: string) => s.putCall(create(StoredCallSchema, { callId, room: "cc", caller: "a", callee: "b", invitedAt: 5n }));
    await invite("0");
    assert.deepEqual(await s.addCallConnected("cc", "ghost", "a", 10), undefined, "no such call");
    const stranger = await s.addCallConnected("cc", "0", "eve", 10);
    assert.deepEqual([stranger?.established, stranger?.call.connected], [false, []], "not a party: unchanged");
    const first = await s.addCallConnected("cc", "0", "a", 10);
    assert.deepEqual([first?.established, first?.call.connected, first?.call.connectedAt], [false, ["a"], 0n]);
    assert.equal((await s.addCallConnected("cc", "0", "a", 11))?.established, false, "a second report of a changes nothing");
    const second = await s.addCallConnected("cc", "0", "b", 12);
    assert.deepEqual([second?.established, second?.call.connected, second?.call.connectedAt, second?.call.invitedAt], [true, ["a", "b"], 12n, 5n]);
    assert.equal((await s.addCallConnected("cc", "0", "b", 13))?.established, false, "established once");
    assert.deepEqual((await s.getCall("cc", "0"))?.connected, ["a", "b"]);
    // Both parties at the same moment, many calls at once: every call completes, each exactly once.
    const ids = Array.from({ length: 20 }, (_, i) => `c${i}`);
    await Promise.all(ids.map(invite));
    const outcomes = await Promise.all(ids.flatMap((id) => [s.addCallConnected("cc", id, "a", 20), s.addCallConnected("cc", id, "b", 20)]));
    assert.equal(outcomes.filter((o) => o?.established).length, ids.length);
    for (const id of ids) {
      const call = await s.getCall("cc", id);
      assert.deepEqual([[...(call?.connected ?? [])].sort(), call?.connectedAt], [["a", "b"], 20n], id);
    }
  });

  test("sessions: create, update, list (per node), end, restore, and the counters", async () => {
    const s = current();
    await s.heartbeatNode(create(NodeInfoSchema, { nodeId: "node-a", updatedAt: BigInt(Date.now()) }), 60_000);
    await s.heartbeatNode(create(NodeInfoSchema, { nodeId: "node-b", updatedAt: BigInt(Date.now()) }), 60_000);
    const base = await s.sessionStats();
    await s.createSession(session("s1"));
    await s.createSession(session("s2", "node-b"));
    await s.createSession(session("s3"));
    const got = await s.getSession("s1");
    assert.deepEqual([got?.identity, got?.algorithm, got?.nodeId, got?.state, got?.participantSid], ["alice", "ML-KEM-768", "node-a", "active", "PA_alice"]);
    assert.equal(await s.getSession("ghost"), undefined);
    await s.updateSession(create(StoredSessionSchema, { ...session("s1"), rekeys: 3 }));
    assert.equal((await s.getSession("s1"))?.rekeys, 3);
    await s.updateSession(session("ghost"));
    assert.equal(await s.getSession("ghost"), undefined);
    assert.deepEqual((await s.listSessions()).map((x) => x.sessionId).sort(), ["s1", "s2", "s3"]);
    assert.deepEqual((await s.listSessions("node-b")).map((x) => x.sessionId), ["s2"]);
    await s.endSession("s1", true);
    await s.endSession("s2", false);
    await s.endSession("s1", true);
    await s.countRekey();
    await s.restoreSession(session("s3"));
    await s.restoreSession(session("s4"));
    const stats = await s.sessionStats();
    // s3 was there: nothing to restore. s4 was not (the backend lost it: an empty restart): the counters
    // start again from what the nodes re-register, so it counts (a reaped one does not: see reapNode).
    assert.deepEqual(
      [stats.activeSessions, stats.totalSessions - base.totalSessions, stats.expiredSessions - base.expiredSessions, stats.rekeys - base.rekeys],
      [2, 4, 1, 1],
    );
    assert.deepEqual((await s.listSessions()).map((x) => x.sessionId).sort(), ["s3", "s4"]);
    await s.endSession("s3", false);
    await s.endSession("s4", false);
    assert.equal((await s.sessionStats()).totalSessions - base.totalSessions, 4, "ending sessions never lowers the total");
  });

  test("presence: online while any connection is, last seen after, expiry by ttl", async () => {
    const s = current();
    const now = Date.now();
    assert.deepEqual(await s.getPresence([], now), []);
    await s.setOnline("alice", "CO_1", 60_000, now, "node-p");
    await s.setOnline("alice", "CO_2", 60_000, now, "node-p");
    await s.setOffline("alice", "CO_1", now + 10);
    let [p] = await s.getPresence(["alice"], now + 20);
    assert.deepEqual([p?.online, p?.lastSeen], [true, now + 20]);
    await s.setOffline("alice", "CO_2", now + 30);
    [p] = await s.getPresence(["alice"], now + 40);
    assert.deepEqual([p?.online, p?.lastSeen], [false, now + 30]);
    await s.setOnline("bob", "CO_3", 100, now, "node-p");
    const [bob, nobody] = await s.getPresence(["bob", "nobody"], now + 1000);
    assert.deepEqual([bob?.identity, bob?.online, bob?.lastSeen], ["bob", false, now]);
    assert.deepEqual([nobody?.identity, nobody?.online, nobody?.lastSeen], ["nobody", false, 0]);
  });

  test("presence: connections come and go in any order, refreshed or expiring independently", async () => {
    const s = current();
    const now = Date.now();
    await s.setOnline("carol", "CO_a", 60_000, now, "node-p");
    await s.setOnline("carol", "CO_b", 60_000, now, "node-p");
    await s.setOnline("carol", "CO_c", 100, now, "node-p");
    await s.setOffline("carol", "CO_a", now + 10);
    // The second connection refreshes after the first left, then leaves too: only the third is left, and it lapses.
    await s.setOnline("carol", "CO_b", 60_000, now + 20, "node-p");
    let [p] = await s.getPresence(["carol"], now + 30);
    assert.deepEqual([p?.online, p?.lastSeen], [true, now + 30]);
    await s.setOffline("carol", "CO_b", now + 40);
    [p] = await s.getPresence(["carol"], now + 50);
    assert.equal(p?.online, true, "CO_c is still within its ttl");
    [p] = await s.getPresence(["carol"], now + 200);
    assert.deepEqual([p?.online, p?.lastSeen], [false, now + 40]);
    // A new connection after all that is online again, and offline once it leaves.
    await s.setOnline("carol", "CO_d", 60_000, now + 300, "node-p");
    [p] = await s.getPresence(["carol"], now + 310);
    assert.equal(p?.online, true);
    await s.setOffline("carol", "CO_d", now + 320);
    [p] = await s.getPresence(["carol"], now + 330);
    assert.deepEqual([p?.online, p?.lastSeen], [false, now + 320]);
  });

  test("presence: setParticipantOffline takes every connection of that participant offline, and only those", async () => {
    const s = current();
    const now = Date.now();
    // Two connections of PA_x (a resume), one of PA_xy (a sid PA_x is a prefix of), one of PA_z.
    await s.setOnline("dave", "PA_x.0001", 60_000, now, "node-p");
    await s.setOnline("dave", "PA_x.0002", 60_000, now, "node-q");
    await s.setOnline("dave", "PA_xy.0003", 60_000, now, "node-p");
    await s.setOnline("erin", "PA_z.0004", 60_000, now, "node-p");
    await s.setParticipantOffline("dave", "PA_x", now + 10);
    let [dave, erin] = await s.getPresence(["dave", "erin"], now + 20);
    assert.deepEqual([dave?.online, dave?.lastSeen, erin?.online], [true, now + 20, true], "PA_xy is still online");
    await s.setParticipantOffline("dave", "PA_xy", now + 30);
    [dave, erin] = await s.getPresence(["dave", "erin"], now + 40);
    assert.deepEqual([dave?.online, dave?.lastSeen, erin?.online], [false, now + 30, true]);
    // Nothing of that participant online (hidden, or marked already): last seen does not move, nor appear.
    await s.setParticipantOffline("dave", "PA_x", now + 50);
    await s.setParticipantOffline("frank", "PA_f", now + 50);
    const [again, frank] = await s.getPresence(["dave", "frank"], now + 60);
    assert.deepEqual([again?.lastSeen, frank?.online, frank?.lastSeen], [now + 30, false, 0]);
  });

  test("presence: a connection of a dead node is offline at once, whatever its ttl; the identity's others count", async () => {
    const s = current();
    const now = Date.now();
    for (const id of ["pres-dead", "pres-live"]) await s.heartbeatNode(create(NodeInfoSchema, { nodeId: id, updatedAt: BigInt(now) }), 60_000);
    await s.setOnline("dora", "CO_on_dead", 60_000, now, "pres-dead");
    await s.setOnline("erin", "CO_on_dead2", 60_000, now, "pres-dead");
    await s.setOnline("erin", "CO_on_live", 60_000, now, "pres-live");
    assert.deepEqual((await s.getPresence(["dora", "erin"], now + 10)).map((p) => p.online), [true, true]);
    await s.removeNode("pres-dead");
    assert.deepEqual((await s.getPresence(["dora", "erin"], now + 20)).map((p) => p.online), [false, true]);
    // A node that comes back re-registers its connections: they count again.
    await s.heartbeatNode(create(NodeInfoSchema, { nodeId: "pres-dead", updatedAt: BigInt(now) }), 60_000);
    await s.setOnline("dora", "CO_on_dead", 60_000, now + 30, "pres-dead");
    assert.equal((await s.getPresence(["dora"], now + 40))[0]?.online, true);
  });

  test("presence: a reaped (forgotten) node's connections go offline with dropNodePresence; last seen only moves forward", async () => {
    const s = current();
    const now = Date.now();
    for (const id of ["pres-gone", "pres-other"]) await s.heartbeatNode(create(NodeInfoSchema, { nodeId: id, updatedAt: BigInt(now) }), 60_000);
    await s.setOnline("fay", "CO_f", 60_000, now, "pres-gone");
    await s.setOnline("gus", "CO_g1", 60_000, now, "pres-gone");
    await s.setOnline("gus", "CO_g2", 60_000, now, "pres-other");
    await s.setOnline("hal", "CO_h1", 60_000, now, "pres-gone");
    await s.setOnline("hal", "CO_h2", 60_000, now, "pres-other");
    await s.setOffline("hal", "CO_h2", now + 50);
    await s.removeNode("pres-gone");
    await s.reapNode("pres-gone", now + 1000);
    await s.dropNodePresence("pres-gone", now + 5);
    const [fay, gus, hal] = await s.getPresence(["fay", "gus", "hal"], now + 100);
    assert.deepEqual([fay?.online, fay?.lastSeen], [false, now + 5], "the node's last heartbeat is when fay was last seen");
    assert.equal(gus?.online, true, "gus's connection on another node counts");
    assert.deepEqual([hal?.online, hal?.lastSeen], [false, now + 50], "a later last seen is kept");
    // A node starting again under the id: nothing of it counts until it registers connections again.
    await s.setOnline("ivy", "CO_i", 60_000, now, "pres-other");
    await s.dropNodePresence("pres-other", undefined);
    const [ivy] = await s.getPresence(["ivy"], now + 100);
    assert.deepEqual([ivy?.online, ivy?.lastSeen], [false, now]);
  });

  test("nodes: heartbeat says whether the node was alive; a lapsed or removed node is dead", async () => {
    const s = current();
    const beat = (id: string, ttl: number) => s.heartbeatNode(create(NodeInfoSchema, { nodeId: id, updatedAt: BigInt(Date.now()), resumeWindowMs: 2000, version: "v" }), ttl);
    assert.equal(await beat("n1", 60_000), false);
    assert.equal(await beat("n1", 60_000), true);
    assert.equal(await beat("n2", 150), false);
    assert.deepEqual((await s.listNodes(Date.now())).map((n) => n.nodeId).sort(), ["n1", "n2"]);
    assert.equal((await s.listNodes(Date.now())).find((n) => n.nodeId === "n1")?.resumeWindowMs, 2000);
    await until("n2 to lapse", async () => (await s.listDeadNodes(Date.now())).some((n) => n.nodeId === "n2"));
    assert.deepEqual((await s.listNodes(Date.now())).map((n) => n.nodeId), ["n1"]);
    assert.equal(await beat("n2", 60_000), false, "a lapsed node comes back as new");
    await s.removeNode("n1");
    assert.deepEqual((await s.listDeadNodes(Date.now())).map((n) => n.nodeId), ["n1"]);
    assert.deepEqual((await s.listNodes(Date.now())).map((n) => n.nodeId), ["n2"]);
  });

  test("reapNode takes a dead node's participants (away) and sessions, once; never a live node's", async () => {
    const s = current();
    const now = Date.now();
    await s.heartbeatNode(create(NodeInfoSchema, { nodeId: "dead", updatedAt: BigInt(now) }), 60_000);
    await s.heartbeatNode(create(NodeInfoSchema, { nodeId: "live", updatedAt: BigInt(now) }), 60_000);
    await s.createRoom(room("rp"), 10, 1);
    await join(participant("rp", "a", "PA_a", "dead"));
    await join(participant("rp", "b", "PA_b", "dead"));
    await join(participant("rp", "c", "PA_c", "live"));
    await s.markAway("rp", "b", "PA_b", now + 1000);
    await s.createSession(session("sd", "dead"));
    await s.createSession(session("sl", "live"));
    assert.equal(await s.reapNode("dead", now + 5000), undefined, "alive: not reaped");
    await s.removeNode("dead");
    assert.equal((await s.sessionStats()).activeSessions, 1, "a dead node's sessions do not count");
    assert.deepEqual(await s.reapNode("dead", now + 5000), { participants: 1, sessions: 1 });
    assert.equal(await s.reapNode("dead", now + 5000), undefined, "reaped once");
    assert.deepEqual((await s.listDeadNodes(Date.now())).map((n) => n.nodeId), []);
    assert.equal((await s.getParticipant("rp", "a"))?.awayUntil, BigInt(now + 5000));
    assert.equal((await s.getParticipant("rp", "b"))?.awayUntil, BigInt(now + 1000), "already away: its deadline stays");
    assert.equal((await s.getParticipant("rp", "c"))?.awayUntil, 0n);
    assert.equal(await s.getSession("sd"), undefined);
    assert.deepEqual((await s.listSessions()).map((x) => x.sessionId), ["sl"]);
    assert.equal(await s.heartbeatNode(create(NodeInfoSchema, { nodeId: "dead", updatedAt: BigInt(Date.now()) }), 60_000), false);
    // The node comes back and re-registers its session: it was counted when created, not again now.
    const total = (await s.sessionStats()).totalSessions;
    await s.restoreSession(session("sd", "dead"));
    assert.equal((await s.getSession("sd"))?.nodeId, "dead");
    assert.deepEqual([(await s.sessionStats()).totalSessions, (await s.sessionStats()).activeSessions], [total, 2]);
  });

  test("locks are exclusive until released by their token or expired", async () => {
    const s = current();
    const t1 = await s.tryLock("L", 60_000);
    assert.ok(t1);
    assert.equal(await s.tryLock("L", 60_000), undefined);
    await s.unlock("L", "not-the-token");
    assert.equal(await s.tryLock("L", 60_000), undefined);
    await s.unlock("L", t1);
    const t2 = await s.tryLock("L", 100);
    assert.ok(t2);
    await until("the lock to expire", async () => (await s.tryLock("L", 60_000)) !== undefined);
  });}
