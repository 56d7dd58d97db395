import { createServer, connect, type Server, type Socket } from "node:net";

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Stranded: whatever either side sends is lost from now on, and the sockets stay open. */
  dead: boolean;
}

/**
 * A TCP proxy on loopback in front of `targetPort` (a node's link to Redis), with the faults a network has:
 * `strand` makes the open connections half-open for good (nothing arrives either way, no FIN, no RST; new
 * connections get through), `hold` stops forwarding on every connection and new ones until released (the
 * bytes wait, as on a stalled link), `reset` cuts every connection.
 */
export class FaultProxy {
  private readonly links = new Set<Link>();
  private held = false;

  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(targetPort: number): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer((client) => proxy?.accept(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    proxy = new FaultProxy(server, typeof address === "object" && address ? address.port : 0);
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  strand(): void {
    for (const link of this.links) link.dead = true;
  }

  hold(on: boolean): void {
    this.held = on;
    for (const link of this.links) {
      for (const socket of [link.client, link.upstream]) {
        if (on) socket.pause();
        else socket.resume();
      }
    }
  }

  reset(): void {
    for (const link of this.links) {
      link.client.resetAndDestroy();
      link.upstream.resetAndDestroy();
    }
    this.links.clear();
  }

  async close(): Promise<void> {
    this.reset();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, targetPort: number): void {
    const upstream = connect(targetPort, "127.0.0.1");
    const link: Link = { client, upstream, dead: false };
    this.links.add(link);
    client.on("data", (d) => {
      if (!link.dead) upstream.write(d);
    });
    upstream.on("data", (d) => {
      if (!link.dead) client.write(d);
    });
    if (this.held) {
      client.pause();
      upstream.pause();
    }
    const end = () => {
      this.links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", () => {});
    upstream.on("error", () => {});
  }
}
