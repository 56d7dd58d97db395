import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import WebSocket from "ws";
import {
  SignalRequestSchema,
  SignalResponseSchema,
  SignalService,
  type SignalRequest,
  type SignalResponse,
} from "../../gen/volly/signaling/v1/signal_pb.js";
import { decodeFrame, encodeFrame, type WireFormat } from "../../src/protocol/signal-codec.js";
import { AsyncQueue } from "./async-queue.js";

/** The real clients the tests drive: `ws` in three encodings, grpc-js over h2c, connect-node over HTTP/2. */
export type ChannelKind = "ws-protobuf" | "ws-json" | "ws-flat" | "grpc-js" | "connect" | "connect-grpc";
export const ALL_KINDS: ChannelKind[] = ["ws-protobuf", "ws-flat", "ws-json", "grpc-js", "connect"];

/** One raw signal connection: envelopes in and out, no PQ logic. */
export interface Channel {
  readonly kind: ChannelKind;
  /** The encoding of record plaintexts on this connection. */
  readonly format: WireFormat;
  send(request: SignalRequest): void;
  /** Sends a raw WebSocket frame (tests of malformed input). */
  sendRaw(frame: Uint8Array | string): void;
  readonly responses: AsyncQueue<SignalResponse>;
  /** Formats of the frames the server sent (WebSocket), in order. */
  readonly frameFormats: WireFormat[];
  /** Resolves when the connection ends: WebSocket close code, or 4000 + gRPC/Connect code, or 1000 for OK. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Drops the connection without a goodbye. */
  kill(): void;
  /**
   * WebSocket only: stops reading from the socket without closing it, like a peer whose network went
   * away (a half-open TCP connection: no FIN, no more reads, no pongs).
   */
  freeze?(): void;
  /** WebSocket only: writes bytes to the TCP socket as they are, beneath the WebSocket framing. */
  writeRaw?(bytes: Uint8Array): void;
}

export interface OpenOptions {
  token: string;
  query?: Record<string, string>;
  /** gRPC/Connect metadata. */
  headers?: Record<string, string>;
  path?: string;
  /** WebSocket only: answer control pings (default true, like browsers). */
  autoPong?: boolean;
  /** WebSocket only: the loopback address to connect from (another "client IP"). */
  localAddress?: string;
}

/** Error raised when the server refuses the WebSocket upgrade: the HTTP status and plain-text body. */
export class UpgradeRefused extends Error {
  constructor(readonly status: number, readonly body: string) {
    super(`upgrade refused: ${status} ${body}`);
  }
}

export async function openChannel(kind: ChannelKind, port: number, o: OpenOptions): Promise<Channel> {
  if (kind.startsWith("ws-")) return openWs(kind, port, o);
  if (kind === "grpc-js") return openGrpcJs(port, o);
  return openConnect(kind, port, o);
}

function openWs(kind: ChannelKind, port: number, o: OpenOptions): Promise<Channel> {
  const format = kind === "ws-protobuf" ? "protobuf" : kind === "ws-json" ? "json" : "flat";
  const query = new URLSearchParams({ access_token: o.token, format, ...o.query });
  const ws = new WebSocket(`ws://127.0.0.1:${port}${o.path ?? "/rtc"}?${query}`, { autoPong: o.autoPong ?? true, ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
  const responses = new AsyncQueue<SignalResponse>();
  const frameFormats: WireFormat[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on("close", (code, reason) => {
      responses.end();
      resolve({ code, reason: reason.toString() });
    });
  });
  ws.on("message", (data, isBinary) => {
    const frame = isBinary ? new Uint8Array(data as Buffer) : (data as Buffer).toString("utf8");
    const decoded = decodeFrame(SignalResponseSchema, frame);
    frameFormats.push(decoded.format);
    responses.push(decoded.message);
  });
  return new Promise((resolve, reject) => {
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => reject(new UpgradeRefused(res.statusCode ?? 0, body)));
    });
    ws.once("error", reject);
    ws.once("open", () => {
      ws.off("error", reject);
      ws.on("error", () => {});
      resolve({
        kind,
        format,
        send: (r) => ws.send(encodeFrame(SignalRequestSchema, r, format)),
        sendRaw: (f) => ws.send(f),
        responses,
        frameFormats,
        closed,
        kill: () => ws.terminate(),
        freeze: () => (ws as unknown as { _socket: { pause(): void } })._socket.pause(),
        writeRaw: (bytes) => (ws as unknown as { _socket: { write(b: Uint8Array): void } })._socket.write(bytes),
      });
    });
  });
}

function openGrpcJs(port: number, o: OpenOptions): Promise<Channel> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${o.token}`);
  for (const [k, v] of Object.entries(o.headers ?? {})) md.set(k, v);
  const call = client.makeBidiStreamRequest(
    "/volly.signaling.v1.SignalService/Signal",
    (m: SignalRequest) => Buffer.from(toBinary(SignalRequestSchema, m)),
    (b: Buffer) => fromBinary(SignalResponseSchema, b),
    md,
  );
  const responses = new AsyncQueue<SignalResponse>();
  call.on("data", (r: SignalResponse) => responses.push(r));
  call.on("error", () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    call.on("status", (s: grpc.StatusObject) => {
      responses.end();
      client.close();
      resolve({ code: s.code === 0 ? 1000 : 4000 + s.code, reason: s.details });
    });
  });
  return Promise.resolve({
    kind: "grpc-js" as const,
    format: "protobuf" as const,
    send: (r) => call.write(r),
    sendRaw: () => {
      throw new Error("grpc-js channel has no raw frames");
    },
    responses,
    frameFormats: [],
    closed,
    kill: () => call.cancel(),
  });
}

function openConnect(kind: ChannelKind, port: number, o: OpenOptions): Promise<Channel> {
  const options = { baseUrl: `http://127.0.0.1:${port}`, httpVersion: "2" as const };
  const transport = kind === "connect-grpc" ? createGrpcTransport(options) : createConnectTransport(options);
  const client = createClient(SignalService, transport);
  const input = new AsyncQueue<SignalRequest>();
  const abort = new AbortController();
  const responses = new AsyncQueue<SignalResponse>();
  const closed = (async () => {
    try {
      // connect-es needs a full AsyncIterator (with throw/return): wrap the queue in a generator.
      const requests = (async function* () {
        yield* input;
      })();
      for await (const r of client.signal(requests, { headers: { authorization: `Bearer ${o.token}`, ...o.headers }, signal: abort.signal })) {
        responses.push(r);
      }
      return { code: 1000, reason: "" };
    } catch (e) {
      const ce = ConnectError.from(e);
      return { code: 4000 + ce.code, reason: ce.rawMessage };
    } finally {
      responses.end();
    }
  })();
  return Promise.resolve({
    kind,
    format: "protobuf" as const,
    send: (r) => input.push(r),
    sendRaw: () => {
      throw new Error("connect channel has no raw frames");
    },
    responses,
    frameFormats: [],
    closed,
    kill: () => abort.abort(),
  });
}
