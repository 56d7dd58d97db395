import { Code, ConnectError } from "@connectrpc/connect";
import { CallAction } from "../../gen/volly/signaling/v1/signal_pb.js";
import { acquireLocalMedia, releaseLocalMedia, type LocalMedia } from "./local-media.js";
import { Negotiator, type CandidateFilter } from "./negotiator.js";
import type { OutboundMessage } from "./outbox.js";
import { TypedEmitter } from "./typed-emitter.js";
import type {
  DataChannelEventLike,
  DataChannelLike,
  GetUserMedia,
  MediaStreamLike,
  MediaStreamTrackLike,
  PeerConnectionLike,
  TrackEventLike,
} from "./webrtc-types.js";

/** Where a call is: outgoing inviting → ringing → connecting → connected; incoming incoming → connecting → connected. */
export type VollyCallState = "inviting" | "ringing" | "incoming" | "connecting" | "connected" | "ended";

/** Why a call ended. */
export type VollyCallEndReason = "hangup" | "remote_hangup" | "rejected" | "remote_rejected" | "failed" | "signaling_lost";

/** Events of a call. */
export type VollyCallEvents = {
  state: [state: VollyCallState, previous: VollyCallState];
  /** A remote track arrived (with the streams it belongs to). */
  track: [track: MediaStreamTrackLike, streams: readonly MediaStreamLike[]];
  /** The remote peer opened a data channel. */
  dataChannel: [channel: DataChannelLike];
  ended: [reason: VollyCallEndReason, detail: string];
  /** A problem the call survives: automatic renegotiation stopped because it ran away (`ResourceExhausted`). */
  error: [error: ConnectError];
};

/** Options of `accept()`. */
export interface VollyAcceptOptions {
  /** Default: what the invitation asked for. */
  audio?: boolean;
  video?: boolean;
  /** Use this stream instead of capturing one. */
  localStream?: MediaStreamLike;
}

/** What a call needs from its client (internal). */
export interface CallContext {
  readonly localIdentity: string;
  /** Sends a call signal; resolves once the server handled it, rejects with its `ConnectError`. */
  send(message: OutboundMessage): Promise<unknown>;
  createPeerConnection(): PeerConnectionLike;
  readonly getUserMedia: GetUserMedia | undefined;
  readonly candidateFilter: CandidateFilter | undefined;
  readonly renegotiationTimeoutMs: number;
  /** Whether an outgoing call receives the kinds it does not send unless told otherwise (`VollyCallOptions.receive`). */
  readonly receivesByDefault: boolean;
  log(message: string, details?: Record<string, unknown>): void;
  /** The call ended: forget it. */
  forget(call: VollyCall): void;
}

/**
 * A call with one other participant: its signaling (invite, ringing, accept, reject, hang-up, connected) through
 * the server, and its `RTCPeerConnection` negotiated peer to peer (perfect negotiation; the participant whose
 * identity sorts first is the polite one). The SDK reports CONNECTED to the server when the peer connection first
 * reaches "connected", which the server uses for its connection-establishment metric.
 */
export class VollyCall extends TypedEmitter<VollyCallEvents> {
  /** Remote streams seen so far. */
  readonly remoteStreams: MediaStreamLike[] = [];
  private stateValue: VollyCallState;
  private pc: PeerConnectionLike | undefined;
  private media: LocalMedia = { stream: undefined, owned: false };
  private readonly negotiator: Negotiator;
  private reportedConnected = false;

  constructor(
    /** The call id (shared by both sides). */
    readonly id: string,
    /** The other participant's identity. */
    readonly remoteIdentity: string,
    readonly direction: "outgoing" | "incoming",
    /** What the invitation asked for. */
    readonly audio: boolean,
    readonly video: boolean,
    private readonly context: CallContext,
  ) {
    super();
    this.stateValue = direction === "outgoing" ? "inviting" : "incoming";
    const signal = (message: OutboundMessage): void => void context.send(message).catch((e: unknown) => context.log("call signal failed", { error: String(e) }));
    this.negotiator = new Negotiator(
      { polite: context.localIdentity < remoteIdentity, candidateFilter: context.candidateFilter, log: context.log, error: (e) => this.emit("error", e) },
      {
        description: (type, sdp) => signal({ case: type, value: { sdp, target: remoteIdentity, callId: id } }),
        candidate: (candidate) => signal({ case: "trickle", value: { candidate, target: remoteIdentity, callId: id } }),
      },
    );
  }

