import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { browserRequired, browserUnavailable, launchChromium } from "../helpers/browser.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const missing = browserUnavailable();
if (missing !== undefined && browserRequired) throw new Error(`VOLLY_REQUIRE_BROWSER=1 but ${missing}`);

let server: TestServer;
before(async () => {
  if (missing === undefined) server = await startTestServer();
});
after(async () => {
  await server?.close();
});

async function joinAs(page: Page, room: string, identity: string): Promise<void> {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // The page's Content-Security-Policy must allow everything the demo does (its script, token fetch, /rtc).
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) errors.push(m.text());
  });
  await page.goto(`${server.httpUrl}/demo/?loopback=1&room=${room}&identity=${identity}`);
  await page.click("#join");
  await page.waitForFunction(() => document.getElementById("status")?.textContent?.startsWith("connected"), undefined, { timeout: 20_000 })
    .catch((e: unknown) => {
      throw new Error(`${identity} did not connect: ${errors.join("; ")} ${String(e)}`);
    });
  assert.deepEqual(errors.filter((e) => /Content Security Policy/i.test(e)), [], "nothing the demo does is blocked by its policy");
}

/** Waits until the page's remote video is playing frames of a non-zero size; returns that size. */
async function remoteVideoPlaying(page: Page): Promise<{ width: number; height: number }> {
  await page.waitForFunction(() => {
    const v = document.getElementById("remote-video") as HTMLVideoElement;
    return v.videoWidth > 0 && v.readyState >= 2 && !v.paused && v.currentTime > 0;
  }, undefined, { timeout: 30_000 });
  return page.evaluate(() => {
    const v = document.getElementById("remote-video") as HTMLVideoElement;
    return { width: v.videoWidth, height: v.videoHeight };
  });
}

test("Chromium: two tabs of the demo page call each other, see the remote video and chat over a data channel", { skip: missing }, async () => {
  const browser = await launchChromium();
  try {
    const started = Date.now();
    const alice = await browser.context.newPage();
    const bob = await browser.context.newPage();
    await joinAs(alice, "browser-room", "alice");
    await joinAs(bob, "browser-room", "bob");
    // Alice sees Bob online and calls him; Bob accepts.
    await alice.click('#participants li[data-identity="bob"] button.call', { timeout: 20_000 });
    await bob.click("#accept", { timeout: 20_000 });
    const [aliceSees, bobSees] = await Promise.all([remoteVideoPlaying(alice), remoteVideoPlaying(bob)]);
    assert.ok(aliceSees.width > 0 && bobSees.width > 0, `remote video sizes ${JSON.stringify([aliceSees, bobSees])}`);
    const connectedMs = Date.now() - started;

    // Chat over the WebRTC data channel, both ways.
    await alice.waitForSelector("#chat-send:not([disabled])", { timeout: 20_000 });
    await bob.waitForSelector("#chat-send:not([disabled])", { timeout: 20_000 });
    await alice.fill("#chat-input", "hello from alice");
    await alice.click("#chat-send");
    await bob.waitForSelector('.chat-line[data-from="alice"]', { timeout: 10_000 });
    assert.equal(await bob.textContent('.chat-line[data-from="alice"]'), "alice: hello from alice");
    await bob.fill("#chat-input", "hi alice");
    await bob.click("#chat-send");
    await alice.waitForSelector('.chat-line[data-from="bob"]', { timeout: 10_000 });

    // ICE stayed on loopback: only 127.0.0.1 candidates were signaled, so every check went to 127.0.0.1 (the only
    // other remote candidates are peer-reflexive ones learned from those checks, whose address Chromium hides).
    for (const page of [alice, bob]) {
      const remotes = await page.evaluate(async () => {
        const demo = (globalThis as unknown as { vollyDemo: { call: { peerConnection: RTCPeerConnection } } }).vollyDemo;
        const stats = await demo.call.peerConnection.getStats();
        const found: Array<{ address: string; type: string; succeeded: boolean }> = [];
        stats.forEach((s: { type: string; state?: string; remoteCandidateId?: string }) => {
          if (s.type !== "candidate-pair") return;
          const remote = stats.get(s.remoteCandidateId ?? "") as { address?: string; candidateType?: string } | undefined;
          found.push({ address: remote?.address ?? "", type: remote?.candidateType ?? "", succeeded: s.state === "succeeded" });
        });
        return found;
      });
      assert.ok(remotes.some((r) => r.succeeded), "a candidate pair succeeded");
      for (const r of remotes) assert.ok(r.address === "127.0.0.1" || (r.type === "prflx" && r.address === ""), JSON.stringify(remotes));
    }

    // An ICE restart asked for by the app (a network change) goes out as an offer with new ICE credentials,
    // though the media are unchanged, and the call carries on.
    const remoteUfrag = (page: Page) => page.evaluate(() => {
      const demo = (globalThis as unknown as { vollyDemo: { call: { peerConnection: RTCPeerConnection } } }).vollyDemo;
      return /a=ice-ufrag:(\S+)/.exec(demo.call.peerConnection.remoteDescription?.sdp ?? "")?.[1] ?? "";
    });
    const before = await remoteUfrag(bob);
    await alice.evaluate(() => {
      (globalThis as unknown as { vollyDemo: { call: { peerConnection: RTCPeerConnection } } }).vollyDemo.call.peerConnection.restartIce();
    });
    await bob.waitForFunction((old) => {
      const demo = (globalThis as unknown as { vollyDemo: { call: { peerConnection: RTCPeerConnection } } }).vollyDemo;
      const now = /a=ice-ufrag:(\S+)/.exec(demo.call.peerConnection.remoteDescription?.sdp ?? "")?.[1] ?? "";
      return now !== "" && now !== old;
    }, before, { timeout: 10_000 });
    await alice.waitForFunction(() => {
      const demo = (globalThis as unknown as { vollyDemo: { call: { peerConnection: RTCPeerConnection } } }).vollyDemo;
      return demo.call.peerConnection.iceConnectionState === "connected" || demo.call.peerConnection.iceConnectionState === "completed";
    }, undefined, { timeout: 15_000 });
    await remoteVideoPlaying(bob);

    // The PQ panel shows the session.
    assert.equal(await alice.textContent("#pq-algorithm"), "ML-KEM-768");
    assert.match((await alice.textContent("#pq-session")) ?? "", /^[0-9a-f]{32}$/);

    mkdirSync("test-artifacts", { recursive: true });
    await alice.screenshot({ path: "test-artifacts/browser-call-alice.png", fullPage: true });
    await bob.screenshot({ path: "test-artifacts/browser-call-bob.png", fullPage: true });
    console.log(`Chromium call: both remote videos playing (${aliceSees.width}x${aliceSees.height}) ${connectedMs} ms after opening the tabs`);

    await alice.click("#hangup");
    await bob.waitForFunction(() => document.getElementById("call-state")?.textContent?.startsWith("ended"), undefined, { timeout: 10_000 });
  } finally {
    await browser.close();
  }
});
