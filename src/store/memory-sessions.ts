import { clone } from "@bufbuild/protobuf";
import { StoredSessionSchema, type StoredSession } from "../../gen/volly/signaling/v1/internal_pb.js";
import type { SessionStats, SessionStore } from "./store.js";

/**
 * Session records and counters in process memory. Sessions of a node that is known to be dead do not
 * count as active (as in Redis), until the node is reaped and they end.
 */
export class MemorySessions implements SessionStore {
  private readonly sessions = new Map<string, StoredSession>();
  private total = 0;
  private expired = 0;
  private rekeys = 0;

  constructor(private readonly isDeadNode: (nodeId: string) => boolean = () => false) {}

  async createSession(session: StoredSession): Promise<void> {
    this.sessions.set(session.sessionId, clone(StoredSessionSchema, session));
    this.total++;
  }

  async updateSession(session: StoredSession): Promise<void> {
    if (this.sessions.has(session.sessionId)) this.sessions.set(session.sessionId, clone(StoredSessionSchema, session));
  }

  async getSession(id: string): Promise<StoredSession | undefined> {
    const s = this.sessions.get(id);
    return s ? clone(StoredSessionSchema, s) : undefined;
  }

  async listSessions(nodeId?: string): Promise<StoredSession[]> {
    return [...this.sessions.values()]
      .filter((s) => (nodeId === undefined ? !this.isDeadNode(s.nodeId) : s.nodeId === nodeId))
      .map((s) => clone(StoredSessionSchema, s));
  }

  async restoreSession(session: StoredSession): Promise<void> {
    if (this.sessions.has(session.sessionId)) return;
    this.sessions.set(session.sessionId, clone(StoredSessionSchema, session));
    this.total++;
  }

  async endSession(id: string, expired: boolean): Promise<void> {
    if (this.sessions.delete(id) && expired) this.expired++;
  }

  async countRekey(): Promise<void> {
    this.rekeys++;
  }

  async sessionStats(): Promise<SessionStats> {
    const active = [...this.sessions.values()].filter((s) => !this.isDeadNode(s.nodeId)).length;
    return { activeSessions: active, expiredSessions: this.expired, totalSessions: this.total, rekeys: this.rekeys };
  }
}
