import assert from "node:assert/strict";
import { openChannel, type Channel, type ChannelKind } from "../helpers/channels.js";
import { Fuzz } from "../helpers/fuzz.js";
import { TestClient } from "../helpers/signal-client.js";
import { makeToken } from "../helpers/tokens.js";
import type { TestServer } from "../helpers/test-server.js";

/** Inputs per entry point: 10,000 in CI; `VOLLY_FUZZ_INPUTS=100000` for the release run (docs/reliability.md). */
export const INPUTS = Number(process.env.VOLLY_FUZZ_INPUTS ?? 10_000);
/** Fixed by default so CI is reproducible; the release run sets VOLLY_FUZZ_SEED to explore. */
export const SEED = Number(process.env.VOLLY_FUZZ_SEED ?? 20261125);

/** Records unhandled rejections and uncaught exceptions of the process that hosts the servers. */
export function watchProcess(): { failures: string[] } {
  const failures: string[] = [];
  process.on("unhandledRejection", (e) => failures.push(`unhandledRejection: ${String(e)}`));
  process.on("uncaughtException", (e) => failures.push(`uncaughtException: ${String(e)}`));
  return { failures };
}

/**
 * After a fuzz run: every connection, participant (with its mailbox), session and room is gone again (nothing leaked),
 * memory stayed bounded, and the server still serves.
 */
export async function assertNothingLeaked(srv: TestServer, rssLimitBytes = 1_500_000_000): Promise<void> {
  const svc = srv.server.services;
  const sizes = (svc.store as unknown as { sizes?: () => { rooms: number; participants: number } }).sizes;
  const deadline = Date.now() + 15_000;
  let last = "";
  for (;;) {
    const stats = await svc.store.sessionStats();
    const s = sizes?.() ?? { rooms: 0, participants: 0 };
    last = JSON.stringify({ local: svc.local.size, activeSessions: stats.activeSessions, ...s });
    if (svc.local.size === 0 && stats.activeSessions === 0 && s.participants === 0 && s.rooms === 0) break;
    if (Date.now() > deadline) assert.fail(`state left behind after fuzzing: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(process.memoryUsage().rss < rssLimitBytes, `RSS ${process.memoryUsage().rss} bytes`);
  const health = await fetch(`${srv.httpUrl}/healthz`);
  assert.equal(health.status, 200);
}

/** Requests the server has taken in (every type, `malformed` and `refused` included): proof inputs were processed. */
export async function processedInputs(srv: TestServer): Promise<number> {
  const metric = await srv.server.services.metrics.messages.get();
  return metric.values.filter((v) => v.labels.direction === "in").reduce((n, v) => n + v.value, 0);
}

/** Server settings for fuzzing: parsers, not the limiter; disconnects are immediate so leaks show at once. */
export const FUZZ_ENV = {
  VOLLY_MAX_MESSAGES_PER_SECOND: "1000000", VOLLY_MESSAGE_BURST: "1000000", VOLLY_RESUME_WINDOW: "0", VOLLY_EMPTY_TIMEOUT: "0",
};
const PER_CONNECTION = 25;

/**
 * Sends frames made by `frame` over fresh connections of `kind`, `PER_CONNECTION` at a time, until the server
 * has processed `INPUTS` of them (a connection the server closes drops the rest of its batch, so the count is
 * the server's own, not what was sent).
 */
export async function flood(srv: TestServer, kind: ChannelKind, frame: (f: Fuzz) => Uint8Array | string, join: boolean, seed: number): Promise<void> {
  const fuzz = new Fuzz(seed);
  const start = await processedInputs(srv);
  for (let conn = 0; (await processedInputs(srv)) - start < INPUTS; conn++) {
    const room = `fuzz-${conn % 5}`;
    let ch: Channel;
    if (join) {
      const c = await TestClient.connect({ kind, port: srv.port, identity: `f${conn}`, room, pq: false });
      ch = c.channel;
    } else {
      ch = await openChannel(kind, srv.port, { token: await makeToken({ identity: `f${conn}`, room }) });
    }
    for (let i = 0; i < PER_CONNECTION; i++) ch.sendRaw(frame(fuzz));
    // Let the server answer (or close) before the next connection; then drop this one.
    await Promise.race([ch.closed, new Promise((r) => setTimeout(r, 20))]);
    ch.kill();
  }
}


/** A normal ws and gRPC pair still joins and relays, and the process saw no unhandled error. */
export async function assertHealthy(srv: TestServer, pq: false | "ML-KEM-768", failures: string[]): Promise<void> {
  const a = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "after-a", room: "after", pq });
  const b = await TestClient.connect({ kind: "grpc-js", port: srv.port, identity: "after-b", room: "after", pq });
  a.send({ case: "offer", value: { sdp: "still fine", target: "after-b" } });
  assert.equal((await b.waitFor("offer")).sdp, "still fine");
  await a.leave();
  await b.leave();
  assert.deepEqual(failures, []);
}
