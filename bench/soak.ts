// Load and soak (not a test): two Volly nodes on a Redis of their own, N PQ participants split across them
// in rooms of 10, each relaying to a peer of its room once a second (1 SDP offer per 5 candidates) for M
// minutes. Every 30 s it samples both nodes' RSS and the window's one-way latency; at the end it writes the
// results into docs/reliability.md (between the soak markers) and fails if a node crashed, a participant
// was dropped, or RSS kept growing after warm-up.
//   npx tsx bench/soak.ts --participants=5000 --minutes=10
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { SignJWT } from "jose";
import { useNativeKeccak } from "../src/pq/native-keccak.js";
import { useNativeMlKem } from "../src/pq/native-mlkem.js";
import type { BenchPeer } from "./clients/bench-peer.js";
import { connectVolly } from "./clients/volly-bench-client.js";
import { rssBytes } from "./lib/proc-stats.js";
import { buildServer, freePort, freePorts, httpReady, startPinned, VOLLY_ENTRY, type ServerProcess } from "./lib/server-process.js";
import { quantile } from "./lib/stats.js";
import { SDP } from "./lib/message-mix.js";

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=") as [string, string]));
const participants = Number(args.get("participants") ?? 5000);
const minutes = Number(args.get("minutes") ?? 10);
const ROOM = 10;
const SAMPLE_MS = 30_000;
const CANDIDATE = JSON.stringify({ candidate: "candidate:842163049 1 udp 1677729535 127.0.0.1 55555 typ srflx raddr 0.0.0.0 rport 0 generation 0", sdpMid: "0" });

async function token(identity: string, room: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ video: { roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true } })
    .setProtectedHeader({ alg: "HS256" }).setIssuer("volly-dev-key").setSubject(identity)
    .setNotBefore(now - 5).setExpirationTime(now + 7200)
    .sign(new TextEncoder().encode("volly-dev-secret-key-2024"));
}

async function startNode(redisUrl: string, id: string): Promise<ServerProcess> {
  const [port = 0, apiPort = 0] = await freePorts(2);
  return startPinned(0, ["node", VOLLY_ENTRY], {
    VOLLY_HOST: "127.0.0.1", VOLLY_PORT: String(port), VOLLY_API_PORT: String(apiPort), VOLLY_NODE_ID: id, LOG_LEVEL: "warn",
    REDIS_URL: redisUrl, REDIS_PREFIX: "soak:", VOLLY_MAX_PARTICIPANTS: "100", VOLLY_PING_TIMEOUT: "60",
  }, port, () => httpReady(`http://127.0.0.1:${port}/healthz`));
}

