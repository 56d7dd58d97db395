import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { DataChannelLike, VollyCall } from "../../src/client/index.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { eventually, nextEvent, nodeClient, until } from "../helpers/werift-sdk.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

/** Collects the text messages a data channel receives (werift delivers binary as a Buffer). */
function inbox(channel: DataChannelLike): string[] {
  const got: string[] = [];
  channel.onmessage = (event: { data: unknown }) => got.push(typeof event.data === "string" ? event.data : String(event.data));
  return got;
}

test("two Node clients (SDK + werift) call through the server with PQ on and exchange data-channel messages", async () => {
  const room = "werift-call";
  const alice = await nodeClient(server.wsUrl, "alice", room);
  const bob = await nodeClient(server.wsUrl, "bob", room);
  try {
    const started = Date.now();
    await alice.client.connect();
    const bobJoined = nextEvent(alice.client, "participantJoined");
    await bob.client.connect();
    assert.equal((await bobJoined)[0].identity, "bob");
    assert.match(alice.client.getPostQuantumSession().sessionId ?? "", /^[0-9a-f]{32}$/);
    assert.equal(alice.client.getPostQuantumSession().algorithm, "ML-KEM-768");

    let bobChannel: DataChannelLike | undefined;
    bob.client.on("incomingCall", (call: VollyCall) => {
      call.on("dataChannel", (channel) => (bobChannel = channel));
      void call.accept();
    });
    const call = await alice.client.createCall({ recipient: "bob", audio: false, video: false });
    const channel = await call.createDataChannel("messages");
    await until(() => bobChannel !== undefined, "bob's data channel");
    const bobGot = inbox(bobChannel as DataChannelLike);
    const aliceGot = inbox(channel);
    channel.send("hello bob");
    await until(() => bobGot.length === 1, "bob receives");
    (bobChannel as DataChannelLike).send("hello alice");
    await until(() => aliceGot.length === 1, "alice receives");
    assert.deepEqual(bobGot, ["hello bob"]);
    assert.deepEqual(aliceGot, ["hello alice"]);
    await until(() => call.state === "connected", "caller connected");
    const bobCall = bob.client.calls[0];
    assert.equal(bobCall?.state, "connected");
    const elapsed = Date.now() - started;

    // Both sides reported CONNECTED, so the server recorded invite → connected as its establishment metric.
    await eventually(async () => {
      const metrics = await (await fetch(`${server.apiUrl}/metrics`)).text();
      const count = /volly_webrtc_connection_establishment_seconds_count\S* (\d+)/.exec(metrics);
      return count !== null && Number(count[1]) >= 1;
    }, "connection establishment metric");

    // Only loopback candidates were signaled, inline in the SDP or trickled.
    const remoteSdp = call.peerConnection?.remoteDescription?.sdp ?? "";
    const candidates = remoteSdp.split("\r\n").filter((l) => l.startsWith("a=candidate:"));
    assert.ok(candidates.length > 0 && candidates.every((l) => l.includes(" 127.0.0.1 ")), candidates.join("\n"));

    // Glare: both sides renegotiate at the same moment; perfect negotiation settles it and both complete.
    await Promise.all([call.renegotiate(), (bobCall as VollyCall).renegotiate()]);
    assert.equal(call.peerConnection?.signalingState, "stable");
    assert.equal(bobCall?.peerConnection?.signalingState, "stable");
    channel.send("after the glare");
    await until(() => bobGot.length === 2, "bob receives after the glare");

    const ended = nextEvent(bobCall as VollyCall, "ended");
    await call.hangup();
    await ended;
    assert.equal(alice.client.calls.length, 0);
    console.log(`werift call connected and exchanged messages in ${elapsed} ms`);
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
  }
});
