import { readFileSync } from "node:fs";
import { isIPv6 } from "node:net";
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
  if (r.isSet("REDIS_SENTINELS")) return readSentinel(r, prefix, password, withTls);
  for (const name of ["REDIS_SENTINEL_NAME", "REDIS_SENTINEL_PASSWORD"]) {
    if (r.isSet(name)) r.problem(`${name} is set but REDIS_SENTINELS is not: set REDIS_SENTINELS=host:port,host:port to use Sentinel`);
  }
  const parts = ["REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"].filter((name) => r.isSet(name));
  const list = parts.join(", ");
  const are = parts.length === 1 ? "is" : "are";
  if (r.isSet("REDIS_URL")) {
    if (url !== undefined && !/^rediss?:\/\//.test(url)) r.problem("REDIS_URL must start with redis:// or rediss://");
    // ioredis parses it with `new URL` only when connecting, where a failure names no variable and is not
    // listed with the other problems. Not quoted: it may hold a password.
    else if (url !== undefined && !URL.canParse(url)) {
      r.problem("REDIS_URL is not a valid URL (redis[s]://[:password@]host[:port], an IPv6 address in brackets, a password's special characters %-encoded); its value is not shown as it may hold a password");
    }
    if (parts.length > 0) {
      r.problem(`REDIS_URL is set and so ${are} ${list}: use REDIS_URL alone, with any password in it (redis://:password@host:port), or REDIS_HOST/REDIS_PORT/REDIS_PASSWORD without REDIS_URL`);
    }
    // A certificate for a connection that is not TLS would be silently unused.
    if (url !== undefined && tls !== undefined && !/^rediss:\/\//i.test(url)) {
      r.problem("REDIS_TLS_* files are set but REDIS_URL is redis://: use rediss:// for TLS");
    }
    return url === undefined ? undefined : withTls({ url, prefix });
  }
  if (!r.isSet("REDIS_HOST")) {
    if (parts.length > 0) r.problem(`${list} ${are} set but REDIS_HOST is not: set REDIS_HOST (or REDIS_URL alone) to use Redis; without either the node keeps its state in memory`);
    if (tls !== undefined) r.problem("REDIS_TLS_* files are set but no Redis is: set REDIS_URL (rediss://), REDIS_HOST or REDIS_SENTINELS");
    return undefined;
  }
  // Empty here means refused: blank, or a control character in `r.text`.
  if (host === "") return undefined;
  const urlHost = redisHostInUrl(host, r);
  if (urlHost === undefined) return undefined;
  const auth = password === undefined ? "" : `:${encodeURIComponent(password)}@`;
  // TLS files name a TLS server: the host form has no scheme of its own to say so.
  const scheme = tls === undefined ? "redis" : "rediss";
  return withTls({ url: `${scheme}://${auth}${urlHost}:${port}`, prefix });
}

/** A host name or an IPv4 address: what can stand unchanged between `//` and `:port` in a URL. */
const HOST_NAME = /^[A-Za-z0-9._-]+$/;

/**
 * REDIS_HOST as it goes in the URL: an IPv6 address bracketed, anything that is not a host refused here,
 * where the problem names the variable, rather than by `new URL` when connecting.
 */
function redisHostInUrl(host: string, r: EnvReader): string | undefined {
  const bare = /^\[(.*)\]$/.exec(host)?.[1] ?? host;
  if (isIPv6(bare)) return `[${bare}]`;
  if (/^[^:]+:\d*$/.test(host)) {
    r.problem(`REDIS_HOST=${JSON.stringify(host.slice(0, 100))} has a port in it: give the host alone and the port in REDIS_PORT`);
  } else if (!HOST_NAME.test(host)) {
    r.problem(`REDIS_HOST=${JSON.stringify(host.slice(0, 100))} is not a host name or an IP address`);
  } else return host;
  return undefined;
}

/**
 * Sentinel: ioredis asks the Sentinels for the current primary of `REDIS_SENTINEL_NAME` and asks again on
 * every reconnect, so a failover moves the node to the new primary. The Redis servers' password is
 * REDIS_PASSWORD, the Sentinels' own REDIS_SENTINEL_PASSWORD.
 */
function readSentinel(r: EnvReader, prefix: string, password: string | undefined, withTls: (c: RedisConfig) => RedisConfig): RedisConfig | undefined {
  for (const name of ["REDIS_URL", "REDIS_HOST", "REDIS_PORT"]) {
    if (r.isSet(name)) r.problem(`REDIS_SENTINELS is set and so is ${name}: with Sentinel the primary's address comes from the Sentinels; use REDIS_PASSWORD for its password`);
  }
  const sentinels: Array<{ host: string; port: number }> = [];
  for (const entry of r.list("REDIS_SENTINELS", [])) {
    // The same hosts as REDIS_HOST: ioredis would otherwise fail on one only when it asks that Sentinel.
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[3]);
    const v6 = match?.[1];
    if (!match || port < 1 || port > 65_535 || (v6 !== undefined && !isIPv6(v6))) {
      r.problem(`REDIS_SENTINELS: ${JSON.stringify(entry.slice(0, 100))} is not host:port`);
      continue;
    }
    sentinels.push({ host: v6 ?? match[2] ?? "", port });
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
  const has = (name: string) => r.isSet(name);
  if (has("REDIS_TLS_CERT_FILE") !== has("REDIS_TLS_KEY_FILE")) {
    r.problem("REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together: a client certificate needs its key");
  }
  return Object.keys(files).length === 0 ? undefined : files;
}
