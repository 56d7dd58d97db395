import { create } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { NodeInfoSchema, type NodeInfo } from "../../gen/volly/signaling/v1/internal_pb.js";
import { errorIdOf } from "../errors.js";
import { monotonicMs } from "../monotonic-time.js";
import type { Rooms } from "../room/membership.js";
import type { NodeServices } from "../session/node-services.js";
import { VERSION } from "../version.js";
import { DeadNodeReaper } from "./dead-node-reaper.js";
import { HeldState } from "./held-state.js";
import { RegressionRecovery } from "./regression-recovery.js";
import type { SessionLedger } from "./session-ledger.js";

/** How often a node proves it is alive. */
export const HEARTBEAT_MS = 2000;
/** A node whose last heartbeat is older than this is dead (so it is found within ~7 s). */
export const NODE_TTL_MS = 6000;
/** How often a node re-asserts what it holds (also keeps its records' TTLs fresh). */
export const SYNC_MS = 30_000;
/**
 * How soon a failed heartbeat is tried again. A Redis restarted empty has lost this node's participants, and
 * until the node re-registers them every relay to them is refused as `target_not_found`: a final answer, so
 * the window is kept to a fraction of a second instead of a whole heartbeat. A failing command costs
 * nothing while Redis is unreachable (it fails at once).
 */
const RETRY_MS = 250;
/** A re-anchoring of the cluster clock by this much or more is logged (drift between two beats is far less). */
const CLOCK_MOVE_LOGGED_MS = 1000;

/**
 * This node as a member of the cluster (a cluster of one in memory mode): heartbeats, re-registration
 * after the store lost the node, the cluster-wide maintenance pass (reaping dead nodes, sweeping
 * expired participants and empty rooms) and the hand-over on a graceful exit. Every step survives store
 * failures and is retried on the next beat: no worker can die and leave the node wedged.
 *
 * Two clocks: the schedule (heartbeats, syncs, departures) is on the monotonic clock (`monotonicMs`), so a
 * step of the wall clock neither stops the heartbeats (the node would be taken for dead while serving) nor
 * hurries them; what is written (`updated_at`, presence, deadlines) is on the cluster's clock
 * (`svc.clock`), re-anchored to Redis's at every heartbeat.
 */
export class ClusterNode {
  private readonly startedAt: number;
  private readonly held: HeldState;
  private readonly reaper: DeadNodeReaper;
  private beating = false;
  private syncing = false;
  private registered = false;
  /** The store lost this node and the re-registration has not completed yet. */
  private lost = false;
  /** The last heartbeat or sync failed: reconcile as soon as the store answers again. */
  private troubled = false;
  private stopped = false;
  /** Monotonic (`monotonicMs`), as `nextSyncAt` and `departuresDueAt`. */
  private nextBeatAt = 0;
  private nextSyncAt = 0;
  private failing = false;
  /** When to tell rooms of the departures the store lost (0: nothing to do), see `Rooms.announceDepartures`. */
  private departuresDueAt = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private readonly regressions: RegressionRecovery;

  constructor(
    private readonly svc: NodeServices,
    private readonly rooms: Rooms,
    private readonly ledger: SessionLedger,
    private readonly log: Logger,
  ) {
    this.startedAt = svc.clock.now();
    this.held = new HeldState(svc, rooms, ledger, log);
    this.reaper = new DeadNodeReaper(svc.store, svc.nodeId, log);
    this.regressions = new RegressionRecovery(svc, log, () => this.regressed());
  }

  /** Registers the node (first heartbeat, first sync) before it accepts connections; rejects if the store fails. */
  async join(): Promise<void> {
    // A node starting under the id of one that crashed holds none of that one's connections yet.
    await this.svc.store.dropNodePresence(this.svc.nodeId, undefined);
    await this.beat(monotonicMs(), true);
    await this.sync(monotonicMs(), true);
  }

  /** Called by the node's clock every second (`monotonicMs()`): heartbeats on their own schedule, never overlapping. */
  tick(monotonicNow: number): void {
    if (this.stopped || this.beating || monotonicNow < this.nextBeatAt) return;
    void this.beat(monotonicNow, false);
  }

  /** The cluster-wide maintenance pass; the clock runs it on one node at a time (under a lock). */
  async maintain(): Promise<void> {
    // Read per step: reaping may take a while, and the sweep must not judge on a time from before it.
    await this.reaper.reap(this.svc.clock.now());
    await this.rooms.sweep(this.svc.clock.now());
  }

  /**
   * Leaves the cluster after the node's connections were drained: the heartbeat ends and whatever the
   * store still has on this node is handed over like a dead node's (resumable elsewhere, then swept).
   */
  async leave(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.regressions.close();
    const { store, nodeId, config, clock } = this.svc;
    await store.removeNode(nodeId);
    const taken = await store.reapNode(nodeId, clock.now() + config.resume.windowMs);
    await store.dropNodePresence(nodeId, clock.now());
    if (taken && (taken.participants > 0 || taken.sessions > 0)) this.log.info(taken, "handed over on exit");
  }

