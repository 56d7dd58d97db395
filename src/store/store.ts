import type { Room } from "../../gen/volly/signaling/v1/models_pb.js";
import type { NodeInfo, StoredCall, StoredParticipant, StoredSession } from "../../gen/volly/signaling/v1/internal_pb.js";
import type { RosterRecord } from "../protocol/roster-frames.js";

/**
 * Shared state of the deployment. One memory implementation (single node, the default) and one Redis
 * implementation (a cluster); `createBackend` picks one at start-up and nothing else knows which. Every
 * method is async. "Atomic" means no other node can interleave (Redis: one Lua script). Methods reject
 * with `store_unavailable` while the backend cannot be reached.
 */
export interface Store extends RoomStore, ParticipantStore, MailboxStore, CallStore, SessionStore, PresenceStore, NodeStore {
  /** Resolves when the backend answers; rejects otherwise (health checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Every `Room` a store returns has `numParticipants` = its visible participants: hidden ones are left out,
 * as LiveKit counts them, or every joiner could tell an unseen participant is there. Room limits
 * (`joinParticipant`) count everyone.
 */
export interface RoomStore {
  getRoom(name: string): Promise<Room | undefined>;
  /** Rooms by name (all rooms when `names` is empty), sorted by name. */
  listRooms(names?: readonly string[]): Promise<Room[]>;
  /**
   * How many rooms exist, without reading them: what a metrics scrape asks, which anyone who can reach the
   * signal port may do as often as it likes. On Redis a room whose record was evicted is still counted until
   * the next full `listRooms` or a `createRoom` at the limit drops its name.
   */
  countRooms(): Promise<number>;
  /**
   * Creates `room` unless a room of that name exists (atomic). `created` is false when it existed.
   * Rejects with `too_many_rooms` when `maxRooms` rooms exist already. A new room is empty, so it closes
   * after its empty timeout unless someone joins.
   */
  createRoom(room: Room, maxRooms: number, now: number): Promise<{ room: Room; created: boolean }>;
  /** Applies `patch` to an existing room; undefined when it does not exist. */
  updateRoom(name: string, patch: RoomPatch): Promise<Room | undefined>;
  /** Deletes a room and all its participants, calls and mailboxes; returns the participants it had. */
  deleteRoom(name: string): Promise<StoredParticipant[]>;
  /**
   * Deletes, and returns the names of, rooms that have been empty past their timeout (atomic per room): the
   * departure timeout when set and the room became empty by its last participant leaving, the empty
   * timeout otherwise (`emptyRoomTimeoutMs`).
   */
  deleteExpiredEmptyRooms(now: number): Promise<string[]>;
}

export interface RoomPatch {
  readonly metadata?: string;
  readonly maxParticipants?: number;
  readonly emptyTimeout?: number;
  readonly departureTimeout?: number;
}

/** Outcome of a join. */
export type JoinOutcome =
  | { readonly ok: true; readonly room: Room; readonly others: RosterRecord[]; readonly replaced: StoredParticipant | undefined }
  | { readonly ok: false; readonly reason: "room_missing" | "room_full" };

export interface ParticipantStore {
  /**
   * Adds `participant` to its room (atomic): the room must exist, a participant with the same identity
   * is replaced (and returned as `replaced`; its mailbox is dropped), and the room must have fewer than
   * `maxParticipants` others (the room's own limit wins when set). Returns the other participants, as
   * `listRoster` does.
   */
  joinParticipant(participant: StoredParticipant, maxParticipants: number): Promise<JoinOutcome>;
  getParticipant(room: string, identity: string): Promise<StoredParticipant | undefined>;
  /** The participant with this sid, wherever it is. */
  getParticipantBySid(sid: string): Promise<StoredParticipant | undefined>;
  listParticipants(room: string): Promise<StoredParticipant[]>;
  /**
   * The room's participants as stored, undecoded, for a `join` or `reconnect` to copy in (see
   * roster-frames.ts), whose node and away fields may be stale: only their info is read.
   */
  listRoster(room: string): Promise<RosterRecord[]>;
  /**
   * Replaces the stored info if the stored sid equals `participant.info.sid`; false otherwise. The
   * routing facts (`node_id`, `away_until`) are the store's and stay as they are.
   */
  updateParticipant(participant: StoredParticipant): Promise<boolean>;
  /**
   * Removes the participant if its sid still matches (atomic), with its mailbox and calls; the room
   * starts its departure timeout (or empty timeout, `emptyRoomTimeoutMs`) when it becomes empty. Undefined when it was not there. With
   * `awayExpiredBy`, only a participant that is away with a deadline at or before it is removed (so a
   * participant that resumed in the meantime stays).
   */
  removeParticipant(room: string, identity: string, sid: string, now: number, condition?: { awayExpiredBy?: number }): Promise<StoredParticipant | undefined>;
  /**
   * Marks a participant as dropped until `awayUntil` (atomic); false if the sid no longer matches, or,
   * with `heldBy`, if its connection is no longer on that node (it resumed elsewhere).
   */
  markAway(room: string, identity: string, sid: string, awayUntil: number, heldBy?: string): Promise<boolean>;
  /**
   * Takes over a participant for `nodeId` on resume (atomic): it must exist with this sid; clears
   * `away_until` and sets `node_id`. Returns the record as it was before the claim.
   */
  claimParticipant(room: string, identity: string, sid: string, nodeId: string): Promise<StoredParticipant | undefined>;
  /** Participants whose resume deadline has passed. */
  listExpiredAway(now: number): Promise<StoredParticipant[]>;
  /** Participants whose connection is (or was last) on `nodeId`. */
  listParticipantsOnNode(nodeId: string): Promise<StoredParticipant[]>;
  /**
   * Re-asserts a participant whose connection this node (`participant.node_id`) holds (atomic), and
   * keeps its records alive. `kept`: stored as held. `reclaimed`: it was marked away while held here
   * (this node was taken for dead); it is connected again. `moved`: it resumed on another node.
   * `replaced`: another sid has the identity now. `missing`: not stored; with `recreate` (the backend
   * lost its data, or the participant was removed while this node was taken for dead) it is added back
   * (creating `room` if needed) and the outcome is `restored`. The mailbox's next id is raised to at
   * least `nextMessageId`, so ids keep increasing for the connected client.
   */
  restoreParticipant(room: Room, participant: StoredParticipant, nextMessageId: bigint, recreate: boolean): Promise<RestoreOutcome>;
}

/** What `restoreParticipant` found and did. */
export type RestoreOutcome = "kept" | "reclaimed" | "restored" | "moved" | "replaced" | "missing";

/** Where a message for a participant was queued. */
export interface QueuedMessage {
  readonly sid: string;
  readonly nodeId: string;
  readonly messageId: bigint;
  /** The store already published it to `nodeId` (see `MailboxStore.enqueue`): the caller must not. */
  readonly forwarded?: boolean;
}

/**
 * How much a mailbox holds. `messages`: the most it keeps (while its participant is connected the oldest go;
 * the node holding the connection bounds the unacknowledged bytes itself). `awayBytes`: the most bytes of
 * messages it takes while its participant is away (counted from when it went away); past either bound an
 * away participant's mailbox overflows. A node passes the same object every time.
 */
export interface MailboxLimits {
  readonly messages: number;
  readonly awayBytes: number;
}

/** A result that may be ready at once or later: callers `await` it, or test `instanceof Promise` on hot paths. */
export type MaybePromise<T> = T | Promise<T>;

export interface MailboxStore {
  /**
   * Gives `response` (a binary SignalResponse without message_id) the next message id of the participant
   * `identity` in `room` and keeps it for replay (atomic). Undefined when there is no such participant.
   * The mailbox keeps at most `limits.messages` messages: while the participant is connected the oldest are
   * dropped; while it is away, one past that or past `limits.awayBytes` is reported as `overflow` (the
   * caller ends the participant: it could not be resumed without more than a connection may hold).
   * With `forwardFrom` (the calling node's id), a store that shares its server with the bus (Redis) may
   * also publish the message, in the same atomic step, to the node holding the participant when that is
   * not `forwardFrom`: on the bus topic `node:<id>`, as a `delivery` BusEnvelope (or one `deliveries`
   * envelope for several messages queued together), and report it `forwarded`. Otherwise routing the
   * message is the caller's. A store that can answer at once does so without a promise (every relayed
   * message comes this way, and each promise is an allocation and a turn of the microtask queue).
   */
  enqueue(room: string, identity: string, response: Uint8Array, limits: MailboxLimits, forwardFrom?: string): MaybePromise<(QueuedMessage & { overflow: boolean }) | undefined>;
  /** `enqueue` for every participant of `room` except `exceptSid`. */
  enqueueRoom(room: string, response: Uint8Array, limits: MailboxLimits, exceptSid?: string, forwardFrom?: string): Promise<Array<QueuedMessage & { overflow: boolean }>>;
  /**
   * Messages of `sid` with ids greater than `afterId`, in order, and the lowest id still kept (so the
   * caller can tell whether a gap was trimmed away). `nextId` is the id the next message will get.
   */
  readMailbox(sid: string, afterId: bigint): Promise<{ messages: Array<{ id: bigint; response: Uint8Array }>; firstId: bigint; nextId: bigint }>;
  /** Drops messages up to and including `upToId`; returns the highest acknowledged id. */
  ackMailbox(sid: string, upToId: bigint): Promise<bigint>;
}

export interface CallStore {
  putCall(call: StoredCall): Promise<void>;
  getCall(room: string, callId: string): Promise<StoredCall | undefined>;
  deleteCall(room: string, callId: string): Promise<void>;
  /**
   * Adds `identity` to the call's `connected` (atomic, whichever node reports it) when it is the caller or
   * the callee and not there yet. Once both are there, `connected_at` is `now` and `established` is true
   * for the one report that completed the call (never for a later one). Undefined when there is no such call.
   */
  addCallConnected(room: string, callId: string, identity: string, now: number): Promise<{ call: StoredCall; established: boolean } | undefined>;
  /** Calls of `room` in which `identity` is caller or callee. */
  listCallsOf(room: string, identity: string): Promise<StoredCall[]>;
}

/** Session statistics, cluster-wide. */
export interface SessionStats {
  /** Live sessions of nodes that are not dead (a dead node's stop counting before they are reaped). */
  readonly activeSessions: number;
  readonly expiredSessions: number;
  readonly totalSessions: number;
  readonly rekeys: number;
}

export interface SessionStore {
  /** Records a new session (`session:<id>`, kept until `expires_at`) and counts it in `total_sessions`. */
  createSession(session: StoredSession): Promise<void>;
  updateSession(session: StoredSession): Promise<void>;
  getSession(id: string): Promise<StoredSession | undefined>;
  /** Live sessions (of one node when `nodeId` is given). */
  listSessions(nodeId?: string): Promise<StoredSession[]>;
  /**
   * Re-creates the record of a session this node holds when it is missing (the backend lost its data,
   * or another node ended it while this one was taken for dead); a present record is left as it is. A
   * re-created session is counted in `total_sessions` unless `reapNode` ended it (it was counted when
   * created): after an empty restart the counter starts again from the sessions the nodes re-register.
   */
  restoreSession(session: StoredSession): Promise<void>;
  /** Ends a session: deletes its record; counts it in `expired_sessions` when `expired`. */
  endSession(id: string, expired: boolean): Promise<void>;
  countRekey(): Promise<void>;
  sessionStats(): Promise<SessionStats>;
}

/** How long an identity's last-seen time is kept after its last connection (any store). */
export const LAST_SEEN_TTL_MS = 30 * 24 * 3_600_000;

/**
 * How long a connection counts as online after its node last said so (`setOnline`): a node that dies
 * without a word stops showing its connections online this long after. Each connection refreshes its own
 * every `PRESENCE_REFRESH_MS`, so two refreshes can be lost before it reads as offline.
 */
export const PRESENCE_TTL_MS = 30_000;
export const PRESENCE_REFRESH_MS = PRESENCE_TTL_MS / 3;

/** Presence of one identity across the deployment. */
export interface Presence {
  readonly identity: string;
  readonly online: boolean;
  /** Milliseconds since the epoch; 0 when never seen. */
  readonly lastSeen: number;
}

export interface PresenceStore {
  /**
   * Marks a connection of `identity` online (refreshed by heartbeats; expires after `ttlMs`).
   * `connection` names the connection (not the participant: a resumed participant has a new one), and
   * `nodeId` the node holding it: a connection of a dead node counts as offline at once, whatever its ttl
   * (its participant is away, or gone, from then on).
   */
  setOnline(identity: string, connection: string, ttlMs: number, now: number, nodeId: string): Promise<void>;
  /** Marks that connection offline and records the time as last seen. */
  setOffline(identity: string, connection: string, now: number): Promise<void>;
  /**
   * Marks every connection of participant `sid` offline (a connection's id starts with its participant's
   * sid and a dot, see newConnectionId), and records the time as last seen if one was online. For whoever
   * removes a participant it does not hold (RoomService): anyone told it left must find it offline, and
   * its connection's own offline mark comes later, from its node.
   */
  setParticipantOffline(identity: string, sid: string, now: number): Promise<void>;
  /**
   * Marks every connection `nodeId` registered offline: the node was reaped (forgotten, so "its node is dead"
   * no longer holds), left, or is starting again under its id and holds none of them. `lastSeen` (the node's
   * last heartbeat) becomes the last seen of the identities it had online, unless a later one is known.
   */
  dropNodePresence(nodeId: string, lastSeen: number | undefined): Promise<void>;
  getPresence(identities: readonly string[], now: number): Promise<Presence[]>;
}

export interface NodeStore {
  /**
   * Registers or refreshes a node; it counts as alive for `ttlMs` after `node.updated_at`. Returns true
   * when the node was registered and alive before, false when it is new or was lost (its heartbeat
   * lapsed, it was removed as dead, or the backend lost its data or went back to older data): the node must
   * then re-register what it holds.
   */
  heartbeatNode(node: NodeInfo, ttlMs: number): Promise<boolean>;
  /** Nodes whose heartbeat is current. */
  listNodes(now: number): Promise<NodeInfo[]>;
  /** Registered nodes whose heartbeat lapsed and that nobody removed yet, as they last registered. */
  listDeadNodes(now: number): Promise<NodeInfo[]>;
  /** Ends a node's heartbeat now (a graceful exit): it counts as dead, so `reapNode` can take it. */
  removeNode(nodeId: string): Promise<void>;
  /**
   * Takes over a dead node (atomic, so it cannot undo a heartbeat that revived it): its participants
   * that were still connected count as dropped until `awayUntil` (they may resume elsewhere; the sweeper
   * removes them after), its sessions end (not counted as expired, and not counted again in `total_sessions`
   * if the node comes back and restores them) and it is forgotten. Undefined when
   * the node is not dead (alive again, never registered, or already reaped).
   */
  reapNode(nodeId: string, awayUntil: number): Promise<{ participants: number; sessions: number } | undefined>;
  /** Takes a named lock for `ttlMs` if free; returns a token to release it with, or undefined. */
  tryLock(name: string, ttlMs: number): Promise<string | undefined>;
  unlock(name: string, token: string): Promise<void>;
}
