import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { openChannel, UpgradeRefused } from "../helpers/channels.js";
import { TestClient } from "../helpers/signal-client.js";
import { DEV_KEY, DEV_SECRET, makeToken } from "../helpers/tokens.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const b64u = (v: string | Buffer) => Buffer.from(v).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({
  iss: DEV_KEY, sub: "mallory", nbf: now() - 10, exp: now() + 600, video: { roomJoin: true, room: "vault" }, ...extra,
});

/** A compact JWT with any header, signed with HMAC-SHA256 over the secret (or unsigned). */
function forge(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | undefined = DEV_SECRET, hash = "sha256"): string {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  if (secret === undefined) return `${input}.`;
  return `${input}.${createHmac(hash, secret).update(input).digest("base64url")}`;
}

describe("token attacks", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_TOKEN_REFRESH_INTERVAL: "1" });
  });
  after(() => srv.close());

  const validate = async (token: string) => {
    const res = await fetch(`${srv.httpUrl}/rtc/validate?access_token=${encodeURIComponent(token)}`);
    return { status: res.status, body: await res.text() };
  };

  test("algorithm confusion: none (any case), HS384, HS512, RS256 and RS256 with the secret as HMAC key", async () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const rsInput = `${b64u(JSON.stringify({ alg: "RS256", typ: "JWT" }))}.${b64u(JSON.stringify(claims()))}`;
    const rs256 = `${rsInput}.${sign("sha256", Buffer.from(rsInput), rsa.privateKey).toString("base64url")}`;
    const attacks = {
      none: forge({ alg: "none" }, claims(), undefined),
      None: forge({ alg: "None" }, claims(), undefined),
      NONE: forge({ alg: "NONE" }, claims(), undefined),
      "none with a signature": forge({ alg: "none" }, claims()),
      HS384: forge({ alg: "HS384" }, claims(), DEV_SECRET, "sha384"),
      HS512: forge({ alg: "HS512" }, claims(), DEV_SECRET, "sha512"),
      RS256: rs256,
      "RS256 header, HMAC with the secret": forge({ alg: "RS256" }, claims()),
      "hs256 lower case": forge({ alg: "hs256" }, claims()),
      "crit extension": forge({ alg: "HS256", crit: ["exp"] }, claims()),
    };
    for (const [name, token] of Object.entries(attacks)) {
      const { status, body } = await validate(token);
      assert.equal(status, 401, name);
      assert.match(body, /invalid authorization token/, name);
    }
    // The same claims, honestly signed, pass: the refusals above are about the algorithm.
    assert.equal((await validate(forge({ alg: "HS256" }, claims()))).status, 200);
  });

  test("time and issuer: missing exp, expired beyond the leeway, nbf in the future, unknown iss, wrong secret", async () => {
    const cases: Record<string, [string, number, RegExp]> = {
      "missing exp": [forge({ alg: "HS256" }, claims({ exp: undefined })), 401, /exp is required/],
      "string exp": [forge({ alg: "HS256" }, claims({ exp: String(now() + 600) })), 401, /claim exp must be a number of seconds/],
      "null exp": [forge({ alg: "HS256" }, claims({ exp: null })), 401, /claim exp must be a number of seconds/],
      expired: [forge({ alg: "HS256" }, claims({ exp: now() - 61 })), 401, /expired/],
      // Well past the leeway: at +61 s a second ticking over between signing and checking made it valid.
      "nbf in the future": [forge({ alg: "HS256" }, claims({ nbf: now() + 90 })), 401, /not valid yet/],
      "string nbf": [forge({ alg: "HS256" }, claims({ nbf: "yesterday" })), 401, /claim nbf must be a number of seconds/],
      "unknown iss": [forge({ alg: "HS256" }, claims({ iss: "attacker" })), 401, /invalid API key/],
      "no iss": [forge({ alg: "HS256" }, claims({ iss: undefined })), 401, /invalid API key/],
      "wrong secret": [forge({ alg: "HS256" }, claims(), "guessed-secret-guessed-secret-00"), 401, /signature is invalid/],
    };
    for (const [name, [token, status, reason]] of Object.entries(cases)) {
      const r = await validate(token);
      assert.equal(r.status, status, name);
      assert.match(r.body, reason, name);
    }
    // Within the 60 s leeway both ways, clock skew is tolerated (LiveKit's rule).
    assert.equal((await validate(forge({ alg: "HS256" }, claims({ exp: now() - 30, nbf: now() + 30 })))).status, 200);
  });

  test("an expiry past year 9999 is refused; a fractional one is kept, rounded down, and refreshed", async () => {
    for (const exp of [1e300, 9.3e15, 253_402_300_800]) {
      const r = await validate(forge({ alg: "HS256" }, claims({ exp })));
      assert.equal(r.status, 401, String(exp));
      assert.match(r.body, /claim exp must be a number of seconds up to year 9999/, String(exp));
    }
    const nbf = await validate(forge({ alg: "HS256" }, claims({ nbf: 1e300 })));
    assert.match(nbf.body, /claim nbf must be a number of seconds up to year 9999/);
    // RFC 7519's NumericDate may have a fraction: accepted, and the refreshed token (every second on this
    // server) keeps the expiry in whole seconds instead of failing to carry it.
    const exp = now() + 3600.5;
    const ch = await openChannel("ws-protobuf", srv.port, { token: forge({ alg: "HS256" }, claims({ sub: "fraction", exp })) });
    let refresh;
    for (let i = 0; i < 10 && refresh === undefined; i++) {
      const r = await ch.responses.take(3000, "refresh_token");
      if (r.message.case === "refreshToken") refresh = r.message.value;
    }
    assert.equal(refresh?.expiresAt, BigInt(Math.floor(exp)) * 1000n);
    assert.equal((await validate(refresh?.token ?? "")).status, 200);
    ch.kill();
  });

  test("claims that are not well-formed Unicode (a lone surrogate, escaped) are refused; escaped pairs are fine", async () => {
    const lone = "x\ud800";
    const cases = {
      identity: claims({ sub: lone }),
      room: claims({ video: { roomJoin: true, room: lone } }),
      name: claims({ name: lone }),
      metadata: claims({ metadata: `{"a":"${lone}"}` }),
      "attribute value": claims({ attributes: { k: lone } }),
      "attribute key": claims({ attributes: { [lone]: "v" } }),
      "trailing low surrogate": claims({ sub: "x\udc00" }),
    };
    for (const [name, payload] of Object.entries(cases)) {
      const r = await validate(forge({ alg: "HS256" }, payload));
      assert.equal(r.status, 401, name);
      assert.match(r.body, /claims must be well-formed Unicode/, name);
    }
    // JSON.stringify writes the lone surrogates above as escapes; an escaped pair is an ordinary emoji.
    const input = `${b64u(JSON.stringify({ alg: "HS256" }))}.${b64u(JSON.stringify(claims({ sub: "smile" })).replace("smile", "\\ud83d\\ude00"))}`;
    const emoji = `${input}.${createHmac("sha256", DEV_SECRET).update(input).digest("base64url")}`;
    const ok = await fetch(`${srv.httpUrl}/rtc/validate?access_token=${emoji}`);
    assert.equal(ok.status, 200);
    const ch = await openChannel("ws-protobuf", srv.port, { token: emoji });
    const join = await ch.responses.take();
    assert.equal(join.message.case === "join" ? join.message.value.participant?.identity : undefined, "\u{1F600}");
    ch.kill();
  });

  test("C1 control characters (NEL is a line break to many log viewers) are refused in identities and rooms", async () => {
    for (const payload of [claims({ sub: "a\u0085b" }), claims({ video: { roomJoin: true, room: "r\u009bx" } })]) {
      assert.equal((await validate(forge({ alg: "HS256" }, payload))).status, 400);
    }
  });

  test("the Authorization scheme is case-insensitive (RFC 7235), other schemes are refused", async () => {
    const token = forge({ alg: "HS256" }, claims());
    for (const scheme of ["Bearer", "bearer", "BEARER"]) {
      const res = await fetch(`${srv.httpUrl}/rtc/validate`, { headers: { authorization: `${scheme} ${token}` } });
      assert.equal(res.status, 200, scheme);
    }
    const basic = await fetch(`${srv.httpUrl}/rtc/validate`, { headers: { authorization: `Basic ${token}` } });
    assert.equal(basic.status, 401);
  });

  test("oversized tokens are refused without being parsed", async () => {
    const big = forge({ alg: "HS256" }, claims({ padding: "x".repeat(7000) }));
    const r = await validate(big);
    assert.equal(r.status, 401);
    assert.match(r.body, /token too long/);
    // A URL past Node's 16 KiB header limit never reaches the server's code.
    const huge = await fetch(`${srv.httpUrl}/rtc/validate?access_token=${"a".repeat(70_000)}`).catch(() => undefined);
    assert.ok(huge === undefined || huge.status === 431);
  });

  test("the room and identity come from the token only", async () => {
    const a = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "owner", room: "vault", pq: false, query: { room: "lobby", identity: "admin" } });
    assert.deepEqual([a.join?.room?.name, a.join?.participant?.identity], ["vault", "owner"]);
    const b = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: "bob", room: "lobby", pq: false });
    a.send({ case: "offer", value: { sdp: "x", target: "bob", from: "bob", fromSid: b.join?.participant?.sid ?? "" } });
    assert.equal((await a.waitFor("error")).code, "not_found");
    await a.leave();
    await b.leave();
  });

  test("replaying a token after leave: allowed while it is valid (a bearer token, as in LiveKit); refused once expired", async () => {
    const token = await makeToken({ identity: "again", room: "replay", ttlSeconds: 600 });
    const first = await openChannel("ws-protobuf", srv.port, { token });
    const join1 = await first.responses.take();
    first.send({ $typeName: "volly.signaling.v1.SignalRequest", requestId: 0, message: { case: "leave", value: { $typeName: "volly.signaling.v1.LeaveRequest", reason: 1, action: 0, message: "" } } });
    await first.closed;
    const second = await openChannel("ws-protobuf", srv.port, { token });
    const join2 = await second.responses.take();
    assert.equal(join1.message.case, "join");
    assert.equal(join2.message.case, "join");
    if (join1.message.case === "join" && join2.message.case === "join") {
      // A new participant, not the old one: leave was final.
      assert.notEqual(join1.message.value.participant?.sid, join2.message.value.participant?.sid);
    }
    second.kill();
    const expired = await makeToken({ identity: "again", room: "replay", nbf: now() - 7200, ttlSeconds: -3600 });
    await assert.rejects(openChannel("ws-protobuf", srv.port, { token: expired }), (e: unknown) => e instanceof UpgradeRefused && e.status === 401);
  });
});
