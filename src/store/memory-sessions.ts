import { StoredSessionSchema, type StoredSession } from "../../gen/volly/signaling/v1/internal_pb.js";
import { pack, unpack, type Packed } from "./compact-records.js";
import type { SessionStats, SessionStore } from "./store.js";

/** A session as kept: packed (one per connection, read rarely), with the node the counts filter on. */
interface Kept {
  readonly nodeId: string;
  readonly record: Packed<StoredSession>;
}

function keep(session: StoredSession): Kept {
  return { nodeId: session.nodeId, record: pack(StoredSessionSchema, session) };
}

/**
 * Session records and counters in process memory. Sessions of a node that is known to be dead do not
 * count as active (as in Redis), until the node is reaped and they end.
 */
export class MemorySessions implements SessionStore {
  private readonly sessions = new Map<string, Kept>();
  /** Sessions a reap ended (counted already), until they expire: see `restoreSession`. */
  private readonly reaped = new Map<string, number>();
  private total = 0;
  private expired = 0;
  private rekeys = 0;

  constructor(private readonly isDeadNode: (nodeId: string) => boolean = () => false) {}

  async createSession(session: StoredSession): Promise<void> {
    this.sessions.set(session.sessionId, keep(session));
    this.total++;
  }

  async updateSession(session: StoredSession): Promise<void> {
    if (this.sessions.has(session.sessionId)) this.sessions.set(session.sessionId, keep(session));
  }

  async getSession(id: string): Promise<StoredSession | undefined> {
    const s = this.sessions.get(id);
    return s ? unpack(StoredSessionSchema, s.record) : undefined;
  }

  async listSessions(nodeId?: string): Promise<StoredSession[]> {
    return [...this.sessions.values()]
      .filter((s) => (nodeId === undefined ? !this.isDeadNode(s.nodeId) : s.nodeId === nodeId))
      .map((s) => unpack(StoredSessionSchema, s.record));
  }

  async restoreSession(session: StoredSession): Promise<void> {
    if (this.sessions.has(session.sessionId)) return;
    this.sessions.set(session.sessionId, keep(session));
    if (!this.reaped.delete(session.sessionId)) this.total++;
  }

  async endSession(id: string, expired: boolean): Promise<void> {
    this.reaped.delete(id);
    if (this.sessions.delete(id) && expired) this.expired++;
  }

  /** Ends the sessions of a reaped node (not expired), remembering them until they would have expired. */
  endReaped(sessions: readonly StoredSession[], now: number): void {
    for (const [id, until] of this.reaped) if (until <= now) this.reaped.delete(id);
    for (const s of sessions) {
      if (this.sessions.delete(s.sessionId)) this.reaped.set(s.sessionId, Number(s.expiresAt));
    }
  }

  async countRekey(): Promise<void> {
    this.rekeys++;
  }

  async sessionStats(): Promise<SessionStats> {
    const active = [...this.sessions.values()].filter((s) => !this.isDeadNode(s.nodeId)).length;
    return { activeSessions: active, expiredSessions: this.expired, totalSessions: this.total, rekeys: this.rekeys };
  }
}
