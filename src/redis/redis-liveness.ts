import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { BackendObserver } from "../store/create-backend.js";
import { pingPrimary, ReadOnlyReplicaError } from "./redis-role.js";

/** How often a watched connection asks Redis whether it answers, while the connection is open. */
export const PROBE_INTERVAL_MS = 1000;
/** A probe not answered in this time means Redis does not answer: the health check's own limit (health.ts). */
export const PROBE_TIMEOUT_MS = 1000;
/**
 * A probe still not answered after this long means the connection itself is dead (a half-open network: the
 * socket stays open while nothing comes back, and without a reconnect nothing ever would): it is dropped and
 * opened again. A hung Redis is no different to the node; the new connection waits for it like the old one.
 */
export const RECONNECT_SILENT_MS = 5000;

/**
 * One liveness probe of a connection: resolves when Redis answers as a usable connection should, and calls
 * `replied` as soon as Redis has replied to anything (the connection carries replies).
 */
export type Probe = (redis: Redis, replied: () => void) => Promise<void>;

/**
 * Watches whether Redis answers on `redis`, logs each change once (not every retry) and reports it to the
 * observer (`volly_redis_up`). The socket's close and ready events tell a lost connection, but not a Redis
 * that is hung, swapping or behind a black-holed network: its socket stays open while nothing comes back.
 * So, with an observer, a PING goes out every `PROBE_INTERVAL_MS` while the connection is ready (one at
 * a time), and one not answered within `PROBE_TIMEOUT_MS` counts as down until one is answered. The probe
 * also asks the role (`pingPrimary`): a replica answers PING but refuses every write, which is down for a
 * node; that verdict outlives a reconnect until a probe finds a primary, so reconnecting to the same
 * replica does not read as up. A connection without an observer (the bus's subscriber) is probed with `probe`
 * alone, for the reconnect. Returns a function that stops the probes.
 */
export function watchConnection(redis: Redis, log: Logger, observer: BackendObserver | undefined, probeWith: Probe | undefined = observer && pingPrimary): () => void {
  let connected = true;
  let answering = true;
  /** What the last probe found refusing writes (the replica's role), or undefined. */
  let refusing: string | undefined;
  let reported = true;
  let probing = false;
  observer?.up(true);
  const report = () => {
    const up = connected && answering && refusing === undefined;
    if (up === reported) return;
    reported = up;
    observer?.up(up);
  };

  redis.on("error", (e: Error) => {
    if (connected) log.warn({ err: e.message }, "redis connection error");
    else log.debug({ err: e.message }, "redis still unreachable");
  });
  redis.on("close", () => {
    if (connected) log.warn("redis connection lost; commands fail until it is back");
    connected = false;
    report();
  });
  redis.on("ready", () => {
    if (!connected) log.warn("redis connection restored");
    connected = true;
    // Ready: Redis answered the connection's own checks just now.
    answering = true;
    report();
  });
  if (probeWith === undefined) return () => {};

  const refuses = (why: string | undefined) => {
    if (why !== undefined && refusing === undefined) log.warn({ err: why }, "redis answers but refuses writes (a replica); commands that write fail until it is a primary again");
    else if (why === undefined && refusing !== undefined) log.warn("redis accepts writes again (a primary)");
    refusing = why;
  };
  const answered = (yes: boolean) => {
    if (yes && !answering) log.warn("redis answers again");
    else if (!yes && answering && connected) log.warn({ timeoutMs: PROBE_TIMEOUT_MS }, "redis does not answer; commands fail until it does");
    answering = yes;
    report();
  };
  /** Since when probes get no reply at all (not even a refusal such as LOADING); undefined while replies come. */
  let silentSince: number | undefined;
  const reconnect = () => {
    silentSince = undefined;
    log.warn({ silentMs: RECONNECT_SILENT_MS }, "redis connection gave no reply at all; reconnecting");
    // Fails what waits on the connection, a probe included, and opens a new one.
    redis.disconnect(true);
  };
  const probe = () => {
    if (probing || redis.status !== "ready") return;
    if (silentSince !== undefined && performance.now() - silentSince >= RECONNECT_SILENT_MS) return reconnect();
    probing = true;
    let settled = false;
    /** Redis replied to this probe, to its first command at least: a probe of two round trips (PING, ROLE) may still wait for its second. */
    let heard = false;
    const replied = () => {
      heard = true;
    };
    /**
     * Runs `verdict` for a probe that Redis has not replied to once this turn's I/O has been read. A timer
     * that fires late because the process itself stalled (a VM pause, SIGSTOP) runs before the event loop
     * reads the socket, where Redis's reply may be waiting: the node's silence is not Redis's. And on waking,
     * the reply to PING may have been read with ROLE just sent: that probe has not ended, but Redis answered.
     */
    const unlessAnswered = (verdict: () => void) => () => setImmediate(() => settled || heard || verdict());
    const timer = setTimeout(unlessAnswered(() => answered(false)), PROBE_TIMEOUT_MS);
    // A probe that never settles (nothing times commands out) is silence as well.
    const dead = setTimeout(unlessAnswered(reconnect), RECONNECT_SILENT_MS);
    // A refused PING (LOADING, a lost connection) counts as no answer: commands would fail the same way.
    probeWith(redis, replied).then(
      () => {
        settled = true;
        silentSince = undefined;
        refuses(undefined);
        answered(true);
      },
      (e: unknown) => {
        settled = true;
        // Any reply, a refusal too, shows the connection carries answers; a timeout or a lost socket does not.
        // Silence counts from the failure, not from the probe's start: a probe that timed out because the node
        // stalled fails on waking, and the next one, a second later, finds the connection working.
        if (heard || (e instanceof Error && (e.name === "ReplyError" || e instanceof ReadOnlyReplicaError))) silentSince = undefined;
        else silentSince ??= performance.now();
        if (!(e instanceof ReadOnlyReplicaError)) return answered(false);
        refuses(e.message);
        answered(true);
      },
    ).finally(() => {
      clearTimeout(timer);
      clearTimeout(dead);
      probing = false;
    });
  };
  const interval = setInterval(probe, PROBE_INTERVAL_MS);
  // The probes are the backend's business, not a reason for the process to stay up.
  interval.unref();
  const stop = () => clearInterval(interval);
  redis.once("end", stop);
  return stop;
}
