import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryBus } from "../../src/bus/memory-bus.js";
import { MemoryPresence } from "../../src/store/memory-presence.js";
import { MAX_SHARED_ENTRIES } from "../../src/store/memory-rooms.js";
import { createMemoryStore } from "../../src/store/memory-store.js";
import { LAST_SEEN_TTL_MS } from "../../src/store/store.js";
import { busContract } from "./bus.contract.js";
import { participant, room, limitsOf } from "./contract-fixtures.js";
import { storeContract } from "./store.contract.js";

// The memory backend against the same contracts as Redis (test/store/redis-store.test.ts).
storeContract("memory", async () => {
  const store = createMemoryStore();
  return { store, close: () => store.close() };
});

busContract("memory", async () => {
  const bus = new MemoryBus();
  return { buses: [bus, bus], close: () => bus.close() };
});

test("a mailbox keeps its newest MAX_SHARED_ENTRIES messages as given and copies older views out to their own size", async () => {
  const store = createMemoryStore();
  try {
    await store.createRoom(room("views"), 10, Date.now());
    assert.ok((await store.joinParticipant(participant("views", "a", "PA_views_a"), 10)).ok);
    // Every response a view into one shared buffer, as relayed responses are into Node's buffer pool.
    const shared = new Uint8Array(100 * 16);
    const n = MAX_SHARED_ENTRIES + 36;
    for (let i = 0; i < n; i++) {
      const view = shared.subarray(16 * i, 16 * (i + 1));
      view.fill(i);
      await store.enqueue("views", "a", view, limitsOf(1000));
    }
    const { messages } = await store.readMailbox("PA_views_a", 0n);
    assert.deepEqual(messages.map((m) => m.id), Array.from({ length: n }, (_, i) => BigInt(i + 1)));
    messages.forEach((m, i) => {
      assert.deepEqual([...m.response], new Array(16).fill(i), `message ${i + 1} intact`);
      const own = m.response.buffer.byteLength === 16;
      assert.equal(own, i < n - MAX_SHARED_ENTRIES, `message ${i + 1} ${own ? "copied out" : "kept as given"}`);
    });
  } finally {
    await store.close();
  }
});

// Redis forgets `last_seen:<identity>` after LAST_SEEN_TTL_MS; the memory store must too, or every distinct
// identity that ever connected (one per device, per call) would stay in the process for good.
test("presence of identities gone longer than LAST_SEEN_TTL_MS is forgotten as other identities come and go", async () => {
  const store = createMemoryStore();
  try {
    const now = Date.now();
    const longAgo = now - LAST_SEEN_TTL_MS - 60_000;
    for (let i = 0; i < 100; i++) {
      await store.setOnline(`old-${i}`, `CO_old${i}`, 30_000, longAgo, "n1");
      await store.setOffline(`old-${i}`, `CO_old${i}`, longAgo + 1000);
    }
    await store.setOnline("recent", "CO_recent", 30_000, now - 60_000, "n1");
    await store.setOffline("recent", "CO_recent", now - 50_000);
    await store.setOnline("online", "CO_online", 60_000, longAgo, "n1");
    // Today's traffic: each change looks at a few entries.
    for (let i = 0; i < 100; i++) {
      await store.setOnline(`new-${i}`, `CO_new${i}`, 30_000, now, "n1");
      await store.setOffline(`new-${i}`, `CO_new${i}`, now);
    }
    const seen = await store.getPresence(["old-0", "old-99", "recent", "new-0"], now);
    assert.deepEqual(seen.map((p) => p.lastSeen), [0, 0, now - 50_000, now]);
  } finally {
    await store.close();
  }
});

// Joins alone move the pruning along too: its cursor then never rests on a table the map has outgrown.
test("presence forgets identities gone longer than LAST_SEEN_TTL_MS while others only come online", async () => {
  const store = createMemoryStore();
  try {
    const now = Date.now();
    const longAgo = now - LAST_SEEN_TTL_MS - 60_000;
    for (let i = 0; i < 50; i++) {
      await store.setOnline(`old-${i}`, `CO_old${i}`, 30_000, longAgo, "n1");
      await store.setOffline(`old-${i}`, `CO_old${i}`, longAgo + 1000);
    }
    for (let i = 0; i < 100; i++) await store.setOnline(`new-${i}`, `CO_new${i}`, 30_000, now, "n1");
    const seen = await store.getPresence(["old-0", "old-49", "new-0", "new-99"], now);
    assert.deepEqual(seen.map((p) => p.lastSeen), [0, 0, now, now]);
  } finally {
    await store.close();
  }
});

// A stream of new identities within the 30 days must not grow the map past a cap: a V8 Map cannot pass 2^24
// entries, and at that size every new identity's join would fail (probe: ~17 days at 1M new identities a day).
test("presence remembers at most maxRemembered identities: the one seen longest ago goes first, never one online", async () => {
  const presence = new MemoryPresence(() => false, 3);
  const now = Date.now();
  await presence.setOnline("always-on", "CO_on", 3_600_000, now, "n1");
  for (let i = 0; i < 4; i++) {
    await presence.setOnline(`u${i}`, `CO_u${i}`, 30_000, now + i, "n1");
    await presence.setOffline(`u${i}`, `CO_u${i}`, now + i);
  }
  // Three remembered, one of them online: u0 and u1 were forgotten for u2 and u3; u0, seen again, is
  // remembered again, in place of u2, and u4 takes u3's place.
  await presence.setOnline("u0", "CO_u0b", 30_000, now + 10, "n1");
  await presence.setOffline("u0", "CO_u0b", now + 10);
  await presence.setOnline("u4", "CO_u4", 30_000, now + 20, "n1");
  await presence.setOffline("u4", "CO_u4", now + 20);
  const seen = await presence.getPresence(["always-on", "u0", "u1", "u2", "u3", "u4"], now + 30);
  assert.deepEqual(seen.map((p) => [p.identity, p.online, p.lastSeen]), [
    ["always-on", true, now + 30],
    ["u0", false, now + 10],
    ["u1", false, 0],
    ["u2", false, 0],
    ["u3", false, 0],
    ["u4", false, now + 20],
  ]);
});

test("with every remembered identity online, a new one is still taken (the cap never forgets someone online)", async () => {
  const presence = new MemoryPresence(() => false, 2);
  const now = Date.now();
  for (const id of ["a", "b", "c"]) await presence.setOnline(id, `CO_${id}`, 60_000, now, "n1");
  const seen = await presence.getPresence(["a", "b", "c"], now + 1);
  assert.deepEqual(seen.map((p) => p.online), [true, true, true]);
});
