import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { makeToken } from "../helpers/tokens.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const adminToken = () => makeToken({ identity: "admin", room: "", grant: { roomJoin: false, roomList: true, roomAdmin: true, roomCreate: true, room: "" } });

describe("a compressed request body the route does not decode is refused in the catalogue's words", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
  });
  after(() => srv.close());

  test("Twirp (no request compression at all), on both ports: compression_unsupported, Twirp's unimplemented", async () => {
    const token = await adminToken();
    for (const base of [srv.apiUrl, srv.httpUrl]) {
      const res = await fetch(`${base}/twirp/livekit.RoomService/ListRooms`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-encoding": "gzip", authorization: `Bearer ${token}` },
        body: gzipSync("{}"),
      });
      assert.equal(res.status, 501, base);
      assert.equal(res.headers.get("content-type"), "application/json");
      assert.deepEqual(await res.json(), { code: "unimplemented", msg: "request compression \"gzip\" is not supported; send the body uncompressed" }, base);
    }
    // Uncompressed, the same request is served.
    const fine = await fetch(`${srv.apiUrl}/twirp/livekit.RoomService/ListRooms`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: "{}" });
    assert.equal(fine.status, 200);
  });

  test("Connect: an encoding it has no decoder for gets the same error, and still names the ones it takes", async () => {
    const res = await fetch(`${srv.apiUrl}/volly.signaling.v1.RoomService/ListRooms`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "zstd", authorization: `Bearer ${await adminToken()}` },
      body: "{}",
    });
    assert.equal(res.status, 501);
    assert.deepEqual(await res.json(), { code: "unimplemented", message: "request compression \"zstd\" is not supported; send the body uncompressed" });
    assert.match(res.headers.get("accept-encoding") ?? "", /gzip/);
  });
});
