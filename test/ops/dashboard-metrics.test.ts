// The Grafana dashboard and Prometheus config of deploy/: every metric the dashboard queries is one the server
// exports (after real PQ handshakes and relays, so labelled series exist), every expression is valid PromQL,
// the panels point at the provisioned datasource, and the dashboard covers the metrics of DESIGN §7.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { parsePrometheusText } from "./helpers/prom-text.js";
import { dashboardExpressions, metricNamesIn } from "./helpers/promql-names.js";
import { hasCommand, run, skipUnless } from "./helpers/required-tools.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dashboardPath = join(root, "deploy/grafana/dashboards/volly-signaling.json");
const dashboard: unknown = JSON.parse(readFileSync(dashboardPath, "utf8"));
const expressions = dashboardExpressions(dashboard);
const promtool = hasCommand("promtool", ["--version"]);

let server: TestServer;
let exported: Set<string>;
before(async () => {
  server = await startTestServer();
  const a = await TestClient.connect({ kind: "ws-protobuf", port: server.port, identity: "dash-a", room: "dash", pq: "ML-KEM-768" });
  const b = await TestClient.connect({ kind: "grpc-js", port: server.port, identity: "dash-b", room: "dash", pq: "ML-KEM-768", tokenKey: true });
  a.send({ case: "offer", value: { sdp: "v=0", target: "dash-b" } });
  await b.waitFor("offer");
  const families = parsePrometheusText(await (await fetch(`${server.apiUrl}/metrics`)).text());
  exported = new Set();
  for (const f of families.values()) {
    exported.add(f.name);
    if (f.type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) exported.add(f.name + s);
    if (f.type === "summary") for (const s of ["_sum", "_count"]) exported.add(f.name + s);
  }
  a.kill();
  b.kill();
});
after(() => server.close());

test("every metric the dashboard queries is exported by the server", () => {
  assert.ok(expressions.length >= 25, `${expressions.length} expressions`);
  const missing: string[] = [];
  for (const expr of expressions) {
    const names = metricNamesIn(expr);
    assert.ok(names.length > 0, `no metric found in ${expr}`);
    // volly_redis_up exists only on a node with Redis (test/core/redis-up-metric.test.ts); this one has none.
    for (const name of names) if (!exported.has(name) && name !== "volly_redis_up") missing.push(`${name}  (in ${expr})`);
  }
  assert.deepEqual(missing, [], "metrics the server does not export");
});

test("the name extraction sees through functions, matchers, ranges and grouping", () => {
  assert.deepEqual(
    metricNamesIn('histogram_quantile(0.95, sum by (le, command) (rate(volly_x_bucket{instance=~"$instance",a="b c"}[$__rate_interval])))'),
    ["volly_x_bucket"],
  );
  assert.deepEqual(metricNamesIn("sum(rate(a_total[5m])) / ignoring(x) sum(b_total offset 1h) > 1e3"), ["a_total", "b_total"]);
  assert.deepEqual(metricNamesIn("label_values(volly_up, instance)"), ["volly_up"]);
});

test("the dashboard covers the metrics of DESIGN §7", () => {
  const queried = new Set(expressions.flatMap(metricNamesIn).map((n) => n.replace(/_(bucket|sum|count)$/, "")));
  const required = [
    "volly_pq_handshakes_total", // handshakes by result (success rate)
    "volly_pq_handshake_duration_seconds",
    "volly_pq_sessions_created_total",
    "volly_pq_sessions_expired_total",
    "volly_pq_sessions_active",
    "volly_pq_rekeys_total",
    "volly_rooms_active",
    "volly_participants_active",
    "volly_connections_active",
    "volly_signal_messages_total",
    "volly_relay_latency_seconds",
    "volly_webrtc_connection_establishment_seconds",
    "volly_memory_per_session_bytes",
    "volly_redis_command_duration_seconds",
    "volly_redis_up",
    "volly_errors_total",
    "volly_limit_exceeded_total",
  ];
  assert.deepEqual(required.filter((m) => !queried.has(m)), []);
});

test("panels use the provisioned Prometheus datasource; ids unique; layout fits 24 columns", () => {
  const provisioned = readFileSync(join(root, "deploy/grafana/provisioning/datasources/prometheus.yml"), "utf8");
  const uid = /^\s*uid:\s*(\S+)\s*$/m.exec(provisioned)?.[1];
  assert.equal(uid, "volly-prometheus");
  assert.match(provisioned, /url:\s*http:\/\/volly-prometheus:9090/, "the compose service name and port");
  const d = dashboard as { uid: string; panels: Array<{ id: number; type: string; gridPos: { x: number; w: number }; datasource?: { uid: string }; targets?: Array<{ datasource?: { uid: string } }> }> };
  assert.equal(d.uid, "volly-signaling");
  const ids = d.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const p of d.panels) {
    assert.ok(p.gridPos.x + p.gridPos.w <= 24, `panel ${p.id} overflows`);
    if (p.type === "row") continue;
    assert.equal(p.datasource?.uid, uid, `panel ${p.id}`);
    for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, uid, `panel ${p.id} target`);
  }
  const provider = readFileSync(join(root, "deploy/grafana/provisioning/dashboards/volly.yml"), "utf8");
  assert.match(provider, /path:\s*\/var\/lib\/grafana\/dashboards/);
});

test("every dashboard expression is valid PromQL (promtool check rules)", { skip: skipUnless(promtool, "promtool", "prometheus") }, () => {
  const dir = mkdtempSync(join(tmpdir(), "volly-promql-"));
  try {
    // Grafana substitutes its variables before querying; give promtool what Grafana would send.
    const rules = expressions
      .filter((e) => !e.startsWith("label_values("))
      .map((e, i) => `      - record: volly:dashboard_expr_${i}\n        expr: ${JSON.stringify(e.replaceAll("$__rate_interval", "1m").replaceAll("$instance", ".*"))}`);
    writeFileSync(join(dir, "rules.yml"), `groups:\n  - name: dashboard\n    rules:\n${rules.join("\n")}\n`);
    const r = run("promtool", ["check", "rules", join(dir, "rules.yml")]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("deploy/prometheus/prometheus.yml is valid and scrapes every volly-signaling replica on 7881", { skip: skipUnless(promtool, "promtool", "prometheus") }, () => {
  const path = join(root, "deploy/prometheus/prometheus.yml");
  const r = run("promtool", ["check", "config", path]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const text = readFileSync(path, "utf8");
  assert.match(text, /names: \["volly-signaling"\]/);
  assert.match(text, /port: 7881/);
  assert.match(text, /metrics_path: \/metrics/);
});
