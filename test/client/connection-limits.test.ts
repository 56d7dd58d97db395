// The server's advertised limits (join/reconnect `limits`): a request whose frame would exceed max_frame_bytes is
// refused by the SDK before it is sent (or sealed), with InvalidArgument, and the connection carries on; bursts are
// paced to the message rate; a request the server refuses for the rate rejects with ResourceExhausted at once
// (not a 20 s timeout), and the messaging client sends such a message again, so it still arrives exactly once.
import assert from "node:assert/strict";
import { test } from "node:test";
import WebSocket from "ws";
import { Code, ConnectError, VollyMessagingClient, type VollyMessage } from "../../src/client/index.js";
import { startTestServer } from "../helpers/test-server.js";
import { nodeClient, until } from "../helpers/werift-sdk.js";

/** A `ws` that records the size of every frame it sends and can hold frames back, then release them at once. */
function wireTap(): { WebSocket: typeof WebSocket; sizes: number[]; held: number; hold(): void; release(): void } {
  const sizes: number[] = [];
  const held: Array<() => void> = [];
  let holding = false;
  class Tapped extends WebSocket {
    override send(data: unknown, ...rest: unknown[]): void {
      const go = (): void => (super.send as (...a: unknown[]) => void).call(this, data, ...rest);
      sizes.push(typeof data === "string" ? Buffer.byteLength(data) : (data as Uint8Array).byteLength);
      if (holding) held.push(go);
      else go();
    }
  }
  return {
    WebSocket: Tapped,
    sizes,
    get held() {
      return held.length;
    },
    hold: () => void (holding = true),
    release: () => {
      holding = false;
      for (const go of held.splice(0)) go();
    },
  };
}

const codeOf = (e: unknown): Code | string => (e instanceof ConnectError ? e.code : String(e));

test("a request over max_frame_bytes is refused before sending (InvalidArgument); the largest that fits goes through", async () => {
  // The server keeps the data limit inside the frame (src/config-limits.ts), so metadata, whose own limit is
  // 64 KiB, is what meets the frame limit first.
  const server = await startTestServer({ VOLLY_MAX_FRAME_BYTES: "4096" });
  const tap = wireTap();
  const alice = await nodeClient(server.wsUrl, "fl-alice", "frames", { webSocket: tap.WebSocket });
  const bob = await nodeClient(server.wsUrl, "fl-bob", "frames");
  try {
    const joined = await alice.client.connect();
    assert.equal(joined.limits.maxFrameBytes, 4096);
    await bob.client.connect();
    const sid = alice.client.sid;
    const got: number[] = [];
    bob.client.on("data", (m) => got.push(m.payload.length));
    let disconnected = false;
    alice.client.on("reconnecting", () => (disconnected = true));
    alice.client.on("disconnected", () => (disconnected = true));

    // The largest payload the SDK sends, by bisection; every probe either goes through or is refused locally.
    let fits = 1000;
    let tooBig = 8000;
    let largestFrame = 0;
    while (tooBig - fits > 1) {
      const size = Math.floor((fits + tooBig) / 2);
      const before = tap.sizes.length;
      try {
        await alice.client.updateMetadata({ metadata: "m".repeat(size) });
        fits = size;
        largestFrame = Math.max(...tap.sizes.slice(before));
      } catch (e) {
        assert.equal(codeOf(e), Code.InvalidArgument, String(e));
        assert.equal(tap.sizes.length, before, "nothing was sent for the refused request");
        tooBig = size;
      }
    }
    assert.equal(largestFrame, 4096, "the largest accepted request fills the frame limit exactly");
    assert.ok(Math.max(...tap.sizes) <= 4096);
    await alice.client.updateMetadata({ metadata: "m".repeat(5000) }).then(
      () => assert.fail("oversized metadata was sent"),
      (e: unknown) => assert.equal(codeOf(e), Code.InvalidArgument),
    );
    await alice.client.sendData("small", { target: "fl-bob" });
    await until(() => got.at(-1) === 5, "the small message after the refusals");
    assert.equal(disconnected, false);
    assert.equal(alice.client.state, "connected");
    assert.equal(alice.client.sid, sid);
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
    await server.close();
  }
});

test("json, post-quantum and plaintext: an oversized request is refused locally; the documented metadata limit fits", async () => {
  const server = await startTestServer();
  const plain = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_MAX_FRAME_BYTES: "2048" });
  const json = await nodeClient(server.wsUrl, "fj-json", "frames-json", { format: "json" });
  const clear = await nodeClient(plain.wsUrl, "fj-clear", "frames-clear", { format: "flat", postQuantum: false });
  try {
    const info = await json.client.connect();
    assert.ok(info.limits.maxFrameBytes >= 4 * 65_536, "the server advertises room for 64 KiB of metadata in JSON");
    await json.client.updateMetadata({ metadata: "é".repeat(65_536 / 2) });
    await json.client.sendData(new Uint8Array(info.limits.maxFrameBytes)).then(
      () => assert.fail("oversized payload was sent"),
      (e: unknown) => assert.equal(codeOf(e), Code.InvalidArgument),
    );
    await json.client.sendData("still here");
    assert.equal(json.client.state, "connected");

    await clear.client.connect();
    await clear.client.updateMetadata({ metadata: "x".repeat(3000) }).then(
      () => assert.fail("oversized metadata was sent"),
      (e: unknown) => assert.equal(codeOf(e), Code.InvalidArgument),
    );
    await clear.client.updateMetadata({ metadata: "fits" });
    assert.equal(clear.client.localParticipant?.metadata, "fits");
    assert.equal(clear.client.state, "connected");
  } finally {
    await json.client.disconnect();
    await clear.client.disconnect();
    await server.close();
    await plain.close();
  }
});

