import type { Logger } from "pino";
import type { NodeServices } from "../session/node-services.js";
import { idRegressions, type IdRegression } from "./id-regressions.js";

/** Bounds what waits for a re-registration, whatever Redis does meanwhile; past it messages are counted as lost. */
const MAX_PENDING = 10_000;

/**
 * A node's side of `idRegressions`: the messages its connections were handed under ids they already had
 * wait here until the node has re-registered (which raises each mailbox counter above what its connection
 * delivered or holds), and are then queued again, under new ids. So a rollback of Redis's state loses no
 * message that reached a recipient's node; it can reorder those few behind messages sent after them.
 * Every report is logged (the first of a burst as a warning) and counted: never a silent drop.
 */
export class RegressionRecovery {
  private pending: IdRegression[] = [];
  /** Reports since the last re-registration (the warning is logged once per burst). */
  private reported = 0;
  private overflowed = 0;
  private readonly unlisten: () => void;

  constructor(
    private readonly svc: NodeServices,
    private readonly log: Logger,
    private readonly recover: () => void,
  ) {
    this.unlisten = idRegressions.listen((r) => this.onReport(r));
  }

  close(): void {
    this.unlisten();
  }

  /** After a re-registration: queues the waiting messages again. Never throws. */
  async requeue(): Promise<void> {
    const items = this.pending;
    this.pending = [];
    const summary = { requeued: 0, lost: this.overflowed, reported: this.reported };
    this.reported = 0;
    this.overflowed = 0;
    for (const r of items) {
      const p = this.localOf(r.owner);
      try {
        if (p !== undefined && (await this.svc.delivery.toParticipant(p.room, p.identity, r.response))) summary.requeued++;
        else summary.lost++;
      } catch (e) {
        summary.lost++;
        this.log.warn({ err: e, sid: p?.sid }, "queueing again a message whose id went backwards failed");
      }
    }
    if (summary.requeued > 0) this.svc.metrics.idRegressions.inc({ outcome: "requeued" }, summary.requeued);
    if (summary.lost > 0) this.svc.metrics.idRegressions.inc({ outcome: "lost" }, summary.lost);
    if (items.length > 0 || summary.lost > 0) this.log.warn(summary, "messages whose ids went backwards queued again after re-registering");
  }

  private onReport(r: IdRegression): void {
    const p = this.localOf(r.owner);
    if (p === undefined) return;
    if (this.reported++ === 0) {
      this.log.warn(
        { sid: p.sid, id: String(r.id), lastDelivered: String(r.lastDelivered), total: idRegressions.count },
        "a message got an id its recipient already had: Redis's state went back in time (restart from an older snapshot, lost AOF writes, a lagging replica promoted, or an evicted mailbox counter); re-registering and queueing it again",
      );
    }
    if (this.pending.length < MAX_PENDING) this.pending.push(r);
    else this.overflowed++;
    this.recover();
  }

  /** The connection `owner` is, when it is one of this node's (a process may run several nodes). */
  private localOf(owner: object): { sid: string; room: string; identity: string } | undefined {
    if (!("sid" in owner) || typeof owner.sid !== "string") return undefined;
    const p = this.svc.local.get(owner.sid);
    return p === owner ? p : undefined;
  }
}
