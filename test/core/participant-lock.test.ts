import assert from "node:assert/strict";
import { test } from "node:test";
import { errorIdOf } from "../../src/errors.js";
import { withParticipantLock } from "../../src/room/participant-lock.js";
import { createMemoryStore } from "../../src/store/memory-store.js";

test("changes to one participant run one at a time; a change that cannot get its turn is participant_busy", async () => {
  const store = createMemoryStore();
  const order: string[] = [];
  let release: () => void = () => {};
  const first = withParticipantLock(store, "r", "alice", async () => {
    order.push("first in");
    await new Promise<void>((resolve) => (release = resolve));
    order.push("first out");
  });
  const second = withParticipantLock(store, "r", "alice", async () => {
    order.push("second");
  });
  // Another participant, or the same identity in another room, is not held up.
  await withParticipantLock(store, "r", "bob", async () => order.push("bob"));
  await withParticipantLock(store, "r2", "alice", async () => order.push("alice in r2"));
  release();
  await Promise.all([first, second]);
  assert.deepEqual(order, ["first in", "bob", "alice in r2", "first out", "second"]);

  // A holder that never lets go (its node died mid-change): the next change gives up after its wait.
  void withParticipantLock(store, "r", "carol", () => new Promise<never>(() => {}));
  await assert.rejects(withParticipantLock(store, "r", "carol", async () => assert.fail("ran without the lock")), (e) => errorIdOf(e) === "participant_busy");
});
