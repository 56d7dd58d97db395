import { fromOffset, toOffset } from "../compact-time.js";
import type { Presence, PresenceStore } from "./store.js";

/**
 * One identity's presence. Almost every identity has one connection, so that one is kept in two fields;
 * a Map (about 200 bytes even when small) is made only for a second concurrent connection. Times are
 * offsets (`compact-time.ts`), not epoch milliseconds.
 */
interface Entry {
  /** The first connection's sid and when it stops counting as online (ms); sid "" when none. */
  sid: string;
  until: number;
  /** Further connections: sid → online until (ms). */
  more: Map<string, number> | undefined;
  lastSeen: number;
}

/** Presence in process memory. An identity is online while any of its connections is unexpired. */
export class MemoryPresence implements PresenceStore {
  private readonly entries = new Map<string, Entry>();

  async setOnline(identity: string, sid: string, ttlMs: number, now: number): Promise<void> {
    const entry = this.entry(identity);
    // A sid lives in exactly one place: the first slot, or the map.
    if (entry.sid === sid || (entry.sid === "" && !entry.more?.has(sid))) {
      entry.sid = sid;
      entry.until = toOffset(now + ttlMs);
    } else {
      (entry.more ??= new Map()).set(sid, toOffset(now + ttlMs));
    }
    entry.lastSeen = toOffset(now);
  }

  async setOffline(identity: string, sid: string, now: number): Promise<void> {
    const entry = this.entry(identity);
    if (entry.sid === sid) {
      entry.sid = "";
      entry.until = 0;
    } else {
      entry.more?.delete(sid);
    }
    if (entry.more?.size === 0) entry.more = undefined;
    entry.lastSeen = toOffset(now);
  }

  async getPresence(identities: readonly string[], now: number): Promise<Presence[]> {
    const at = toOffset(now);
    return identities.map((identity) => {
      const entry = this.entries.get(identity);
      if (!entry) return { identity, online: false, lastSeen: 0 };
      let online = false;
      if (entry.sid !== "") {
        if (entry.until > at) online = true;
        else {
          entry.sid = "";
          entry.until = 0;
        }
      }
      if (entry.more) {
        for (const [sid, until] of entry.more) {
          if (until > at) online = true;
          else entry.more.delete(sid);
        }
        if (entry.more.size === 0) entry.more = undefined;
      }
      return { identity, online, lastSeen: online ? now : fromOffset(entry.lastSeen) };
    });
  }

  private entry(identity: string): Entry {
    let entry = this.entries.get(identity);
    if (!entry) {
      entry = { sid: "", until: 0, more: undefined, lastSeen: 0 };
      this.entries.set(identity, entry);
    }
    return entry;
  }
}
