// Call edges an app meets: accept() failing (capture refused, no RTCPeerConnection) ends the call on both sides
// with a ConnectError; a renegotiation pending when the call ends settles at once (Aborted); the inviting → ringing
// transition reaches a listener attached as soon as createCall() resolves.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Code, ConnectError, type VollyCall, type VollyCallState } from "../../src/client/index.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { nextEvent, nodeClient, until } from "../helpers/werift-sdk.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

const refusedCapture = (): Promise<never> => Promise.reject(new DOMException("Permission denied", "NotAllowedError"));

for (const [what, callee] of [
  ["capture is refused", { getUserMedia: refusedCapture }],
  ["there is no RTCPeerConnection", { RTCPeerConnection: undefined }],
] as const) {
  test(`accept() when ${what}: ConnectError FailedPrecondition, both sides leave the call`, async () => {
    const room = `accept-fails-${what.length}`;
    const alice = await nodeClient(server.wsUrl, "af-alice", room);
    const bob = await nodeClient(server.wsUrl, "af-bob", room, callee);
    try {
      await alice.client.connect();
      await bob.client.connect();
      const incoming = nextEvent(bob.client, "incomingCall");
      const call = await alice.client.createCall({ recipient: "af-bob", audio: true });
      const callerEnded = nextEvent(call, "ended");
      const [bobCall] = await incoming;
      const calleeEnded = nextEvent(bobCall, "ended");
      const error = await bobCall.accept().then(() => assert.fail("accept() succeeded"), (e: unknown) => e);
      assert.ok(error instanceof ConnectError, String(error));
      assert.equal(error.code, Code.FailedPrecondition, error.message);
      if (callee.getUserMedia !== undefined) assert.match(String((error.cause as Error).name), /NotAllowedError/);
      const [reason, detail] = await calleeEnded;
      assert.equal(reason, "failed");
      assert.equal(bobCall.state, "ended");
      const [callerReason, callerDetail] = await callerEnded;
      assert.equal(callerReason, "remote_hangup");
      assert.equal(callerDetail, detail, "the caller hears why");
      assert.deepEqual([alice.client.calls.length, bob.client.calls.length], [0, 0]);
    } finally {
      await alice.client.disconnect();
      await bob.client.disconnect();
    }
  });
}

test("renegotiate() pending when the call ends rejects with Aborted at once; on an ended call too", async () => {
  // A ten-minute request timeout: only an immediate settlement lets this test finish.
  const alice = await nodeClient(server.wsUrl, "rn-alice", "renegotiate-end", { requestTimeoutMs: 600_000 });
  const bob = await nodeClient(server.wsUrl, "rn-bob", "renegotiate-end", { requestTimeoutMs: 600_000 });
  try {
    await alice.client.connect();
    await bob.client.connect();
    let bobCall: VollyCall | undefined;
    bob.client.on("incomingCall", (c) => void (bobCall = c).accept());
    const call = await alice.client.createCall({ recipient: "rn-bob" });
    await call.createDataChannel("chat");
    await until(() => call.state === "connected" && bobCall?.state === "connected", "call connected");
    const pending = call.renegotiate().then(() => "resolved", (e: unknown) => (e instanceof ConnectError ? e.code : String(e)));
    await call.hangup();
    assert.equal(await pending, Code.Aborted);
    const after = await call.renegotiate().then(() => "resolved", (e: unknown) => (e instanceof ConnectError ? e.code : String(e)));
    assert.equal(after, Code.Aborted);
    await until(() => bob.client.calls.length === 0, "bob's call ended");
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
  }
});

test("a listener attached when createCall() resolves sees inviting → ringing (and every later transition)", async () => {
  const alice = await nodeClient(server.wsUrl, "st-alice", "call-states");
  const bob = await nodeClient(server.wsUrl, "st-bob", "call-states");
  try {
    await alice.client.connect();
    await bob.client.connect();
    let bobCall: VollyCall | undefined;
    bob.client.on("incomingCall", (c) => (bobCall = c));
    for (let round = 0; round < 3; round++) {
      const call = await alice.client.createCall({ recipient: "st-bob" });
      const seen: Array<[VollyCallState, VollyCallState]> = [];
      call.on("state", (state, previous) => seen.push([state, previous]));
      await until(() => bobCall?.state === "incoming", "the invitation arrives");
      await until(() => seen.length > 0, "the ringing transition");
      assert.deepEqual(seen[0], ["ringing", "inviting"]);
      const ended = nextEvent(call, "ended");
      await (bobCall as VollyCall).reject("busy");
      await ended;
      assert.deepEqual(seen, [["ringing", "inviting"], ["ended", "ringing"]]);
    }
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
  }
});
