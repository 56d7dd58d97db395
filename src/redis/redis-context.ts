import type { Redis } from "ioredis";
import type { BackendObserver } from "../store/create-backend.js";
import type { LuaScript, ScriptArg } from "./lua-script.js";
import { toStoreError } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";

/** What every part of the Redis store shares: the command connection, key names, timing and error mapping. */
export class RedisContext {
  private readonly hooks: Array<() => void> = [];

  constructor(
    readonly redis: Redis,
    readonly keys: RedisKeys,
    private readonly observer: BackendObserver | undefined,
  ) {}

  /** Runs one script (atomic) with `now` as the script's clock. */
  run(script: LuaScript, args: readonly ScriptArg[], now: number = Date.now()): Promise<unknown> {
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
    const started = performance.now();
    try {
      return await command();
    } catch (e) {
      throw toStoreError(e);
    } finally {
      this.observer?.command(name, (performance.now() - started) / 1000);
    }
  }
}
