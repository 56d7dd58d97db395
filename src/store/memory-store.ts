import { composeStore } from "./compose-store.js";
import { MemoryNodes } from "./memory-nodes.js";
import { MemoryPresence } from "./memory-presence.js";
import { MemoryRooms } from "./memory-rooms.js";
import { MemorySessions } from "./memory-sessions.js";
import type { Store } from "./store.js";

/** The default store: everything in this process. Composed of one object per concern. */
export function createMemoryStore(): Store & { sizes(): ReturnType<MemoryRooms["sizes"]> } {
  const rooms = new MemoryRooms();
  const sessions: MemorySessions = new MemorySessions((nodeId: string): boolean => nodes.isDead(nodeId));
  const nodes: MemoryNodes = new MemoryNodes(rooms, sessions);
  return composeStore([rooms, sessions, new MemoryPresence((nodeId: string): boolean => nodes.isDead(nodeId)), nodes], {
    ping: async () => {},
    close: async () => {},
    sizes: () => rooms.sizes(),
  });
}
