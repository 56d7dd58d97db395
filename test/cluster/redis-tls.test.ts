// TLS to Redis with a private CA and client certificates (Redis's default `tls-auth-clients yes`):
// REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE. A node joins with them and fails start-up
// clearly without the client certificate; bad files are configuration errors listed at start-up.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join as joinPath } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadConfig } from "../../src/config.js";
import { problemsOf } from "../helpers/config-problems.js";
import { NodeProcess } from "../helpers/node-process.js";
import { redisServerSkip } from "../helpers/redis.js";
import { OwnRedis } from "../helpers/redis-deployment.js";
import { runServer } from "../helpers/server-run.js";
import { join, text } from "./cluster-fixture.js";

const openssl = (dir: string, ...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });

/** A throwaway CA, a server certificate for 127.0.0.1 and localhost, and a client certificate. */
function makeCertificates(dir: string): void {
  openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=Volly Test CA");
  writeFileSync(joinPath(dir, "ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  for (const name of ["server", "client"]) {
    openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name === "server" ? "localhost" : "volly-node"}`);
    openssl(dir, "x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", "ext.cnf");
  }
}

describe("Redis over TLS with client certificates", { skip: redisServerSkip(), concurrency: false }, () => {
  const dir = mkdtempSync(joinPath(tmpdir(), "volly-tls-"));
  const file = (name: string) => joinPath(dir, name);
  let redis: OwnRedis | undefined;
  before(async () => {
    makeCertificates(dir);
    const tls = ["--tls-cert-file", file("server.crt"), "--tls-key-file", file("server.key"), "--tls-ca-cert-file", file("ca.crt"), "--tls-auth-clients", "yes"];
    redis = await OwnRedis.start("tls", tls, { tls: { ca: readFileSync(file("ca.crt")), cert: readFileSync(file("client.crt")), key: readFileSync(file("client.key")) } });
  });
  after(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a node with the CA and a client certificate joins the cluster: relay works", async () => {
    const env = { REDIS_URL: `rediss://127.0.0.1:${redis?.port}`, REDIS_PREFIX: "tls:", REDIS_TLS_CA_FILE: file("ca.crt"), REDIS_TLS_CERT_FILE: file("client.crt"), REDIS_TLS_KEY_FILE: file("client.key") };
    const nodes = [await NodeProcess.start(env, "tls"), await NodeProcess.start(env, "tls")];
    try {
      const [a, b] = nodes as [NodeProcess, NodeProcess];
      const alice = await join(a, "ws-protobuf", "alice", "tls");
      const bob = await join(b, "ws-protobuf", "bob", "tls");
      alice.send({ case: "data", value: { target: "bob", payload: new TextEncoder().encode("over tls"), id: "t1" } });
      assert.equal(text((await bob.waitFor("data", () => true, 10_000)).payload), "over tls");
      await alice.leave();
      await bob.leave();
    } finally {
      await Promise.all(nodes.map((n) => n.kill()));
    }
  });

  test("through a Sentinel that is itself reached over TLS (REDIS_SENTINELS with the REDIS_TLS_* files): relay works", async () => {
    const clientTls = { tls: { ca: readFileSync(file("ca.crt")), cert: readFileSync(file("client.crt")), key: readFileSync(file("client.key")) } };
    // The Sentinel speaks TLS only, and reaches the primary over TLS with its own certificate (tls-replication).
    const tlsArgs = ["--tls-cert-file", file("server.crt"), "--tls-key-file", file("server.key"), "--tls-ca-cert-file", file("ca.crt"), "--tls-auth-clients", "yes", "--tls-replication", "yes"];
    const sentinel = await OwnRedis.start("tls-sentinel", tlsArgs, clientTls);
    const nodes: NodeProcess[] = [];
    try {
      await sentinel.command(["SENTINEL", "MONITOR", "tm", "127.0.0.1", redis?.port ?? 0, 1], clientTls);
      const env = {
        REDIS_SENTINELS: `127.0.0.1:${sentinel.port}`,
        REDIS_SENTINEL_NAME: "tm",
        REDIS_PREFIX: "tls-sentinel:",
        REDIS_TLS_CA_FILE: file("ca.crt"),
        REDIS_TLS_CERT_FILE: file("client.crt"),
        REDIS_TLS_KEY_FILE: file("client.key"),
      };
      nodes.push(await NodeProcess.start(env, "tsn"), await NodeProcess.start(env, "tsn"));
      const [a, b] = nodes as [NodeProcess, NodeProcess];
      const alice = await join(a, "ws-protobuf", "alice", "tls-sentinel");
      const bob = await join(b, "ws-protobuf", "bob", "tls-sentinel");
      alice.send({ case: "data", value: { target: "bob", payload: new TextEncoder().encode("sentinel over tls"), id: "s1" } });
      assert.equal(text((await bob.waitFor("data", () => true, 10_000)).payload), "sentinel over tls");
      // The nodes write to the primary the Sentinel named: their heartbeats are there.
      const beats = await redis?.command(["EXISTS", `tls-sentinel:node:${a.nodeId}`, `tls-sentinel:node:${b.nodeId}`], clientTls);
      assert.equal(beats, 2);
      await alice.leave();
      await bob.leave();
    } finally {
      await Promise.all(nodes.map((n) => n.kill()));
      await sentinel.stop();
    }
  });

  test("without the client certificate start-up fails, naming the URL and hinting at the client certificate", async () => {
    const run = await runServer({ REDIS_URL: `rediss://127.0.0.1:${redis?.port}`, REDIS_TLS_CA_FILE: file("ca.crt") });
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`start-up failed: Redis at rediss://127\\.0\\.0\\.1:${redis?.port} did not answer`));
    assert.match(run.output, /REDIS_TLS_CERT_FILE/);
  });

  test("unreadable files, a certificate without its key, and TLS files with redis:// are configuration errors", () => {
    const problems = problemsOf;
    assert.deepEqual(problems({ REDIS_URL: "rediss://r:6380", REDIS_TLS_CA_FILE: file("missing.crt"), REDIS_TLS_CERT_FILE: file("client.crt") }), [
      `REDIS_TLS_CA_FILE=${JSON.stringify(file("missing.crt"))} cannot be read (ENOENT)`,
      "REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together: a client certificate needs its key",
    ]);
    assert.deepEqual(problems({ REDIS_URL: "redis://r:6379", REDIS_TLS_CA_FILE: file("ca.crt") }), ["REDIS_TLS_* files are set but REDIS_URL is redis://: use rediss:// for TLS"]);
    assert.equal(loadConfig({ REDIS_HOST: "r", REDIS_TLS_CA_FILE: file("ca.crt") }).redis?.url, "rediss://r:6379");
  });
});
