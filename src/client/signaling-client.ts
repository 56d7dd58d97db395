import { Code, ConnectError } from "@connectrpc/connect";
import type { Room } from "../../gen/volly/signaling/v1/models_pb.js";
import type { JoinResponse, ReconnectResponse, SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import type { VollyCall } from "./call.js";
import { CallRouter, type VollyCallOptions } from "./call-router.js";
import type { VollyDataAck, VollyDataMessage, VollyJoinInfo, VollyRoom, VollySignalingEvents, VollyUserPresence } from "./client-events.js";
import { errorFromResponse, invalidArgument } from "./client-errors.js";
import { limitsOf } from "./connection-limits.js";
import { resolveClientOptions, type ResolvedClientOptions, type VollySignalingClientOptions } from "./client-options.js";
import { platformGetUserMedia } from "./local-media.js";
import { ParticipantRoster, toParticipant, type RosterChange, type VollyParticipant } from "./participant-roster.js";
import { VollyPostQuantumSession } from "./post-quantum-session.js";
import { RecentKeys } from "./recent-keys.js";
import { Reconnector } from "./reconnector.js";
import { broadcastBytes } from "./send-pacer.js";
import { SignalConnection, type ConnectionState, type EntryKind } from "./signal-connection.js";
import { TypedEmitter } from "./typed-emitter.js";
import type { PeerConnectionLike } from "./webrtc-types.js";

/** How many recent `data` (sender, id) pairs are remembered to drop repeats. */
const DATA_DEDUPE_WINDOW = 10_000;

const CALL_SIGNALS: ReadonlySet<string | undefined> = new Set(["offer", "answer", "trickle", "call"]);

/**
 * A participant's signaling connection, in browsers and Node: post-quantum handshake and `join` on `connect()`
 * (other methods connect on first use), room presence as events, calls (`createCall`, `incomingCall`), discovery,
 * server-relayed data, and automatic recovery: a dropped connection resumes the same participant (nothing lost:
 * missed messages are replayed and de-duplicated, unanswered requests re-sent), or joins again when it cannot.
 */
export class VollySignalingClient extends TypedEmitter<VollySignalingEvents> {
  private readonly options: ResolvedClientOptions;
  private readonly connection: SignalConnection;
  private readonly reconnector: Reconnector;
  private readonly roster: ParticipantRoster;
  private readonly router: CallRouter;
  private readonly session: VollyPostQuantumSession;
  private readonly dataListeners = new Set<(message: VollyDataMessage) => void>();
  /** Sender and id of the `data` delivered lately: a request resent after a lost `data_ack` is relayed again. */
  private readonly deliveredData = new RecentKeys(DATA_DEDUPE_WINDOW);
  private joinInfo: VollyJoinInfo | undefined;
  private currentRoom: VollyRoom | undefined;
  private connecting: Promise<VollyJoinInfo> | undefined;
  private rekeyCount = 0;

  /** Throws `ConnectError` for unusable options (no token, no WebSocket, a token key without its pair...). */
  constructor(options: VollySignalingClientOptions) {
    super();
    this.options = resolveClientOptions(options);
    this.roster = new ParticipantRoster(this.options.identity);
    const log = this.options.logger;
    this.onListenerError = (e, event) => log.error?.("event listener threw", { event: String(event), error: String(e) });
    this.connection = new SignalConnection(this.options.settings, this.options.token, {
      entered: (response, how) => this.onEntered(response, how),
      message: (response) => this.onMessage(response),
      lost: (reason, action, error) => void this.reconnector.recover(reason, action, error),
      rekeyed: (epoch) => this.emit("rekeyed", { epoch, rekeys: ++this.rekeyCount }),
      broadcastCost: (request) => {
        const bytes = broadcastBytes(request, this.roster.local);
        return bytes === 0 ? 0 : bytes * this.roster.size;
      },
    });
    this.reconnector = new Reconnector(this.connection, this.options.reconnect, () => (this.joinInfo?.resumeWindowSeconds ?? 0) * 1000, {
      reconnecting: (reason, error) => this.emit("reconnecting", { reason, error }),
      reconnected: (how) => this.emit("reconnected", { resumed: how === "resume" }),
      disconnected: (reason, error) => this.ended(reason, error),
    });
    this.router = new CallRouter((forget) => ({
      localIdentity: this.options.identity,
      send: (message) => this.connection.request(message, false),
      createPeerConnection: () => this.createPeerConnection(),
      getUserMedia: this.options.getUserMedia ?? platformGetUserMedia(),
      candidateFilter: this.options.candidateFilter,
      renegotiationTimeoutMs: this.options.requestTimeoutMs,
      // A browser page's own RTCPeerConnection; not one installed as a global in Node (werift), see VollyCallOptions.
      receivesByDefault: typeof document !== "undefined" && this.options.RTCPeerConnection !== undefined && this.options.RTCPeerConnection === globalThis.RTCPeerConnection,
      log: (message, details) => log.debug?.(message, details),
      forget,
    }), (call) => this.emit("incomingCall", call));
    this.session = new VollyPostQuantumSession(
      {
        current: () => this.connection.pqSession,
        rekeys: () => this.rekeyCount,
        ensureConnected: () => this.connect(),
        postQuantum: this.options.settings.postQuantum,
      },
      {
        localIdentity: this.options.identity,
        sendData: (payload, o) => this.sendData(payload, o),
        maxDataBytes: () => this.connection.limits.maxDataBytes,
        onData: (listener) => (this.dataListeners.add(listener), () => void this.dataListeners.delete(listener)),
      },
    );
  }

  get state(): ConnectionState {
    return this.connection.state;
  }

  /** This participant's identity (the token's `sub`). */
  get identity(): string {
    return this.options.identity;
  }

  /** This participant's sid (after joining). */
  get sid(): string | undefined {
    return this.connection.sid;
  }

  /** What the last `join` said (undefined before). */
  get joined(): VollyJoinInfo | undefined {
    return this.joinInfo;
  }

  /**
   * The room now: as the last `join` or `reconnect` described it, then as each `roomUpdated` says (the server
   * announces metadata changes, not arrivals, so `numParticipants` is as of that moment). Undefined before the
   * first `join`.
   */
  get room(): VollyRoom | undefined {
    return this.currentRoom;
  }

  /**
   * This participant now: as `join` described it, then as the server's updates about it say (RoomService
   * `UpdateParticipant`, this client's own `updateMetadata`). Undefined before the first `join`.
   */
  get localParticipant(): VollyParticipant | undefined {
    return this.roster.local;
  }

  /** Everyone else in the room now (never this participant). */
  get participants(): VollyParticipant[] {
    return this.roster.list();
  }

  /** Calls in progress. */
  get calls(): VollyCall[] {
    return this.router.list();
  }

  /**
   * Connects and joins (idempotent). Rejects with a `ConnectError` carrying the server's code. While the client
   * is reconnecting it waits for that recovery: it resolves once reconnected, and rejects with recovery's error
   * if recovery gives up (a later `connect()` then joins afresh).
   */
  connect(): Promise<VollyJoinInfo> {
    if (this.connection.state === "connected" && this.joinInfo !== undefined) return Promise.resolve(this.joinInfo);
    // Joining afresh now would abandon the resume: a new participant, and messages already acknowledged to
    // their senders for this one lost.
    if (this.connection.state === "reconnecting") return this.recovery();
    this.connecting ??= (async () => {
      this.reconnector.start();
      this.connection.state = "connecting";
      try {
        await this.connection.enter("join");
        return this.joinInfo as VollyJoinInfo;
      } catch (e) {
        this.connection.state = "disconnected";
        throw ConnectError.from(e, Code.Unavailable);
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }

  /** Leaves the room and closes the connection; calls end. */
  async disconnect(): Promise<void> {
    this.reconnector.stop();
    await this.connection.leave(1000);
    this.connection.close();
    if (this.connection.state !== "disconnected") {
      this.connection.state = "disconnected";
      this.ended("client_initiated", undefined);
    }
  }

  /** The live post-quantum session handle (usable before connecting; see `VollyPostQuantumSession`). */
  getPostQuantumSession(): VollyPostQuantumSession {
    return this.session;
  }

  /** Presence of up to 100 identities anywhere in the deployment, in the order asked. */
  async discoverUsers(identities: string[]): Promise<VollyUserPresence[]> {
    // Checked here: a plain JavaScript caller's string would be asked about letter by letter.
    if (!Array.isArray(identities) || !identities.every((i) => typeof i === "string")) throw invalidArgument("discoverUsers: identities must be an array of strings");
    await this.ready();
    const answer = await this.connection.request({ case: "discover", value: { identities } }, true);
    const users = answer?.message.case === "discover" ? answer.message.value.users : [];
    return users.map((u) => ({ identity: u.identity, online: u.online, lastSeen: Number(u.lastSeen) }));
  }

  /** Calls `recipient`; resolves once the invitation is relayed (then watch the call's `state`). */
  async createCall(options: VollyCallOptions): Promise<VollyCall> {
    await this.ready();
    return this.router.create(options);
  }

  /** Sends a small payload through the server to `target` (or the whole room); resolves with the delivery ack. */
  async sendData(payload: Uint8Array | string, options: { target?: string; topic?: string; id?: string } = {}): Promise<VollyDataAck> {
    // Checked here: plain JavaScript callers pass anything, and `undefined` would go out as an empty payload.
    if (typeof payload !== "string" && !(payload instanceof Uint8Array)) throw invalidArgument("sendData: payload must be a string or a Uint8Array");
    await this.ready();
    const bytes = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
    const id = options.id ?? crypto.randomUUID();
    const answer = await this.connection.request({ case: "data", value: { target: options.target ?? "", topic: options.topic ?? "", payload: bytes, id } }, true);
    const ack = answer?.message.case === "dataAck" ? answer.message.value : undefined;
    return { id: ack?.id ?? id, recipients: ack?.recipients ?? 0 };
  }

  /** Changes this participant's metadata, name or attributes (needs `canUpdateOwnMetadata`). */
  async updateMetadata(update: { metadata?: string; name?: string; attributes?: Record<string, string> }): Promise<void> {
    // protobuf-es would drop this key on the way out without a word; the server refuses it where it can see it.
    if (update.attributes !== undefined && Object.hasOwn(update.attributes, "__proto__")) throw invalidArgument("the attribute key __proto__ is reserved");
    await this.ready();
    await this.connection.request({ case: "updateMetadata", value: update }, false);
  }

  /** Rekeys the post-quantum channel now (it also happens on schedule); while reconnecting, once reconnected. */
  async rekey(): Promise<void> {
    await this.connect();
    await this.connection.rekey();
  }

  /** Connected or recovering (requests queue); connects from idle or disconnected. */
  private async ready(): Promise<void> {
    const state = this.connection.state;
    if (state === "connected" || state === "reconnecting") return;
    await this.connect();
  }

  /** The outcome of the recovery under way: the join info once reconnected, or the error it gave up with. */
  private recovery(): Promise<VollyJoinInfo> {
    return new Promise((resolve, reject) => {
      const offReconnected = this.once("reconnected", () => {
        offDisconnected();
        resolve(this.joinInfo as VollyJoinInfo);
      });
      const offDisconnected = this.once("disconnected", ({ reason, error }) => {
        offReconnected();
        reject(error ?? new ConnectError(`disconnected: ${reason}`, Code.Unavailable));
      });
    });
  }

  private createPeerConnection(): PeerConnectionLike {
    const Peer = this.options.RTCPeerConnection;
    if (Peer === undefined) throw new ConnectError("no RTCPeerConnection: pass `RTCPeerConnection` (e.g. werift's in Node)", Code.FailedPrecondition);
    return new Peer({ iceServers: this.options.iceServers ?? [...(this.joinInfo?.iceServers ?? [])] });
  }

  private onEntered(response: JoinResponse | ReconnectResponse, how: EntryKind): void {
    if (how === "rejoin") {
      // A new participant: the server hung up the old one's calls, and their pending signals are moot.
      this.router.endAll("signaling_lost", "joined again as a new participant");
      this.connection.outbox.reject((m) => CALL_SIGNALS.has(m.case), new ConnectError("call ended: joined again", Code.Aborted));
    }
    this.joinInfo = joinInfoOf(response);
    this.currentRoom = this.joinInfo.room;
    if (how === "resume") {
      // Same participant: the others follow from the replay; this one may have changed while away.
      if (response.participant) this.emitRoster(this.roster.apply([response.participant]));
      return;
    }
    this.emitRoster(this.roster.reset(response.participant, response.otherParticipants));
    this.emit("connected", this.joinInfo);
  }

  private onMessage(response: SignalResponse): void {
    if (this.router.route(response)) return;
    const m = response.message;
    switch (m.case) {
      case "participantUpdate":
        this.emitRoster(this.roster.apply(m.value.participants));
        return;
      case "data": {
        const d = m.value;
        // Without an id (a server-originated message) there is nothing to recognise a repeat by.
        if (d.id !== "" && !this.deliveredData.add(`${d.from}\u0000${d.id}`)) return;
        const message: VollyDataMessage = { from: d.from, target: d.target, fromSid: d.fromSid, topic: d.topic, payload: d.payload, id: d.id };
        for (const listener of this.dataListeners) listener(message);
        this.emit("data", message);
        return;
      }
      case "roomUpdate": {
        const room = m.value.room;
        if (room === undefined) return;
        this.currentRoom = roomOf(room);
        this.emit("roomUpdated", this.currentRoom);
        return;
      }
      case "error":
        this.emit("error", errorFromResponse(m.value));
        return;
      default:
        this.options.logger.debug?.("message ignored", { type: m.case });
    }
  }

  private emitRoster(changes: RosterChange[]): void {
    const events = { joined: "participantJoined", updated: "participantUpdated", left: "participantLeft", local: "localParticipantUpdated" } as const;
    for (const change of changes) this.emit(events[change.kind], change.participant);
  }

  private ended(reason: string, error: ConnectError | undefined): void {
    this.router.endAll(reason === "client_initiated" ? "hangup" : "signaling_lost", reason);
    this.connection.outbox.reject(() => true, error ?? new ConnectError(`disconnected: ${reason}`, Code.Unavailable));
    this.roster.clear();
    this.emit("disconnected", error === undefined ? { reason } : { reason, error });
  }
}

function joinInfoOf(r: JoinResponse | ReconnectResponse): VollyJoinInfo {
  const self = r.participant;
  return {
    room: roomOf(r.room),
    participant: self ? toParticipant(self) : toParticipantFallback(),
    participants: r.otherParticipants.map(toParticipant),
    iceServers: r.iceServers.map((s) => ({ urls: s.urls, ...(s.username ? { username: s.username, credential: s.credential } : {}) })),
    server: { version: r.serverInfo?.version ?? "", nodeId: r.serverInfo?.nodeId ?? "", region: r.serverInfo?.region ?? "" },
    resumeWindowSeconds: r.resumeWindow,
    limits: limitsOf(r),
  };
}

function roomOf(room: Room | undefined): VollyRoom {
  return {
    name: room?.name ?? "",
    sid: room?.sid ?? "",
    metadata: room?.metadata ?? "",
    numParticipants: room?.numParticipants ?? 0,
    maxParticipants: room?.maxParticipants ?? 0,
    emptyTimeout: room?.emptyTimeout ?? 0,
    departureTimeout: room?.departureTimeout ?? 0,
    creationTime: Number(room?.creationTime ?? 0n),
  };
}

function toParticipantFallback(): VollyParticipant {
  return { sid: "", identity: "", name: "", metadata: "", attributes: {}, state: "joined", joinedAt: 0, version: 0 };
}
