// /metrics is valid Prometheus text and moves as handshakes, sessions and messages happen;
// /volly/sessions/stats counts exactly the sessions this test created and closed.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { SignalRequestSchema } from "../../gen/volly/signaling/v1/signal_pb.js";
import { openChannel, UpgradeRefused } from "../helpers/channels.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { makeToken } from "../helpers/tokens.js";
import { parsePrometheusText, sumOf, type MetricFamily } from "./helpers/prom-text.js";
import { hasCommand, run } from "./helpers/required-tools.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

async function scrape(): Promise<{ text: string; families: Map<string, MetricFamily> }> {
  const res = await fetch(`${server.apiUrl}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, families: parsePrometheusText(text) };
}

interface Stats {
  active_sessions: number;
  expired_sessions: number;
  total_sessions: number;
  algorithm: string;
}

async function stats(): Promise<Stats> {
  const res = await fetch(`${server.apiUrl}/volly/sessions/stats`);
  assert.equal(res.status, 200);
  return (await res.json()) as Stats;
}

async function eventually(check: () => Promise<boolean>, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test("/metrics is strict Prometheus text (our parser, and promtool's when installed)", async () => {
  const { text, families } = await scrape();
  assert.ok(families.size > 30, `${families.size} families`);
  for (const f of families.values()) {
    assert.match(f.name, /^volly_/, `every metric is volly_*: ${f.name}`);
    assert.ok(f.help, `${f.name} has HELP`);
  }
  assert.equal(families.get("volly_pq_handshakes_total")?.type, "counter");
  assert.equal(families.get("volly_pq_handshake_duration_seconds")?.type, "histogram");
  assert.equal(families.get("volly_pq_sessions_active")?.type, "gauge");
  assert.ok(families.has("volly_process_resident_memory_bytes"), "default process metrics, prefixed");
  if (hasCommand("promtool", ["--version"])) {
    // promtool parses first (exit 1 on a format error), then lints (exit 3). The only lint findings allowed are
    // prom-client's own default gauges named *_total.
    const r = run("promtool", ["check", "metrics"], { input: text });
    assert.ok(r.status === 0 || r.status === 3, `promtool: ${r.status} ${r.stdout}${r.stderr}`);
    const findings = `${r.stdout}${r.stderr}`.split("\n").filter((l) => l.trim() !== "");
    for (const line of findings) assert.match(line, /^volly_nodejs_active_\w+_total non-counter metrics should not have "_total" suffix$/);
  }
  assert.throws(() => parsePrometheusText("volly_x 1\n"), /outside its declared family/);
  assert.throws(() => parsePrometheusText("# TYPE volly_x counter\nvolly_x{a=b} 1\n"), /not quoted/);
});

test("metrics and stats move with handshakes, sessions and messages, and drop when sessions close", async () => {
  const m0 = (await scrape()).families;
  const s0 = await stats();
  assert.equal(s0.algorithm, "ML-KEM-768");

  // Three PQ sessions: way (b) over WebSocket and gRPC, way (a) (token-bound key) over WebSocket.
  const room = "ops-metrics";
  const alice = await TestClient.connect({ kind: "ws-protobuf", port: server.port, identity: "alice", room, pq: "ML-KEM-768" });
  const bob = await TestClient.connect({ kind: "grpc-js", port: server.port, identity: "bob", room, pq: "ML-KEM-768" });
  const carol = await TestClient.connect({ kind: "ws-json", port: server.port, identity: "carol", room, pq: "ML-KEM-768", tokenKey: true });
  alice.send({ case: "offer", value: { sdp: "v=0 offer", target: "bob" } });
  const offer = await bob.waitFor("offer");
  assert.equal(offer.from, "alice");
  bob.send({ case: "answer", value: { sdp: "v=0 answer", target: "alice" } });
  await alice.waitFor("answer");
  bob.send({ case: "trickle", value: { candidate: "{\"candidate\":\"c\"}", target: "alice" } });
  await alice.waitFor("trickle");

  // One failed handshake: a key of the wrong length.
  const bad = await openChannel("ws-protobuf", server.port, { token: await makeToken({ identity: "mallory", room }) });
  bad.send(create(SignalRequestSchema, { message: { case: "pqHandshake", value: { algorithm: "ML-KEM-768", clientPublicKey: new Uint8Array(10) } } }));
  await bad.closed;

  const m1 = (await scrape()).families;
  const delta = (name: string, labels: Record<string, string> = {}): number => sumOf(m1, name, labels) - sumOf(m0, name, labels);
  assert.equal(delta("volly_pq_handshakes_total", { result: "success", algorithm: "ML-KEM-768" }), 3);
  assert.equal(delta("volly_pq_handshakes_total") - 3, 1, "one failed handshake");
  // Counted under the algorithm the client named, so failure rates can be read per algorithm.
  assert.equal(delta("volly_pq_handshakes_total", { result: "pq_key_invalid", algorithm: "ML-KEM-768" }), 1);

  // A token whose key is refused never reaches the upgrade: it is a failed handshake all the same.
  const badTokenKey = await makeToken({ identity: "mallory-token", room, claims: { pqPublicKey: Buffer.from(new Uint8Array(1184).fill(0xff)).toString("base64"), pqAlgorithm: "ML-KEM-768" } });
  await assert.rejects(openChannel("ws-protobuf", server.port, { token: badTokenKey }), UpgradeRefused);
  const refused = (await scrape()).families;
  assert.equal(sumOf(refused, "volly_pq_handshakes_total", { result: "pq_key_invalid", algorithm: "ML-KEM-768" }) - sumOf(m1, "volly_pq_handshakes_total", { result: "pq_key_invalid", algorithm: "ML-KEM-768" }), 1);
  assert.equal(delta("volly_pq_handshake_duration_seconds_count"), 3);
  assert.ok(delta("volly_pq_handshake_duration_seconds_sum") > 0);
  assert.equal(delta("volly_pq_sessions_created_total"), 3);
  assert.equal(delta("volly_pq_sessions_active"), 3);
  assert.equal(delta("volly_connections_active"), 3);
  assert.equal(delta("volly_connections_active", { transport: "grpc" }) + delta("volly_connections_active", { transport: "connect" }), 1, "bob over gRPC");
  assert.equal(delta("volly_participants_active"), 3);
  assert.ok(sumOf(m1, "volly_rooms_active") >= 1);
  // 3 × (pq_handshake or none, pq_finished) + offer, answer, trickle.
  assert.ok(delta("volly_signal_messages_total", { direction: "in" }) >= 8, "handshakes and relays in");
  assert.ok(delta("volly_signal_messages_total", { direction: "out" }) >= 6, "joins, participant updates and relays out");
  assert.equal(delta("volly_signal_messages_total", { type: "join", direction: "out" }), 3);
  assert.ok(delta("volly_errors_total") >= 1, "the failed handshake was answered with an error");
  assert.ok(sumOf(m1, "volly_memory_per_session_bytes") > 0);

  const s1 = await stats();
  assert.equal(s1.total_sessions - s0.total_sessions, 3);
  assert.equal(s1.active_sessions - s0.active_sessions, 3);
  assert.equal(s1.expired_sessions, s0.expired_sessions);

  await carol.leave();
  bob.kill();
  await eventually(async () => (await stats()).active_sessions - s0.active_sessions === 1, "active_sessions to drop to 1");
  await eventually(async () => sumOf((await scrape()).families, "volly_pq_sessions_active") - sumOf(m0, "volly_pq_sessions_active") === 1, "volly_pq_sessions_active to drop");
  const m2 = (await scrape()).families;
  assert.equal(sumOf(m2, "volly_connections_active") - sumOf(m0, "volly_connections_active"), 1);
  const s2 = await stats();
  assert.equal(s2.total_sessions - s0.total_sessions, 3, "closing does not change the total");
  await alice.leave();
  await eventually(async () => (await stats()).active_sessions === s0.active_sessions, "every session closed");
});

test("plaintext signaling (PQ off) counts messages by type", async () => {
  const plain = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
  try {
    const before = parsePrometheusText(await (await fetch(`${plain.apiUrl}/metrics`)).text());
    const a = await TestClient.connect({ kind: "ws-protobuf", port: plain.port, identity: "a", room: "plain", pq: false });
    const b = await TestClient.connect({ kind: "grpc-js", port: plain.port, identity: "b", room: "plain", pq: false });
    a.send({ case: "offer", value: { sdp: "v=0", target: "b" } });
    await b.waitFor("offer");
    b.send({ case: "answer", value: { sdp: "v=0", target: "a" } });
    await a.waitFor("answer");
    a.send({ case: "trickle", value: { candidate: "{}", target: "b" } });
    await b.waitFor("trickle");
    const now = parsePrometheusText(await (await fetch(`${plain.apiUrl}/metrics`)).text());
    for (const type of ["offer", "answer", "trickle"]) {
      const labels = { type, direction: "in" };
      assert.equal(sumOf(now, "volly_signal_messages_total", labels) - sumOf(before, "volly_signal_messages_total", labels), 1, `${type} in`);
    }
    assert.equal(sumOf(now, "volly_pq_handshakes_total"), 0, "no handshakes with PQ off");
    a.kill();
    b.kill();
  } finally {
    await plain.close();
  }
});

// Under PQ the server counts the inner message of each record (not `secure`), and relayed messages by
// their own type on the way out, so the dashboard's "by type" panel tells offers from candidates.
test("PQ signaling counts inner message types and observes relay latency", async () => {
  const m0 = (await scrape()).families;
  const a = await TestClient.connect({ kind: "ws-protobuf", port: server.port, identity: "todo-a", room: "todo", pq: "ML-KEM-768" });
  const b = await TestClient.connect({ kind: "ws-protobuf", port: server.port, identity: "todo-b", room: "todo", pq: "ML-KEM-768" });
  a.send({ case: "offer", value: { sdp: "v=0", target: "todo-b" } });
  await b.waitFor("offer");
  const m1 = (await scrape()).families;
  a.kill();
  b.kill();
  const d = (name: string, labels: Record<string, string> = {}): number => sumOf(m1, name, labels) - sumOf(m0, name, labels);
  assert.equal(d("volly_signal_messages_total", { type: "offer", direction: "in" }), 1);
  assert.equal(d("volly_signal_messages_total", { type: "offer", direction: "out" }), 1);
  assert.equal(d("volly_signal_messages_total", { type: "secure", direction: "in" }), 0);
  assert.equal(d("volly_relay_latency_seconds_count"), 1);
});
