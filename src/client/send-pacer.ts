import type { SignalRequest } from "../../gen/volly/signaling/v1/signal_pb.js";
import type { VollyConnectionLimits } from "./connection-limits.js";
import { utf8Length } from "./frame-size.js";
import type { VollyParticipant } from "./participant-roster.js";

/**
 * What a request costs of the server's message rate (protocol.md §6): one token, but a `discover` one per 10
 * identities asked (one past 100, which the server refuses without a lookup).
 */
export function requestCost(request: SignalRequest): number {
  if (request.message.case !== "discover") return 1;
  const asked = request.message.value.identities.length;
  return asked > 100 ? 1 : Math.max(1, Math.ceil(asked / 10));
}

/**
 * What a request costs of the server's fan-out budget for each recipient (protocol.md §6, "Fan-out budget"): a
 * room-wide `data` its payload, topic and id; an `update_metadata` the participant's whole description after the
 * change (`local` is this participant now), which every recipient's `participant_update` carries. 0 for a request
 * that is not a broadcast.
 */
export function broadcastBytes(request: SignalRequest, local: VollyParticipant | undefined): number {
  const m = request.message;
  if (m.case === "data") return m.value.target === "" ? m.value.payload.length + utf8Length(m.value.topic) + utf8Length(m.value.id) : 0;
  if (m.case !== "updateMetadata") return 0;
  // As the server merges it: an empty metadata or name leaves it unchanged, an empty attribute value deletes the key.
  const attributes: Record<string, string> = { ...local?.attributes, ...m.value.attributes };
  let bytes = utf8Length(m.value.metadata || (local?.metadata ?? "")) + utf8Length(m.value.name || (local?.name ?? ""));
  for (const [key, value] of Object.entries(attributes)) if (value !== "") bytes += utf8Length(key) + utf8Length(value);
  return bytes;
}

/** A token bucket refilled by the clock; it may go into debt (below 0) when a cost is charged after the fact. */
class Bucket {
  tokens = 1;
  private capacity = 1;
  private perMs = 1;
  private refilledAt = 0;

  reset(capacity: number, perSecond: number, spent: number): void {
    this.capacity = Math.max(1, capacity);
    this.perMs = Math.max(1e-3, perSecond / 1000);
    this.tokens = this.capacity - spent;
    this.refilledAt = Date.now();
  }

  refill(now: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.refilledAt) * this.perMs);
    this.refilledAt = now;
  }

  /** Never more than the bucket holds: a cost dearer than its whole capacity would otherwise wait for ever. */
  bounded(cost: number): number {
    return Math.min(cost, this.capacity);
  }

  /** Milliseconds until the bucket holds `tokens`. */
  msUntil(tokens: number): number {
    return Math.max(0, (tokens - this.tokens) / this.perMs);
  }
}

interface Queued {
  readonly run: () => void;
  readonly cost: number;
  readonly fanout: number;
}

/**
 * Keeps what one socket sends under the server's message rate and fan-out budget (token buckets like the server's),
 * so that a burst of requests (an outbox flushed after a resume, many `sendData` at once) is spread out instead of
 * refused with `rate_limited`. Sends keep their order: once one waits, every later one queues behind it.
 *
 * Every frame after the join goes through it (requests, pings, acks), at the server's rate; its burst is half the
 * server's, because frames bunch up on the way (a stalled TCP connection delivers a backlog at once) and a few
 * (handshake, rekey) are not paced: the other half absorbs both. An app that sends at the server's rate, pings
 * and acks included, is never refused; one that sends faster waits, as the server would make it.
 *
 * Broadcasts also wait while the fan-out budget is spent, as the server refuses them then, and are charged their
 * bytes times the recipients this client knows of. Its budget too holds half the server's: the other half covers
 * recipients the client does not see (hidden participants) and joins it has not heard of yet.
 */
export class SendPacer {
  private readonly queue: Queued[] = [];
  private readonly messages = new Bucket();
  private readonly fanout = new Bucket();
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** A new socket: the server's buckets are full again, less the `alreadySent` frames that were not paced. */
  reset(limits: VollyConnectionLimits, alreadySent: number): void {
    this.clear();
    this.messages.reset(Math.floor(limits.messageBurst / 2), limits.messagesPerSecond, alreadySent);
    this.fanout.reset(Math.floor(limits.fanoutBytesPerSecond / 2), limits.fanoutBytesPerSecond, 0);
  }

  /**
   * Runs `send` now if the server would admit it, else after the sends queued before it. `cost` is in messages
   * (see `requestCost`), `fanout` in bytes times recipients (0 for a request that is not a broadcast).
   */
  send(send: () => void, cost = 1, fanout = 0): void {
    const item = { run: send, cost: this.messages.bounded(cost), fanout };
    if (this.queue.length === 0 && this.take(item)) {
      send();
      return;
    }
    this.queue.push(item);
    this.schedule();
  }

  /** Forgets what is queued (the socket is gone; the outbox sends its requests again on the next one). */
  clear(): void {
    this.queue.length = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private take(item: Queued): boolean {
    const now = Date.now();
    this.messages.refill(now);
    this.fanout.refill(now);
    if (this.messages.tokens < item.cost || (item.fanout > 0 && this.fanout.tokens <= 0)) return false;
    this.messages.tokens -= item.cost;
    this.fanout.tokens -= item.fanout;
    return true;
  }

  private schedule(): void {
    const head = this.queue[0];
    if (this.timer !== undefined || head === undefined) return;
    const now = Date.now();
    this.messages.refill(now);
    this.fanout.refill(now);
    // A broadcast goes once the budget is above 0 again (the server's rule): wait for a whole byte of it.
    const waitMs = Math.max(this.messages.msUntil(head.cost), head.fanout > 0 ? this.fanout.msUntil(1) : 0);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      for (let next = this.queue[0]; next !== undefined && this.take(next); next = this.queue[0]) this.queue.shift()?.run();
      this.schedule();
    }, Math.max(1, Math.ceil(waitMs)));
  }
}
