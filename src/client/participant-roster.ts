import { ParticipantState, type ParticipantInfo } from "../../gen/volly/signaling/v1/models_pb.js";
import { RecentKeys } from "./recent-keys.js";

/** How many departed sids a roster remembers: far more than leave a room between two updates. */
const DEPARTED_SIDS = 1024;

/** A participant of the room (another one, or this client itself), as the SDK reports it. */
export interface VollyParticipant {
  readonly sid: string;
  readonly identity: string;
  readonly name: string;
  readonly metadata: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly state: "joined" | "reconnecting" | "disconnected";
  /** Milliseconds since the epoch. */
  readonly joinedAt: number;
  /** Increases with every change. */
  readonly version: number;
  /** The participant's token key (`pqPublicKey`), when its token carried one. */
  readonly pqPublicKey?: Uint8Array;
  readonly pqAlgorithm?: string;
}

/**
 * A change the roster applied: someone else joined, changed or left, or this client's own participant
 * changed (`local`: the server described it anew, e.g. after RoomService `UpdateParticipant`).
 */
export type RosterChange = { kind: "joined" | "updated" | "left" | "local"; participant: VollyParticipant };

/** The SDK's form of a `ParticipantInfo`. */
export function toParticipant(info: ParticipantInfo): VollyParticipant {
  const state = info.state === ParticipantState.DISCONNECTED ? "disconnected" : info.state === ParticipantState.RECONNECTING ? "reconnecting" : "joined";
  return {
    sid: info.sid,
    identity: info.identity,
    name: info.name,
    metadata: info.metadata,
    attributes: { ...info.attributes },
    state,
    joinedAt: Number(info.joinedAt),
    version: info.version,
    ...(info.pqPublicKey.length > 0 ? { pqPublicKey: info.pqPublicKey, pqAlgorithm: info.pqAlgorithm } : {}),
  };
}

/**
 * Who is in the room: this client's own participant, and everyone else. Set from `join`, kept current by
 * `participant_update`s. The server sends a participant the updates about itself too (RoomService
 * `UpdateParticipant`, its own `update_metadata`): those change the local participant and never make it
 * one of the others. A resumed connection keeps its roster, because the replay after `reconnect` brings
 * every update it missed in order. Stale updates (lower version for the same sid) are ignored; a new sid
 * for an identity is a new participant. A sid that left never comes back (a rejoin gets a new one), so an
 * update about it that arrives after its departure is stale too, not a new participant.
 */
export class ParticipantRoster {
  private readonly byIdentity = new Map<string, VollyParticipant>();
  private readonly departed = new RecentKeys(DEPARTED_SIDS);
  private self: VollyParticipant | undefined;

  /**
   * `localIdentity`: this client's identity as its token says, never listed among the others; `join` tells
   * the identity the server gave it (a token without `sub` gets its `jti`).
   */
  constructor(private localIdentity: string) {}

  /** This client's participant as the server last described it (undefined before the first `join`). */
  get local(): VollyParticipant | undefined {
    return this.self;
  }

  /** Everyone currently in the room except this client. */
  list(): VollyParticipant[] {
    return [...this.byIdentity.values()];
  }

  /** How many others are in the room. */
  get size(): number {
    return this.byIdentity.size;
  }

  get(identity: string): VollyParticipant | undefined {
    return this.byIdentity.get(identity);
  }

  /** Replaces the roster (a `join`): returns who appeared and who vanished compared with before. */
  reset(self: ParticipantInfo | undefined, others: readonly ParticipantInfo[]): RosterChange[] {
    this.self = self === undefined ? undefined : toParticipant(self);
    if (self !== undefined && self.identity !== "") this.localIdentity = self.identity;
    const next = new Map<string, VollyParticipant>();
    for (const info of others) if (info.identity !== this.localIdentity) next.set(info.identity, toParticipant(info));
    const changes: RosterChange[] = [];
    for (const [identity, p] of this.byIdentity) {
      if (next.get(identity)?.sid !== p.sid) changes.push({ kind: "left", participant: { ...p, state: "disconnected" } });
    }
    for (const [identity, p] of next) {
      if (this.byIdentity.get(identity)?.sid !== p.sid) changes.push({ kind: "joined", participant: p });
    }
    this.byIdentity.clear();
    for (const [identity, p] of next) this.byIdentity.set(identity, p);
    return changes;
  }

  /** Applies a `participant_update`. */
  apply(updates: readonly ParticipantInfo[]): RosterChange[] {
    const changes: RosterChange[] = [];
    for (const info of updates) {
      if (info.identity === this.localIdentity) {
        const change = this.applyLocal(info);
        if (change !== undefined) changes.push(change);
        continue;
      }
      const p = toParticipant(info);
      const known = this.byIdentity.get(p.identity);
      if (p.state === "disconnected") {
        this.departed.add(p.sid);
        if (known !== undefined && known.sid === p.sid) {
          this.byIdentity.delete(p.identity);
          changes.push({ kind: "left", participant: p });
        }
        continue;
      }
      if (known !== undefined && known.sid === p.sid && p.version <= known.version) continue;
      if (this.departed.has(p.sid)) continue;
      if (known !== undefined && known.sid !== p.sid) {
        // The identity came back as a new participant (a reloaded page, a rejoin): the one it replaced has
        // left, whether or not the server says so, as `reset` reports it.
        this.departed.add(known.sid);
        changes.push({ kind: "left", participant: { ...known, state: "disconnected" } });
      }
      this.byIdentity.set(p.identity, p);
      changes.push({ kind: known !== undefined && known.sid === p.sid ? "updated" : "joined", participant: p });
    }
    return changes;
  }

  clear(): void {
    this.byIdentity.clear();
  }

  /**
   * An update about this client's identity. Only one about its own sid counts: another sid is a connection
   * that replaces this one (the server then sends `leave` DUPLICATE_IDENTITY) or an old one of this client
   * leaving; neither is someone else in the room. A DISCONNECTED one is left to the `leave` that follows.
   */
  private applyLocal(info: ParticipantInfo): RosterChange | undefined {
    const self = this.self;
    if (self === undefined || info.sid !== self.sid || info.version <= self.version) return undefined;
    if (info.state === ParticipantState.DISCONNECTED) return undefined;
    this.self = toParticipant(info);
    return { kind: "local", participant: this.self };
  }
}
