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
  /** A problem the call survives (automatic renegotiation stopped because it ran away). */
  readonly error: (error: ConnectError) => void;
}

/** Automatic (negotiationneeded) offers allowed per second; beyond that it is a loop, not a change of media. */
const MAX_AUTOMATIC_OFFERS_PER_SECOND = 10;

/**
 * Perfect negotiation (W3C WebRTC §10.5 pattern) for one peer connection: offers when negotiation is needed (once
 * the call allows it), answers offers, resolves glare (the impolite peer ignores a colliding offer, the polite one
 * rolls back and answers), queues remote candidates until a remote description is set (werift signals candidates
 * before its offer, and browsers refuse early `addIceCandidate`), and treats both `null` (browsers) and `undefined`
 * (werift) as the end of candidates. Remote signals are applied one at a time, in order; repeats of the last offer
 * or of an answer already applied (re-sent after a signaling resume) are ignored.
 *
 * Local offers run on the same queue as remote signals. On a queue of their own, an explicit offer could start
 * while a remote offer was being applied: its `setLocalDescription()` then made the answer and the remote offer's
 * made an offer, each path dropped the description it did not expect, and both peers waited for ever. In one queue
 * an offer either goes out before the remote offer is applied (glare, resolved below) or after it was answered.
 */
export class Negotiator {
  private pc: PeerConnectionLike | undefined;
  private attached!: () => void;
  private readonly attachedOnce = new Promise<void>((resolve) => (this.attached = resolve));
  private ops: Promise<void> = Promise.resolve();
  private allowed = false;
  private allowOnOffer = false;
  private negotiationPending = false;
  private makingOffer = false;
  private ignoreOffer = false;
  private settingRemoteAnswer = false;
  private lastRemoteOffer: string | undefined;
  private readonly queuedCandidates: Array<IceCandidateInitLike | undefined> = [];
  /** negotiationneeded came while a negotiation was under way: checked again once stable (as browsers do). */
  private recheck = false;
  /** A remote description is being applied (and, for an offer, answered). */
  private applyingRemote = false;
  /** The SDP of the last local description set, as text: werift's `localDescription` follows later changes. */
  private negotiatedSdp: string | undefined;
  private readonly automaticOffers: number[] = [];
  private loopReported = false;
  private answerWaiters: Array<{ resolve: () => void; reject: (error: ConnectError) => void }> = [];
  private closed = false;

  constructor(private readonly options: NegotiatorOptions, private readonly signals: NegotiationSignals) {}

