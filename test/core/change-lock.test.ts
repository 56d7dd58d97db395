import assert from "node:assert/strict";
import { test } from "node:test";
import { errorIdOf } from "../../src/errors.js";
import { withChangeLock } from "../../src/room/change-lock.js";
import { createMemoryStore } from "../../src/store/memory-store.js";

test("changes to one participant, or one room, run one at a time; one that cannot get its turn is change_busy", async () => {
  const store = createMemoryStore();
  const order: string[] = [];
  let release: () => void = () => {};
  const first = withChangeLock(store, { room: "r", identity: "alice" }, async () => {
    order.push("first in");
    await new Promise<void>((resolve) => (release = resolve));
    order.push("first out");
  });
  const second = withChangeLock(store, { room: "r", identity: "alice" }, async () => {
    order.push("second");
  });
  // Another participant, the same identity in another room, and the room itself are not held up.
  await withChangeLock(store, { room: "r", identity: "bob" }, async () => order.push("bob"));
  await withChangeLock(store, { room: "r2", identity: "alice" }, async () => order.push("alice in r2"));
  await withChangeLock(store, { room: "r" }, async () => order.push("room r"));
  release();
  await Promise.all([first, second]);
  assert.deepEqual(order, ["first in", "bob", "alice in r2", "room r", "first out", "second"]);

  // A holder that never lets go (its node died mid-change): the next change gives up after its wait.
  void withChangeLock(store, { room: "r" }, () => new Promise<never>(() => {}));
  await assert.rejects(withChangeLock(store, { room: "r" }, async () => assert.fail("ran without the lock")), (e) => errorIdOf(e) === "change_busy");
});
