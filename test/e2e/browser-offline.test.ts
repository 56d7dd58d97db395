// A browser that knows it is offline (DevTools' network emulation: `navigator.onLine` false, then the `online`
// event): the SDK's recovery waits for the network instead of spending its attempts, and resumes the same
// participant as soon as the network is back. Real Chromium, the SDK's browser bundle (/demo/volly-client.js).
import assert from "node:assert/strict";
import { test } from "node:test";
import { browserWithServer } from "../helpers/browser.js";

const fx = browserWithServer({ VOLLY_PING_INTERVAL: "1", VOLLY_PING_TIMEOUT: "3", VOLLY_RESUME_WINDOW: "60" });

test("offline for longer than every attempt would take: the SDK waits for the network, then resumes at once", { skip: fx.missing }, async () => {
  const page = await fx.context.newPage();
  await page.addInitScript("globalThis.__name = (f) => f;");
  await page.goto(`${fx.server.httpUrl}/healthz`);
  const sid = await page.evaluate(async ({ base }) => {
    const sdk = await import(`${base}/demo/volly-client.js`);
    const { token } = await (await fetch(`${base}/volly/dev/token?room=offline&identity=commuter`)).json();
    // Three quick attempts: without waiting for the network they are spent in well under a second.
    const client = new sdk.VollySignalingClient({ url: base.replace("http", "ws"), token, reconnect: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 200 } });
    const events: string[] = [];
    for (const name of ["reconnecting", "reconnected", "disconnected"]) client.on(name, (e: { resumed?: boolean; reason?: string }) => events.push(`${name}:${e?.resumed ?? e?.reason ?? ""}`));
    (globalThis as Record<string, unknown>).probe = { client, events };
    await client.connect();
    return client.sid as string;
  }, { base: fx.server.httpUrl });
  const cdp = await fx.context.newCDPSession(page);
  const events = () => page.evaluate(() => (globalThis as unknown as { probe: { events: string[] } }).probe.events);
  await cdp.send("Network.emulateNetworkConditions", { offline: true, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  assert.equal(await page.evaluate(() => navigator.onLine), false);
  // The heartbeat notices within the ping timeout (3 s); then well past three attempts' worth of backoff.
  await page.waitForFunction(() => (globalThis as unknown as { probe: { events: string[] } }).probe.events.some((e) => e.startsWith("reconnecting")), undefined, { timeout: 15_000 });
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual((await events()).filter((e) => !e.startsWith("reconnecting")), [], "no attempt spent, nothing given up while offline");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.waitForFunction(() => (globalThis as unknown as { probe: { events: string[] } }).probe.events.some((e) => e.startsWith("reconnected")), undefined, { timeout: 15_000 });
  assert.deepEqual((await events()).filter((e) => !e.startsWith("reconnecting")), ["reconnected:true"]);
  assert.equal(await page.evaluate(() => (globalThis as unknown as { probe: { client: { sid: string } } }).probe.client.sid), sid, "the same participant");
  await page.evaluate(() => (globalThis as unknown as { probe: { client: { disconnect(): Promise<void> } } }).probe.client.disconnect());
  await page.close();
});
