// What a participant's broadcasts cost the node is charged to a per-connection budget in bytes a second
// (VOLLY_MAX_FANOUT_BYTES_PER_SECOND: bytes times recipients), and `discover` takes one token of the message
// rate per 10 identities (docs/protocol.md §6). A DoS probe had one sender at the message rate make a node fan
// out gigabytes (room-wide data, update_metadata) and 20,000 presence lookups a second (discover).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { DisconnectReason } from "../../gen/volly/signaling/v1/models_pb.js";
import { SignalRequestSchema, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { loadConfig } from "../../src/config.js";
import { tokensFor } from "../../src/session/request-cost.js";
import { problemsOf } from "../helpers/config-problems.js";
import { TestClient } from "../helpers/signal-client.js";
import { useServerOn } from "../helpers/server-on-store.js";
import { limitCount, type TestServer } from "../helpers/test-server.js";

const FANOUT_REFUSAL = /^broadcasts over the fan-out budget \((.+) a second, bytes times recipients\), slow down$/;

/** The direct answer to request `id` (a `data_ack`, `discover`, `pong` or `error`); anything else is kept for later. */
async function answerTo(c: TestClient, id: number): Promise<SignalResponse> {
  const answers = new Set(["dataAck", "error", "discover", "pong"]);
  const matches = (r: SignalResponse): boolean => r.requestId === id && answers.has(r.message.case ?? "");
  const i = c.stash.findIndex(matches);
  if (i >= 0) return c.stash.splice(i, 1)[0] as SignalResponse;
  for (;;) {
    const r = await c.inbox.take(5000, `the answer to request ${id}`);
    if (matches(r)) return r;
    c.stash.push(r);
  }
}

/** The ids of the `data` messages `c` gets before the one with id `last` (included). */
async function dataUntil(c: TestClient, last: string): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const d = await c.waitFor("data");
    ids.push(d.id);
    if (d.id === last) return ids;
  }
}

async function room(srv: TestServer, name: string, receivers: number): Promise<{ sender: TestClient; others: TestClient[] }> {
  const others: TestClient[] = [];
  for (let i = 0; i < receivers; i++) others.push(await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: `${name}-r${i}`, room: name, pq: false }));
  const sender = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: `${name}-s`, room: name, pq: false });
  return { sender, others };
}

/** Sends `update_metadata` and a ping behind it: the error, if the update was refused (the pong settles it). */
async function updateMetadata(c: TestClient, value: { metadata?: string; name?: string; attributes?: Record<string, string> }): Promise<SignalResponse | undefined> {
  const id = c.send({ case: "updateMetadata", value });
  const ping = c.send({ case: "ping", value: { timestamp: BigInt(id) } });
  await answerTo(c, ping);
  const i = c.stash.findIndex((r) => r.requestId === id && r.message.case === "error");
  return i >= 0 ? c.stash.splice(i, 1)[0] : undefined;
}

