import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code } from "@connectrpc/connect";
import { AccessToken } from "livekit-server-sdk";
import { WebSocket } from "ws";
import { openChannel, UpgradeRefused } from "../helpers/channels.js";
import { TestClient } from "../helpers/signal-client.js";
import { DEV_KEY, DEV_SECRET, makeToken } from "../helpers/tokens.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const b64url = (s: string) => Buffer.from(s).toString("base64url");

/** Tokens that must be refused, with the HTTP status and gRPC code they must get. */
async function badTokens(): Promise<Array<{ name: string; token: string; status: number; grpc: number }>> {
  const now = Math.floor(Date.now() / 1000);
  const good = await makeToken({ identity: "eve" });
  const [h, p, s] = good.split(".");
  const payload = JSON.parse(Buffer.from(p ?? "", "base64url").toString());
  return [
    { name: "tampered payload", token: `${h}.${b64url(JSON.stringify({ ...payload, sub: "admin" }))}.${s}`, status: 401, grpc: 16 },
    { name: "tampered signature", token: `${h}.${p}.${(s ?? "").slice(0, -4)}AAAA`, status: 401, grpc: 16 },
    { name: "expired", token: await makeToken({ identity: "eve", nbf: now - 7200, ttlSeconds: -180 }), status: 401, grpc: 16 },
    { name: "not yet valid", token: await makeToken({ identity: "eve", nbf: now + 600 }), status: 401, grpc: 16 },
    { name: "alg none", token: `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${p}.`, status: 401, grpc: 16 },
    { name: "HS512", token: await makeToken({ identity: "eve", alg: "HS512" }), status: 401, grpc: 16 },
    { name: "wrong secret", token: await makeToken({ identity: "eve", secret: "not-the-secret-at-all-0123456789" }), status: 401, grpc: 16 },
    { name: "unknown key", token: await makeToken({ identity: "eve", key: "someone-else" }), status: 401, grpc: 16 },
    { name: "garbage", token: "not-a-jwt", status: 401, grpc: 16 },
    { name: "no room grant", token: await makeToken({ identity: "eve", grant: { roomJoin: false } }), status: 403, grpc: 7 },
    { name: "no room name", token: await makeToken({ identity: "eve", grant: { room: "" } }), status: 400, grpc: 3 },
    { name: "no identity", token: await makeToken({ identity: "" }), status: 400, grpc: 3 },
    { name: "missing exp", token: await noExpToken(), status: 401, grpc: 16 },
  ];
}

async function noExpToken(): Promise<string> {
  const { SignJWT } = await import("jose");
  return new SignJWT({ video: { roomJoin: true, room: "r" } })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(DEV_KEY)
    .setSubject("eve")
    .sign(new TextEncoder().encode(DEV_SECRET));
}

