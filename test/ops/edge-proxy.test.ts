// volly-edge (deploy/haproxy/haproxy.cfg), the TCP proxy that owns ports 7880/7881 in Docker Compose: the file
// passes `haproxy -c`, and the same file, pointed at a local server instead of Docker's DNS, carries WebSocket,
// gRPC (h2c) and HTTP API traffic with its health check passing.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { hasCommand, run, skipUnless } from "./helpers/required-tools.js";

const configPath = fileURLToPath(new URL("../../deploy/haproxy/haproxy.cfg", import.meta.url));
const skip = skipUnless(hasCommand("haproxy", ["-v"]), "haproxy", "haproxy");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      const port = typeof address === "object" && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Replaces `from` (which must occur exactly once) by `to`: a change to the real file fails loudly here. */
function replaceOnce(text: string, from: string, to: string): string {
  const parts = text.split(from);
  assert.equal(parts.length, 2, `haproxy.cfg must contain ${JSON.stringify(from)} exactly once`);
  return parts.join(to);
}

describe("volly-edge (HAProxy)", { skip }, () => {
  let server: TestServer;
  let haproxy: ChildProcess;
  let dir: string;
  let edge: { port: number; apiPort: number };

  before(async () => {
    server = await startTestServer();
    edge = { port: await freePort(), apiPort: await freePort() };
    let cfg = readFileSync(configPath, "utf8");
    cfg = replaceOnce(cfg, "bind :7880", `bind 127.0.0.1:${edge.port}`);
    cfg = replaceOnce(cfg, "bind :7881", `bind 127.0.0.1:${edge.apiPort}`);
    cfg = replaceOnce(cfg, "server-template volly 10 volly-signaling:7880", `server volly1 127.0.0.1:${server.port}`);
    cfg = replaceOnce(cfg, "server-template volly 10 volly-signaling:7881", `server volly1 127.0.0.1:${server.apiPort}`);
    // Docker's DNS is not here; everything else (modes, timeouts, health checks, balancing) is the real file.
    cfg = replaceOnce(cfg, " resolvers docker init-addr none", "");
    dir = mkdtempSync(join(tmpdir(), "volly-edge-"));
    writeFileSync(join(dir, "haproxy.cfg"), cfg);
    haproxy = spawn("haproxy", ["-db", "-f", join(dir, "haproxy.cfg")], { stdio: ["ignore", "ignore", "pipe"] });
    const deadline = Date.now() + 15_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${edge.apiPort}/healthz`).then((r) => r.status === 200, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error("the edge never became healthy");
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(async () => {
    haproxy?.kill("SIGTERM");
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
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
