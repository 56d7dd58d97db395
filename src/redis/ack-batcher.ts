import { mailboxScripts } from "./lua/mailbox-scripts.js";
import { luaId, reply } from "./lua-script.js";
import type { RedisContext } from "./redis-context.js";

/** A batch goes out at once when it holds this many acknowledgements. */
export const MAX_ACK_BATCH = 256;

interface Waiter {
  resolve: (acked: bigint) => void;
  reject: (e: unknown) => void;
}

/**
 * Sends the mailbox acknowledgements of one event-loop turn as one script, and while one batch is on its
 * way collects the next until it is answered (as `MailboxBatcher` does for enqueues). Clients acknowledge
 * often (the SDK with every ping, busy clients every few dozen messages), and on a node with many
 * recipients one command per acknowledgement was most of what it sent Redis, each a write that wakes Redis.
 *
 * Unlike enqueues, acknowledgements need no ordering against other commands: one only drops ids its
 * session has already been delivered (answered enqueues), takes the maximum with what is stored, and does
 * nothing for a mailbox that is gone. Within a batch they are applied in call order, each answered with the
 * highest acknowledged id after it, exactly as one script each would.
 */
export class AckBatcher {
  private sids: string[] = [];
  private upTo: string[] = [];
  private waiters: Waiter[] = [];
  private scheduled = false;
  private inFlight = 0;

  constructor(private readonly ctx: RedisContext) {}

  ack(sid: string, upToId: bigint): Promise<bigint> {
    this.sids.push(sid);
    this.upTo.push(luaId(upToId));
    const answer = new Promise<bigint>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.waiters.length >= MAX_ACK_BATCH) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        if (this.inFlight === 0) this.flush();
      });
    }
    return answer;
  }

  private flush(): void {
    const { sids, upTo, waiters } = this;
    if (waiters.length === 0) return;
    this.sids = [];
    this.upTo = [];
    this.waiters = [];
    const args: string[] = [String(waiters.length)];
    for (let i = 0; i < sids.length; i++) args.push(sids[i] as string, upTo[i] as string);
    this.inFlight++;
    this.ctx.run(mailboxScripts.ackBatch, args).finally(() => {
      this.inFlight--;
      if (this.inFlight === 0) this.flush();
    }).then((r) => {
      const acked = reply.array(r);
      if (acked.length !== waiters.length) throw new Error(`redis: expected ${waiters.length} acknowledgements, got ${acked.length}`);
      waiters.forEach((w, i) => w.resolve(BigInt(reply.number(acked[i]))));
    }).catch((e: unknown) => {
      for (const w of waiters) w.reject(e);
    });
  }
}
