import { createServer, type Server } from "node:net";
import { after, before } from "node:test";

/**
 * A loopback port held for the enclosing suite by a listener of the test process: to a server under test,
 * another process's, which it can neither know nor close. `port` is set once the suite has started.
 */
export function useTakenPort(): { readonly port: number } {
  const taken = { port: 0 };
  let listener: Server;
  before(async () => {
    listener = createServer();
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const address = listener.address();
    taken.port = typeof address === "object" && address ? address.port : 0;
  });
  after(() => new Promise<void>((resolve) => listener.close(() => resolve())));
  return taken;
}
