import { randomUUID } from "node:crypto";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { NodeInfoSchema, type NodeInfo } from "../../gen/volly/signaling/v1/internal_pb.js";
import type { NodeStore } from "../store/store.js";
import { nodeScripts } from "./lua/node-scripts.js";
import { reply } from "./lua-script.js";
import type { RedisContext } from "./redis-context.js";

/**
 * The node registry and locks in Redis: `node:<id>` exists while a node's heartbeat is current (Redis
 * expires it, so clocks of different hosts do not matter), `nodes` remembers every node until it is
 * reaped, `lock:<name>` are SET NX PX locks released by compare-and-delete.
 */
export class RedisNodes implements NodeStore {
  constructor(private readonly ctx: RedisContext) {}

  async heartbeatNode(node: NodeInfo, ttlMs: number): Promise<boolean> {
    const args = [node.nodeId, toBinary(NodeInfoSchema, node), Math.max(1, Math.round(ttlMs))];
    return reply.number(await this.ctx.run(nodeScripts.heartbeat, args, Number(node.updatedAt))) === 1;
  }

  async listNodes(_now: number): Promise<NodeInfo[]> {
    return this.list(true);
  }

  async listDeadNodes(_now: number): Promise<NodeInfo[]> {
    return this.list(false);
  }

  async removeNode(nodeId: string): Promise<void> {
    await this.ctx.run(nodeScripts.remove, [nodeId]);
  }

  async reapNode(nodeId: string, awayUntil: number): Promise<{ participants: number; sessions: number } | undefined> {
    const r = await this.ctx.run(nodeScripts.reap, [nodeId, String(awayUntil)]);
    if (r === null) return undefined;
    const [participants, sessions] = reply.array(r).map(reply.number);
    return { participants: participants ?? 0, sessions: sessions ?? 0 };
  }

  async tryLock(name: string, ttlMs: number): Promise<string | undefined> {
    const token = randomUUID();
    const ok = await this.ctx.timed("set", () => this.ctx.redis.set(this.ctx.keys.lock(name), token, "PX", ttlMs, "NX"));
    return ok === "OK" ? token : undefined;
  }

  async unlock(name: string, token: string): Promise<void> {
    await this.ctx.run(nodeScripts.unlock, [this.ctx.keys.lock(name), token]);
  }

  private async list(alive: boolean): Promise<NodeInfo[]> {
    const rows = reply.array(await this.ctx.run(nodeScripts.list, [alive ? "1" : "0"]));
    return rows.map((b) => fromBinary(NodeInfoSchema, reply.bytes(b))).sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  }
}
