// An open that fails or is abandoned must neither throw asynchronously (`ws` emits 'error' a tick after close()
// on a CONNECTING socket: an uncaught exception in the app) nor keep the process alive after disconnect(). The
// client runs in its own process (fixtures/abandoned-open.ts) so that both show: a crash is its exit code, and a
// leftover socket or timer keeps it from exiting (its timeouts are ten minutes long).
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { spawnLines, type ChildLines } from "../helpers/child-lines.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/abandoned-open.ts", import.meta.url));

/** A TCP front that forwards to `target`, or, once blackholed, accepts connections and never answers. */
class Front {
  blackhole = false;
  readonly sockets = new Set<net.Socket>();
  private readonly server = net.createServer((client) => this.accept(client));
  constructor(private readonly target: number | undefined) {}

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  cutAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: net.Socket): void {
    this.track(client);
    if (this.blackhole || this.target === undefined) return;
    const upstream = this.track(net.connect(this.target, "127.0.0.1"));
    client.pipe(upstream).pipe(client);
  }

  private track(socket: net.Socket): net.Socket {
    this.sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => this.sockets.delete(socket));
    return socket;
  }
}

interface Run extends ChildLines {
  line(text: string): Promise<void>;
}

function run(scenario: string, url: string): Run {
  const child = spawnLines(["--import", "tsx", FIXTURE, scenario, url]);
  return { ...child, line: (text) => child.until((lines) => lines.includes(text), `"${text}"`) };
}

let server: TestServer;
let silent: Front;
let silentUrl: string;
before(async () => {
  server = await startTestServer();
  silent = new Front(undefined);
  silentUrl = `ws://127.0.0.1:${await silent.listen()}`;
});
after(async () => {
  await silent.close();
  await server.close();
});

test("an open that times out rejects connect() with DeadlineExceeded and throws nothing afterwards", { timeout: 60_000 }, async () => {
  const r = run("timeout", silentUrl);
  const { code, stderr } = await r.exited; // the test's timeout, far below the child's timers, catches a process held alive
  assert.deepEqual(r.lines, ["connect rejected DeadlineExceeded", "still alive"], stderr);
  assert.equal(code, 0, stderr);
});

test("disconnect() during connect() aborts the pending open at once: connect() rejects Canceled, the process exits", { timeout: 60_000 }, async () => {
  const r = run("disconnect-connecting", silentUrl);
  const { code, stderr } = await r.exited; // the test's timeout, far below the child's timers, catches a process held alive
  assert.deepEqual(r.lines, ["connect rejected Canceled", "disconnected disconnected"], stderr);
  assert.equal(code, 0, stderr);
});

test("disconnect() while reconnecting into a blackhole: no uncaught error, nothing holds the process", { timeout: 60_000 }, async () => {
  const front = new Front(server.port);
  const url = `ws://127.0.0.1:${await front.listen()}`;
  try {
    const r = run("disconnect-reconnecting", url);
    await r.line("connected");
    front.blackhole = true;
    front.cutAll();
    const { code, stderr } = await r.exited; // the test's timeout, far below the child's timers, catches a process held alive
    assert.deepEqual(r.lines, ["connected", "reconnecting", "disconnected disconnected"], stderr);
    assert.equal(code, 0, stderr);
  } finally {
    await front.close();
  }
});
