import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { VollyDataMessage } from "../../src/client/index.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { nextEvent, nodeClient, until } from "../helpers/werift-sdk.js";

// A raw `sendData` whose data_ack was lost is resent with its id after the resume, and the server relays it
// again: the receiving SDK must deliver it once, as the messaging client does for its messages.

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

const text = (m: VollyDataMessage): string => `${m.id}:${new TextDecoder().decode(m.payload)}`;

test("raw data whose receipt was lost is resent after a resume and delivered once", async () => {
  const sender = await nodeClient(server.wsUrl, "dx-sender", "data-once");
  const receiver = await nodeClient(server.wsUrl, "dx-receiver", "data-once");
  try {
    await sender.client.connect();
    await receiver.client.connect();
    const received: string[] = [];
    receiver.client.on("data", (m) => received.push(text(m)));
    // The server relays the first send, but its data_ack never reaches the sender, whose socket then drops.
    sender.tap.deafen();
    const first = sender.client.sendData("raw-once", { target: "dx-receiver", id: "fixed-id-1" });
    await until(() => received.length === 1, "relayed before the drop");
    const reconnected = nextEvent(sender.client, "reconnected");
    sender.tap.cut();
    assert.deepEqual((await reconnected)[0], { resumed: true });
    assert.deepEqual(await first, { id: "fixed-id-1", recipients: 1 });
    // A later message marks the point by which a relayed repeat would have arrived (one sender, in order).
    await sender.client.sendData("after", { target: "dx-receiver", id: "fixed-id-2" });
    await until(() => received.includes("fixed-id-2:after"), "the later message");
    assert.deepEqual(received, ["fixed-id-1:raw-once", "fixed-id-2:after"]);
  } finally {
    await sender.client.disconnect();
    await receiver.client.disconnect();
  }
});

test("the same id from two senders is two messages", async () => {
  const a = await nodeClient(server.wsUrl, "dx-a", "data-two-senders");
  const b = await nodeClient(server.wsUrl, "dx-b", "data-two-senders");
  const c = await nodeClient(server.wsUrl, "dx-c", "data-two-senders");
  try {
    await Promise.all([a.client.connect(), b.client.connect(), c.client.connect()]);
    const received: string[] = [];
    c.client.on("data", (m) => received.push(`${m.from}:${text(m)}`));
    await a.client.sendData("x", { target: "dx-c", id: "shared" });
    await b.client.sendData("y", { target: "dx-c", id: "shared" });
    await until(() => received.length === 2, "both");
    assert.deepEqual(received.sort(), ["dx-a:shared:x", "dx-b:shared:y"]);
  } finally {
    await Promise.all([a.client.disconnect(), b.client.disconnect(), c.client.disconnect()]);
  }
});
