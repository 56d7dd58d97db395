import type { Logger } from "pino";
import type { Rooms } from "./room/membership.js";
import type { NodeServices, SessionRegistry, TickingSession } from "./session/node-services.js";

const TICK_MS = 1000;
const SWEEP_LOCK_MS = 5000;

/**
 * The node's one timer: once a second every open session checks its deadlines (handshake, ping, session
 * expiry, rekey, token refresh), and one node of the cluster sweeps expired participants and empty
 * rooms. One interval for thousands of sessions instead of a timer per session.
 */
export class NodeClock implements SessionRegistry {
  private readonly sessions = new Set<TickingSession>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;

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

  start(svc: NodeServices, rooms: Rooms): void {
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const s of [...this.sessions]) {
        try {
          s.tick(now);
        } catch (e) {
          this.log.error({ err: e }, "session tick failed");
        }
      }
      void this.sweep(svc, rooms, now);
    }, TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Ends every session because the node is going away. */
  drainAll(): void {
    for (const s of [...this.sessions]) s.drain();
  }

  private async sweep(svc: NodeServices, rooms: Rooms, now: number): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    let token: string | undefined;
    try {
      token = await svc.store.tryLock("sweep", SWEEP_LOCK_MS);
      if (token !== undefined) await rooms.sweep(now);
    } catch (e) {
      this.log.warn({ err: e }, "sweep failed");
    } finally {
      if (token !== undefined) await svc.store.unlock("sweep", token).catch(() => {});
      this.sweeping = false;
    }
  }
}
