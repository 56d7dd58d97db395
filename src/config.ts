import { hostname } from "node:os";
import { readRedis } from "./config-redis.js";
import type { ApiKeys } from "./auth/api-keys.js";
import { DEV_API_KEY, DEV_API_SECRET, readApiKeys } from "./config-api-keys.js";
import { EnvReader, type Env } from "./config-env-reader.js";
import { readLimits } from "./config-limits.js";
import { iceUrlProblem, type IceUrlKind } from "./config-ice-urls.js";
import { defaultNodeId, nodeIdProblem } from "./config-node-id.js";
import { DEFAULT_PQ_ALGORITHM, PQ_ALGORITHMS, type PqAlgorithm } from "./protocol/pq/algorithms.js";

export { DEV_API_KEY, DEV_API_SECRET };
export { frameBytesForData } from "./config-limits.js";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/** Everything the server reads from its environment, validated and frozen. See the README's table. */
export interface Config {
  readonly production: boolean;
  /** Bind address; empty = all interfaces, IPv6 and IPv4 (Node's default). */
  readonly host: string;
  readonly port: number;
  readonly apiPort: number;
  readonly nodeId: string;
  readonly region: string;
  readonly logLevel: LogLevel;
  readonly keys: ApiKeys;
  /** True when the keys are the seed's development pair (enables the dev token endpoint and demo). */
  readonly devKeys: boolean;
  readonly demo: boolean;
  readonly redis: RedisConfig | undefined;
  readonly pq: PqConfig;
  readonly ice: IceConfig;
  readonly rooms: RoomConfig;
  readonly limits: LimitConfig;
  readonly liveness: LivenessConfig;
  readonly resume: ResumeConfig;
}

export interface RedisConfig {
  /** The Redis URL; with Sentinel, a description of it for messages (`redis-sentinel://h:p,h:p/name`). */
  readonly url: string;
  readonly prefix: string;
  /** The node's id, put in its connections' names so `CLIENT LIST` tells the nodes apart. */
  readonly nodeId?: string;
  readonly tls?: RedisTlsFiles;
  readonly sentinel?: RedisSentinelConfig;
}

