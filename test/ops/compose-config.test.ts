// docker-compose.signaling.yml and docker-compose.production.yml, validated by Debian's `docker-compose config`
// (no Docker engine runs here): base, --profile debug, --profile monitoring, and the production override. The
// environment Compose resolves for volly-signaling must also pass the server's own configuration check.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config.js";
import { activeServices, bindMounts, composeConfig, publishedPorts, root, serviceEnv } from "./helpers/compose.js";
import { hasCommand, skipUnless } from "./helpers/required-tools.js";

const skip = skipUnless(hasCommand("docker-compose", ["version"]), "docker-compose", "docker-compose");
const BASE = ["-f", "docker-compose.signaling.yml"];
const PROD = [...BASE, "-f", "docker-compose.production.yml"];
const PROD_ENV = { LIVEKIT_API_KEY: "prod-key", LIVEKIT_API_SECRET: "a-production-secret-of-40-characters-xyz", REDIS_PASSWORD: "p@ss:w/rd?" };

describe("docker-compose config", { skip }, () => {
  test("base file: server, edge and Redis; the UIs only in their profiles", () => {
    const { status, config, stderr } = composeConfig(BASE);
    assert.equal(status, 0, stderr);
    assert.ok(config);
    assert.deepEqual(activeServices(config, []), ["volly-edge", "volly-redis", "volly-signaling"]);
    const s = config.services;
    assert.deepEqual(s["volly-redis-ui"]?.profiles, ["debug"]);
    assert.deepEqual(s["volly-prometheus"]?.profiles, ["monitoring"]);
    assert.deepEqual(s["volly-grafana"]?.profiles, ["monitoring"]);
    assert.equal(s["volly-redis"]?.image, "redis:7-alpine");
    assert.equal(s["volly-signaling"]?.build?.context, root.replace(/\/$/, ""));
    assert.deepEqual(s["volly-signaling"]?.depends_on?.["volly-redis"], { condition: "service_healthy" });
  });

  test("seed ports: 7880 and 7881 on the host through volly-edge; replicas publish nothing (scale-safe)", () => {
    const { config } = composeConfig(BASE);
    assert.deepEqual(publishedPorts(config?.services["volly-edge"]), ["7880:7880", "7881:7881"]);
    assert.deepEqual(publishedPorts(config?.services["volly-signaling"]), []);
    assert.deepEqual(config?.services["volly-signaling"]?.expose, ["7880", "7881"]);
    const haproxy = bindMounts(config?.services["volly-edge"]).find((v) => v.target === "/usr/local/etc/haproxy/haproxy.cfg");
    assert.equal(haproxy?.source, join(root, "deploy/haproxy/haproxy.cfg"));
  });

  test("the dev environment is the seed's table with its defaults, and the server accepts it", () => {
    const env = serviceEnv(composeConfig(BASE).config?.services["volly-signaling"]);
    assert.equal(env.LIVEKIT_API_KEY, "volly-dev-key");
    assert.equal(env.LIVEKIT_API_SECRET, "volly-dev-secret-key-2024");
    assert.equal(env.VOLLY_PQ_ENABLED, "true");
    assert.equal(env.VOLLY_PQ_ALGORITHM, "ML-KEM-768");
    assert.equal(env.VOLLY_PQ_SESSION_TIMEOUT, "86400");
    assert.equal(env.LOG_LEVEL, "info");
    assert.notEqual(env.NODE_ENV, "production", "the image defaults to production, which refuses the dev keys");
    const config = loadConfig(env);
    assert.equal(config.production, false);
    assert.equal(config.redis?.url, "redis://:volly-dev-redis-password@volly-redis:6379");
    assert.equal(config.port, 7880);
    assert.equal(config.apiPort, 7881);
  });

  test("shell variables override the defaults (LOG_LEVEL=debug, VOLLY_PQ_SESSION_TIMEOUT=3600, keys)", () => {
    const env = serviceEnv(composeConfig(BASE, { LOG_LEVEL: "debug", VOLLY_PQ_SESSION_TIMEOUT: "3600", LIVEKIT_API_KEY: "k", LIVEKIT_API_SECRET: "s" }).config?.services["volly-signaling"]);
    assert.equal(env.LOG_LEVEL, "debug");
    assert.equal(env.VOLLY_PQ_SESSION_TIMEOUT, "3600");
    assert.equal(loadConfig(env).pq.sessionTimeoutMs, 3_600_000);
    assert.equal(loadConfig(env).keys.get("k"), "s");
  });

  test("volly-redis requires REDIS_PASSWORD; `exec volly-redis redis-cli` authenticates; the server uses the same password", () => {
    const services = composeConfig(BASE, { REDIS_PASSWORD: "s3cret" }).config?.services;
    const redis = services?.["volly-redis"];
    assert.match(JSON.stringify(redis?.command), /--requirepass \\"\$\$?REDIS_PASSWORD\\"/);
    assert.equal(redis?.environment?.REDIS_PASSWORD, "s3cret");
    assert.equal(redis?.environment?.REDISCLI_AUTH, "s3cret", "redis-cli reads REDISCLI_AUTH");
    assert.match(JSON.stringify(redis?.healthcheck?.test), /redis-cli ping/);
    assert.equal(serviceEnv(services?.["volly-signaling"]).REDIS_PASSWORD, "s3cret");
    assert.match(services?.["volly-redis-ui"]?.environment?.REDIS_HOSTS ?? "", /^volly:volly-redis:6379:0:s3cret$/);
  });

  test("--profile debug adds the Redis UI on 8081", () => {
    const { status, config, stderr } = composeConfig(["--profile", "debug", ...BASE]);
    assert.equal(status, 0, stderr);
    assert.ok(config);
    assert.deepEqual(activeServices(config, ["debug"]), ["volly-edge", "volly-redis", "volly-redis-ui", "volly-signaling"]);
    assert.deepEqual(publishedPorts(config.services["volly-redis-ui"]), ["127.0.0.1:8081:8081/tcp"]);
  });

  test("--profile monitoring adds Prometheus and Grafana on 3000 (admin/admin) with provisioning mounted", () => {
    const { status, config, stderr } = composeConfig(["--profile", "monitoring", ...BASE]);
    assert.equal(status, 0, stderr);
    assert.ok(config);
    assert.deepEqual(activeServices(config, ["monitoring"]), ["volly-edge", "volly-grafana", "volly-prometheus", "volly-redis", "volly-signaling"]);
    const grafana = config.services["volly-grafana"];
    assert.deepEqual(publishedPorts(grafana), ["3000:3000"]);
    assert.equal(grafana?.environment?.GF_SECURITY_ADMIN_USER, "admin");
    assert.equal(grafana?.environment?.GF_SECURITY_ADMIN_PASSWORD, "admin");
    const files = [...bindMounts(grafana), ...bindMounts(config.services["volly-prometheus"])];
    assert.deepEqual(files.map((v) => `${v.source.slice(root.length)} -> ${v.target}`).sort(), [
      "deploy/grafana/dashboards -> /var/lib/grafana/dashboards",
      "deploy/grafana/provisioning -> /etc/grafana/provisioning",
      "deploy/prometheus/prometheus.yml -> /etc/prometheus/prometheus.yml",
    ]);
    for (const v of files) assert.ok(existsSync(v.source), `${v.source} exists`);
  });

  test("production override: seed's environment, 3 replicas on workers, and the server accepts it", () => {
    const { status, config, stderr } = composeConfig(PROD, PROD_ENV);
    assert.equal(status, 0, stderr);
    const s = config?.services["volly-signaling"];
    const env = serviceEnv(s);
    assert.equal(env.LIVEKIT_KEYS, `${PROD_ENV.LIVEKIT_API_KEY}:${PROD_ENV.LIVEKIT_API_SECRET}`);
    assert.equal(env.REDIS_PASSWORD, PROD_ENV.REDIS_PASSWORD);
    assert.equal(env.LOG_LEVEL, "warn");
    assert.equal(env.NODE_ENV, "production");
    assert.equal(s?.deploy?.replicas, 3);
    assert.deepEqual(s?.deploy?.placement?.constraints, ["node.role == worker"]);
    assert.deepEqual(publishedPorts(s), [], "no host ports on replicas: `up --scale volly-signaling=3` cannot clash");
    const config2 = loadConfig(env);
    assert.equal(config2.production, true);
    assert.equal(config2.logLevel, "warn");
    assert.equal(config2.keys.get("prod-key"), PROD_ENV.LIVEKIT_API_SECRET);
    assert.equal(config2.redis?.url, `redis://:${encodeURIComponent(PROD_ENV.REDIS_PASSWORD)}@volly-redis:6379`);
    assert.equal(config?.services["volly-redis"]?.environment?.REDIS_PASSWORD, PROD_ENV.REDIS_PASSWORD);
  });

  test("production override refuses to run without REDIS_PASSWORD, and the server refuses the dev keys", () => {
    const missing = composeConfig(PROD, { LIVEKIT_API_KEY: "k", LIVEKIT_API_SECRET: "s" });
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /set REDIS_PASSWORD \(in \.env\) for production/);
    const dev = composeConfig(PROD, { LIVEKIT_API_KEY: "volly-dev-key", LIVEKIT_API_SECRET: "volly-dev-secret-key-2024", REDIS_PASSWORD: "x" });
    assert.equal(dev.status, 0, dev.stderr);
    assert.throws(() => loadConfig(serviceEnv(dev.config?.services["volly-signaling"])), (e: unknown) => e instanceof ConfigError && /refused when NODE_ENV=production/.test(e.message));
  });
});

test("the compose files name only files that exist", () => {
  for (const f of ["Dockerfile", "deploy/haproxy/haproxy.cfg", "deploy/prometheus/prometheus.yml", "deploy/grafana/provisioning/datasources/prometheus.yml", "deploy/grafana/provisioning/dashboards/volly.yml", "deploy/grafana/dashboards/volly-signaling.json"]) {
    assert.ok(existsSync(join(root, f)), f);
  }
});
