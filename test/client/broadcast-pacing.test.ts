// The SDK keeps room-wide broadcasts under the fan-out budget the server advertises in `join.limits`
// (`fanout_bytes_per_second`, VOLLY_MAX_FANOUT_BYTES_PER_SECOND): a burst of `sendData` to the room waits
// instead of being refused with `rate_limited`. The SDK charges each broadcast as the server does (bytes times
// recipients), so its estimate is checked against the server's own functions.
import { create } from "@bufbuild/protobuf";
import assert from "node:assert/strict";
import { test } from "node:test";
import { ParticipantInfoSchema } from "../../gen/volly/signaling/v1/models_pb.js";
import { DataMessageSchema, SignalRequestSchema } from "../../gen/volly/signaling/v1/signal_pb.js";
import type { VollyParticipant } from "../../src/client/index.js";
import { broadcastBytes } from "../../src/client/send-pacer.js";
import { dataBytes, descriptionBytes } from "../../src/session/fanout-budget.js";
import { startTestServer } from "../helpers/test-server.js";
import { until } from "../helpers/polling.js";
import { nodeClient } from "../helpers/werift-sdk.js";

test("the SDK's charge for a broadcast is the server's: data payload, topic and id; the merged description", () => {
  for (const value of [
    { topic: "chat", payload: new Uint8Array(1000), id: "a1" },
    { topic: "ünïcødé 🎉", payload: new Uint8Array(7), id: "日本語" },
    { topic: "", payload: new Uint8Array(0), id: "" },
  ]) {
    const request = create(SignalRequestSchema, { message: { case: "data", value } });
    assert.equal(broadcastBytes(request, undefined), dataBytes(create(DataMessageSchema, value)), JSON.stringify(value.topic));
    const direct = create(SignalRequestSchema, { message: { case: "data", value: { ...value, target: "someone" } } });
    assert.equal(broadcastBytes(direct, undefined), 0, "a message to one participant is not a broadcast");
  }
  const local: VollyParticipant = {
    sid: "PA_1", identity: "me", name: "Mé", metadata: "old 🎉", attributes: { keep: "1", drop: "x", change: "a" },
    state: "joined", joinedAt: 0, version: 1,
  };
  const changes: Array<{ metadata: string; name: string; attributes: Record<string, string> }> = [
    { metadata: "", name: "", attributes: {} },
    { metadata: "new metadata", name: "", attributes: { drop: "", change: "bbb", added: "ñ" } },
    { metadata: "", name: "Zoë", attributes: { keep: "" } },
  ];
  for (const change of changes) {
    const request = create(SignalRequestSchema, { message: { case: "updateMetadata", value: change } });
    // What the server announces after merging the change onto the stored participant.
    const attributes = Object.fromEntries(Object.entries({ ...local.attributes, ...change.attributes }).filter(([, v]) => v !== ""));
    const announced = create(ParticipantInfoSchema, { metadata: change.metadata || local.metadata, name: change.name || local.name, attributes });
    assert.equal(broadcastBytes(request, local), descriptionBytes(announced), JSON.stringify(change));
  }
  const ping = create(SignalRequestSchema, { message: { case: "ping", value: {} } });
  assert.equal(broadcastBytes(ping, local), 0);
});

test("a burst of room-wide sendData over the fan-out budget is paced, not refused: every message acknowledged and delivered in order", async () => {
  const server = await startTestServer({
    VOLLY_MAX_FANOUT_BYTES_PER_SECOND: "16384",
    VOLLY_MAX_MESSAGES_PER_SECOND: "100000",
    VOLLY_MESSAGE_BURST: "100000",
  });
  const receivers = await Promise.all(["r0", "r1", "r2"].map((name) => nodeClient(server.wsUrl, `bp-${name}`, "broadcast-pacing")));
  const sender = await nodeClient(server.wsUrl, "bp-sender", "broadcast-pacing");
  try {
    for (const r of receivers) await r.client.connect();
    const joined = await sender.client.connect();
    assert.equal(joined.limits.fanoutBytesPerSecond, 16384, "join advertises the fan-out budget");
    const got = receivers.map(() => [] as string[]);
    receivers.forEach((r, i) => r.client.on("data", (m) => got[i]?.push(m.topic)));

    // 10 × (2,000 bytes + topic + id) × 3 recipients is about 60 KB: without pacing the server's 16 KiB budget
    // refuses most of them.
    const ids = Array.from({ length: 10 }, (_, i) => `m${i}`);
    const acks = await Promise.allSettled(ids.map((id) => sender.client.sendData(new Uint8Array(2000), { topic: id, id })));
    const refused = acks.flatMap((a) => (a.status === "rejected" ? [String(a.reason)] : []));
    assert.deepEqual(refused, [], "no broadcast refused");
    assert.deepEqual(acks.map((a) => (a.status === "fulfilled" ? a.value.recipients : -1)), ids.map(() => 3));
    await until(() => got.every((g) => g.length === ids.length), "every broadcast delivered", 30_000);
    for (const g of got) assert.deepEqual(g, ids, "every receiver got every broadcast, in order");
  } finally {
    await sender.client.disconnect();
    for (const r of receivers) await r.client.disconnect();
    await server.close();
  }
});
