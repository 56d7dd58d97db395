import { idRegressions } from "../cluster/id-regressions.js";
import { withoutOtherSelves, type StreamOwner } from "./other-selves.js";
import { UnackedWindow } from "./unacked-window.js";

/** Where a cursor sends, reads and reports: the participant's session. */
export interface CursorOwner {
  /** Sends one message to the client. */
  sendDelivered(id: bigint, response: Uint8Array): void;
  /** Reads the mailbox after `afterId` (to fill a gap). */
  readMailbox(afterId: bigint): Promise<{ messages: Array<{ id: bigint; response: Uint8Array }>; firstId: bigint }>;
  /** Told when messages were trimmed from the mailbox before this client could get them. */
  messagesLost(from: bigint, to: bigint): void;
}

/**
 * The cap on what a participant may leave unacknowledged (`VOLLY_MAX_UNACKED_BYTES`), and what is done past it.
 * One per node, shared by its cursors.
 */
export interface UnackedLimit<O> {
  readonly maxBytes: number;
  /** How many messages a mailbox keeps (`VOLLY_RESUME_QUEUE_LIMIT`): older ones pin nothing. */
  readonly window: number;
  /** `owner` passed `maxBytes`; called for each delivery while it stays past. */
  exceeded(owner: O, bytes: number): void;
}

/**
 * Keeps a participant's stream in message-id order. Deliveries normally arrive in order; across nodes two
 * senders' messages can arrive swapped, and a delivery can be lost on the bus. A gap is filled from the
 * mailbox, duplicates are dropped, so the client sees every id exactly once, in order. With a `recipient`,
 * what reaches it is screened of other sids of its own identity (see other-selves.ts).
 */
export class DeliveryCursor<O extends CursorOwner = CursorOwner> {
  private last: bigint;
  /**
   * Every id up to here may legitimately come again: it was read from the mailbox (a gap fill or the replay
   * of a resume, whose live copies can still be on their way), skipped as lost, or is below where the
   * connection started. A live delivery is otherwise routed once, so an older id above this one is not a
   * duplicate: Redis's state went back in time and gave it an id the client already has.
   */
  private mailboxUpTo: bigint;
  /** Made on the first delivery when there is a limit. */
  private unacked: UnackedWindow | undefined;
  /** Out-of-order deliveries waiting for a gap to fill; made on first use (an idle cursor never needs it). */
  private heldMap: Map<bigint, Uint8Array> | undefined;
  private filling = false;
  private open = false;

  /** An owner rather than three callbacks: a cursor lives as long as its connection, closures cost each one. */
  constructor(
    lastDelivered: bigint,
    private readonly owner: O,
    private readonly limit?: UnackedLimit<O>,
    private readonly recipient?: StreamOwner,
  ) {
    this.last = lastDelivered;
    this.mailboxUpTo = lastDelivered;
  }

  /** The highest id sent to the client. */
  get lastDelivered(): bigint {
    return this.last;
  }

  /** The highest id sent or waiting to be sent (new messages must get higher ids). */
  get highestSeen(): bigint {
    let high = this.last;
    if (this.heldMap) for (const id of this.heldMap.keys()) if (id > high) high = id;
    return high;
  }

  /** The client acknowledged every message up to `upTo` (no higher than `lastDelivered`). */
  acknowledged(upTo: bigint): void {
    this.unacked?.acknowledge(upTo);
  }

  /** Starts sending (after `join`/`reconnect` went out); until then deliveries are held. */
  start(): void {
    this.open = true;
    this.drain();
  }

  /** Replays messages read from the mailbox after a resume, then continues with live ones. */
  replay(messages: Array<{ id: bigint; response: Uint8Array }>): void {
    for (const m of messages) {
      if (m.id > this.last) this.held.set(m.id, m.response);
      if (m.id > this.mailboxUpTo) this.mailboxUpTo = m.id;
    }
    this.drain();
  }

  /** Reads the mailbox for messages after the last one here that never came live (the bus lost them). */
  catchUp(): void {
    if (this.open && !this.filling) void this.fill();
  }

  deliver(id: bigint, response: Uint8Array): void {
    if (id <= this.last) {
      // Off the in-order path: costs nothing there.
      if (id > this.mailboxUpTo) idRegressions.report({ owner: this.owner, id, lastDelivered: this.last, response });
      return;
    }
    if (id === this.last + 1n && this.open && !this.filling && (this.heldMap?.size ?? 0) === 0) {
      // The common case, in order with nothing waiting: straight through, no map.
      this.last = id;
      this.send(id, response);
      if (this.limit !== undefined) this.count(this.limit, id, response.length);
      return;
    }
    this.held.set(id, response);
    this.drain();
  }

  /** A message went out: it stays in the mailbox, pinning its bytes, until the client acknowledges it. */
  private count(limit: UnackedLimit<O>, id: bigint, size: number): void {
    const bytes = (this.unacked ??= new UnackedWindow(limit.window)).add(id, size);
    if (bytes > limit.maxBytes) limit.exceeded(this.owner, bytes);
  }

  /** Skipped ids (reported as lost) may still arrive live, late: not a regression then. */
  private skipTo(id: bigint): void {
    this.last = id;
    if (id > this.mailboxUpTo) this.mailboxUpTo = id;
  }

  private send(id: bigint, response: Uint8Array): void {
    this.owner.sendDelivered(id, this.recipient === undefined ? response : withoutOtherSelves(response, this.recipient));
  }

  private get held(): Map<bigint, Uint8Array> {
    return (this.heldMap ??= new Map());
  }

  private drain(): void {
    if (!this.open || this.filling || (this.heldMap?.size ?? 0) === 0) return;
    for (;;) {
      const next = this.held.get(this.last + 1n);
      if (next === undefined) break;
      this.held.delete(this.last + 1n);
      this.last += 1n;
      this.send(this.last, next);
      if (this.limit !== undefined) this.count(this.limit, this.last, next.length);
    }
    if (this.held.size > 0) void this.fill();
    else this.heldMap = undefined;
  }

  private async fill(): Promise<void> {
    this.filling = true;
    try {
      const { messages, firstId } = await this.owner.readMailbox(this.last);
      if (firstId > this.last + 1n && messages.length > 0) {
        this.owner.messagesLost(this.last + 1n, firstId - 1n);
        this.skipTo(firstId - 1n);
      }
      for (const m of messages) {
        if (m.id > this.last && !this.held.has(m.id)) this.held.set(m.id, m.response);
        if (m.id > this.mailboxUpTo) this.mailboxUpTo = m.id;
      }
      // Ids the mailbox no longer has and no delivery will bring: skip to the lowest held id.
      const lowest = [...this.held.keys()].reduce((a, b) => (b < a ? b : a), this.last + 2n ** 62n);
      if (this.held.size > 0 && !this.held.has(this.last + 1n) && messages.every((m) => m.id !== this.last + 1n)) {
        this.owner.messagesLost(this.last + 1n, lowest - 1n);
        this.skipTo(lowest - 1n);
      }
    } catch {
      // The store is down: keep what is held; the next delivery or the resume retries.
      this.filling = false;
      return;
    }
    this.filling = false;
    this.drain();
  }
}
