import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type Server } from "ws";
import type { Logger } from "pino";
import type { ConnectError } from "@connectrpc/connect";
import { errors, toPublicError } from "../errors.js";
import type { Metrics } from "../metrics/metrics.js";
import { admitConnection, type AdmittedConnection } from "../session/admit-connection.js";
import { queryParams } from "../session/connect-params.js";
import { writeRawError } from "../http/raw-response.js";
import { requestTarget } from "../http/request-target.js";
import { intern } from "../intern-string.js";
import type { NodeServices } from "../session/node-services.js";
import { SignalSession } from "../session/signal-session.js";
import type { ConnectionSlots } from "./connection-limiter.js";
import { SignalWebSocket } from "./signal-web-socket.js";
import { WsTransport } from "./ws-transport.js";

/** Paths that upgrade to the signal WebSocket: `/rtc`, and `/` because the seed connects to `ws://host:7880?access_token=`. */
export const SIGNAL_PATHS = new Set(["/rtc", "/rtc/", "/"]);

/**
 * The `/rtc` WebSocket bridge: authenticates during the upgrade (errors are HTTP statuses with a
 * plain-text reason, LiveKit style), then hands the socket to a `SignalSession` through `WsTransport`.
 */
export class WsBridge {
  private readonly wss: Server<typeof SignalWebSocket>;
  /**
   * The open signal WebSockets, for `close()`. Kept here rather than by ws (`clientTracking`), which would
   * give every connection a close listener closure for its whole life; each transport takes its socket out
   * when it closes.
   */
  private readonly open = new Set<SignalWebSocket>();

  constructor(private readonly svc: NodeServices, private readonly limiter: ConnectionSlots) {
    // The hard cap is above the configured limit so that a moderately oversized frame gets a polite
    // `error` (the transport checks the limit) instead of an abrupt 1009 close.
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: svc.config.limits.maxFrameBytes * 4,
      perMessageDeflate: false,
      clientTracking: false,
      // ws answers pings itself through a closure it makes for every socket; the transport answers them
      // instead, and a client's pings count against its message rate like its requests.
      autoPong: false,
      WebSocket: socketClosingOversizedFrames(svc.config.limits.maxFrameBytes, svc.metrics, svc.log),
    });
  }

  /** Handles an HTTP upgrade request for a signal path; true once the socket is a signal WebSocket's. */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<boolean> {
    const url = requestTarget(req.url);
    if (url === undefined) return refuse(socket, errors.malformedTarget());
    // Shared: behind a proxy or a NAT, many connections come from one address, and each keeps it for its life.
    const ip = intern(req.socket.remoteAddress ?? "");
    // Socket errors are already handled: the listener gave every accepted socket its shared error listener.
    let admitted: AdmittedConnection;
    try {
      admitted = await admitConnection(this.svc, this.limiter, {
        ip,
        param: queryParams(url.searchParams),
        authorization: header(req, "authorization"),
        source: "query",
      });
    } catch (e) {
      return refuse(socket, toPublicError(e));
    }
    const { params } = admitted;
    if (socket.destroyed) {
      this.limiter.release(ip);
      return false;
    }
    // The 101 answer and what the session sends at once (`join` without PQ, the token-path handshake
    // response) leave in one write instead of one each: the socket stays corked until the promise jobs
    // of this turn (the join against an in-memory store) are done. With Redis the 101 simply goes first.
    socket.cork();
    setImmediate(() => socket.uncork());
    let upgraded = false;
    // ws completes a valid upgrade before handleUpgrade returns (there is no verifyClient); an invalid one it
    // answers itself and destroys, without calling back.
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true;
      const transport = new WsTransport(ws, socket, ip, params.format ?? "flat", this.svc.config.limits.maxFrameBytes, this.limiter, this.open);
      const session = new SignalSession(this.svc, transport, admitted, params);
      transport.attach(session);
      void session.start();
    });
    if (!upgraded) this.limiter.release(ip);
    return upgraded;
  }

  /**
   * Closes every WebSocket still open, once the sessions have been drained (each sent `leave` and a close
   * frame). Each gets up to `waitMs` to finish its close handshake: a socket destroyed first answers what
   * its client sends next with a TCP reset, and a layer-7 proxy told of a reset aborts its client's side
   * too, losing the `leave` still in its buffers (the client sees a dropped connection, not a shutdown).
   */
  async close(waitMs: number): Promise<void> {
    const closed = [...this.open].map((ws) => new Promise<void>((resolve) => ws.once("close", () => resolve())));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
    for (const ws of this.open) ws.terminate();
    this.wss.close();
  }
}

/** ws's own limit on the frames of one message (its default, which the bridge keeps). */
const MAX_FRAGMENTS = 16 * 1024;

/**
 * Signal sockets whose messages over ws's hard caps close as the catalogue says. ws refuses a frame (or a
 * fragmented message) over `maxPayload`, and a message in more than `MAX_FRAGMENTS` frames, itself, before
 * the transport sees a byte of it, and closes with 1009 or 1008 and no reason: the close gets the
 * catalogue's wording and is counted like a smaller oversized frame. ws makes those closes, and only those,
 * without a reason (a close the peer started carries its own, if empty; ours always say why), so that is how
 * they are told apart.
 */
function socketClosingOversizedFrames(maxFrameBytes: number, metrics: Metrics, log: Logger): typeof SignalWebSocket {
  const tooLarge = errors.frameTooLarge(maxFrameBytes).rawMessage;
  const tooManyFragments = errors.tooManyFragments(MAX_FRAGMENTS).rawMessage;
  return class extends SignalWebSocket {
    override close(code?: number, data?: string | Buffer): void {
      if (data !== undefined || (code !== 1009 && code !== 1008)) return super.close(code, data);
      const limit = code === 1009 ? "frame_size" : "fragments";
      metrics.limitsHit.inc({ limit });
      log.warn({ limit, max: code === 1009 ? maxFrameBytes * 4 : MAX_FRAGMENTS }, "oversized message closed the connection");
      super.close(code, code === 1009 ? tooLarge : tooManyFragments);
    }
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function refuse(socket: Duplex, error: ConnectError): false {
  writeRawError(socket, error);
  return false;
}
