import { existsSync, readFileSync } from "node:fs";
import type { HandshakeCost } from "./handshake-cost.js";
import { median } from "./lib/stats.js";

/** figures per target, per scenario, one object per run. */
export type Results = Record<string, Record<string, Array<Record<string, number>>>>;

interface ReportInput {
  results: Results;
  handshakes: HandshakeCost[];
  machine: string;
  command: string;
  runs: number;
  /** "run N scenario target: why", one per run that produced no figures. */
  failures: readonly string[];
}

/** A goal's ratio: the median of the per-run ratios, and over how many runs. */
interface RunRatios {
  median: number;
  runs: number;
}

/** Renders docs/benchmarks.md: medians of the runs, ratios against the baselines of the same run, the goals. */
export function renderReport(input: ReportInput): string {
  const m = (target: string, scenario: string, key: string): number =>
    median((input.results[target]?.[scenario] ?? []).map((f) => f[key] ?? Number.NaN).filter((v) => !Number.isNaN(v)));
  const f = (v: number, digits = 0) => (Number.isFinite(v) ? v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "n/a");
  const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : Number.NaN);
  const targets = Object.keys(input.results);

  // The primary figure is server CPU per relayed message and per join (its inverse is what one core can
  // carry): once the server is fast the generator saturates first, since it does the same crypto, so measured
  // rates understate the faster server. Rates are shown beside for every goal that has one.
  const goals: Array<[string, RunRatios, RunRatios, string, boolean]> = [];
  const goal = (name: string, primary: RunRatios, measured: RunRatios, want: string, ok: (v: number) => boolean) =>
    goals.push([name, primary, measured, want, Number.isFinite(primary.median) && ok(primary.median)]);
  // A goal's ratio is taken within each run, between figures measured minutes apart, and the median of
  // those is reported: the machine's speed drifts between runs, and a ratio of medians taken from
  // different runs would carry that drift.
  const perRun = (figure: (t: string, run: number) => number, a: string, b: string): RunRatios => {
    const ratios = Array.from({ length: input.runs }, (_, r) => ratio(figure(a, r + 1), figure(b, r + 1))).filter((v) => Number.isFinite(v));
    return { median: median(ratios), runs: ratios.length };
  };
  const none: RunRatios = { median: Number.NaN, runs: 0 };
  // Figures carry the run they came from (a failed run leaves a gap rather than shifting the others).
  const at = (scenario: string, key: string) => (t: string, run: number) =>
    input.results[t]?.[scenario]?.find((f) => f.run === run)?.[key] ?? Number.NaN;
  // Capacity: the inverse of server CPU per message or join.
  const capacityAt = (scenario: string, key: string) => (t: string, run: number) => 1 / at(scenario, key)(t, run);
  // What one more idle participant adds: the growth from 1k to 5k participants, without what any first
  // thousand costs once (V8's young generation grown by the joins, code compiled for them).
  const marginalOf = (per5k: number, per1k: number) => (5000 * per5k - 1000 * per1k) / 4000;
  const marginalAt = (t: string, run: number) => marginalOf(at("idle-5k", "bytesPerParticipant")(t, run), at("idle-1k", "bytesPerParticipant")(t, run));
  const marginal = (t: string) => marginalOf(m(t, "idle-5k", "bytesPerParticipant"), m(t, "idle-1k", "bytesPerParticipant"));
  const cpuPerMessage = capacityAt("throughput", "serverCpuMicrosPerMessage");
  const messages = at("throughput", "messagesPerSecond");
  goal("PQ relay ÷ PeerJS (messages)", perRun(cpuPerMessage, "volly-pq", "peerjs"), perRun(messages, "volly-pq", "peerjs"), "≥ 1.0", (v) => v >= 1.0);
  goal("plaintext protobuf relay ÷ bare relay (messages)", perRun(cpuPerMessage, "volly-plain", "bare-ws-relay"), perRun(messages, "volly-plain", "bare-ws-relay"), "≥ 0.6", (v) => v >= 0.6);
  goal("PQ latency p99 at 1,000 msgs/s ÷ bare relay p99", perRun(at("latency", "p99Ms"), "volly-pq", "bare-ws-relay"), none, "≤ 1.3", (v) => v <= 1.3);
  goal("PQ memory per idle participant (5k) ÷ PeerJS", perRun(at("idle-5k", "bytesPerParticipant"), "volly-pq", "peerjs"), none, "≤ 1.0", (v) => v <= 1.0);
  goal("PQ marginal memory per idle participant (1k → 5k) ÷ PeerJS", perRun(marginalAt, "volly-pq", "peerjs"), none, "≤ 1.0", (v) => v <= 1.0);
  goal("PQ joins (full handshake) ÷ PeerJS connections", perRun(capacityAt("join", "serverCpuMicrosPerJoin"), "volly-pq", "peerjs"), perRun(at("join", "joinsPerSecond"), "volly-pq", "peerjs"), "≥ 0.7", (v) => v >= 0.7);
  goal("cross-node (Redis, 2 nodes) ÷ single-node PQ (messages)", perRun(cpuPerMessage, "volly-pq-redis-2-nodes", "volly-pq"), perRun(messages, "volly-pq-redis-2-nodes", "volly-pq"), "≥ 0.5", (v) => v >= 0.5);

  const lines: string[] = [];
  lines.push("# Benchmarks", "");
  lines.push("Generated by `bench/run.ts`; do not edit by hand (notes at the end come from `bench/notes.md`).", "");
  lines.push(`- Machine: ${input.machine}`);
  lines.push(`- Command: \`${input.command}\``);
  lines.push(`- Method: each target runs as its own process pinned to core 0 (\`taskset -c 0\`), the load generator`);
  lines.push(`  is one process pinned to core 1; targets are interleaved (A B C A B C ...) and every figure is the`);
  lines.push(`  median of ${input.runs} run(s). Server CPU comes from \`/proc/<pid>/stat\` (user + system) over the measured`);
  lines.push("  window; for the Redis target it sums both nodes and the Redis server, all on core 0, and so does its memory.");
  lines.push("- Workload: pairs of peers relaying 1 SDP offer (~3 KB) per 5 ICE candidates (~200 B), at most 16 messages");
  lines.push("  in flight per pair (20 pairs), measured for 5 s once the target has relayed 250,000 messages (at least 1 s, at most 12 s:");
  lines.push("  V8 optimises a function after enough calls, so a slower target needs longer to reach the same steady state);");
  lines.push("  latency at a fixed 1,000 msgs/s over 10 pairs for 10 s, after 2 s at that rate unsampled; joins are connect → `join`");
  lines.push("  (for Volly with PQ including the ML-KEM-768 handshake), 10 at a time; memory is the RSS growth of a fresh");
  lines.push("  server per idle connected participant. Loopback only.");
  lines.push("- Volly runs with `LOG_LEVEL=warn` (what docker-compose.production.yml sets; the default `info` writes two lines");
  lines.push("  per join), and with the limits a saturation test would trip raised: the per-connection message rate, the ping");
  lines.push("  timeout, the participants per room and the connections per IP (all from one address here); the rest is the");
  lines.push("  default configuration (`VOLLY_BENCH_ENV` in `bench/targets.ts`).");
  lines.push(`- Runs that failed (their figures are missing; medians are over the runs that did not): ${input.failures.length === 0 ? "none." : ""}`);
  for (const failure of input.failures) lines.push(`  - ${failure}`);
  lines.push("- Every target and the generator use the same `ws` from one `node_modules`, with `bufferutil` (native frame");
  lines.push("  masking and unmasking) loaded.", "");

  lines.push("## Goals", "");
  lines.push("Throughput and join goals compare capacity: the inverse of server CPU per message or join (the primary");
  lines.push("figure, see \"Reading the figures\"); the ratio of the measured rates, which the generator's own core caps,");
  lines.push("is beside it. Latency and memory are compared directly. Each ratio is taken within a run (the targets of a");
  lines.push("run are measured minutes apart) and the median over the runs is shown, so that drift of the machine's speed");
  lines.push("between runs cancels; the tables below show each target's median over the runs.", "");
  lines.push("| goal | by server CPU | by measured rate | wanted | met |", "|---|---:|---:|---|---|");
  // A ratio over fewer runs than asked for says so.
  const shown = (r: RunRatios) => (r.runs === 0 ? "" : f(r.median, 2) + (r.runs < input.runs ? ` (${r.runs} of ${input.runs} runs)` : ""));
  for (const [name, primary, measured, want, ok] of goals) lines.push(`| ${name} | ${shown(primary) || "n/a"} | ${shown(measured)} | ${want} | ${ok ? "yes" : "**no**"} |`);
  lines.push("");

  lines.push("## Relay throughput (saturation)", "", "| target | msgs/s | server CPU µs/msg | server CPU % | generator CPU % | warm-up s |", "|---|---:|---:|---:|---:|---:|");
  for (const t of targets) {
    const capped = (input.results[t]?.throughput ?? []).filter((x) => x.warmUpCapped === 1).length;
    const warmUp = f(m(t, "throughput", "warmUpSeconds"), 1) + (capped > 0 ? ` (${capped} run(s) at the cap, short of 250,000 messages)` : "");
    lines.push(`| ${t} | ${f(m(t, "throughput", "messagesPerSecond"))} | ${f(m(t, "throughput", "serverCpuMicrosPerMessage"), 1)} | ${f(m(t, "throughput", "serverCpuPercent"))} | ${f(m(t, "throughput", "generatorCpuPercent"))} | ${warmUp} |`);
  }
  const split = "volly-pq-redis-2-nodes";
  if (targets.includes(split)) {
    lines.push("", `Server CPU of \`${split}\` per message by process: the senders' node ${f(m(split, "throughput", "serverCpuMicrosPerMessage0"), 1)} µs, ` +
      `the recipients' node ${f(m(split, "throughput", "serverCpuMicrosPerMessage1"), 1)} µs, Redis ${f(m(split, "throughput", "serverCpuMicrosPerMessage2"), 1)} µs.`);
  }
  lines.push("", "## One-way latency at 1,000 msgs/s", "", "| target | p50 ms | p99 ms |", "|---|---:|---:|");
  for (const t of targets) lines.push(`| ${t} | ${f(m(t, "latency", "p50Ms"), 2)} | ${f(m(t, "latency", "p99Ms"), 2)} |`);
  lines.push("", "## Joins (burst, 10 concurrent)", "", "| target | joins/s | p50 ms | p99 ms | server CPU µs/join |", "|---|---:|---:|---:|---:|");
  for (const t of targets) {
    lines.push(`| ${t} | ${f(m(t, "join", "joinsPerSecond"))} | ${f(m(t, "join", "p50Ms"), 1)} | ${f(m(t, "join", "p99Ms"), 1)} | ${f(m(t, "join", "serverCpuMicrosPerJoin"))} |`);
  }
  lines.push("", "## Memory per idle connected participant", "", "RSS growth of a fresh server divided by the participants; marginal is the growth from 1k to 5k per added participant.", "");
  lines.push("| target | bytes at 1k | bytes at 5k | marginal bytes (1k → 5k) |", "|---|---:|---:|---:|");
  for (const t of targets) lines.push(`| ${t} | ${f(m(t, "idle-1k", "bytesPerParticipant"))} | ${f(m(t, "idle-5k", "bytesPerParticipant"))} | ${f(marginal(t))} |`);
  lines.push("", "## Handshake cost alone (server side, one core)", "", "| algorithm | µs per handshake | handshakes/s |", "|---|---:|---:|");
  for (const h of input.handshakes) lines.push(`| ${h.algorithm} | ${f(h.microsPerHandshake)} | ${f(h.handshakesPerSecond)} |`);
  lines.push("");
  if (existsSync("bench/notes.md")) lines.push(readFileSync("bench/notes.md", "utf8"));
  return lines.join("\n") + "\n";
}
