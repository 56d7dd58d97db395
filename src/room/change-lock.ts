import { errors } from "../errors.js";
import type { Store } from "../store/store.js";

/** Far longer than a change takes; only a holder that died mid-change makes the next one wait it out. */
const LOCK_TTL_MS = 5000;
/** How long a change waits for another change to the same thing before it is refused. */
const WAIT_MS = 2000;

/** What a change is made to: one participant of a room, or a room's own description. */
export type ChangeTarget = { readonly room: string; readonly identity: string } | { readonly room: string; readonly identity?: undefined };

/**
 * Runs `change` holding the store's lock for `target`. A change is read, merged and written back, then
 * announced, in separate store calls: without the lock two changes made at once (an admin's
 * UpdateParticipant and the participant's own `update_metadata`, or two UpdateRoomMetadata, on any nodes of
 * a cluster) could each write over the other, and their announcements reach the room in either order, so
 * that clients keep a value the store no longer has. Throws `change_busy` when the lock is not free within
 * `WAIT_MS`, or, `whenBusy: "run anyway"`, runs `change` without it (what may not be refused: a removal).
 */
export async function withChangeLock<T>(store: Store, target: ChangeTarget, change: () => Promise<T>, whenBusy: "refuse" | "run anyway" = "refuse"): Promise<T> {
  // Length-prefixed, so that no room and identity pair can name another pair's (or a room's) lock.
  const name = target.identity === undefined ? `room:${target.room}` : `participant:${target.room.length}:${target.room}:${target.identity}`;
  const deadline = performance.now() + WAIT_MS; // monotonic: a wall-clock step is no wait
  let token = await store.tryLock(name, LOCK_TTL_MS);
  for (let pause = 2; token === undefined; pause = Math.min(pause * 2, 50)) {
    if (performance.now() >= deadline) {
      if (whenBusy === "run anyway") return change();
      throw errors.changeBusy(target.identity === undefined ? "room" : "participant");
    }
    // Jittered, so that changes queued behind one holder do not all retry at the same moment.
    await new Promise((resolve) => setTimeout(resolve, pause * (0.5 + Math.random())));
    token = await store.tryLock(name, LOCK_TTL_MS);
  }
  try {
    return await change();
  } finally {
    // A lock not released expires by itself.
    await store.unlock(name, token).catch(() => {});
  }
}
