// A target or destination identity longer than an identity may be (256 characters) belongs to no one, and is
// answered exactly as any absent one, on both stores: `target_not_found` for a participant's signal or data,
// a skipped recipient for RoomService SendData. On Redis such a name (over 65,535 UTF-8 bytes) used to reach
// the mailbox batch, which cannot hold it: the participant got `internal`, and SendData failed half-way,
// after delivering to the recipients before it (a retry duplicated theirs) and not to those after it.
// Identities are counted in characters, so one of 256 emoji (512 UTF-16 units) is reachable.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { RoomService } from "../../gen/volly/signaling/v1/room_service_pb.js";
import { STORES, storeSkip, useServerOn } from "../helpers/server-on-store.js";
import { TestClient } from "../helpers/signal-client.js";
import { makeToken } from "../helpers/tokens.js";

const LONG = "x".repeat(70_000);
const SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
const text = (s: string) => new TextEncoder().encode(s);

for (const store of STORES) {
  describe(`targets longer than an identity, ${store} store`, { skip: await storeSkip(store) }, () => {
    const srv = useServerOn(store, "long-target");
    const clients: TestClient[] = [];
    after(() => {
      for (const c of clients) c.kill();
    });
    const join = async (identity: string, room: string, kind: "ws-protobuf" | "grpc-js" = "ws-protobuf"): Promise<TestClient> => {
      const c = await TestClient.connect({ kind, port: srv.port, identity, room, pq: "ML-KEM-768" });
      clients.push(c);
      return c;
    };

    test("a participant's data, offer and call to such a target are target_not_found, and the session goes on", async () => {
      const room = `long-signal-${store}`;
      const alice = await join("alice", room);
      const bob = await join("bob", room, "grpc-js");
      const sent = [
        alice.send({ case: "data", value: { target: LONG, payload: text("lost"), id: "d-long" } }),
        alice.send({ case: "offer", value: { sdp: SDP, target: LONG, callId: "c-long" } }),
        alice.send({ case: "call", value: { action: 1 /* INVITE */, target: LONG, callId: "c-long" } }),
      ];
      for (const requestId of sent) {
        const refused = await alice.waitFor("error", (_, r) => r.requestId === requestId);
        assert.deepEqual([refused.code, refused.reason], ["not_found", "target_not_found"], `request ${requestId}: ${refused.message}`);
      }
      alice.send({ case: "data", value: { target: "bob", payload: text("after"), id: "d-bob" } });
      assert.equal(new TextDecoder().decode((await bob.waitFor("data")).payload), "after");
    });

    test("SendData skips such a destination and delivers to every other one, once", async () => {
      const room = `long-senddata-${store}`;
      const bob = await join("bob", room);
      const carol = await join("carol", room, "grpc-js");
      const token = await makeToken({ identity: "", room, grant: { roomJoin: false, roomAdmin: true } });
      const api = createClient(RoomService, createGrpcTransport({ baseUrl: srv.apiUrl }));
      const h = { headers: { authorization: `Bearer ${token}` } };
      const sent = await api.sendData({ room, payload: text("all"), destinationIdentities: ["bob", LONG, "carol"] }, h);
      assert.equal(sent.recipients, 2);
      const alone = await api.sendData({ room, payload: text("none"), destinationIdentities: [LONG] }, h);
      assert.equal(alone.recipients, 0);
      const last = await api.sendData({ room, payload: text("last"), destinationIdentities: ["bob", "carol"] }, h);
      assert.equal(last.recipients, 2);
      for (const c of [bob, carol]) {
        assert.equal(new TextDecoder().decode((await c.waitFor("data")).payload), "all");
        // The next one is the last: nothing was delivered twice, nor for the long name.
        assert.equal(new TextDecoder().decode((await c.waitFor("data")).payload), "last");
      }
    });

    test("an identity of 256 emoji is within the limit: reachable by offer and data", async () => {
      const room = `long-emoji-${store}`;
      const emoji = "😀".repeat(256);
      const alice = await join("alice", room);
      const wide = await join(emoji, room, "grpc-js");
      alice.send({ case: "offer", value: { sdp: SDP, target: emoji, callId: "c-emoji" } });
      assert.equal((await wide.waitFor("offer")).from, "alice");
      alice.send({ case: "data", value: { target: emoji, payload: text("hi"), id: "d-emoji" } });
      assert.equal((await wide.waitFor("data")).from, "alice");
    });
  });
}
