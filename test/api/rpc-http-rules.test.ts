import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { RoomService } from "../../gen/volly/signaling/v1/room_service_pb.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { makeToken } from "../helpers/tokens.js";

// The RPC routes (Connect, gRPC-web) follow the HTTP rules of the plain routes: one CORS policy for both
// (browsers' connect-web and grpc-web clients need the preflight answered and the status headers
// exposed), and 405/415 answers that say why, with `Allow` on a 405 (RFC 9110 §15.5.6). Real clients:
// fetch as a browser would send it, connect-node transports.
describe("RPC routes: CORS, Allow and refusal reasons", () => {
  let srv: TestServer;
  let operator: string;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
    operator = await makeToken({ identity: "", room: "cors-room", grant: { roomJoin: false, roomCreate: true, roomList: true, roomAdmin: true } });
  });
  after(() => srv.close());

  const origin = "http://app.example";
  const rpc = (port: number, method: string) => `http://127.0.0.1:${port}/volly.signaling.v1.RoomService/${method}`;
  const list = (value: string | null) => (value ?? "").split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");

  const preflight = (url: string, requestHeaders: string) =>
    fetch(url, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": requestHeaders },
    });

  test("a preflight to an RPC path is answered 204 with the same policy as the Twirp path, on both ports", async () => {
    for (const port of [srv.apiPort, srv.port]) {
      const res = await preflight(rpc(port, "ListRooms"), "content-type,authorization,connect-protocol-version,connect-timeout-ms");
      assert.equal(res.status, 204, `port ${port}`);
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
      for (const m of ["POST", "GET"]) assert.ok(list(res.headers.get("access-control-allow-methods")).includes(m.toLowerCase()), m);
      const allowed = list(res.headers.get("access-control-allow-headers"));
      for (const h of ["authorization", "content-type", "connect-protocol-version", "connect-timeout-ms", "x-grpc-web", "x-user-agent", "grpc-timeout"]) {
        assert.ok(allowed.includes(h), `${h} in ${allowed.join()}`);
      }
      assert.ok(Number(res.headers.get("access-control-max-age")) > 0);
      // gRPC-web's preflight asks for its own headers; CreateRoom (POST only) is answered the same.
      const web = await preflight(rpc(port, "CreateRoom"), "content-type,authorization,x-grpc-web,x-user-agent,grpc-timeout");
      assert.equal(web.status, 204);
      // One policy: the Twirp (plain) route's preflight says the same.
      const twirp = await preflight(`http://127.0.0.1:${port}/twirp/livekit.RoomService/ListRooms`, "content-type,authorization");
      assert.equal(twirp.status, 204);
      for (const name of ["access-control-allow-origin", "access-control-allow-methods", "access-control-allow-headers", "access-control-max-age"]) {
        assert.equal(res.headers.get(name), twirp.headers.get(name), name);
        assert.equal(web.headers.get(name), twirp.headers.get(name), name);
      }
    }
  });

  test("Connect and gRPC-web answers, successes and errors, carry Allow-Origin and expose grpc-status and grpc-message", async () => {
    const checkCors = (headers: Headers, what: string) => {
      assert.equal(headers.get("access-control-allow-origin"), "*", what);
      const exposed = list(headers.get("access-control-expose-headers"));
      for (const h of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) assert.ok(exposed.includes(h), `${what}: ${h} in ${exposed.join()}`);
    };
    for (const port of [srv.apiPort, srv.port]) {
      const baseUrl = `http://127.0.0.1:${port}`;
      const transports: Array<[string, Transport]> = [
        ["connect", createConnectTransport({ baseUrl, httpVersion: "1.1" })],
        ["grpc-web", createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
      ];
      for (const [name, transport] of transports) {
        let seen: Headers | undefined;
        const api = createClient(RoomService, transport);
        await api.listRooms({}, { headers: { origin, authorization: `Bearer ${operator}` }, onHeader: (h) => (seen = h) });
        assert.ok(seen, name);
        checkCors(seen, `${name} on ${port}`);
      }
      // A browser must be able to read an error's status too.
      const denied = await fetch(rpc(port, "ListRooms"), { method: "POST", headers: { origin, "content-type": "application/json" }, body: "{}" });
      assert.equal(denied.status, 401);
      checkCors(denied.headers, `connect error on ${port}`);
      const web = await fetch(rpc(port, "ListRooms"), {
        method: "POST",
        headers: { origin, "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
        body: new Uint8Array(5),
      });
      assert.equal(web.status, 200);
      checkCors(web.headers, `grpc-web error on ${port}`);
      await web.arrayBuffer();
    }
  });

  test("a 405 names the allowed methods in Allow and says why; 415 says why", async () => {
    for (const port of [srv.apiPort, srv.port]) {
      const put = await fetch(rpc(port, "ListRooms"), { method: "PUT", headers: { "content-type": "application/json" }, body: "{}" });
      assert.equal(put.status, 405);
      assert.deepEqual(list(put.headers.get("allow")).sort(), ["get", "options", "post"]);
      assert.equal(await put.text(), "method not allowed");
      // CreateRoom has side effects: no GET.
      const get = await fetch(`${rpc(port, "CreateRoom")}?encoding=json&message=%7B%7D&connect=v1`);
      assert.equal(get.status, 405);
      assert.deepEqual(list(get.headers.get("allow")).sort(), ["options", "post"]);
      assert.equal(get.headers.get("access-control-allow-origin"), "*");
      assert.equal(await get.text(), "method not allowed");
      const noEncoding = await fetch(`${rpc(port, "ListRooms")}?message=%7B%7D`);
      assert.equal(noEncoding.status, 415);
      assert.match(await noEncoding.text(), /encoding \(json or proto\)/);
      // Google grpc-web's default text mode: refused with a reason, not an empty 415.
      const text = await fetch(rpc(port, "ListRooms"), {
        method: "POST",
        headers: { "content-type": "application/grpc-web-text", "x-grpc-web": "1" },
        body: Buffer.from(new Uint8Array(5)).toString("base64"),
      });
      assert.equal(text.status, 415);
      assert.match(await text.text(), /application\/grpc-web-text is not supported/);
      // The port still serves after the refusals.
      const ok = await fetch(rpc(port, "ListRooms"), { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${operator}` }, body: "{}" });
      assert.equal(ok.status, 200);
      await ok.json();
    }
  });
});