test("frames bunched past the rate: refused requests reject with ResourceExhausted at once; messaging re-sends them", async () => {
  const server = await startTestServer({ VOLLY_MAX_MESSAGES_PER_SECOND: "20", VOLLY_MESSAGE_BURST: "20" });
  const tap = wireTap();
  const alice = await nodeClient(server.wsUrl, "rl-alice", "rate", { webSocket: tap.WebSocket, requestTimeoutMs: 60_000 });
  const bob = await nodeClient(server.wsUrl, "rl-bob", "rate");
  try {
    const joined = await alice.client.connect();
    assert.deepEqual([joined.limits.messagesPerSecond, joined.limits.messageBurst], [20, 20]);
    await bob.client.connect();
    const sid = alice.client.sid;
    const data: string[] = [];
    bob.client.on("data", (m) => m.topic === "raw" && data.push(new TextDecoder().decode(m.payload)));

    // The SDK paces 30 requests below the rate; the network then delivers them at once (a stalled TCP connection).
    tap.hold();
    const sends = Array.from({ length: 30 }, (_, i) => alice.client.sendData(`raw-${i}`, { target: "rl-bob", topic: "raw" }).then(
      () => "ok",
      (e: unknown) => codeOf(e),
    ));
    await until(() => tap.held >= 30, "30 requests paced out", 20_000);
    tap.release();
    const outcomes = await Promise.all(sends);
    const refused = outcomes.filter((o) => o !== "ok");
    assert.ok(refused.length > 0, "the bunched frames exceeded the server's bucket");
    assert.deepEqual([...new Set(refused)], [Code.ResourceExhausted]);
    const delivered = outcomes.flatMap((o, i) => (o === "ok" ? [`raw-${i}`] : []));
    await until(() => data.length === delivered.length, "bob receives the accepted ones");
    assert.deepEqual(data, delivered);
    assert.equal(alice.client.sid, sid, "the connection survived");
    await until(() => tap.held === 0, "nothing held");

    // The same through the messaging client: every message arrives, once.
    const sender = new VollyMessagingClient({ postQuantumSession: alice.client.getPostQuantumSession() });
    const receiver = new VollyMessagingClient({ postQuantumSession: bob.client.getPostQuantumSession() });
    const received: VollyMessage[] = [];
    receiver.on("message", (m) => received.push(m));
    await new Promise((r) => setTimeout(r, 1100)); // the server's bucket fills up again
    tap.hold();
    const receipts = Array.from({ length: 30 }, (_, i) => sender.send(`m-${i}`, { to: "rl-bob" }));
    await until(() => tap.held >= 30, "30 messages paced out", 20_000);
    tap.release();
    const ids = (await Promise.all(receipts)).map((r) => r.id);
    await until(() => received.length >= 30, "all 30 messages");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(received.length, 30, "no repeats");
    assert.deepEqual(new Set(received.map((m) => m.id)), new Set(ids));
    assert.deepEqual(new Set(received.map((m) => m.body)), new Set(ids.map((_, i) => `m-${i}`)));
    assert.equal(alice.client.sid, sid);
    assert.equal(alice.client.state, "connected");
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
    await server.close();
  }
});

test("a burst beyond the server's burst size is paced: 600 sendData at once all arrive, none refused", async () => {
  const server = await startTestServer();
  const alice = await nodeClient(server.wsUrl, "pb-alice", "paced");
  const bob = await nodeClient(server.wsUrl, "pb-bob", "paced");
  try {
    await alice.client.connect();
    await bob.client.connect();
    const errors: ConnectError[] = [];
    alice.client.on("error", (e) => errors.push(e));
    let received = 0;
    bob.client.on("data", () => received++);
    const outcomes = await Promise.all(Array.from({ length: 600 }, (_, i) => alice.client.sendData(`p-${i}`, { target: "pb-bob" }).then(
      () => "ok",
      (e: unknown) => codeOf(e),
    )));
    assert.deepEqual(outcomes.filter((o) => o !== "ok"), []);
    await until(() => received === 600, "all 600 received");
    assert.deepEqual(errors, []);
    assert.equal(alice.client.state, "connected");
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
    await server.close();
  }
});

test("a paced burst longer than the request timeout: timed from when each request leaves, none fails", async () => {
  // 100 requests a second: 400 at once take about 3.8 s to go out, twice the 2 s request timeout.
  const server = await startTestServer({ VOLLY_MAX_MESSAGES_PER_SECOND: "100", VOLLY_MESSAGE_BURST: "40" });
  const alice = await nodeClient(server.wsUrl, "pt-alice", "paced-timeout", { requestTimeoutMs: 2000 });
  const bob = await nodeClient(server.wsUrl, "pt-bob", "paced-timeout");
  try {
    await alice.client.connect();
    await bob.client.connect();
    let received = 0;
    bob.client.on("data", () => received++);
    const outcomes = await Promise.all(Array.from({ length: 400 }, (_, i) => alice.client.sendData(`t-${i}`, { target: "pt-bob" }).then(
      () => "ok",
      (e: unknown) => codeOf(e),
    )));
    assert.deepEqual(outcomes.filter((o) => o !== "ok"), []);
    await until(() => received === 400, "all 400 received");
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
    await server.close();
  }
});
