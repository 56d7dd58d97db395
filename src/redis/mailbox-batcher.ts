import type { MailboxLimits, QueuedMessage } from "../store/store.js";
import { mailboxScripts } from "./lua/mailbox-scripts.js";
import { EnqueueBatchWriter } from "../protocol/enqueue-batch.js";
import { BatchPacer } from "./batch-pacer.js";
import { PUSH_MIN_BYTES, PushedBatchSender } from "./pushed-batch.js";
import { RouteCache, type Route } from "./route-cache.js";
import { reply } from "./lua-script.js";
import { FORWARDED, OVERFLOW } from "./outcome-flags.js";
import { PackedOutcomes } from "./packed-outcomes.js";
import type { RedisContext } from "./redis-context.js";

export type Queued = QueuedMessage & { overflow: boolean };

/** A batch goes out as soon as it holds this many messages (one script must not hold Redis for long)... */
export const MAX_BATCH_MESSAGES = 128;
/** ...or this many bytes of responses (a few SDP offers are already a sizeable write). */
export const MAX_BATCH_BYTES = 256 * 1024;

/** Per message in the batch script's reply: flags, recipient index, id (see `mailboxScripts.enqueueBatch`). */
export const ENQUEUE_OUTCOME_BYTES = 10;

interface Pending {
  readonly limits: MailboxLimits;
  readonly from: string;
  readonly waiters: Array<{ resolve: (q: Queued | undefined) => void; reject: (e: unknown) => void }>;
  /** Per message: its room and identity, and its recipient's route when known (see `RouteCache`). */
  readonly rooms: string[];
  readonly identities: string[];
  readonly routes: Array<Route | undefined>;
  /** Per message, where its response lies in the packed batch: `[start, end)` at `2i`, `2i + 1`. */
  readonly spans: number[];
  /** Whether every message has a route and they name at most one other node than `from`: `pub`. */
  pushable: boolean;
  pub: string;
}

/**
 * Gives messages their mailbox ids in batches: the enqueues of one event-loop turn (every relay whose
 * frame arrived in it) go to Redis as one script instead of one each, which is most of what a relayed
 * message cost Redis and the node; the script also publishes the messages for other nodes, one envelope
 * per node. The batch is sent at the end of the turn, or at once when full. `setImmediate` runs right
 * after this loop iteration's I/O callbacks, so an idle node adds no wait, while a busy one collects the
 * frames of every connection that was readable (a `process.nextTick` flush would only collect what one
 * socket read produced).
 *
 * While a batch is on its way, the next one is not sent at the end of the turn but when that batch is
 * answered (or at once when full; `BatchPacer`): a busy node then sends fewer, larger batches, as many as Redis can
 * answer, instead of one per turn. Each batch costs a write to Redis, a script run and a publish per
 * node, whatever its size; on a shared core those writes were a large part of a cross-node message's
 * cost. A quiet node has nothing in flight and waits for nothing; a busy one adds at most one round trip.
 *
 * Messages keep their call order within and across batches (one connection, in order), and every other
 * command first sends what is pending (`RedisContext.beforeCommand`), so Redis sees the mailbox
 * operations in the order they were called, as without batching. A failed batch rejects each of its
 * messages with the error a single enqueue would have had.
 */
export class MailboxBatcher {
  private pending: Pending | undefined;
  /** Where recipients were, so that most batches can be pushed (`PushedBatchSender`). */
  private readonly routes = new RouteCache();
  private readonly pacer = new BatchPacer(() => this.flush());
  /** The pending batch's messages, packed as the script reads them. */
  private readonly writer = new EnqueueBatchWriter();
  private readonly pushed: PushedBatchSender;

  constructor(private readonly ctx: RedisContext) {
    this.pushed = new PushedBatchSender(ctx);
    ctx.beforeCommand(() => this.flush());
  }