describe("fan-out budget: room-wide data", () => {
  const srv = useServerOn("memory", "fanout", {
    VOLLY_PQ_ENABLED: "false",
    VOLLY_MAX_FANOUT_BYTES_PER_SECOND: "4096",
    VOLLY_MAX_MESSAGES_PER_SECOND: "100000",
    VOLLY_MESSAGE_BURST: "100000",
  });

  test("a sender to the room is refused past its budget and nothing refused is delivered; one peer is still reachable; the budget refills", async () => {
    const { sender, others } = await room(srv, "fan-data", 3);
    // Each broadcast costs 1000 + 1 (topic) + 2 (id) bytes times 3 recipients, 3009: the first always goes
    // (the budget is full), the second too (1087 left), and the third finds the budget in debt.
    const payload = new Uint8Array(1000);
    const ids = Array.from({ length: 6 }, (_, i) => sender.send({ case: "data", value: { topic: "t", payload, id: `b${i}` } }));
    const answers = [];
    for (const id of ids) answers.push(await answerTo(sender, id));
    const acked = answers.flatMap((a, i) => (a.message.case === "dataAck" ? [`b${i}`] : []));
    const refused = answers.filter((a) => a.message.case === "error");
    assert.equal(answers[0]?.message.case === "dataAck" && answers[0].message.value.recipients, 3, "the first broadcast goes, whatever it costs");
    assert.ok(refused.length >= 1, "broadcasts past the budget are refused");
    for (const r of refused) {
      assert.ok(r.message.case === "error");
      assert.deepEqual([r.message.value.code, r.message.value.reason], ["resource_exhausted", "rate_limited"]);
      assert.equal(r.message.value.message.match(FANOUT_REFUSAL)?.[1], "4 KiB", r.message.value.message);
    }
    assert.equal(await limitCount(srv, "fanout_bytes"), refused.length);

    // Messages to one participant are not charged: they go through while the budget is in debt.
    const offer = sender.send({ case: "offer", value: { sdp: "v=0 while broadcasts are refused", target: "fan-data-r0" } });
    const direct = sender.send({ case: "data", value: { target: "fan-data-r0", payload, id: "direct" } });
    const directAck = await answerTo(sender, direct);
    assert.equal(directAck.message.case === "dataAck" && directAck.message.value.recipients, 1);
    assert.equal((await others[0]?.waitFor("offer"))?.sdp, "v=0 while broadcasts are refused");
    assert.ok(!sender.stash.some((r) => r.requestId === offer && r.message.case === "error"), "the offer is not refused");
    for (const [i, c] of others.entries()) {
      if (i > 0) sender.send({ case: "data", value: { target: `fan-data-r${i}`, id: "direct" } });
      const got = await dataUntil(c, "direct");
      assert.deepEqual(got, [...acked, "direct"], `fan-data-r${i} got the acknowledged broadcasts and none of the refused`);
    }

    // The budget refills: a broadcast goes again once its debt is paid (polled, no assumption on the time).
    let again: SignalResponse | undefined;
    for (let tries = 0; tries < 100 && again?.message.case !== "dataAck"; tries++) {
      await new Promise((r) => setTimeout(r, 100));
      again = await answerTo(sender, sender.send({ case: "data", value: { topic: "t", payload, id: "later" } }));
    }
    assert.equal(again?.message.case === "dataAck" && again.message.value.recipients, 3, "a broadcast goes again after the refill");
    assert.deepEqual(await dataUntil(others[1] as TestClient, "later"), ["later"]);
    await sender.leave();
    for (const c of others) await c.leave();
  });
});

describe("fan-out budget: sustained refusals", () => {
  const srv = useServerOn("memory", "fanout", {
    VOLLY_PQ_ENABLED: "false",
    VOLLY_MAX_FANOUT_BYTES_PER_SECOND: "4096",
    VOLLY_MAX_MESSAGES_PER_SECOND: "100000",
    VOLLY_MESSAGE_BURST: "5",
  });

  test("a sender that keeps broadcasting into refusals is closed, as a message flood is (LIMIT_EXCEEDED, 4008)", async () => {
    const { sender, others } = await room(srv, "fan-flood", 1);
    const payload = new Uint8Array(4000);
    // Two go (the budget is full, then 94 bytes are left), then more than VOLLY_MESSAGE_BURST (5) are refused
    // without the budget ever filling up again.
    for (let i = 0; i < 20; i++) sender.send({ case: "data", value: { payload, id: `f${i}` } });
    const leave = await sender.waitFor("leave");
    assert.equal(leave.reason, DisconnectReason.LIMIT_EXCEEDED);
    assert.match(leave.message, FANOUT_REFUSAL);
    assert.equal((await sender.channel.closed).code, 4008);
    assert.equal(await limitCount(srv, "fanout_bytes"), 6, "closed at the sixth refusal");
    await others[0]?.leave();
  });
});

describe("fan-out budget: update_metadata", () => {
  const srv = useServerOn("memory", "fanout", {
    VOLLY_PQ_ENABLED: "false",
    VOLLY_MAX_FANOUT_BYTES_PER_SECOND: "65536",
    VOLLY_MAX_MESSAGES_PER_SECOND: "100000",
    VOLLY_MESSAGE_BURST: "100000",
  });

  test("large updates to a room are refused past the budget, unmade and unannounced; a rename costs the whole description", async () => {
    const { sender, others } = await room(srv, "fan-meta", 4);
    const identity = "fan-meta-s";
    // 12,000 + 3 (attribute key) + 8,000 bytes of description to 4 recipients: 80,012 bytes, more than the
    // budget (64 KiB), but the first update finds it full and goes; the second finds it in debt.
    const first = await updateMetadata(sender, { metadata: "m".repeat(12_000), attributes: { big: "a".repeat(8000) } });
    assert.equal(first, undefined, "the first update goes");
    const second = await updateMetadata(sender, { metadata: "n".repeat(12_000) });
    assert.ok(second?.message.case === "error", "the second update is refused");
    assert.deepEqual([second.message.value.code, second.message.value.reason], ["resource_exhausted", "rate_limited"]);
    assert.equal(second.message.value.message.match(FANOUT_REFUSAL)?.[1], "64 KiB");
    // Refused before it was made: the stored description is the first update's, and the room heard only that.
    const stored = await srv.server.services.store.getParticipant("fan-meta", identity);
    assert.equal(stored?.info?.metadata, "m".repeat(12_000));
    for (const c of others) {
      const update = await c.waitFor("participantUpdate", (u) => u.participants[0]?.identity === identity && u.participants[0].metadata !== "");
      assert.equal(update.participants[0]?.metadata, "m".repeat(12_000));
    }

    // A one-letter rename carries the whole description to everyone, so it is charged as much: once one
    // goes (when the debt is paid, polled), the next one is refused.
    let renamed = false;
    for (let tries = 0; tries < 100 && !renamed; tries++) {
      await new Promise((r) => setTimeout(r, 100));
      renamed = (await updateMetadata(sender, { name: `x${tries}` })) === undefined;
    }
    assert.ok(renamed, "an update goes again after the refill");
    const heard = await others[0]?.waitFor("participantUpdate", (u) => u.participants[0]?.identity === identity && u.participants[0].name.startsWith("x"));
    assert.equal(heard?.participants[0]?.metadata, "m".repeat(12_000), "the refused metadata was never announced");
    const rename = await updateMetadata(sender, { name: "y" });
    assert.ok(rename?.message.case === "error" && rename.message.value.reason === "rate_limited", "a rename right after is refused");
    assert.ok((await limitCount(srv, "fanout_bytes")) >= 2, "the refusals are counted");
    await sender.leave();
    for (const c of others) await c.leave();
  });
});

