import type { Bus, Unsubscribe } from "./bus.js";

/** The in-process bus of a single node: publish calls the subscribers on a microtask, in order. */
export class MemoryBus implements Bus {
  private readonly topics = new Map<string, Set<(payload: Uint8Array) => void>>();

  async publish(topic: string, payload: Uint8Array): Promise<void> {
    const handlers = this.topics.get(topic);
    if (!handlers) return;
    for (const handler of handlers) queueMicrotask(() => handler(payload));
  }

  async subscribe(topic: string, onMessage: (payload: Uint8Array) => void): Promise<Unsubscribe> {
    let handlers = this.topics.get(topic);
    if (!handlers) {
      handlers = new Set();
      this.topics.set(topic, handlers);
    }
    handlers.add(onMessage);
    return async () => {
      handlers.delete(onMessage);
      if (handlers.size === 0) this.topics.delete(topic);
    };
  }

  async ping(): Promise<void> {}

  /** In one process nothing is ever lost in transit. */
  onLoss(): void {}

  async close(): Promise<void> {
    this.topics.clear();
  }
}
