// Instructions per relayed message, counted by callgrind: `npx tsx bench/relay-instructions.ts [target]`.
// A shared 2-core guest changes speed by tens of percent between runs minutes apart, so an A/B of a small
// change to the relay path cannot be read off CPU time; an instruction count does not depend on the
// guest's speed or on what else the machine does. The target runs under
// `valgrind --tool=callgrind` (about 50× slower), warms up uncounted, then counts a fixed number of messages
// of the throughput scenario's mix. Instructions are not time (a cache miss costs more than an add), and
// they are counted in user space only (not the kernel's side of a write). They still vary by 5–10 %
// between runs, because how many frames share a write depends on timing (more with the machine loaded):
// compare several runs each way on a quiet machine.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { connectPeer, type TargetKind } from "./clients/connect-peer.js";
import type { BenchPeer } from "./clients/bench-peer.js";
import { buildServer, freePorts, httpReady, VOLLY_ENTRY } from "./lib/server-process.js";
import { VOLLY_BENCH_ENV } from "./targets.js";
import { CANDIDATE, SDP } from "./lib/message-mix.js";

const target = (process.argv[2] ?? "volly-plain") as "bare-ws-relay" | "volly-plain" | "volly-pq";
const warmMessages = Number(process.env.WARM ?? 40_000);
const counted = Number(process.env.COUNT ?? 20_000);
const PAIRS = 20;
const WINDOW = 16;

const outDir = `/tmp/relay-instructions-${process.pid}`;
const kind: TargetKind = target === "bare-ws-relay" ? "bare" : "volly";
const [port = 0, apiPort = 0] = await freePorts(2);
if (kind === "volly") buildServer();
const args = kind === "volly" ? [VOLLY_ENTRY] : ["--import", "tsx", "bench/targets/bare-relay.ts", String(port)];
const env = kind === "volly"
  ? { ...process.env, ...VOLLY_BENCH_ENV, VOLLY_PORT: String(port), VOLLY_API_PORT: String(apiPort), ...(target === "volly-plain" ? { VOLLY_PQ_ENABLED: "false" } : {}) }
  : process.env;
const child = spawn("valgrind", ["--tool=callgrind", `--callgrind-out-file=${outDir}.%p`, "node", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
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
for (let i = 0; i < PAIRS; i++) {
  const a = `a${i}`;
  const b = `b${i}`;
  pairs.push([await connectPeer(kind, port, a, `icount-${i}`, target === "volly-pq"), await connectPeer(kind, port, b, `icount-${i}`, target === "volly-pq"), b]);
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
await relay(warmMessages);
// Zeroed, not switched on: code run before is instrumented the same way as code run after.
execFileSync("callgrind_control", ["-z", String(pid)], { stdio: "ignore" });
await relay(counted);
execFileSync("callgrind_control", ["-d", String(pid)], { stdio: "ignore" });
for (const [a, b] of pairs) {
  a.close();
  b.close();
}
// The dump is written by the target after callgrind_control returns: wait for its totals line.
const dumpFile = `${outDir}.${pid}.1`;
let instructions: number | undefined;
for (let i = 0; i < 600 && instructions === undefined; i++) {
  await new Promise((r) => setTimeout(r, 100));
  const m = /^totals: (\d+)/m.exec(readDump(dumpFile));
  if (m) instructions = Number(m[1]);
}
child.kill("SIGKILL");
for (const f of readdirSync("/tmp").filter((f) => f.startsWith(`relay-instructions-${process.pid}.`))) rmSync(`/tmp/${f}`);
if (instructions === undefined) throw new Error(`no callgrind dump in ${dumpFile}`);
console.log(`${target}: ${Math.round(instructions / counted).toLocaleString("en")} instructions per relayed message (${counted} counted after ${warmMessages} uncounted)`);

function readDump(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}
