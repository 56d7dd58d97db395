import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { LUA_PRELUDE } from "./redis-keys.js";
import { LUA_HELPERS } from "./lua/helpers.js";

export type ScriptArg = string | number | Uint8Array;

/** Every script defined, for `loadScripts`. */
const defined = new Set<LuaScript>();
/** A load under way, per connection (see `loadScripts`). */
const inFlight = new WeakMap<Redis, Promise<void>>();

/**
 * Loads every script into Redis's script cache (SCRIPT LOAD, pipelined). Run on each (re)connection of a
 * command connection, and when a script was found missing. Why: a call that misses the cache is sent again
 * as EVAL only once its NOSCRIPT reply is back, behind every command issued meanwhile, so two calls issued
 * in order (an online mark, then an offline mark) could run in reverse while the cache refills after a
 * Redis restart, a failover (caches are not replicated) or SCRIPT FLUSH. Best effort: a failure leaves the
 * EVAL fallback.
 */
export function loadScripts(redis: Redis): Promise<void> {
  // Once at a time per connection: after a flush every call in flight misses, and each would load them all.
  let loading = inFlight.get(redis);
  if (loading === undefined) {
    loading = Promise.all([...defined].map((script) => redis.script("LOAD", script.source))).then(() => undefined);
    inFlight.set(redis, loading);
    void loading.catch(() => undefined).finally(() => inFlight.delete(redis));
  }
  return loading;
}

/**
 * One atomic operation as a Lua script (prelude and shared helpers prepended). Runs by EVALSHA and falls
 * back to EVAL when Redis does not know the script (see `loadScripts`).
 */
export class LuaScript {
  readonly source: string;
  readonly sha: string;

  /** `helpers: false` leaves out the shared helpers (`LUA_HELPERS`) for a script that uses none of them. */
  constructor(readonly name: string, body: string, options: { helpers?: boolean } = {}) {
    this.source = compact(`${LUA_PRELUDE}\n${options.helpers === false ? "" : LUA_HELPERS}\n${body}`);
    this.sha = createHash("sha1").update(this.source).digest("hex");
    defined.add(this);
  }

  /** Runs with ARGV = [prefix, now, ...args]; replies keep binary strings as Buffers. */
  async run(redis: Redis, prefix: string, now: number, args: readonly ScriptArg[]): Promise<unknown> {
    const argv: Array<string | number | Buffer> = [prefix, now, ...args.map(toArg)];
    try {
      return await (redis as unknown as BufferEval).evalshaBuffer(this.sha, 0, ...argv);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith("NOSCRIPT")) throw e;
      // The cache was emptied without a reconnection (SCRIPT FLUSH): refill it for the calls that follow.
      void loadScripts(redis).catch(() => undefined);
      return (redis as unknown as BufferEval).evalBuffer(this.source, 0, ...argv);
    }
  }

  /** The script's ARGV (`[prefix, now, ...args]`) as bulk strings, for a command written by hand. */
  argv(prefix: string, now: number, args: readonly ScriptArg[]): Array<string | Uint8Array> {
    return [prefix, String(now), ...args.map((a) => (typeof a === "number" ? String(a) : a))];
  }
}

/**
 * ioredis defines a `*Buffer` variant of every command at run time (replies keep binary strings as Buffers),
 * but its typings leave out these two. They are used rather than `callBuffer("EVALSHA", ...)` because that
 * form breaks under auto-pipelining (the script's SHA is sent as the command name).
 */
interface BufferEval {
  evalshaBuffer(sha: string, numkeys: number, ...args: Array<string | number | Buffer>): Promise<unknown>;
  evalBuffer(source: string, numkeys: number, ...args: Array<string | number | Buffer>): Promise<unknown>;
}

/**
 * The source without comment lines and indentation: a script sent by EVAL (`PushedBatchSender`) is sent,
 * and hashed by Redis, with every batch, and the comments are for the TypeScript's readers. (No script has a long
 * string, where this would change the text.)
 */
function compact(source: string): string {
  return source.split("\n").map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("--")).join("\n");
}

function toArg(a: ScriptArg): string | number | Buffer {
  if (typeof a === "string" || typeof a === "number") return a;
  return Buffer.isBuffer(a) ? a : Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

// Lua numbers are doubles: ids above this cannot occur, so a larger one means "after (or up to) everything".
const MAX_LUA_ID = BigInt(Number.MAX_SAFE_INTEGER);

/** A message id as a script argument, clamped to what a Lua number holds exactly. */
export function luaId(id: bigint): string {
  return String(id > MAX_LUA_ID ? MAX_LUA_ID : id);
}

/** Reply readers: Lua tables arrive as arrays, strings as Buffers, integers as numbers, false as null. */
export const reply = {
  array(x: unknown): unknown[] {
    if (!Array.isArray(x)) throw new Error(`redis: expected an array reply, got ${typeof x}`);
    return x;
  },
  bytes(x: unknown): Uint8Array {
    if (Buffer.isBuffer(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
    if (typeof x === "string") return new TextEncoder().encode(x);
    throw new Error(`redis: expected a string reply, got ${typeof x}`);
  },
  string(x: unknown): string {
    if (Buffer.isBuffer(x)) return x.toString("utf8");
    if (typeof x === "string") return x;
    if (typeof x === "number") return String(x);
    throw new Error(`redis: expected a string reply, got ${typeof x}`);
  },
  number(x: unknown): number {
    const n = typeof x === "number" ? x : Number(reply.string(x));
    if (!Number.isFinite(n)) throw new Error("redis: expected a number reply");
    return n;
  },
  /** A flat [field, value, ...] reply as a map of strings. */
  fields(x: unknown): Map<string, string> {
    const flat = reply.array(x);
    const out = new Map<string, string>();
    for (let i = 0; i + 1 < flat.length; i += 2) out.set(reply.string(flat[i]), reply.string(flat[i + 1]));
    return out;
  },
};
