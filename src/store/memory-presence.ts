import { fromOffset, toOffset } from "../compact-time.js";
import { LAST_SEEN_TTL_MS, type Presence, type PresenceStore } from "./store.js";

/** Entries looked at for pruning per change (online or offline): the whole map is covered over time, at a
 * constant cost per call. */
const PRUNE_STEP = 4;

/**
 * Identities remembered at most (about 180 bytes each): past it, the one seen longest ago is forgotten first
 * and reads as never seen. Without a cap a stream of new identities would hold up to 30 days of them, and a
 * Map cannot pass 2^24 entries: at that size every new identity's join would fail. Identities online now
 * are never forgotten.
 */
export const MAX_REMEMBERED_IDENTITIES = 1_000_000;

/** A further connection of an identity: when it stops counting as online (an offset) and its node. */
interface More {
  until: number;
  node: string;
}

/**
 * One identity's presence. Almost every identity has one connection, so that one is kept in fields of the
 * entry; a Map (about 200 bytes even when small) is made only for a second concurrent connection. Times are
 * offsets (`compact-time.ts`), not epoch milliseconds.
 */
interface Entry {
  /** The first connection's sid, when it stops counting as online, and its node; sid "" when none. */
  sid: string;
  until: number;
  node: string;
  more: Map<string, More> | undefined;
  lastSeen: number;
}

/**
 * Presence in process memory. An identity is online while any of its connections is unexpired and on a
 * node that is not dead (`isDead`, the store's own record of nodes). An identity with no connection left is
 * forgotten `LAST_SEEN_TTL_MS` after it was last seen, as Redis expires `last_seen:<identity>`: every
 * change also looks at a few entries in turn, so a stream of distinct identities cannot grow the map for
 * ever, and at most `maxRemembered` are kept. The map is in the order identities went offline (an entry moves
 * to the end when it does), so the first offline entry is the one seen longest ago.
 */
export class MemoryPresence implements PresenceStore {
  private readonly entries = new Map<string, Entry>();
  private pruning: Iterator<[string, Entry]> | undefined;

  constructor(
    private readonly isDead: (nodeId: string) => boolean,
    private readonly maxRemembered = MAX_REMEMBERED_IDENTITIES,
  ) {}

  async setOnline(identity: string, sid: string, ttlMs: number, now: number, nodeId: string): Promise<void> {
    const entry = this.entry(identity);
    const until = toOffset(now + ttlMs);
    // A sid lives in exactly one place: the first slot, or the map.
    if (entry.sid === sid || (entry.sid === "" && !entry.more?.has(sid))) {
      entry.sid = sid;
      entry.until = until;
      entry.node = nodeId;
    } else {
      (entry.more ??= new Map()).set(sid, { until, node: nodeId });
    }
    entry.lastSeen = toOffset(now);
    // After the insertion: a Map that grows swaps its table, and an iterator keeps the old ones alive until it
    // moves on, so a node where people only joined for a while would hold every table the map outgrew.
    this.prune(now);
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
    if (entry.sid === "" && entry.more === undefined) {
      // Last seen now: to the end of the order.
      this.entries.delete(identity);
      this.entries.set(identity, entry);
    }
    this.prune(now);
  }

  async setParticipantOffline(identity: string, sid: string, now: number): Promise<void> {
    const entry = this.entries.get(identity);
    if (!entry) return;
    const prefix = `${sid}.`;
    const connections = [entry.sid, ...(entry.more?.keys() ?? [])].filter((c) => c.startsWith(prefix));
    for (const connection of connections) await this.setOffline(identity, connection, now);
  }

  /**
   * Makes room for one more identity: forgets the one seen longest ago. Online entries met at the front go to
   * the end (they are the latest in no order, but must not be met again at once), so this stays cheap however
   * many long-lived connections there are.
   */
  private forgetOldest(): void {
    // Bounded: with every identity online (connections bound those) nothing is forgotten, and the map grows.
    let left = this.entries.size;
    for (const [identity, entry] of this.entries) {
      if (left-- === 0) return;
      this.entries.delete(identity);
      if (entry.sid === "" && entry.more === undefined) return;
      this.entries.set(identity, entry);
    }
  }

  /** Looks at the next `PRUNE_STEP` entries (a Map's iterator survives deletions) and drops forgotten ones. */
  private prune(now: number): void {
    const forgetBefore = toOffset(now - LAST_SEEN_TTL_MS);
    for (let i = 0; i < PRUNE_STEP; i++) {
      this.pruning ??= this.entries.entries();
      const next = this.pruning.next();
      if (next.done === true) {
        this.pruning = undefined;
        return;
      }
      const [identity, entry] = next.value;
      if (entry.sid === "" && entry.more === undefined && entry.lastSeen < forgetBefore) this.entries.delete(identity);
    }
  }

  async dropNodePresence(nodeId: string, lastSeen: number | undefined): Promise<void> {
    for (const entry of this.entries.values()) {
      let dropped = false;
      if (entry.sid !== "" && entry.node === nodeId) {
        entry.sid = "";
        entry.until = 0;
        dropped = true;
      }
      if (entry.more) {
        for (const [sid, more] of entry.more) {
          if (more.node !== nodeId) continue;
          entry.more.delete(sid);
          dropped = true;
        }
        if (entry.more.size === 0) entry.more = undefined;
      }
      if (dropped && lastSeen !== undefined) entry.lastSeen = Math.max(entry.lastSeen, toOffset(lastSeen));
    }
  }

  async getPresence(identities: readonly string[], now: number): Promise<Presence[]> {
    const at = toOffset(now);
    const counts = (until: number, node: string) => until > at && !this.isDead(node);
    return identities.map((identity) => {
      const entry = this.entries.get(identity);
      if (!entry) return { identity, online: false, lastSeen: 0 };
      let online = false;
      if (entry.sid !== "") {
        if (counts(entry.until, entry.node)) online = true;
        else {
          entry.sid = "";
          entry.until = 0;
        }
      }
      if (entry.more) {
        for (const [sid, more] of entry.more) {
          if (counts(more.until, more.node)) online = true;
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
      if (this.entries.size >= this.maxRemembered) this.forgetOldest();
      entry = { sid: "", until: 0, node: "", more: undefined, lastSeen: 0 };
      this.entries.set(identity, entry);
    }
    return entry;
  }
}
