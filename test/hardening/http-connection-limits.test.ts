import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { openChannel, UpgradeRefused, type Channel } from "../helpers/channels.js";
import { makeToken } from "../helpers/tokens.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { within } from "../helpers/polling.js";

// HTTP connections need no token to open: these bounds are what keeps anyone from holding the server's
// sockets, memory or streams (docs/operations.md, "Limits"). Waits are deadlines for behaviour, not timings.

/** Opens a TCP socket and resolves once it is connected; `ended` resolves with everything it received. */
function rawSocket(port: number, localAddress = "127.0.0.1"): Promise<{ socket: Socket; ended: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", localAddress });
    let got = "";
    socket.on("data", (d) => (got += d.toString("latin1")));
    const ended = new Promise<string>((r) => socket.on("close", () => r(got)));
    socket.once("connect", () => resolve({ socket, ended }));
    socket.once("error", reject);
  });
}

function h2Session(port: number): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    s.once("remoteSettings", () => resolve(s));
    s.once("error", reject);
  });
}

describe("HTTP connections are bounded in time and number", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({
      VOLLY_PQ_ENABLED: "false",
      VOLLY_HTTP_HEADERS_TIMEOUT: "1",
      VOLLY_HTTP_REQUEST_TIMEOUT: "2",
      VOLLY_HTTP2_IDLE_TIMEOUT: "3",
      VOLLY_HTTP2_MAX_STREAMS: "4",
      VOLLY_PING_INTERVAL: "1",
      VOLLY_PING_TIMEOUT: "30",
    });
  });
  after(() => srv.close());

  test("HTTP/1.1: headers sent a byte at a time are answered 408 and closed at the headers timeout", async () => {
    const { socket, ended } = await rawSocket(srv.port);
    socket.write("GET /healthz HTTP/1.1\r\n");
    const drip = setInterval(() => socket.writable && socket.write("X"), 200);
    try {
      const answer = await within(ended, 10_000, "the slow request closed");
      assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    } finally {
      clearInterval(drip);
    }
  });

  test("HTTP/2: the server advertises its stream limit and refuses streams beyond it", async () => {
    // Opened in the same tick as the connection, before the server's SETTINGS arrive: a client that does
    // not wait for them (as an attacker would not) sends all six, and the server must refuse two.
    const s = http2.connect(`http://127.0.0.1:${srv.port}`);
    s.on("error", () => {});
    const codes = await Promise.all(
      Array.from({ length: 6 }, () => {
        const stream = s.request({ ":method": "POST", ":path": "/twirp/livekit.RoomService/ListRooms", "content-type": "application/json" });
        stream.on("error", () => {});
        stream.on("data", () => {});
        stream.write("{");
        return new Promise<number>((resolve) => stream.on("close", () => resolve(stream.rstCode ?? -1)));
      }),
    );
    assert.equal(s.remoteSettings.maxConcurrentStreams, 4);
    // Two refused at once (REFUSED_STREAM); the four admitted end at the request deadline.
    assert.equal(codes.filter((c) => c === http2.constants.NGHTTP2_REFUSED_STREAM).length, 2, `rst codes ${codes.join(",")}`);
    s.close();
  });

  test("HTTP/2: a request whose body never ends is answered 408 at the request deadline", async () => {
    const s = await h2Session(srv.port);
    const stream = s.request({ ":method": "POST", ":path": "/volly.signaling.v1.RoomService/ListRooms", "content-type": "application/json" });
    stream.resume();
    stream.write("{");
    // Keep the connection busy so the idle timeout is not what ends it.
    const drip = setInterval(() => s.ping(() => {}), 300);
    try {
      const status = await within(new Promise<number>((resolve) => stream.on("response", (h) => resolve(Number(h[":status"])))), 10_000, "an answer");
      assert.equal(status, 408);
      await within(new Promise((r) => stream.on("close", r)), 10_000, "the stream closed");
    } finally {
      clearInterval(drip);
      s.close();
    }
  });

  test("HTTP/2: an idle connection is closed at the idle timeout", async () => {
    const s = await h2Session(srv.port);
    await within(new Promise((r) => s.on("close", r)), 10_000, "the idle session closed");
  });

  test("the signal stream is not cut by the request deadline: it lives as long as its participant", async () => {
    const channel = await openChannel("connect", srv.port, { token: await makeToken({ identity: "long-lived", room: "http-limits" }) });
    let pings = 0;
    const ping = setInterval(() => channel.send({ requestId: 0, message: { case: "ping", value: { timestamp: BigInt(++pings) } } } as never), 500);
    try {
      // Well past the request deadline (2 s) and the idle timeout (3 s), and still answering.
      await new Promise((r) => setTimeout(r, 4500));
      const before = pings;
      let pong = false;
      for (;;) {
        const r = await channel.responses.take(5000, "a pong");
        if (r.message.case === "pong" && Number(r.message.value.lastPingTimestamp) >= before) {
          pong = true;
          break;
        }
      }
      assert.ok(pong);
    } finally {
      clearInterval(ping);
      channel.kill();
    }
  });
});

