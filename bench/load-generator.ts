// The load generator: one process (pinned to its own core by bench/run.ts) that connects peers to one
// target and runs one scenario, then prints a JSON line with its figures. Server CPU is read from
// /proc/<pid>/stat at the edges of the measurement window; the generator's own CPU from process.cpuUsage().
import type { BenchPeer } from "./clients/bench-peer.js";
import { connectPeer, type TargetKind } from "./clients/connect-peer.js";
import { useNativeKeccak } from "../src/pq/native-keccak.js";
import { useNativeMlKem } from "../src/pq/native-mlkem.js";
import { cpuMicros, cpuSplitMicros, rssBytes, writeSyscalls } from "./lib/proc-stats.js";
import { quantile } from "./lib/stats.js";
import { CANDIDATE, SDP } from "./lib/message-mix.js";

export interface GeneratorConfig {
  target: TargetKind;
  /** Ports of the server nodes; peers alternate between them (cross-node pairs with two). */
  ports: number[];
  serverPids: number[];
  pq: boolean;
  scenario: "throughput" | "latency" | "join" | "idle";
  pairs: number;
  window: number;
  seconds: number;
  rate: number;
  joins: number;
  concurrency: number;
  idle: number;
}

let serial = 0;

function connect(c: GeneratorConfig, id: string, room: string, node: number): Promise<BenchPeer & { joinMs: number }> {
  return connectPeer(c.target, c.ports[node % c.ports.length] as number, id, room, c.pq);
}

function serverCpu(c: GeneratorConfig): number {
  return c.serverPids.reduce((sum, pid) => sum + cpuMicros(pid), 0);
}

async function pairsOf(c: GeneratorConfig): Promise<Array<[BenchPeer, BenchPeer, string, string]>> {
  const pairs: Array<[BenchPeer, BenchPeer, string, string]> = [];
  for (let i = 0; i < c.pairs; i++) {
    const run = serial++;
    const a = `a${i}-${run}`;
    const b = `b${i}-${run}`;
    const room = `bench-${i}-${run}`;
    // With two nodes, a is on the first and b on the second: every message crosses nodes.
    pairs.push([await connect(c, a, room, 0), await connect(c, b, room, 1), a, b]);
  }
  return pairs;
}

/**
 * Throughput is measured once a target has relayed this many messages (and at least `WARM_UP_MIN_MS`): V8
 * compiles a function with TurboFan after enough calls, not after enough time, so a fixed-time warm-up left
 * the slower targets still compiling while they were measured (the two-node target's nodes spent 5–18 % of
 * their CPU in TurboFan's compile jobs inside the window after a one-second warm-up, a single node 0.1 %).
 */
const WARM_UP_MESSAGES = 250_000;
const WARM_UP_MIN_MS = 1000;
/** Bounds the run whatever the target's rate. */
const WARM_UP_MAX_MS = 12_000;

/** Saturation: each pair keeps `window` messages in flight (1 offer per 5 candidates) for `seconds`, after a warm-up. */
async function throughput(c: GeneratorConfig) {
  const pairs = await pairsOf(c);
  let relayed = 0;
  let warmed = 0;
  let measuring = false;
  let stop = false;
  for (const [a, b, , bId] of pairs) {
    let inFlight = 0;
    let n = 0;
    const pump = () => {
      while (!stop && inFlight < c.window) {
        inFlight++;
        a.send(bId, n++ % 6 === 0 ? "offer" : "candidate", n % 6 === 1 ? SDP : CANDIDATE);
      }
    };
    b.onMessage(() => {
      inFlight--;
      if (measuring) relayed++;
      else warmed++;
      pump();
    });
    pump();
  }
  const warmStart = performance.now();
  await sleep(WARM_UP_MIN_MS);
  while (warmed < WARM_UP_MESSAGES && performance.now() - warmStart < WARM_UP_MAX_MS) await sleep(50);
  const warmUpSeconds = (performance.now() - warmStart) / 1000;
  // A target too slow to relay WARM_UP_MESSAGES within the cap is measured less warm than the others: flagged.
  const warmUpCapped = warmed < WARM_UP_MESSAGES ? 1 : 0;
  const perProcess0 = c.serverPids.map(cpuMicros);
  const writes0 = c.serverPids.map(writeSyscalls);
  const system0 = c.serverPids.reduce((sum, pid) => sum + cpuSplitMicros(pid).system, 0);
  const cpu0 = serverCpu(c);
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  measuring = true;
  await sleep(c.seconds * 1000);
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = serverCpu(c) - cpu0;
  // Per server process (for two nodes: the senders' node, the recipients' node, then Redis).
  const perProcess = Object.fromEntries(c.serverPids.map((pid, i) => [`serverCpuMicrosPerMessage${i}`, (cpuMicros(pid) - (perProcess0[i] as number)) / Math.max(1, relayed)]));
  const own = process.cpuUsage(own0);
  const writes = c.serverPids.reduce((sum, pid, i) => sum + writeSyscalls(pid) - (writes0[i] as number), 0);
  const system = c.serverPids.reduce((sum, pid) => sum + cpuSplitMicros(pid).system, 0) - system0;
  stop = true;
  for (const [a, b] of pairs) {
    a.close();
    b.close();
  }
  return {
    messagesPerSecond: relayed / elapsed,
    serverCpuMicrosPerMessage: cpu / Math.max(1, relayed),
    ...(c.serverPids.length > 1 ? perProcess : {}),
    serverCpuPercent: (cpu / 1e6 / elapsed) * 100,
    generatorCpuPercent: ((own.user + own.system) / 1e6 / elapsed) * 100,
    serverWriteSyscallsPerMessage: writes / Math.max(1, relayed),
    // The kernel's part of serverCpuMicrosPerMessage (socket reads and writes, page faults).
    serverSystemCpuMicrosPerMessage: system / Math.max(1, relayed),
    warmUpSeconds,
    warmUpCapped,
  };
}

