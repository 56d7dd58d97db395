import type { Logger } from "pino";
import { DisconnectReason, LeaveAction } from "../../gen/volly/signaling/v1/models_pb.js";
import type { Rooms } from "../room/membership.js";
import type { NodeServices } from "../session/node-services.js";
import { PRESENCE_TTL_MS } from "../store/store.js";
import type { SessionLedger } from "./session-ledger.js";

/** Store calls in flight at once during a sync (one connection pipelines them). */
const CONCURRENCY = 32;

/** What one sync did, for the log. */
export interface SyncReport {
  restored: number;
  reclaimed: number;
  ended: number;
  markedAway: number;
  sessionsRestored: number;
  sessionsEnded: number;
}

/**
 * Keeps the store's view of this node equal to what the node really holds: its open connections and
 * their sessions. Run periodically (which also keeps their records from expiring) and at once when the
 * store lost the node (Redis restarted empty, or the node was taken for dead): then missing participants,
 * rooms, mailbox counters, sessions and presence are re-created. Records the store lists for this node
 * without a connection here (their drop could not be written while the store was down) are dropped now.
 */
export class HeldState {
  /** Sids the last sync found missing from the store; ended when still missing at the next one. */
  private missing = new Set<string>();

  constructor(
    private readonly svc: NodeServices,
    private readonly rooms: Rooms,
    private readonly ledger: SessionLedger,
    private readonly log: Logger,
  ) {}

  /** One pass; `lost` = the store lost this node, so re-create what is missing. Throws if the store fails. */
  async sync(lost: boolean, now: number): Promise<SyncReport> {
    const report: SyncReport = { restored: 0, reclaimed: 0, ended: 0, markedAway: 0, sessionsRestored: 0, sessionsEnded: 0 };
    await this.participants(lost, now, report);
    await this.orphans(report);
    await this.sessions(lost, report);
    return report;
  }

  private async participants(lost: boolean, now: number, report: SyncReport): Promise<void> {
    const { store, local } = this.svc;
    const missing = new Set<string>();
    await forEachLimited(local.all(), CONCURRENCY, async (connection) => {
      const held = connection.held();
      if (!held) return;
      const outcome = await store.restoreParticipant(held.room, held.participant, held.nextMessageId, lost);
      // It may have left or dropped while that was written: its departure (offline mark included) has been
      // written or is being written, and announcing it or marking it online now would undo that for good.
      const stillHeld = () => local.get(connection.sid) === connection && connection.held() !== undefined;
      if (outcome === "restored") {
        report.restored++;
        if (stillHeld()) await this.rooms.returned(held.participant);
      } else if (outcome === "reclaimed") {
        report.reclaimed++;
      } else if (outcome === "moved") {
        // It resumed on another node, whose request to close this connection was lost.
        connection.disconnect(DisconnectReason.SIGNAL_CLOSE, LeaveAction.RESUME, true);
        report.ended++;
      } else if (outcome === "replaced") {
        connection.disconnect(DisconnectReason.DUPLICATE_IDENTITY, LeaveAction.DISCONNECT, true);
        report.ended++;
      } else if (outcome === "missing") {
        // Removed elsewhere while this node was alive: end it only if it is still missing next time,
        // because a participant that is leaving right now is missing too.
        if (this.missing.has(connection.sid)) {
          connection.disconnect(DisconnectReason.STATE_MISMATCH, LeaveAction.RECONNECT, true);
          report.ended++;
        } else missing.add(connection.sid);
      }
      // A hidden participant has no presence (see enterRoom).
      if (lost && outcome !== "moved" && outcome !== "replaced" && held.participant.info?.permission?.hidden !== true && stillHeld()) {
        await store.setOnline(connection.identity, held.presenceKey, PRESENCE_TTL_MS, now, this.svc.nodeId);
      }
    });
    this.missing = missing;
  }

  /** Participants the store has on this node with no connection here, nor a departure being written, count as dropped. */
  private async orphans(report: SyncReport): Promise<void> {
    for (const p of await this.svc.store.listParticipantsOnNode(this.svc.nodeId)) {
      const sid = p.info?.sid ?? "";
      if (p.awayUntil > 0n || !p.info || this.svc.local.get(sid) !== undefined || this.svc.local.isDeparting(sid)) continue;
      this.log.warn({ room: p.room, identity: p.info.identity, sid }, "participant without a connection here counts as dropped");
      await this.rooms.dropped(p.room, p.info.identity, sid);
      report.markedAway++;
    }
  }

  private async sessions(lost: boolean, report: SyncReport): Promise<void> {
    const { store } = this.svc;
    if (lost) {
      for (const session of this.ledger.all()) {
        await store.restoreSession(session);
        report.sessionsRestored++;
      }
    }
    for (const session of await store.listSessions(this.svc.nodeId)) {
      if (this.ledger.has(session.sessionId)) continue;
      await store.endSession(session.sessionId, false);
      report.sessionsEnded++;
    }
  }
}

/** Runs `fn` over `items`, at most `limit` at a time; rejects with the first failure. */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
