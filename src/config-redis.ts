import { readFileSync } from "node:fs";
import type { RedisConfig, RedisSentinelConfig, RedisTlsFiles } from "./config.js";
import type { EnvReader } from "./config-env-reader.js";

/**
 * Redis is named by REDIS_URL, or by REDIS_HOST with REDIS_PORT and REDIS_PASSWORD, or by REDIS_SENTINELS
 * with REDIS_SENTINEL_NAME, never by two of them: one form silently winning would leave a password or host
 * the operator set unused, and the node would then fail to authenticate, or reach another Redis, for a
 * reason its configuration does not show. For the same reason REDIS_PORT and REDIS_PASSWORD without
 * REDIS_HOST (or REDIS_SENTINELS) are errors rather than a node on its in-memory store. Every variable that
 * is set is validated, whichever form is in effect.
 */
export function readRedis(r: EnvReader): RedisConfig | undefined {
  const prefix = r.text("REDIS_PREFIX", "");
  const url = r.secretText("REDIS_URL");
  const host = r.text("REDIS_HOST", "");
  const port = r.int("REDIS_PORT", 6379, 1, 65_535);
  const password = r.secret("REDIS_PASSWORD");
  const tls = readTlsFiles(r);
  const withTls = (c: RedisConfig): RedisConfig => (tls === undefined ? c : { ...c, tls });
  if (r.optional("REDIS_SENTINELS") !== undefined) return readSentinel(r, prefix, password, withTls);
  for (const name of ["REDIS_SENTINEL_NAME", "REDIS_SENTINEL_PASSWORD"]) {
    if (r.optional(name) !== undefined) r.problem(`${name} is set but REDIS_SENTINELS is not: set REDIS_SENTINELS=host:port,host:port to use Sentinel`);
  }
  const parts = ["REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"].filter((name) => r.optional(name) !== undefined);
  const list = parts.join(", ");
  const are = parts.length === 1 ? "is" : "are";
  if (r.optional("REDIS_URL") !== undefined) {
    if (url !== undefined && !/^rediss?:\/\//.test(url)) r.problem("REDIS_URL must start with redis:// or rediss://");
    if (parts.length > 0) {
      r.problem(`REDIS_URL is set and so ${are} ${list}: use REDIS_URL alone, with any password in it (redis://:password@host:port), or REDIS_HOST/REDIS_PORT/REDIS_PASSWORD without REDIS_URL`);
    }
    // A certificate for a connection that is not TLS would be silently unused.
    if (url !== undefined && tls !== undefined && !/^rediss:\/\//i.test(url)) {
      r.problem("REDIS_TLS_* files are set but REDIS_URL is redis://: use rediss:// for TLS");
    }
    return url === undefined ? undefined : withTls({ url, prefix });
  }
  const rawHost = r.optional("REDIS_HOST");
  if (rawHost === undefined) {
    if (parts.length > 0) r.problem(`${list} ${are} set but REDIS_HOST is not: set REDIS_HOST (or REDIS_URL alone) to use Redis; without either the node keeps its state in memory`);
    if (tls !== undefined) r.problem("REDIS_TLS_* files are set but no Redis is: set REDIS_URL (rediss://), REDIS_HOST or REDIS_SENTINELS");
    return undefined;
  }
  if (rawHost.trim() === "") r.problem("REDIS_HOST is set but blank (only whitespace)");
  // Empty here means refused: blank just above, or a control character in `r.text`.
  if (host === "") return undefined;
  const auth = password === undefined ? "" : `:${encodeURIComponent(password)}@`;
  // TLS files name a TLS server: the host form has no scheme of its own to say so.
  const scheme = tls === undefined ? "redis" : "rediss";
  return withTls({ url: `${scheme}://${auth}${host}:${port}`, prefix });
}

/**
 * Sentinel: ioredis asks the Sentinels for the current primary of `REDIS_SENTINEL_NAME` and asks again on
 * every reconnect, so a failover moves the node to the new primary. The Redis servers' password is
 * REDIS_PASSWORD, the Sentinels' own REDIS_SENTINEL_PASSWORD.
 */
function readSentinel(r: EnvReader, prefix: string, password: string | undefined, withTls: (c: RedisConfig) => RedisConfig): RedisConfig | undefined {
  for (const name of ["REDIS_URL", "REDIS_HOST", "REDIS_PORT"]) {
    if (r.optional(name) !== undefined) r.problem(`REDIS_SENTINELS is set and so is ${name}: with Sentinel the primary's address comes from the Sentinels; use REDIS_PASSWORD for its password`);
  }
  const sentinels: Array<{ host: string; port: number }> = [];
  for (const entry of r.list("REDIS_SENTINELS", [])) {
    const match = /^(\[[0-9a-fA-F:]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65_535) {
      r.problem(`REDIS_SENTINELS: ${JSON.stringify(entry.slice(0, 100))} is not host:port`);
      continue;
    }
    sentinels.push({ host: (match[1] ?? "").replace(/^\[|\]$/g, ""), port });
  }
  const name = r.text("REDIS_SENTINEL_NAME", "");
  if (name === "") r.problem("REDIS_SENTINELS is set but REDIS_SENTINEL_NAME (the master group name Sentinel monitors) is not");
  const sentinelPassword = r.secret("REDIS_SENTINEL_PASSWORD");
  if (sentinels.length === 0 || name === "") return undefined;
  const sentinel: RedisSentinelConfig = {
    sentinels,
    name,
    ...(password === undefined ? {} : { password }),
    ...(sentinelPassword === undefined ? {} : { sentinelPassword }),
  };
  const url = `redis-sentinel://${sentinels.map((s) => (s.host.includes(":") ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`)).join(",")}/${name}`;
  return withTls({ url, prefix, sentinel });
}

/** REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE: each must be readable; cert and key together. */
function readTlsFiles(r: EnvReader): RedisTlsFiles | undefined {
  const files: Record<string, string> = {};
  for (const [name, field] of [["REDIS_TLS_CA_FILE", "caFile"], ["REDIS_TLS_CERT_FILE", "certFile"], ["REDIS_TLS_KEY_FILE", "keyFile"]] as const) {
    const path = r.text(name, "");
    if (path === "") continue;
    try {
      readFileSync(path);
      files[field] = path;
    } catch (e) {
      const reason = e instanceof Error && "code" in e ? String(e.code) : "unreadable";
      r.problem(`${name}=${JSON.stringify(path)} cannot be read (${reason})`);
    }
  }
  const has = (name: string) => r.optional(name) !== undefined;
  if (has("REDIS_TLS_CERT_FILE") !== has("REDIS_TLS_KEY_FILE")) {
    r.problem("REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together: a client certificate needs its key");
  }
  return Object.keys(files).length === 0 ? undefined : files;
}
