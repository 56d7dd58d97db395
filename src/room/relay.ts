import { create } from "@bufbuild/protobuf";
import { StoredCallSchema } from "../../gen/volly/signaling/v1/internal_pb.js";
import type { ParticipantPermission } from "../../gen/volly/signaling/v1/models_pb.js";
import {
  CallAction,
  CallActionSchema,
  DataAckSchema,
  SignalResponseSchema,
  type CallSignal,
  type DataMessage,
  type SessionDescription,
  type SignalRequest,
  type SignalResponse,
  type Trickle,
} from "../../gen/volly/signaling/v1/signal_pb.js";
import { MAX_NAME_CHARACTERS, withinCharacters } from "../auth/participant-names.js";
import type { Clock } from "../cluster/cluster-clock.js";
import type { Config } from "../config.js";
import { errors } from "../errors.js";
import type { Metrics } from "../metrics/metrics.js";
import type { MaybePromise, Store } from "../store/store.js";
import { buildRelayResponse, type RelayRequest } from "../protocol/relay-frames.js";
import type { Delivery } from "./delivery.js";
import { MESSAGE_LIMITS, withinBytes } from "./message-limits.js";

/** Who is sending: stamped on every relayed message (never taken from the client). */
export interface Sender {
  readonly room: string;
  readonly identity: string;
  readonly sid: string;
  readonly canSignal: boolean;
  readonly canPublishData: boolean;
}

/**
 * What `who` may relay with `permission`: signalling needs publish or subscribe, data publish-data. The
 * names are `who`'s own strings (a session's), kept for the connection's life, not copies from a record.
 */
export function senderOf(who: Pick<Sender, "room" | "identity" | "sid">, permission: ParticipantPermission | undefined): Sender {
  return {
    room: who.room,
    identity: who.identity,
    sid: who.sid,
    canSignal: (permission?.canPublish ?? false) || (permission?.canSubscribe ?? false),
    canPublishData: permission?.canPublishData ?? false,
  };
}

type Relayable = Extract<SignalRequest["message"], { case: "offer" | "answer" | "trickle" | "call" | "data" }>;

/**
 * A JSON frame's unknown enum name is dropped like an unknown field, so a missing action and a misspelt one
 * look the same here: the refusal lists what is accepted.
 */
const CALL_ACTIONS_EXPECTED = `call action is missing or unknown: ${CallActionSchema.values
  .filter((v) => v.number !== CallAction.UNSPECIFIED)
  .map((v) => v.name)
  .join(", ")}, or its number`;
const MAX_CANDIDATE = 4096;
/**
 * An offer's or answer's SDP (a few KB in practice, tens with many media sections). It bounds what a mailbox
 * can be made to hold: a participant away for its resume window keeps up to `VOLLY_RESUME_QUEUE_LIMIT`
 * messages, and no SDP may make each of them as large as a whole frame.
 */
const MAX_SDP = 65_536;

/**
 * Peer-to-peer relay: offer, answer, trickle and call go to exactly one participant of the sender's room,
 * data to one participant or the whole room. A target outside the room is `not_found`, whether or not
 * the identity exists elsewhere, and nothing is delivered.
 */
export class Relay {
  constructor(
    private readonly config: Config,
    private readonly store: Store,
    /** The cluster's clock: a call's times are stored and compared across nodes. */
    private readonly clock: Clock,
    private readonly delivery: Delivery,
    private readonly metrics: Metrics,
  ) {}

  /** Relays one message; returns the direct answer to the sender (a `data_ack`), if any. */
  async relay(sender: Sender, message: Relayable): Promise<SignalResponse | undefined> {
    switch (message.case) {
      case "offer":
      case "answer":
        return this.sessionDescription(sender, message.case, message.value);
      case "trickle":
        return this.trickle(sender, message.value);
      case "call":
        return this.call(sender, message.value);
      case "data":
        return this.data(sender, message.value);
    }
  }

  /**
   * The fast path for an offer, answer or trickle parsed straight from its bytes (relay-frames.ts): the
   * same checks as the decoded path, and the response spliced from the request's bytes and the sender's
   * `stamp` (`senderFields`). Done at once when the store answers at once; may throw instead of rejecting.
   */
  relayFrame(sender: Sender, request: RelayRequest, stamp: string): MaybePromise<void> {
    this.requireSignal(sender);
    checkTarget(request.target);
    if (request.callIdLength > MESSAGE_LIMITS.id) throw errors.fieldTooLarge("call_id", MESSAGE_LIMITS.id);
    if (request.kind === "trickle" && request.payloadLength > MAX_CANDIDATE) throw errors.fieldTooLarge("candidate", MAX_CANDIDATE);
    if (request.kind !== "trickle" && request.payloadLength > MAX_SDP) throw errors.fieldTooLarge("sdp", MAX_SDP);
    // No async function on this path: see SessionInbound.relayOne.
    const found = this.delivery.toParticipant(sender.room, request.target, buildRelayResponse(request, stamp));
    return found instanceof Promise ? found.then(requireFound) : requireFound(found);
  }

  private async sessionDescription(sender: Sender, kind: "offer" | "answer", sd: SessionDescription): Promise<undefined> {
    this.requireSignal(sender);
    checkTarget(sd.target);
    checkCallId(sd.callId, false);
    if (Buffer.byteLength(sd.sdp) > MAX_SDP) throw errors.fieldTooLarge("sdp", MAX_SDP);
    sd.from = sender.identity;
    sd.fromSid = sender.sid;
    const response = create(SignalResponseSchema, { message: { case: kind, value: sd } });
    await this.to(sender, sd.target, response);
    return undefined;
  }

