import { create } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { StoredParticipantSchema, type StoredCall, type StoredParticipant } from "../../gen/volly/signaling/v1/internal_pb.js";
import {
  DisconnectReason,
  LeaveAction,
  ParticipantInfoSchema,
  ParticipantPermissionSchema,
  ParticipantState,
  RoomSchema,
  type ParticipantInfo,
  type Room,
} from "../../gen/volly/signaling/v1/models_pb.js";
import { CallAction, CallSignalSchema, SignalResponseSchema, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import type { AccessClaims } from "../auth/access-token.js";
import type { TokenPqKey } from "../pq/token-pq-claims.js";
import type { Clock } from "../cluster/cluster-clock.js";
import type { Config } from "../config.js";
import type { RosterRecord } from "../protocol/roster-frames.js";
import { errors } from "../errors.js";
import type { RoomPatch, Store } from "../store/store.js";
import type { Delivery } from "./delivery.js";
import type { DepartureLedger } from "./departure-ledger.js";
import { applyParticipantChange, sameDescription, type ParticipantChange } from "./participant-fields.js";
import { withChangeLock } from "./change-lock.js";
import { newSid } from "./ids.js";

/**
 * How long a node remembers a departure at least, whatever the resume window (even 0): a leave that could
 * not be written because Redis was down must still be announced if Redis comes back empty after a short
 * outage (see DepartureLedger).
 */
const MIN_DEPARTURE_MEMORY_MS = 30_000;

/** A participant's place: the room it is in, its record, and the room's participants as stored (see `listRoster`). */
export interface Membership {
  readonly room: Room;
  readonly self: StoredParticipant;
  /** The others, and on a resume the participant itself too: `join` and `reconnect` leave it out. */
  readonly roster: RosterRecord[];
}

/** What a new room may set instead of the defaults (seconds; a room limit of 0 is the server's). */
export interface RoomSettings {
  readonly emptyTimeout?: number;
  readonly departureTimeout?: number;
  readonly maxParticipants?: number;
  readonly metadata?: string;
}

/**
 * Joining, resuming and leaving rooms, against the `Store` and `Delivery` only: the same code runs on one
 * node or many. Every change is announced to the room as a `participant_update`.
 */
export class Rooms {
  constructor(
    private readonly config: Config,
    private readonly store: Store,
    /** The cluster's clock: deadlines and times written here are judged (and shown) on every node. */
    private readonly clock: Clock,
    private readonly delivery: Delivery,
    private readonly log: Logger,
    /** Set in a cluster, where the store can lose its data (see DepartureLedger). */
    private readonly departures?: DepartureLedger,
  ) {}

  /**
   * Creates the token's room when allowed, as its `roomConfig` claim describes (LiveKit does the same);
   * `createRoom` returns the existing one, unchanged, if another join made it meanwhile. Throws
   * `room_not_found` when the token may not create it.
   */
  private async createAllowedRoom(claims: AccessClaims): Promise<Room> {
    if (!this.config.rooms.autoCreate && !claims.video.roomCreate) throw errors.roomNotFound();
    const c = claims.roomConfig;
    const room = this.newRoom(claims.video.room, c && {
      emptyTimeout: c.emptyTimeout > 0 ? c.emptyTimeout : undefined,
      departureTimeout: c.departureTimeout,
      maxParticipants: c.maxParticipants,
      metadata: c.metadata,
    });
    return (await this.store.createRoom(room, this.config.rooms.maxRooms, this.clock.now())).room;
  }

  /** A new room record with the configured defaults. */
  newRoom(name: string, overrides: RoomSettings = {}): Room {
    return create(RoomSchema, {
      sid: newSid("RM_"),
      name,
      emptyTimeout: overrides.emptyTimeout ?? this.config.rooms.emptyTimeoutSeconds,
      departureTimeout: overrides.departureTimeout ?? 0,
      maxParticipants: overrides.maxParticipants ?? 0,
      creationTime: BigInt(this.clock.now()),
      metadata: overrides.metadata ?? "",
    });
  }

  /**
   * Adds a new participant for `claims` on `nodeId`. A participant with the same identity is replaced
   * (its connection is told DUPLICATE_IDENTITY, the room that it left). Throws `room_full`/`room_not_found`.
   * The token's name, metadata and attributes were checked with the rest of it (`authorizeConnection`).
   */
  async join(claims: AccessClaims, nodeId: string, sid: string, pqKey?: TokenPqKey): Promise<Membership> {
    const info = this.participantInfo(claims, sid, pqKey);
    const record = create(StoredParticipantSchema, { info, room: claims.video.room, nodeId, awayUntil: 0n });
    let outcome = await this.store.joinParticipant(record, this.config.rooms.maxParticipants);
    if (!outcome.ok && outcome.reason === "room_missing") {
      // A new room (auto-created on its first join), or one that closed between the upgrade check and the
      // join (empty timeout): create it if allowed. The store just said it is missing: no lookup first.
      await this.createAllowedRoom(claims);
      outcome = await this.store.joinParticipant(record, this.config.rooms.maxParticipants);
    }
    if (!outcome.ok) throw outcome.reason === "room_full" ? errors.roomFull() : errors.roomNotFound();
    if (outcome.replaced) {
      await this.delivery.disconnect(outcome.replaced, DisconnectReason.DUPLICATE_IDENTITY, LeaveAction.DISCONNECT, true);
      if (outcome.others.length > 0) await this.replaced(claims.video.room, outcome.replaced, info.sid);
    }
    // Alone in the room, there is no one to tell: whoever joins next finds this participant among its
    // `others`, as the store adds participants one at a time.
    if (!info.permission?.hidden && outcome.others.length > 0) await this.announceJoined(claims.video.room, info);
    return { room: outcome.room, self: record, roster: outcome.others };
  }

  /**
   * Announces a newcomer under its identity's change lock, and only while the store still holds it: a duplicate
   * that replaced it meanwhile (on any node) announces its departure under that lock (`replaced`), and a JOINED
   * told after it would list the sid again for good, as a departure is the last update about its sid.
   */
  private async announceJoined(room: string, info: ParticipantInfo): Promise<void> {
    await withChangeLock(this.store, { room, identity: info.identity }, async () => {
      const stored = await this.store.getParticipant(room, info.identity);
      if (stored?.info?.sid === info.sid) await this.announce(room, info, info.sid);
    }, "run anyway");
  }

  /**
   * Tells the room that a replaced participant left, before the newcomer (`newSid`) is announced: its new
   * JOINED update does not stand for the departure, as a hidden newcomer has none, and a departure is the
   * last update about its sid (protocol.md). Its calls end with it: their media ran to the connection that
   * is gone, and the newcomer knows nothing of them. After any change to the old participant that was under
   * way (its lock), as `leave` does: one announced after the departure would list it again for good.
   */
  private async replaced(room: string, old: StoredParticipant, newSid: string): Promise<void> {
    const gone = old.info;
    if (!gone) return;
    await withChangeLock(this.store, { room, identity: gone.identity }, async () => {
      const calls = await this.store.listCallsOf(room, gone.identity);
      await Promise.all(calls.map((call) => this.store.deleteCall(room, call.callId)));
      await this.hangUp(room, gone.identity, gone.sid, calls, "participant replaced");
      if (gone.permission?.hidden) return;
      const info = create(ParticipantInfoSchema, {
        ...gone,
        state: ParticipantState.DISCONNECTED,
        disconnectReason: DisconnectReason.DUPLICATE_IDENTITY,
        version: gone.version + 1,
      });
      await this.announce(room, info, newSid);
    }, "run anyway");
  }

  /** Tells the other party of each of `calls` that `identity` (`sid`) hung up, for `reason`. */
  private async hangUp(room: string, identity: string, sid: string, calls: StoredCall[], reason: string): Promise<void> {
    for (const call of calls) {
      const peer = call.caller === identity ? call.callee : call.caller;
      const hangup = create(SignalResponseSchema, {
        message: {
          case: "call",
          value: create(CallSignalSchema, { action: CallAction.HANGUP, callId: call.callId, target: peer, from: identity, fromSid: sid, reason }),
        },
      });
      await this.delivery.toParticipant(room, peer, hangup);
    }
  }

  /**
   * Takes over a dropped participant (`sid`) for `nodeId`. It must be in the token's room under the
   * token's identity. Throws `resume_unknown` otherwise.
   */
  async resume(claims: AccessClaims, sid: string, nodeId: string): Promise<Membership & { previousNode: string }> {
    const before = await this.store.claimParticipant(claims.video.room, claims.identity, sid, nodeId);
    if (!before) throw errors.resumeUnknown();
    const room = await this.store.getRoom(claims.video.room);
    if (!room) throw errors.resumeUnknown();
    const roster = await this.store.listRoster(claims.video.room);
    const self = create(StoredParticipantSchema, { ...before, nodeId, awayUntil: 0n });
    this.departures?.forget(sid);
    return { room, self, roster, previousNode: before.nodeId };
  }

  /**
   * Removes a participant for good: hangs up its calls, tells the room, drops its mailbox. Safe to call
   * twice (the second call finds nothing). `condition` is the store's (see `removeParticipant`). Under the
   * participant's change lock, so that a change made at the same time on any node is announced wholly
   * before or after the departure: one announced after it would list the participant again in every
   * client, with nothing to ever take it off. A removal is never refused: past the lock's wait it goes on.
   */
  leave(room: string, identity: string, sid: string, reason: DisconnectReason, condition?: { awayExpiredBy?: number }): Promise<StoredParticipant | undefined> {
    return withChangeLock(this.store, { room, identity }, () => this.remove(room, identity, sid, reason, condition), "run anyway");
  }

  private async remove(room: string, identity: string, sid: string, reason: DisconnectReason, condition?: { awayExpiredBy?: number }): Promise<StoredParticipant | undefined> {
    const calls = await this.store.listCallsOf(room, identity);
    const removed = await this.store.removeParticipant(room, identity, sid, this.clock.now(), condition);
    if (!removed?.info) return undefined;
    await this.hangUp(room, identity, sid, calls, "participant left");
    if (!removed.info.permission?.hidden) {
      const info = create(ParticipantInfoSchema, {
        ...removed.info,
        state: ParticipantState.DISCONNECTED,
        disconnectReason: reason,
        version: removed.info.version + 1,
      });
      await this.announce(room, info, sid);
    }
    this.log.info({ room, identity, sid, reason: DisconnectReason[reason] }, "participant left");
    return removed;
  }

  /**
   * Deletes a room with everyone in it (its participants, calls and mailboxes; telling their connections
   * is the caller's) and returns the participants it had. Each is logged as having left, as `leave` does:
   * every participant that leaves can be traced by its sid.
   */
  async deleteRoom(name: string): Promise<StoredParticipant[]> {
    const removed = await this.store.deleteRoom(name);
    const reason = DisconnectReason[DisconnectReason.ROOM_DELETED];
    for (const p of removed) {
      if (p.info) this.log.info({ room: name, identity: p.info.identity, sid: p.info.sid, reason }, "participant left");
    }
    return removed;
  }

  /**
   * The connection of a participant dropped without a leave: keep it for the resume window, or remove
   * it at once when resume is off. Only while this node still holds it: if it already resumed on
   * another node, that node owns it now.
   */
  async dropped(room: string, identity: string, sid: string, reason = DisconnectReason.SIGNAL_CLOSE): Promise<void> {
    if (this.config.resume.windowMs === 0) {
      await this.leave(room, identity, sid, reason);
      return;
    }
    await this.store.markAway(room, identity, sid, this.clock.now() + this.config.resume.windowMs, this.config.nodeId);
  }

  /**
   * A participant the store had lost is back (this node re-registered its connection after Redis lost
   * its data, or after being taken for dead): the room is told it is there.
   */
  async returned(p: StoredParticipant): Promise<void> {
    if (p.info && !p.info.permission?.hidden) await this.announce(p.room, p.info, p.info.sid);
  }

  /**
   * Changes a room's description and, when its metadata changed, tells everyone in it (`room_update`);
   * undefined when there is no such room. One change at a time per room, whichever node makes it, so that
   * the last `room_update` the room hears is what the store holds.
   */
  async changeRoom(name: string, patch: RoomPatch): Promise<Room | undefined> {
    return withChangeLock(this.store, { room: name }, async () => {
      const room = await this.store.updateRoom(name, patch);
      if (room && patch.metadata !== undefined) {
        await this.delivery.toRoom(name, create(SignalResponseSchema, { message: { case: "roomUpdate", value: { room } } }));
      }
      return room;
    });
  }

  /**
   * Changes a participant's metadata, name or attributes, merged onto its stored record, and tells the
   * room; returns the changed record, or undefined when the participant (with this `sid`) is not there.
   * One change at a time per participant, whichever node makes it: each is merged onto the one before and
   * gets the next `version` (a change that changes nothing gets none), and the room hears them in that order. `announced` learns how many were told
   * (a participant's own change is charged to its fan-out budget by that number). `tellSelf` (an admin's
   * change, news to the participant too) queues the update for the participant under the same lock, so that
   * it hears concurrent changes in version order as well.
   */
  async change(room: string, identity: string, sid: string, change: ParticipantChange, opts: { announced?: (recipients: number) => void; tellSelf?: boolean } = {}): Promise<StoredParticipant | undefined> {
    return withChangeLock(this.store, { room, identity }, async () => {
      const stored = await this.store.getParticipant(room, identity);
      if (!stored?.info || stored.info.sid !== sid) return undefined;
      const info = applyParticipantChange(stored.info, change);
      // A change that changes nothing is no news: no new version, nobody told (LiveKit's rule too).
      if (sameDescription(info, stored.info)) return stored;
      const next = create(StoredParticipantSchema, { ...stored, info });
      if (!(await this.store.updateParticipant(next))) return undefined;
      if (!info.permission?.hidden) {
        // Not `announced?.(await ...)`: without a listener that would skip the announcement itself.
        const told = await this.announce(room, info, sid);
        opts.announced?.(told);
      }
      if (opts.tellSelf) await this.delivery.toParticipant(room, identity, participantUpdate(info));
      return next;
    });
  }

  /**
   * Ends participants past their resume window (unless they resumed meanwhile) and closes rooms past
   * their empty timeout.
   */
  async sweep(now: number): Promise<void> {
    for (const p of await this.store.listExpiredAway(now)) {
      // RESUME_FAILED, not the drop's own reason: the room learns it never came back, not why it dropped.
      await this.leave(p.room, p.info?.identity ?? "", p.info?.sid ?? "", DisconnectReason.RESUME_FAILED, { awayExpiredBy: now });
      // A leave tells its whole room; many at once (a mass drop in a big room) would otherwise keep the
      // loop from reading any socket until all are told (the memory store answers without I/O).
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (const name of await this.store.deleteExpiredEmptyRooms(now)) {
      this.log.info({ room: name }, "room closed after empty timeout");
    }
  }

  /**
   * This node let a participant go (kept away for a resume, or its leave could not be written): remembered
   * while its window runs, in case the store loses its record (see DepartureLedger).
   */
  departed(room: string, info: ParticipantInfo, reason: DisconnectReason, now: number): void {
    this.departures?.record({ room, info, reason, until: now + Math.max(this.config.resume.windowMs, MIN_DEPARTURE_MEMORY_MS) });
  }

  /**
   * After the store lost its data (an empty Redis restart): tells the rooms of the participants this node
   * let go, and the store no longer knows, that they are gone. A room nobody has re-registered into yet
   * (its members' nodes have not noticed the restart) has no one to tell: those departures are kept, and
   * `waiting` says to try again.
   */
  async announceDepartures(now: number): Promise<{ announced: number; waiting: number }> {
    let announced = 0;
    let waiting = 0;
    for (const d of this.departures?.current(now) ?? []) {
      const known = await this.store.getParticipant(d.room, d.info.identity);
      // Still there (the store kept it), or the identity joined again: the store's own paths tell the room.
      if (known?.info) {
        if (known.info.sid !== d.info.sid) this.departures?.forget(d.info.sid);
        continue;
      }
      if (d.info.permission?.hidden) {
        this.departures?.forget(d.info.sid);
        continue;
      }
      const info = create(ParticipantInfoSchema, { ...d.info, state: ParticipantState.DISCONNECTED, disconnectReason: d.reason, version: d.info.version + 1 });
      if ((await this.announce(d.room, info, d.info.sid)) > 0) {
        this.departures?.forget(d.info.sid);
        announced++;
      } else waiting++;
    }
    return { announced, waiting };
  }

  /** Tells the room (but `exceptSid`) of a participant's change; returns how many were told. */
  private async announce(room: string, info: ParticipantInfo, exceptSid: string): Promise<number> {
    return this.delivery.toRoom(room, participantUpdate(info), exceptSid);
  }

  private participantInfo(claims: AccessClaims, sid: string, pqKey: TokenPqKey | undefined): ParticipantInfo {
    const v = claims.video;
    return create(ParticipantInfoSchema, {
      sid,
      identity: claims.identity,
      state: ParticipantState.JOINED,
      metadata: claims.metadata,
      joinedAt: BigInt(this.clock.now()),
      name: claims.name,
      version: 1,
      permission: create(ParticipantPermissionSchema, {
        canSubscribe: v.canSubscribe,
        canPublish: v.canPublish,
        canPublishData: v.canPublishData,
        hidden: v.hidden,
        canUpdateMetadata: v.canUpdateOwnMetadata,
      }),
      attributes: { ...claims.attributes },
      pqPublicKey: pqKey?.publicKey ?? new Uint8Array(0),
      pqAlgorithm: pqKey?.algorithm ?? "",
    });
  }
}

/** The `participant_update` that describes one participant. */
export function participantUpdate(info: ParticipantInfo): SignalResponse {
  return create(SignalResponseSchema, { message: { case: "participantUpdate", value: { participants: [info] } } });
}