  get state(): VollyCallState {
    return this.stateValue;
  }

  /** The call's peer connection (outgoing: from the start; incoming: once accepted). */
  get peerConnection(): PeerConnectionLike | undefined {
    return this.pc;
  }

  /** The local stream sent on this call, if any. */
  get localStream(): MediaStreamLike | undefined {
    return this.media.stream;
  }

  /** Accepts an incoming call: captures local media (unless given), answers the caller's offer. */
  async accept(options: VollyAcceptOptions = {}): Promise<void> {
    if (this.direction !== "incoming" || this.stateValue !== "incoming") {
      throw new ConnectError(`cannot accept a call in state ${this.stateValue}`, Code.FailedPrecondition);
    }
    this.setState("connecting");
    try {
      await this.preparePeer({ audio: options.audio ?? this.audio, video: options.video ?? this.video }, options.localStream);
      await this.signalAction(CallAction.ACCEPT);
    } catch (e) {
      // Both sides must leave the call: it ends here as failed, and the caller hears why instead of ringing on.
      const error = ConnectError.from(e, Code.Internal);
      void this.terminate("failed", `could not accept: ${error.rawMessage}`, CallAction.HANGUP);
      throw error;
    }
    this.negotiator.allow(true);
  }

  /** Declines an incoming call. */
  async reject(reason = ""): Promise<void> {
    if (this.direction !== "incoming" || this.stateValue !== "incoming") {
      throw new ConnectError(`cannot reject a call in state ${this.stateValue}`, Code.FailedPrecondition);
    }
    await this.terminate("rejected", reason, CallAction.REJECT);
  }

  /** Ends the call (either side, any state); resolves once the server relayed the hang-up. */
  async hangup(reason = ""): Promise<void> {
    await this.terminate("hangup", reason, CallAction.HANGUP);
  }

  /** Opens a data channel to the peer; resolves when it is open (so `send` works right away). */
  createDataChannel(label: string, options?: { ordered?: boolean; protocol?: string }): Promise<DataChannelLike> {
    const pc = this.pc;
    if (pc === undefined || this.stateValue === "ended") {
      return Promise.reject(new ConnectError("the call has no peer connection (accept it first)", Code.FailedPrecondition));
    }
    const channel = pc.createDataChannel(label, options);
    return new Promise((resolve, reject) => {
      if (channel.readyState === "open") return resolve(channel);
      const offEnded = this.once("ended", () => reject(new ConnectError("call ended before the data channel opened", Code.Aborted)));
      channel.onopen = () => {
        offEnded();
        resolve(channel);
      };
      channel.onclose = () => {
        offEnded();
        reject(new ConnectError("data channel closed before it opened", Code.Aborted));
      };
    });
  }

  /** Runs an offer/answer exchange now (e.g. after changing tracks); resolves when the answer is applied. */
  renegotiate(): Promise<void> {
    return this.negotiator.renegotiate(this.context.renegotiationTimeoutMs);
  }

  /** @internal Outgoing: captures media, creates the peer connection, sends the invitation. */
  async start(localStream: MediaStreamLike | undefined, receive: { audio: boolean; video: boolean }): Promise<void> {
    // The callee's RINGING usually arrives before the server confirms the INVITE: events wait until the app
    // holds the call (see `emit`).
    this.held = [];
    try {
      await this.preparePeer({ audio: this.audio, video: this.video }, localStream, receive);
      await this.signalAction(CallAction.INVITE);
    } catch (e) {
      void this.terminate("failed", e instanceof Error ? e.message : String(e), undefined);
      throw ConnectError.from(e);
    } finally {
      // A task later: `createCall()`'s caller has run the code after its `await` and attached its listeners.
      setTimeout(() => {
        const held = this.held ?? [];
        this.held = undefined;
        for (const emit of held) emit();
      }, 0);
    }
  }

  /** @internal A call signal from the remote participant. */
  handleAction(action: CallAction, reason: string): void {
    switch (action) {
      case CallAction.RINGING:
        if (this.stateValue === "inviting") this.setState("ringing");
        return;
      case CallAction.ACCEPT:
        if (this.direction === "outgoing" && (this.stateValue === "inviting" || this.stateValue === "ringing")) {
          this.setState("connecting");
          this.negotiator.allow();
        }
        return;
      case CallAction.REJECT:
        void this.terminate("remote_rejected", reason, undefined);
        return;
      case CallAction.HANGUP:
        void this.terminate("remote_hangup", reason, undefined);
        return;
      default:
        return;
    }
  }

