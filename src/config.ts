import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { parseApiKeys, type ApiKeys } from "./auth/api-keys.js";

/** The development key pair of the seed; refused when NODE_ENV=production. */
export const DEV_API_KEY = "volly-dev-key";
export const DEV_API_SECRET = "volly-dev-secret-key-2024";

export type PqAlgorithmName = "ML-KEM-768" | "X25519MLKEM768";
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
  readonly url: string;
  readonly prefix: string;
}

export interface PqConfig {
  readonly enabled: boolean;
  readonly algorithm: PqAlgorithmName;
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
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly maxDiscover: number;
  readonly maxSendBufferBytes: number;
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

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads the configuration from `env` (the only reader of process.env in the server). Every invalid
 * variable is collected and reported together in a `ConfigError`.
 */
export function loadConfig(env: Env = process.env): Config {
  const r = new EnvReader(env);
  const production = env.NODE_ENV === "production";

  const keys = readKeys(env, r, production);
  const redis = readRedis(env, r);
  const pq: PqConfig = {
    enabled: r.bool("VOLLY_PQ_ENABLED", true),
    algorithm: r.oneOf("VOLLY_PQ_ALGORITHM", ["ML-KEM-768", "X25519MLKEM768"] as const, "ML-KEM-768"),
    requireHybrid: r.bool("VOLLY_PQ_REQUIRE_HYBRID", false),
    sessionTimeoutMs: r.int("VOLLY_PQ_SESSION_TIMEOUT", 86_400, 1, 31_536_000) * 1000,
    rekeyIntervalMs: r.int("VOLLY_PQ_REKEY_INTERVAL", 3600, 1, 31_536_000) * 1000,
    rekeyGraceMs: r.int("VOLLY_PQ_REKEY_GRACE", 60, 0, 86_400) * 1000,
    handshakeTimeoutMs: r.int("VOLLY_PQ_HANDSHAKE_TIMEOUT", 10, 1, 300) * 1000,
  };
  if (pq.requireHybrid && pq.algorithm !== "X25519MLKEM768") {
    r.problem("VOLLY_PQ_REQUIRE_HYBRID=true needs VOLLY_PQ_ALGORITHM=X25519MLKEM768");
  }
  const ice: IceConfig = {
    stunUrls: r.list("VOLLY_STUN_URLS", []),
    turnUrls: r.list("VOLLY_TURN_URLS", []),
    turnSecret: r.optional("VOLLY_TURN_SECRET"),
    turnTtlSeconds: r.int("VOLLY_TURN_TTL", 86_400, 60, 604_800),
  };
  const config: Config = {
    production,
    host: r.string("VOLLY_HOST", ""),
    port: r.int("VOLLY_PORT", 7880, 0, 65_535),
    apiPort: r.int("VOLLY_API_PORT", 7881, 0, 65_535),
    nodeId: r.string("VOLLY_NODE_ID", `ND_${hostname().slice(0, 24)}_${randomBytes(4).toString("hex")}`),
    region: r.string("VOLLY_REGION", ""),
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
    limits: {
      maxFrameBytes: r.int("VOLLY_MAX_FRAME_BYTES", 65_536, 1024, 16_777_216),
      maxDataBytes: r.int("VOLLY_MAX_DATA_BYTES", 16_384, 1, 16_777_216),
      messagesPerSecond: r.int("VOLLY_MAX_MESSAGES_PER_SECOND", 200, 1, 1_000_000),
      messageBurst: r.int("VOLLY_MESSAGE_BURST", 400, 1, 1_000_000),
      maxConnections: r.int("VOLLY_MAX_CONNECTIONS", 20_000, 1, 10_000_000),
      maxConnectionsPerIp: r.int("VOLLY_MAX_CONNECTIONS_PER_IP", 20_000, 1, 10_000_000),
      maxDiscover: 100,
      maxSendBufferBytes: r.int("VOLLY_MAX_SEND_BUFFER_BYTES", 4_194_304, 65_536, 1_073_741_824),
    },
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
  if (config.liveness.pingTimeoutSeconds <= config.liveness.pingIntervalSeconds) {
    r.problem("VOLLY_PING_TIMEOUT must be greater than VOLLY_PING_INTERVAL");
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return deepFreeze(config);
}

function readKeys(env: Env, r: EnvReader, production: boolean): ApiKeys {
  let keys: ApiKeys;
  if (env.LIVEKIT_KEYS !== undefined && env.LIVEKIT_KEYS.trim() !== "") {
    const parsed = parseApiKeys(env.LIVEKIT_KEYS);
    if (typeof parsed === "string") {
      r.problem(`LIVEKIT_KEYS: ${parsed}`);
      keys = new Map();
    } else keys = parsed;
  } else {
    const key = env.LIVEKIT_API_KEY ?? DEV_API_KEY;
    const secret = env.LIVEKIT_API_SECRET ?? DEV_API_SECRET;
    if (key === "" || secret === "") r.problem("LIVEKIT_API_KEY and LIVEKIT_API_SECRET must not be empty");
    keys = new Map([[key, secret]]);
  }
  if (production) {
    for (const [key, secret] of keys) {
      if (key === DEV_API_KEY || secret === DEV_API_SECRET) {
        r.problem("the development key volly-dev-key / volly-dev-secret-key-2024 is refused when NODE_ENV=production; set LIVEKIT_KEYS or LIVEKIT_API_KEY/LIVEKIT_API_SECRET");
      }
      if (secret.length < 32) r.problem(`API secret for key ${key} is shorter than 32 characters (NODE_ENV=production)`);
    }
  }
  return keys;
}

function readRedis(env: Env, r: EnvReader): RedisConfig | undefined {
  const prefix = r.string("REDIS_PREFIX", "");
  const url = env.REDIS_URL?.trim();
  if (url) {
    if (!/^rediss?:\/\//.test(url)) r.problem("REDIS_URL must start with redis:// or rediss://");
    return { url, prefix };
  }
  if (env.REDIS_HOST?.trim()) {
    const port = r.int("REDIS_PORT", 6379, 1, 65_535);
    const password = env.REDIS_PASSWORD;
    const auth = password ? `:${encodeURIComponent(password)}@` : "";
    return { url: `redis://${auth}${env.REDIS_HOST.trim()}:${port}`, prefix };
  }
  return undefined;
}

class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  problem(message: string): void {
    this.problems.push(message);
  }

  optional(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v === "" ? undefined : v;
  }

  string(name: string, fallback: string): string {
    return this.optional(name) ?? fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.optional(name);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v.trim())) {
      this.problem(`${name}=${JSON.stringify(v)} is not a whole number`);
      return fallback;
    }
    const n = Number(v.trim());
    if (n < min || n > max) {
      this.problem(`${name}=${n} is outside ${min}..${max}`);
      return fallback;
    }
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.optional(name)?.trim().toLowerCase();
    if (v === undefined) return fallback;
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off"].includes(v)) return false;
    this.problem(`${name}=${JSON.stringify(v)} is not a boolean (true/false)`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = this.optional(name);
    if (v === undefined) return fallback;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    this.problem(`${name}=${JSON.stringify(v)} must be one of ${allowed.join(", ")}`);
    return fallback;
  }

  list(name: string, fallback: string[]): string[] {
    const v = this.optional(name);
    if (v === undefined) return fallback;
    return v.split(/[,\s]+/).filter((s) => s !== "");
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !(value instanceof Map)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
