import { Command } from "ioredis";
import { nodeTopic } from "../bus/bus.js";
import type { MailboxLimits, QueuedMessage } from "../store/store.js";
import { AWAY, AWAY_BYTES_OVER, FORWARDED } from "./outcome-flags.js";
import { PackedOutcomes, type ListedRecipient } from "./packed-outcomes.js";
import { pushedEnqueueScript } from "./lua/pushed-enqueue-script.js";
import type { RedisContext } from "./redis-context.js";
import { RespWriter } from "./resp-writer.js";
import type { Route } from "./route-cache.js";

/** Below this many bytes of responses a batch takes the script's path: one command costs less than a MULTI. */
export const PUSH_MIN_BYTES = 4096;

/** Per group in the pushed script's reply: flags, index in the sid/node list, first id, mailbox length before. */
const PUSHED_OUTCOME_BYTES = 14;

type Queued = QueuedMessage & { overflow: boolean };

/** A packed enqueue batch (`EnqueueBatchWriter`) whose every message has a known route. */
export interface RoutedBatch {
  readonly packed: Uint8Array;
  /** Per message, its recipient's route when the message was enqueued. */
  readonly routes: readonly Route[];
  /** Per message, `[start, end)` of its response in `packed`, at `2i` and `2i + 1`. */
  readonly spans: readonly number[];
  readonly limits: MailboxLimits;
  readonly from: string;
  /** The one other node the batch is published to whole ('' for none). */
  readonly pub: string;
}

/**
 * Sends batches whose recipients' sids the node knows, each as one MULTI: an RPUSH of each recipient's responses
 * onto its mailbox, `pushedEnqueueScript` giving them their ids (it never sees their bytes), and the packed
 * batch PUBLISHed to `pub`, the node holding its recipients. Answers each message's outcome, as
 * `enqueueBatch` would have, worked out from the script's per-recipient reply. The script is sent by EVAL,
 * not EVALSHA: a MULTI does not stop at a failed command, so an unknown script (after a Redis restart)
 * would leave the pushes without ids.
 */
export class PushedBatchSender {
  private readonly resp = new RespWriter();

  constructor(private readonly ctx: RedisContext) {}

  send(b: RoutedBatch, now: number = this.ctx.clock.now()): Promise<Array<Queued | undefined>> {
    const groupOf = new Map<Route, number>();
    const members: number[][] = [];
    const groupIndex = new Uint16Array(b.routes.length);
    b.routes.forEach((route, i) => {
      let g = groupOf.get(route);
      if (g === undefined) {
        g = members.length;
        groupOf.set(route, g);
        members.push([]);
      }
      members[g]?.push(i);
      groupIndex[i] = g + 1;
    });
    const routes = [...groupOf.keys()];
    const meta = packMeta(routes, members, groupIndex, b.spans);
    const { ctx, resp } = this;
    return ctx.timed(pushedEnqueueScript.name, async () => {
      const commands: RawCommand[] = [];
      // Each command is written into the reused buffer, then sent as the piece it was written to.
      const send = (name: string, write: () => void) => {
        const from = resp.length;
        write();
        const c = new RawCommand(name, resp.since(from), name === "exec");
        commands.push(c);
        ctx.redis.sendCommand(c);
      };
      send("multi", () => resp.command(1).bulk("MULTI"));
      routes.forEach((route, g) => send("rpush", () => {
        const list = members[g] ?? [];
        resp.command(2 + list.length).bulk("RPUSH").bulk(ctx.keys.mailbox(route.sid));
        for (const i of list) resp.bulk(b.packed.subarray(b.spans[2 * i], b.spans[2 * i + 1]));
      }));
      send("eval", () => {
        const args = pushedEnqueueScript.argv(ctx.keys.prefix, now, [b.limits.messages, b.limits.awayBytes, b.from, b.pub, b.packed.byteLength, b.routes.length, meta]);
        resp.command(3 + args.length).bulk("EVAL").bulk(pushedEnqueueScript.source).bulk("0");
        for (const a of args) resp.bulk(a);
      });
      if (b.pub !== "") send("publish", () => resp.command(3).bulk("PUBLISH").bulk(ctx.keys.channel(nodeTopic(b.pub))).bulk(b.packed));
      send("exec", () => resp.command(1).bulk("EXEC"));
      const written = resp.take();
      // What the queued commands answer is in EXEC's reply; a failure to queue one makes EXEC fail too.
      for (const c of commands.slice(0, -1)) c.promise.catch(() => {});
      const results = await (commands.at(-1) as RawCommand).promise;
      resp.recycle(written);
      if (!Array.isArray(results)) throw new Error("redis: a pushed enqueue batch was discarded");
      const answer: unknown = results[routes.length];
      for (const r of results) if (r instanceof Error) throw r;
      return outcomesByRecipient(answer, groupIndex, routes.length, b.limits.messages);
    });
  }
}

