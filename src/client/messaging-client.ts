import { Code, ConnectError } from "@connectrpc/connect";
import { toHex } from "../protocol/pq/bytes.js";
import { decodeUtf8Value } from "../protocol/text-encoding.js";
import { errorReasonOf, invalidArgument } from "./client-errors.js";
import type { VollyDataMessage } from "./client-events.js";
import { messagingTransportOf, type MessagingTransport, type VollyPostQuantumSession } from "./post-quantum-session.js";
import { RecentKeys } from "./recent-keys.js";
import { TypedEmitter } from "./typed-emitter.js";

/** Options of `VollyMessagingClient`. */
export interface VollyMessagingClientOptions {
  /** From `VollySignalingClient.getPostQuantumSession()`: messages ride that client's post-quantum channel. */
  postQuantumSession: VollyPostQuantumSession;
  /** The `data` topic reserved for these messages (default "volly.messaging.v1"). */
  topic?: string;
  /** How many recent message keys are remembered to drop repeats (default 10000). */
  dedupeWindow?: number;
}

/** A received message. */
export interface VollyMessage {
  /** The sender's message id (unique per sender). */
  readonly id: string;
  readonly from: string;
  /** True when it was sent to the whole room. */
  readonly toRoom: boolean;
  /** A string when a string was sent, bytes when bytes were. */
  readonly body: string | Uint8Array;
}

/** The server's acknowledgement: the message is queued for `recipients` participants (kept across their resumes). */
export interface VollyMessageReceipt {
  readonly id: string;
  readonly recipients: number;
}

/** Events of `VollyMessagingClient`. */
export type VollyMessagingEvents = { message: [message: VollyMessage] };

const TEXT = 1;
const BYTES = 2;

/** Server refusals after which the same message is sent again (docs/errors.md ids). */
const RETRIED = new Set(["rate_limited", "store_unavailable", "store_timeout"]);

/** Tries of a message the server refuses for its rate or its store (about 20 s in all), before `send` rejects. */
const RATE_RETRIES = 10;

/** Wait before try `attempt + 1`: doubling from 100 ms up to 4 s, spread so that refused messages do not return together. */
function rateBackoffMs(attempt: number): number {
  return Math.min(4000, 100 * 2 ** (attempt - 1)) * (0.75 + Math.random() / 2);
}

/**
 * The refusal of a payload over the server's data limit, restated for the body: the 1-byte type tag in front of
 * it counts against that limit, so the body may be one byte less than the limit the server names.
 */
function bodyTooLarge(e: unknown, payloadBytes: number, maxDataBytes: number): ConnectError | undefined {
  if (!(e instanceof ConnectError) || e.code !== Code.InvalidArgument || payloadBytes <= maxDataBytes) return undefined;
  const message = `message body is ${payloadBytes - 1} bytes; at most ${maxDataBytes - 1} fit (the server's data limit, ${maxDataBytes} bytes, less the 1-byte type tag)`;
  return new ConnectError(message, Code.InvalidArgument, e.metadata, undefined, e);
}

/**
 * App messages to one identity or the whole room over the signaling client's post-quantum channel (server-relayed
 * `data` on a dedicated topic). `send` resolves with the server's delivery acknowledgement; messages sent while the
 * connection is resuming are queued and sent after it; a message whose acknowledgement was lost in a drop is sent
 * again with the same id, and receivers drop repeats by sender and id, so each message is delivered exactly once.
 */
export class VollyMessagingClient extends TypedEmitter<VollyMessagingEvents> {
  private readonly transport: MessagingTransport;
  private readonly topic: string;
  private readonly seen: RecentKeys;
  private readonly prefix = toHex(crypto.getRandomValues(new Uint8Array(8)));
  private counter = 0;
  private readonly unsubscribe: () => void;

  constructor(options: VollyMessagingClientOptions) {
    super();
    this.transport = messagingTransportOf(options?.postQuantumSession);
    this.topic = options.topic ?? "volly.messaging.v1";
    this.seen = new RecentKeys(options.dedupeWindow ?? 10_000);
    this.unsubscribe = this.transport.onData((m) => this.receive(m));
  }

  /** Sends `body` to `options.to` (an identity in the room) or, without it, to everyone else in the room. */
  async send(body: string | Uint8Array, options: { to?: string } = {}): Promise<VollyMessageReceipt> {
    // Checked here, as sendData does: plain JavaScript callers pass anything (an ArrayBuffer, undefined).
    if (typeof body !== "string" && !(body instanceof Uint8Array)) throw invalidArgument("send: body must be a string or a Uint8Array");
    const id = `${this.prefix}-${++this.counter}`;
    const content = typeof body === "string" ? new TextEncoder().encode(body) : body;
    const payload = new Uint8Array(content.length + 1);
    payload[0] = typeof body === "string" ? TEXT : BYTES;
    payload.set(content, 1);
    const request = { target: options.to ?? "", topic: this.topic, id };
    for (let attempt = 1; ; attempt++) {
      try {
        const ack = await this.transport.sendData(payload, request);
        return { id, recipients: ack.recipients };
      } catch (e) {
        const tooLarge = bodyTooLarge(e, payload.length, this.transport.maxDataBytes());
        if (tooLarge !== undefined) throw tooLarge;
        // Refused for the message rate (the server did not take it), or the server's store could not take it
        // or did not answer in time (it may yet deliver it): the same id again after a while, so the message
        // is delivered late rather than lost, and receivers drop a repeat, so still only once.
        if (!RETRIED.has(errorReasonOf(e) ?? "") || attempt >= RATE_RETRIES) throw e;
        await new Promise((r) => setTimeout(r, rateBackoffMs(attempt)));
      }
    }
  }

  /** Stops receiving (sending still works). */
  close(): void {
    this.unsubscribe();
  }

  private receive(m: VollyDataMessage): void {
    if (m.topic !== this.topic || m.payload.length === 0) return;
    if (!this.seen.add(`${m.from}\u0000${m.id}`)) return;
    const kind = m.payload[0];
    const content = m.payload.subarray(1);
    let body: string | Uint8Array;
    // The text as sent: a default TextDecoder would drop a leading U+FEFF.
    if (kind === TEXT) body = decodeUtf8Value(content);
    else if (kind === BYTES) body = content.slice();
    else return;
    this.emit("message", { id: m.id, from: m.from, toRoom: m.target === "", body });
  }
}

