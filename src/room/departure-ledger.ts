import type { DisconnectReason, ParticipantInfo } from "../../gen/volly/signaling/v1/models_pb.js";
import type { Clock } from "../cluster/cluster-clock.js";

/** A participant this node let go: its room, its last info, why, and until when it can still matter. */
export interface Departure {
  readonly room: string;
  readonly info: ParticipantInfo;
  readonly reason: DisconnectReason;
  /** On the cluster clock. */
  readonly until: number;
}

/** Bounds the ledger whatever the churn; the oldest departure is forgotten first. */
const MAX_DEPARTURES = 10_000;
/** Past a departure's window it is forgotten within this long (one timer for the whole ledger). */
const PRUNE_SLACK_MS = 1000;

/**
 * The participants this node let go while their resume window runs: dropped (kept away for a resume) or
 * leaving while the store could not be written (a Redis outage). When Redis comes back empty their records
 * are gone and no node holds a connection to re-register them, so nothing else would ever tell their rooms
 * they are gone (`Rooms.announceDepartures`, run by the cluster node after it re-registered).
 *
 * A departure holds the participant's last info, metadata and attributes included (up to 128 KiB), so it is
 * forgotten when its window ends, by a timer: only an empty Redis restart reads the ledger, and without one a
 * node under churn kept every participant that dropped and never resumed here, up to the cap.
 */
export class DepartureLedger {
  private readonly departures = new Map<string, Departure>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly clock: Clock) {}

  record(d: Departure): void {
    this.departures.delete(d.info.sid);
    if (this.departures.size >= MAX_DEPARTURES) {
      const oldest = this.departures.keys().next();
      if (!oldest.done) this.departures.delete(oldest.value);
    }
    this.departures.set(d.info.sid, d);
    this.schedule();
  }

  /** The participant resumed (here or on another node) or was removed: its departure is void. */
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

  /** How many departures are held (for tests and sizing). */
  get size(): number {
    return this.departures.size;
  }

  /** Stops the pruning timer (the node is closing). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * One timer, for the earliest window's end. Windows are all the same length from when they were recorded,
   * so insertion order is nearly end order: a departure whose window ends earlier than the first one's (the
   * resume window shortened by a restart) waits at most for it, and is dropped by `current` meanwhile.
   */
  private schedule(): void {
    if (this.timer !== undefined) return;
    const first = this.departures.values().next();
    if (first.done) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = this.clock.now();
      for (const [sid, d] of this.departures) {
        if (d.until > now) break;
        this.departures.delete(sid);
      }
      this.schedule();
    }, Math.max(0, first.value.until - this.clock.now()) + PRUNE_SLACK_MS);
    // The ledger is no reason for the process to stay up.
    this.timer.unref();
  }
}
