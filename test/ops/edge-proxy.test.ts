// volly-edge (deploy/haproxy/haproxy.cfg), the TCP proxy that owns ports 7880/7881 in Docker Compose: the file
// passes `haproxy -c`, and the same file, pointed at a local server instead of Docker's DNS, carries WebSocket,
// gRPC (h2c) and HTTP API traffic with its health check passing.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { hasCommand, run, skipUnless } from "./helpers/required-tools.js";
import { freePorts } from "../helpers/redis.js";

const configPath = fileURLToPath(new URL("../../deploy/haproxy/haproxy.cfg", import.meta.url));
const skip = skipUnless(hasCommand("haproxy", ["-v"]), "haproxy", "haproxy");

/** Replaces `from` (which must occur exactly once) by `to`: a change to the real file fails loudly here. */
function replaceOnce(text: string, from: string, to: string): string {
  const parts = text.split(from);
  assert.equal(parts.length, 2, `haproxy.cfg must contain ${JSON.stringify(from)} exactly once`);
  return parts.join(to);
}

interface Edge {
  port: number;
  apiPort: number;
  stop(): void;
}

/** The shipped file, run with its replicas being `servers` instead of Docker's DNS; resolves once it is healthy. */
async function startEdge(servers: TestServer[]): Promise<Edge> {
  const [edgePort = 0, edgeApiPort = 0] = await freePorts(2);
  const edge = { port: edgePort, apiPort: edgeApiPort };
  let cfg = readFileSync(configPath, "utf8");
  cfg = replaceOnce(cfg, "bind :7880", `bind 127.0.0.1:${edge.port}`);
  cfg = replaceOnce(cfg, "bind :7881", `bind 127.0.0.1:${edge.apiPort}`);
  const lines = (port: (s: TestServer) => number) => servers.map((s, i) => `server volly${i + 1} 127.0.0.1:${port(s)}`).join("\n  ");
  cfg = replaceOnce(cfg, "server-template volly 10 volly-signaling:7880", lines((s) => s.port));
  cfg = replaceOnce(cfg, "server-template volly 10 volly-signaling:7881", lines((s) => s.apiPort));
  // Docker's DNS is not here; everything else (modes, timeouts, health checks, balancing, retries) is the real file.
  cfg = replaceOnce(cfg, " resolvers docker init-addr none", "");
  const dir = mkdtempSync(join(tmpdir(), "volly-edge-"));
  writeFileSync(join(dir, "haproxy.cfg"), cfg);
  const haproxy: ChildProcess = spawn("haproxy", ["-db", "-f", join(dir, "haproxy.cfg")], { stdio: ["ignore", "ignore", "pipe"] });
  const stop = () => {
    haproxy.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${edge.apiPort}/healthz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      stop();
      throw new Error("the edge never became healthy");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ...edge, stop };
}

describe("volly-edge (HAProxy)", { skip }, () => {
  let server: TestServer;
  let edge: Edge;

  before(async () => {
    server = await startTestServer();
    edge = await startEdge([server]);
  });

  after(async () => {
    edge?.stop();
    await server?.close();
  });

  test("the shipped file is valid (haproxy -c)", () => {
    const r = run("haproxy", ["-c", "-f", configPath]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test("HTTP through both ports: /healthz and /volly/sessions/stats", async () => {
    const health = await fetch(`http://127.0.0.1:${edge.port}/healthz`);
    assert.deepEqual(await health.json(), { status: "ok" });
    const stats = (await (await fetch(`http://127.0.0.1:${edge.apiPort}/volly/sessions/stats`)).json()) as { algorithm: string };
    assert.equal(stats.algorithm, "ML-KEM-768");
  });

  test("a WebSocket client and a gRPC client relay an offer through the edge, after their PQ handshakes", async () => {
    const alice = await TestClient.connect({ kind: "ws-protobuf", port: edge.port, identity: "edge-alice", room: "edge", pq: "ML-KEM-768" });
    const bob = await TestClient.connect({ kind: "grpc-js", port: edge.port, identity: "edge-bob", room: "edge", pq: "ML-KEM-768" });
    alice.send({ case: "offer", value: { sdp: "v=0 edge", target: "edge-bob" } });
    const offer = await bob.waitFor("offer");
    assert.equal(offer.from, "edge-alice");
    assert.equal(offer.sdp, "v=0 edge");
    const stats = (await (await fetch(`http://127.0.0.1:${edge.apiPort}/volly/sessions/stats`)).json()) as { active_sessions: number };
    assert.equal(stats.active_sessions, 2);
    alice.kill();
    bob.kill();
  });
});

// A rolling restart: a replica that drains closes its listeners long before the proxy's health check (every
// 2 s) can mark it down, and leastconn picks exactly that replica, which just dropped to no connections.
describe("volly-edge (HAProxy) while a replica drains", { skip }, () => {
  const servers: TestServer[] = [];
  let edge: Edge | undefined;

  after(async () => {
    edge?.stop();
    await Promise.all(servers.map((s) => s.close()));
  });

  test("a client connecting right after a replica stopped is sent to another replica, not refused", async () => {
    servers.push(await startTestServer(), await startTestServer());
    edge = await startEdge(servers);
    const alice = await TestClient.connect({ kind: "ws-protobuf", port: edge.port, identity: "drain-alice", room: "drain", pq: "ML-KEM-768" });
    const sessions = await Promise.all(servers.map(async (s) => ((await (await fetch(`http://127.0.0.1:${s.apiPort}/volly/sessions/stats`)).json()) as { active_sessions: number }).active_sessions));
    const holder = sessions.indexOf(1);
    assert.deepEqual([...sessions].sort(), [0, 1], "alice is on one replica");
    // The replica without connections stops: leastconn's next pick, still up as far as the checks know.
    await servers[1 - holder]?.close();
    const bob = await TestClient.connect({ kind: "ws-protobuf", port: edge.port, identity: "drain-bob", room: "drain", pq: "ML-KEM-768" });
    // Each test server has a store of its own: bob sees alice only on her replica.
    assert.deepEqual(bob.join?.otherParticipants.map((p) => p.identity), ["drain-alice"]);
    alice.kill();
    bob.kill();
  });
});
