import { create, toBinary } from "@bufbuild/protobuf";
import type { StoredParticipant } from "../../gen/volly/signaling/v1/internal_pb.js";
import { DisconnectReason, LeaveAction, type Room } from "../../gen/volly/signaling/v1/models_pb.js";
import { JoinResponseSchema, ReconnectResponseSchema, SignalResponseSchema } from "../../gen/volly/signaling/v1/signal_pb.js";
import { errors, type ErrorId } from "../errors.js";
import { startResponseWithRoster } from "../protocol/roster-frames.js";
import { iceServersFor } from "../room/ice-servers.js";
import { PRESENCE_TTL_MS } from "../store/store.js";
import { paramName } from "./connect-params.js";
import { DeliveryCursor } from "./delivery-cursor.js";
import { rosterWithoutIdentity } from "./other-selves.js";
import type { SignalSession } from "./signal-session.js";
import { unackedLimitOf } from "./unacked-limit.js";

const JOIN_FIELD = SignalResponseSchema.field.join.number;
const RECONNECT_FIELD = SignalResponseSchema.field.reconnect.number;

/** What happens to the participant when the connection ends. */
export type Disposal = "leave" | "away" | "none";

/**
 * Puts a connection into its room once it may (after the PQ handshake, or at once without PQ): a new
 * participant gets `join`, a resuming one gets `reconnect` followed by every message it missed.
 * The connection is registered as local *before* the store knows it, so nothing addressed to it in
 * between is lost: deliveries wait in the cursor until the first response is out. Presence is written
 * before the room or the client hears of the participant, so anyone told it joined finds it online
 * (`discover`), whichever node they ask; a join that then fails takes it back. A hidden participant has
 * none: presence exists only for `discover`, which anyone in any room may ask.
 */
export async function enterRoom(s: SignalSession): Promise<void> {
  const { svc } = s;
  if (s.reconnect) await requireOwnParticipant(s);
  // The connection may have ended while the handshake or the reads above were awaited. A closed session
  // registered now would never be taken out again: its connection is already gone.
  if (s.closed) return;
  const cursor = new DeliveryCursor(s.reconnect ? (s.lastMessageId ?? 0n) : 0n, s, unackedLimitOf(svc), s);
  s.cursor = cursor;
  const previous = svc.local.add(s);
  try {
    if (!s.claims.video.hidden) await svc.store.setOnline(s.identity, s.connId, PRESENCE_TTL_MS, svc.clock.now(), svc.nodeId);
  } catch (e) {
    svc.local.remove(s);
    throw e;
  }
  let entered = false;
  try {
    if (s.reconnect) {
      // A resume on the node that still holds the old (half-open) connection: close it quietly.
      previous?.disconnect(DisconnectReason.SIGNAL_CLOSE, LeaveAction.RESUME, true);
      entered = await resume(s, cursor);
    } else {
      entered = await join(s);
    }
  } finally {
    // Failed, or the connection ended meanwhile. Best effort, as in leaveRoom: presence expires by itself.
    if (!entered) await markOffline(s);
  }
  if (entered) cursor.start();
}

/**
 * When the connection ended while the store took the participant in (the session is closed: its own
 * disposal found nobody to take out), undoes that: a new participant, which the client never heard of,
 * leaves at once (the room saw it join and sees it go); a resumed one is away again, for another resume.
 * Returns true when the connection is still open and the participant may be told it is in.
 */
async function stillConnected(s: SignalSession, resumed: boolean): Promise<boolean> {
  if (!s.closed) return true;
  const { svc } = s;
  s.log.debug({ sid: s.sid }, "connection ended while entering the room");
  try {
    // Offline before the room is told it left (enterRoom's own mark comes after).
    await markOffline(s);
    if (!resumed) await svc.rooms.leave(s.room, s.identity, s.sid, DisconnectReason.SIGNAL_CLOSE);
    // A newer connection of this participant on this node (another resume) owns it now.
    else if (svc.local.get(s.sid) === undefined) await svc.rooms.dropped(s.room, s.identity, s.sid, DisconnectReason.SIGNAL_CLOSE);
  } catch (e) {
    // Left to the node's sweep of participants no connection holds (see ClusterNode).
    s.log.error({ err: e }, "cleanup after close failed");
  }
  return false;
}

