// `volly_webrtc_connection_establishment_seconds` observes a call once both peers reported CONNECTED. Real
// peers report at about the same moment; with Redis (on two nodes, or two round trips on one) both reports
// read the call before either wrote it, so neither saw both and most calls went unobserved.
// Also: a call action to someone not in the room is `target_not_found` (docs/errors.md), as INVITE is.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CallAction } from "../../gen/volly/signaling/v1/signal_pb.js";
import { deletePrefix, REDIS_URL, redisSkip, uniquePrefix } from "../helpers/redis.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const CALLS = 20;
const PQ_OFF = { VOLLY_PQ_ENABLED: "false" };
const redisSkipped = await redisSkip();

/** `_count` of the establishment histogram on one node, as scraped from /metrics. */
async function establishedCount(srv: TestServer): Promise<number> {
  const text = await (await fetch(`${srv.apiUrl}/metrics`)).text();
  const line = /^volly_webrtc_connection_establishment_seconds_count (\S+)$/m.exec(text);
  return line ? Number(line[1]) : 0;
}

async function totalEstablished(nodes: readonly TestServer[]): Promise<number> {
  let total = 0;
  for (const n of nodes) total += await establishedCount(n);
  return total;
}

/** `CALLS` calls alice → bob: invite, accept, then both report CONNECTED in the same tick. */
async function callsWithSimultaneousConnected(alice: TestClient, bob: TestClient, tag: string): Promise<void> {
  for (let i = 0; i < CALLS; i++) {
    const callId = `${tag}-${i}`;
    alice.send({ case: "call", value: { action: CallAction.INVITE, target: "bob", callId, audio: true } });
    await bob.waitFor("call", (c) => c.callId === callId && c.action === CallAction.INVITE, 10_000);
    bob.send({ case: "call", value: { action: CallAction.ACCEPT, target: "alice", callId } });
    await alice.waitFor("call", (c) => c.callId === callId && c.action === CallAction.ACCEPT, 10_000);
    alice.send({ case: "call", value: { action: CallAction.CONNECTED, target: "bob", callId } });
    bob.send({ case: "call", value: { action: CallAction.CONNECTED, target: "alice", callId } });
    // Each peer gets the other's CONNECTED only after the server recorded it (and observed the call, if
    // that report completed it): once both arrived, both reports are done.
    await Promise.all([
      alice.waitFor("call", (c) => c.callId === callId && c.action === CallAction.CONNECTED, 10_000),
      bob.waitFor("call", (c) => c.callId === callId && c.action === CallAction.CONNECTED, 10_000),
    ]);
  }
}

describe("connection establishment is observed once per call when both peers report CONNECTED at once", () => {
  test("memory: one node", async () => {
    const srv = await startTestServer(PQ_OFF);
    const alice = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "alice", room: "est-mem", pq: false });
    const bob = await TestClient.connect({ kind: "grpc-js", port: srv.port, identity: "bob", room: "est-mem", pq: false });
    try {
      const before = await establishedCount(srv);
      await callsWithSimultaneousConnected(alice, bob, "mem");
      assert.equal((await establishedCount(srv)) - before, CALLS);
    } finally {
      alice.kill();
      bob.kill();
      await srv.close();
    }
  });

  test("Redis: two nodes, alice on one and bob on the other", { skip: redisSkipped }, async () => {
    const prefix = uniquePrefix("call-established");
    const env = { ...PQ_OFF, REDIS_URL, REDIS_PREFIX: prefix };
    const nodes = [await startTestServer(env), await startTestServer(env)];
    const [a, b] = nodes as [TestServer, TestServer];
    const alice = await TestClient.connect({ kind: "ws-protobuf", port: a.port, identity: "alice", room: "est-redis", pq: false });
    const bob = await TestClient.connect({ kind: "grpc-js", port: b.port, identity: "bob", room: "est-redis", pq: false });
    try {
      const before = await totalEstablished(nodes);
      await callsWithSimultaneousConnected(alice, bob, "redis");
      assert.equal((await totalEstablished(nodes)) - before, CALLS, "every call observed once, summed over both nodes");
    } finally {
      alice.kill();
      bob.kill();
      await Promise.all(nodes.map((n) => n.close()));
      await deletePrefix(REDIS_URL, prefix);
    }
  });
});

describe("a call action to someone not in the room", () => {
  test("is target_not_found for every action, as for INVITE; call_not_found stays for a call that is not theirs", async () => {
    const srv = await startTestServer(PQ_OFF);
    const alice = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "alice", room: "nf-a", pq: false });
    const bob = await TestClient.connect({ kind: "ws-flat", port: srv.port, identity: "bob", room: "nf-a", pq: false });
    // carol exists, in another room: the same answer as for an identity that exists nowhere.
    const carol = await TestClient.connect({ kind: "grpc-js", port: srv.port, identity: "carol", room: "nf-b", pq: false });
    try {
      const refusal = async (action: CallAction, target: string, callId: string) => {
        const id = alice.send({ case: "call", value: { action, target, callId } });
        const error = await alice.waitFor("error", (_e, r) => r.requestId === id);
        return [error.code, error.reason];
      };
      for (const target of ["carol", "nobody-anywhere"]) {
        for (const action of [CallAction.INVITE, CallAction.RINGING, CallAction.ACCEPT, CallAction.REJECT, CallAction.HANGUP, CallAction.CONNECTED]) {
          assert.deepEqual(await refusal(action, target, "nf-1"), ["not_found", "target_not_found"], `${CallAction[action]} to ${target}`);
        }
      }
      // bob is in the room but there is no such call between them.
      for (const action of [CallAction.ACCEPT, CallAction.HANGUP]) {
        assert.deepEqual(await refusal(action, "bob", "nf-none"), ["not_found", "call_not_found"], `${CallAction[action]} to bob`);
      }
    } finally {
      alice.kill();
      bob.kill();
      carol.kill();
      await srv.close();
    }
  });
});
