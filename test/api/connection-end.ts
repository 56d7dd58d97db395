import type { TestClient } from "../helpers/signal-client.js";

/** How a test client's connection ended (close code 1000 = normally), or a failure after `ms`. */
export function closedWithin(c: TestClient, ms = 5000): Promise<{ code: number; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`connection of ${c.channel.kind} did not close within ${ms} ms`)), ms);
  });
  return Promise.race([c.channel.closed, timeout]).finally(() => clearTimeout(timer));
}