/**
 * A resume may only name the token's own participant, and only ids it was sent. Sids are no secret
 * (everyone in a room sees them), and registering the connection under the sid closes whatever connection
 * holds it here: so whose sid it is must be known before, or a refused resume would cut off its owner and
 * leave it in the room for good. The store's claim checks the owner again atomically; these reads only keep
 * a stranger, or a client with a wrong id, from touching anything.
 */
async function requireOwnParticipant(s: SignalSession): Promise<void> {
  const own = await s.svc.store.getParticipant(s.claims.video.room, s.identity);
  if (own?.info?.sid !== s.sid) throw errors.resumeUnknown();
  // An id the server never sent would make the cursor drop every message up to it as already seen.
  const after = s.lastMessageId ?? 0n;
  if (after > 0n && after >= (await s.svc.store.readMailbox(s.sid, after)).nextId) {
    // A participant removed between the two reads has no mailbox left either: that is no bad id.
    const still = await s.svc.store.getParticipant(s.claims.video.room, s.identity);
    if (still?.info?.sid !== s.sid) throw errors.resumeUnknown();
    throw errors.badQuery(`${paramName("last_message_id", s.paramSource)} is past the last message sent to this participant`, s.paramSource);
  }
}

async function join(s: SignalSession): Promise<boolean> {
  const { svc } = s;
  let membership;
  try {
    membership = await svc.rooms.join(s.claims, svc.nodeId, s.sid, s.pqKey);
  } catch (e) {
    svc.local.remove(s);
    throw e;
  }
  if (!(await stillConnected(s, false))) return false;
  const { room, self } = membership;
  const join = create(JoinResponseSchema, startFields(s, membership));
  s.sendDelivered(0n, startResponseWithRoster(JOIN_FIELD, toBinary(JoinResponseSchema, join), rosterWithoutIdentity(membership.roster, s.identity), s.sid));
  s.markJoined(self, room);
  s.log.info({ sid: s.sid, pqSession: join.pqSession?.sessionId }, "participant joined");
  return true;
}

async function resume(s: SignalSession, cursor: DeliveryCursor): Promise<boolean> {
  const { svc } = s;
  let membership;
  try {
    membership = await svc.rooms.resume(s.claims, s.sid, svc.nodeId);
  } catch (e) {
    svc.local.remove(s);
    throw e;
  }
  const { room, self, previousNode } = membership;
  if (previousNode !== svc.nodeId) {
    // The old connection may still be open on its node (half-open socket): it must go quietly.
    await svc.delivery.disconnect(
      { ...self, nodeId: previousNode } as StoredParticipant,
      DisconnectReason.SIGNAL_CLOSE,
      LeaveAction.RESUME,
      true,
    );
  }
  const after = s.lastMessageId ?? 0n;
  const mailbox = await svc.store.readMailbox(s.sid, after);
  if (mailbox.firstId > after + 1n && mailbox.nextId > after + 1n) {
    await svc.rooms.leave(s.room, s.identity, s.sid, DisconnectReason.STATE_MISMATCH);
    svc.local.remove(s);
    throw errors.resumeGap();
  }
  if (after > 0n) await svc.store.ackMailbox(s.sid, after);
  if (!(await stillConnected(s, true))) return false;
  const reconnect = create(ReconnectResponseSchema, { ...startFields(s, membership), lastMessageId: after });
  s.sendDelivered(0n, startResponseWithRoster(RECONNECT_FIELD, toBinary(ReconnectResponseSchema, reconnect), rosterWithoutIdentity(membership.roster, s.identity), s.sid));
  cursor.replay(mailbox.messages);
  s.markJoined(self, room);
  s.log.info({ sid: s.sid, replayed: mailbox.messages.length, from: previousNode }, "participant resumed");
  return true;
}

