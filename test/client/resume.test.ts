import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Code, type DataChannelLike, type VollyCall } from "../../src/client/index.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { nextEvent, nodeClient, until } from "../helpers/werift-sdk.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

const text = (payload: Uint8Array): string => new TextDecoder().decode(payload);

test("a cut socket resumes the same participant: nothing missed, nothing twice, queued requests sent after", async () => {
  const alice = await nodeClient(server.wsUrl, "r-alice", "resume");
  const bob = await nodeClient(server.wsUrl, "r-bob", "resume");
  try {
    await alice.client.connect();
    await bob.client.connect();
    const sid = alice.client.sid;
    const session = alice.client.getPostQuantumSession().sessionId;
    const got: string[] = [];
    alice.client.on("data", (m) => got.push(text(m.payload)));
    for (let i = 0; i < 3; i++) await bob.client.sendData(`before-${i}`, { target: "r-alice" });
    await until(() => got.length === 3, "messages before the cut");

    const reconnecting = nextEvent(alice.client, "reconnecting");
    const reconnected = nextEvent(alice.client, "reconnected");
    const started = Date.now();
    alice.tap.cut();
    const [why] = await reconnecting;
    assert.equal(why.reason, "connection_lost");
    // While alice is away: messages for her are queued by the server, her own requests by the SDK.
    const during = Promise.all([0, 1, 2].map((i) => bob.client.sendData(`during-${i}`, { target: "r-alice" })));
    const discover = alice.client.discoverUsers(["r-bob"]);
    assert.deepEqual((await reconnected)[0], { resumed: true });
    const resumeMs = Date.now() - started;
    await during;
    assert.deepEqual((await discover).map((u) => u.online), [true]);
    await until(() => got.length === 6, "messages sent during the outage");
    assert.deepEqual(got, ["before-0", "before-1", "before-2", "during-0", "during-1", "during-2"]);
    assert.equal(alice.client.sid, sid, "same participant");
    assert.notEqual(alice.client.getPostQuantumSession().sessionId, session, "a fresh handshake: a new session");
    assert.equal(alice.tap.opened.length, 2);
    assert.deepEqual(bob.client.participants.map((p) => p.identity), ["r-alice"]);
    console.log(`resumed in ${resumeMs} ms`);
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
  }
});

test("during a call: the socket is cut, the SDK resumes, and the call's signaling carries on", async () => {
  const alice = await nodeClient(server.wsUrl, "c-alice", "call-resume");
  const bob = await nodeClient(server.wsUrl, "c-bob", "call-resume");
  try {
    await alice.client.connect();
    await bob.client.connect();
    let bobCall: VollyCall | undefined;
    const bobChannels: DataChannelLike[] = [];
    const bobGot: string[] = [];
    bob.client.on("incomingCall", (call) => {
      bobCall = call;
      call.on("dataChannel", (channel) => {
        bobChannels.push(channel);
        channel.onmessage = (e: { data: unknown }) => bobGot.push(String(e.data));
      });
      void call.accept();
    });
    const call = await alice.client.createCall({ recipient: "c-bob" });
    const first = await call.createDataChannel("before");
    await until(() => call.state === "connected" && bobCall?.state === "connected", "call connected");

    const reconnected = nextEvent(alice.client, "reconnected");
    alice.tap.cut();
    assert.deepEqual((await reconnected)[0], { resumed: true });
    assert.equal(call.state, "connected", "media path untouched by the signaling drop");

    // Signaling after the resume: a full offer/answer exchange through the server, both directions.
    await call.renegotiate();
    await (bobCall as VollyCall).renegotiate();
    const second = await call.createDataChannel("after");
    second.send("over a channel negotiated after the resume");
    first.send("over the first channel");
    await until(() => bobGot.length === 2, "bob receives on both channels");
    assert.deepEqual(new Set(bobGot), new Set(["over a channel negotiated after the resume", "over the first channel"]));

    // Hang-up after the resume reaches the other side.
    const ended = nextEvent(call, "ended");
    await (bobCall as VollyCall).hangup("done");
    assert.deepEqual((await ended), ["remote_hangup", "done"]);
    assert.equal(alice.client.calls.length, 0);
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
  }
});