/** What the pushed script answered for one recipient (group) found in its room. */
interface RecipientOutcome extends ListedRecipient {
  readonly first: number;
  /** Its mailbox's length before the push. */
  readonly before: number;
  readonly away: boolean;
  readonly awayBytesOver: boolean;
  readonly forwarded: boolean;
}

/**
 * Each message's outcome from the script's per-group reply: the k-th message (from 1) of a group has id
 * `first + k - 1`, and overflows when its recipient is away and the mailbox then held more than `limit`, or
 * the group took it past the bytes an away mailbox may take.
 */
function outcomesByRecipient(r: unknown, groupIndex: Uint16Array, groups: number, limit: number): Array<Queued | undefined> {
  const outcomes = new PackedOutcomes(r, groups, PUSHED_OUTCOME_BYTES, "pushed");
  const found: Array<RecipientOutcome | undefined> = [];
  for (let g = 0; g < groups; g++) {
    const recipient = outcomes.recipient(g);
    if (recipient === undefined) {
      found.push(undefined);
      continue;
    }
    const flags = outcomes.flags(g);
    const at = outcomes.at(g);
    found.push({
      sid: recipient.sid,
      nodeId: recipient.nodeId,
      first: outcomes.view.getFloat64(at + 2),
      before: outcomes.view.getUint32(at + 10),
      away: (flags & AWAY) !== 0,
      awayBytesOver: (flags & AWAY_BYTES_OVER) !== 0,
      forwarded: (flags & FORWARDED) !== 0,
    });
  }
  const seen = new Uint32Array(groups);
  const results: Array<Queued | undefined> = [];
  for (const g of groupIndex) {
    const group = found[g - 1];
    if (group === undefined) {
      results.push(undefined);
      continue;
    }
    const k = ++seen[g - 1]!;
    results.push({
      sid: group.sid,
      nodeId: group.nodeId,
      messageId: BigInt(group.first + k - 1),
      overflow: group.away && (group.before + k > limit || group.awayBytesOver),
      forwarded: group.forwarded,
    });
  }
  return results;
}

/**
 * A command whose RESP bytes were written beforehand (by `RespWriter`); ioredis sends them and reads the
 * reply. Only a batch's EXEC is `timed`: the commands before it are answered, in order, before it, so its
 * timeout covers them all. ioredis otherwise gives every command its own timer (`commandTimeout`) and
 * deletes it from the command on the reply, which costs a timer, and a command object V8 must then treat as
 * a dictionary, for each of a batch's dozen or more commands.
 */
class RawCommand extends Command {
  constructor(name: string, private readonly bytes: Buffer, private readonly timed: boolean) {
    super(name, [], { replyEncoding: null });
  }

  override toWritable(): Buffer {
    return this.bytes;
  }

  override setTimeout(ms: number): void {
    if (this.timed) super.setTimeout(ms);
  }
}

/** The script's `meta`: groups (room, identity, sid, count, bytes), then each message's group, as it reads them. */
function packMeta(routes: readonly Route[], members: readonly number[][], groupIndex: Uint16Array, spans: readonly number[]): Buffer {
  let size = 2 + 2 * groupIndex.length;
  for (const r of routes) size += 12 + Buffer.byteLength(r.room) + Buffer.byteLength(r.identity) + Buffer.byteLength(r.sid);
  const out = Buffer.allocUnsafe(size);
  let at = out.writeUInt16BE(routes.length, 0);
  routes.forEach((r, g) => {
    for (const s of [r.room, r.identity, r.sid]) {
      const n = out.write(s, at + 2);
      out.writeUInt16BE(n, at);
      at += 2 + n;
    }
    const list = members[g] ?? [];
    at = out.writeUInt16BE(list.length, at);
    let bytes = 0;
    for (const i of list) bytes += (spans[2 * i + 1] as number) - (spans[2 * i] as number);
    at = out.writeUInt32BE(bytes, at);
  });
  for (const g of groupIndex) at = out.writeUInt16BE(g, at);
  return out;
}