/**
 * What `join` and `reconnect` both tell a participant but the others (`startResponseWithRoster` copies those
 * in, hidden ones left out): its room, itself, ICE and timings.
 */
function startFields(s: SignalSession, m: { room: Room; self: StoredParticipant }) {
  const { config } = s.svc;
  return {
    room: m.room,
    participant: m.self.info,
    iceServers: iceServersFor(s.identity, config.ice),
    pingInterval: config.liveness.pingIntervalSeconds,
    pingTimeout: config.liveness.pingTimeoutSeconds,
    serverInfo: s.svc.serverInfo,
    pqSession: s.pqInfo(),
    resumeWindow: Math.floor(config.resume.windowMs / 1000),
    limits: {
      maxFrameBytes: config.limits.maxFrameBytes,
      maxDataBytes: config.limits.maxDataBytes,
      messagesPerSecond: config.limits.messagesPerSecond,
      messageBurst: config.limits.messageBurst,
      fanoutBytesPerSecond: config.limits.maxFanoutBytesPerSecond,
    },
  };
}

/**
 * How a failed request ends its session, or undefined when it only gets an `error`: a PQ failure (but a
 * refused rekey) is a protocol error; before the join every failure ends it, a resume that cannot be
 * served with "join again from scratch".
 */
export function endingOnFailure(id: ErrorId | undefined, joined: boolean): { reason: DisconnectReason; action: LeaveAction } | undefined {
  if (id?.startsWith("pq_") && id !== "pq_rekey_invalid") return { reason: DisconnectReason.PROTOCOL_ERROR, action: LeaveAction.DISCONNECT };
  if (joined) return undefined;
  if (id === "resume_unknown" || id === "resume_gap") return { reason: DisconnectReason.STATE_MISMATCH, action: LeaveAction.RECONNECT };
  return { reason: DisconnectReason.JOIN_FAILURE, action: LeaveAction.DISCONNECT };
}

/**
 * Marks the connection offline; every departure does so before its room is told, so that whoever hears it
 * left and asks `discover` at once, on any node, does not find it online. Best effort: presence expires by
 * itself. A hidden participant has none (see enterRoom), and the mark would record when it was last seen.
 */
export async function markOffline(s: SignalSession): Promise<void> {
  if (!s.claims.video.hidden) await s.svc.store.setOffline(s.identity, s.connId, s.svc.clock.now()).catch(() => {});
}

/**
 * Takes a joined participant out after its connection ended: offline, then gone (`leave`) or kept for a
 * resume (`away`). Never throws: what is not written now, because the store is down, the node reconciles
 * later (see `ClusterNode`), and every step is tried even when an earlier one failed.
 */
export async function leaveRoom(s: SignalSession, dispose: Disposal, reason: DisconnectReason): Promise<void> {
  const { svc } = s;
  // Whether the participant is let go without its room having been told it left (see Rooms.departed).
  let unannounced = false;
  try {
    await markOffline(s);
    if (dispose === "leave") {
      unannounced = true;
      await svc.rooms.leave(s.room, s.identity, s.sid, reason);
      unannounced = false;
    }
    // A newer connection of this participant on this node (a resume) owns it now. Checked right before
    // the write, and both go over the same store connection, so its claim cannot be overtaken.
    else if (dispose === "away" && svc.local.get(s.sid) === undefined) {
      unannounced = true;
      await svc.rooms.dropped(s.room, s.identity, s.sid, reason);
    }
  } catch (e) {
    s.log.error({ err: e }, "cleanup after close failed");
  }
  // Decoded only when needed: every leave would otherwise pay a protobuf decode for nothing.
  const info = unannounced ? s.self?.info : undefined;
  if (info) svc.rooms.departed(s.room, info, reason, svc.clock.now());
}
