// Perfect negotiation offers only when the local description needs it: a fresh call is one offer and one answer,
// even though werift raises negotiationneeded again after its first answer (transceivers it created for the
// remote offer, deferred until stable). A real renegotiation loop is stopped and reported as a call `error`.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  Code,
  ConnectError,
  type DataChannelLike,
  type IceCandidateInitLike,
  type PeerConnectionConstructor,
  type PeerConnectionLike,
  type VollyCall,
} from "../../src/client/index.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { LoopbackPeerConnection } from "../helpers/werift-peer.js";
import { nextEvent, nodeClient, until } from "../helpers/werift-sdk.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

type Description = { type: "offer" | "answer" | "rollback" | "pranswer"; sdp?: string };

/** werift on loopback, counting the offers it makes. */
function countingPeer(): { Peer: PeerConnectionConstructor; offers: () => number } {
  let offers = 0;
  class Counting extends LoopbackPeerConnection {
    override async setLocalDescription(description?: Description): Promise<never> {
      const result = await super.setLocalDescription(description as never);
      if (this.localDescription?.type === "offer" && this.signalingState === "have-local-offer") offers++;
      return result as never;
    }
  }
  return { Peer: Counting, offers: () => offers };
}

test("a fresh werift call with audio and a data channel: one offer by the caller, none by the callee", async () => {
  const caller = countingPeer();
  const callee = countingPeer();
  const alice = await nodeClient(server.wsUrl, "nr-alice", "rounds", { RTCPeerConnection: caller.Peer });
  const bob = await nodeClient(server.wsUrl, "nr-bob", "rounds", { RTCPeerConnection: callee.Peer });
  try {
    await alice.client.connect();
    await bob.client.connect();
    let bobCall: VollyCall | undefined;
    bob.client.on("incomingCall", (c) => void (bobCall = c).accept());
    const call = await alice.client.createCall({ recipient: "nr-bob" });
    (call.peerConnection as unknown as LoopbackPeerConnection).addTransceiver("audio", { direction: "sendrecv" });
    const channel = await call.createDataChannel("chat");
    await until(() => call.state === "connected" && bobCall?.state === "connected", "call connected");
    channel.send("hello");
    // Long enough for a deferred negotiationneeded to have produced its offer (werift raises it on setImmediate).
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual([caller.offers(), callee.offers()], [1, 0]);
    // An explicit renegotiation still runs.
    await (bobCall as VollyCall).renegotiate();
    assert.equal(callee.offers(), 1);
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
  }
});

/**
 * A peer connection that asks for negotiation again after every answer, as Chromium does when werift's answer does
 * not match its transceivers, and that cannot tell the SDK whether anything changed (no `createOffer`): only the
 * SDK's rate guard can stop the loop. werift does the media underneath.
 */
class AlwaysNeedsNegotiation implements PeerConnectionLike {
  static offers = 0;
  private readonly inner = new LoopbackPeerConnection();
  private needed: ((event: never) => void) | null | undefined;
  get connectionState(): string { return this.inner.connectionState; }
  get signalingState(): string { return this.inner.signalingState; }
  get localDescription(): PeerConnectionLike["localDescription"] { return this.inner.localDescription ?? null; }
  get remoteDescription(): PeerConnectionLike["remoteDescription"] { return this.inner.remoteDescription ?? null; }
  async setLocalDescription(description?: Description): Promise<unknown> {
    await this.inner.setLocalDescription(description as never);
    if (this.inner.localDescription?.type === "offer") AlwaysNeedsNegotiation.offers++;
    return undefined;
  }
  async setRemoteDescription(description: Description): Promise<unknown> {
    await this.inner.setRemoteDescription(description as never);
    if (description.type === "answer") setTimeout(() => this.needed?.(undefined as never), 0);
    return undefined;
  }
  addIceCandidate(candidate?: IceCandidateInitLike): Promise<unknown> { return this.inner.addIceCandidate(candidate as never); }
  createDataChannel(label: string, options?: { ordered?: boolean; protocol?: string }): DataChannelLike { return this.inner.createDataChannel(label, options); }
  addTrack(): unknown { throw new Error("not used"); }
  close(): unknown { return this.inner.close(); }
  set onicecandidate(h: PeerConnectionLike["onicecandidate"]) { this.inner.onicecandidate = h as never; }
  get onicecandidate(): PeerConnectionLike["onicecandidate"] { return this.inner.onicecandidate as never; }
  set onnegotiationneeded(h: PeerConnectionLike["onnegotiationneeded"]) { this.needed = h; this.inner.onnegotiationneeded = h as never; }
  get onnegotiationneeded(): PeerConnectionLike["onnegotiationneeded"] { return this.needed; }
  set onconnectionstatechange(h: PeerConnectionLike["onconnectionstatechange"]) { this.inner.onconnectionstatechange = h as never; }
  get onconnectionstatechange(): PeerConnectionLike["onconnectionstatechange"] { return this.inner.onconnectionstatechange as never; }
  set ontrack(h: PeerConnectionLike["ontrack"]) { this.inner.ontrack = h as never; }
  get ontrack(): PeerConnectionLike["ontrack"] { return this.inner.ontrack as never; }
  set ondatachannel(h: PeerConnectionLike["ondatachannel"]) { this.inner.ondatachannel = h as never; }
  get ondatachannel(): PeerConnectionLike["ondatachannel"] { return this.inner.ondatachannel as never; }
}

test("a renegotiation loop (negotiation needed after every answer) is stopped and reported as a call error", async () => {
  const alice = await nodeClient(server.wsUrl, "nl-alice", "loop", { RTCPeerConnection: AlwaysNeedsNegotiation });
  const bob = await nodeClient(server.wsUrl, "nl-bob", "loop");
  try {
    await alice.client.connect();
    await bob.client.connect();
    bob.client.on("incomingCall", (c) => void c.accept());
    const call = await alice.client.createCall({ recipient: "nl-bob" });
    const reported = nextEvent(call, "error", 20_000);
    await call.createDataChannel("chat");
    const [error] = await reported;
    assert.ok(error instanceof ConnectError);
    assert.equal(error.code, Code.ResourceExhausted);
    const rounds = AlwaysNeedsNegotiation.offers;
    assert.ok(rounds >= 10, `the loop ran (${rounds} offers) before the guard stopped it`);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(AlwaysNeedsNegotiation.offers, rounds, "no automatic offers after the report");
    assert.notEqual(call.state, "ended", "the call itself goes on");
  } finally {
    await alice.client.disconnect();
    await bob.client.disconnect();
  }
});