// An idle one is ended at that deadline instead (test/api/reflection-limits.test.ts).
test("a gRPC reflection stream outlives the request deadline: a tool asks on one stream for as long as it keeps asking", async () => {
  const srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_HTTP_REQUEST_TIMEOUT: "1", VOLLY_HTTP_HEADERS_TIMEOUT: "1" });
  const s = await h2Session(srv.port);
  try {
    const stream = s.request({ ":method": "POST", ":path": "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "content-type": "application/grpc", te: "trailers" });
    let closedEarly = false;
    stream.on("close", () => (closedEarly = true));
    const answers: Buffer[] = [];
    stream.on("data", (d: Buffer) => answers.push(d));
    // list_services (field 7, an empty string) in one gRPC message: flag 0, length 2; asked every 300 ms
    // for longer than the request deadline (1 s).
    const ask = () => stream.write(Buffer.from([0, 0, 0, 0, 2, 0x3a, 0]));
    ask();
    const drip = setInterval(ask, 300);
    await new Promise((r) => setTimeout(r, 2500));
    clearInterval(drip);
    assert.equal(closedEarly, false, "the stream was cut at the request deadline");
    const answered = new Promise<void>((resolve) => stream.on("data", () => resolve()));
    ask();
    await within(answered, 5000, "an answer");
    assert.match(Buffer.concat(answers).toString("latin1"), /volly\.signaling\.v1\.SignalService/);
    stream.close();
  } finally {
    s.close();
    await srv.close();
  }
});

describe("connections per IP count HTTP connections, by the socket's address", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_MAX_CONNECTIONS_PER_IP: "2", VOLLY_MAX_CONNECTIONS: "100" });
  });
  after(() => srv.close());

  test("idle HTTP sockets from one IP are capped; other IPs and, once they close, that IP are served", async () => {
    const held = [await rawSocket(srv.port, "127.0.0.5"), await rawSocket(srv.port, "127.0.0.5")];
    for (const h of held) h.socket.write("GET /healthz HTTP/1.1\r\n");
    const third = await rawSocket(srv.port, "127.0.0.5");
    third.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal(await within(third.ended, 5000, "the refused socket closed"), "", "closed without an answer");
    const other = await rawSocket(srv.port, "127.0.0.6");
    other.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(await within(other.ended, 5000, "the other IP answered"), /^HTTP\/1\.1 200 /);
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.ended));
    const again = await rawSocket(srv.port, "127.0.0.5");
    again.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(await within(again.ended, 5000, "served again"), /^HTTP\/1\.1 200 /);
  });

  test("a WebSocket leaves the HTTP count once upgraded: signal connections have their own", async () => {
    const token = (identity: string) => makeToken({ identity, room: "per-ip" });
    const a = await openChannel("ws-protobuf", srv.port, { token: await token("ws-a"), localAddress: "127.0.0.7" });
    const b = await openChannel("ws-protobuf", srv.port, { token: await token("ws-b"), localAddress: "127.0.0.7" });
    // Two signal connections from the IP: the third is refused by the signal limit, not by a lost HTTP slot.
    await assert.rejects(
      openChannel("ws-protobuf", srv.port, { token: await token("ws-c"), localAddress: "127.0.0.7" }),
      (e: unknown) => e instanceof UpgradeRefused && e.status === 429,
    );
    const page = await rawSocket(srv.port, "127.0.0.7");
    page.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(await within(page.ended, 5000, "an HTTP request beside two WebSockets"), /^HTTP\/1\.1 200 /);
    a.kill();
    b.kill();
  });

  test("RPC signal streams are counted by the socket's address: x-forwarded-for neither adds slots nor shares them", async () => {
    const open = async (identity: string, forwardedFor: string): Promise<Channel> =>
      openChannel("grpc-js", srv.port, { token: await makeToken({ identity, room: "per-ip-rpc" }), headers: { "x-forwarded-for": forwardedFor } });
    const a = await open("rpc-a", "10.0.0.1");
    const b = await open("rpc-b", "10.0.0.2");
    assert.equal((await a.responses.take(5000, "join")).message.case, "join");
    assert.equal((await b.responses.take(5000, "join")).message.case, "join");
    const c = await open("rpc-c", "10.0.0.3");
    const refused = await within(c.closed, 5000, "the third stream refused");
    assert.deepEqual([refused.code, refused.reason], [4008, "too many connections"]);
    a.kill();
    b.kill();
  });
});
