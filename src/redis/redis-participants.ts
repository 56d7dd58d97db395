import type { StoredParticipant } from "../../gen/volly/signaling/v1/internal_pb.js";
import type { Room } from "../../gen/volly/signaling/v1/models_pb.js";
import type { RosterRecord } from "../protocol/roster-frames.js";
import type { CallStore, JoinOutcome, MailboxLimits, MailboxStore, ParticipantStore, QueuedMessage, RestoreOutcome } from "../store/store.js";
import { mailboxScripts } from "./lua/mailbox-scripts.js";
import { AckBatcher } from "./ack-batcher.js";
import { MailboxBatcher, queuedOf } from "./mailbox-batcher.js";
import { participantScripts } from "./lua/participant-scripts.js";
import { luaId, reply } from "./lua-script.js";
import { decodeParticipantRow, decodeParticipantRows, encodeParticipant, rosterRows } from "./redis-codec.js";
import { decodeRoomRow, roomArgs } from "./redis-room-fields.js";
import type { RedisContext } from "./redis-context.js";

const RESTORE_OUTCOMES: readonly RestoreOutcome[] = ["kept", "reclaimed", "restored", "moved", "replaced", "missing"];

/**
 * Participants and their mailboxes in Redis (`room:<name>:participants`, `room:<name>:sids`, `room:<name>:hidden`,
 * `participant:<sid>`, `away`, `node:<id>:participants`, `mailbox:<sid>`, `mailbox:<sid>:ids`).
 * Every method is one script, so each is atomic across the cluster (enqueues of one event-loop turn
 * share one, see mailbox-batcher.ts, and so do acknowledgements, see ack-batcher.ts).
 */
export class RedisParticipants implements ParticipantStore, MailboxStore {
  private readonly batcher: MailboxBatcher;
  private readonly acks: AckBatcher;

  constructor(private readonly ctx: RedisContext, private readonly calls: Pick<CallStore, "listCallsOf">) {
    this.batcher = new MailboxBatcher(ctx);
    this.acks = new AckBatcher(ctx);
  }

  async joinParticipant(participant: StoredParticipant, maxParticipants: number): Promise<JoinOutcome> {
    const r = reply.array(await this.ctx.run(participantScripts.join, [
      participant.room, identityOf(participant), sidOf(participant), participant.nodeId, encodeParticipant(participant), maxParticipants,
      hiddenFlag(participant),
    ]));
    const status = reply.string(r[0]);
    if (status === "room_missing" || status === "room_full") return { ok: false, reason: status };
    return {
      ok: true,
      room: decodeRoomRow(r[1]),
      replaced: r[2] ? decodeParticipantRow(r[2]) : undefined,
      others: rosterRows(r[3]),
    };
  }

  async getParticipant(room: string, identity: string): Promise<StoredParticipant | undefined> {
    return optionalRow(await this.ctx.run(participantScripts.get, [room, identity]));
  }

  async getParticipantBySid(sid: string): Promise<StoredParticipant | undefined> {
    return optionalRow(await this.ctx.run(participantScripts.bySid, [sid]));
  }

  async listParticipants(room: string): Promise<StoredParticipant[]> {
    return decodeParticipantRows(await this.ctx.run(participantScripts.list, [room]));
  }

  async listRoster(room: string): Promise<RosterRecord[]> {
    return rosterRows(await this.ctx.run(participantScripts.list, [room]));
  }

  async updateParticipant(participant: StoredParticipant): Promise<boolean> {
    const args = [participant.room, identityOf(participant), sidOf(participant), encodeParticipant(participant)];
    return reply.number(await this.ctx.run(participantScripts.update, args)) === 1;
  }

