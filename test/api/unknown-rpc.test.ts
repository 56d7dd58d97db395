// A request for a service or method nobody serves, in each RPC protocol's own terms: gRPC and gRPC-web get a
// trailers-only UNIMPLEMENTED (a bare HTTP 404 reads to gRPC clients as a broken transport), Connect and
// plain HTTP get 404, as the Connect protocol says. Real clients: grpc-js and fetch.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

describe("an RPC to a path no service serves", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
  });
  after(() => srv.close());

  const path = "/volly.signaling.v1.NoSuchService/Nothing";
  const details = `unknown service or method ${path}`;

  const grpcJs = (port: number) =>
    new Promise<grpc.ServiceError>((resolve, reject) => {
      const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), new grpc.Metadata(), (err) => {
        client.close();
        if (err) resolve(err);
        else reject(new Error("an unknown method succeeded"));
      });
    });

  test("grpc-js gets UNIMPLEMENTED with the path, on both ports", async () => {
    for (const port of [srv.port, srv.apiPort]) {
      const err = await grpcJs(port);
      assert.deepEqual([err.code, err.details], [grpc.status.UNIMPLEMENTED, details]);
    }
  });

  test("gRPC-web gets a trailers-only UNIMPLEMENTED; Connect and plain HTTP get 404", async () => {
    const base = `http://127.0.0.1:${srv.apiPort}`;
    const frame = new Uint8Array([0, 0, 0, 0, 0]);
    const web = await fetch(base + path, { method: "POST", headers: { "content-type": "application/grpc-web+proto" }, body: frame });
    assert.equal(web.status, 200);
    assert.deepEqual([web.headers.get("content-type"), web.headers.get("grpc-status"), web.headers.get("grpc-message")], ["application/grpc-web+proto", "12", details]);
    assert.equal((await web.arrayBuffer()).byteLength, 0);
    const connect = await fetch(base + path, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(connect.status, 404);
    const get = await fetch(`${base}/no/such/page`);
    assert.deepEqual([get.status, await get.text()], [404, "not found"]);
  });
});
