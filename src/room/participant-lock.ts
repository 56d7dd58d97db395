import { errors } from "../errors.js";
import type { Store } from "../store/store.js";

/** Far longer than a change takes; only a holder that died mid-change makes the next one wait it out. */
const LOCK_TTL_MS = 5000;
/** How long a change waits for another change to the same participant before it is refused. */
const WAIT_MS = 2000;

/**
 * Runs `change` holding the store's lock for one participant. A change to a participant is read, merged
 * and written back in separate store calls: without the lock two changes made at once (an admin's
 * UpdateParticipant and the participant's own `update_metadata`, on any nodes of a cluster) would each
 * write over the other and both announce the same `version`. Throws `participant_busy` when the lock is
 * not free within `WAIT_MS`.
 */
export async function withParticipantLock<T>(store: Store, room: string, identity: string, change: () => Promise<T>): Promise<T> {
  // Length-prefixed, so that no room and identity pair can name another pair's lock.
  const name = `participant:${room.length}:${room}:${identity}`;
  const deadline = Date.now() + WAIT_MS;
  let token = await store.tryLock(name, LOCK_TTL_MS);
  for (let pause = 2; token === undefined; pause = Math.min(pause * 2, 50)) {
    if (Date.now() >= deadline) throw errors.participantBusy();
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
