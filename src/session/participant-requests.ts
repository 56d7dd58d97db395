import { create } from "@bufbuild/protobuf";
import { DisconnectReason, LeaveAction } from "../../gen/volly/signaling/v1/models_pb.js";
import {
  DiscoverResponseSchema,
  PongSchema,
  RefreshTokenSchema,
  SignalResponseSchema,
  UserPresenceSchema,
  type SignalRequest,
  type UpdateMetadataRequest,
} from "../../gen/volly/signaling/v1/signal_pb.js";
import { MAX_NAME_CHARACTERS, withinCharacters } from "../auth/participant-names.js";
import { errors } from "../errors.js";
import { participantUpdate } from "../room/membership.js";
import { senderOf, type Sender } from "../room/relay.js";
import { dataBytes, descriptionBytes, FanoutBudget } from "./fanout-budget.js";
import { markOffline } from "./session-entry.js";
import type { SignalSession } from "./signal-session.js";
import { refreshValiditySeconds } from "./token-refresh.js";

/** What a joined participant can ask for. Each handler throws catalogue errors for bad requests. */
export class ParticipantRequests {
  private lastAck = 0n;
  /** Made by the first broadcast: most connections never send one, and a connection is kept for hours. */
  private budget: FanoutBudget | undefined;
  /** The participant asked to leave: it is being marked offline, and must not be refreshed online again. */
  leaving = false;

  constructor(private readonly s: SignalSession) {}

  async handle(request: SignalRequest): Promise<void> {
    const m = request.message;
    switch (m.case) {
      case "offer":
      case "answer":
      case "trickle":
      case "call":
      case "data": {
        // Only a broadcast is charged to the fan-out budget: one recipient costs what the message rate allows.
        const broadcast = m.case === "data" && m.value.target === "" ? m.value : undefined;
        if (broadcast && !this.fanout().admitted(request.requestId)) return;
        const started = performance.now();
        const reply = await this.s.svc.relay.relay(this.sender(), m);
        this.s.svc.metrics.relayLatency.record((performance.now() - started) / 1000);
        if (broadcast && reply?.message.case === "dataAck") this.fanout().charge(dataBytes(broadcast), reply.message.value.recipients);
        if (reply) this.reply(reply, request.requestId);
        return;
      }
      case "discover":
        return this.discover(m.value.identities, request.requestId);
      case "updateMetadata":
        return this.updateMetadata(m.value, request.requestId);
      case "ping":
        this.reply(create(SignalResponseSchema, {
          message: { case: "pong", value: create(PongSchema, { lastPingTimestamp: m.value.timestamp, timestamp: BigInt(this.s.svc.clock.now()) }) },
        }), request.requestId);
        return this.ack(m.value.lastMessageId);
      case "ack":
        return this.ack(m.value.lastMessageId);
      case "leave":
        return this.leave();
      case undefined:
        throw errors.malformedMessage("empty message");
      default:
        throw errors.unexpectedMessage(m.case);
    }
  }

  /** Sends a fresh token for the next reconnect, valid past the next refresh and a resume after it. */
  async refreshToken(): Promise<void> {
    const { liveness, resume } = this.s.svc.config;
    try {
      const validity = refreshValiditySeconds(liveness.tokenRefreshSeconds, resume.windowMs / 1000);
      const { token, expiresAtMs } = await this.s.svc.tokens.refresh(this.s.claims, validity);
      this.s.send(create(SignalResponseSchema, {
        message: { case: "refreshToken", value: create(RefreshTokenSchema, { token, expiresAt: BigInt(expiresAtMs) }) },
      }));
    } catch (e) {
      this.s.log.error({ err: e }, "token refresh failed");
    }
  }

  private fanout(): FanoutBudget {
    return (this.budget ??= new FanoutBudget(this.s));
  }

  private sender(): Sender {
    return this.s.sender ?? senderOf(this.s, undefined);
  }

