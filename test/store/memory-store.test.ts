import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryBus } from "../../src/bus/memory-bus.js";
import { MAX_SHARED_ENTRIES } from "../../src/store/memory-rooms.js";
import { createMemoryStore } from "../../src/store/memory-store.js";
import { busContract } from "./bus.contract.js";
import { participant, room } from "./contract-fixtures.js";
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
      await store.enqueue("views", "a", view, 1000);
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
