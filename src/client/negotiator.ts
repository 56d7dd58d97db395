import { Code, ConnectError } from "@connectrpc/connect";
import type { IceCandidateEventLike, IceCandidateInitLike, PeerConnectionLike } from "./webrtc-types.js";

/** Which local ICE candidates may be signaled (e.g. only loopback ones in tests). */
export type CandidateFilter = (candidate: IceCandidateInitLike) => boolean;

/** Where the negotiator's outgoing signals go (offer/answer/trickle to the remote peer). */
export interface NegotiationSignals {
  description(type: "offer" | "answer", sdp: string): void;
  /** JSON of an `RTCIceCandidateInit`, or "" for the end of candidates. */
  candidate(candidate: string): void;
}

/** The negotiator's settings. */
export interface NegotiatorOptions {
  /** The polite peer yields when both offer at once. */
  readonly polite: boolean;
  readonly candidateFilter?: CandidateFilter;
  readonly log: (message: string, details?: Record<string, unknown>) => void;
}

/**
 * Perfect negotiation (W3C WebRTC §10.5 pattern) for one peer connection: offers when negotiation is needed (once
 * the call allows it), answers offers, resolves glare (the impolite peer ignores a colliding offer, the polite one
 * rolls back and answers), queues remote candidates until a remote description is set (werift signals candidates
 * before its offer, and browsers refuse early `addIceCandidate`), and treats both `null` (browsers) and `undefined`
 * (werift) as the end of candidates. Remote signals are applied one at a time, in order; repeats of the last offer
 * or of an answer already applied (re-sent after a signaling resume) are ignored.
 */
export class Negotiator {
  private pc: PeerConnectionLike | undefined;
  private attached!: () => void;
  private readonly attachedOnce = new Promise<void>((resolve) => (this.attached = resolve));
  private ops: Promise<void> = Promise.resolve();
  private offering: Promise<void> = Promise.resolve();
  private allowed = false;
  private allowOnOffer = false;
  private negotiationPending = false;
  private makingOffer = false;
  private ignoreOffer = false;
  private settingRemoteAnswer = false;
  private lastRemoteOffer: string | undefined;
  private readonly queuedCandidates: Array<IceCandidateInitLike | undefined> = [];
  private answerWaiters: Array<() => void> = [];
  private closed = false;

  constructor(private readonly options: NegotiatorOptions, private readonly signals: NegotiationSignals) {}

  /** Takes over `pc`'s negotiation and candidate events; remote signals received so far are applied now. */
  attach(pc: PeerConnectionLike): void {
    this.pc = pc;
    pc.onnegotiationneeded = () => {
      if (this.allowed) void this.negotiate();
      else this.negotiationPending = true;
    };
    pc.onicecandidate = (event: IceCandidateEventLike) => this.onLocalCandidate(event);
    this.attached();
  }

  /**
   * The call was accepted: negotiation may start (and starts if it was already needed). With `afterFirstOffer`
   * (the callee) it waits until the caller's first offer is answered, which then carries the callee's tracks too,
   * so a fresh call needs no glare resolution.
   */
  allow(afterFirstOffer = false): void {
    if (afterFirstOffer && this.lastRemoteOffer === undefined) {
      this.allowOnOffer = true;
      return;
    }
    this.allowed = true;
    if (this.negotiationPending) {
      this.negotiationPending = false;
      void this.negotiate();
    }
  }

  /** A remote offer or answer. */
  remoteDescription(type: "offer" | "answer", sdp: string): void {
    this.enqueue(() => this.applyDescription(type, sdp));
  }

  /** A remote candidate (JSON of an `RTCIceCandidateInit`; "" = end of candidates). */
  remoteCandidate(json: string): void {
    let init: IceCandidateInitLike | undefined;
    try {
      init = json === "" ? undefined : (JSON.parse(json) as IceCandidateInitLike);
    } catch {
      this.options.log("malformed remote candidate ignored");
      return;
    }
    this.enqueue(() => this.applyCandidate(init));
  }

