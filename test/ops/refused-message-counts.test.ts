// volly_signal_messages_total{direction="in"} counts every request a client sent, by type, whether the rate
// limit admitted it or refused it (docs/operations.md §5: "signal messages"; refusals are also counted, without a
// type, in volly_limit_exceeded_total). Each path of the session's way in: decoded requests (JSON frames and
// binary non-relay ones), the binary relay fast path, and requests before the post-quantum channel exists.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { WebSocket } from "ws";
import { generateTokenKeyPair } from "../helpers/independent-pq-client.js";
import { eventually } from "../helpers/polling.js";
import { TestClient } from "../helpers/signal-client.js";
import { limitCount, startTestServer, type TestServer } from "../helpers/test-server.js";
import { makeToken } from "../helpers/tokens.js";
import { parsePrometheusText, sumOf } from "./helpers/prom-text.js";

/** A bucket of 5 that refills at 1 a second: of a burst of 8, about 3 are refused, too few to close (more than 5). */
const LIMITS = { VOLLY_MAX_MESSAGES_PER_SECOND: "1", VOLLY_MESSAGE_BURST: "5" };
const BURST = 8;

async function inbound(srv: TestServer, type: string): Promise<number> {
  const res = await fetch(`${srv.apiUrl}/metrics`);
  return sumOf(parsePrometheusText(await res.text()), "volly_signal_messages_total", { type, direction: "in" });
}

/** Waits until `type` was counted `expected` times in; a shortfall names what was counted. */
async function expectInbound(srv: TestServer, type: string, expected: number): Promise<void> {
  let seen = 0;
  await eventually(async () => (seen = await inbound(srv, type)) >= expected, `${expected} ${type} counted in`).catch((e: unknown) => {
    throw new Error(`${String(e)}: counted ${seen}`);
  });
  assert.equal(seen, expected);
}

describe("inbound requests refused by the rate limit are counted by type", () => {
  describe("plaintext node", () => {
    let srv: TestServer;
    before(async () => {
      srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", ...LIMITS });
    });
    after(() => srv.close());

    for (const kind of ["ws-flat", "ws-protobuf"] as const) {
      test(`pings over ${kind}: every one counted in, refused or not`, async () => {
        const c = await TestClient.connect({ kind, port: srv.port, identity: `pinger-${kind}`, room: "counts", pq: false });
        const before = await inbound(srv, "ping");
        const refusedBefore = await limitCount(srv, "messages_per_second");
        for (let i = 0; i < BURST; i++) c.send({ case: "ping", value: { timestamp: BigInt(i) } });
        // Every ping is answered, by a pong or a refusal: then all of them have been through the way in.
        let answered = 0;
        while (answered < BURST) {
          const r = await c.next(10_000);
          if (r.message.case === "pong" || r.message.case === "error") answered++;
        }
        assert.ok((await limitCount(srv, "messages_per_second")) > refusedBefore, "some were refused");
        await expectInbound(srv, "ping", before + BURST);
        c.kill(); // a leave now would itself be refused: the bucket is empty
      });
    }

    test("offers on the binary relay fast path: every one counted in, refused or not", async () => {
      const alice = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "alice", room: "relay-counts", pq: false });
      const bob = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "bob", room: "relay-counts", pq: false });
      await alice.waitFor("participantUpdate", (u) => u.participants.some((p) => p.identity === "bob"));
      const before = await inbound(srv, "offer");
      const refusedBefore = await limitCount(srv, "messages_per_second");
      for (let i = 0; i < BURST; i++) alice.send({ case: "offer", value: { sdp: `v=0 ${i}`, target: "bob", callId: "c1" } });
      await alice.waitFor("error", (e) => e.reason === "rate_limited", 10_000);
      assert.ok((await limitCount(srv, "messages_per_second")) > refusedBefore);
      await expectInbound(srv, "offer", before + BURST);
      alice.kill();
      await bob.leave();
    });
  });

  describe("post-quantum node, before the channel exists", () => {
    let srv: TestServer;
    before(async () => {
      srv = await startTestServer({ ...LIMITS });
    });
    after(() => srv.close());

    test("pq_handshake repeated with the token's own key (ignored, not fatal): every one counted in", async () => {
      // Way (a): the server speaks first; a pq_handshake with the token's key is ignored, so none of these
      // ends the connection and each goes through the rate limit in turn.
      const key = await generateTokenKeyPair("ML-KEM-768");
      const publicKey = Buffer.from(key.publicKey).toString("base64");
      const token = await makeToken({ identity: "repeater", room: "pq-counts", claims: { pqPublicKey: publicKey, pqAlgorithm: "ML-KEM-768" } });
      const ws = new WebSocket(`${srv.wsUrl}/rtc?access_token=${token}`);
      const frames: Array<Record<string, unknown>> = [];
      ws.on("message", (data) => frames.push(JSON.parse(String(data)) as Record<string, unknown>));
      await new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
      });
      const before = await inbound(srv, "pqHandshake");
      const refusedBefore = await limitCount(srv, "messages_per_second");
      for (let i = 0; i < BURST; i++) {
        ws.send(JSON.stringify({ type: "pq_handshake", algorithm: "ML-KEM-768", client_public_key: publicKey, request_id: i + 1 }));
      }
      await expectInbound(srv, "pqHandshake", before + BURST);
      assert.ok((await limitCount(srv, "messages_per_second")) > refusedBefore, "some were refused");
      await eventually(async () => frames.some((f) => f.type === "error" && f.reason === "rate_limited"), "a rate_limited refusal");
      assert.equal(ws.readyState, WebSocket.OPEN, "refusals under the burst do not close the connection");
      ws.terminate();
    });
  });
});
