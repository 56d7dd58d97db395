import type { Store } from "./store.js";

/**
 * Builds a `Store` from objects that each implement some of its parts (rooms, sessions, ...): every
 * method of each part's class is bound onto one object, so the store needs no forwarding method per call.
 * `base` supplies the rest (ping, close).
 */
export function composeStore<T extends object>(parts: readonly object[], base: T): Store & T {
  const store: Record<string, unknown> = Object.assign<Record<string, unknown>, T>({}, base);
  for (const part of parts) {
    for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(part))) {
      const fn = (part as Record<string, unknown>)[name];
      if (name !== "constructor" && typeof fn === "function") store[name] = fn.bind(part);
    }
  }
  return store as unknown as Store & T;
}
