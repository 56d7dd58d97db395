import { ClusterClock, type Clock } from "../cluster/cluster-clock.js";
import { composeStore } from "./compose-store.js";
import { MemoryNodes } from "./memory-nodes.js";
import { MemoryPresence } from "./memory-presence.js";
import { MemoryRooms } from "./memory-rooms.js";
import { MemorySessions } from "./memory-sessions.js";
import type { Store } from "./store.js";

/**
 * The default store: everything in this process. Composed of one object per concern. `clock` is the one
 * its callers pass their times from (`Backend.clock`): the heartbeat and lock deadlines it keeps itself are
 * judged on it too, never on the wall clock, which may step.
 */
export function createMemoryStore(clock: Clock = new ClusterClock()): Store & { sizes(): ReturnType<MemoryRooms["sizes"]> } {
  const rooms = new MemoryRooms();
  const sessions: MemorySessions = new MemorySessions((nodeId: string): boolean => nodes.isDead(nodeId));
  const nodes: MemoryNodes = new MemoryNodes(rooms, sessions, clock);
  return composeStore([rooms, sessions, new MemoryPresence((nodeId: string): boolean => nodes.isDead(nodeId)), nodes], {
    ping: async () => {},
    close: async () => {},
  });
}
