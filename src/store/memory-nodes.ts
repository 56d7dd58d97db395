import { randomUUID } from "node:crypto";
import { clone } from "@bufbuild/protobuf";
import { NodeInfoSchema, type NodeInfo } from "../../gen/volly/signaling/v1/internal_pb.js";
import type { NodeStore } from "./store.js";

/** The node registry and locks in process memory (a cluster of one). */
export class MemoryNodes implements NodeStore {
  private readonly nodes = new Map<string, { info: NodeInfo; until: number }>();
  private readonly locks = new Map<string, { token: string; until: number }>();

  async heartbeatNode(node: NodeInfo, ttlMs: number): Promise<void> {
    this.nodes.set(node.nodeId, { info: clone(NodeInfoSchema, node), until: Number(node.updatedAt) + ttlMs });
  }

  async listNodes(now: number): Promise<NodeInfo[]> {
    return [...this.nodes.values()].filter((n) => n.until > now).map((n) => clone(NodeInfoSchema, n.info));
  }

  async removeNode(nodeId: string): Promise<void> {
    this.nodes.delete(nodeId);
  }

  async tryLock(name: string, ttlMs: number): Promise<string | undefined> {
    const now = Date.now();
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
