// Instructions per relayed message or per join, counted by callgrind:
// `npx tsx bench/instruction-count.ts [target] [relay|join]`.
// A shared 2-core guest changes speed by tens of percent between runs minutes apart, so an A/B of a small
// change to the relay or join path cannot be read off CPU time; an instruction count does not depend on the
// guest's speed or on what else the machine does. The target runs under
// `valgrind --tool=callgrind` (about 50× slower), warms up uncounted, then counts a fixed number of messages
// of the throughput scenario's mix, or of joins as the join scenario makes them (10 at a time, rooms of two,
// connect → `join` with the PQ handshake for volly-pq). Instructions are not time (a cache miss costs more
// than an add), and they are counted in user space only (not the kernel's side of a write). They still vary
// by 5–10 % between runs, because how many frames share a write depends on timing (more with the machine
// loaded): compare several runs each way on a quiet machine.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { connectPeer, type TargetKind } from "./clients/connect-peer.js";
import type { BenchPeer } from "./clients/bench-peer.js";
import { buildServer, freePorts, httpReady, VOLLY_ENTRY } from "./lib/server-process.js";
import { VOLLY_BENCH_ENV } from "./targets.js";
import { CANDIDATE, SDP } from "./lib/message-mix.js";

const target = (process.argv[2] ?? "volly-plain") as "bare-ws-relay" | "volly-plain" | "volly-pq";
const scenario = (process.argv[3] ?? "relay") as "relay" | "join";
if (scenario !== "relay" && scenario !== "join") throw new Error("the scenario is relay or join");
const warm = Number(process.env.WARM ?? (scenario === "relay" ? 40_000 : 400));
const counted = Number(process.env.COUNT ?? (scenario === "relay" ? 20_000 : 400));
const PAIRS = 20;
const WINDOW = 16;

const outDir = `/tmp/instruction-count-${process.pid}`;
const kind: TargetKind = target === "bare-ws-relay" ? "bare" : "volly";
const [port = 0, apiPort = 0] = await freePorts(2);
if (kind === "volly") buildServer();
const args = kind === "volly" ? [VOLLY_ENTRY] : ["--import", "tsx", "bench/targets/bare-relay.ts", String(port)];
const env = kind === "volly"
  ? { ...process.env, ...VOLLY_BENCH_ENV, VOLLY_PORT: String(port), VOLLY_API_PORT: String(apiPort), ...(target === "volly-plain" ? { VOLLY_PQ_ENABLED: "false" } : {}) }
  : process.env;