  private reply(response: ReturnType<typeof create<typeof SignalResponseSchema>>, requestId: number): void {
    response.requestId = requestId;
    this.s.send(response);
  }

  private async discover(identities: string[], requestId: number): Promise<void> {
    const max = this.s.svc.config.limits.maxDiscover;
    if (identities.length > max) throw errors.discoverTooMany(max);
    // Characters as a join counts them (an emoji is one, though two UTF-16 units): any identity that can join can be asked about.
    if (identities.some((i) => !withinCharacters(i, MAX_NAME_CHARACTERS))) throw errors.malformedMessage(`identity longer than ${MAX_NAME_CHARACTERS} characters`);
    const presence = await this.s.svc.store.getPresence(identities, this.s.svc.clock.now());
    const users = presence.map((p) => create(UserPresenceSchema, { identity: p.identity, online: p.online, lastSeen: BigInt(p.lastSeen) }));
    this.reply(create(SignalResponseSchema, { message: { case: "discover", value: create(DiscoverResponseSchema, { users }) } }), requestId);
  }

  private async updateMetadata(req: UpdateMetadataRequest, requestId: number): Promise<void> {
    const self = this.s.self;
    if (!self?.info) throw errors.unexpectedMessage("updateMetadata");
    if (!self.info.permission?.canUpdateMetadata) throw errors.permissionDenied("update own metadata (needs canUpdateOwnMetadata)");
    // Refused before anything is stored: a refused change is neither made nor announced.
    if (!this.fanout().admitted(requestId)) return;
    let recipients = 0;
    // Merged onto the stored record, not the session's copy: an admin (RoomService) may have changed it.
    // In this message an empty metadata or name means "unchanged" (proto3 strings cannot be absent).
    const changed = await this.s.svc.rooms.change(this.s.room, this.s.identity, this.s.sid, {
      metadata: req.metadata !== "" ? req.metadata : undefined,
      name: req.name !== "" ? req.name : undefined,
      attributes: req.attributes,
    }, { announced: (n) => (recipients = n) });
    const info = changed?.info;
    if (!info) throw errors.resumeUnknown();
    this.fanout().charge(descriptionBytes(info), recipients);
    self.info = info;
    this.s.updateSelf(self);
    // The participant learns its new description (and version) as LiveKit's do, before the `pong` that
    // settles the request: the SDK's `localParticipant` is current when `updateMetadata()` resolves.
    this.s.send(participantUpdate(info));
  }

  /**
   * Not awaited by the request that carries it: an acknowledgement only lets the store drop messages
   * sooner, and the client's next request must not wait for the store (which may hold acknowledgements
   * back to send them together, see ack-batcher.ts). Best effort: a failed one is retried by the next.
   */
  private ack(lastMessageId: bigint): void {
    const delivered = this.s.cursor?.lastDelivered ?? 0n;
    const upTo = lastMessageId > delivered ? delivered : lastMessageId;
    if (upTo <= this.lastAck) return;
    // Counted here even if the store misses it: the client did acknowledge, and the next ack catches up.
    this.s.cursor?.acknowledged(upTo);
    const previous = this.lastAck;
    this.lastAck = upTo;
    this.s.svc.store.ackMailbox(this.s.sid, upTo).catch((e: unknown) => {
      if (this.lastAck === upTo) this.lastAck = previous;
      // Unacknowledged messages are only kept longer (and a ping must not fail on it).
      this.s.log.debug({ err: e }, "ack not stored");
    });
  }

  private async leave(): Promise<void> {
    const { svc } = this.s;
    this.leaving = true;
    await markOffline(this.s);
    await svc.rooms.leave(this.s.room, this.s.identity, this.s.sid, DisconnectReason.CLIENT_INITIATED);
    this.s.end({ reason: DisconnectReason.CLIENT_INITIATED, action: LeaveAction.DISCONNECT, dispose: "none" });
  }
}
