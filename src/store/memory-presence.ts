import type { Presence, PresenceStore } from "./store.js";

interface Entry {
  /** Connection sid → online until (ms). */
  connections: Map<string, number>;
  lastSeen: number;
}

/** Presence in process memory. An identity is online while any of its connections is unexpired. */
export class MemoryPresence implements PresenceStore {
  private readonly entries = new Map<string, Entry>();

  async setOnline(identity: string, sid: string, ttlMs: number, now: number): Promise<void> {
    const entry = this.entry(identity);
    entry.connections.set(sid, now + ttlMs);
    entry.lastSeen = now;
  }

  async setOffline(identity: string, sid: string, now: number): Promise<void> {
    const entry = this.entry(identity);
    entry.connections.delete(sid);
    entry.lastSeen = now;
  }

  async getPresence(identities: readonly string[], now: number): Promise<Presence[]> {
    return identities.map((identity) => {
      const entry = this.entries.get(identity);
      if (!entry) return { identity, online: false, lastSeen: 0 };
      let online = false;
      for (const [sid, until] of entry.connections) {
        if (until > now) online = true;
        else entry.connections.delete(sid);
      }
      return { identity, online, lastSeen: online ? now : entry.lastSeen };
    });
  }

  private entry(identity: string): Entry {
    let entry = this.entries.get(identity);
    if (!entry) {
      entry = { connections: new Map(), lastSeen: 0 };
      this.entries.set(identity, entry);
    }
    return entry;
  }
}
