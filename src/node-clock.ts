import type { Logger } from "pino";
import { errorIdOf } from "./errors.js";
import { monotonicMs } from "./monotonic-time.js";
import type { NodeServices, SessionRegistry, TickingSession } from "./session/node-services.js";

const TICK_MS = 1000;
const SWEEP_LOCK_MS = 5000;

/** What the clock drives besides sessions: the node's cluster membership (see `ClusterNode`). */
export interface ClockedCluster {
  /** Every tick, with `monotonicMs()` (heartbeats keep their own schedule, on the monotonic clock). */
  tick(monotonicNow: number): void;
  /** The cluster-wide pass (dead nodes, expired participants, empty rooms): one node at a time. */
  maintain(): Promise<void>;
}

/**
 * The node's one timer: once a second every open session checks its deadlines (handshake, ping, session
 * expiry, rekey, token refresh), the node heartbeats, and one node of the cluster (whichever takes the
 * lock) runs the maintenance pass. One interval for thousands of sessions instead of a timer per session.
 * What each compares is the monotonic clock (`monotonicMs`), never the wall clock, which may step; what the
 * maintenance pass compares with stored times is the cluster's clock (`NodeServices.clock`).
 */
export class NodeClock implements SessionRegistry {
  private readonly sessions = new Set<TickingSession>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private sweepFailing = false;

  constructor(private readonly log: Logger) {}

  add(session: TickingSession): void {
    this.sessions.add(session);
  }

  remove(session: TickingSession): void {
    this.sessions.delete(session);
  }

  get size(): number {
    return this.sessions.size;
  }

  start(svc: NodeServices, cluster: ClockedCluster): void {
    // The sessions' checks run after the loop has read its sockets (setImmediate: the check phase, after
    // poll), not in the timers phase before it: after the node was busy for seconds, what clients sent
    // meanwhile (their pings, their pongs) is read first, so none is taken for silent because of our stall.
    this.timer = setInterval(() => setImmediate(() => this.tickAll(svc, cluster)), TICK_MS);
    this.timer.unref();
  }

  private tickAll(svc: NodeServices, cluster: ClockedCluster): void {
    if (this.timer === undefined) return;
    const now = monotonicMs();
    for (const s of [...this.sessions]) {
      try {
        s.tick(now);
      } catch (e) {
        this.log.error({ err: e }, "session tick failed");
      }
    }
    cluster.tick(now);
    void this.sweep(svc, cluster);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Ends every session because the node is going away; resolves when each has been disposed of in the
   * store, or after `graceMs`.
   */
  async drainAll(graceMs: number): Promise<void> {
    const done = Promise.allSettled([...this.sessions].map((s) => s.drain()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }

  private async sweep(svc: NodeServices, cluster: ClockedCluster): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    let token: string | undefined;
    try {
      token = await svc.store.tryLock("sweep", SWEEP_LOCK_MS);
      if (token !== undefined) await cluster.maintain();
      this.sweepFailing = false;
    } catch (e) {
      // Logged once per failure streak: while the store is down this fails every second.
      if (!this.sweepFailing) this.log.warn(errorIdOf(e) ? { error: errorIdOf(e) } : { err: e }, "sweep failed");
      this.sweepFailing = true;
    } finally {
      if (token !== undefined) await svc.store.unlock("sweep", token).catch(() => {});
      this.sweeping = false;
    }
  }
}
