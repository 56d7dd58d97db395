import { mailboxScripts } from "./lua/mailbox-scripts.js";
import { BatchPacer } from "./batch-pacer.js";
import { luaId, reply } from "./lua-script.js";
import type { RedisContext } from "./redis-context.js";

/** A batch goes out at once when it holds this many acknowledgements. */
export const MAX_ACK_BATCH = 256;
/**
 * How long an acknowledgement waits for others before its batch goes. Nobody waits on one (a session
 * sends it and goes on, see ParticipantRequests.ack), and each batch costs a write from the node and a
 * script in Redis whatever its size; a busy recipient acknowledges every few dozen messages.
 */
export const ACK_HOLD_MS = 10;

interface Waiter {
  resolve: (acked: bigint) => void;
  reject: (e: unknown) => void;
}

/**
 * Sends the mailbox acknowledgements of `ACK_HOLD_MS` as one script, paced like enqueues
 * (`BatchPacer`: while one batch is on its way, the next is collected until it is answered). Clients
 * acknowledge often (the SDK with every ping, busy clients every few dozen messages), and on a node with many
 * recipients one command per acknowledgement was most of what it sent Redis, each a write that wakes Redis.
 *
 * Unlike enqueues, acknowledgements need no ordering against other commands: one only drops ids its
 * session has already been delivered (answered enqueues), takes the maximum with what is stored, and does
 * nothing for a mailbox that is gone. Within a batch they are applied in call order, each answered with the
 * highest acknowledged id after it, exactly as one script each would.
 */
export class AckBatcher {
  /** The pending batch's script arguments after its count: sid, upToId, sid, upToId, ... */
  private args: string[] = [];
  private waiters: Waiter[] = [];
  private readonly pacer = new BatchPacer(() => this.flush(), ACK_HOLD_MS);

  constructor(private readonly ctx: RedisContext) {}

  ack(sid: string, upToId: bigint): Promise<bigint> {
    this.args.push(sid, luaId(upToId));
    const answer = new Promise<bigint>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.waiters.length >= MAX_ACK_BATCH) this.flush();
    else this.pacer.schedule();
    return answer;
  }

  private flush(): void {
    const { args, waiters } = this;
    if (waiters.length === 0) return;
    this.args = [];
    this.waiters = [];
    this.pacer.sent(this.ctx.run(mailboxScripts.ackBatch, [String(waiters.length), ...args])).then((r) => {
      const acked = reply.array(r);
      if (acked.length !== waiters.length) throw new Error(`redis: expected ${waiters.length} acknowledgements, got ${acked.length}`);
      waiters.forEach((w, i) => w.resolve(BigInt(reply.number(acked[i]))));
    }).catch((e: unknown) => {
      for (const w of waiters) w.reject(e);
    });
  }
}
