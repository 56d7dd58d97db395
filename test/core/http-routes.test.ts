import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// The plain HTTP routes of both ports, and what a request for anything else gets.
describe("plain HTTP routes: 404 for unknown paths, 405 with Allow for the wrong method", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
  });
  after(() => srv.close());

  test("a route that exists answers GET and HEAD, and refuses POST with 405 and Allow", async () => {
    for (const base of [srv.httpUrl, srv.apiUrl]) {
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal((await fetch(`${base}/healthz`, { method: "HEAD" })).status, 200);
      const post = await fetch(`${base}/healthz`, { method: "POST", body: "{}" });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get("allow"), "GET, HEAD");
      assert.equal(await post.text(), "method not allowed");
    }
    const rtc = await fetch(`${srv.httpUrl}/rtc`, { method: "PUT", body: "x" });
    assert.equal(rtc.status, 405);
  });

  test("a request the HTTP parser refuses gets its status with a plain-text reason", async () => {
    const raw = (port: number, request: string) => new Promise<string>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => socket.end(request));
      let got = "";
      socket.on("data", (d) => (got += d.toString()));
      socket.on("close", () => resolve(got));
      socket.on("error", reject);
    });
    for (const port of [srv.port, srv.apiPort]) {
      const huge = await raw(port, `GET /rtc/validate?access_token=${"e".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.match(huge, /^HTTP\/1\.1 431 /);
      assert.match(huge, /\r\n\r\nrequest line and headers larger than \d+ bytes \(a token this large cannot be used\)$/);
      const junk = await raw(port, "NOT HTTP AT ALL\r\n\r\n");
      assert.match(junk, /^HTTP\/1\.1 400 [^]*\r\n\r\nmalformed HTTP request$/);
    }
  });

  test("an unknown path is 404 whatever the method, RPC-looking paths included", async () => {
    for (const base of [srv.httpUrl, srv.apiUrl]) {
      for (const path of ["/nonexistent", "/livekit.RoomService/ListRooms", "/volly.signaling.v1.RoomService/NoSuchMethod"]) {
        for (const method of ["GET", "POST", "DELETE"]) {
          const res = await fetch(`${base}${path}`, method === "GET" ? {} : { method, headers: { "content-type": "application/json" }, body: "{}" });
          assert.equal(res.status, 404, `${method} ${path}`);
          assert.equal(await res.text(), "not found");
        }
      }
    }
  });

  test("a known RPC path is still served by its handler, not by the fallback", async () => {
    const res = await fetch(`${srv.apiUrl}/volly.signaling.v1.RoomService/ListRooms`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    // No token: the RPC itself answers, with Connect's JSON error, not the plain-text fallback.
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { code: string }).code, "unauthenticated");
  });
});

describe("unknown RPCs over gRPC", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
  });
  after(() => srv.close());

  test("grpc-js calling a method nobody serves gets UNIMPLEMENTED, on both ports", async () => {
    const grpc = await import("@grpc/grpc-js");
    for (const port of [srv.port, srv.apiPort]) {
      const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      const code = await new Promise<number>((resolve) => {
        client.makeUnaryRequest(
          "/volly.signaling.v1.RoomService/NoSuchMethod",
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.alloc(0),
          (err) => resolve(err?.code ?? 0),
        );
      });
      client.close();
      assert.equal(code, grpc.status.UNIMPLEMENTED, `port ${port}`);
    }
  });
});
