import { StoredSessionSchema, type StoredSession } from "../../gen/volly/signaling/v1/internal_pb.js";
import { pack, unpack, type Packed } from "../store/compact-records.js";
import type { Store } from "../store/store.js";

/**
 * The session records this node holds (metadata only, as written to the store). The node re-registers
 * them when the store lost them, and ends any record of its own the store still lists but the ledger
 * does not (an end that failed while the store was down). Records are kept packed: they are read only by
 * that periodic sync, and a node holds one per connection.
 */
export class SessionLedger {
  private readonly sessions = new Map<string, Packed<StoredSession>>();

  get size(): number {
    return this.sessions.size;
  }

  all(): StoredSession[] {
    return [...this.sessions.values()].map((s) => unpack(StoredSessionSchema, s));
  }

  has(id: string): boolean {
    return this.sessions.has(id);
  }

  /**
   * `store` with its session writes recorded here. A session enters the ledger before the store write
   * (so an audit running meanwhile does not end it) and leaves it before the end is written.
   */
  track(store: Store): Store {
    const tracked = Object.create(store) as Store;
    tracked.createSession = async (session) => {
      this.sessions.set(session.sessionId, pack(StoredSessionSchema, session));
      try {
        await store.createSession(session);
      } catch (e) {
        this.sessions.delete(session.sessionId);
        throw e;
      }
    };
    tracked.updateSession = async (session) => {
      if (this.sessions.has(session.sessionId)) this.sessions.set(session.sessionId, pack(StoredSessionSchema, session));
      await store.updateSession(session);
    };
    tracked.endSession = async (id, expired) => {
      this.sessions.delete(id);
      await store.endSession(id, expired);
    };
    return tracked;
  }
}