  /** Takes over `pc`'s negotiation and candidate events; remote signals received so far are applied now. */
  attach(pc: PeerConnectionLike): void {
    this.pc = pc;
    pc.onnegotiationneeded = () => {
      if (this.allowed) void this.negotiate(true);
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
    if (afterFirstOffer && this.negotiatedSdp === undefined) {
      this.allowOnOffer = true;
      return;
    }
    this.allowed = true;
    if (this.negotiationPending) {
      this.negotiationPending = false;
      void this.negotiate(true);
    }
  }

  /** A remote offer or answer. */
  remoteDescription(type: "offer" | "answer", sdp: string): void {
    this.enqueue(async () => {
      this.applyingRemote = true;
      try {
        await this.applyDescription(type, sdp);
      } finally {
        this.applyingRemote = false;
      }
      const pc = this.pc;
      if (pc !== undefined) this.recheckWhenStable(pc);
    });
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
    if (this.closed) throw new ConnectError("the call has ended", Code.Aborted);
    if (this.pc === undefined || (!this.allowed && !this.allowOnOffer)) {
      throw new ConnectError("the call is not accepted yet", Code.FailedPrecondition);
    }
    const answered = new Promise<void>((resolve, reject) => this.answerWaiters.push({ resolve, reject }));
    answered.catch(() => undefined);
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
    // A renegotiation in progress cannot finish any more: it fails now rather than at its timeout.
    for (const waiter of this.answerWaiters.splice(0)) waiter.reject(new ConnectError("the call ended during the renegotiation", Code.Aborted));
  }

  /** Runs `op` after every signal and offer queued before it (never inside one of them: that would deadlock). */
  private enqueue(op: () => Promise<void>): Promise<void> {
    this.ops = this.ops
      .then(() => this.attachedOnce)
      .then(() => (this.closed ? undefined : op()))
      .catch((e: unknown) => this.options.log("remote signal could not be applied", { error: String(e) }));
    return this.ops;
  }

  /** Offers, in turn with remote signals; `automatic` ones (negotiationneeded) only when something changed. */
  private negotiate(automatic = false): Promise<void> {
    return this.enqueue(() => this.offer(automatic));
  }

  private async offer(automatic: boolean): Promise<void> {
    const pc = this.pc;
    if (pc === undefined || this.closed) return;
    if (automatic && !(await this.offerNeeded(pc))) return;
    try {
      this.makingOffer = true;
      await pc.setLocalDescription();
      // Whatever the implicit description is goes out: an answer too, if a remote offer is pending (its own
      // answer failed), so that the peer is never left waiting for it.
      this.sendLocal(pc);
    } catch (e) {
      this.options.log("offer failed", { error: String(e) });
    } finally {
      this.makingOffer = false;
    }
  }

  /**
   * Whether a negotiationneeded still calls for an offer. werift raises it again after its first answer (for the
   * transceivers the remote offer created, deferred until stable) and browsers after an answer that does not
   * match their transceivers exactly (werift's, for one); an offer then changes nothing, and answering it
   * raises the event again: a loop. So: not while a negotiation is under way (checked again once stable), not
   * when a fresh offer would describe the same media as the current local description, and not more than
   * `MAX_AUTOMATIC_OFFERS_PER_SECOND` (reported once as an error: something keeps changing the media).
   */
  private async offerNeeded(pc: PeerConnectionLike): Promise<boolean> {
    // werift reads "stable" before its setLocalDescription(answer) has finished: the answer is not out yet.
    if (pc.signalingState !== "stable" || this.applyingRemote) {
      this.recheck = true;
      return false;
    }
    const current = this.negotiatedSdp;
    if (current !== undefined && pc.createOffer !== undefined) {
      let sdp: string | undefined;
      try {
        sdp = (await pc.createOffer()).sdp;
      } catch {
        sdp = undefined;
      }
      if (this.closed) return false;
      if (pc.signalingState !== "stable" || this.applyingRemote) {
        this.recheck = true;
        return false;
      }
      if (sdp !== undefined && mediaOf(sdp) === mediaOf(current)) {
        this.options.log("negotiationneeded ignored: the media are already negotiated");
        return false;
      }
    }
    const now = Date.now();
    while (this.automaticOffers.length > 0 && now - (this.automaticOffers[0] as number) >= 1000) this.automaticOffers.shift();
    if (this.automaticOffers.length >= MAX_AUTOMATIC_OFFERS_PER_SECOND) {
      if (!this.loopReported) {
        this.loopReported = true;
        this.options.error(new ConnectError(
          `more than ${MAX_AUTOMATIC_OFFERS_PER_SECOND} renegotiations within a second: negotiationneeded ignored (call renegotiate() to offer)`,
          Code.ResourceExhausted,
        ));
      }
      return false;
    }
    if (this.automaticOffers.length === 0) this.loopReported = false;
    this.automaticOffers.push(now);
    return true;
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
      for (const waiter of this.answerWaiters.splice(0)) waiter.resolve();
      return;
    }
    this.lastRemoteOffer = sdp;
    await pc.setLocalDescription();
    this.sendLocal(pc);
    // An explicit renegotiation still waits for an answer to an offer of ours: make it now.
    if (this.answerWaiters.length > 0 && pc.signalingState === "stable") void this.negotiate();
    if (this.allowOnOffer) {
      // A negotiation that became needed meanwhile runs if the answer did not cover it (werift does not fire the
      // event twice).
      this.allowOnOffer = false;
      this.allow();
    }
  }

  /** Signals the local description just set, if it is one the peer is waiting for: an offer or an answer. */
  private sendLocal(pc: PeerConnectionLike): void {
    const local = pc.localDescription;
    if (this.closed || local === null) return;
    // A colliding remote offer may have rolled an offer back (polite side): then there is nothing to send. (An
    // answer is not checked against the state: werift reports its new state only after the call resolved.)
    const pending = local.type === "offer" ? pc.signalingState === "have-local-offer" : local.type === "answer";
    if (!pending) return;
    this.negotiatedSdp = local.sdp;
    this.signals.description(local.type as "offer" | "answer", this.filterSdp(local.sdp));
  }

  private recheckWhenStable(pc: PeerConnectionLike): void {
    if (!this.recheck || !this.allowed || pc.signalingState !== "stable") return;
    this.recheck = false;
    void this.negotiate(true);
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

/**
 * What an offer negotiates, per media section: kind, mid, direction and tracks, and the ICE username
 * fragment, which changes only when the app asked for an ICE restart (`restartIce()`); not ports, candidates
 * or codecs.
 */
function mediaOf(sdp: string): string {
  return sdp
    .split(/\r?\n/)
    .filter((line) => /^(m=|a=mid:|a=msid:|a=ice-ufrag:|a=(sendrecv|sendonly|recvonly|inactive)$)/.test(line))
    .map((line) => (line.startsWith("m=") ? (line.split(" ")[0] as string) : line))
    .join("\n");
}
