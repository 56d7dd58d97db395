import { randomUUID } from "node:crypto";
import { clone } from "@bufbuild/protobuf";
import { NodeInfoSchema, type NodeInfo } from "../../gen/volly/signaling/v1/internal_pb.js";
import type { Clock } from "../cluster/cluster-clock.js";
import type { MemorySessions } from "./memory-sessions.js";
import type { NodeStore, ParticipantStore, SessionStore } from "./store.js";

/** The node registry and locks in process memory (a cluster of one). */
export class MemoryNodes implements NodeStore {
  private readonly nodes = new Map<string, { info: NodeInfo; until: number }>();
  private readonly locks = new Map<string, { token: string; until: number }>();

  constructor(
    private readonly participants: Pick<ParticipantStore, "listParticipantsOnNode" | "markAway">,
    private readonly sessions: Pick<SessionStore, "listSessions"> & Pick<MemorySessions, "endReaped">,
    private readonly clock: Clock,
  ) {}

  /** Whether `nodeId` registered and its heartbeat lapsed (an own property: not part of the store). */
  readonly isDead = (nodeId: string): boolean => {
    const entry = this.nodes.get(nodeId);
    return entry !== undefined && entry.until <= this.clock.now();
  };

  async heartbeatNode(node: NodeInfo, ttlMs: number): Promise<boolean> {
    const now = Number(node.updatedAt);
    const before = this.nodes.get(node.nodeId);
    this.nodes.set(node.nodeId, { info: clone(NodeInfoSchema, node), until: now + ttlMs });
    return before !== undefined && before.until > now;
  }

  async listNodes(now: number): Promise<NodeInfo[]> {
    return [...this.nodes.values()].filter((n) => n.until > now).map((n) => clone(NodeInfoSchema, n.info));
  }

  async listDeadNodes(now: number): Promise<NodeInfo[]> {
    return [...this.nodes.values()].filter((n) => n.until <= now).map((n) => clone(NodeInfoSchema, n.info));
  }

  async removeNode(nodeId: string): Promise<void> {
    const entry = this.nodes.get(nodeId);
    if (entry) entry.until = 0;
  }

  async reapNode(nodeId: string, awayUntil: number): Promise<{ participants: number; sessions: number } | undefined> {
    const entry = this.nodes.get(nodeId);
    if (!entry || entry.until > this.clock.now()) return undefined;
    this.nodes.delete(nodeId);
    let participants = 0;
    for (const p of await this.participants.listParticipantsOnNode(nodeId)) {
      if (p.awayUntil > 0n || !p.info) continue;
      if (await this.participants.markAway(p.room, p.info.identity, p.info.sid, awayUntil, nodeId)) participants++;
    }
    const sessions = await this.sessions.listSessions(nodeId);
    this.sessions.endReaped(sessions, this.clock.now());
    return { participants, sessions: sessions.length };
  }

  async tryLock(name: string, ttlMs: number): Promise<string | undefined> {
    const now = this.clock.now();
    const held = this.locks.get(name);
    if (held && held.until > now) return undefined;
    const token = randomUUID();
    this.locks.set(name, { token, until: now + ttlMs });
    return token;
  }

  async unlock(name: string, token: string): Promise<void> {
    if (this.locks.get(name)?.token === token) this.locks.delete(name);
  }
}
