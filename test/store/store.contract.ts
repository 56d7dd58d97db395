import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { create, fromBinary } from "@bufbuild/protobuf";
import { StoredCallSchema, StoredParticipantSchema, type StoredParticipant } from "../../gen/volly/signaling/v1/internal_pb.js";
import { RoomSchema } from "../../gen/volly/signaling/v1/models_pb.js";
import type { Store } from "../../src/store/store.js";
import { participant, room, type StoreFixture, limitsOf } from "./contract-fixtures.js";
import { hiddenCountContract } from "./hidden-count.contract.js";
import { recordNamesContract } from "./record-names.contract.js";
import { departureTimeoutContract } from "./departure-timeout.contract.js";
import { storeRecordsContract } from "./store-records.contract.js";

export type { StoreFixture } from "./contract-fixtures.js";

const te = new TextEncoder();
const infoOf = (record: Uint8Array) => fromBinary(StoredParticipantSchema, record).info;

/**
 * The `Store` contract: every documented behaviour, run against each implementation (memory always,
 * Redis when reachable). `makeStore` gives a fresh, empty store per test. Rooms, participants and
 * mailboxes are here; calls, sessions, presence, nodes and locks in store-records.contract.ts.
 */
export function storeContract(name: string, makeStore: () => Promise<StoreFixture>, options: { skip?: string | false } = {}): void {
  describe(`Store contract: ${name}`, { skip: options.skip }, () => {
    let fx: StoreFixture;
    let s: Store;
    beforeEach(async () => {
      fx = await makeStore();
      s = fx.store;
    });
    afterEach(() => fx.close());

    const join = async (p: StoredParticipant, max = 100) => {
      const out = await s.joinParticipant(p, max);
      assert.ok(out.ok, `join of ${p.info?.identity} failed`);
      return out;
    };

    test("ping answers", async () => {
      await s.ping();
    });

    test("createRoom creates once and reports an existing room", async () => {
      const first = await s.createRoom(room("r1", { metadata: "m" }), 10, 1000);
      assert.equal(first.created, true);
      assert.deepEqual([first.room.name, first.room.sid, first.room.metadata, first.room.numParticipants, first.room.emptyTimeout], ["r1", "RM_r1", "m", 0, 300]);
      const again = await s.createRoom(create(RoomSchema, { ...room("r1"), sid: "RM_other" }), 10, 2000);
      assert.equal(again.created, false);
      assert.equal(again.room.sid, "RM_r1");
      assert.equal((await s.getRoom("r1"))?.creationTime, 1000n);
      assert.equal(await s.getRoom("nope"), undefined);
    });

    test("createRoom refuses past maxRooms with too_many_rooms, but still answers for an existing name", async () => {
      await s.createRoom(room("a"), 2, 1);
      await s.createRoom(room("b"), 2, 1);
      await assert.rejects(s.createRoom(room("c"), 2, 1), /room limit/);
      assert.equal((await s.createRoom(room("a"), 2, 1)).created, false);
    });

    test("listRooms lists all (sorted) or the named ones that exist", async () => {
      for (const n of ["zeta", "alpha", "mid"]) await s.createRoom(room(n), 10, 1);
      assert.deepEqual((await s.listRooms()).map((r) => r.name), ["alpha", "mid", "zeta"]);
      assert.deepEqual((await s.listRooms(["zeta", "ghost", "alpha"])).map((r) => r.name), ["alpha", "zeta"]);
      await join(participant("mid", "u1", "PA_u1"));
      assert.equal((await s.listRooms(["mid"]))[0]?.numParticipants, 1);
    });

    test("countRooms counts the rooms listRooms lists, without reading them", async () => {
      assert.equal(await s.countRooms(), 0);
      for (const n of ["c1", "c2", "c3"]) await s.createRoom(room(n), 10, 1);
      await s.deleteRoom("c2");
      assert.deepEqual([await s.countRooms(), (await s.listRooms()).length], [2, 2]);
    });

    test("listRooms sorts by code point, whatever the locale, and lists a name asked for twice once", async () => {
      const names = ["zeta", "Alpha", "beta", "_x", "Ωmega", "10", "9"];
      for (const n of names) await s.createRoom(room(n), 20, 1);
      assert.deepEqual((await s.listRooms()).map((r) => r.name), ["10", "9", "Alpha", "_x", "beta", "zeta", "Ωmega"]);
      assert.deepEqual((await s.listRooms(["beta", "beta", "9"])).map((r) => r.name), ["9", "beta"]);
    });

    test("updateRoom patches an existing room only", async () => {
      await s.createRoom(room("up"), 10, 1);
      const updated = await s.updateRoom("up", { metadata: "new", maxParticipants: 7, emptyTimeout: 9 });
      assert.deepEqual([updated?.metadata, updated?.maxParticipants, updated?.emptyTimeout], ["new", 7, 9]);
      assert.equal((await s.getRoom("up"))?.metadata, "new");
      assert.equal(await s.updateRoom("ghost", { metadata: "x" }), undefined);
    });

    test("deleteRoom returns its participants and removes them, their mailboxes and calls", async () => {
      await s.createRoom(room("del"), 10, 1);
      await join(participant("del", "a", "PA_a"));
      await join(participant("del", "b", "PA_b", "node-b"));
      await s.enqueue("del", "a", te.encode("x"), limitsOf(10));
      await s.putCall(create(StoredCallSchema, { callId: "c1", room: "del", caller: "a", callee: "b" }));
      const removed = await s.deleteRoom("del");
      assert.deepEqual(removed.map((p) => p.info?.identity).sort(), ["a", "b"]);
      assert.equal(removed.find((p) => p.info?.identity === "b")?.nodeId, "node-b");
      assert.equal(await s.getRoom("del"), undefined);
      assert.equal(await s.getParticipantBySid("PA_a"), undefined);
      assert.deepEqual((await s.readMailbox("PA_a", 0n)).messages, []);
      assert.equal(await s.getCall("del", "c1"), undefined);
      assert.deepEqual(await s.deleteRoom("del"), []);
    });

    test("a room's name never reaches another room's records, whatever it contains", async () => {
      // Redis keys are built from names: a room named "x:sids" must not be room x's sid index.
      const names = ["x", "x:sids", "x:participants", "x:calls", "x%3Asids", "x%", ":", "%3A"];
      for (const [i, n] of names.entries()) {
        await s.createRoom(room(n, { metadata: `m${i}` }), 100, 1);
        await join(participant(n, "same", `PA_${i}`));
        await s.putCall(create(StoredCallSchema, { callId: "c", room: n, caller: "same", callee: `callee-${i}` }));
      }
      const check = async (present: string[]) => {
        for (const [i, n] of names.entries()) {
          if (!present.includes(n)) continue;
          assert.equal((await s.getRoom(n))?.metadata, `m${i}`, n);
          assert.deepEqual((await s.listParticipants(n)).map((p) => p.info?.sid), [`PA_${i}`], n);
          assert.equal((await s.getParticipant(n, "same"))?.info?.sid, `PA_${i}`, n);
          assert.equal((await s.getCall(n, "c"))?.callee, `callee-${i}`, n);
        }
      };
      await check(names);
      assert.deepEqual((await s.listRooms()).map((r) => r.name).sort(), [...names].sort());
      assert.deepEqual((await s.deleteRoom("x:participants")).map((p) => p.info?.sid), ["PA_2"]);
      await check(names.filter((n) => n !== "x:participants"));
    });

    test("empty rooms close after their empty timeout, counted from when they became empty", async () => {
      await s.createRoom(room("e1", { emptyTimeout: 1 }), 10, 10_000);
      await s.createRoom(room("e2", { emptyTimeout: 1 }), 10, 10_000);
      await join(participant("e2", "x", "PA_x"));
      assert.deepEqual(await s.deleteExpiredEmptyRooms(10_500), []);
      assert.deepEqual(await s.deleteExpiredEmptyRooms(11_000), ["e1"]);
      assert.equal(await s.getRoom("e1"), undefined);
      await s.removeParticipant("e2", "x", "PA_x", 20_000);
      assert.deepEqual(await s.deleteExpiredEmptyRooms(20_900), []);
      assert.ok(await s.getRoom("e2"));
      assert.deepEqual(await s.deleteExpiredEmptyRooms(21_000), ["e2"]);
      assert.deepEqual(await s.listRooms(), []);
    });

    test("join needs the room, honours the limits (the room's own wins) and lists the others", async () => {
      assert.deepEqual(await s.joinParticipant(participant("none", "a", "PA_a"), 10), { ok: false, reason: "room_missing" });
      await s.createRoom(room("lim"), 10, 1);
      await join(participant("lim", "a", "PA_a"), 2);
      const second = await join(participant("lim", "b", "PA_b", "node-b"), 2);
      assert.deepEqual(second.others.map((r) => [infoOf(r.record)?.identity, infoOf(r.record)?.name]), [["a", "A"]]);
      assert.equal(second.room.numParticipants, 2);
      assert.deepEqual(await s.joinParticipant(participant("lim", "c", "PA_c"), 2), { ok: false, reason: "room_full" });
      await s.createRoom(room("own", { maxParticipants: 1 }), 10, 1);
      await join(participant("own", "a", "PA_a2"), 50);
      assert.deepEqual(await s.joinParticipant(participant("own", "b", "PA_b2"), 50), { ok: false, reason: "room_full" });
    });

    test("joining with a taken identity replaces the old participant and drops its mailbox", async () => {
      await s.createRoom(room("dup"), 10, 1);
      await join(participant("dup", "a", "PA_old"), 1);
      await s.enqueue("dup", "a", te.encode("old"), limitsOf(10));
      const out = await join(participant("dup", "a", "PA_new", "node-b"), 1);
      assert.equal(out.replaced?.info?.sid, "PA_old");
      assert.equal(out.replaced?.nodeId, "node-a");
      assert.deepEqual(out.others, []);
      assert.equal(await s.getParticipantBySid("PA_old"), undefined);
      assert.equal((await s.getParticipant("dup", "a"))?.info?.sid, "PA_new");
      assert.equal((await s.readMailbox("PA_old", 0n)).nextId, 1n);
      assert.equal((await s.enqueue("dup", "a", te.encode("n"), limitsOf(10)))?.messageId, 1n);
    });

    test("participants read back with info and routing facts", async () => {
      await s.createRoom(room("rd"), 10, 1);
      await join(participant("rd", "a", "PA_a", "node-x"));
      const byIdentity = await s.getParticipant("rd", "a");
      const bySid = await s.getParticipantBySid("PA_a");
      for (const p of [byIdentity, bySid]) {
        assert.deepEqual([p?.room, p?.nodeId, p?.awayUntil, p?.info?.metadata, p?.info?.version], ["rd", "node-x", 0n, '{"who":"a"}', 1]);
      }
      assert.equal(await s.getParticipant("rd", "ghost"), undefined);
      assert.equal(await s.getParticipantBySid("PA_ghost"), undefined);
      assert.deepEqual((await s.listParticipants("rd")).map((p) => p.info?.sid), ["PA_a"]);
      assert.deepEqual(await s.listParticipants("ghost-room"), []);
    });

    test("listRoster gives every participant's stored info undecoded, away ones included", async () => {
      await s.createRoom(room("ros"), 10, 1);
      await join(participant("ros", "a", "PA_a", "node-a"));
      await join(participant("ros", "b", "PA_b", "node-b"));
      await s.markAway("ros", "b", "PA_b", 50_000);
      const roster = (await s.listRoster("ros")).map((r) => [infoOf(r.record)?.sid, infoOf(r.record)?.metadata]);
      assert.deepEqual(roster.sort(), [["PA_a", '{"who":"a"}'], ["PA_b", '{"who":"b"}']]);
      assert.deepEqual(await s.listRoster("ghost-room"), []);
    });

    test("updateParticipant replaces the info when the sid matches and keeps the routing facts", async () => {
      await s.createRoom(room("upd"), 10, 1);
      await join(participant("upd", "a", "PA_a"));
      await s.markAway("upd", "a", "PA_a", 99_000);
      const next = participant("upd", "a", "PA_a", "somewhere-else");
      if (next.info) next.info.metadata = "changed";
      assert.equal(await s.updateParticipant(next), true);
      const got = await s.getParticipant("upd", "a");
      assert.deepEqual([got?.info?.metadata, got?.nodeId, got?.awayUntil], ["changed", "node-a", 99_000n]);
      assert.equal(await s.updateParticipant(participant("upd", "a", "PA_wrong")), false);
      assert.equal(await s.updateParticipant(participant("upd", "ghost", "PA_g")), false);
    });

    test("removeParticipant needs the current sid and takes the mailbox and the calls along", async () => {
      await s.createRoom(room("rm"), 10, 1);
      await join(participant("rm", "a", "PA_a"));
      await join(participant("rm", "b", "PA_b"));
      await s.putCall(create(StoredCallSchema, { callId: "ab", room: "rm", caller: "a", callee: "b" }));
      await s.putCall(create(StoredCallSchema, { callId: "bx", room: "rm", caller: "b", callee: "x" }));
      await s.enqueue("rm", "a", te.encode("1"), limitsOf(10));
      assert.equal(await s.removeParticipant("rm", "a", "PA_wrong", 5), undefined);
      const removed = await s.removeParticipant("rm", "a", "PA_a", 5);
      assert.equal(removed?.info?.identity, "a");
      assert.equal(await s.getParticipant("rm", "a"), undefined);
      assert.equal((await s.readMailbox("PA_a", 0n)).nextId, 1n);
      assert.equal(await s.getCall("rm", "ab"), undefined);
      assert.ok(await s.getCall("rm", "bx"));
      assert.equal(await s.removeParticipant("rm", "a", "PA_a", 6), undefined);
    });

    test("removeParticipant with awayExpiredBy removes only a participant still away past its deadline", async () => {
      await s.createRoom(room("sw"), 10, 1);
      await join(participant("sw", "a", "PA_a"));
      assert.equal(await s.removeParticipant("sw", "a", "PA_a", 1, { awayExpiredBy: 10_000 }), undefined);
      await s.markAway("sw", "a", "PA_a", 20_000);
      assert.equal(await s.removeParticipant("sw", "a", "PA_a", 1, { awayExpiredBy: 10_000 }), undefined);
      assert.equal((await s.removeParticipant("sw", "a", "PA_a", 1, { awayExpiredBy: 20_000 }))?.info?.sid, "PA_a");
    });

    test("markAway (optionally only if still held by a node), claim, expired and per-node listings", async () => {
      await s.createRoom(room("aw"), 10, 1);
      await join(participant("aw", "a", "PA_a", "node-a"));
      await join(participant("aw", "b", "PA_b", "node-b"));
      assert.equal(await s.markAway("aw", "a", "PA_a", 5000, "node-b"), false);
      assert.equal(await s.markAway("aw", "a", "PA_wrong", 5000), false);
      assert.equal(await s.markAway("aw", "a", "PA_a", 5000, "node-a"), true);
      assert.equal((await s.getParticipant("aw", "a"))?.awayUntil, 5000n);
      assert.deepEqual(await s.listExpiredAway(4999), []);
      assert.deepEqual((await s.listExpiredAway(5000)).map((p) => p.info?.sid), ["PA_a"]);
      assert.deepEqual((await s.listParticipantsOnNode("node-a")).map((p) => p.info?.sid), ["PA_a"]);
      assert.equal(await s.claimParticipant("aw", "a", "PA_wrong", "node-c"), undefined);
      const before = await s.claimParticipant("aw", "a", "PA_a", "node-c");
      assert.deepEqual([before?.nodeId, before?.awayUntil], ["node-a", 5000n]);
      const after = await s.getParticipantBySid("PA_a");
      assert.deepEqual([after?.nodeId, after?.awayUntil], ["node-c", 0n]);
      assert.deepEqual(await s.listExpiredAway(9999), []);
      assert.deepEqual(await s.listParticipantsOnNode("node-a"), []);
      assert.deepEqual((await s.listParticipantsOnNode("node-c")).map((p) => p.info?.sid), ["PA_a"]);
      assert.equal(await s.markAway("aw", "a", "PA_a", 6000, "node-a"), false);
    });

    test("enqueue gives per-participant ids from 1 and says where the participant is", async () => {
      await s.createRoom(room("mq"), 10, 1);
      await join(participant("mq", "a", "PA_a", "node-a"));
      await join(participant("mq", "b", "PA_b", "node-b"));
      assert.equal(await s.enqueue("mq", "ghost", te.encode("x"), limitsOf(10)), undefined);
      assert.equal(await s.enqueue("nowhere", "a", te.encode("x"), limitsOf(10)), undefined);
      const q1 = await s.enqueue("mq", "a", te.encode("1"), limitsOf(10));
      const q2 = await s.enqueue("mq", "a", te.encode("2"), limitsOf(10));
      const qb = await s.enqueue("mq", "b", te.encode("b1"), limitsOf(10));
      assert.deepEqual([q1?.sid, q1?.nodeId, q1?.messageId, q1?.overflow], ["PA_a", "node-a", 1n, false]);
      assert.equal(q2?.messageId, 2n);
      assert.deepEqual([qb?.sid, qb?.nodeId, qb?.messageId], ["PA_b", "node-b", 1n]);
      const room2 = await s.enqueueRoom("mq", te.encode("all"), limitsOf(10), "PA_b");
      assert.deepEqual(room2.map((q) => [q.sid, q.messageId]), [["PA_a", 3n]]);
      const everyone = await s.enqueueRoom("mq", te.encode("all2"), limitsOf(10));
      assert.deepEqual(everyone.map((q) => `${q.sid}:${q.messageId}`).sort(), ["PA_a:4", "PA_b:2"]);
      assert.deepEqual(await s.enqueueRoom("nowhere", te.encode("x"), limitsOf(10)), []);
    });

    test("enqueues issued together keep call order: ids per participant, a missing one fails alone", async () => {
      await s.createRoom(room("mt"), 10, 1);
      await join(participant("mt", "a", "PA_a", "node-a"));
      await join(participant("mt", "b", "PA_b", "node-b"));
      // Issued in one turn, not awaited one by one (a Redis store sends them as one batch).
      const targets = ["a", "b", "ghost", "a", "a", "b", "a"];
      const queued = await Promise.all(targets.map((t, i) => s.enqueue("mt", t, te.encode(`${t}${i}`), limitsOf(100), "node-a")));
      assert.deepEqual(queued.map((q) => (q ? `${q.sid}:${q.messageId}` : "none")), ["PA_a:1", "PA_b:1", "none", "PA_a:2", "PA_a:3", "PA_b:2", "PA_a:4"]);
      for (const q of queued) if (q?.sid === "PA_a") assert.notEqual(q.forwarded, true, "never forwarded to the caller's own node");
      const a = await s.readMailbox("PA_a", 0n);
      assert.deepEqual(a.messages.map((m) => [m.id, new TextDecoder().decode(m.response)]), [[1n, "a0"], [2n, "a3"], [3n, "a4"], [4n, "a6"]]);
      assert.equal((await s.enqueue("mt", "a", te.encode("next"), limitsOf(100)))?.messageId, 5n, "ids continue after the batch");
    });

    test("readMailbox returns what follows an id; ackMailbox drops up to an id", async () => {
      await s.createRoom(room("rb"), 10, 1);
      await join(participant("rb", "a", "PA_a"));
      for (let i = 1; i <= 5; i++) await s.enqueue("rb", "a", te.encode(`m${i}`), limitsOf(100));
      const all = await s.readMailbox("PA_a", 0n);
      assert.deepEqual(all.messages.map((m) => [m.id, new TextDecoder().decode(m.response)]), [[1n, "m1"], [2n, "m2"], [3n, "m3"], [4n, "m4"], [5n, "m5"]]);
      assert.deepEqual([all.firstId, all.nextId], [1n, 6n]);
      assert.deepEqual((await s.readMailbox("PA_a", 3n)).messages.map((m) => m.id), [4n, 5n]);
      assert.deepEqual((await s.readMailbox("PA_a", 99n)).messages, []);
      assert.deepEqual((await s.readMailbox("PA_a", 2n ** 63n)).messages, []);
      assert.equal(await s.ackMailbox("PA_a", 2n), 2n);
      const rest = await s.readMailbox("PA_a", 0n);
      assert.deepEqual([rest.firstId, rest.messages.map((m) => m.id)], [3n, [3n, 4n, 5n]]);
      assert.equal(await s.ackMailbox("PA_a", 1n), 2n);
      assert.equal(await s.ackMailbox("PA_a", 50n), 5n);
      const empty = await s.readMailbox("PA_a", 0n);
      assert.deepEqual([empty.firstId, empty.nextId, empty.messages.length], [6n, 6n, 0]);
      assert.equal((await s.enqueue("rb", "a", te.encode("m6"), limitsOf(100)))?.messageId, 6n);
      assert.equal(await s.ackMailbox("PA_ghost", 3n), 0n);
      assert.deepEqual(await s.readMailbox("PA_ghost", 0n), { messages: [], firstId: 1n, nextId: 1n });
    });

    test("a full mailbox drops the oldest while connected and reports overflow while away", async () => {
      await s.createRoom(room("ov"), 10, 1);
      await join(participant("ov", "a", "PA_a"));
      for (let i = 0; i < 5; i++) assert.equal((await s.enqueue("ov", "a", te.encode(`${i}`), limitsOf(3)))?.overflow, false);
      const box = await s.readMailbox("PA_a", 0n);
      assert.deepEqual([box.firstId, box.messages.map((m) => m.id)], [3n, [3n, 4n, 5n]]);
      await s.markAway("ov", "a", "PA_a", Date.now() + 60_000);
      assert.equal((await s.enqueue("ov", "a", te.encode("x"), limitsOf(3)))?.overflow, true);
      assert.equal((await s.enqueueRoom("ov", te.encode("y"), limitsOf(3)))[0]?.overflow, true);
    });

    test("an away participant's mailbox overflows past the bytes it may take while away, counted from going away", async () => {
      await s.createRoom(room("ovbytes"), 10, 1);
      await join(participant("ovbytes", "a", "PA_a"));
      const limits = limitsOf(100, 1000);
      const kb = (tag: string) => te.encode(tag.padEnd(400, "."));
      // Connected: bytes are the connection's to bound, not the store's.
      for (let i = 0; i < 5; i++) assert.equal((await s.enqueue("ovbytes", "a", kb(`c${i}`), limits))?.overflow, false);
      await s.markAway("ovbytes", "a", "PA_a", Date.now() + 60_000);
      assert.equal((await s.enqueue("ovbytes", "a", kb("a1"), limits))?.overflow, false);
      assert.equal((await s.enqueueRoom("ovbytes", kb("a2"), limits))[0]?.overflow, false);
      assert.equal((await s.enqueue("ovbytes", "a", kb("a3"), limits))?.overflow, true, "1,200 bytes since going away");
      // Back, then away again: the count starts over.
      await s.claimParticipant("ovbytes", "a", "PA_a", "node-a");
      await s.markAway("ovbytes", "a", "PA_a", Date.now() + 60_000);
      assert.equal((await s.enqueue("ovbytes", "a", kb("b1"), limits))?.overflow, false);
      // Several at once (one batch, as relays of one turn go): the one that passes the bound overflows.
      const together = await Promise.all(["b2", "b3"].map((t) => s.enqueue("ovbytes", "a", kb(t), limits)));
      assert.equal(together.some((q) => q?.overflow), true);
    });

    test("enqueues issued together fill, trim and overflow a mailbox exactly as one at a time", async () => {
      await s.createRoom(room("ovb"), 10, 1);
      await join(participant("ovb", "a", "PA_a", "node-a"));
      await join(participant("ovb", "b", "PA_b", "node-b"));
      // Connected: five at once into a mailbox of three keeps the last three, and nothing overflows.
      const five = await Promise.all([0, 1, 2, 3, 4].map((i) => s.enqueue("ovb", i % 2 === 0 ? "a" : "b", te.encode(`m${i}`), limitsOf(3), "node-a")));
      assert.deepEqual(five.map((q) => [q?.sid, q?.messageId, q?.overflow]), [["PA_a", 1n, false], ["PA_b", 1n, false], ["PA_a", 2n, false], ["PA_b", 2n, false], ["PA_a", 3n, false]]);
      for (let i = 0; i < 2; i++) await s.enqueue("ovb", "a", te.encode(`n${i}`), limitsOf(3), "node-a");
      const box = await s.readMailbox("PA_a", 0n);
      assert.deepEqual([box.firstId, box.messages.map((m) => new TextDecoder().decode(m.response))], [3n, ["m4", "n0", "n1"]]);
      // Away with two of three taken (acknowledged up to 3): the first of three more fits, the next two overflow.
      await s.ackMailbox("PA_a", 3n);
      await s.markAway("ovb", "a", "PA_a", Date.now() + 60_000);
      const three = await Promise.all(["x", "y", "z"].map((t) => s.enqueue("ovb", "a", te.encode(t), limitsOf(3), "node-a")));
      assert.deepEqual(three.map((q) => [q?.messageId, q?.overflow]), [[6n, false], [7n, true], [8n, true]]);
      const after = await s.readMailbox("PA_a", 0n);
      assert.deepEqual(after.messages.map((m) => new TextDecoder().decode(m.response)), ["x", "y", "z"]);
    });

    test("restoreParticipant: kept, reclaimed, moved, replaced, missing and restored", async () => {
      const r = room("rs", { metadata: "meta" });
      await s.createRoom(r, 10, 1);
      const a = participant("rs", "a", "PA_a", "node-a");
      await join(a);
      await s.enqueue("rs", "a", te.encode("1"), limitsOf(10));
      assert.equal(await s.restoreParticipant(r, a, 1n, false), "kept");
      assert.equal((await s.enqueue("rs", "a", te.encode("2"), limitsOf(10)))?.messageId, 2n, "a lower next id changes nothing");
      assert.equal(await s.restoreParticipant(r, a, 10n, false), "kept");
      assert.equal((await s.enqueue("rs", "a", te.encode("3"), limitsOf(10)))?.messageId, 10n, "ids continue from the raised next id");
      await s.markAway("rs", "a", "PA_a", Date.now() + 60_000);
      assert.equal(await s.restoreParticipant(r, a, 1n, false), "reclaimed");
      assert.equal((await s.getParticipant("rs", "a"))?.awayUntil, 0n);
      await s.claimParticipant("rs", "a", "PA_a", "node-b");
      assert.equal(await s.restoreParticipant(r, a, 1n, true), "moved");
      await join(participant("rs", "a", "PA_a2", "node-b"));
      assert.equal(await s.restoreParticipant(r, a, 1n, true), "replaced");
      await s.deleteRoom("rs");
      assert.equal(await s.restoreParticipant(r, a, 7n, false), "missing");
      assert.equal(await s.getRoom("rs"), undefined);
      assert.equal(await s.restoreParticipant(r, a, 7n, true), "restored");
      const back = await s.getParticipant("rs", "a");
      assert.deepEqual([back?.info?.sid, back?.nodeId, back?.awayUntil], ["PA_a", "node-a", 0n]);
      assert.deepEqual([(await s.getRoom("rs"))?.metadata, (await s.getRoom("rs"))?.numParticipants], ["meta", 1]);
      assert.equal((await s.enqueue("rs", "a", te.encode("x"), limitsOf(10)))?.messageId, 7n);
      assert.deepEqual((await s.listParticipantsOnNode("node-a")).map((p) => p.info?.sid), ["PA_a"]);
      assert.deepEqual(await s.deleteExpiredEmptyRooms(Date.now() + 10_000_000), [], "a restored room is occupied");
    });

    storeRecordsContract(() => s, join);
    hiddenCountContract(() => s, join);
    recordNamesContract(() => s, join);
    departureTimeoutContract(() => s);
  });
}
