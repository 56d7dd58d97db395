import { ParticipantState, type ParticipantInfo } from "../../gen/volly/signaling/v1/models_pb.js";

/** Another participant of the room, as the SDK reports it. */
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

/** A change the roster applied. */
export type RosterChange = { kind: "joined" | "updated" | "left"; participant: VollyParticipant };

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
 * Who else is in the room: set from `join`, kept current by `participant_update`s. A resumed connection keeps
 * its roster, because the replay after `reconnect` brings every update it missed in order. Stale updates (lower
 * version for the same sid) are ignored; a new sid for an identity is a new participant.
 */
export class ParticipantRoster {
  private readonly byIdentity = new Map<string, VollyParticipant>();

  /** Everyone currently in the room (except this client). */
  list(): VollyParticipant[] {
    return [...this.byIdentity.values()];
  }

  get(identity: string): VollyParticipant | undefined {
    return this.byIdentity.get(identity);
  }

  /** Replaces the roster (a `join`): returns who appeared and who vanished compared with before. */
  reset(others: readonly ParticipantInfo[]): RosterChange[] {
    const next = new Map(others.map((p) => [p.identity, toParticipant(p)] as const));
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
      const p = toParticipant(info);
      const known = this.byIdentity.get(p.identity);
      if (p.state === "disconnected") {
        if (known !== undefined && known.sid === p.sid) {
          this.byIdentity.delete(p.identity);
          changes.push({ kind: "left", participant: p });
        }
        continue;
      }
      if (known !== undefined && known.sid === p.sid && p.version <= known.version) continue;
      this.byIdentity.set(p.identity, p);
      changes.push({ kind: known !== undefined && known.sid === p.sid ? "updated" : "joined", participant: p });
    }
    return changes;
  }

  clear(): void {
    this.byIdentity.clear();
  }
}
