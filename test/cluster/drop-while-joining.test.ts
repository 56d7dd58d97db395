// A connection that ends while the server is taking its participant into the room (after `pq_finished`, before
// `join` went out). On Redis the join takes round trips, so the end lands in the middle of it. The participant
// must not stay behind: no ghost in the room, and the connection and participant gauges back to the true counts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import WebSocket from "ws";
import { ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { SignalRequestSchema, SignalResponseSchema, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { openChannel } from "../helpers/channels.js";
import { createIndependentClient } from "../helpers/independent-pq-client.js";
import { eventually, type NodeProcess } from "../helpers/node-process.js";
import { redisSkip } from "../helpers/redis.js";
import { makeToken } from "../helpers/tokens.js";
import { join, twoNodes } from "./cluster-fixture.js";

const skip = await redisSkip();

/** A gauge's value on a node's /metrics (summed over its label sets when `labels` is empty). */
async function gauge(node: NodeProcess, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${node.apiUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}${labels} `) || (labels === "" && line.startsWith(`${name}{`))) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** Does the PQ handshake over a raw socket, sends `pq_finished` and drops the socket in the same breath. */
async function dropAfterFinished(node: NodeProcess, identity: string, room: string): Promise<void> {
  const token = await makeToken({ identity, room });
  const pq = createIndependentClient({ accessToken: token, algorithm: "ML-KEM-768" });
  const ws = new WebSocket(`ws://127.0.0.1:${node.port}/rtc?access_token=${token}&format=protobuf`);
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  ws.send(toBinary(SignalRequestSchema, create(SignalRequestSchema, { message: { case: "pqHandshake", value: await pq.handshakeMessage("drop") } })));
  const response = await new Promise<Buffer>((resolve) => ws.once("message", (d) => resolve(d as Buffer)));
  const first = fromBinary(SignalResponseSchema, response);
  assert.equal(first.message.case, "pqHandshakeResponse");
  if (first.message.case !== "pqHandshakeResponse") return;
  const { clientFinished } = await pq.onHandshakeResponse(first.message.value);
  ws.send(toBinary(SignalRequestSchema, create(SignalRequestSchema, { message: { case: "pqFinished", value: { clientFinished } } })));
  ws.terminate();
}

describe("a connection that ends while its participant is being let in", { skip }, () => {
  const nodes = twoNodes();

  test("WebSocket: three clients drop right after pq_finished; none of them stays in the room", async () => {
    const { a, b } = nodes;
    const room = "drop-while-joining-ws";
    const watcher = await join(b, "grpc-js", "watcher", room);
    for (let i = 0; i < 3; i++) await dropAfterFinished(a, `dropped-${i}`, room);
    // Whoever the room saw join, it sees go; a late joiner finds nobody but the watcher.
    await eventually("a's gauges back to no connection and no participant", async () =>
      (await gauge(a, "volly_connections_active")) === 0 && (await gauge(a, "volly_participants_active")) === 0);
    const late = await join(b, "ws-protobuf", "late", room);
    assert.deepEqual(late.join?.otherParticipants.map((p) => p.identity), ["watcher"]);
    const seen: SignalResponse[] = [];
    for (;;) {
      const next = await watcher.next(300).catch(() => undefined);
      if (next === undefined) break;
      seen.push(next);
    }
    const joined = new Set<string>();
    const gone = new Set<string>();
    for (const r of seen) {
      if (r.message.case !== "participantUpdate") continue;
      for (const p of r.message.value.participants) {
        if (!p.identity.startsWith("dropped-")) continue;
        if (p.state === ParticipantState.DISCONNECTED) gone.add(p.identity);
        else joined.add(p.identity);
      }
    }
    for (const identity of joined) assert.ok(gone.has(identity), `${identity} was announced and never left`);
    await late.leave();
    await watcher.leave();
  });

  test("gRPC: streams cancelled right after pq_finished leave the connection gauge at its true count", async () => {
    const { a } = nodes;
    for (let i = 0; i < 5; i++) {
      const token = await makeToken({ identity: `cancelled-${i}`, room: "drop-while-joining-grpc" });
      const ch = await openChannel("grpc-js", a.port, { token });
      const pq = createIndependentClient({ accessToken: token, algorithm: "ML-KEM-768" });
      ch.send(create(SignalRequestSchema, { message: { case: "pqHandshake", value: await pq.handshakeMessage("cancel") } }));
      const response = await ch.responses.take(5000, "pq_handshake_response");
      if (response.message.case !== "pqHandshakeResponse") assert.fail(`got ${response.message.case}`);
      const { clientFinished } = await pq.onHandshakeResponse(response.message.value);
      ch.send(create(SignalRequestSchema, { message: { case: "pqFinished", value: { clientFinished } } }));
      ch.kill();
    }
    await eventually("a's gRPC connection gauge back to 0", async () => (await gauge(a, "volly_connections_active", '{transport="grpc"}')) === 0);
    // And it stays there: no second decrement comes late.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await gauge(a, "volly_connections_active", '{transport="grpc"}'), 0);
    assert.equal(await gauge(a, "volly_participants_active"), 0);
  });
});
