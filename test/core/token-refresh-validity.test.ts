// A refreshed token is what a client resumes with after a drop, at any moment until the next refresh: it
// must be valid until well after that refresh (interval, the resume window, a margin), whatever the
// interval, and it binds no PQ key (that key's expiry would get every later resume refused).
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeJwt } from "jose";
import { nextRefreshInMs, refreshValiditySeconds } from "../../src/session/token-refresh.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer } from "../helpers/test-server.js";

const LEEWAY_SECONDS = 60;

test("a refreshed token outlives the next refresh and a resume window after it, for every interval", () => {
  for (const interval of [1, 2, 299, 300, 540, 541, 600, 700, 3600, 86_400]) {
    for (const window of [0, 20, 3600]) {
      const validity = refreshValiditySeconds(interval, window);
      assert.ok(validity >= 600, `at least LiveKit's 10 minutes (interval ${interval})`);
      assert.ok(validity >= interval + window + LEEWAY_SECONDS, `interval ${interval}, window ${window}: ${validity} s`);
      assert.ok(validity >= 2 * interval, `one missed refresh is survived (interval ${interval})`);
      // Scheduled from a token that valid, the next refresh is the interval itself.
      assert.equal(nextRefreshInMs(interval, Date.now() + validity * 1000, Date.now()), interval * 1000);
    }
  }
  // An original token close to expiry is refreshed sooner than the interval, never later than the leeway allows.
  const now = Date.now();
  assert.equal(nextRefreshInMs(700, now + 90_000, now), 30_000);
  assert.equal(nextRefreshInMs(700, now + 30_000, now), 0);
});

test("with VOLLY_TOKEN_REFRESH_INTERVAL=700 the first refresh_token is valid past the next one", async () => {
  const srv = await startTestServer({ VOLLY_TOKEN_REFRESH_INTERVAL: "700" });
  try {
    // A 30 s token: the refresh is due at once (within the leeway of its expiry); the next comes 700 s later.
    const a = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "long-1", room: "long-refresh", pq: "ML-KEM-768", token: { ttlSeconds: 30 } });
    const refresh = await a.waitFor("refreshToken", () => true, 5000);
    const nextRefreshAt = Date.now() + 700_000;
    const expiresAt = Number(refresh.expiresAt);
    assert.ok(expiresAt > nextRefreshAt + (srv.config.resume.windowMs + LEEWAY_SECONDS * 1000),
      `expires ${Math.round((expiresAt - Date.now()) / 1000)} s from now; the next refresh is 700 s away`);
    assert.equal(decodeJwt(refresh.token).exp, expiresAt / 1000, "expires_at is the token's exp");
    const res = await fetch(`${srv.httpUrl}/rtc/validate?access_token=${refresh.token}`);
    assert.equal(res.status, 200);
    await a.leave();
  } finally {
    await srv.close();
  }
});

test("a refreshed token binds no PQ key; the participant's record keeps the key its join published", async () => {
  const srv = await startTestServer({ VOLLY_TOKEN_REFRESH_INTERVAL: "1" });
  try {
    const a = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "bound-r", room: "bound-refresh", pq: "ML-KEM-768", tokenKey: true });
    const published = a.join?.participant?.pqPublicKey ?? new Uint8Array(0);
    assert.equal(published.length, 1184);
    a.send({ case: "ping", value: { timestamp: 1n } });
    const refresh = await a.waitFor("refreshToken", () => true, 5000);
    const claims = decodeJwt(refresh.token);
    for (const claim of ["pqPublicKey", "pqAlgorithm", "pqKeyExpiry"]) assert.equal(claim in claims, false, `no ${claim}`);
    assert.equal(claims.sub, "bound-r");
    const b = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "bound-s", room: "bound-refresh", pq: "ML-KEM-768" });
    const seen = b.join?.otherParticipants.find((p) => p.identity === "bound-r")?.pqPublicKey;
    assert.deepEqual(Buffer.from(seen ?? []), Buffer.from(published));
    await a.leave();
    await b.leave();
  } finally {
    await srv.close();
  }
});
