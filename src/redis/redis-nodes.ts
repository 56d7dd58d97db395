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
  /**
   * Per node id: the last heartbeat number sent and the last one Redis confirmed. A heartbeat that finds an
   * older number than the confirmed one in a `node:<id>` that still exists reports the node lost (false), so
   * it re-registers as after an empty restart: Redis came back with older data, and a `node:<id>` saved up to
   * 6 s before a snapshot otherwise hides that. One compare in a script the heartbeat runs anyway, on every
   * Redis and any ACL that lets the node run scripts (INFO's `run_id` changes on every restart, also one that
   * lost nothing, and `-@dangerous` refuses INFO). It cannot see a rollback that lost no heartbeat (AOF `everysec` losing
   * its last second between two beats): the delivery cursors report the ids that then repeat (see
   * `IdRegressions`).
   */
  private readonly beats = new Map<string, { sent: number; confirmed: number }>();

  constructor(private readonly ctx: RedisContext) {}

  async heartbeatNode(node: NodeInfo, ttlMs: number): Promise<boolean> {
    const beats = this.beats.get(node.nodeId) ?? { sent: 0, confirmed: 0 };
    this.beats.set(node.nodeId, beats);
    // Strictly increasing even if the wall clock steps back; from the clock so that a restarted process
    // with the same node id starts above its predecessor's numbers.
    const beat = Math.max(beats.sent + 1, Number(node.updatedAt));
    beats.sent = beat;
    const args = [node.nodeId, toBinary(NodeInfoSchema, node), Math.max(1, Math.round(ttlMs)), beat, beats.confirmed];
    const alive = reply.number(await this.ctx.run(nodeScripts.heartbeat, args, Number(node.updatedAt)));
    beats.confirmed = beat;
    return alive === 1;
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
