// `npm run bench`: starts each target as its own process pinned to core 0, runs the load generator pinned to
// core 1, interleaves the targets (A B C A B C ...), and writes the medians of the runs to docs/benchmarks.md.
// Options: --runs=N (default 3), --quick (1 run, shorter windows), --targets=a,b, --scenarios=x,y,
// --out=FILE (default docs/benchmarks.md; exploratory runs write elsewhere so the committed report stays whole),
// --joins=N (the measured join burst; default 1000). BENCH_NODE_FLAGS adds node flags to every target
// (`BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/p"` profiles them; such a run's figures are not the report's).
// --save=FILE keeps a run's raw figures; --render=FILE writes the report from them without measuring again
// (after bench/notes.md, which the report ends with, has been brought up to date with the run).
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { measureHandshakes } from "./handshake-cost.js";
import { renderReport, type Results } from "./report.js";
import { buildServer } from "./lib/server-process.js";
import { SERVER_CORE, TARGETS, startTarget, type RunningTarget, type TargetName } from "./targets.js";

const run = promisify(execFile);
const GENERATOR_CORE = 1;

type Scenario = "throughput" | "latency" | "join" | "idle-1k" | "idle-5k";
const SCENARIOS: Scenario[] = ["throughput", "latency", "join", "idle-1k", "idle-5k"];

const args = new Map(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, "").split("=");
  return [k ?? "", v ?? "true"] as const;
}));
const quick = args.has("quick");
const runs = Number(args.get("runs") ?? (quick ? 1 : 3));
const targets = (args.get("targets")?.split(",") as TargetName[] | undefined) ?? TARGETS;
const scenarios = (args.get("scenarios")?.split(",") as Scenario[] | undefined) ?? SCENARIOS;
const seconds = quick ? 3 : 5;
const out = args.get("out") ?? "docs/benchmarks.md";

async function generate(t: RunningTarget, scenario: Scenario): Promise<Record<string, number>> {
  const config = {
    target: t.kind, ports: t.ports, serverPids: t.pids, pq: t.pq,
    // A p99 at 1,000 msgs/s rests on the slowest 1 % of the samples: twice the window gives it twice as many.
    seconds: scenario === "latency" ? 2 * seconds : seconds,
    scenario: scenario.startsWith("idle") ? "idle" : scenario,
    pairs: scenario === "latency" ? 10 : 20,
    window: 16,
    rate: 1000,
    joins: Number(args.get("joins") ?? (quick ? 500 : 1000)),
    concurrency: 10,
    idle: scenario === "idle-5k" ? 5000 : 1000,
  };
  const { stdout } = await run("taskset", ["-c", String(GENERATOR_CORE), "node", "--import", "tsx", "bench/load-generator.ts", JSON.stringify(config)], {
    maxBuffer: 1 << 20,
    timeout: 180_000,
  });
  return JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as Record<string, number>;
}

type Measured = Parameters<typeof renderReport>[0];

async function main(): Promise<void> {
  const rendering = args.get("render");
  const measured = rendering !== undefined ? (JSON.parse(readFileSync(rendering, "utf8")) as Measured) : await measure();
  const save = args.get("save");
  if (save !== undefined) writeFileSync(save, JSON.stringify(measured, null, 1));
  writeFileSync(out, renderReport(measured));
  console.log(`wrote ${out}`);
}

async function measure(): Promise<Measured> {
  buildServer();
  const results: Results = {};
  const failures: string[] = [];
  for (let r = 1; r <= runs; r++) {
    for (const scenario of scenarios) {
      for (const name of targets) {
        const target = await startTarget(name);
        try {
          const figures = await generate(target, scenario);
          ((results[name] ??= {})[scenario] ??= []).push({ ...figures, run: r });
          console.log(`run ${r} ${scenario.padEnd(10)} ${name.padEnd(24)} ${JSON.stringify(figures)}`);
        } catch (e) {
          const why = (e instanceof Error ? e.message : String(e)).split("\n")[0]?.slice(0, 200) ?? "";
          failures.push(`run ${r} ${scenario} ${name}: ${why}`);
          console.error(`run ${r} ${scenario} ${name} failed:`, e instanceof Error ? e.message : e);
        } finally {
          await target.stop();
        }
      }
    }
  }
  const handshakes = await measureHandshakes(SERVER_CORE, quick ? 200 : 1000);
  const machine = await describeMachine();
  const command = `npm run bench -- ${process.argv.slice(2).filter((a) => !a.startsWith("--save=")).join(" ")}`.trim();
  return { results, handshakes, machine, command, runs, failures };
}

async function describeMachine(): Promise<string> {
  const { stdout } = await run("sh", ["-c", "nproc; grep -m1 'model name' /proc/cpuinfo | cut -d: -f2; free -g | awk '/Mem:/ {print $2}'"]);
  const [cores, model, mem] = stdout.trim().split("\n").map((s) => s.trim());
  return `${cores} cores (${model}), ${mem} GiB RAM, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

void main();
