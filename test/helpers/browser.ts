import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { chromium, type BrowserContext } from "playwright-core";
import { startTestServer, type TestServer } from "./test-server.js";

/** The Debian `chromium` package's binary (override with VOLLY_CHROMIUM). */
export const CHROMIUM_PATH = process.env.VOLLY_CHROMIUM ?? "/usr/bin/chromium";

/**
 * Why the browser tests cannot run here, or undefined when they can. With VOLLY_REQUIRE_BROWSER=1 (CI) a missing
 * browser is a failure, not a skip: the caller throws instead.
 */
export function browserUnavailable(): string | undefined {
  if (!existsSync(CHROMIUM_PATH)) return `no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium, or set VOLLY_CHROMIUM)`;
  return undefined;
}

/** True when a missing browser must fail the run (CI). */
export const browserRequired = process.env.VOLLY_REQUIRE_BROWSER === "1";

/** Flags for a headless Chromium with fake media devices that may use loopback ICE candidates. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
  "--allow-loopback-in-peer-connection",
  "--autoplay-policy=no-user-gesture-required",
];

/** A headless Chromium with a fresh profile directory; `close` removes the profile. */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "volly-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    permissions: ["camera", "microphone"],
    viewport: { width: 1100, height: 900 },
    timeout: 60_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * For a file of browser tests: a test server (with `env`) and a headless Chromium, started before the file's tests
 * and closed after. `missing` says why they cannot run here (pass it as the tests' `skip`); under
 * VOLLY_REQUIRE_BROWSER=1 a missing browser fails the file instead.
 */
export function browserWithServer(env: Record<string, string> = {}): {
  readonly missing: string | undefined;
  readonly server: TestServer;
  readonly context: BrowserContext;
} {
  const missing = browserUnavailable();
  if (missing !== undefined && browserRequired) throw new Error(`VOLLY_REQUIRE_BROWSER=1 but ${missing}`);
  let server: TestServer | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  before(async () => {
    if (missing !== undefined) return;
    server = await startTestServer(env);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });
  return {
    missing,
    get server() {
      return server as TestServer;
    },
    get context() {
      return (browser as NonNullable<typeof browser>).context;
    },
  };
}
