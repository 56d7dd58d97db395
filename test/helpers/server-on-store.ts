import { after, before } from "node:test";
import { deletePrefix, REDIS_URL, redisSkip, uniquePrefix } from "./redis.js";
import { startTestServer, type TestServer } from "./test-server.js";

/** The stores a behaviour that must not depend on the backend is tested on. */
export const STORES = ["memory", "redis"] as const;
export type StoreKind = (typeof STORES)[number];

/** The `skip` option of a suite on `store`: Redis suites are skipped, with the reason, where none answers. */
export async function storeSkip(store: StoreKind): Promise<string | false> {
  return store === "redis" ? redisSkip() : false;
}

/**
 * A node for the enclosing suite, started before its tests and closed after them: on the memory store, or
 * on the shared Redis under a prefix of its own, whose keys are deleted afterwards. The returned object
 * reads through to the node once it runs.
 */
export function useServerOn(store: StoreKind, tag: string, env: Record<string, string> = {}): TestServer {
  const prefix = uniquePrefix(tag);
  let started: TestServer | undefined;
  before(async () => {
    started = await startTestServer({ ...env, ...(store === "redis" ? { REDIS_URL, REDIS_PREFIX: prefix } : {}) });
  });
  after(async () => {
    await started?.close();
    if (store === "redis") await deletePrefix(REDIS_URL, prefix);
  });
  const node = (): TestServer => {
    if (!started) throw new Error("the suite's node starts before its tests");
    return started;
  };
  return {
    get server() { return node().server; },
    get config() { return node().config; },
    get port() { return node().port; },
    get apiPort() { return node().apiPort; },
    get wsUrl() { return node().wsUrl; },
    get httpUrl() { return node().httpUrl; },
    get apiUrl() { return node().apiUrl; },
    close: () => node().close(),
  };
}