describe("discover: one token of the message rate per 10 identities", () => {
  const srv = useServerOn("memory", "fanout", { VOLLY_PQ_ENABLED: "false", VOLLY_MAX_MESSAGES_PER_SECOND: "1", VOLLY_MESSAGE_BURST: "21" });

  test("with a burst of 21, two discovers of 100 identities go, the third is refused, and a ping takes the last token", async () => {
    const c = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "disc", room: "disc-room", pq: false });
    const identities = Array.from({ length: 100 }, (_, i) => `someone-${i}`);
    const ids = [0, 1, 2].map(() => c.send({ case: "discover", value: { identities } }));
    const ping = c.send({ case: "ping", value: { timestamp: 5n } });
    const answers: SignalResponse[] = [];
    for (const id of ids) answers.push(await answerTo(c, id));
    const [a, b, third] = answers;
    assert.equal(a?.message.case === "discover" && a.message.value.users.length, 100);
    assert.equal(b?.message.case === "discover" && b.message.value.users.length, 100);
    // 21 - 10 - 10 leaves 1 token: not enough for a third (the refill is 1 a second), enough for the ping.
    assert.ok(third?.message.case === "error", `the third discover is refused, got ${third?.message.case}`);
    assert.deepEqual([third.message.value.reason, third.message.value.message], ["rate_limited", "too many messages, slow down"]);
    assert.equal((await answerTo(c, ping)).message.case, "pong");
    assert.equal(await limitCount(srv, "messages_per_second"), 1);
    c.kill();
  });

  test("the cost: a token per 10 identities rounded up, at least one, never more than the burst; one over the batch limit (no lookup) takes one", () => {
    const limits = loadConfig({}).limits;
    const discover = (n: number) => create(SignalRequestSchema, { message: { case: "discover", value: { identities: Array.from({ length: n }, (_, i) => `i${i}`) } } });
    assert.deepEqual([0, 1, 10, 11, 90, 91, 100, 101].map((n) => tokensFor(discover(n), limits)), [1, 1, 1, 2, 9, 10, 10, 1]);
    assert.equal(tokensFor(discover(100), { ...limits, messageBurst: 4 }), 4);
    assert.equal(tokensFor(create(SignalRequestSchema, { message: { case: "ping", value: {} } }), limits), 1);
  });
});

test("VOLLY_MAX_FANOUT_BYTES_PER_SECOND: 16 MiB by default, a whole number from 1024 up", () => {
  assert.equal(loadConfig({}).limits.maxFanoutBytesPerSecond, 16 * 1024 * 1024);
  assert.equal(loadConfig({ VOLLY_MAX_FANOUT_BYTES_PER_SECOND: "65536" }).limits.maxFanoutBytesPerSecond, 65_536);
  assert.deepEqual(problemsOf({ VOLLY_MAX_FANOUT_BYTES_PER_SECOND: "1000" }), ["VOLLY_MAX_FANOUT_BYTES_PER_SECOND=1000 is outside 1024..4294967295"]);
  assert.deepEqual(problemsOf({ VOLLY_MAX_FANOUT_BYTES_PER_SECOND: "16MiB" }), ['VOLLY_MAX_FANOUT_BYTES_PER_SECOND="16MiB" is not a whole number']);
});
