import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  SignalRequestSchema,
  SignalResponseSchema,
  type SignalRequest,
  type SignalResponse,
} from "../../gen/volly/signaling/v1/signal_pb.js";
import type { PqAlgorithm } from "../protocol/pq/algorithms.js";
import type { KemKeyPair } from "../protocol/pq/kem.js";
import { isPqError } from "../protocol/pq/pq-error.js";
import { decodePlaintext, encodePlaintext, type CodecError, type WireFormat } from "../protocol/signal-codec.js";
import { errorFromClose, errorFromResponse } from "./client-errors.js";
import { frameTooLarge, sealedFrameBytes } from "./frame-size.js";
import { acceptTokenHandshake, startHandshake, type PendingClientHandshake } from "./pq/client-handshake.js";
import type { ClientPqSession } from "./pq/client-session.js";
import type { SignalSocket, SignalSocketHandlers } from "./signal-socket.js";
import { tokenBindsPqKey } from "./token-key-pair.js";

/** How a channel protects a connection. */
export interface SecureChannelOptions {
  readonly token: string;
  readonly format: WireFormat;
  /** False only for servers run with VOLLY_PQ_ENABLED=false: signaling is then plaintext. */
  readonly postQuantum: boolean;
  /** Way (b)'s ephemeral key algorithm. */
  readonly algorithm: PqAlgorithm;
  /** Way (a): the key pair whose public key the (original) token carries; used while `token` carries it. */
  readonly tokenKeyPair?: KemKeyPair & { readonly algorithm: PqAlgorithm };
  readonly handshakeTimeoutMs: number;
}

/** What the channel reports to its connection. */
export interface SecureChannelHandlers {
  /** A decrypted inner message, in the server's order. */
  message(response: SignalResponse): void;
  /** The channel broke (bad record, protocol violation): the connection must be dropped. */
  failed(error: ConnectError): void;
  /** The socket closed. */
  closed(code: number, reason: string): void;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: ConnectError): void;
}

/**
 * The post-quantum channel over one socket (docs/protocol.md §4): the handshake (ephemeral key, or the token's key),
 * then every inner message sealed into and opened from `secure` records, in order; client-initiated rekeys. With
 * `postQuantum: false` it passes messages through, and with it on it never accepts plaintext signaling (a server
 * that answers in the clear is refused, not downgraded to).
 */
export class SecureChannel {
  private socket: SignalSocket | undefined;
  private session: ClientPqSession | undefined;
  private phase: "handshake" | "open" | "closed" = "handshake";
  private readonly clearInbox: SignalResponse[] = [];
  private clearWaiter: Waiter<SignalResponse> | undefined;
  private rekeyWaiter: Waiter<void> | undefined;
  private recvChain: Promise<void> = Promise.resolve();
  private sendChain: Promise<void> = Promise.resolve();
  /** `error`/`leave` may come in the clear until the first record (a refused `pq_finished`). */
  private clearAllowed = true;
  private closedError: ConnectError | undefined;
  /** When the current keys were asked for (`performance.now()`): the server times its rekey deadline from just after. */
  private keyed = 0;
  private rekeyAskedAt = 0;

  /** Give these to `SignalSocket.open`. */
  readonly socketHandlers: SignalSocketHandlers = {
    message: (r) => this.onOuter(r),
    malformed: (e: CodecError) => this.fail(new ConnectError(`undecodable frame: ${e.message}`, Code.DataLoss)),
    closed: (code, reason) => this.onClosed(code, reason),
  };

  constructor(private readonly options: SecureChannelOptions, private readonly handlers: SecureChannelHandlers) {}

  /** When `pq_finished`, or the request of the last completed rekey, went out (`performance.now()`). */
  get keyedAt(): number {
    return this.keyed;
  }

  /** The established post-quantum session (undefined with PQ off or before the handshake). */
  get pqSession(): ClientPqSession | undefined {
    return this.session;
  }

