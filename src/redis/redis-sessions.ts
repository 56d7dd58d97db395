import type { StoredSession } from "../../gen/volly/signaling/v1/internal_pb.js";
import type { Presence, PresenceStore, SessionStats, SessionStore } from "../store/store.js";
import { sessionScripts } from "./lua/session-scripts.js";
import { reply } from "./lua-script.js";
import { decodeSession, sessionArgs } from "./redis-codec.js";
import type { RedisContext } from "./redis-context.js";

/**
 * Session records (`session:<id>`, `node:<id>:sessions`, `stats`) and presence (`presence:<identity>`,
 * `last_seen:<identity>`) in Redis. `active_sessions` counts the live records of nodes that are not dead,
 * so it is right for the whole cluster even before a dead node is reaped.
 */
export class RedisSessions implements SessionStore, PresenceStore {
  constructor(private readonly ctx: RedisContext) {}

  async createSession(session: StoredSession): Promise<void> {
    await this.ctx.run(sessionScripts.create, sessionArgs(session));
  }

  async updateSession(session: StoredSession): Promise<void> {
    await this.ctx.run(sessionScripts.update, sessionArgs(session));
  }

  async restoreSession(session: StoredSession): Promise<void> {
    await this.ctx.run(sessionScripts.restore, sessionArgs(session));
  }

  async getSession(id: string): Promise<StoredSession | undefined> {
    const fields = await this.ctx.timed("hgetall", () => this.ctx.redis.hgetall(this.ctx.keys.session(id)));
    return Object.keys(fields).length === 0 ? undefined : decodeSession(id, new Map(Object.entries(fields)));
  }

  async listSessions(nodeId?: string): Promise<StoredSession[]> {
    const rows = reply.array(await this.ctx.run(sessionScripts.list, [nodeId ?? ""]));
    return rows.map((row) => {
      const [id, flat] = reply.array(row);
      return decodeSession(reply.string(id), reply.fields(flat));
    });
  }

  async endSession(id: string, expired: boolean): Promise<void> {
    await this.ctx.run(sessionScripts.end, [id, expired ? "1" : "0"]);
  }

  async countRekey(): Promise<void> {
    await this.ctx.timed("hincrby", () => this.ctx.redis.hincrby(this.ctx.keys.stats, "rekeys", 1));
  }

  async sessionStats(): Promise<SessionStats> {
    const [active, total, expired, rekeys] = reply.array(await this.ctx.run(sessionScripts.stats, [])).map(reply.number);
    return { activeSessions: active ?? 0, totalSessions: total ?? 0, expiredSessions: expired ?? 0, rekeys: rekeys ?? 0 };
  }

  async setOnline(identity: string, connection: string, ttlMs: number, now: number, nodeId: string): Promise<void> {
    await this.ctx.run(sessionScripts.online, [identity, connection, now + ttlMs, ttlMs, nodeId], now);
  }

  async setOffline(identity: string, connection: string, now: number): Promise<void> {
    await this.ctx.run(sessionScripts.offline, [identity, connection], now);
  }

  async setParticipantOffline(identity: string, sid: string, now: number): Promise<void> {
    await this.ctx.run(sessionScripts.offlineParticipant, [identity, `${sid}.`], now);
  }

  async dropNodePresence(nodeId: string, lastSeen: number | undefined): Promise<void> {
    await this.ctx.run(sessionScripts.dropNode, [nodeId, lastSeen === undefined ? "" : String(lastSeen)]);
  }

  async getPresence(identities: readonly string[], now: number): Promise<Presence[]> {
    if (identities.length === 0) return [];
    const rows = reply.array(await this.ctx.run(sessionScripts.presence, identities, now));
    return identities.map((identity, i) => {
      const [online, lastSeen] = reply.array(rows[i]);
      const isOnline = reply.number(online) === 1;
      return { identity, online: isOnline, lastSeen: isOnline ? now : reply.number(lastSeen) };
    });
  }
}
