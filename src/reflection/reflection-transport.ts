import { createContextKey, type ContextValues } from "@connectrpc/connect";
import type * as http from "node:http";
import * as http2 from "node:http2";

/**
 * The HTTP/2 stream under a reflection call. connect-es ends a call by writing its answer, and on Node's
 * HTTP/2 even a status alone needs the client's flow-control window open: a client that shuts it (or lets
 * answers use it up) holds the stream after the call is over, for as long as it keeps its connection busy.
 * The stream's own life is what the bounds must hold, so they need it.
 */
export interface ReflectionTransport {
  /** Calls `f` once the stream is closed, whoever closed it (at once if it is closed already). */
  onClose(f: () => void): void;
  /** The call is over: its last frames are owed to the client; cancels the stream if it is open `ms` later. */
  closeWithin(ms: number): void;
  /** Ends the stream at once: RST_STREAM(CANCEL). */
  cancel(): void;
}

export const reflectionTransport = createContextKey<ReflectionTransport | undefined>(undefined, {
  description: "the HTTP/2 stream under a gRPC reflection call",
});

const REFLECTION_PATHS = new Set(
  ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"].map((s) => `/${s}/ServerReflectionInfo`),
);

/** The request paths of the reflection streams (v1 and v1alpha). */
export const reflectionPaths: ReadonlySet<string> = REFLECTION_PATHS;

/**
 * Adds the stream of a reflection call to the context connect-node builds for `req`; other calls (and
 * HTTP/1.1, where connect-es serves no bidirectional stream) are left as they are.
 */
export function withReflectionTransport(values: ContextValues, req: http.IncomingMessage | http2.Http2ServerRequest): ContextValues {
  if (!("stream" in req)) return values;
  // connect-node routes by the path without its query; so must this.
  const url = req.url;
  const query = url.indexOf("?");
  if (!REFLECTION_PATHS.has(query < 0 ? url : url.slice(0, query))) return values;
  return values.set(reflectionTransport, new Http2ReflectionTransport(req.stream));
}

class Http2ReflectionTransport implements ReflectionTransport {
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