  /** @internal A remote offer/answer. */
  handleDescription(type: "offer" | "answer", sdp: string): void {
    if (this.stateValue !== "ended") this.negotiator.remoteDescription(type, sdp);
  }

  /** @internal A remote candidate. */
  handleCandidate(candidate: string): void {
    if (this.stateValue !== "ended") this.negotiator.remoteCandidate(candidate);
  }

  /** @internal Ends the call locally; `notify` sends that action to the peer first. */
  async terminate(reason: VollyCallEndReason, detail: string, notify: CallAction | undefined): Promise<void> {
    if (this.stateValue === "ended") return;
    const previous = this.stateValue;
    this.stateValue = "ended";
    const sent = notify === undefined ? Promise.resolve() : this.signalAction(notify, detail).catch(() => undefined);
    this.negotiator.close();
    if (this.pc !== undefined) {
      this.pc.onconnectionstatechange = this.pc.ontrack = this.pc.ondatachannel = null;
      void Promise.resolve(this.pc.close()).catch(() => undefined);
    }
    releaseLocalMedia(this.media);
    this.context.forget(this);
    this.emit("state", "ended", previous);
    this.emit("ended", reason, detail);
    await sent;
  }

  private async preparePeer(
    want: { audio: boolean; video: boolean },
    provided: MediaStreamLike | undefined,
    receive: { audio: boolean; video: boolean } = { audio: false, video: false },
  ): Promise<void> {
    this.media = await acquireLocalMedia(want, provided, this.context.getUserMedia);
    if (this.stateValue === "ended") {
      releaseLocalMedia(this.media);
      throw new ConnectError("call ended", Code.Aborted);
    }
    const pc = this.context.createPeerConnection();
    this.pc = pc;
    pc.onconnectionstatechange = () => this.onConnectionState(pc.connectionState);
    pc.ontrack = (event: TrackEventLike) => {
      for (const stream of event.streams) if (!this.remoteStreams.some((s) => s.id === stream.id)) this.remoteStreams.push(stream);
      this.emit("track", event.track, event.streams);
    };
    pc.ondatachannel = (event: DataChannelEventLike) => this.emit("dataChannel", event.channel);
    this.negotiator.attach(pc);
    const stream = this.media.stream;
    const sent = new Set<string>();
    for (const track of stream?.getTracks() ?? []) {
      pc.addTrack(track, stream as MediaStreamLike);
      sent.add(track.kind);
    }
    // The caller's offer makes the call's media sections, and an answer cannot add any: a kind the caller wants to
    // receive but does not send is offered receive-only, so the callee's media of that kind reach it, and a call
    // without local media still has something to negotiate (without, its peer connection never asks to, so no
    // offer is made and the call waits in `connecting` for ever).
    for (const kind of ["audio", "video"] as const) if (receive[kind] && !sent.has(kind)) pc.addTransceiver?.(kind, { direction: "recvonly" });
  }

  private onConnectionState(state: string): void {
    if (this.stateValue === "ended") return;
    if (state === "connected") {
      if (this.stateValue !== "connected") this.setState("connected");
      if (!this.reportedConnected) {
        this.reportedConnected = true;
        void this.signalAction(CallAction.CONNECTED).catch(() => undefined);
      }
    } else if (state === "failed") {
      void this.terminate("failed", "peer connection failed", CallAction.HANGUP);
    }
  }

  private signalAction(action: CallAction, reason = ""): Promise<unknown> {
    return this.context.send({
      case: "call",
      value: { action, target: this.remoteIdentity, callId: this.id, audio: this.audio, video: this.video, reason },
    });
  }

  /** While `start()` runs, events are kept here and emitted once `createCall()` has resolved. */
  private held: Array<() => void> | undefined;

  protected override emit<K extends keyof VollyCallEvents>(event: K, ...args: VollyCallEvents[K]): void {
    if (this.held !== undefined) this.held.push(() => super.emit(event, ...args));
    else super.emit(event, ...args);
  }

  private setState(state: VollyCallState): void {
    const previous = this.stateValue;
    if (previous === state || previous === "ended") return;
    this.stateValue = state;
    this.emit("state", state, previous);
  }
}