  /** Runs the handshake on `socket`; rejects with a `ConnectError` (the socket is then the caller's to close). */
  async establish(socket: SignalSocket): Promise<void> {
    this.socket = socket;
    if (!this.options.postQuantum) {
      this.open();
      return;
    }
    const { token, algorithm, tokenKeyPair } = this.options;
    let pending: PendingClientHandshake;
    if (tokenKeyPair !== undefined && tokenBindsPqKey(token)) {
      pending = acceptTokenHandshake({ algorithm: tokenKeyPair.algorithm, accessToken: token, keyPair: tokenKeyPair });
    } else {
      // A refreshed token binds no key (the resume is way (b)); the ephemeral key keeps the bound key's
      // algorithm, which a server requiring the hybrid insists on.
      const started = await startHandshake({ algorithm: tokenKeyPair?.algorithm ?? algorithm, accessToken: token });
      socket.send(create(SignalRequestSchema, { message: { case: "pqHandshake", value: started.message } }));
      pending = started;
    }
    const first = await this.nextClear();
    if (first.message.case !== "pqHandshakeResponse") throw handshakeRefusal(first);
    let clientFinished: Uint8Array;
    try {
      ({ clientFinished, session: this.session } = await pending.complete(first.message.value));
    } catch (e) {
      throw new ConnectError(`post-quantum handshake failed: ${isPqError(e) ? e.message : String(e)}`, Code.PermissionDenied);
    }
    this.keyed = performance.now();
    socket.send(create(SignalRequestSchema, { message: { case: "pqFinished", value: { clientFinished } } }));
    this.open();
  }

  /** The server's frame limit: a request over it is refused (returned), never sent nor sealed. */
  maxFrameBytes = Infinity;

  /** Sends an inner message (sealed when PQ is on); order is kept. Returns the error of a request too large to send. */
  send(request: SignalRequest): ConnectError | undefined {
    const socket = this.socket;
    if (this.phase !== "open" || socket === undefined) return undefined;
    const session = this.session;
    if (session === undefined) return socket.send(request, this.maxFrameBytes);
    const plaintext = encodePlaintext(SignalRequestSchema, request, this.options.format);
    const size = sealedFrameBytes(plaintext.length, { epoch: session.epoch, seq: session.nextSeq, requestId: request.requestId }, this.options.format, this.maxFrameBytes);
    if (size > this.maxFrameBytes) return frameTooLarge(size, this.maxFrameBytes);
    // seal() takes its seq now, so records keep call order even though encryption is asynchronous.
    const sealed = session.seal(plaintext);
    this.sendChain = this.sendChain
      .then(() => sealed)
      // The record repeats the inner request id: servers that answer a failed request by the envelope's id
      // (rather than the inner one) are then still understood.
      .then((record) => void socket.send(create(SignalRequestSchema, { message: { case: "secure", value: record }, requestId: request.requestId })))
      .catch((e: unknown) => this.fail(new ConnectError(`could not seal a record: ${String(e)}`, Code.Internal)));
    return undefined;
  }

  /** Rekeys the channel (fresh ephemeral key, next epoch); resolves when both directions switched. */
  async rekey(timeoutMs: number): Promise<void> {
    const session = this.session;
    if (session === undefined || this.phase !== "open") throw new ConnectError("no post-quantum channel to rekey", Code.FailedPrecondition);
    let request;
    try {
      request = await session.startRekey();
    } catch (e) {
      throw ConnectError.from(e, Code.Internal);
    }
    const done = new Promise<void>((resolve, reject) => (this.rekeyWaiter = { resolve, reject }));
    const timer = setTimeout(() => this.rekeyWaiter?.reject(new ConnectError("rekey not answered", Code.DeadlineExceeded)), timeoutMs);
    this.rekeyAskedAt = performance.now();
    this.send(create(SignalRequestSchema, { message: { case: "rekey", value: request } }));
    try {
      await done;
    } finally {
      clearTimeout(timer);
      this.rekeyWaiter = undefined;
    }
  }

