import type { DisconnectReason, ParticipantInfo } from "../../gen/volly/signaling/v1/models_pb.js";

/** A participant this node let go: its room, its last info, why, and until when it can still matter. */
export interface Departure {
  readonly room: string;
  readonly info: ParticipantInfo;
  readonly reason: DisconnectReason;
  readonly until: number;
}

/** Bounds the ledger whatever the churn; the oldest departure is forgotten first. */
const MAX_DEPARTURES = 10_000;

/**
 * The participants this node let go while their resume window runs: dropped (kept away for a resume) or
 * leaving while the store could not be written (a Redis outage). When Redis comes back empty their records
 * are gone and no node holds a connection to re-register them, so nothing else would ever tell their rooms
 * they are gone (`Rooms.announceDepartures`, run by the cluster node after it re-registered).
 */
export class DepartureLedger {
  private readonly departures = new Map<string, Departure>();

  record(d: Departure): void {
    this.departures.delete(d.info.sid);
    if (this.departures.size >= MAX_DEPARTURES) {
      const oldest = this.departures.keys().next();
      if (!oldest.done) this.departures.delete(oldest.value);
    }
    this.departures.set(d.info.sid, d);
  }

  /** The participant resumed here: its departure is void. */
  forget(sid: string): void {
    this.departures.delete(sid);
  }

  /** The departures whose window still runs at `now`; the others are dropped. */
  current(now: number): Departure[] {
    const out: Departure[] = [];
    for (const [sid, d] of this.departures) {
      if (d.until <= now) this.departures.delete(sid);
      else out.push(d);
    }
    return out;
  }
}
