import { createContextKey, type ContextValues } from "@connectrpc/connect";
import type * as http from "node:http";
import * as http2 from "node:http2";

/**
 * How long a stream the server is done with may take to close. Its last frames (its status, and any
 * answers not sent yet) leave at once, without waiting on the network, for a client that lets them
 * through; one that keeps its flow-control window shut would hold the stream for as long as it keeps its
 * connection busy. Refused streams too.
 */
export const CLOSE_GRACE_MS = 1000;

/**
 * The HTTP/2 stream under a long-lived call (the Signal stream, reflection). connect-es ends a call by
 * writing its answer, and on Node's HTTP/2 even a status alone needs the client's flow-control window
 * open: a client that shuts it (or lets answers use it up) holds the stream after the call is over, for
 * as long as it keeps its connection busy. These calls are exempt from the request deadline, so nothing
 * else would end such a stream: the handler must be able to.
 */
export interface CallStream {
  /** Calls `f` once the stream is closed, whoever closed it (at once if it is closed already). */
  onClose(f: () => void): void;
  /** The call is over: its last frames are owed to the client; cancels the stream if it is open `ms` later. */
  closeWithin(ms: number): void;
  /** Ends the stream at once: RST_STREAM(CANCEL). */
  cancel(): void;
}

export const callStream = createContextKey<CallStream | undefined>(undefined, {
  description: "the HTTP/2 stream under a long-lived call",
});

/**
 * Adds the stream of a call on one of `paths` to the context connect-node builds for `req`; other calls
 * (and HTTP/1.1, where connect-es serves no bidirectional stream and the request deadline applies) are
 * left as they are.
 */
export function withCallStream(values: ContextValues, req: http.IncomingMessage | http2.Http2ServerRequest, paths: ReadonlySet<string>): ContextValues {
  if (!("stream" in req)) return values;
  // connect-node routes by the path without its query; so must this.
  const url = req.url;
  const query = url.indexOf("?");
  if (!paths.has(query < 0 ? url : url.slice(0, query))) return values;
  return values.set(callStream, new Http2CallStream(req.stream));
}

class Http2CallStream implements CallStream {
  private deadline: NodeJS.Timeout | undefined;

  constructor(private readonly stream: http2.ServerHttp2Stream) {}

  onClose(f: () => void): void {
    if (this.stream.destroyed) f();
    else this.stream.once("close", f);
  }

  closeWithin(ms: number): void {
    if (this.deadline !== undefined || this.stream.destroyed) return;
    const deadline = setTimeout(() => this.cancel(), ms);
    deadline.unref();
    this.deadline = deadline;
    this.stream.once("close", () => clearTimeout(deadline));
  }

  cancel(): void {
    if (!this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }
}