/** PEM files for TLS to Redis (read when connecting); cert and key come together. */
export interface RedisTlsFiles {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

export interface RedisSentinelConfig {
  readonly sentinels: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  /** The master group name Sentinel monitors (`sentinel monitor <name> ...`). */
  readonly name: string;
  /** The password of the Redis servers (the Sentinels' own is `sentinelPassword`). */
  readonly password?: string;
  readonly sentinelPassword?: string;
}

export interface PqConfig {
  readonly enabled: boolean;
  readonly algorithm: PqAlgorithm;
  readonly requireHybrid: boolean;
  readonly sessionTimeoutMs: number;
  readonly rekeyIntervalMs: number;
  /** Extra time after the rekey interval before a channel that has not rekeyed is closed. */
  readonly rekeyGraceMs: number;
  readonly handshakeTimeoutMs: number;
}

export interface IceConfig {
  readonly stunUrls: readonly string[];
  readonly turnUrls: readonly string[];
  readonly turnSecret: string | undefined;
  readonly turnTtlSeconds: number;
}

export interface RoomConfig {
  readonly autoCreate: boolean;
  readonly emptyTimeoutSeconds: number;
  readonly maxParticipants: number;
  readonly maxRooms: number;
}

export interface LimitConfig {
  readonly maxFrameBytes: number;
  readonly maxDataBytes: number;
  readonly messagesPerSecond: number;
  readonly messageBurst: number;
  /**
   * What one connection's broadcasts may cost the node, in bytes a second: a room-wide `data` or an
   * announced `update_metadata` costs its bytes times its recipients (see src/session/fanout-budget.ts).
   */
  readonly maxFanoutBytesPerSecond: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly maxDiscover: number;
  readonly maxSendBufferBytes: number;
  /**
   * What a participant may leave unacknowledged, in bytes (of its newest `queueLimit` messages: the mailbox
   * keeps no more); past it the participant is disconnected rather than its mailbox pinning memory.
   */
  readonly maxUnackedBytes: number;
  /** Bounds on HTTP connections, which need no token to open (see `ListenerLimits`). */
  readonly httpHeadersTimeoutMs: number;
  readonly httpRequestTimeoutMs: number;
  readonly http2IdleTimeoutMs: number;
  readonly http2MaxStreams: number;
  /**
   * gRPC reflection streams open at once on the node, both ports together: they need no token, so without
   * a bound of their own anyone could hold any number of them.
   */
  readonly maxReflectionStreams: number;
}

export interface LivenessConfig {
  readonly pingIntervalSeconds: number;
  readonly pingTimeoutSeconds: number;
  readonly tokenRefreshSeconds: number;
}

export interface ResumeConfig {
  readonly windowMs: number;
  /** Messages kept per participant for replay after a resume. */
  readonly queueLimit: number;
}

/** Raised by `loadConfig` with every problem found, one per line. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

/**
 * Reads the configuration from `env` (the only reader of process.env in the server). Every invalid
 * variable is collected and reported together in a `ConfigError`.
 */
export function loadConfig(env: Env = process.env): Config {
  const r = new EnvReader(env);
  const production = isProduction(r.optional("NODE_ENV"));

  const keys = readApiKeys(env, r, production);
  const redis = readRedis(r);
  const pq: PqConfig = {
    enabled: r.bool("VOLLY_PQ_ENABLED", true),
    algorithm: r.oneOf("VOLLY_PQ_ALGORITHM", PQ_ALGORITHMS, DEFAULT_PQ_ALGORITHM),
    requireHybrid: r.bool("VOLLY_PQ_REQUIRE_HYBRID", false),
    sessionTimeoutMs: r.int("VOLLY_PQ_SESSION_TIMEOUT", 86_400, 1, 31_536_000) * 1000,
    rekeyIntervalMs: r.int("VOLLY_PQ_REKEY_INTERVAL", 3600, 1, 31_536_000) * 1000,
    rekeyGraceMs: r.int("VOLLY_PQ_REKEY_GRACE", 60, 0, 86_400) * 1000,
    handshakeTimeoutMs: r.int("VOLLY_PQ_HANDSHAKE_TIMEOUT", 10, 1, 300) * 1000,
  };
  if (pq.requireHybrid && pq.algorithm !== "X25519MLKEM768") {
    r.problem("VOLLY_PQ_REQUIRE_HYBRID=true needs VOLLY_PQ_ALGORITHM=X25519MLKEM768");
  }
  if (pq.requireHybrid && !pq.enabled) {
    // Asking for the stronger key exchange while turning encryption off says two things; signaling in
    // plaintext is the one that would happen.
    r.problem("VOLLY_PQ_REQUIRE_HYBRID=true needs VOLLY_PQ_ENABLED=true: with VOLLY_PQ_ENABLED=false signaling is not encrypted at all");
  }
  const ice = readIce(r);
  const config: Config = {
    production,
    host: r.text("VOLLY_HOST", ""),
    port: r.int("VOLLY_PORT", 7880, 0, 65_535),
    apiPort: r.int("VOLLY_API_PORT", 7881, 0, 65_535),
    nodeId: readNodeId(r),
    region: r.text("VOLLY_REGION", ""),
    logLevel: r.oneOf("LOG_LEVEL", ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const, "info"),
    keys,
    devKeys: keys.size === 1 && keys.get(DEV_API_KEY) === DEV_API_SECRET,
    demo: r.bool("VOLLY_DEMO", !production),
    redis,
    pq,
    ice,
    rooms: {
      autoCreate: r.bool("VOLLY_AUTO_CREATE_ROOMS", true),
      emptyTimeoutSeconds: r.int("VOLLY_EMPTY_TIMEOUT", 300, 0, 86_400),
      maxParticipants: r.int("VOLLY_MAX_PARTICIPANTS", 100, 1, 100_000),
      maxRooms: r.int("VOLLY_MAX_ROOMS", 10_000, 1, 10_000_000),
    },
    limits: readLimits(r, pq.enabled),
    liveness: {
      pingIntervalSeconds: r.int("VOLLY_PING_INTERVAL", 5, 1, 3600),
      pingTimeoutSeconds: r.int("VOLLY_PING_TIMEOUT", 15, 2, 7200),
      tokenRefreshSeconds: r.int("VOLLY_TOKEN_REFRESH_INTERVAL", 300, 1, 86_400),
    },
    resume: {
      windowMs: r.int("VOLLY_RESUME_WINDOW", 20, 0, 3600) * 1000,
      queueLimit: r.int("VOLLY_RESUME_QUEUE_LIMIT", 1024, 16, 1_000_000),
    },
  };
  if (config.port !== 0 && config.port === config.apiPort) {
    // Both listeners would bind the same port: the second fails with EADDRINUSE only once the node has
    // already joined its cluster. 0 (any free port) is the exception: each listener gets its own.
    r.problem(`VOLLY_PORT and VOLLY_API_PORT are both ${config.port}: the signaling and API ports must differ`);
  }
  if (config.limits.httpHeadersTimeoutMs > config.limits.httpRequestTimeoutMs) {
    r.problem("VOLLY_HTTP_HEADERS_TIMEOUT must not be greater than VOLLY_HTTP_REQUEST_TIMEOUT");
  }
  if (config.liveness.pingTimeoutSeconds <= config.liveness.pingIntervalSeconds) {
    r.problem("VOLLY_PING_TIMEOUT must be greater than VOLLY_PING_INTERVAL");
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return deepFreeze(config.redis === undefined ? config : { ...config, redis: { ...config.redis, nodeId: config.nodeId } });
}

/** NODE_ENV means production once trimmed of whitespace and control characters (a Windows `\r`) and lower-cased:
 * a near miss must not turn the production guards off and open the development keys, demo and token endpoint. */
function isProduction(nodeEnv: string | undefined): boolean {
  return nodeEnv?.replace(/^[\s\p{Cc}]+|[\s\p{Cc}]+$/gu, "").toLowerCase() === "production";
}


/**
 * STUN and TURN servers for `join`. TURN URLs are only offered with credentials minted from
 * VOLLY_TURN_SECRET (src/room/ice-servers.ts), so one without the other configures nothing: both are errors.
 */
function readIce(r: EnvReader): IceConfig {
  const ice: IceConfig = {
    stunUrls: readIceUrls(r, "VOLLY_STUN_URLS", "STUN"),
    turnUrls: readIceUrls(r, "VOLLY_TURN_URLS", "TURN"),
    turnSecret: r.secret("VOLLY_TURN_SECRET"),
    turnTtlSeconds: r.int("VOLLY_TURN_TTL", 86_400, 60, 604_800),
  };
  // A blank secret is refused by `r.secret` already; this is for one not set at all.
  if (ice.turnUrls.length > 0 && !r.isSet("VOLLY_TURN_SECRET")) {
    r.problem("VOLLY_TURN_URLS is set but VOLLY_TURN_SECRET is missing: TURN URLs are offered only with ephemeral credentials made from that secret (coturn's static-auth-secret)");
  }
  if (ice.turnSecret !== undefined && ice.turnUrls.length === 0) {
    r.problem("VOLLY_TURN_SECRET is set but VOLLY_TURN_URLS is empty: no TURN server would be offered");
  }
  return ice;
}

function readIceUrls(r: EnvReader, name: string, kind: IceUrlKind): string[] {
  const urls = r.list(name, []);
  for (const url of urls) {
    const problem = iceUrlProblem(url, kind);
    if (problem !== undefined) r.problem(`${name}: ${problem}`);
  }
  return urls;
}

function readNodeId(r: EnvReader): string {
  const id = r.text("VOLLY_NODE_ID", "");
  if (id === "") return defaultNodeId(hostname());
  const problem = nodeIdProblem(id);
  if (problem !== undefined) r.problem(problem);
  return id;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !(value instanceof Map)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