  /**
   * One heartbeat (`now`: monotonic); a sync is started (not awaited: a long sync must never delay the
   * heartbeats). The cluster clock is re-anchored beside it, not before it: `TIME` goes out first on the same
   * connection, so the heartbeat waits for no extra round trip, and its `updated_at` is on the anchor of the
   * beat before, which drifts by microseconds in two seconds. A failed re-anchoring keeps the last anchor; the
   * heartbeat's own failure says what is wrong with the store.
   */
  private async beat(now: number, rethrow: boolean): Promise<void> {
    this.beating = true;
    this.nextBeatAt = now + HEARTBEAT_MS;
    try {
      void this.resyncClock().catch(() => undefined);
      const alive = await this.svc.store.heartbeatNode(this.info(this.svc.clock.now()), NODE_TTL_MS);
      if (!alive && this.registered) {
        // Also when Redis came back with older data (see RedisNodes.heartbeatNode).
        if (!this.lost) this.log.warn("the store lost this node or went back in time (Redis restarted empty or from older data, or the node was taken for dead): re-registering what it holds");
        this.lost = true;
      }
      this.registered = true;
      if (this.failing) this.log.warn("cluster heartbeat works again");
      this.failing = false;
      // After any store trouble reconcile at once: drops that could not be written meanwhile are
      // recorded now rather than at the next periodic sync.
      if (!rethrow && (this.lost || this.troubled || now >= this.nextSyncAt)) void this.sync(now, false);
      if (!rethrow && this.departuresDueAt > 0 && now >= this.departuresDueAt) void this.announceDepartures(now);
    } catch (e) {
      if (rethrow) throw e;
      if (!this.failing) this.log.warn(logged(e), "cluster heartbeat failed; retrying");
      this.failing = true;
      this.troubled = true;
      this.nextBeatAt = monotonicMs() + RETRY_MS;
      this.retry ??= setTimeout(() => {
        this.retry = undefined;
        this.tick(monotonicMs());
      }, RETRY_MS);
      this.retry.unref();
    } finally {
      this.beating = false;
    }
  }

  private async sync(now: number, rethrow: boolean): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    // Taken now: if a heartbeat finds the node lost again meanwhile, that needs a sync of its own.
    const lost = this.lost;
    this.lost = false;
    try {
      const report = await this.held.sync(lost, this.svc.clock.now());
      if (lost) this.log.warn(report, "re-registered with the store");
      if (lost) await this.regressions.requeue();
      // The other nodes re-register on their next heartbeat: only then does the room have members to tell.
      if (lost) this.departuresDueAt = now + 2 * HEARTBEAT_MS;
      this.troubled = false;
      this.nextSyncAt = now + SYNC_MS;
    } catch (e) {
      if (lost) this.lost = true;
      this.troubled = true;
      if (rethrow) throw e;
      this.log.warn(logged(e), "re-asserting what this node holds failed; retrying");
    } finally {
      this.syncing = false;
    }
  }

  /**
   * A connection here was handed an id it already had: Redis's state went back in time without the
   * heartbeat seeing it (or before its next beat). Re-register at once, as after an empty restart.
   */
  private regressed(): void {
    this.lost = true;
    if (!this.stopped && !this.syncing) void this.sync(monotonicMs(), false);
  }

  private async announceDepartures(now: number): Promise<void> {
    this.departuresDueAt = 0;
    try {
      const { announced, waiting } = await this.rooms.announceDepartures(this.svc.clock.now());
      if (announced > 0) this.log.warn({ announced }, "told rooms of participants the store lost while they were away or leaving");
      // Until their window ends, departures whose rooms nobody has re-registered into yet are tried again.
      if (waiting > 0) this.departuresDueAt = now + HEARTBEAT_MS;
    } catch (e) {
      this.departuresDueAt = now + HEARTBEAT_MS;
      this.log.warn(logged(e), "telling rooms of lost departures failed; retrying");
    }
  }

  /**
   * Re-anchors the cluster clock to its reference. A large move means Redis's clock stepped (or failed over to
   * a host whose clock disagrees): every node follows within a heartbeat, so they still agree. Without Redis
   * the reference is this host's wall clock, and a large move is NTP stepping it.
   */
  private async resyncClock(): Promise<void> {
    const moved = await this.svc.clock.sync();
    if (Math.abs(moved) >= CLOCK_MOVE_LOGGED_MS) this.log.warn({ movedMs: Math.round(moved), reference: this.svc.clock.reference }, `cluster clock re-anchored to ${this.svc.clock.reference} by a large step`);
  }

  /** The node's record; `now` on the cluster's clock. */
  private info(now: number): NodeInfo {
    return create(NodeInfoSchema, {
      nodeId: this.svc.nodeId,
      startedAt: BigInt(this.startedAt),
      updatedAt: BigInt(now),
      connections: this.svc.local.size,
      activeSessions: this.ledger.size,
      version: VERSION,
      resumeWindowMs: this.svc.config.resume.windowMs,
    });
  }
}

/** A failure as logged: catalogue errors by id (expected while the store is down), others with their stack. */
function logged(e: unknown): Record<string, unknown> {
  const id = errorIdOf(e);
  return id !== undefined ? { error: id } : { err: e };
}
