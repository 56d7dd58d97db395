/** What the heartbeat sends and reports. */
export interface HeartbeatHooks {
  /** Sends `ping {timestamp, rtt, last_message_id}`. */
  ping(timestamp: number, rtt: number): void;
  /** Sends `ack {last_message_id}`. */
  ack(): void;
  /** Nothing arrived within the ping timeout: the connection is dead. */
  dead(): void;
}

/**
 * Liveness and acknowledgement for one connection: a `ping` every `ping_interval` (carrying the last message id,
 * so it also acknowledges), an `ack` every `ackEvery` stream messages, a prompt `ping` after answerless requests
 * (its `pong` confirms them, see `Outbox`), and the verdict that the connection is dead when nothing arrived within
 * `ping_timeout`.
 */
export class Heartbeat {
  private interval: ReturnType<typeof setInterval> | undefined;
  private confirmTimer: ReturnType<typeof setTimeout> | undefined;
  private lastReceivedAt = 0;
  private unacked = 0;
  private rttMs = 0;
  private timeoutMs = 15_000;

  constructor(private readonly hooks: HeartbeatHooks, private readonly ackEvery: number, private readonly confirmDelayMs: number) {}

  /** Starts pinging (after `join`/`reconnect`). */
  start(pingIntervalMs: number, pingTimeoutMs: number): void {
    this.stop();
    // Monotonic: a step of the device's wall clock (NTP, a laptop waking) is neither silence nor a sign of life.
    this.lastReceivedAt = performance.now();
    this.timeoutMs = pingTimeoutMs;
    this.interval = setInterval(() => this.tick(), pingIntervalMs);
  }

  /** Stops every timer (connection gone). */
  stop(): void {
    if (this.interval !== undefined) clearInterval(this.interval);
    if (this.confirmTimer !== undefined) clearTimeout(this.confirmTimer);
    this.interval = this.confirmTimer = undefined;
    this.unacked = 0;
  }

  /** Anything arrived. */
  received(): void {
    this.lastReceivedAt = performance.now();
  }

  /** A stream message (with a message id) was processed. */
  counted(): void {
    if (++this.unacked >= this.ackEvery) {
      this.unacked = 0;
      this.hooks.ack();
    }
  }

  /** A `pong` for a ping sent at `sentAt` (client clock, ms). */
  pong(sentAt: number): void {
    if (sentAt > 0) this.rttMs = Math.max(0, Date.now() - sentAt);
  }

  /** Sends a ping soon (batched), to confirm requests that have no direct answer. */
  confirmSoon(): void {
    if (this.confirmTimer !== undefined || this.interval === undefined) return;
    this.confirmTimer = setTimeout(() => {
      this.confirmTimer = undefined;
      this.sendPing();
    }, this.confirmDelayMs);
  }

  private tick(): void {
    if (performance.now() - this.lastReceivedAt > this.timeoutMs) {
      this.stop();
      this.hooks.dead();
      return;
    }
    this.sendPing();
  }

  private sendPing(): void {
    this.unacked = 0;
    this.hooks.ping(Date.now(), this.rttMs);
  }
}
