import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import {
  BusEnvelopeSchema,
  DeliverySchema,
  DisconnectSchema,
  type StoredParticipant,
} from "../../gen/volly/signaling/v1/internal_pb.js";
import type { DisconnectReason, LeaveAction } from "../../gen/volly/signaling/v1/models_pb.js";
import { SignalResponseSchema, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { nodeTopic, type Bus, type Unsubscribe } from "../bus/bus.js";
import { forEachBusDelivery, forEachRoutedDelivery, readBatchRouting, type BatchRouting } from "../protocol/bus-deliveries.js";
import type { MailboxLimits, MaybePromise, QueuedMessage, Store } from "../store/store.js";
import type { DepartureLedger } from "./departure-ledger.js";
import type { LocalParticipants } from "./local-participants.js";

/** Called when a mailbox overflows while its participant is away: the participant must be ended. */
export type OverflowHandler = (sid: string) => void;

/**
 * Routes messages to participants wherever they are connected: every message first gets the recipient's
 * next message id in its mailbox (so it survives a drop), then goes to the node holding the recipient,
 * directly when that is this node, over the bus otherwise. A store that shares its server with the bus
 * (Redis) publishes to the other node itself, in the step that queues the message (`forwarded`), and
 * batches the messages of one event-loop turn: one envelope per node carries them all, in id order.
 */
export class Delivery {
  private unsubscribe: Unsubscribe | undefined;
  /** Announced by the previous bus message: the next one is a packed batch (`BatchRouting`, internal.proto). */
  private routing: BatchRouting | undefined;
  onOverflow: OverflowHandler = () => {};

  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly nodeId: string,
    private readonly local: LocalParticipants,
    private readonly limits: MailboxLimits,
    private readonly log: Logger,
    /** This node's departures (clustered): one another node ends here was resumed there, or removed. */
    private readonly departures?: DepartureLedger,
  ) {}

  /** Starts listening on this node's topic. */
  async start(): Promise<void> {
    this.unsubscribe = await this.bus.subscribe(nodeTopic(this.nodeId), (payload) => this.onBusMessage(payload));
    // Deliveries published while the bus could not deliver are in the mailboxes only: each local participant
    // reads its own, or a message sent in that time would wait for the next one to reveal the gap.
    this.bus.onLoss(() => {
      for (const participant of this.local.all()) participant.catchUp();
    });
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /**
   * Queues `response` for `identity` in `room` and routes it; false when no such participant is there. Not
   * an async function: every relayed message comes this way (see SessionInbound.relayOne), and a store that
   * answers at once (memory) is routed at once, with no promise. May throw instead of rejecting.
   */
  toParticipant(room: string, identity: string, response: SignalResponse | Uint8Array): MaybePromise<boolean> {
    const bytes = response instanceof Uint8Array ? response : toBinary(SignalResponseSchema, response);
    const queued = this.store.enqueue(room, identity, bytes, this.limits, this.nodeId);
    return queued instanceof Promise ? queued.then((q) => this.routed(q, bytes)) : this.routed(queued, bytes);
  }

  private routed(queued: (QueuedMessage & { overflow: boolean }) | undefined, bytes: Uint8Array): boolean {
    if (queued === undefined) return false;
    this.route(queued, bytes);
    return true;
  }

  /** Queues `response` for everyone in `room` but `exceptSid`; returns the number of recipients. */
  async toRoom(room: string, response: SignalResponse | Uint8Array, exceptSid?: string): Promise<number> {
    const bytes = response instanceof Uint8Array ? response : toBinary(SignalResponseSchema, response);
    const queued = await this.store.enqueueRoom(room, bytes, this.limits, exceptSid, this.nodeId);
    for (const q of queued) this.route(q, bytes);
    return queued.length;
  }

  /** Ends a participant's connection wherever it is. */
  async disconnect(p: StoredParticipant, reason: DisconnectReason, action: LeaveAction, alreadyRemoved: boolean): Promise<void> {
    const sid = p.info?.sid ?? "";
    if (p.nodeId === this.nodeId) {
      this.local.get(sid)?.disconnect(reason, action, alreadyRemoved);
      return;
    }
    const envelope = create(BusEnvelopeSchema, {
      message: { case: "disconnect", value: create(DisconnectSchema, { sid, reason, action, alreadyRemoved }) },
    });
    await this.bus.publish(nodeTopic(p.nodeId), toBinary(BusEnvelopeSchema, envelope));
  }

  /** A message another node (or the store for it) routed here; one recipient's failure costs no other its messages. */
  private readonly deliverForwarded = (sid: string, messageId: bigint, response: Uint8Array): void => {
    try {
      this.local.get(sid)?.deliver(messageId, response);
    } catch (e) {
      this.log.error({ err: e, sid }, "bus delivery failed");
    }
  };

  private route(q: QueuedMessage & { overflow: boolean }, bytes: Uint8Array): void {
    if (q.overflow) this.onOverflow(q.sid);
    if (q.nodeId === this.nodeId) {
      this.local.get(q.sid)?.deliver(q.messageId, bytes);
      return;
    }
    if (q.forwarded) return;
    const envelope = create(BusEnvelopeSchema, {
      message: { case: "delivery", value: create(DeliverySchema, { sid: q.sid, messageId: q.messageId, response: bytes }) },
    });
    this.bus.publish(nodeTopic(q.nodeId), toBinary(BusEnvelopeSchema, envelope)).catch((e: unknown) => {
      // The message is in the recipient's mailbox; it is replayed on the recipient's next gap or resume.
      this.log.warn({ err: e, sid: q.sid }, "bus publish failed");
    });
  }

  private onBusMessage(payload: Uint8Array): void {
    const routing = this.routing;
    if (routing !== undefined) {
      this.routing = undefined;
      if (forEachRoutedDelivery(routing, payload, this.deliverForwarded)) return;
      // Its batch was lost (a reconnect between the two): the messages wait in their mailboxes, and are
      // replayed on the recipients' next gap or resume. This payload is an envelope of its own.
      this.log.warn({ messages: routing.index.length }, "a routed batch did not follow its routing");
    }
    this.routing = readBatchRouting(payload);
    if (this.routing !== undefined) return;
    if (forEachBusDelivery(payload, this.deliverForwarded)) return;
    let envelope;
    try {
      envelope = fromBinary(BusEnvelopeSchema, payload);
    } catch (e) {
      this.log.error({ err: e }, "undecodable bus envelope");
      return;
    }
    const m = envelope.message;
    if (m.case === "delivery") this.deliverForwarded(m.value.sid, m.value.messageId, m.value.response);
    else if (m.case === "deliveries") {
      for (const d of m.value.deliveries) this.deliverForwarded(d.sid, d.messageId, d.response);
    } else if (m.case === "disconnect") {
      // Whatever this node still remembers of the participant is void: it resumed on the sender, or was
      // removed. Kept, its departure would be announced after an empty Redis restart, while it is connected.
      if (m.value.alreadyRemoved) this.departures?.forget(m.value.sid);
      this.local.get(m.value.sid)?.disconnect(m.value.reason, m.value.action, m.value.alreadyRemoved);
    }
  }
}