  enqueue(room: string, identity: string, response: Uint8Array, limits: MailboxLimits, forwardFrom: string): Promise<Queued | undefined> {
    let batch = this.pending;
    // A batch shares one set of limits and one calling node (a node always passes the same): another pair starts one.
    if (batch && (batch.limits !== limits || batch.from !== forwardFrom)) {
      this.flush();
      batch = undefined;
    }
    // Packed first: a message that cannot be packed is refused alone and starts no (empty) batch.
    let start;
    try {
      start = this.writer.append(room, identity, response);
    } catch (e) {
      return Promise.reject(e);
    }
    if (!batch) {
      batch = { limits, from: forwardFrom, waiters: [], rooms: [], identities: [], routes: [], spans: [], pushable: true, pub: "" };
      this.pending = batch;
      this.pacer.schedule();
    }
    const route = this.routes.get(room, identity);
    batch.rooms.push(room);
    batch.identities.push(identity);
    batch.routes.push(route);
    batch.spans.push(start, start + response.byteLength);
    if (route === undefined) batch.pushable = false;
    else if (forwardFrom !== "" && route.node !== "" && route.node !== forwardFrom) {
      if (batch.pub === "") batch.pub = route.node;
      else if (batch.pub !== route.node) batch.pushable = false;
    }
    const queued = new Promise<Queued | undefined>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (batch.waiters.length >= MAX_BATCH_MESSAGES || this.writer.byteLength >= MAX_BATCH_BYTES) this.flush();
    return queued;
  }

  /** Sends the pending batch now (no-op when there is none). */
  flush(): void {
    const batch = this.pending;
    if (!batch) return;
    this.pending = undefined;
    const { waiters } = batch;
    const packed = this.writer.take();
    const sent = batch.pushable && packed.byteLength >= PUSH_MIN_BYTES
      ? this.pushed.send({ packed, routes: batch.routes as Route[], spans: batch.spans, limits: batch.limits, from: batch.from, pub: batch.pub })
      : this.ctx.run(mailboxScripts.enqueueBatch, [waiters.length, batch.limits.messages, batch.limits.awayBytes, batch.from, packed]).then((r) => outcomesOf(r, waiters.length));
    this.pacer.sent(sent).then((results) => {
      // Answered, so written and read: the buffer can take a later batch. (A failed batch's is dropped.)
      this.writer.recycle(packed);
      this.learnRoutes(batch, results);
      waiters.forEach((w, i) => w.resolve(results[i]));
    }).catch((e: unknown) => {
      for (const w of waiters) w.reject(e);
    });
  }

  private learnRoutes(batch: Pending, results: ReadonlyArray<Queued | undefined>): void {
    results.forEach((q, i) => {
      const known = batch.routes[i];
      if (known !== undefined && q !== undefined && known.sid === q.sid && known.node === q.nodeId) return;
      this.routes.learn(batch.rooms[i] as string, batch.identities[i] as string, q);
    });
  }
}

/** The batch script's packed reply: one outcome per message, recipients listed once. */
function outcomesOf(r: unknown, count: number): Array<Queued | undefined> {
  const outcomes = new PackedOutcomes(r, count, ENQUEUE_OUTCOME_BYTES, "enqueue");
  const results: Array<Queued | undefined> = [];
  for (let i = 0; i < count; i++) {
    const recipient = outcomes.recipient(i);
    if (recipient === undefined) {
      results.push(undefined);
      continue;
    }
    const flags = outcomes.flags(i);
    const messageId = BigInt(outcomes.view.getFloat64(outcomes.at(i) + 2));
    results.push({ sid: recipient.sid, nodeId: recipient.nodeId, messageId, overflow: (flags & OVERFLOW) !== 0, forwarded: (flags & FORWARDED) !== 0 });
  }
  return results;
}

/** A `{sid, node, id, overflow, forwarded}` reply of the mailbox scripts. */
export function queuedOf(r: unknown): Queued {
  const [sid, node, id, overflow, forwarded] = reply.array(r);
  return {
    sid: reply.string(sid),
    nodeId: reply.string(node),
    messageId: BigInt(reply.number(id)),
    overflow: reply.number(overflow) === 1,
    forwarded: reply.number(forwarded) === 1,
  };
}
