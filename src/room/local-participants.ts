import type { StoredParticipant } from "../../gen/volly/signaling/v1/internal_pb.js";
import type { DisconnectReason, LeaveAction, Room } from "../../gen/volly/signaling/v1/models_pb.js";

/** What a node re-registers for a connection it holds, when the store lost it (see `HeldState`). */
export interface HeldParticipant {
  /** The room as the participant joined it (re-created from this if it is gone). */
  readonly room: Room;
  /** The participant's current record (info, room, this node). */
  readonly participant: StoredParticipant;
  /** The lowest id the next message may get: above every id the connection has delivered or holds. */
  readonly nextMessageId: bigint;
  /** The key its presence is kept under. */
  readonly presenceKey: string;
}

/** What the node needs from a participant connection it holds. */
export interface LocalParticipant {
  readonly sid: string;
  readonly identity: string;
  readonly room: string;
  /** A message from the participant's mailbox: a binary SignalResponse without message_id. */
  deliver(messageId: bigint, response: Uint8Array): void;
  /** Reads its mailbox for messages the bus lost (`Bus.onLoss`). */
  catchUp(): void;
  /**
   * Ends the connection: sends `leave{reason, action}` and closes. `alreadyRemoved` means the store no
   * longer lists the participant, so it must not be removed or announced again.
   */
  disconnect(reason: DisconnectReason, action: LeaveAction, alreadyRemoved: boolean): void;
  /** What the node holds for this connection; undefined until it has joined (or resumed), and once it asked to leave. */
  held(): HeldParticipant | undefined;
}

/** The participant connections this node holds, by participant sid. */
export class LocalParticipants {
  private readonly bySid = new Map<string, LocalParticipant>();
  /**
   * Participants whose connection closed and whose departure (dropped, or left) is still being written: the
   * store still lists them here, present, and a reconciliation reading it meanwhile must not take them
   * for orphans (it marked them dropped a second time, with a warning about store trouble that was not there).
   */
  private readonly departing = new Map<string, number>();

  get size(): number {
    return this.bySid.size;
  }

  get(sid: string): LocalParticipant | undefined {
    return this.bySid.get(sid);
  }

  /** Registers `p`; returns the connection it replaces (a resume on the same node), if any. */
  add(p: LocalParticipant): LocalParticipant | undefined {
    const previous = this.bySid.get(p.sid);
    this.bySid.set(p.sid, p);
    return previous === p ? undefined : previous;
  }

  /** Removes `p` only if it is still the registered connection for its sid. */
  remove(p: LocalParticipant): void {
    if (this.bySid.get(p.sid) === p) this.bySid.delete(p.sid);
  }

  /** Participant `sid`'s departure is being written until `written` settles. */
  departs(sid: string, written: Promise<unknown>): void {
    this.departing.set(sid, (this.departing.get(sid) ?? 0) + 1);
    const done = () => {
      const n = (this.departing.get(sid) ?? 1) - 1;
      if (n > 0) this.departing.set(sid, n);
      else this.departing.delete(sid);
    };
    written.then(done, done);
  }

  /** Whether participant `sid`'s departure from this node is still being written. */
  isDeparting(sid: string): boolean {
    return this.departing.has(sid);
  }

  all(): LocalParticipant[] {
    return [...this.bySid.values()];
  }
}
