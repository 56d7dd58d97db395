import { create } from "@bufbuild/protobuf";
import { StoredParticipantSchema, StoredSessionSchema, type StoredParticipant, type StoredSession } from "../../gen/volly/signaling/v1/internal_pb.js";
import { ParticipantInfoSchema, RoomSchema, type Room } from "../../gen/volly/signaling/v1/models_pb.js";
import type { LocalParticipant } from "../../src/room/local-participants.js";
import type { BackendObserver } from "../../src/store/create-backend.js";
import type { MailboxLimits, Store } from "../../src/store/store.js";

/** A store under test and how to dispose of it (and of everything it wrote). */
export interface StoreFixture {
  readonly store: Store;
  close(): Promise<void>;
}

/** A room record with test defaults. */
export function room(name: string, o: Partial<Pick<Room, "emptyTimeout" | "departureTimeout" | "maxParticipants" | "metadata">> = {}): Room {
  return create(RoomSchema, {
    sid: `RM_${name}`, name, emptyTimeout: o.emptyTimeout ?? 300, departureTimeout: o.departureTimeout ?? 0, maxParticipants: o.maxParticipants ?? 0,
    creationTime: 1000n, metadata: o.metadata ?? "",
  });
}

/** A participant record (connected on `nodeId`). */
export function participant(roomName: string, identity: string, sid: string, nodeId = "node-a"): StoredParticipant {
  return create(StoredParticipantSchema, {
    info: create(ParticipantInfoSchema, { sid, identity, name: identity.toUpperCase(), version: 1, metadata: `{"who":"${identity}"}` }),
    room: roomName,
    nodeId,
    awayUntil: 0n,
  });
}

/** A session record of `nodeId`. */
export function session(id: string, nodeId = "node-a", expiresAt = Date.now() + 60_000): StoredSession {
  return create(StoredSessionSchema, {
    sessionId: id, identity: "alice", room: "r", participantSid: "PA_alice", algorithm: "ML-KEM-768", nodeId,
    createdAt: BigInt(Date.now()), expiresAt: BigInt(expiresAt), rekeys: 0, state: "active",
  });
}

/** Polls until `check` holds. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const utf8 = new TextDecoder();

/** A participant connection that records what it is given (id and text), in arrival order. */
export function recorder(sid: string, got: Array<[bigint, string]>): LocalParticipant {
  return { sid, identity: sid, room: "", deliver: (id, response) => got.push([id, utf8.decode(response)]), catchUp: () => {}, disconnect: () => {}, held: () => undefined };
}

/** Counts the commands a backend sends, by name. */
export class CommandCounter implements BackendObserver {
  readonly counts = new Map<string, number>();
  command(name: string): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }
  up(): void {}
  of(name: string): number {
    return this.counts.get(name) ?? 0;
  }
}

const limitsByCount = new Map<number, MailboxLimits>();

/**
 * Mailbox limits of `messages` messages and no byte bound that a test would reach, the same object for the
 * same count (a node always passes the same object; a batch starts anew when they differ).
 */
export function limitsOf(messages: number, awayBytes = 2 ** 40): MailboxLimits {
  if (awayBytes !== 2 ** 40) return { messages, awayBytes };
  let limits = limitsByCount.get(messages);
  if (limits === undefined) {
    limits = { messages, awayBytes };
    limitsByCount.set(messages, limits);
  }
  return limits;
}
