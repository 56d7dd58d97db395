import { create } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { StoredParticipantSchema, type StoredParticipant } from "../../gen/volly/signaling/v1/internal_pb.js";
import { DisconnectReason, LeaveAction, RoomSchema, type PqSessionInfo, type Room } from "../../gen/volly/signaling/v1/models_pb.js";
import { LeaveRequestSchema, SignalResponseSchema, type SignalRequest, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { keepClaims, restoreClaims, type AccessClaims, type KeptClaims } from "../auth/access-token.js";
import { closeCodeOf, errorIdOf, errors, toPublicError } from "../errors.js";
import type { CodecError } from "../protocol/signal-codec.js";
import type { TokenPqKey } from "../pq/token-pq-claims.js";
import type { HeldParticipant, LocalParticipant } from "../room/local-participants.js";
import { senderOf, type Sender } from "../room/relay.js";
import { newConnectionId, newSid } from "../room/ids.js";
import { monotonicMs } from "../monotonic-time.js";
import { intern } from "../intern-string.js";
import { pack, unpack, type Packed } from "../store/compact-records.js";
import { PRESENCE_REFRESH_MS, PRESENCE_TTL_MS } from "../store/store.js";
import type { AuthorizedConnection } from "./authorize-connection.js";
import { lazyConnectionLog, type ConnectionLog } from "./connection-log.js";
import { Entry } from "./inbound-items.js";
import type { ConnectParams, ParamSource } from "./connect-params.js";
import type { CursorOwner, DeliveryCursor } from "./delivery-cursor.js";
import type { NodeServices, TickingSession } from "./node-services.js";
import { ParticipantRequests } from "./participant-requests.js";
import type { PqChannel } from "./pq-channel.js";
import { endingOnFailure, enterRoom, leaveRoom, type Disposal } from "./session-entry.js";
import { SessionInbound } from "./session-inbound.js";
import { SessionOutbound } from "./session-outbound.js";
import type { SignalTransport } from "./signal-transport.js";
import { nextRefreshInMs } from "./token-refresh.js";

type Phase = "handshake" | "joining" | "joined" | "closed";

/** Shared by every session until it ends: one settled promise, not one per connection. */
const NOTHING_TO_DISPOSE: Promise<void> = Promise.resolve();

/**
 * One client connection, whatever its transport: post-quantum handshake, join or resume, then requests
 * and deliveries until it ends. This class is the lifecycle (phases, deadlines, the end); what comes in is
 * `SessionInbound`, what goes out is `SessionOutbound`, requests of a joined participant are
 * `ParticipantRequests`.
 */
export class SignalSession implements LocalParticipant, TickingSession, CursorOwner {
  readonly connId: string;
  readonly sid: string;
  readonly identity: string;
  readonly room: string;
  /** Decoded until the join, then kept as a string (`keepClaims`); the PQ key until the join records it. */
  private kept: AccessClaims | KeptClaims;
  /** The token's expiry (seconds since the epoch), beside the kept claims. */
  private claimsExpireAt: number;
  pqKey: TokenPqKey | undefined;
  /** The connection's log lines carry its id, room and identity. */
  readonly log: ConnectionLog;
  cursor: DeliveryCursor | undefined;
  /** Who relays from this connection, with its permissions; set by the join. */
  sender: Sender | undefined;
  /**
   * The participant's record and the room as joined (or resumed), re-created from these if the store lost
   * them. Packed: a connection keeps them for hours and reads them only then or on a metadata update.
   */
  private packedSelf: Packed<StoredParticipant> | undefined;
  private packedRoom: Packed<Room> | undefined;
  private phase: Phase = "handshake";
  readonly requests: ParticipantRequests;
  private readonly pq: PqChannel | undefined;
  private readonly inbound: SessionInbound;
  private readonly outbound: SessionOutbound;
  /**
   * Deadlines and times below are on the monotonic clock (`monotonicMs`), not epoch milliseconds: a step of
   * the wall clock is not silence (nor a sign of life).
   */
  private readonly startedAt = monotonicMs();
  private lastReceivedAt = monotonicMs();
  private nextRefreshAt = 0;
  /** -1 is "never" (hidden, or not joined yet: enterRoom writes the first), kept a small integer (compact-time.ts). */
  private nextPresenceAt = -1;
  private ending = false;
  private disposal: Promise<void> = NOTHING_TO_DISPOSE;

  /** Whether the connection resumes its participant (`reconnect`), from which message on, and where the client sent them. */
  readonly reconnect: boolean;
  readonly lastMessageId: bigint | undefined;
  readonly paramSource: ParamSource;

  constructor(
    readonly svc: NodeServices,
    readonly transport: SignalTransport,
    auth: AuthorizedConnection,
    params: ConnectParams,
  ) {
    // The token is a slice of the upgrade URL (or the header) and would keep it alive for the connection's
    // life: only the PQ channel, built below, keeps it, and only until its handshake is over.
    const claims: AccessClaims = { ...auth.claims, token: "" };
    this.kept = claims;
    this.claimsExpireAt = claims.expiresAt;
    this.pqKey = auth.pqKey;
    // What the join needs, not the parameters object: it would hold the token.
    ({ reconnect: this.reconnect, lastMessageId: this.lastMessageId, source: this.paramSource } = params);
    this.sid = params.reconnect && params.sid !== undefined ? params.sid : newSid("PA_");
    this.connId = newConnectionId(this.sid);
    this.identity = claims.identity;
    // The room's name, one string for everyone in it (each token's claims decode to a copy of their own).
    this.room = intern(claims.video.room);
    this.log = lazyConnectionLog(svc.log, this);
    this.pq = svc.pq?.({ claims: auth.claims, pqKey: auth.pqKey, connId: this.connId, log: this.log, participant: this });
    this.requests = new ParticipantRequests(this);
    this.inbound = new SessionInbound(this, this.pq);
    this.outbound = new SessionOutbound(transport, this.pq, svc.metrics);
  }

  /** The connection's claims, without the token (only the handshake needs it). */
  get claims(): AccessClaims {
    return typeof this.kept === "string" ? restoreClaims(this.kept, this.identity, this.claimsExpireAt) : this.kept;
  }

  /** The fields of every log line of this connection. */
  logBindings(): Record<string, unknown> {
    return { connId: this.connId, room: this.room, identity: this.identity, transport: this.transport.kind };
  }

  get closed(): boolean {
    return this.phase === "closed";
  }

  /** True once `join`/`reconnect` went out. */
  get joined(): boolean {
    return this.phase === "joined";
  }

  /** Begins the connection: the server-first handshake response, or `join` when PQ is off. */
  async start(): Promise<void> {
    this.svc.sessions.add(this);
    this.svc.metrics.connections.inc({ transport: this.transport.kind });
    this.log.debug({ reconnect: this.reconnect, pq: this.pq !== undefined }, "connection opened");
    try {
      if (this.pq) {
        const first = await this.pq.start();
        if (first) this.send(first);
      } else this.inbound.push(new Entry(() => this.enter()));
    } catch (e) {
      this.fail(e);
    }
  }

  /** A request from the transport, processed after the ones before it; `otherKind`: see `SessionInbound.push`. */
  receive(request: SignalRequest | Uint8Array, otherKind = false): void {
    if (this.phase === "closed") return;
    this.lastReceivedAt = monotonicMs();
    this.inbound.push(request, otherKind);
  }

  /** A frame the transport could not decode, answered in its turn. */
  receiveMalformed(e: CodecError): void {
    if (this.phase === "closed") return;
    this.lastReceivedAt = monotonicMs();
    this.inbound.malformed(e);
  }

  /** The peer showed it is alive without sending a request (a WebSocket pong). */
  alive(): void {
    this.lastReceivedAt = monotonicMs();
  }

  /**
   * The peer pinged (a WebSocket ping): it is alive. True when the ping may be answered; a ping takes a
   * token of the connection's message rate like a request, and one past it counts as a dropped request.
   */
  pinged(): boolean {
    if (this.phase === "closed") return false;
    this.lastReceivedAt = monotonicMs();
    return this.inbound.admitPing();
  }

  /** A frame over the size limit: refused with an error (`request` decodes it, for a PQ record's turn). */
  receiveOversized(size: number, request: () => SignalRequest | Uint8Array | undefined): void {
    if (this.phase === "closed") return;
    this.lastReceivedAt = monotonicMs();
    this.inbound.oversized(size, request);
  }

  /**
   * The client half-closed its stream (gRPC): finish what it sent, then end as a drop, since it sent no
   * `leave` and can no longer ping.
   */
  inputEnded(): void {
    this.inbound.end();
  }

  /** Everything the client sent before half-closing has been processed. */
  inputDrained(): void {
    this.end({ reason: DisconnectReason.SIGNAL_CLOSE, action: LeaveAction.RESUME, dispose: this.packedSelf ? "away" : "none" });
  }

  /** The transport closed underneath us (network drop, client went away without `leave`). */
  transportClosed(): void {
    if (this.phase === "closed") return;
    this.log.debug({}, "connection dropped");
    this.transport.close(1000, "");
    this.finish(this.packedSelf ? "away" : "none", false, DisconnectReason.SIGNAL_CLOSE);
  }

  tick(monotonicNow: number): void {
    if (this.phase === "closed") return;
    const { config } = this.svc;
    const t = monotonicNow;
    if (this.phase === "handshake" && t - this.startedAt > config.pq.handshakeTimeoutMs) {
      this.pq?.handshakeFailed(errors.pqHandshakeTimeout());
      this.end({ reason: DisconnectReason.JOIN_FAILURE, action: LeaveAction.DISCONNECT, error: errors.pqHandshakeTimeout(), dispose: "none" });
      return;
    }
    if (t - this.lastReceivedAt > config.liveness.pingTimeoutSeconds * 1000 && !this.inbound.paused) {
      this.end({ reason: DisconnectReason.CONNECTION_TIMEOUT, action: LeaveAction.RESUME, error: errors.pingTimeout(), dispose: this.packedSelf ? "away" : "none" });
      return;
    }
    if (t - this.lastReceivedAt > config.liveness.pingIntervalSeconds * 1000) this.transport.probe?.();
    const pqState = this.pq?.established ? this.pq.check(t) : undefined;
    if (pqState === "expired") {
      this.end({ reason: DisconnectReason.SESSION_EXPIRED, action: LeaveAction.RESUME, error: errors.pqSessionExpired(), dispose: "away", expired: true });
      return;
    }
    if (pqState === "rekey_overdue") {
      this.end({ reason: DisconnectReason.REKEY_REQUIRED, action: LeaveAction.RESUME, error: errors.pqRekeyOverdue(), dispose: "away" });
      return;
    }
    if (this.phase !== "joined") return;
    if (t >= this.nextRefreshAt) {
      // Every refreshed token outlives the next refresh (token-refresh.ts), so the interval is always soon enough.
      this.nextRefreshAt = t + config.liveness.tokenRefreshSeconds * 1000;
      void this.requests.refreshToken();
    }
    // Not once it asked to leave: after its offline mark a refresh would show it online for the whole ttl.
    if (t >= this.nextPresenceAt && this.nextPresenceAt >= 0 && !this.requests.leaving) {
      this.nextPresenceAt = t + PRESENCE_REFRESH_MS;
      this.svc.store.setOnline(this.identity, this.connId, PRESENCE_TTL_MS, this.svc.clock.now(), this.svc.nodeId).catch(() => {});
    }
  }

  /**
   * Ends the session because the node is going away: in a cluster the participant is kept (away) and the
   * client told to resume on another node; alone, it leaves and the client reconnects later. Resolves
   * when the participant has been disposed of in the store.
   */
  drain(): Promise<void> {
    const handOver = this.svc.shared && this.svc.config.resume.windowMs > 0;
    this.end({
      reason: DisconnectReason.SERVER_SHUTDOWN,
      action: handOver ? LeaveAction.RESUME : LeaveAction.RECONNECT,
      dispose: handOver ? "away" : "leave",
      closeCode: 1001,
    });
    return this.disposal;
  }

  deliver(messageId: bigint, response: Uint8Array): void {
    this.cursor?.deliver(messageId, response);
  }

  catchUp(): void {
    this.cursor?.catchUp();
  }

  disconnect(reason: DisconnectReason, action: LeaveAction, alreadyRemoved: boolean): void {
    const dispose: Disposal = alreadyRemoved ? "none" : action === LeaveAction.RESUME ? "away" : "leave";
    this.end({ reason, action, dispose });
  }

  held(): HeldParticipant | undefined {
    if (this.phase !== "joined" || this.requests.leaving || !this.packedSelf || !this.packedRoom) return undefined;
    return {
      room: unpack(RoomSchema, this.packedRoom),
      participant: unpack(StoredParticipantSchema, this.packedSelf),
      nextMessageId: (this.cursor?.highestSeen ?? 0n) + 1n,
      presenceKey: this.connId,
    };
  }

  /** The post-quantum session facts for `join`, when PQ is on. */
  pqInfo(): PqSessionInfo | undefined {
    return this.pq?.info();
  }

  /** Marks the participant as joined (after `join`/`reconnect` went out). */
  markJoined(self: StoredParticipant, room: Room): void {
    this.packedSelf = pack(StoredParticipantSchema, self);
    // Without the participant count (a restore counts again): then everyone in the room keeps one string.
    this.packedRoom = pack(RoomSchema, create(RoomSchema, { ...room, numParticipants: 0 }));
    this.phase = "joined";
    this.nextPresenceAt = this.claims.video.hidden ? -1 : monotonicMs() + PRESENCE_REFRESH_MS;
    this.sender = senderOf(this, self.info?.permission);
    // The token's expiry is on its minter's wall clock, so the delay is worked out on ours (tokens are).
    this.nextRefreshAt = monotonicMs() + nextRefreshInMs(this.svc.config.liveness.tokenRefreshSeconds, this.claims.expiresAt * 1000, Date.now());
    this.kept = keepClaims(this.claims);
    this.pqKey = undefined;
    this.svc.metrics.participants.inc();
  }

  /** Sends a message the session produced itself (not a mailbox delivery), encrypted when PQ is on. */
  send(response: SignalResponse): void {
    if (this.phase === "closed") return;
    this.outbound.send(response);
    this.checkBackpressure();
  }

  /** Sends an encoded message: a mailbox one with its id, or (id 0n) a join or reconnect. Binary connections get it without a decode. */
  sendDelivered(messageId: bigint, response: Uint8Array): void {
    if (this.phase === "closed") return;
    this.outbound.sendDelivered(messageId, response);
    this.checkBackpressure();
  }

  /** The participant's record as joined (a fresh copy); undefined before the join. */
  get self(): StoredParticipant | undefined {
    return this.packedSelf === undefined ? undefined : unpack(StoredParticipantSchema, this.packedSelf);
  }

  /** Keeps the participant's changed record (its own metadata update). */
  updateSelf(self: StoredParticipant): void {
    if (this.packedSelf !== undefined) this.packedSelf = pack(StoredParticipantSchema, self);
  }

  /** Mailbox reads for the delivery cursor (a gap to fill). */
  readMailbox(afterId: bigint): ReturnType<CursorOwner["readMailbox"]> {
    return this.svc.store.readMailbox(this.sid, afterId);
  }

  messagesLost(from: bigint, to: bigint): void {
    this.log.warn({ from: String(from), to: String(to) }, "messages trimmed before delivery");
  }

  sendError(error: ConnectError, requestId: number): void {
    if (this.phase === "closed") return;
    this.outbound.sendError(error, requestId);
  }

  /** Ends the connection: optional `error`, then `leave`, then close; then the participant is disposed of. */
  end(opts: { reason: DisconnectReason; action: LeaveAction; error?: ConnectError; dispose: Disposal; closeCode?: number; expired?: boolean; requestId?: number }): void {
    if (this.phase === "closed" || this.ending) return;
    // The goodbye below goes through send(), whose backpressure check would end the session again.
    this.ending = true;
    if (opts.error) this.sendError(opts.error, opts.requestId ?? 0);
    this.send(create(SignalResponseSchema, {
      message: { case: "leave", value: create(LeaveRequestSchema, { reason: opts.reason, action: opts.action, message: opts.error?.rawMessage ?? "" }) },
    }));
    const code = opts.closeCode ?? (opts.error ? closeCodeOf(opts.error.code) : 1000);
    this.log.info({ reason: DisconnectReason[opts.reason], action: LeaveAction[opts.action], error: errorIdOf(opts.error) }, "connection closing");
    this.transport.close(code, (opts.error?.rawMessage ?? DisconnectReason[opts.reason]).slice(0, 120));
    this.finish(opts.dispose, opts.expired ?? false, opts.reason);
  }

  private checkBackpressure(): void {
    if (this.ending) return;
    if (this.transport.bufferedBytes() > this.svc.config.limits.maxSendBufferBytes) {
      this.svc.metrics.limitsHit.inc({ limit: "send_buffer" });
      this.end({ reason: DisconnectReason.SLOW_CONSUMER, action: LeaveAction.RESUME, error: errors.slowConsumer(), dispose: "away" });
    }
  }

  /** Joins or resumes, once the PQ channel exists (or at once without PQ). */
  async enter(): Promise<void> {
    // Closed while the handshake was awaited: "joining" would bring the session back to life (enterRoom).
    if (this.phase === "closed") return;
    this.phase = "joining";
    await enterRoom(this);
  }

  /** Turns an error from processing into the right answer: a recoverable `error`, or the end. */
  fail(e: unknown, requestId = 0): void {
    if (this.phase === "closed") return;
    const error = toPublicError(e);
    if (error.code === Code.Internal) this.log.error({ err: e }, "request failed");
    const ending = endingOnFailure(errorIdOf(error), this.phase === "joined");
    if (ending) this.end({ ...ending, error, dispose: this.packedSelf ? "leave" : "none", requestId });
    else this.sendError(error, requestId);
  }

  private finish(dispose: Disposal, expired: boolean, reason: DisconnectReason): void {
    const wasJoined = this.phase === "joined";
    this.phase = "closed";
    this.inbound.clear();
    this.svc.sessions.remove(this);
    this.svc.local.remove(this);
    this.svc.metrics.connections.dec({ transport: this.transport.kind });
    if (wasJoined) this.svc.metrics.participants.dec();
    this.disposal = this.dispose(dispose, expired, reason);
    if (wasJoined) this.svc.local.departs(this.sid, this.disposal);
  }

  private async dispose(dispose: Disposal, expired: boolean, reason: DisconnectReason): Promise<void> {
    // Each step is tried even when an earlier one fails (the store is down): what is not written now is
    // reconciled by the node later (see ClusterNode), but a step skipped here would never be retried.
    try {
      await this.pq?.end(expired);
    } catch (e) {
      this.log.warn({ error: errorIdOf(e) ?? String(e) }, "session end not recorded");
    }
    if (this.packedSelf) await leaveRoom(this, dispose, reason);
  }
}
