// Call negotiation edge cases in real Chromium pages, with the SDK's browser bundle (/demo/volly-client.js) over
// the post-quantum channel: two overlapping `renegotiate()` calls (one made while the peer's offer is being
// applied), and a caller without local media that must still receive the callee's audio and video.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { browserWithServer } from "../helpers/browser.js";

const fx = browserWithServer();

/**
 * A page with a connected SDK client as `globalThis.peer`: its calls by id, every call's `track` kinds, and (with
 * `accept`) incoming calls accepted with that media.
 */
async function peerPage(room: string, identity: string, accept?: { audio: boolean; video: boolean }): Promise<Page> {
  const page = await fx.context.newPage();
  // This file runs through tsx, whose esbuild names functions with a `__name` helper the page does not have.
  await page.addInitScript("globalThis.__name = (f) => f;");
  await page.goto(`${fx.server.httpUrl}/healthz`);
  await page.evaluate(async ({ base, room, identity, accept }) => {
    const sdk = await import(`${base}/demo/volly-client.js`);
    const { token } = await (await fetch(`${base}/volly/dev/token?room=${room}&identity=${identity}`)).json();
    const client = new sdk.VollySignalingClient({
      url: base.replace("http", "ws"),
      token,
      candidateFilter: (c: { candidate?: string }) => / 127\.0\.0\.1 \d+ /.test(` ${c.candidate ?? ""} `),
    });
    const calls = new Map<string, { call: unknown; tracks: string[] }>();
    const keep = (call: { id: string; on(e: string, f: (t: { kind: string }) => void): void }) => {
      const entry = { call, tracks: [] as string[] };
      calls.set(call.id, entry);
      call.on("track", (t) => entry.tracks.push(t.kind));
    };
    client.on("incomingCall", (call: { id: string; on(e: string, f: (t: { kind: string }) => void): void; accept(o: unknown): Promise<void> }) => {
      keep(call);
      if (accept) void call.accept(accept);
    });
    (globalThis as Record<string, unknown>).peer = { client, calls, keep };
    await client.connect();
  }, { base: fx.server.httpUrl, room, identity, accept });
  return page;
}

/** The state of call `id` on `page`: SDK state, signaling state, the kinds of remote tracks received. */
function callState(page: Page, id: string): Promise<{ state: string; signaling: string; tracks: string[] }> {
  return page.evaluate((id) => {
    const entry = (globalThis as unknown as { peer: { calls: Map<string, { call: { state: string; peerConnection?: RTCPeerConnection }; tracks: string[] }> } }).peer.calls.get(id);
    return { state: entry?.call.state ?? "none", signaling: entry?.call.peerConnection?.signalingState ?? "none", tracks: [...(entry?.tracks ?? [])].sort() };
  }, id);
}

async function waitConnected(pages: Page[], id: string): Promise<void> {
  for (const page of pages) {
    await page.waitForFunction((id) => {
      const entry = (globalThis as unknown as { peer: { calls: Map<string, { call: { state: string } }> } }).peer.calls.get(id);
      return entry?.call.state === "connected";
    }, id, { timeout: 30_000 });
  }
}

test("Chromium: renegotiate() on both sides, one while the other's offer is being applied, both resolve and the call negotiates again", { skip: fx.missing }, async () => {
  const alice = await peerPage("neg-overlap", "alice");
  const bob = await peerPage("neg-overlap", "bob", { audio: true, video: true });
  try {
    const id = await alice.evaluate(async () => {
      const p = (globalThis as unknown as { peer: { client: { createCall(o: unknown): Promise<{ id: string }> }; keep(c: unknown): void } }).peer;
      const call = await p.client.createCall({ recipient: "bob", audio: true, video: true });
      p.keep(call);
      return call.id;
    });
    await waitConnected([alice, bob], id);
    // Bob's app renegotiates in the very task in which the SDK starts applying alice's offer (it changed a track
    // at that moment): deterministic, where natural timing hits the window a few milliseconds wide.
    await bob.evaluate((id) => {
      const entry = (globalThis as unknown as { peer: { calls: Map<string, { call: { peerConnection: RTCPeerConnection; renegotiate(): Promise<void> } }> } }).peer.calls.get(id);
      const call = entry?.call as { peerConnection: RTCPeerConnection; renegotiate(): Promise<void> };
      const pc = call.peerConnection;
      const apply = pc.setRemoteDescription.bind(pc);
      let fired = false;
      pc.setRemoteDescription = ((description: RTCSessionDescriptionInit) => {
        const applied = apply(description);
        if (description?.type === "offer" && !fired) {
          fired = true;
          (globalThis as Record<string, unknown>).bobRenegotiated = call.renegotiate().then(() => "resolved", (e: { message: string }) => `rejected: ${e.message}`);
        }
        return applied;
      }) as typeof pc.setRemoteDescription;
    }, id);
    const renegotiate = (page: Page) => page.evaluate((id) => {
      const entry = (globalThis as unknown as { peer: { calls: Map<string, { call: { renegotiate(): Promise<void> } }> } }).peer.calls.get(id);
      return (entry?.call.renegotiate() ?? Promise.reject(new Error("no call"))).then(() => "resolved", (e: { message: string }) => `rejected: ${e.message}`);
    }, id);
    assert.equal(await renegotiate(alice), "resolved", "alice's renegotiate()");
    assert.equal(await bob.evaluate(() => (globalThis as Record<string, unknown>).bobRenegotiated), "resolved", "bob's renegotiate(), made while alice's offer was applied");
    await alice.waitForFunction((id) => {
      const entry = (globalThis as unknown as { peer: { calls: Map<string, { call: { peerConnection: RTCPeerConnection } }> } }).peer.calls.get(id);
      return entry?.call.peerConnection.signalingState === "stable";
    }, id, { timeout: 10_000 });
    // Negotiation is not wedged: another round from each side resolves.
    assert.equal(await renegotiate(alice), "resolved");
    assert.equal(await renegotiate(bob), "resolved");
    assert.deepEqual([(await callState(alice, id)).signaling, (await callState(bob, id)).signaling], ["stable", "stable"]);
  } finally {
    await alice.close();
    await bob.close();
  }
});

test("Chromium: a caller without local media (a bare createCall) connects and receives the callee's audio and video", { skip: fx.missing }, async () => {
  const alice = await peerPage("neg-viewer", "alice");
  const bob = await peerPage("neg-viewer", "bob", { audio: true, video: true });
  try {
    const id = await alice.evaluate(async () => {
      const p = (globalThis as unknown as { peer: { client: { createCall(o: unknown): Promise<{ id: string }> }; keep(c: unknown): void } }).peer;
      const call = await p.client.createCall({ recipient: "bob" });
      p.keep(call);
      return call.id;
    });
    await waitConnected([alice, bob], id);
    await alice.waitForFunction((id) => {
      const entry = (globalThis as unknown as { peer: { calls: Map<string, { tracks: string[] }> } }).peer.calls.get(id);
      return (entry?.tracks.length ?? 0) >= 2;
    }, id, { timeout: 20_000 });
    assert.deepEqual((await callState(alice, id)).tracks, ["audio", "video"], "the caller receives both of the callee's kinds");
    assert.deepEqual((await callState(bob, id)).tracks, [], "the caller sends nothing");
  } finally {
    await alice.close();
    await bob.close();
  }
});
