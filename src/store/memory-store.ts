import { MemoryNodes } from "./memory-nodes.js";
import { MemoryPresence } from "./memory-presence.js";
import { MemoryRooms } from "./memory-rooms.js";
import { MemorySessions } from "./memory-sessions.js";
import type { Store } from "./store.js";

/**
 * The default store: everything in this process. Composed of one object per concern; the methods are
 * bound onto the store so it satisfies `Store` without a forwarding method per call.
 */
export function createMemoryStore(): Store & { sizes(): ReturnType<MemoryRooms["sizes"]> } {
  const rooms = new MemoryRooms();
  const parts: object[] = [rooms, new MemorySessions(), new MemoryPresence(), new MemoryNodes()];
  const store: Record<string, unknown> = {
    ping: async () => {},
    close: async () => {},
  };
  for (const part of parts) {
    for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(part))) {
      const fn = (part as Record<string, unknown>)[name];
      if (name !== "constructor" && typeof fn === "function") store[name] = fn.bind(part);
    }
  }
  return store as unknown as Store & { sizes(): ReturnType<MemoryRooms["sizes"]> };
}
