import { CallAction, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { toHex } from "../protocol/pq/bytes.js";
import { VollyCall, type CallContext, type VollyCallEndReason } from "./call.js";
import type { MediaStreamLike } from "./webrtc-types.js";

/** What `createCall` asks for. */
export interface VollyCallOptions {
  /** The identity to call (must be in the same room). */
  recipient: string;
  audio?: boolean;
  video?: boolean;
  /** Send this stream instead of capturing one. */
  localStream?: MediaStreamLike;
  /**
   * Kinds of media to receive from the callee even where this side sends none of that kind (offered receive-only).
   * Default: both, in a browser page with its own `RTCPeerConnection`; none in Node or with one passed in
   * (`RTCPeerConnection` option, e.g. werift's, which does not connect reliably with receive-only transceivers):
   * add transceivers to `call.peerConnection` yourself there, before the callee accepts.
   */
  receive?: { audio?: boolean; video?: boolean };
}

/**
 * The calls of one client: creates outgoing calls, turns an `INVITE` into an incoming call (answering `RINGING`),
 * and routes call signals, offers, answers and candidates to the call they name, only from that call's peer.
 */
export class CallRouter {
  private readonly calls = new Map<string, VollyCall>();

  constructor(
    private readonly context: (forget: (call: VollyCall) => void) => CallContext,
    private readonly incoming: (call: VollyCall) => void,
  ) {}

  /** Calls in progress. */
  list(): VollyCall[] {
    return [...this.calls.values()];
  }

  /** Starts an outgoing call; resolves once the server relayed the invitation. */
  async create(options: VollyCallOptions): Promise<VollyCall> {
    const id = toHex(crypto.getRandomValues(new Uint8Array(16)));
    const context = this.contextFor();
    const call = new VollyCall(id, options.recipient, "outgoing", options.audio ?? false, options.video ?? false, context);
    this.calls.set(id, call);
    const receive = { audio: options.receive?.audio ?? context.receivesByDefault, video: options.receive?.video ?? context.receivesByDefault };
    await call.start(options.localStream, receive);
    return call;
  }

  /** Routes a relayed message; false when it is not about calls. */
  route(response: SignalResponse): boolean {
    const m = response.message;
    switch (m.case) {
      case "call": {
        const signal = m.value;
        if (signal.action === CallAction.INVITE) {
          if (this.calls.has(signal.callId)) return true; // a repeat after a resume
          const call = new VollyCall(signal.callId, signal.from, "incoming", signal.audio, signal.video, this.contextFor());
          this.calls.set(signal.callId, call);
          void this.contextFor().send({
            case: "call",
            value: { action: CallAction.RINGING, target: signal.from, callId: signal.callId, audio: signal.audio, video: signal.video },
          }).catch(() => undefined);
          this.incoming(call);
          return true;
        }
        this.callFrom(signal.callId, signal.from)?.handleAction(signal.action, signal.reason);
        return true;
      }
      case "offer":
      case "answer":
        this.callFrom(m.value.callId, m.value.from)?.handleDescription(m.case, m.value.sdp);
        return true;
      case "trickle":
        this.callFrom(m.value.callId, m.value.from)?.handleCandidate(m.value.candidate);
        return true;
      default:
        return false;
    }
  }

  /** Ends every call locally (the signaling participant is gone, so the server already hung them up). */
  endAll(reason: VollyCallEndReason, detail: string): void {
    for (const call of this.list()) void call.terminate(reason, detail, undefined);
  }

  private callFrom(callId: string, from: string): VollyCall | undefined {
    const call = this.calls.get(callId);
    return call?.remoteIdentity === from ? call : undefined;
  }

  private contextFor(): CallContext {
    return this.context((call) => {
      if (this.calls.get(call.id) === call) this.calls.delete(call.id);
    });
  }
}
