import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import type { ConnectionSlots } from "../rtc/connection-limiter.js";
import { writeRawResponse } from "./raw-response.js";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export type RequestHandler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;
/**
 * Takes a WebSocket upgrade; resolves true once the socket belongs to a WebSocket server that tracks
 * (and at shutdown closes) it itself, false when it was refused or lost.
 */
export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => Promise<boolean>;

/** What bounds a connection that is not (yet) a signal WebSocket, whoever sends it: no token is needed to hold one. */
export interface ListenerLimits {
  /** Open HTTP connections (HTTP/1.1, h2c) in total and per client IP; signal WebSockets are counted apart. */
  readonly slots: ConnectionSlots;
  /** A request's headers must have arrived within this (HTTP/1.1; answered 408). */
  readonly headersTimeoutMs: number;
  /**
   * A request must have arrived whole, and on HTTP/2 been answered, within this; the paths of
   * `longLived` (the signal stream, authenticated by its headers before it waits on anything) are exempt.
   */
  readonly requestTimeoutMs: number;
  /** An HTTP/2 connection with no frame in either direction for this long is closed. */
  readonly h2IdleTimeoutMs: number;
  /** Streams open at once on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly h2MaxStreams: number;
  readonly longLived: ReadonlySet<string>;
}

/**
 * One port, every protocol: sniffs the HTTP/2 connection preface and hands the socket to an h2c server
 * (gRPC, Connect over HTTP/2) or to an HTTP/1.1 server (Connect, gRPC-web, REST, WebSocket upgrades).
 * Tracks sockets and sessions so `close()` can end them (Node's own close waits forever for h2 sessions).
 */
export class Listener {
  private readonly net: net.Server;
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  /** Where a sniffed socket goes. */
  private readonly servers: { readonly h1: http.Server; readonly h2: http2.Http2Server };
  private readonly sockets = new Set<net.Socket>();
  /** One close listener for every socket (`this` is the socket), not a closure per connection. */
  private readonly forget: (this: net.Socket) => void;
  private readonly h2Sessions = new Set<http2.ServerHttp2Session>();

  constructor(handler: RequestHandler, onUpgrade: UpgradeHandler | undefined, private readonly limits: ListenerLimits) {
    const sockets = this.sockets;
    const { slots } = limits;
    this.forget = function (this: net.Socket) {
      sockets.delete(this);
      slots.release(this.remoteAddress ?? "");
    };
    this.h1 = http.createServer({
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    }, handler);
    // Node enforces the two timeouts above from a timer it starts on 'listening', which this server never
    // emits by itself: it is handed sockets, not bound to a port. Without this, a client sending a header
    // byte every few seconds would hold its socket for ever.
    this.h1.emit("listening");
    this.h1.keepAliveTimeout = 5000;
    this.h1.on("clientError", answerClientError);
    this.h2 = http2.createServer({ settings: { maxConcurrentStreams: limits.h2MaxStreams } }, (req, res) => {
      if (!limits.longLived.has(req.url)) answerWithin(limits.requestTimeoutMs, res);
      handler(req, res);
    });
    // Without a 'timeout' listener Node closes the idle session itself.
    this.h2.setTimeout(limits.h2IdleTimeoutMs);
    this.h2.on("session", (s) => {
      this.h2Sessions.add(s);
      s.on("close", () => this.h2Sessions.delete(s));
    });
    this.h1.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      if (String(req.headers.upgrade).toLowerCase() !== "websocket" || onUpgrade === undefined) {
        this.serveUpgradeAsPlain(req, socket, head);
        return;
      }
      // A handler that throws instead of rejecting must not end the process (a thrown error here is uncaught).
      let upgraded: Promise<boolean>;
      try {
        upgraded = onUpgrade(req, socket, head);
      } catch (e) {
        upgraded = Promise.reject(e);
      }
      upgraded.then(
        (owned) => {
          if (owned) this.handOver(socket as net.Socket);
        },
        () => socket.destroy(),
      );
    });
    this.servers = { h1: this.h1, h2: this.h2 };
    this.net = net.createServer((socket) => this.sniff(socket));
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.net.once("error", reject);
      const done = () => {
        this.net.off("error", reject);
        resolve((this.net.address() as net.AddressInfo).port);
      };
      // No host: every interface, dual-stack where the OS has IPv6 (so `localhost` works as ::1 and 127.0.0.1).
      if (host === "") this.net.listen(port, done);
      else this.net.listen(port, host, done);
    });
  }

  /**
   * Stops accepting; ends idle HTTP connections and h2 sessions; destroys what remains after `graceMs`.
   * Resolves when the port is closed, and at the latest a second after the grace period: a stop must
   * never hang on a connection Node still counts but can no longer close.
   */
  async close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.net.close(() => resolve()));
    this.h1.closeIdleConnections();
    for (const s of this.h2Sessions) s.close();
    const timers: NodeJS.Timeout[] = [];
    const late = new Promise<void>((resolve) => {
      timers.push(setTimeout(() => {
        for (const s of this.h2Sessions) s.destroy();
        for (const s of this.sockets) s.destroy();
      }, graceMs));
      timers.push(setTimeout(resolve, graceMs + 1000));
    });
    await Promise.race([closed, late]);
    for (const t of timers) clearTimeout(t);
  }

  /**
   * Stops tracking a socket the WebSocket server now owns (it closes its sockets at shutdown, before the
   * listeners close) and takes the accept-time error listener off it, as ws listens for its errors: a
   * tracked socket costs an idle connection a set entry and two listener arrays for its whole life.
   */
  private handOver(socket: net.Socket): void {
    this.sockets.delete(socket);
    this.limits.slots.release(socket.remoteAddress ?? "");
    // Reading the address made the socket cache its peer's address, family and port in an object (about 60
    // bytes) for its life; the new owner kept the address it needs when it took the socket.
    (socket as unknown as { _peername?: unknown })._peername = undefined;
    socket.off("close", this.forget);
    if (socket.listenerCount("error") > 1) socket.off("error", destroySocket);
  }

  private sniff(socket: net.Socket): void {
    // Refused before a byte is read: at the limit, nothing about the connection is worth an answer.
    if (!this.limits.slots.acquire(socket.remoteAddress ?? "")) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.on("close", this.forget);
    socket.on("error", destroySocket);
    new PrefaceSniffer(socket, this.servers);
  }

  /**
   * `Upgrade: h2c` (curl --http2) and other non-WebSocket upgrades: with an 'upgrade' listener Node would
   * hand them to us and the request would be lost, so replay them to the HTTP/1.1 server without the
   * upgrade headers.
   */
  private serveUpgradeAsPlain(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const drop = /^(upgrade|http2-settings|connection)$/i;
    const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i] ?? "";
      if (!drop.test(name)) lines.push(`${name}: ${req.rawHeaders[i + 1] ?? ""}`);
    }
    socket.unshift(Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"), head]));
    this.h1.emit("connection", socket);
    (socket as net.Socket).resume();
  }
}

