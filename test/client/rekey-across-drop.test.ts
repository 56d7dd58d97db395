// A rekey() whose answer is lost to a dropped connection is not failed for the drop: the SDK resumes, and the
// rekey runs then, as one asked for a moment later (while reconnecting) does (client-sdk.md: "while
// `reconnecting`, once reconnected"). It fails only when recovery gives up or the client disconnects (probe D, D2).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConnectError } from "../../src/client/index.js";
import { startTestServer } from "../helpers/test-server.js";
import { nextEvent, nodeClient } from "../helpers/werift-sdk.js";

/** How a promise settled: "resolved", or the rejection's text. */
function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(() => "resolved", (e: unknown) => `rejected: ${String(e)}`);
}

type Alice = Awaited<ReturnType<typeof nodeClient>>;

/** `body` with a connected client of a fresh server that retries `attempts` times `delayMs` apart; both closed after. */
async function withAlice(identity: string, room: string, attempts: number, delayMs: number, body: (alice: Alice) => Promise<void>): Promise<void> {
  const server = await startTestServer();
  const alice = await nodeClient(server.wsUrl, identity, room, { reconnect: { maxAttempts: attempts, initialDelayMs: delayMs, maxDelayMs: delayMs, multiplier: 1, jitter: 0 } });
  try {
    await alice.client.connect();
    await body(alice);
  } finally {
    await alice.client.disconnect();
    await server.close();
  }
}

/**
 * A rekey whose answer is lost (the client hears nothing more), once its request is out. Wrapped: an async
 * function returning the rekey itself would wait for it.
 */
async function unansweredRekey(alice: Alice): Promise<{ rekey: Promise<void> }> {
  alice.tap.deafen();
  const rekey = alice.client.rekey();
  rekey.catch(() => undefined);
  await new Promise((r) => setTimeout(r, 100));
  return { rekey };
}

test("a rekey in flight when the connection drops resolves after the resume, on the resumed channel", () =>
  withAlice("rd-alice", "rekey-drop", 5, 100, async (alice) => {
    const sid = alice.client.sid;
    const events: string[] = [];
    alice.client.on("reconnecting", () => events.push("reconnecting"));
    alice.client.on("reconnected", ({ resumed }) => events.push(`reconnected resumed=${resumed}`));
    alice.client.on("rekeyed", ({ epoch }) => events.push(`rekeyed epoch=${epoch}`));
    const reconnected = nextEvent(alice.client, "reconnected");
    // The rekey request goes out; its answer is lost, then the socket dies.
    const rekey = outcome((await unansweredRekey(alice)).rekey);
    alice.tap.cut();
    assert.equal(await rekey, "resolved");
    await reconnected;
    assert.equal(alice.client.sid, sid, "the same participant, resumed");
    assert.deepEqual(events, ["reconnecting", "reconnected resumed=true", "rekeyed epoch=1"]);
    assert.equal(alice.client.getPostQuantumSession().epoch, 1, "the resumed channel was rekeyed");
    assert.equal(alice.client.state, "connected");
  }));

test("a rekey in flight when the connection drops rejects with recovery's error when recovery gives up", () =>
  withAlice("rg-alice", "rekey-give-up", 2, 50, async (alice) => {
    const disconnected = nextEvent(alice.client, "disconnected");
    const { rekey } = await unansweredRekey(alice);
    alice.tap.down = true;
    alice.tap.cut();
    const [{ error }] = await disconnected;
    const rejection = await rekey.then(() => undefined, (e: unknown) => e);
    assert.ok(rejection instanceof ConnectError, String(rejection));
    assert.equal(rejection, error, "the error recovery gave up with");
    assert.equal(alice.client.state, "disconnected");
  }));

test("a rekey in flight when the connection drops rejects when the client disconnects during the recovery", () =>
  withAlice("rc-alice", "rekey-close", 5, 2000, async (alice) => {
    const reconnecting = nextEvent(alice.client, "reconnecting");
    const rekey = outcome((await unansweredRekey(alice)).rekey);
    alice.tap.cut();
    await reconnecting;
    // Recovery's first attempt is seconds away: the rekey is waiting for it.
    await new Promise((r) => setTimeout(r, 200));
    await alice.client.disconnect();
    assert.match(await rekey, /^rejected: .*disconnected/);
  }));

test("a rekey in flight rejects as disconnected when the app disconnects in the same tick as the drop", () =>
  withAlice("rt-alice", "rekey-tick", 5, 100, async (alice) => {
    // The app reacts to the drop at once, before the channel has failed its rekey.
    alice.client.on("reconnecting", () => void alice.client.disconnect());
    const rekey = outcome((await unansweredRekey(alice)).rekey);
    alice.tap.cut();
    assert.match(await rekey, /^rejected: .*disconnected/);
    assert.equal(alice.client.state, "disconnected");
  }));
