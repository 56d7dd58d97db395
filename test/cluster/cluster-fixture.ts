import { after, before } from "node:test";
import type { ChannelKind } from "../helpers/channels.js";
import { NodeProcess } from "../helpers/node-process.js";
import { deletePrefix, REDIS_URL, RedisServer, requireRedis, uniquePrefix } from "../helpers/redis.js";
import { TestClient } from "../helpers/signal-client.js";

/** Server nodes (processes) sharing one Redis under a prefix of their own. */
export class Cluster {
  readonly nodes: NodeProcess[] = [];

  constructor(readonly redisUrl: string = REDIS_URL, readonly prefix: string = uniquePrefix("cluster")) {}

  /** Starts a node of this cluster; `env` overrides the defaults. */
  async add(name: string, env: Record<string, string> = {}): Promise<NodeProcess> {
    const node = await NodeProcess.start({ REDIS_URL: this.redisUrl, REDIS_PREFIX: this.prefix, ...env }, name);
    this.nodes.push(node);
    return node;
  }

  /** Kills every node and deletes every key the cluster wrote. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    await deletePrefix(this.redisUrl, this.prefix);
  }
}

/**
 * Two nodes on the machine's Redis for the enclosing `describe`: started before its tests, killed (their
 * keys deleted) after. Read `nodes.a` and `nodes.b` inside the tests.
 */
export function twoNodes(): { readonly cluster: Cluster; readonly a: NodeProcess; readonly b: NodeProcess } {
  const cluster = new Cluster();
  const started: NodeProcess[] = [];
  before(async () => {
    await requireRedis(cluster.redisUrl);
    started.push(...(await Promise.all([cluster.add("a"), cluster.add("b")])));
  });
  after(() => cluster.destroy());
  return {
    cluster,
    get a() {
      return started[0] as NodeProcess;
    },
    get b() {
      return started[1] as NodeProcess;
    },
  };
}

/**
 * Two nodes on a Redis of their own for the enclosing `describe`, which may pause, stop and restart it: started
 * before its tests, nodes and Redis killed after (`stop` thaws a paused Redis first). Read `nodes.redis`,
 * `nodes.cluster`, `nodes.a` and `nodes.b` inside the tests.
 */
export function twoNodesOnOwnRedis(): { readonly redis: RedisServer; readonly cluster: Cluster; readonly a: NodeProcess; readonly b: NodeProcess } {
  let redis: RedisServer | undefined;
  let cluster: Cluster | undefined;
  const started: NodeProcess[] = [];
  before(async () => {
    redis = await RedisServer.start();
    cluster = new Cluster(redis.url);
    started.push(...(await Promise.all([cluster.add("a"), cluster.add("b")])));
  });
  after(async () => {
    redis?.unpause();
    await cluster?.destroy().catch(() => {});
    await redis?.stop();
  });
  return {
    get redis() {
      return redis as RedisServer;
    },
    get cluster() {
      return cluster as Cluster;
    },
    get a() {
      return started[0] as NodeProcess;
    },
    get b() {
      return started[1] as NodeProcess;
    },
  };
}

/** A participant over `kind` to `node`, PQ on (ML-KEM-768, ephemeral key in `pq_handshake`). */
export function join(node: NodeProcess, kind: ChannelKind, identity: string, room: string): Promise<TestClient> {
  return TestClient.connect({ kind, port: node.port, identity, room, pq: "ML-KEM-768" });
}

/** Resumes participant `sid` on `node` (fresh PQ handshake) after `lastMessageId`. */
export function resume(node: NodeProcess, kind: ChannelKind, identity: string, room: string, sid: string, lastMessageId: bigint): Promise<TestClient> {
  const params = { reconnect: "1", sid, last_message_id: String(lastMessageId) };
  const grpcLike = kind === "grpc-js" || kind === "connect" || kind === "connect-grpc";
  return TestClient.connect({
    kind,
    port: node.port,
    identity,
    room,
    pq: "ML-KEM-768",
    ...(grpcLike
      ? { headers: { "volly-reconnect": "1", "volly-sid": sid, "volly-last-message-id": String(lastMessageId) } }
      : { query: params }),
  });
}

/** The payload of a data message as text. */
export function text(payload: Uint8Array): string {
  return new TextDecoder().decode(payload);
}
