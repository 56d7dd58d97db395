import type { Logger } from "pino";
import type { Store } from "../store/store.js";

/**
 * Takes over nodes that died without a goodbye (killed, crashed, cut off). A node is dead once its
 * heartbeat lapses; the reaper (one node of the cluster at a time, under the sweep lock) then marks its
 * connected participants as dropped, resumable elsewhere until the dead node's last heartbeat plus its
 * resume window, and ends its sessions. The sweeper removes whoever has not resumed by then.
 */
export class DeadNodeReaper {
  constructor(
    private readonly store: Store,
    private readonly nodeId: string,
    private readonly log: Logger,
  ) {}

  async reap(now: number): Promise<void> {
    for (const dead of await this.store.listDeadNodes(now)) {
      // This node's own heartbeat lapsing means the store lost it for a while: it re-registers instead.
      if (dead.nodeId === this.nodeId) continue;
      const awayUntil = Math.max(1, Number(dead.updatedAt) + dead.resumeWindowMs);
      const taken = await this.store.reapNode(dead.nodeId, awayUntil);
      // Forgotten now, the node no longer counts as dead: its connections must not count as online either.
      if (taken) await this.store.dropNodePresence(dead.nodeId, Number(dead.updatedAt));
      if (taken) {
        this.log.warn({ deadNode: dead.nodeId, lastHeartbeat: Number(dead.updatedAt), resumableUntil: awayUntil, ...taken }, "dead node reaped");
      }
    }
  }
}
