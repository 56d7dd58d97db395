/**
 * Delivers opaque payloads to every subscriber of a topic, on this node (memory) or on any node (Redis).
 * At most once; FIFO per topic per publisher; nothing is persisted (the store's mailboxes are what make
 * delivery survive a drop). Topics are plain names such as `node:<id>`.
 */
export interface Bus {
  publish(topic: string, payload: Uint8Array): Promise<void>;
  subscribe(topic: string, onMessage: (payload: Uint8Array) => void): Promise<Unsubscribe>;
  /** Resolves when the bus can deliver; rejects otherwise (health checks). */
  ping(): Promise<void>;
  /**
   * Calls `listener` each time the bus delivers again after a time it could not (its connection was lost):
   * what was published meanwhile is gone from the bus, and only the store's mailboxes have it.
   */
  onLoss(listener: () => void): void;
  close(): Promise<void>;
}

export type Unsubscribe = () => Promise<void>;

/** The topic a node listens on for deliveries and control messages addressed to it. */
export function nodeTopic(nodeId: string): string {
  return `node:${nodeId}`;
}
