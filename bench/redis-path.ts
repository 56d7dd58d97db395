// The cross-node Redis path alone: `npx tsx bench/redis-path.ts [--batches=2000] [--recipients=8]`.
// One node (this process, pinned to core 1) enqueues batches of 120 relayed responses (one ~3 KB offer per five
// ~200 B candidates) for recipients held by another node, through the real Redis store, so that they take the
// pushed path as in the bench's two-node target; the recipients acknowledge about every 24 messages, one round
// behind, as a recipients' node does. Redis is a fresh `redis-server` on a free loopback port, pinned to core 0. Printed:
// Redis's CPU per message (/proc), split by command (INFO commandstats), and this node's CPU per message.
// Without the generator, the second node and the WebSocket clients, repeated runs agree within about 10 %,
// so a change to the scripts or the batch writer shows here before it can show through `npm run bench`.
// Never part of `npm test`; bounded: the batches run one after another and the whole run takes under a minute.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import { StoredParticipantSchema } from "../gen/volly/signaling/v1/internal_pb.js";
import { ParticipantInfoSchema, RoomSchema } from "../gen/volly/signaling/v1/models_pb.js";
import { createLogger } from "../src/logger.js";
import { createBackend } from "../src/store/create-backend.js";
import type { Store } from "../src/store/store.js";
import { startPinnedRedis } from "./lib/server-process.js";

const option = (name: string, fallback: number) => {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const n = arg === undefined ? fallback : Number(arg.slice(name.length + 3));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
};
const BATCHES = option("batches", 2000);
const RECIPIENTS_PER_BATCH = option("recipients", 8);
const MESSAGES_PER_BATCH = 120;
/** Recipients in the room; each batch addresses `RECIPIENTS_PER_BATCH` of them, in turn. */
const RECIPIENTS = 20;
const WARM_UP_BATCHES = 300;
const QUEUE_LIMIT = 256;
/** One object for every enqueue, as a node passes (a batch starts anew when the limits differ). */
const LIMITS = { messages: QUEUE_LIMIT, awayBytes: 16 * 1024 * 1024 };
const REDIS_CORE = 0;
const NODE_CORE = 1;

const offer = new Uint8Array(3000).fill(0x61);
const candidate = new Uint8Array(200).fill(0x62);

/** user + system ticks of a process, in microseconds. */
function processCpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * (1e6 / 100);
}

async function seed(store: Store): Promise<void> {
  await store.createRoom(create(RoomSchema, { sid: "RM_bench", name: "bench", emptyTimeout: 300, creationTime: 1000n }), 10, Date.now());
  for (let i = 0; i < RECIPIENTS; i++) {
    const info = create(ParticipantInfoSchema, { sid: `PA_recipient_${i}`, identity: `recipient-${i}`, version: 1 });
    const joined = await store.joinParticipant(create(StoredParticipantSchema, { info, room: "bench", nodeId: "node-b", awayUntil: 0n }), 1000);
    if (!joined.ok) throw new Error(`recipient-${i} could not join`);
  }
}

async function run(store: Store, batches: number): Promise<number> {
  const lastId = new Map<string, bigint>();
  let acked = new Map<string, bigint>();
  let messages = 0;
  for (let b = 0; b < batches; b++) {
    const queued = [];
    for (let k = 0; k < MESSAGES_PER_BATCH; k++) {
      const r = (b * RECIPIENTS_PER_BATCH + (k % RECIPIENTS_PER_BATCH)) % RECIPIENTS;
      const response = messages++ % 6 === 0 ? offer : candidate;
      queued.push(Promise.resolve(store.enqueue("bench", `recipient-${r}`, response, LIMITS, "node-a")).then((q) => {
        if (q === undefined) throw new Error(`recipient-${r} was not found`);
        lastId.set(q.sid, q.messageId);
      }));
    }
    await Promise.all(queued);
    if (b % 4 === 3) {
      // A client acknowledges what it had received by its previous acknowledgement, so its mailbox keeps
      // what arrived since, as it does under load (it is rarely emptied and re-created).
      await Promise.all([...acked].map(([sid, id]) => store.ackMailbox(sid, id)));
      acked = new Map(lastId);
    }
  }
  return messages;
}

async function main(): Promise<void> {
  const redis = await startPinnedRedis(REDIS_CORE);
  // Also when this process dies of an error: the Redis started for the run must not outlive it.
  process.on("exit", () => {
    try {
      process.kill(redis.pid, "SIGKILL");
    } catch {
      // already stopped
    }
  });
  const url = `redis://127.0.0.1:${redis.port}`;
  const admin = new Redis(url);
  const backend = await createBackend({ url, prefix: "bench:" }, createLogger("silent"));
  try {
    await seed(backend.store);
    await run(backend.store, WARM_UP_BATCHES);
    await admin.config("RESETSTAT");
    const redis0 = processCpuMicros(redis.pid);
    const node0 = process.cpuUsage();
    const messages = await run(backend.store, BATCHES);
    const node = process.cpuUsage(node0);
    const redisMicros = processCpuMicros(redis.pid) - redis0;
    const stats = (await admin.info("commandstats")).split("\n").filter((l) => l.startsWith("cmdstat_"));
    console.log(`${messages} messages in batches of ${MESSAGES_PER_BATCH} for ${RECIPIENTS_PER_BATCH} recipients each`);
    console.log(`Redis CPU: ${(redisMicros / messages).toFixed(2)} µs per message`);
    console.log(`this node's CPU: ${((node.user + node.system) / messages).toFixed(2)} µs per message (user ${(node.user / messages).toFixed(2)}, system ${(node.system / messages).toFixed(2)})`);
    console.log("by command (time inside Redis; EXEC includes the commands it runs):");
    const rows = stats.flatMap((line) => {
      const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/.exec(line);
      return m === null ? [] : [{ name: m[1] ?? "", calls: m[2], perMessage: Number(m[3]) / messages, perCall: m[4] }];
    });
    for (const r of rows.sort((a, b) => b.perMessage - a.perMessage)) {
      if (r.perMessage < 0.005) continue;
      console.log(`  ${r.name.padEnd(10)} ${r.perMessage.toFixed(3)} µs per message  (${r.calls} calls, ${r.perCall} µs each)`);
    }
  } finally {
    await backend.close();
    admin.disconnect();
    await redis.stop();
  }
}

if (process.env.VOLLY_BENCH_CHILD === undefined) {
  // Re-run pinned to the node's core, so that Redis and this node do not share one.
  const child = spawn("taskset", ["-c", String(NODE_CORE), process.execPath, "--import", "tsx", "bench/redis-path.ts", ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, VOLLY_BENCH_CHILD: "1" },
  });
  child.on("exit", (code) => process.exit(code ?? 1));
} else {
  await main();
}
