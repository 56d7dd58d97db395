import { MemoryBus } from "../../src/bus/memory-bus.js";
import { createMemoryStore } from "../../src/store/memory-store.js";
import { busContract } from "./bus.contract.js";
import { storeContract } from "./store.contract.js";

// The memory backend against the same contracts as Redis (test/store/redis-store.test.ts).
storeContract("memory", async () => {
  const store = createMemoryStore();
  return { store, close: () => store.close() };
});

busContract("memory", async () => {
  const bus = new MemoryBus();
  return { buses: [bus, bus], close: () => bus.close() };
});