  async removeParticipant(room: string, identity: string, sid: string, now: number, condition: { awayExpiredBy?: number } = {}): Promise<StoredParticipant | undefined> {
    // Calls are protobufs the script cannot read: their ids are looked up first (a call created in
    // between is dropped with the room, as in the memory store).
    const callIds = (await this.calls.listCallsOf(room, identity)).map((c) => c.callId);
    const by = condition.awayExpiredBy === undefined ? "" : String(condition.awayExpiredBy);
    return optionalRow(await this.ctx.run(participantScripts.remove, [room, identity, sid, by, ...callIds], now));
  }

  async markAway(room: string, identity: string, sid: string, awayUntil: number, heldBy?: string): Promise<boolean> {
    const args = [room, identity, sid, String(awayUntil), heldBy ?? ""];
    return reply.number(await this.ctx.run(participantScripts.markAway, args)) === 1;
  }

  async claimParticipant(room: string, identity: string, sid: string, nodeId: string): Promise<StoredParticipant | undefined> {
    return optionalRow(await this.ctx.run(participantScripts.claim, [room, identity, sid, nodeId]));
  }

  async listExpiredAway(now: number): Promise<StoredParticipant[]> {
    return decodeParticipantRows(await this.ctx.run(participantScripts.expiredAway, [], now));
  }

  async listParticipantsOnNode(nodeId: string): Promise<StoredParticipant[]> {
    return decodeParticipantRows(await this.ctx.run(participantScripts.onNode, [nodeId]));
  }

  async restoreParticipant(room: Room, participant: StoredParticipant, nextMessageId: bigint, recreate: boolean): Promise<RestoreOutcome> {
    const outcome = reply.string(await this.ctx.run(participantScripts.restore, [
      ...roomArgs(room), identityOf(participant), sidOf(participant), participant.nodeId, encodeParticipant(participant),
      String(nextMessageId), recreate ? "1" : "0", hiddenFlag(participant),
    ]));
    const known = RESTORE_OUTCOMES.find((o) => o === outcome);
    if (!known) throw new Error(`redis: unexpected restore outcome ${outcome}`);
    return known;
  }

  /** Batched with the other enqueues of this event-loop turn (mailbox-batcher.ts). */
  enqueue(room: string, identity: string, response: Uint8Array, limits: MailboxLimits, forwardFrom?: string): Promise<(QueuedMessage & { overflow: boolean }) | undefined> {
    return this.batcher.enqueue(room, identity, response, limits, forwardFrom ?? "");
  }

  async enqueueRoom(room: string, response: Uint8Array, limits: MailboxLimits, exceptSid?: string, forwardFrom?: string): Promise<Array<QueuedMessage & { overflow: boolean }>> {
    const args = [room, limits.messages, limits.awayBytes, exceptSid ?? "", response, forwardFrom ?? ""];
    return reply.array(await this.ctx.run(mailboxScripts.enqueueRoom, args)).map(queuedOf);
  }

  async readMailbox(sid: string, afterId: bigint): Promise<{ messages: Array<{ id: bigint; response: Uint8Array }>; firstId: bigint; nextId: bigint }> {
    const [first, next, start, messages] = reply.array(await this.ctx.run(mailboxScripts.read, [sid, luaId(afterId)]));
    const startId = BigInt(reply.number(start));
    return {
      messages: reply.array(messages).map((m, i) => ({ id: startId + BigInt(i), response: reply.bytes(m) })),
      firstId: BigInt(reply.number(first)),
      nextId: BigInt(reply.number(next)),
    };
  }

  ackMailbox(sid: string, upToId: bigint): Promise<bigint> {
    return this.acks.ack(sid, upToId);
  }
}

function optionalRow(row: unknown): StoredParticipant | undefined {
  return row === null ? undefined : decodeParticipantRow(row);
}

function identityOf(p: StoredParticipant): string {
  return p.info?.identity ?? "";
}

function sidOf(p: StoredParticipant): string {
  return p.info?.sid ?? "";
}

/** For `room:<name>:hidden`: the scripts cannot read the record's protobuf. */
function hiddenFlag(p: StoredParticipant): string {
  return p.info?.permission?.hidden === true ? "1" : "0";
}
