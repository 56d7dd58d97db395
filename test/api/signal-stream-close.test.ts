import assert from "node:assert/strict";
import { createRequire, syncBuiltinESMExports } from "node:module";
import * as http2 from "node:http2";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { makeToken } from "../helpers/tokens.js";
import { within } from "../helpers/polling.js";

// A Signal stream the server has finished (refused before authentication, or ended with its session) is
// cancelled when its client does not let it close: a client whose flow-control window stays shut cannot
// take even the status, the Signal stream is exempt from the request deadline, and PINGs keep the
// connection from being idle (docs/operations.md, "Connections without a token"). Raw node:http2 clients;
// waits are generous deadlines for behaviour, not timings.

const SIGNAL_PATH = "/volly.signaling.v1.SignalService/Signal";

/**
 * The HTTP/2 streams open on the servers created while it is installed: the listeners' h2c servers are
 * made with `http2.createServer`, and a 'stream' listener on them only watches.
 */
class ServerStreams {
  open = 0;
  /** Streams opened in all: that the count watches the server at all. */
  seen = 0;
  private readonly h2 = createRequire(import.meta.url)("node:http2") as typeof http2;
  private readonly original = this.h2.createServer;

  install(): void {
    const original = this.original;
    const count = (stream: http2.ServerHttp2Stream) => {
      this.open++;
      this.seen++;
      stream.once("close", () => this.open--);
    };
    this.h2.createServer = ((...args: Parameters<typeof http2.createServer>) => original(...args).on("stream", count)) as typeof http2.createServer;
    syncBuiltinESMExports();
  }

  uninstall(): void {
    this.h2.createServer = this.original;
    syncBuiltinESMExports();
  }

  /** Resolves once no stream is open, polling; rejects after `ms`. */
  async drained(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.open > 0) {
      if (Date.now() > until) throw new Error(`${this.open} server streams still open after ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A connection that advertised a shut flow-control window and PINGs so it is never idle. */
async function shutWindowConnection(url: string): Promise<{ session: http2.ClientHttp2Session; close(): void }> {
  const session = http2.connect(url, { settings: { initialWindowSize: 0 } });
  session.on("error", () => {});
  await new Promise((r) => session.once("remoteSettings", r));
  const drip = setInterval(() => session.ping(() => {}), 300);
  return {
    session,
    close() {
      clearInterval(drip);
      session.destroy();
    },
  };
}

/** Opens a Signal stream (gRPC) that never ends its side; resolves with its RST_STREAM code once closed. */
function signalStream(session: http2.ClientHttp2Session, authorization: string | undefined): Promise<number> {
  const headers: http2.OutgoingHttpHeaders = { ":method": "POST", ":path": SIGNAL_PATH, "content-type": "application/grpc", te: "trailers" };
  if (authorization !== undefined) headers.authorization = authorization;
  const stream = session.request(headers, { endStream: false });
  stream.on("error", () => {});
  stream.resume();
  return new Promise((resolve) => stream.on("close", () => resolve(stream.rstCode ?? -1)));
}

describe("a finished Signal stream whose client keeps its window shut is cancelled", () => {
  const streams = new ServerStreams();
  let srv: TestServer;
  before(async () => {
    streams.install();
    try {
      srv = await startTestServer({ VOLLY_PQ_ENABLED: "false", VOLLY_PING_INTERVAL: "1", VOLLY_PING_TIMEOUT: "2" });
    } finally {
      streams.uninstall();
    }
  });
  after(() => srv.close());

  test("50 refused streams (no token, a bad token) on one shut-window connection all close, and the server holds none", async () => {
    const conn = await shutWindowConnection(srv.httpUrl);
    try {
      const seen = streams.seen;
      const closed = Array.from({ length: 50 }, (_, i) => signalStream(conn.session, i % 2 === 0 ? undefined : "Bearer not-a-token"));
      const codes = await within(Promise.all(closed), 15_000, "every refused stream closed");
      assert.deepEqual(new Set(codes), new Set([http2.constants.NGHTTP2_CANCEL]));
      assert.equal(streams.seen - seen, 50, "the server saw every stream");
      await streams.drained(5000);
      assert.equal(conn.session.closed || conn.session.destroyed, false, "the connection itself stays open");
    } finally {
      conn.close();
    }
  });

  test("an authenticated stream whose client never opens its window ends at the ping timeout, and is gone after the grace", async () => {
    const conn = await shutWindowConnection(srv.httpUrl);
    try {
      const token = await makeToken({ identity: "shut-window", room: "close-grace" });
      // The session sends its join into the shut window and hears nothing: the ping timeout (2 s) ends it,
      // its goodbye cannot leave either, and a second later the stream is cancelled.
      const code = await within(signalStream(conn.session, `Bearer ${token}`), 15_000, "the authenticated stream closed");
      assert.equal(code, http2.constants.NGHTTP2_CANCEL);
      await streams.drained(5000);
    } finally {
      conn.close();
    }
  });
});
