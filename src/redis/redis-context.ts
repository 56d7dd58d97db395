import type { Redis } from "ioredis";
import type { Socket } from "node:net";
import type { Clock } from "../cluster/cluster-clock.js";
import type { BackendObserver } from "../store/create-backend.js";
import type { LuaScript, ScriptArg } from "./lua-script.js";
import { toStoreError } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";

/** What every part of the Redis store shares: the command connection, key names, timing and error mapping. */
export class RedisContext {
  private readonly hooks: Array<() => void> = [];
  /** Whether the socket is corked until the end of this tick. */
  private corked = false;

  constructor(
    readonly redis: Redis,
    readonly keys: RedisKeys,
    /** The cluster's clock (Redis's): every script's `NOW` unless the caller passes one from it. */
    readonly clock: Clock,
    private readonly observer: BackendObserver | undefined,
  ) {}

  /** Runs one script (atomic) with `now` as the script's clock. */
  run(script: LuaScript, args: readonly ScriptArg[], now: number = this.clock.now()): Promise<unknown> {
    return this.timed(script.name, () => script.run(this.redis, this.keys.prefix, now, args));
  }

  /**
   * Registers `hook` to run before every command is sent. Work held back to batch it (the mailbox
   * batcher) goes out first, so the connection keeps the order in which the store was called.
   */
  beforeCommand(hook: () => void): void {
    this.hooks.push(hook);
  }

  /** Runs one command: timed for metrics; connection failures become `store_unavailable`. */
  async timed<T>(name: string, command: () => Promise<T>): Promise<T> {
    for (const hook of this.hooks) hook();
    this.holdWrites();
    const started = performance.now();
    try {
      return await command();
    } catch (e) {
      throw toStoreError(e);
    } finally {
      this.observer?.command(name, (performance.now() - started) / 1000);
    }
  }

  /**
   * Corks the connection's socket until the end of the tick: the commands issued meanwhile (by anyone on
   * this connection, the bus's publishes too) leave in one write, in the order they were issued, as
   * ioredis's auto-pipelining sent them but without copying them into one buffer. Corking only delays
   * the write; it never reorders it.
   */
  private holdWrites(): void {
    if (this.corked) return;
    const stream = this.redis.stream as Socket | undefined;
    if (stream === undefined || !stream.writable) return;
    stream.cork();
    this.corked = true;
    process.nextTick(() => {
      this.corked = false;
      stream.uncork();
    });
  }
}