describe("access tokens", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
  });
  after(() => srv.close());

  test("a token minted by livekit-server-sdk's AccessToken is accepted", async () => {
    const at = new AccessToken(DEV_KEY, DEV_SECRET, { identity: "lk-user", name: "LiveKit User", ttl: "10m" });
    at.addGrant({ roomJoin: true, room: "lk-room", canPublish: true, canSubscribe: true });
    const token = await at.toJwt();
    const res = await fetch(`${srv.httpUrl}/rtc/validate?access_token=${token}`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "success");
    const ch = await openChannel("ws-protobuf", srv.port, { token });
    const join = await ch.responses.take();
    assert.equal(join.message.case, "join");
    if (join.message.case !== "join") return;
    assert.equal(join.message.value.participant?.identity, "lk-user");
    assert.equal(join.message.value.participant?.name, "LiveKit User");
    assert.equal(join.message.value.room?.name, "lk-room");
    ch.kill();
  });

  test("bad tokens are refused before the upgrade with the right status and a plain-text reason", async () => {
    for (const bad of await badTokens()) {
      const validate = await fetch(`${srv.httpUrl}/rtc/validate?access_token=${encodeURIComponent(bad.token)}`);
      assert.equal(validate.status, bad.status, `${bad.name}: /rtc/validate`);
      assert.match(validate.headers.get("content-type") ?? "", /^text\/plain/);
      const reason = await validate.text();
      assert.ok(reason.length > 0, `${bad.name}: has a reason`);
      await assert.rejects(openChannel("ws-flat", srv.port, { token: bad.token }), (e: unknown) => {
        assert.ok(e instanceof UpgradeRefused, `${bad.name}: refused upgrade`);
        assert.equal(e.status, bad.status, `${bad.name}: upgrade status`);
        assert.equal(e.body, reason);
        return true;
      });
    }
  });

  test("an identity or room name that is too long or holds a control character is refused, saying which", async () => {
    const cases: Array<[string, { identity: string; room?: string }, string]> = [
      ["long identity", { identity: "i".repeat(257) }, "identity must be at most 256 characters, without control characters"],
      ["identity with a control character", { identity: "eve\u0007" }, "identity must be at most 256 characters, without control characters"],
      ["identity with NUL", { identity: "\u0000eve" }, "identity must be at most 256 characters, without control characters"],
      ["room with a control character", { identity: "eve", room: "r\u001b[31m" }, "room name must be 1-256 characters without control characters"],
      ["257 emoji as identity", { identity: "😀".repeat(257) }, "identity must be at most 256 characters, without control characters"],
      ["257 emoji as room", { identity: "eve", room: "😀".repeat(257) }, "room name must be 1-256 characters without control characters"],
    ];
    for (const [name, who, reason] of cases) {
      const token = await makeToken({ identity: who.identity, grant: who.room === undefined ? {} : { room: who.room } });
      const res = await fetch(`${srv.httpUrl}/rtc/validate?access_token=${token}`);
      assert.equal(res.status, 400, name);
      assert.equal(await res.text(), reason, name);
    }
    // At the limit, printable: accepted. Characters are code points: 256 emoji are 512 UTF-16 units.
    for (const who of [{ identity: "i".repeat(256) }, { identity: "😀".repeat(256), grant: { room: "😀".repeat(256) } }]) {
      const ok = await fetch(`${srv.httpUrl}/rtc/validate?access_token=${await makeToken(who)}`);
      assert.equal(ok.status, 200);
    }
  });

  test("bad tokens over gRPC and Connect get Unauthenticated / PermissionDenied / InvalidArgument", async () => {
    for (const bad of await badTokens()) {
      for (const kind of ["grpc-js", "connect"] as const) {
        const ch = await openChannel(kind, srv.port, { token: bad.token });
        const closed = await ch.closed;
        assert.equal(closed.code, 4000 + bad.grpc, `${bad.name} over ${kind}: ${closed.reason}`);
      }
    }
  });

  test("the Authorization header works like access_token, and a malformed header is refused", async () => {
    const token = await makeToken({ identity: "hdr", room: "hdr-room" });
    const ok = await fetch(`${srv.httpUrl}/rtc/validate`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    const bad = await fetch(`${srv.httpUrl}/rtc/validate`, { headers: { authorization: `Basic ${token}` } });
    assert.equal(bad.status, 401);
    assert.match(await bad.text(), /Bearer/);
  });

  test("a query parameter given twice is refused, at /rtc/validate and at the upgrade", async () => {
    const token = await makeToken({ identity: "twice", room: "twice-room" });
    for (const query of [`access_token=${token}&access_token=${token}x`, `access_token=${token}&format=json&format=protobuf`]) {
      const res = await fetch(`${srv.httpUrl}/rtc/validate?${query}`);
      assert.equal(res.status, 400);
      assert.match(await res.text(), /^invalid query: (access_token|format) is given more than once$/);
      const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/rtc?${query}`);
      const status = await new Promise<number>((resolve) => ws.on("unexpected-response", (_req, r) => resolve(r.statusCode ?? 0)));
      assert.equal(status, 400);
    }
  });

  test("malformed connect metadata over gRPC and Connect is named as the client sent it", async () => {
    const token = await makeToken({ identity: "meta", room: "meta-room" });
    const cases = [
      [{ "volly-reconnect": "1" }, "invalid connect metadata: volly-reconnect needs volly-sid"],
      [{ "volly-reconnect": "1", "volly-sid": "not-a-sid" }, "invalid connect metadata: volly-sid is not a participant sid"],
      [{ "volly-reconnect": "1", "volly-sid": "PA_abc", "volly-last-message-id": "-1" }, "invalid connect metadata: volly-last-message-id must be a whole number"],
    ] as const;
    for (const [headers, reason] of cases) {
      for (const kind of ["grpc-js", "connect"] as const) {
        const closed = await (await openChannel(kind, srv.port, { token, headers })).closed;
        assert.deepEqual(closed, { code: 4000 + Code.InvalidArgument, reason }, kind);
      }
    }
  });

  test("the room in the token is the room joined; identity comes from sub", async () => {
    const a = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "who", room: "token-room", pq: false, query: { room: "other-room" } });
    assert.equal(a.join?.room?.name, "token-room");
    assert.equal(a.join?.participant?.identity, "who");
    await a.leave();
  });
});
