// A node remembers the participants it let go (DepartureLedger), so that after an empty Redis restart it can
// tell their rooms they are gone. A participant that dropped on node A and resumed on node B is not gone:
// A must forget it when B tells A to close the old connection, or, after an empty restart, A could announce it
// DISCONNECTED before B has re-registered it, and every client would drop a participant that is connected.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { HeldState } from "../../src/cluster/held-state.js";
import { SessionLedger } from "../../src/cluster/session-ledger.js";
import { createLogger } from "../../src/logger.js";
import { eventually } from "../helpers/polling.js";
import { deletePrefix, REDIS_URL, redisSkip, uniquePrefix } from "../helpers/redis.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

describe("a departure on one node, resumed on another", { skip: await redisSkip() }, () => {
  const prefix = uniquePrefix("departure-resume");
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    const env = { REDIS_URL, REDIS_PREFIX: prefix, VOLLY_PQ_ENABLED: "false", VOLLY_RESUME_WINDOW: "60" };
    [a, b] = await Promise.all([startTestServer(env), startTestServer(env)]);
  });
  after(async () => {
    await Promise.all([a.close(), b.close()]);
    await deletePrefix(REDIS_URL, prefix);
  });

  test("is forgotten by the first node, which then announces nothing after an empty Redis restart", async () => {
    const room = "dar-room";
    const watcher = await TestClient.connect({ kind: "ws-protobuf", port: a.port, identity: "dar-watcher", room, pq: false });
    const mover = await TestClient.connect({ kind: "ws-protobuf", port: a.port, identity: "dar-mover", room, pq: false });
    const sid = mover.join?.participant?.sid ?? "";
    mover.channel.kill();
    await mover.channel.closed;
    await eventually(async () => ((await a.server.services.store.getParticipantBySid(sid))?.awayUntil ?? 0n) > 0n, "the mover to be away");
    const resumed = await TestClient.connect({ kind: "ws-protobuf", port: b.port, identity: "dar-mover", room, pq: false, query: { reconnect: "1", sid } });
    assert.ok(resumed.reconnect, "resumed on b");
    // The close b sends a goes over the bus: give it the moment it takes to arrive.
    await new Promise((resolve) => setTimeout(resolve, 200));
    watcher.stash.splice(0);

    // Redis loses everything; a re-registers what it holds (the watcher, and so the room) before b does.
    await deletePrefix(REDIS_URL, prefix);
    const services = a.server.services;
    await new HeldState(services, services.rooms, new SessionLedger(), createLogger("silent")).sync(true, services.clock.now());
    const { announced } = await services.rooms.announceDepartures(services.clock.now());
    assert.equal(announced, 0, "a announced no departure");
    const told = watcher.stash.some((r) => r.message.case === "participantUpdate" && r.message.value.participants.some((p) => p.sid === sid && p.state === ParticipantState.DISCONNECTED));
    assert.equal(told, false, "the watcher was not told the connected mover left");
    resumed.kill();
    watcher.kill();
  });
});