  /** Offers now (an explicit renegotiation); resolves when the answer is applied. */
  async renegotiate(timeoutMs: number): Promise<void> {
    if (this.pc === undefined || (!this.allowed && !this.allowOnOffer)) {
      throw new ConnectError("the call is not accepted yet", Code.FailedPrecondition);
    }
    const answered = new Promise<void>((resolve) => this.answerWaiters.push(resolve));
    await this.negotiate();
    // If a colliding remote offer rolled ours back (polite side), applyDescription offers again after answering.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ConnectError("renegotiation not answered", Code.DeadlineExceeded)), timeoutMs);
    });
    try {
      await Promise.race([answered, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops handling events (the call ended). */
  close(): void {
    this.closed = true;
    if (this.pc !== undefined) this.pc.onnegotiationneeded = this.pc.onicecandidate = null;
  }

  private enqueue(op: () => Promise<void>): void {
    this.ops = this.ops
      .then(() => this.attachedOnce)
      .then(() => (this.closed ? undefined : op()))
      .catch((e: unknown) => this.options.log("remote signal could not be applied", { error: String(e) }));
  }

  /** Offers, one negotiation at a time. */
  private negotiate(): Promise<void> {
    this.offering = this.offering.then(() => this.offer());
    return this.offering;
  }

  private async offer(): Promise<void> {
    const pc = this.pc;
    if (pc === undefined || this.closed) return;
    try {
      this.makingOffer = true;
      await pc.setLocalDescription();
      const local = pc.localDescription;
      // A colliding remote offer may have rolled this one back (polite side): then there is nothing to send.
      if (pc.signalingState !== "have-local-offer" || local?.type !== "offer" || this.closed) return;
      this.signals.description("offer", this.filterSdp(local.sdp));
    } catch (e) {
      this.options.log("offer failed", { error: String(e) });
    } finally {
      this.makingOffer = false;
    }
  }

  private async applyDescription(type: "offer" | "answer", sdp: string): Promise<void> {
    const pc = this.pc as PeerConnectionLike;
    if (type === "offer" && sdp === this.lastRemoteOffer) return;
    if (type === "answer" && pc.signalingState !== "have-local-offer") return;
    const readyForOffer = !this.makingOffer && (pc.signalingState === "stable" || this.settingRemoteAnswer);
    const collision = type === "offer" && !readyForOffer;
    this.ignoreOffer = !this.options.polite && collision;
    if (this.ignoreOffer) {
      this.options.log("colliding offer ignored (impolite side)");
      return;
    }
    this.settingRemoteAnswer = type === "answer";
    try {
      if (collision) await pc.setLocalDescription({ type: "rollback" });
      await pc.setRemoteDescription({ type, sdp });
    } finally {
      this.settingRemoteAnswer = false;
    }
    await this.flushCandidates();
    if (type === "answer") {
      for (const resolve of this.answerWaiters.splice(0)) resolve();
      return;
    }
    this.lastRemoteOffer = sdp;
    await pc.setLocalDescription();
    const local = pc.localDescription;
    if (local?.type === "answer" && !this.closed) this.signals.description("answer", this.filterSdp(local.sdp));
    // An explicit renegotiation still waits for an answer to an offer of ours: make it now.
    if (this.answerWaiters.length > 0 && pc.signalingState === "stable") void this.negotiate();
    if (this.allowOnOffer) {
      // A negotiation that became needed meanwhile still runs (werift does not fire the event twice); in browsers
      // it may turn out to be an extra, harmless round.
      this.allowOnOffer = false;
      this.allow();
    }
  }

  private async applyCandidate(init: IceCandidateInitLike | undefined): Promise<void> {
    const pc = this.pc as PeerConnectionLike;
    if (pc.remoteDescription === null) {
      this.queuedCandidates.push(init);
      return;
    }
    await this.addCandidate(pc, init);
  }

  private async flushCandidates(): Promise<void> {
    const pc = this.pc as PeerConnectionLike;
    for (const init of this.queuedCandidates.splice(0)) await this.addCandidate(pc, init);
  }

  private async addCandidate(pc: PeerConnectionLike, init: IceCandidateInitLike | undefined): Promise<void> {
    try {
      await (init === undefined ? pc.addIceCandidate() : pc.addIceCandidate(init));
    } catch (e) {
      // Candidates of an offer we ignored (glare) fail to apply; that is expected.
      if (!this.ignoreOffer && init !== undefined) this.options.log("remote candidate refused", { error: String(e) });
    }
  }

  private onLocalCandidate(event: IceCandidateEventLike): void {
    if (this.closed) return;
    const candidate = event.candidate;
    if (candidate === null || candidate === undefined) {
      this.signals.candidate("");
      return;
    }
    const init = candidate.toJSON();
    if (!init.candidate) return;
    if (this.options.candidateFilter !== undefined && !this.options.candidateFilter(init)) return;
    this.signals.candidate(JSON.stringify(init));
  }

  /** The SDP without `a=candidate` lines the candidate filter refuses (werift and late browsers inline them). */
  private filterSdp(sdp: string): string {
    const filter = this.options.candidateFilter;
    if (filter === undefined) return sdp;
    return sdp
      .split("\r\n")
      .filter((line) => !line.startsWith("a=candidate:") || filter({ candidate: line.slice(2) }))
      .join("\r\n");
  }
}
