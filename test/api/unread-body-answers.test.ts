import assert from "node:assert/strict";
import * as http from "node:http";
import * as http2 from "node:http2";
import { after, before, describe, test } from "node:test";
import { NodeProcess } from "../helpers/node-process.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { makeToken } from "../helpers/tokens.js";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request over HTTP/2 without TLS (prior knowledge, as gRPC clients and `curl --http2-prior-knowledge`). */
function h2Request(port: number, path: string, headers: Record<string, string>, body: string | Uint8Array): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": path, ...headers });
    let status = 0;
    let answerHeaders: Answer["headers"] = {};
    let text = "";
    req.on("response", (h) => {
      status = Number(h[":status"]);
      answerHeaders = h;
    });
    req.setEncoding("utf8");
    req.on("data", (d: string) => (text += d));
    req.on("end", () => {
      session.close();
      resolve({ status, headers: answerHeaders, body: text });
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** One request over HTTP/1.1 on a fresh connection; `chunked` sends the body in two chunks, without a length. */
function h1Request(port: number, path: string, headers: Record<string, string>, body: string | Uint8Array, chunked = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method: "POST", path, headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    if (chunked) {
      const bytes = typeof body === "string" ? Buffer.from(body) : body;
      req.write(bytes.subarray(0, bytes.length >> 1));
      req.end(bytes.subarray(bytes.length >> 1));
    } else req.end(body);
  });
}

// Answers given before the request body was read announce `Connection: close` on HTTP/1.1 (so the client
// does not reuse a connection the server drops) and never on HTTP/2, where the header does not exist and
// Node would print an UnsupportedWarning on stderr, which is not a JSON log line.
describe("answers before the body is read: Connection: close on HTTP/1.1 only", () => {
  let srv: TestServer;
  let token: string;
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  before(async () => {
    process.on("warning", onWarning);
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
    token = await makeToken({ identity: "", grant: { roomJoin: false, roomList: true, roomAdmin: true } });
  });
  after(async () => {
    process.off("warning", onWarning);
    await srv.close();
  });

  const cases = (): Array<{ what: string; port: number; path: string; headers: Record<string, string>; body: string | Uint8Array; status: number }> => [
    { what: "an unknown RPC path", port: srv.port, path: "/foo.Bar/Baz", headers: {}, body: "abc", status: 404 },
    { what: "a POST to /healthz", port: srv.apiPort, path: "/healthz", headers: {}, body: "abc", status: 405 },
    { what: "a Twirp bad route", port: srv.apiPort, path: "/twirp/livekit.RoomService/NoSuchMethod", headers: { "content-type": "application/json" }, body: "{}", status: 404 },
    { what: "a Twirp body over 1 MiB", port: srv.apiPort, path: "/twirp/livekit.RoomService/ListRooms", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: new Uint8Array(2 << 20), status: 429 },
    { what: "a Connect body over 1 MiB", port: srv.apiPort, path: "/volly.signaling.v1.RoomService/ListRooms", headers: { "content-type": "application/proto", authorization: `Bearer ${token}` }, body: new Uint8Array(2 << 20), status: 429 },
  ];

  test("HTTP/2: the answer, no connection header, no warning", async () => {
    for (const c of cases()) {
      const res = await h2Request(c.port, c.path, c.headers, c.body);
      assert.equal(res.status, c.status, c.what);
      assert.equal(res.headers.connection, undefined, c.what);
    }
    // Warnings are emitted on the next tick.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings.map((w) => `${w.name}: ${w.message}`), []);
  });

  test("HTTP/1.1: the answer with Connection: close, with a Content-Length or chunked", async () => {
    for (const c of cases()) {
      for (const chunked of [false, true]) {
        const res = await h1Request(c.port, c.path, c.headers, c.body, chunked);
        assert.equal(res.status, c.status, `${c.what}, chunked ${chunked}`);
        assert.equal(res.headers.connection, "close", `${c.what}, chunked ${chunked}`);
      }
    }
  });

  test("as a process: HTTP/2 answers before the body leave only JSON lines on stdout and stderr", async () => {
    const node = await NodeProcess.start({ VOLLY_PQ_ENABLED: "false", LOG_LEVEL: "info" }, "h2warn");
    try {
      for (const path of ["/foo.Bar/Baz", "/healthz"]) {
        assert.equal((await h2Request(node.port, path, {}, "abc")).status, path === "/healthz" ? 405 : 404);
      }
      assert.equal((await h2Request(node.apiPort, "/twirp/livekit.RoomService/Nope", { "content-type": "application/json" }, "{}")).status, 404);
    } finally {
      await node.terminate();
    }
    const lines = node.log.split("\n").filter((l) => l.trim() !== "");
    assert.ok(lines.length > 0, "the node logged its start");
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `not a JSON line: ${line}`);
  });
});
