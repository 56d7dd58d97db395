import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { ConfigError } from "../../src/config.js";
import { iceServersFor } from "../../src/room/ice-servers.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

describe("ICE servers in join", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({
      VOLLY_PQ_ENABLED: "false",
      VOLLY_STUN_URLS: "stun:stun.example.test:3478",
      VOLLY_TURN_URLS: "turn:turn.example.test:3478?transport=udp,turns:turn.example.test:5349",
      VOLLY_TURN_SECRET: "coturn-static-auth-secret",
      VOLLY_TURN_TTL: "3600",
    });
  });
  after(() => srv.close());

  test("STUN as configured, TURN with ephemeral coturn REST credentials for the participant", async () => {
    const c = await TestClient.connect({ kind: "ws-flat", port: srv.port, identity: "ice-user", room: "ice", pq: false });
    const [stun, turn] = c.join?.iceServers ?? [];
    assert.deepEqual(stun?.urls, ["stun:stun.example.test:3478"]);
    assert.deepEqual(turn?.urls, ["turn:turn.example.test:3478?transport=udp", "turns:turn.example.test:5349"]);
    const [expiry, identity] = (turn?.username ?? "").split(":");
    assert.equal(identity, "ice-user");
    const ttl = Number(expiry) - Date.now() / 1000;
    assert.ok(ttl > 3590 && ttl <= 3600, `expiry ${expiry}`);
    // coturn's use-auth-secret check: base64(HMAC-SHA1(secret, username)).
    assert.equal(turn?.credential, createHmac("sha1", "coturn-static-auth-secret").update(turn?.username ?? "").digest("base64"));
    await c.leave();
  });
});

describe("without a TURN secret", () => {
  // TURN URLs would not work without credentials: such a configuration is refused at start-up
  // (test/core/config.test.ts), and were one to reach `iceServersFor` anyway, the URLs are not offered.
  test("a node with TURN URLs but no secret does not start", async () => {
    await assert.rejects(
      startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_TURN_URLS: "turn:turn.example.test:3478" }),
      (e: unknown) => e instanceof ConfigError && /VOLLY_TURN_SECRET is missing/.test(e.message),
    );
  });

  test("TURN URLs are not offered without a secret", () => {
    const ice = { stunUrls: [], turnUrls: ["turn:turn.example.test:3478"], turnSecret: undefined, turnTtlSeconds: 3600 };
    assert.deepEqual(iceServersFor("no-turn", ice), []);
  });
});
