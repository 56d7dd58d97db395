import type { QueuedMessage } from "../store/store.js";
import { mailboxScripts } from "./lua/mailbox-scripts.js";
import { EnqueueBatchWriter } from "../protocol/enqueue-batch.js";
import { BatchPacer } from "./batch-pacer.js";
import { reply } from "./lua-script.js";
import type { RedisContext } from "./redis-context.js";

export type Queued = QueuedMessage & { overflow: boolean };

/** A batch goes out as soon as it holds this many messages (one script must not hold Redis for long)... */
export const MAX_BATCH_MESSAGES = 128;
/** ...or this many bytes of responses (a few SDP offers are already a sizeable write). */
export const MAX_BATCH_BYTES = 256 * 1024;

/** Per message in the batch script's reply: flags, recipient index, id (see `mailboxScripts.enqueueBatch`). */
export const ENQUEUE_OUTCOME_BYTES = 10;
const FOUND = 1;
const FORWARDED = 2;
const OVERFLOW = 4;

interface Pending {
  readonly limit: number;
  readonly from: string;
  readonly waiters: Array<{ resolve: (q: Queued | undefined) => void; reject: (e: unknown) => void }>;
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
  private readonly pacer = new BatchPacer(() => this.flush());
  /** The pending batch's messages, packed as the script reads them. */
  private readonly writer = new EnqueueBatchWriter();

  constructor(private readonly ctx: RedisContext) {
    ctx.beforeCommand(() => this.flush());
  }

  enqueue(room: string, identity: string, response: Uint8Array, limit: number, forwardFrom: string): Promise<Queued | undefined> {
    let batch = this.pending;
    // A batch shares one limit and one calling node (a node always passes the same): another pair starts one.
    if (batch && (batch.limit !== limit || batch.from !== forwardFrom)) {
      this.flush();
      batch = undefined;
    }
    // Packed first: a message that cannot be packed is refused alone and starts no (empty) batch.
    try {
      this.writer.append(room, identity, response);
    } catch (e) {
      return Promise.reject(e);
    }
    if (!batch) {
      batch = { limit, from: forwardFrom, waiters: [] };
      this.pending = batch;
      this.pacer.schedule();
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
    this.pacer.sent(this.ctx.run(mailboxScripts.enqueueBatch, [waiters.length, batch.limit, batch.from, packed])).then((r) => {
      // Answered, so written and read: the buffer can take a later batch. (A failed batch's is dropped.)
      this.writer.recycle(packed);
      const results = outcomesOf(r, waiters.length);
      waiters.forEach((w, i) => w.resolve(results[i]));
    }).catch((e: unknown) => {
      for (const w of waiters) w.reject(e);
    });
  }
}

/** The batch script's packed reply: one outcome per message, recipients listed once. */
function outcomesOf(r: unknown, count: number): Array<Queued | undefined> {
  const [packed, ...recipients] = reply.array(r);
  const outcomes = reply.bytes(packed);
  if (outcomes.length !== count * ENQUEUE_OUTCOME_BYTES) throw new Error(`redis: expected ${count} enqueue outcomes, got ${outcomes.length} bytes`);
  const view = new DataView(outcomes.buffer, outcomes.byteOffset, outcomes.byteLength);
  const sids: string[] = [];
  const nodes: string[] = [];
  for (let i = 0; i + 1 < recipients.length; i += 2) {
    sids.push(reply.string(recipients[i]));
    nodes.push(reply.string(recipients[i + 1]));
  }
  const results: Array<Queued | undefined> = [];
  for (let i = 0; i < count; i++) {
    const at = i * ENQUEUE_OUTCOME_BYTES;
    const flags = view.getUint8(at);
    if ((flags & FOUND) === 0) {
      results.push(undefined);
      continue;
    }
    const k = view.getUint8(at + 1) - 1;
    const sid = sids[k];
    const nodeId = nodes[k];
    if (sid === undefined || nodeId === undefined) throw new Error(`redis: enqueue outcome names recipient ${k + 1} of ${sids.length}`);
    results.push({ sid, nodeId, messageId: BigInt(view.getFloat64(at + 2)), overflow: (flags & OVERFLOW) !== 0, forwarded: (flags & FORWARDED) !== 0 });
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