  /** Forgets the keys (after the socket is gone). */
  destroy(): void {
    this.phase = "closed";
    this.session?.destroy();
  }

  private open(): void {
    this.phase = "open";
    // Anything that arrived in the clear right behind the handshake (a refusal) is processed now, in order.
    for (const r of this.clearInbox.splice(0)) this.onOuter(r);
  }

  private nextClear(): Promise<SignalResponse> {
    const queued = this.clearInbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closedError !== undefined) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new ConnectError("post-quantum handshake timed out", Code.DeadlineExceeded)),
        this.options.handshakeTimeoutMs,
      );
      this.clearWaiter = {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    });
  }

  private onOuter(outer: SignalResponse): void {
    if (this.phase === "closed") return;
    if (this.phase === "handshake") {
      const waiter = this.clearWaiter;
      this.clearWaiter = undefined;
      if (waiter) waiter.resolve(outer);
      else this.clearInbox.push(outer);
      return;
    }
    const session = this.session;
    if (session === undefined) {
      this.deliver(Promise.resolve(outer));
      return;
    }
    const m = outer.message;
    if (m.case === "secure") {
      this.clearAllowed = false;
      const plaintext = session.open(m.value);
      this.deliver(plaintext.then((p) => decodePlaintext(SignalResponseSchema, p, this.options.format)));
    } else if (this.clearAllowed && (m.case === "error" || m.case === "leave")) {
      this.deliver(Promise.resolve(outer));
    } else {
      this.fail(new ConnectError(`plaintext ${m.case ?? "message"} inside the post-quantum channel refused`, Code.DataLoss));
    }
  }

  /** Hands inner messages over strictly in arrival order; a rekey answer switches epochs before the next one. */
  private deliver(next: Promise<SignalResponse>): void {
    next.catch(() => undefined);
    this.recvChain = this.recvChain.then(async () => {
      if (this.phase === "closed") return;
      let inner: SignalResponse;
      try {
        inner = await next;
      } catch {
        this.fail(new ConnectError("record refused (epoch, sequence, tag or content)", Code.DataLoss));
        return;
      }
      if (inner.message.case === "rekey" && this.session !== undefined) {
        try {
          await this.session.completeRekey(inner.message.value);
          this.keyed = this.rekeyAskedAt;
          this.rekeyWaiter?.resolve();
        } catch {
          this.fail(new ConnectError("rekey answer refused", Code.DataLoss));
        }
        return;
      }
      this.handlers.message(inner);
    });
  }

  private fail(error: ConnectError): void {
    if (this.phase === "closed") return;
    this.clearWaiter?.reject(error);
    // The connection hears first, so a rekey failed by the channel's end finds its recovery under way.
    this.handlers.failed(error);
    this.rekeyWaiter?.reject(error);
  }

  private onClosed(code: number, reason: string): void {
    const error = errorFromClose(code, reason);
    this.closedError = error;
    this.clearWaiter?.reject(error);
    // Records that arrived before the close (typically the server's `leave`) are still being decrypted:
    // report the close after them, so the connection sees the reason first.
    this.recvChain = this.recvChain.then(() => {
      this.destroy();
      this.handlers.closed(code, reason);
      this.rekeyWaiter?.reject(error);
    });
  }
}

/** Why the first message of a handshake is not a `pq_handshake_response`. */
function handshakeRefusal(first: SignalResponse): ConnectError {
  const m = first.message;
  if (m.case === "error") return errorFromResponse(m.value);
  if (m.case === "leave") return new ConnectError(m.value.message || "server refused the connection", Code.Unavailable);
  if (m.case === "join") {
    return new ConnectError("server did not negotiate the post-quantum channel; plaintext signaling refused (set postQuantum: false only for a server with VOLLY_PQ_ENABLED=false)", Code.FailedPrecondition);
  }
  return new ConnectError(`expected pq_handshake_response, got ${m.case ?? "an empty message"}`, Code.Internal);
}