test("the server's leave {RESUME} (session expired) is followed by a resume with a new session", async () => {
  const short = await startTestServer({ VOLLY_PQ_SESSION_TIMEOUT: "2" });
  const alice = await nodeClient(short.wsUrl, "x-alice", "expiry");
  try {
    await alice.client.connect();
    const sid = alice.client.sid;
    const first = alice.client.getPostQuantumSession().sessionId;
    const [why] = await nextEvent(alice.client, "reconnecting", 10_000);
    assert.equal(why.reason, "session_expired");
    assert.equal(why.error?.code, Code.Unauthenticated, "the server's error behind the leave");
    assert.deepEqual((await nextEvent(alice.client, "reconnected"))[0], { resumed: true });
    assert.equal(alice.client.sid, sid);
    assert.notEqual(alice.client.getPostQuantumSession().sessionId, first);
  } finally {
    await alice.client.disconnect();
    await short.close();
  }
});

test("past the resume window the server answers leave {RECONNECT} and the SDK joins again", async () => {
  const brief = await startTestServer({ VOLLY_RESUME_WINDOW: "1" });
  // The SDK retries only after 2.5 s, when the server has already removed the participant.
  const alice = await nodeClient(brief.wsUrl, "w-alice", "window", { reconnect: { initialDelayMs: 2500, jitter: 0 } });
  const bob = await nodeClient(brief.wsUrl, "w-bob", "window");
  try {
    await alice.client.connect();
    await bob.client.connect();
    const sid = alice.client.sid;
    const left = nextEvent(bob.client, "participantLeft");
    const rejoined = nextEvent(bob.client, "participantJoined", 15_000);
    const reconnected = nextEvent(alice.client, "reconnected", 15_000);
    const connected = nextEvent(alice.client, "connected", 15_000);
    alice.tap.cut();
    assert.equal((await left)[0].identity, "w-alice");
    assert.deepEqual((await reconnected)[0], { resumed: false });
    await connected;
    assert.notEqual(alice.client.sid, sid, "a new participant");
    assert.equal((await rejoined)[0].sid, alice.client.sid);
    assert.deepEqual(alice.client.participants.map((p) => p.identity), ["w-bob"]);
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
    await brief.close();
  }
});

test("reconnects use the latest refresh_token", async () => {
  const refreshing = await startTestServer({ VOLLY_TOKEN_REFRESH_INTERVAL: "1" });
  const alice = await nodeClient(refreshing.wsUrl, "t-alice", "refresh");
  try {
    await alice.client.connect();
    const original = new URL(alice.tap.opened[0]!.url).searchParams.get("access_token");
    await new Promise((r) => setTimeout(r, 2500)); // at least one refresh_token arrives
    const reconnected = nextEvent(alice.client, "reconnected");
    alice.tap.cut();
    assert.deepEqual((await reconnected)[0], { resumed: true });
    const used = new URL(alice.tap.opened[1]!.url).searchParams.get("access_token");
    assert.ok(used !== null && used !== original, "the resume used a refreshed token");
    assert.equal(new URL(alice.tap.opened[1]!.url).searchParams.get("reconnect"), "1");
  } finally {
    await alice.client.disconnect();
    await refreshing.close();
  }
});

test("a silent (half-open) connection is detected by the ping timeout and resumed", async () => {
  const quick = await startTestServer({ VOLLY_PING_INTERVAL: "1", VOLLY_PING_TIMEOUT: "3" });
  const alice = await nodeClient(quick.wsUrl, "h-alice", "half-open");
  try {
    await alice.client.connect();
    alice.tap.deafen(); // alice still sends (the server sees her pings) but hears nothing
    const [why] = await nextEvent(alice.client, "reconnecting", 10_000);
    assert.equal(why.error?.code, Code.DeadlineExceeded);
    assert.deepEqual((await nextEvent(alice.client, "reconnected"))[0], { resumed: true });
  } finally {
    await alice.client.disconnect();
    await quick.close();
  }
});

test("a tampered record from the server breaks the channel: the SDK drops it and resumes with a fresh handshake", async () => {
  const alice = await nodeClient(server.wsUrl, "d-alice", "tamper");
  const bob = await nodeClient(server.wsUrl, "d-bob", "tamper");
  try {
    await alice.client.connect();
    await bob.client.connect();
    const got: string[] = [];
    alice.client.on("data", (m) => got.push(text(m.payload)));
    alice.tap.corruptNext();
    const reconnecting = nextEvent(alice.client, "reconnecting");
    await bob.client.sendData("tampered in transit", { target: "d-alice" });
    const [why] = await reconnecting;
    assert.equal(why.error?.code, Code.DataLoss);
    assert.deepEqual((await nextEvent(alice.client, "reconnected"))[0], { resumed: true });
    // The message whose record was refused is replayed by the server after the resume, once.
    await until(() => got.length === 1, "the replayed message");
    assert.deepEqual(got, ["tampered in transit"]);
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
  }
});
