// The server announces a `leave` with an `error` right before it. When the SDK handles that leave by
// recovering (a routine PQ session expiry: `leave {SESSION_EXPIRED, RESUME}`), the error is its cause in
// `reconnecting`, not an `error` event: an app that logs users out on `Unauthenticated` must not see one.
// An error that announces nothing still reaches `error`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, type ConnectError } from "../../src/client/index.js";
import { slowLinkWebSocket } from "../helpers/slow-link.js";
import { startTestServer } from "../helpers/test-server.js";
import { nextEvent, nodeClient } from "../helpers/werift-sdk.js";

test("a PQ session expiry is reported by reconnecting (with its cause), and no error event fires", async () => {
  const server = await startTestServer({ VOLLY_PQ_SESSION_TIMEOUT: "2" });
  const alice = await nodeClient(server.wsUrl, "ae-alice", "announce");
  const errors: ConnectError[] = [];
  alice.client.on("error", (e) => errors.push(e));
  try {
    await alice.client.connect();
    const sid = alice.client.sid;
    for (let expiry = 0; expiry < 2; expiry++) {
      const [why] = await nextEvent(alice.client, "reconnecting", 10_000);
      assert.equal(why.reason, "session_expired");
      assert.equal(why.error?.code, Code.Unauthenticated, "the server's error is the cause of reconnecting");
      assert.deepEqual((await nextEvent(alice.client, "reconnected"))[0], { resumed: true });
    }
    assert.equal(alice.client.sid, sid);
    assert.deepEqual(errors.map((e) => e.message), [], "no error event for a leave the SDK resumed from");
  } finally {
    await alice.client.disconnect();
    await server.close();
  }
});

test("an error no request waits for any more, and no leave follows, still fires error", async () => {
  const server = await startTestServer({ VOLLY_PING_INTERVAL: "1", VOLLY_PING_TIMEOUT: "5" });
  // The answer takes 300 ms to come back; the request gave up after 100 ms, so its refusal is unclaimed.
  // Bob keeps alice's socket busy: a request is only timed out while its socket hears something.
  const alice = await nodeClient(server.wsUrl, "ue-alice", "unclaimed", { webSocket: slowLinkWebSocket(150), requestTimeoutMs: 100 });
  const bob = await nodeClient(server.wsUrl, "ue-bob", "unclaimed");
  let chatting = true;
  try {
    await alice.client.connect();
    await bob.client.connect();
    const chat = (async () => {
      while (chatting) {
        await bob.client.sendData("busy", { target: "ue-alice" });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const error = nextEvent(alice.client, "error", 10_000);
    await assert.rejects(alice.client.sendData("to nobody", { target: "ue-nobody" }), (e: ConnectError) => e.code === Code.DeadlineExceeded);
    const [e] = await error;
    assert.equal(e.code, Code.NotFound, "the late refusal, as an error event");
    assert.equal(alice.client.state, "connected");
    chatting = false;
    await chat;
  } finally {
    chatting = false;
    await bob.client.disconnect();
    await alice.client.disconnect();
    await server.close();
  }
});