async function main(): Promise<void> {
  buildServer();
  await useNativeKeccak();
  useNativeMlKem();
  const redisPort = await freePort();
  const redis = spawn("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 300));
  const nodes = [await startNode(`redis://127.0.0.1:${redisPort}`, "soak-a"), await startNode(`redis://127.0.0.1:${redisPort}`, "soak-b")];
  const peers: Array<{ peer: BenchPeer; id: string; room: number }> = [];
  try {
    const joinStart = Date.now();
    let next = 0;
    await Promise.all(Array.from({ length: 20 }, async () => {
      while (next < participants) {
        const i = next++;
        const id = `s${i}`;
        const room = Math.floor(i / ROOM);
        const node = nodes[i % 2] as ServerProcess;
        const peer = await connectVolly(node.port, await token(id, `soak-${room}`), true);
        peers.push({ peer, id, room });
      }
    }));
    console.log(`${participants} participants joined in ${((Date.now() - joinStart) / 1000).toFixed(1)} s`);
    const byRoom = new Map<number, string[]>();
    for (const p of peers) byRoom.set(p.room, [...(byRoom.get(p.room) ?? []), p.id]);
    let latencies: number[] = [];
    let received = 0;
    let sent = 0;
    for (const p of peers) {
      p.peer.onMessage((_from, _kind, payload) => {
        received++;
        latencies.push(performance.now() - Number(payload.slice(0, payload.indexOf("|"))));
      });
    }
    const samples: Array<{ minute: number; rss: number[]; p50: number; p99: number; sent: number; received: number }> = [];
    const end = Date.now() + minutes * 60_000;
    let nextSample = Date.now() + SAMPLE_MS;
    // Each participant sends once a second, spread evenly over the second.
    const interval = 1000 / participants;
    let turn = 0;
    const started = performance.now();
    while (Date.now() < end) {
      const due = Math.floor((performance.now() - started) / interval);
      while (turn < due) {
        const p = peers[turn % peers.length] as (typeof peers)[number];
        const mates = byRoom.get(p.room) ?? [];
        const to = mates[(mates.indexOf(p.id) + 1 + (turn % (mates.length - 1))) % mates.length] as string;
        const kind = turn % 6 === 0 ? "offer" : "candidate";
        p.peer.send(to, kind, `${performance.now()}|${kind === "offer" ? SDP : CANDIDATE}`);
        sent++;
        turn++;
      }
      if (Date.now() >= nextSample) {
        const rss = nodes.map((n) => rssBytes(n.pid));
        if (rss.some((r) => r === 0)) throw new Error("a node is gone");
        samples.push({ minute: (samples.length + 1) * (SAMPLE_MS / 60_000), rss, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), sent, received });
        console.log(JSON.stringify(samples[samples.length - 1]));
        latencies = [];
        nextSample += SAMPLE_MS;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 2000));
    writeReport(samples, participants, minutes, sent, received);
  } finally {
    for (const p of peers) p.peer.close();
    await Promise.all(nodes.map((n) => n.stop()));
    redis.kill("SIGKILL");
  }
}

function writeReport(samples: Array<{ minute: number; rss: number[]; p50: number; p99: number; sent: number; received: number }>, n: number, minutes: number, sent: number, received: number): void {
  const mb = (b: number) => (b / 1048576).toFixed(0);
  const rows = samples.map((s) => `| ${s.minute.toFixed(1)} | ${mb(s.rss[0] ?? 0)} | ${mb(s.rss[1] ?? 0)} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} |`);
  const warm = samples.slice(Math.floor(samples.length / 4));
  const growth = warm.length > 1 ? ((warm[warm.length - 1]?.rss[0] ?? 0) + (warm[warm.length - 1]?.rss[1] ?? 0)) / ((warm[0]?.rss[0] ?? 1) + (warm[0]?.rss[1] ?? 1)) - 1 : 0;
  const section = [
    "<!-- soak:begin -->",
    `Run on ${new Date().toISOString().slice(0, 10)}: \`npx tsx bench/soak.ts --participants=${n} --minutes=${minutes}\`, two nodes and their Redis on core 0, the generator on core 1.`,
    "",
    `- ${n} participants (ML-KEM-768, rooms of 10 split across the nodes), each relaying once a second for ${minutes} minutes: ${sent.toLocaleString("en-US")} messages sent, ${received.toLocaleString("en-US")} received (${(100 * received / Math.max(1, sent)).toFixed(3)} %).`,
    `- RSS growth after warm-up (first quarter of the run excluded): ${(growth * 100).toFixed(1)} %. A participant dropped mid-run would show as lost messages.`,
    "",
    "| minute | node A RSS MB | node B RSS MB | one-way p50 ms | one-way p99 ms |",
    "|---:|---:|---:|---:|---:|",
    ...rows,
    "<!-- soak:end -->",
  ].join("\n");
  const doc = readFileSync("docs/reliability.md", "utf8");
  writeFileSync("docs/reliability.md", doc.replace(/<!-- soak:begin -->[\s\S]*<!-- soak:end -->/, section));
  console.log(section);
  if (received < sent * 0.999) throw new Error(`lost messages: ${sent - received}`);
  if (growth > 0.15) throw new Error(`RSS kept growing: ${(growth * 100).toFixed(1)} %`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
