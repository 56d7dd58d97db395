import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ALL_KINDS } from "../helpers/channels.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const SDP_OFFER = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n";
const CANDIDATE = JSON.stringify({ candidate: "candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host", sdpMid: "0", sdpMLineIndex: 0 });

const MODES = [
  { name: "PQ off", env: { VOLLY_PQ_ENABLED: "false" }, pq: false, tokenKey: false },
  { name: "PQ on (default ML-KEM-768, key in pq_handshake)", env: {}, pq: "ML-KEM-768", tokenKey: false },
  { name: "PQ on (X25519MLKEM768, key in the token)", env: {}, pq: "X25519MLKEM768", tokenKey: true },
] as const;

for (const mode of MODES) describe(`relay between every pair of real clients, ${mode.name}`, () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer(mode.env);
  });
  after(() => srv.close());

  for (const a of ALL_KINDS) {
    for (const b of ALL_KINDS) {
      test(`${a} -> ${b}`, async () => {
        const room = `matrix-${a}-${b}`;
        const alice = await TestClient.connect({ kind: a, port: srv.port, identity: "alice", room, pq: mode.pq, tokenKey: mode.tokenKey });
        const bob = await TestClient.connect({ kind: b, port: srv.port, identity: "bob", room, pq: mode.pq, tokenKey: mode.tokenKey });
        if (mode.pq) {
          assert.equal(alice.join?.pqSession?.algorithm, mode.pq);
          assert.match(alice.join?.pqSession?.sessionId ?? "", /^[0-9a-f]{32}$/);
        } else assert.equal(alice.join?.pqSession, undefined);
        const aliceSid = alice.join?.participant?.sid;
        const bobSid = bob.join?.participant?.sid;
        assert.ok(aliceSid?.startsWith("PA_") && bobSid?.startsWith("PA_"));
        assert.deepEqual(bob.join?.otherParticipants.map((p) => p.identity), ["alice"]);
        const update = await alice.waitFor("participantUpdate");
        assert.equal(update.participants[0]?.identity, "bob");

        // The sender's from/from_sid are ignored: the server stamps the real sender.
        alice.send({ case: "offer", value: { sdp: SDP_OFFER, target: "bob", callId: "c1", from: "mallory", fromSid: "PA_fake" } });
        const offer = await bob.waitFor("offer");
        assert.equal(offer.sdp, SDP_OFFER);
        assert.equal(offer.from, "alice");
        assert.equal(offer.fromSid, aliceSid);
        assert.equal(offer.callId, "c1");

        bob.send({ case: "answer", value: { sdp: "v=0 answer", target: "alice", callId: "c1" } });
        const answer = await alice.waitFor("answer");
        assert.equal(answer.from, "bob");
        assert.equal(answer.fromSid, bobSid);

        alice.send({ case: "trickle", value: { candidate: CANDIDATE, target: "bob", callId: "c1" } });
        bob.send({ case: "trickle", value: { candidate: CANDIDATE, target: "alice", callId: "c1" } });
        bob.send({ case: "trickle", value: { candidate: "", target: "alice", callId: "c1" } });
        const t1 = await bob.waitFor("trickle");
        assert.deepEqual(JSON.parse(t1.candidate), JSON.parse(CANDIDATE));
        assert.equal(t1.from, "alice");
        const t2 = await alice.waitFor("trickle");
        assert.equal(t2.from, "bob");
        const end = await alice.waitFor("trickle");
        assert.equal(end.candidate, "");

        // Message ids increase by one on each participant's stream.
        for (const c of [alice, bob]) {
          assert.deepEqual(c.messageIds, c.messageIds.map((_, i) => BigInt(i + 1)));
        }
        const left = await alice.leave();
        assert.equal(left.code, 1000);
        const gone = await bob.waitFor("participantUpdate", (u) => u.participants[0]?.identity === "alice");
        assert.equal(gone.participants[0]?.state, 3 /* DISCONNECTED */);
        await bob.leave();
      });
    }
  }
});
