// `npx tsx bench/idle-heap.ts --target=volly-pq --participants=2000`: the live heap an idle connected
// participant costs one target, by what holds it. The server takes a heap snapshot (which runs a full GC
// first) after a warm-up and again with the participants connected; the difference, divided by their
// number, is listed by kind and constructor, less the code the JIT compiled meanwhile (a fixed cost, on a
// line of its own). RSS (what `npm run bench` reports) adds to this the garbage
// not yet collected and the native memory of each socket. Not part of `npm run bench`: a snapshot stops
// the server for seconds.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchPeer } from "./clients/bench-peer.js";
import { connectPeer, type TargetKind } from "./clients/connect-peer.js";
import { TARGETS, startTarget, type TargetName } from "./targets.js";
import { parseFlags } from "../src/cli/cli-args.js";
import { useNativeKeccak } from "../src/pq/native-keccak.js";
import { useNativeMlKem } from "../src/pq/native-mlkem.js";

/** The command's flags, checked: a mistake ends the command with its message, before anything starts. */
function flagsOf(): { name: TargetName; participants: number; rows: number } {
  const flags = parseFlags(process.argv.slice(2), { target: { type: "string" }, participants: { type: "string" }, rows: { type: "string" } });
  const name = String(flags.target ?? "volly-pq") as TargetName;
  const participants = Number(flags.participants ?? 2000);
  const rows = Number(flags.rows ?? 30);
  if (!TARGETS.includes(name)) throw new Error(`--target must be one of ${TARGETS.join(", ")}`);
  if (name === "volly-pq-redis-2-nodes") throw new Error("one process per target: the two-node target has three");
  if (!Number.isInteger(participants) || participants < 10) throw new Error("--participants must be an integer of at least 10");
  if (!Number.isInteger(rows) || rows < 1) throw new Error("--rows must be a positive integer");
  return { name, participants, rows };
}

/** Connects `count` idle participants in rooms of 10, 10 at a time, and lets them acknowledge what they got. */
async function connectIdle(kind: TargetKind, port: number, pq: boolean, count: number, tag: string): Promise<BenchPeer[]> {
  const peers: BenchPeer[] = [];
  for (let i = 0; i < count; i += 10) {
    const n = Math.min(10, count - i);
    peers.push(...(await Promise.all(Array.from({ length: n }, (_, k) => connectPeer(kind, port, `${tag}${i + k}`, `${tag}-room-${Math.floor((i + k) / 10)}`, pq)))));
  }
  await sleep(1000);
  for (const p of peers) p.settle?.();
  await sleep(2000);
  return peers;
}

/** Signals the server to write a snapshot into `dir` and waits until the file is complete. */
async function snapshot(pid: number, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, "SIGUSR2");
  for (let waited = 0; waited < 120_000; waited += 500) {
    await sleep(500);
    const file = readdirSync(dir).find((f) => !before.has(f) && f.endsWith(".heapsnapshot"));
    if (file === undefined) continue;
    const path = join(dir, file);
    const size = statSync(path).size;
    await sleep(1000);
    // The server writes the file from its main thread: it is complete once it answers again and the size holds.
    if (statSync(path).size === size && size > 0) return path;
  }
  throw new Error("the server wrote no heap snapshot");
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count per kind and constructor ("object Socket", "string", "closure", ...). */
function tally(path: string): Map<string, { bytes: number; count: number }> {
  const s = JSON.parse(readFileSync(path, "utf8")) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const [width, type, nameAt, size] = [fields.length, fields.indexOf("type"), fields.indexOf("name"), fields.indexOf("self_size")];
  const out = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const kind = types[s.nodes[i + type] as number] ?? "?";
    // Objects and closures by constructor; strings, numbers and V8's internal arrays by kind only.
    const named = kind === "object" || kind === "closure" || kind === "native";
    const key = named ? `${kind} ${s.strings[s.nodes[i + nameAt] as number] || "(anonymous)"}` : kind;
    const e = out.get(key) ?? { bytes: 0, count: 0 };
    e.bytes += s.nodes[i + size] as number;
    e.count++;
    out.set(key, e);
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function main(): Promise<void> {
  const { name, participants, rows } = flagsOf();
  await useNativeKeccak();
  useNativeMlKem();
  const dir = mkdtempSync(join(tmpdir(), "volly-idle-heap-"));
  const options = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${options ?? ""} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}`.trim();
  const target = await startTarget(name);
  process.env.NODE_OPTIONS = options;
  if (options === undefined) delete process.env.NODE_OPTIONS;
  const pid = target.pids[0] as number;
  const port = target.ports[0] as number;
  try {
    // Code compiled for the first joins, caches and pools filled once are not per participant.
    for (const p of await connectIdle(target.kind, port, target.pq, 500, "warm")) p.close();
    await sleep(2000);
    const base = tally(await snapshot(pid, dir));
    const peers = await connectIdle(target.kind, port, target.pq, participants, "idle");
    const held = tally(await snapshot(pid, dir));
    for (const p of peers) p.close();
    const none = { bytes: 0, count: 0 };
    const diff = [...new Set([...base.keys(), ...held.keys()])].map((key) => {
      const [b, h] = [base.get(key) ?? none, held.get(key) ?? none];
      return { key, bytes: (h.bytes - b.bytes) / participants, count: (h.count - b.count) / participants };
    });
    // V8's "code" (optimized code, its deoptimization data, relocation info) is what the JIT compiled while
    // the participants connected: about 1 MB for Volly whether 2,000 or 4,000 are held, so not theirs.
    const jit = diff.find((d) => d.key === "code")?.bytes ?? 0;
    const total = diff.reduce((sum, d) => sum + d.bytes, 0) - jit;
    console.log(`${name}: ${total.toFixed(0)} bytes of live heap per idle participant (${participants} held, after a warm-up of 500)`);
    console.log(`  not included: ${(jit * participants / 1024).toFixed(0)} KiB of code the JIT compiled meanwhile (${jit.toFixed(0)} bytes per participant held)`);
    console.log("bytes   objects  kind and constructor");
    for (const d of diff.filter((d) => d.key !== "code").sort((a, b) => b.bytes - a.bytes).slice(0, rows)) {
      console.log(`${d.bytes.toFixed(0).padStart(5)}  ${d.count.toFixed(2).padStart(7)}  ${d.key}`);
    }
  } finally {
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
