import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { SignalRequestSchema, type SignalRequest, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { errorFromResponse } from "./client-errors.js";

/** The inner message of a request (the `oneof`, in protobuf-es init form). */
export type OutboundMessage = NonNullable<MessageInitShape<typeof SignalRequestSchema>["message"]>;

/** Where the outbox writes: one connection (a new `generation` per socket). */
export interface OutboxTransport {
  readonly generation: number;
  /** Sends `request`, perhaps later (paced); calls `sent` once it is on the wire. */
  send(request: SignalRequest, sent?: () => void): void;
}

interface Entry {
  readonly requestId: number;
  readonly message: OutboundMessage;
  readonly expectsAnswer: boolean;
  /** Position of its last transmission among everything sent, and on which socket; -1 = not sent yet. */
  sentIndex: number;
  sentGeneration: number;
  readonly resolve: (answer: SignalResponse | undefined) => void;
  readonly reject: (error: ConnectError) => void;
  /** Runs while the request waits offline or is on the wire; none while it waits behind the pacer. */
  timer: ReturnType<typeof setTimeout> | undefined;
  /** `Outbox.heard` when it last left. */
  heardAtSend: number;
}

/**
 * Requests on their way to the server, kept until the server has provably handled them, so that nothing is lost
 * across a resume (docs/protocol.md §5: direct answers are not replayed, the client repeats what was not
 * answered). A request with a direct answer (`discover` → `discover`, `data` → `data_ack`) settles with it; any
 * other (offer, answer, trickle, call) settles when a later `ping`'s `pong` arrives on the same socket, since the
 * server handles one connection's requests in order. An `error` naming the request rejects it. After a resume
 * every unsettled request is sent again in its original order, with its original request id; receivers de-duplicate.
 */
export class Outbox {
  private nextRequestId = 1;
  private sendIndex = 0;
  private readonly entries = new Map<number, Entry>();
  private readonly pings = new Map<number, { index: number; generation: number }>();
  private transport: OutboxTransport | undefined;
  /** Frames received so far (any kind): a request whose socket stayed silent since it left is not timed out. */
  private heard = 0;

  constructor(private readonly timeoutMs: number) {}

  /** Something arrived on the connection. */
  received(): void {
    this.heard++;
  }

  /** True while some request waits for a `pong` to be confirmed. */
  get awaitingConfirmation(): boolean {
    for (const e of this.entries.values()) if (!e.expectsAnswer && e.sentIndex >= 0) return true;
    return false;
  }

  /**
   * Queues a request and sends it now if connected. Resolves with its direct answer (`expectsAnswer`), or with
   * `undefined` once confirmed; rejects with the server's error, or `DeadlineExceeded` after the timeout.
   */
  submit(message: OutboundMessage, expectsAnswer: boolean): Promise<SignalResponse | undefined> {
    const requestId = this.takeRequestId();
    return new Promise((resolve, reject) => {
      const entry: Entry = { requestId, message, expectsAnswer, sentIndex: -1, sentGeneration: -1, resolve, reject, timer: undefined, heardAtSend: 0 };
      entry.timer = this.deadline(entry);
      this.entries.set(requestId, entry);
      if (this.transport !== undefined) this.transmit(entry, this.transport);
    });
  }

  /**
   * The request's timer: it fails with `DeadlineExceeded` unless answered (or confirmed) in time. Not while
   * nothing at all has arrived on its socket since it left: that socket is going dead (the heartbeat ends it
   * within the ping timeout, which may be longer than this one), and the resume sends the request again, timed
   * anew; failing it now would lose what the resume was about to deliver.
   */
  private deadline(entry: Entry): ReturnType<typeof setTimeout> {
    return setTimeout(() => {
      const silent = this.transport !== undefined && entry.sentGeneration === this.transport.generation && this.heard === entry.heardAtSend;
      if (silent && entry.sentIndex >= 0) {
        entry.timer = this.deadline(entry);
        return;
      }
      this.entries.delete(entry.requestId);
      entry.reject(new ConnectError(`no answer to ${entry.message.case ?? "request"} within ${this.timeoutMs} ms`, Code.DeadlineExceeded));
    }, this.timeoutMs);
  }

  /** Sends a message that is not kept (ack, leave, ping); returns its request id, or undefined when offline. */
  sendUntracked(message: OutboundMessage): number | undefined {
    const transport = this.transport;
    if (transport === undefined) return undefined;
    const requestId = this.takeRequestId();
    if (message.case === "ping") this.pings.set(requestId, { index: this.sendIndex, generation: transport.generation });
    this.sendIndex++;
    transport.send(create(SignalRequestSchema, { message, requestId }));
    return requestId;
  }

  /** Connected (joined or resumed): sends every unsettled request, oldest first. */
  attach(transport: OutboxTransport): void {
    this.transport = transport;
    this.pings.clear();
    for (const entry of this.entries.values()) this.transmit(entry, transport);
  }

  /**
   * Offline: requests queue until the next `attach`. One that already left is not timed while the SDK
   * reconnects: the resume sends it again, timed anew, and giving up rejects it (`reject`); its timer running on
   * would fail a request the resume was about to deliver. One never sent is timed from now, if it was not already.
   */
  detach(): void {
    this.transport = undefined;
    for (const entry of this.entries.values()) {
      if (entry.sentIndex >= 0) {
        clearTimeout(entry.timer);
        entry.timer = undefined;
      } else entry.timer ??= this.deadline(entry);
    }
  }

  /** Settles the request a direct answer names; false when no request waits for it. */
  settle(requestId: number, response: SignalResponse): boolean {
    const entry = this.entries.get(requestId);
    if (entry === undefined) return false;
    this.entries.delete(requestId);
    clearTimeout(entry.timer);
    if (response.message.case === "error") entry.reject(errorFromResponse(response.message.value));
    else entry.resolve(response);
    return true;
  }

  /** Fails a request that could not be sent at all (too large for the server's frame limit). */
  refuse(requestId: number, error: ConnectError): void {
    const entry = this.entries.get(requestId);
    if (entry === undefined) return;
    this.entries.delete(requestId);
    clearTimeout(entry.timer);
    entry.reject(error);
  }

  /** A `pong`: confirms every answerless request sent before that ping on the same socket. */
  confirm(pingRequestId: number): void {
    const ping = this.pings.get(pingRequestId);
    if (ping === undefined) return;
    this.pings.delete(pingRequestId);
    for (const entry of [...this.entries.values()]) {
      if (entry.expectsAnswer || entry.sentGeneration !== ping.generation || entry.sentIndex < 0 || entry.sentIndex >= ping.index) continue;
      this.entries.delete(entry.requestId);
      clearTimeout(entry.timer);
      entry.resolve(undefined);
    }
  }

  /** Rejects the requests `which` selects (e.g. call signaling after a rejoin, where the calls are gone). */
  reject(which: (message: OutboundMessage) => boolean, error: ConnectError): void {
    for (const entry of [...this.entries.values()]) {
      if (!which(entry.message)) continue;
      this.entries.delete(entry.requestId);
      clearTimeout(entry.timer);
      entry.reject(error);
    }
  }

  private transmit(entry: Entry, transport: OutboxTransport): void {
    entry.sentIndex = this.sendIndex++;
    entry.sentGeneration = transport.generation;
    // Timed from when it leaves, not while it waits behind the pacer: a burst spread out to the server's
    // rate must not fail requests the server then answers.
    clearTimeout(entry.timer);
    entry.timer = undefined;
    transport.send(create(SignalRequestSchema, { message: entry.message, requestId: entry.requestId }), () => {
      if (this.entries.get(entry.requestId) !== entry) return;
      clearTimeout(entry.timer);
      entry.heardAtSend = this.heard;
      entry.timer = this.deadline(entry);
    });
  }

  private takeRequestId(): number {
    const id = this.nextRequestId;
    this.nextRequestId = id >= 0xffffffff ? 1 : id + 1;
    return id;
  }
}
