import type { Logger } from "pino";
import { DisconnectReason } from "../../gen/volly/signaling/v1/models_pb.js";
import { errorIdOf } from "../errors.js";
import type { Store } from "../store/store.js";
import type { OverflowHandler } from "./delivery.js";
import type { Rooms } from "./membership.js";

/** A deadline past every resume window: the store's "away, whatever its deadline". */
const STILL_AWAY = Number.MAX_SAFE_INTEGER;

/**
 * What happens when an away participant's mailbox overflows (see MailboxLimits): it could only resume
 * with a gap, so it leaves now (`RESUME_FAILED`) and its room is told.
 * Best effort: with the store down it is left to its resume window; a failure here is logged, never
 * thrown, since nothing awaits it and an unhandled rejection ends the process.
 */
export function endAwayOnOverflow(store: Store, rooms: Rooms, log: Logger): OverflowHandler {
  return (sid) => {
    void (async () => {
      const p = await store.getParticipantBySid(sid);
      // Only while it is still away: a resume between the read and the removal keeps it (the resume itself
      // refuses a gap), and removing it then would leave its new connection open with nobody behind it.
      if (p?.info && p.awayUntil > 0n) await rooms.leave(p.room, p.info.identity, sid, DisconnectReason.RESUME_FAILED, { awayExpiredBy: STILL_AWAY });
    })().catch((e: unknown) => log.warn({ sid, ...(errorIdOf(e) ? { error: errorIdOf(e) } : { err: e }) }, "participant of an overflowed mailbox not ended"));
  };
}