const child = spawn("valgrind", ["--tool=callgrind", "--separate-threads=yes", `--callgrind-out-file=${outDir}.%p`, "node", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
let output = "";
child.stdout.on("data", (d: Buffer) => (output += d.toString()));
child.stderr.on("data", (d: Buffer) => (output += d.toString()));
const ready = async () => (kind === "volly" ? httpReady(`http://127.0.0.1:${port}/healthz`) : output.includes("ready"));
const deadline = Date.now() + 120_000;
while (!(await ready())) {
  if (child.exitCode !== null || Date.now() > deadline) throw new Error(`target did not start:\n${output}`);
  await new Promise((r) => setTimeout(r, 200));
}

const pairs: Array<[BenchPeer, BenchPeer, string]> = [];
if (scenario === "relay") {
  for (let i = 0; i < PAIRS; i++) {
    const a = `a${i}`;
    const b = `b${i}`;
    pairs.push([await connectPeer(kind, port, a, `icount-${i}`, target === "volly-pq"), await connectPeer(kind, port, b, `icount-${i}`, target === "volly-pq"), b]);
  }
}

let burstSerial = 0;
/** `total` joins, 10 at a time, in rooms of two (as the join scenario); resolves with the peers, still connected. */
async function joins(total: number): Promise<BenchPeer[]> {
  const peers: BenchPeer[] = [];
  const burst = burstSerial++;
  let next = 0;
  await Promise.all(Array.from({ length: 10 }, async () => {
    while (next < total) {
      const i = next++;
      peers.push(await connectPeer(kind, port, `j${i}-${burst}`, `join-${burst}-${Math.floor(i / 2)}`, target === "volly-pq"));
    }
  }));
  return peers;
}

/** Relays `total` messages with at most WINDOW in flight per pair; resolves when all have arrived. */
function relay(total: number): Promise<void> {
  return new Promise((resolve) => {
    let sent = 0;
    let received = 0;
    for (const [a, b, bId] of pairs) {
      let inFlight = 0;
      let n = 0;
      const pump = () => {
        while (inFlight < WINDOW && sent < total) {
          inFlight++;
          sent++;
          a.send(bId, n++ % 6 === 0 ? "offer" : "candidate", n % 6 === 1 ? SDP : CANDIDATE);
        }
      };
      b.onMessage(() => {
        inFlight--;
        if (++received === total) resolve();
        else pump();
      });
      pump();
    }
  });
}

const pid = child.pid as number;
let joined: BenchPeer[] = [];
if (scenario === "relay") await relay(warm);
else {
  for (const p of await joins(warm)) p.close();
  // The warm-up's leaves are not the counted joins' work: under valgrind they take the server tens of seconds.
  await settled(`http://127.0.0.1:${apiPort}/metrics`);
}
// Zeroed, not switched on: code run before is instrumented the same way as code run after.
execFileSync("callgrind_control", ["-z", String(pid)], { stdio: "ignore" });
if (scenario === "relay") await relay(counted);
else joined = await joins(counted);
execFileSync("callgrind_control", ["-d", String(pid)], { stdio: "ignore" });
for (const [a, b] of pairs) {
  a.close();
  b.close();
}
for (const p of joined) p.close();
// The dump is written by the target after callgrind_control returns, one file per thread (`-01` is the main
// thread, the others V8's compiler and GC helpers and libuv's pool): wait for the main thread's totals line.
const dumpPrefix = `instruction-count-${process.pid}.${pid}.1-`;
const totalOf = (file: string) => Number(/^totals: (\d+)/m.exec(readDump(`/tmp/${file}`))?.[1] ?? NaN);
let main: number | undefined;
for (let i = 0; i < 600 && main === undefined; i++) {
  await new Promise((r) => setTimeout(r, 100));
  const total = totalOf(`${dumpPrefix}01`);
  if (!Number.isNaN(total)) main = total;
}
await new Promise((r) => setTimeout(r, 1000));
const threads = readdirSync("/tmp").filter((f) => f.startsWith(dumpPrefix)).map(totalOf);
child.kill("SIGKILL");
// KEEP_DUMP=1 keeps the counted dumps for `callgrind_annotate` (the JIT's code shows as addresses, not names).
if (process.env.KEEP_DUMP === "1") console.log(`callgrind dumps: /tmp/${dumpPrefix}*`);
else for (const f of readdirSync("/tmp").filter((f) => f.startsWith(`instruction-count-${process.pid}.`))) rmSync(`/tmp/${f}`);
if (main === undefined || threads.some((t) => Number.isNaN(t))) throw new Error(`no complete callgrind dump in /tmp/${dumpPrefix}*`);
const all = threads.reduce((sum, t) => sum + t, 0);
const what = scenario === "relay" ? "relayed message" : "join";
const per = (n: number) => Math.round(n / counted).toLocaleString("en");
// The main thread's count is the one to compare: the others are mostly the JIT compiling, whose share
// depends on what it chose to optimize meanwhile and varies more from run to run.
console.log(`${target}: ${per(all)} instructions per ${what}, ${per(main)} of them on the main thread (${counted} counted after ${warm} uncounted)`);

/** Resolves once the node holds no participant (its gauge reads 0 twice, a second apart). */
async function settled(metrics: string): Promise<void> {
  let zeros = 0;
  for (let i = 0; i < 600 && zeros < 2; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const text = await (await fetch(metrics)).text();
    zeros = /^volly_participants_active 0$/m.test(text) ? zeros + 1 : 0;
  }
  if (zeros < 2) throw new Error("the warm-up's participants did not all leave within 10 minutes");
}

function readDump(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}