  private async trickle(sender: Sender, t: Trickle): Promise<undefined> {
    this.requireSignal(sender);
    checkTarget(t.target);
    checkCallId(t.callId, false);
    if (Buffer.byteLength(t.candidate) > MAX_CANDIDATE) throw errors.fieldTooLarge("candidate", MAX_CANDIDATE);
    t.from = sender.identity;
    t.fromSid = sender.sid;
    await this.to(sender, t.target, create(SignalResponseSchema, { message: { case: "trickle", value: t } }));
    return undefined;
  }

  private async call(sender: Sender, c: CallSignal): Promise<undefined> {
    this.requireSignal(sender);
    checkTarget(c.target);
    checkCallId(c.callId, true);
    if (!withinBytes(c.reason, MESSAGE_LIMITS.callReason)) throw errors.fieldTooLarge("reason", MESSAGE_LIMITS.callReason);
    if (c.action === CallAction.UNSPECIFIED || CallAction[c.action] === undefined) throw errors.malformedMessage(CALL_ACTIONS_EXPECTED);
    const now = this.clock.now();
    if (c.action === CallAction.INVITE) {
      if (c.target === sender.identity) throw errors.callSelf();
      if (!(await this.store.getParticipant(sender.room, c.target))) throw errors.targetNotFound();
      // A call id names one call: another pair's INVITE must not take over (and end) a call it guessed.
      // The same caller inviting the same callee again (a retry) re-opens its own call.
      const existing = await this.store.getCall(sender.room, c.callId);
      if (existing && (existing.caller !== sender.identity || existing.callee !== c.target)) throw errors.callIdInUse();
      await this.store.putCall(create(StoredCallSchema, {
        callId: c.callId, room: sender.room, caller: sender.identity, callee: c.target,
        audio: c.audio, video: c.video, invitedAt: BigInt(now),
      }));
    } else {
      const call = await this.store.getCall(sender.room, c.callId);
      const between = call !== undefined &&
        ((call.caller === sender.identity && call.callee === c.target) || (call.callee === sender.identity && call.caller === c.target));
      if (!call || !between) {
        // A target outside the room is `target_not_found` for every action, as for INVITE and an offer:
        // looked up only on this refusal path, so a call action between the two costs nothing more.
        if (!(await this.store.getParticipant(sender.room, c.target))) throw errors.targetNotFound();
        throw errors.callNotFound();
      }
      if (c.action === CallAction.ACCEPT) {
        call.accepted = true;
        await this.store.putCall(call);
      } else if (c.action === CallAction.REJECT || c.action === CallAction.HANGUP) {
        await this.store.deleteCall(sender.room, c.callId);
      } else if (c.action === CallAction.CONNECTED && !call.connected.includes(sender.identity)) {
        // Both peers report CONNECTED at about the same moment, often on two nodes: the store adds each
        // atomically and says which report completed the call, so it is observed exactly once.
        const connected = await this.store.addCallConnected(sender.room, c.callId, sender.identity, now);
        if (connected?.established) this.metrics.connectionEstablishment.observe((now - Number(connected.call.invitedAt)) / 1000);
      }
    }
    c.from = sender.identity;
    c.fromSid = sender.sid;
    await this.to(sender, c.target, create(SignalResponseSchema, { message: { case: "call", value: c } }));
    return undefined;
  }

  private async data(sender: Sender, d: DataMessage): Promise<SignalResponse> {
    if (!sender.canPublishData) throw errors.permissionDenied("publish data");
    if (d.payload.length > this.config.limits.maxDataBytes) throw errors.fieldTooLarge("payload", this.config.limits.maxDataBytes);
    if (!withinBytes(d.topic, MESSAGE_LIMITS.topic)) throw errors.fieldTooLarge("topic", MESSAGE_LIMITS.topic);
    if (!withinBytes(d.id, MESSAGE_LIMITS.id)) throw errors.fieldTooLarge("id", MESSAGE_LIMITS.id);
    d.from = sender.identity;
    d.fromSid = sender.sid;
    const response = create(SignalResponseSchema, { message: { case: "data", value: d } });
    let recipients: number;
    if (d.target === "") recipients = await this.delivery.toRoom(sender.room, response, sender.sid);
    else {
      checkTarget(d.target);
      await this.to(sender, d.target, response);
      recipients = 1;
    }
    return create(SignalResponseSchema, { message: { case: "dataAck", value: create(DataAckSchema, { id: d.id, recipients }) } });
  }

  private async to(sender: Sender, target: string, response: SignalResponse): Promise<void> {
    if (!(await this.delivery.toParticipant(sender.room, target, response))) throw errors.targetNotFound();
  }

  private requireSignal(sender: Sender): void {
    if (!sender.canSignal) throw errors.permissionDenied("signal (needs canPublish or canSubscribe)");
  }
}

function requireFound(found: boolean): void {
  if (!found) throw errors.targetNotFound();
}

function checkTarget(target: string): void {
  if (target === "") throw errors.targetMissing();
  // A name longer than an identity may be belongs to no one: answered as any absent target, before the store
  // is asked (the Redis mailbox batch has room for 65,535 bytes of name, and refused the whole send). Counted
  // in characters, as identities are, so an identity of 256 emoji stays reachable.
  if (!withinCharacters(target, MAX_NAME_CHARACTERS)) throw errors.targetNotFound();
}

function checkCallId(callId: string, required: boolean): void {
  // Optional on offers, answers and candidates (a relay outside a call); required by call actions.
  if (!withinBytes(callId, MESSAGE_LIMITS.id)) throw errors.fieldTooLarge("call_id", MESSAGE_LIMITS.id);
  if (required && callId === "") throw errors.callIdMissing();
}
