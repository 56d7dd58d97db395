import type { SignalRequest } from "../../gen/volly/signaling/v1/signal_pb.js";
import type { VollyConnectionLimits } from "./connection-limits.js";

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
 * Keeps what one socket sends under the server's message rate (a token bucket like the server's), so that a burst
 * of requests (an outbox flushed after a resume, many `sendData` at once) is spread out instead of refused with
 * `rate_limited`. Sends keep their order: once one waits, every later one queues behind it.
 *
 * Every frame after the join goes through it (requests, pings, acks), at the server's rate; its burst is half the
 * server's, because frames bunch up on the way (a stalled TCP connection delivers a backlog at once) and a few
 * (handshake, rekey) are not paced: the other half absorbs both. An app that sends at the server's rate, pings
 * and acks included, is never refused; one that sends faster waits, as the server would make it.
 */
export class SendPacer {
  private readonly queue: Array<{ readonly run: () => void; readonly cost: number }> = [];
  private tokens = 1;
  private capacity = 1;
  private perMs = 1;
  private refilledAt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** A new socket: the server's bucket is full again, less the `alreadySent` frames that were not paced. */
  reset(limits: VollyConnectionLimits, alreadySent: number): void {
    this.clear();
    this.capacity = Math.max(1, Math.floor(limits.messageBurst / 2));
    this.perMs = Math.max(1e-3, limits.messagesPerSecond / 1000);
    this.tokens = this.capacity - alreadySent;
    this.refilledAt = Date.now();
  }

  /** Runs `send` (costing `cost` tokens, see `requestCost`) now if the rate allows, else after the sends queued before it. */
  send(send: () => void, cost = 1): void {
    // Never more than the pacer holds: a send dearer than its whole burst would otherwise wait for ever.
    const due = Math.min(cost, this.capacity);
    if (this.queue.length === 0 && this.take(due)) {
      send();
      return;
    }
    this.queue.push({ run: send, cost: due });
    this.schedule();
  }

  /** Forgets what is queued (the socket is gone; the outbox sends its requests again on the next one). */
  clear(): void {
    this.queue.length = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private take(cost: number): boolean {
    this.refill();
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.refilledAt) * this.perMs);
    this.refilledAt = now;
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.refill();
    const waitMs = Math.max(1, Math.ceil(((this.queue[0]?.cost ?? 1) - this.tokens) / this.perMs));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      while (this.queue.length > 0 && this.take(this.queue[0]?.cost ?? 1)) this.queue.shift()?.run();
      if (this.queue.length > 0) this.schedule();
    }, waitMs);
  }
}
