import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Bus, Unsubscribe } from "../bus/bus.js";
import { closeQuietly, toStoreError } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";

type Handler = (payload: Uint8Array) => void;

/**
 * The cluster's bus: Redis pub/sub, topic `t` on channel `<prefix>bus:t`. Publishes go over the command
 * connection (one connection, so a node's messages to a topic stay in order); a duplicate connection
 * subscribes, once per channel, and fans each message out to this node's handlers. ioredis resubscribes
 * by itself after a reconnect. At most once, like the memory bus: mailboxes make delivery reliable.
 */
export class RedisBus implements Bus {
  private readonly channels = new Map<string, Set<Handler>>();
  private readonly lossListeners: Array<() => void> = [];
  /** The subscriber's connection closed since it was last known subscribed. */
  private lost = false;

  constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
  ) {
    sub.on("messageBuffer", (channel: Buffer, message: Buffer) => this.dispatch(channel.toString("utf8"), message));
    sub.on("close", () => (this.lost = true));
    sub.on("ready", () => void this.recovered());
  }

  onLoss(listener: () => void): void {
    this.lossListeners.push(listener);
  }

  /**
   * After a reconnect: ioredis subscribes again by itself; subscribing once more here (a no-op for Redis, on the
   * same connection, so answered after ioredis's) says when that took effect. Only then are the listeners
   * told, so that what they read from the mailboxes and what arrives from now on leave nothing in between.
   */
  private async recovered(): Promise<void> {
    if (!this.lost) return;
    const channels = [...this.channels.keys()];
    try {
      if (channels.length > 0) await this.sub.subscribe(...channels);
    } catch {
      // Lost again: the next `ready` tries again.
      return;
    }
    this.lost = false;
    for (const listener of this.lossListeners) listener();
  }

  async publish(topic: string, payload: Uint8Array): Promise<void> {
    const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    try {
      await this.pub.publish(this.keys.channel(topic), bytes);
    } catch (e) {
      throw toStoreError(e);
    }
  }

  async subscribe(topic: string, onMessage: Handler): Promise<Unsubscribe> {
    const channel = this.keys.channel(topic);
    let handlers = this.channels.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.channels.set(channel, handlers);
      try {
        await this.sub.subscribe(channel);
      } catch (e) {
        this.channels.delete(channel);
        throw toStoreError(e);
      }
    }
    handlers.add(onMessage);
    const set = handlers;
    return async () => {
      set.delete(onMessage);
      if (set.size > 0 || this.channels.get(channel) !== set) return;
      this.channels.delete(channel);
      await this.sub.unsubscribe(channel).catch(() => {});
    };
  }

  /** Both connections must answer: a dead subscriber would silently lose every delivery to this node. */
  async ping(): Promise<void> {
    if (this.sub.status !== "ready") throw new Error("bus subscriber is not connected");
    try {
      await Promise.all([this.sub.ping(), this.pub.ping()]);
    } catch (e) {
      throw toStoreError(e);
    }
  }

  async close(): Promise<void> {
    this.channels.clear();
    await closeQuietly(this.sub);
  }

  private dispatch(channel: string, message: Buffer): void {
    const handlers = this.channels.get(channel);
    if (!handlers) return;
    const payload = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
    for (const handler of handlers) {
      try {
        handler(payload);
      } catch (e) {
        this.log.error({ err: e, channel }, "bus handler failed");
      }
    }
  }
}