/**
 * An HTTP/2 request still unanswered after `ms` (its body stalled, or never ended) is answered 408, or
 * its stream cancelled if an answer had begun: one connection may hold only a bounded number of streams,
 * and each must end.
 */
function answerWithin(ms: number, res: http2.Http2ServerResponse): void {
  const timer = setTimeout(() => {
    if (res.writableFinished || res.stream.destroyed) return;
    if (!res.headersSent) {
      res.writeHead(408, { "content-type": "text/plain; charset=utf-8" });
      res.end("the request took too long to arrive");
      // After the answer, RST_STREAM(NO_ERROR) tells the client to stop sending the rest (RFC 9113 §8.1).
      res.stream.close(http2.constants.NGHTTP2_NO_ERROR);
    } else res.stream.close(http2.constants.NGHTTP2_CANCEL);
  }, ms);
  timer.unref();
  res.once("close", () => clearTimeout(timer));
}

/** Shared by every socket: an error listener that closes over nothing costs no memory per connection. */
function destroySocket(this: net.Socket): void {
  this.destroy();
}

/**
 * Reads until the HTTP/2 preface is recognised or ruled out, puts the bytes back and hands the socket to
 * the h2c or the HTTP/1.1 server. An object of its own so that the buffered bytes (the request line, with
 * the token in the query) live in nothing long-lived: it is garbage once the socket is handed over. Its
 * listeners are bound methods, not closures: under tsx every named closure is renamed when it is made
 * (`keepNames`), a few microseconds per connection.
 */
class PrefaceSniffer {
  private buffered: Buffer = EMPTY;
  // A silent socket never reaches the h1/h2 timeouts; give it 10 s to say something. A plain timer, not
  // socket.setTimeout(), which would leave its cleared Timeout and listener on the socket for its life.
  private readonly timer: NodeJS.Timeout;
  private readonly onData = this.data.bind(this);
  private readonly onClose = this.closed.bind(this);

  constructor(
    private readonly socket: net.Socket,
    private readonly servers: { readonly h1: http.Server; readonly h2: http2.Http2Server },
  ) {
    this.timer = setTimeout(destroySocketOf, 10_000, socket).unref();
    socket.on("data", this.onData);
    socket.on("close", this.onClose);
  }

  private data(chunk: Buffer): void {
    const buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    this.buffered = buffered;
    const n = Math.min(buffered.length, PREFACE.length);
    const isH2 = buffered.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (isH2 && n < PREFACE.length) return;
    const socket = this.socket;
    socket.off("data", this.onData);
    socket.off("close", this.onClose);
    clearTimeout(this.timer);
    socket.pause();
    socket.unshift(buffered);
    if (isH2) {
      // http2 reads socket.readableLength itself; resuming here breaks the session (RST_STREAM).
      this.servers.h2.emit("connection", socket);
    } else {
      this.servers.h1.emit("connection", socket);
      socket.resume();
    }
  }

  private closed(): void {
    clearTimeout(this.timer);
  }
}

const EMPTY = Buffer.alloc(0);

function destroySocketOf(socket: net.Socket): void {
  socket.destroy();
}

/**
 * A request Node's parser refused before any handler saw it, answered as Node would (400, 408 or 431, or
 * nothing once a response has started or the peer is gone) but with a plain-text reason: Node's own 431
 * has no body, and the likely cause is a token in the URL carrying that much metadata.
 */
function answerClientError(e: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || (socket as net.Socket).bytesWritten > 0 || e.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  const [status, reason] = e.code === "HPE_HEADER_OVERFLOW"
    ? [431, `request line and headers larger than ${http.maxHeaderSize} bytes (a token this large cannot be used)`]
    : e.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, "the request took too long to arrive"]
      : [400, "malformed HTTP request"];
  writeRawResponse(socket, status, reason);
}
