import type { Bus } from "../bus/bus.js";
import type { Store } from "../store/store.js";

const TIMEOUT_MS = 1000;

/** Whether this node can serve: it is not draining and its store and bus answer in time. */
export class HealthCheck {
  draining = false;

  constructor(private readonly store: Store, private readonly bus: Bus) {}

  async check(): Promise<{ ok: true } | { ok: false; reason: string }> {
    if (this.draining) return { ok: false, reason: "draining" };
    try {
      await withTimeout(this.store.ping(), "store");
      await withTimeout(this.bus.ping(), "bus");
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: e instanceof Error ? e.message : "unavailable" };
    }
  }
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer`)), TIMEOUT_MS);
  });
  return Promise.race([p.catch(() => Promise.reject(new Error(`${what} unavailable`))), timeout]).finally(() => clearTimeout(timer));
}