/** One-way latency at a fixed total rate (timestamps ride in the payload; both ends are this process). */
async function latency(c: GeneratorConfig) {
  const pairs = await pairsOf(c);
  const samples: number[] = [];
  // Steady state is what is measured: the first two seconds at the same rate warm both sides' JIT (a fresh
  // server per scenario would otherwise put its compilation pauses into the tail) and are not sampled.
  const warmupMs = 2000;
  let sampling = false;
  for (const [, b] of pairs) {
    b.onMessage((_from, _kind, payload) => {
      const sent = Number(payload.slice(0, payload.indexOf("|")));
      if (sampling) samples.push(performance.now() - sent);
    });
  }
  const interval = 1000 / c.rate;
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < warmupMs + c.seconds * 1000) {
    if (!sampling && performance.now() - start >= warmupMs) sampling = true;
    const due = Math.floor((performance.now() - start) / interval);
    while (sent < due) {
      const [a, , , bId] = pairs[sent % pairs.length] as [BenchPeer, BenchPeer, string, string];
      const kind = sent % 6 === 0 ? "offer" : "candidate";
      a.send(bId, kind, `${performance.now()}|${kind === "offer" ? SDP : CANDIDATE}`);
      sent++;
    }
    await sleep(1);
  }
  await sleep(500);
  for (const [a, b] of pairs) {
    a.close();
    b.close();
  }
  return { sent, sampled: samples.length, p50Ms: quantile(samples, 0.5), p99Ms: quantile(samples, 0.99) };
}

/** A burst of joins, `concurrency` at a time: connect → join (including the PQ handshake). */
async function joins(c: GeneratorConfig) {
  const burst = async (count: number) => {
    const times: number[] = [];
    const peers: BenchPeer[] = [];
    let next = 0;
    const run = serial++;
    await Promise.all(Array.from({ length: c.concurrency }, async () => {
      while (next < count) {
        const i = next++;
        // Rooms of two: the 1:1 call every P2P signaling server is built for (PeerJS has no rooms at all).
        const peer = await connect(c, `j${i}-${run}`, `join-${run}-${Math.floor(i / 2)}`, i);
        times.push(peer.joinMs);
        peers.push(peer);
      }
    }));
    return { times, peers };
  };
  // Warm the JIT of both sides first; the measured burst follows on a warm server.
  const warm = await burst(Math.min(200, c.joins));
  for (const p of warm.peers) p.close();
  await sleep(500);
  const cpu0 = serverCpu(c);
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  const { times, peers } = await burst(c.joins);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = serverCpu(c) - cpu0;
  const own = process.cpuUsage(own0);
  for (const p of peers) p.close();
  return {
    joinsPerSecond: c.joins / elapsed,
    p50Ms: quantile(times, 0.5),
    p99Ms: quantile(times, 0.99),
    serverCpuMicrosPerJoin: cpu / c.joins,
    // The client side of every join runs in this one process: when it nears 100 % of its core, the
    // generator, not the server, sets the rate.
    generatorCpuMicrosPerJoin: (own.user + own.system) / c.joins,
    generatorCpuPercent: ((own.user + own.system) / 1e6 / elapsed) * 100,
  };
}

/**
 * Marginal resident memory per idle connected participant: the growth of every server process together (for two
 * nodes both nodes and Redis, which holds each participant's records), as server CPU is summed.
 */
async function idle(c: GeneratorConfig) {
  const rss = () => c.serverPids.reduce((sum, pid) => sum + rssBytes(pid), 0);
  await sleep(1000);
  const before = rss();
  const peers: BenchPeer[] = [];
  const run = serial++;
  for (let i = 0; i < c.idle; i += c.concurrency) {
    const batch = await Promise.all(Array.from({ length: Math.min(c.concurrency, c.idle - i) }, (_, k) =>
      connect(c, `i${i + k}-${run}`, `idle-${run}-${Math.floor((i + k) / 10)}`, 0)));
    peers.push(...batch);
  }
  await sleep(1000);
  for (const p of peers) p.settle?.();
  await sleep(3000);
  const after = rss();
  for (const p of peers) p.close();
  return { connections: c.idle, rssBeforeBytes: before, rssAfterBytes: after, bytesPerParticipant: (after - before) / c.idle };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const config = JSON.parse(process.argv[2] ?? "{}") as GeneratorConfig;
// The generator does the client side of every handshake: give it the same native ML-KEM and SHA-3 as the server.
await useNativeKeccak();
useNativeMlKem();
const scenarios = { throughput, latency, join: joins, idle };
scenarios[config.scenario](config).then(
  (result) => {
    console.log(JSON.stringify(result));
    process.exit(0);
  },
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
