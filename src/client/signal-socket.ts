import { Code, ConnectError } from "@connectrpc/connect";
import {
  SignalRequestSchema,
  SignalResponseSchema,
  type SignalRequest,
  type SignalResponse,
} from "../../gen/volly/signaling/v1/signal_pb.js";
import { CodecError, decodeFrame, encodeFrame, type WireFormat } from "../protocol/signal-codec.js";
import { errorFromClose, errorFromHttpStatus } from "./client-errors.js";
import type { SocketCloseEventLike, SocketMessageEventLike, WebSocketConstructor, WebSocketLike } from "./websocket-types.js";

/** Where and how to open one signal WebSocket. */
export interface SignalSocketOptions {
  /** `ws://host:7880`, `wss://host/rtc`...: `/rtc` is used when the URL has no path. */
  readonly url: string;
  readonly token: string;
  readonly format: WireFormat;
  /** Resume an existing participant (`reconnect=1&sid=...&last_message_id=...`). */
  readonly resume?: { readonly sid: string; readonly lastMessageId: bigint };
  readonly WebSocket: WebSocketConstructor;
  /** Gives up opening after this long (`DeadlineExceeded`). */
  readonly openTimeoutMs: number;
}

/** What a socket reports after it opened. */
export interface SignalSocketHandlers {
  /** An envelope from the server (outer: a `secure` record or a handshake message). */
  message(response: SignalResponse): void;
  /** A frame that could not be decoded (a protocol error). */
  malformed(error: CodecError): void;
  /** The socket closed (by either side); called once. */
  closed(code: number, reason: string): void;
}

/**
 * One WebSocket to `/rtc`: encodes and decodes envelopes in the connection's format, and turns a refused upgrade
 * into a `ConnectError` with the server's code and reason (browsers cannot read the status of a failed upgrade, so
 * the SDK asks `GET /rtc/validate` for it).
 */
export class SignalSocket {
  private closedAlready = false;

  private constructor(
    private readonly ws: WebSocketLike,
    private readonly format: WireFormat,
    private handlers: SignalSocketHandlers | undefined,
  ) {}

  /** Opens the socket; rejects with a `ConnectError` when it cannot (refused, unreachable, timeout). */
  static open(options: SignalSocketOptions, handlers: SignalSocketHandlers): Promise<SignalSocket> {
    const url = signalUrl(options);
    const ws = new options.WebSocket(url);
    ws.binaryType = "arraybuffer";
    const socket = new SignalSocket(ws, options.format, undefined);
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => fail(new ConnectError("timed out opening the signal connection", Code.DeadlineExceeded)), options.openTimeoutMs);
      const fail = (error: ConnectError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.onopen = ws.onclose = ws.onerror = ws.onmessage = null;
        try {
          ws.close();
        } catch {
          // already closing
        }
        reject(error);
      };
      ws.onopen = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.handlers = handlers;
        socket.listen();
        resolve(socket);
      };
      let diagnosing = false;
      const failedUpgrade = (): void => {
        // An error or close before open is a refused or failed upgrade: ask the server why (once).
        if (diagnosing) return;
        diagnosing = true;
        void diagnose(options).then(fail);
      };
      ws.onerror = failedUpgrade;
      ws.onclose = (event: SocketCloseEventLike) => {
        if (event.code >= 4000) fail(errorFromClose(event.code, event.reason));
        else failedUpgrade();
      };
    });
  }

  /** Sends an envelope (dropped when the socket is no longer open). */
  send(request: SignalRequest): void {
    if (this.closedAlready || this.ws.readyState !== 1) return;
    const frame = encodeFrame(SignalRequestSchema, request, this.format);
    this.ws.send(frame);
  }

  /** Closes the socket; `closed` is reported once, right away. */
  close(code = 1000, reason = ""): void {
    try {
      this.ws.close(code, reason);
    } catch {
      // already closed
    }
    this.reportClosed(code, reason);
  }

  get isOpen(): boolean {
    return !this.closedAlready && this.ws.readyState === 1;
  }

  private listen(): void {
    this.ws.onmessage = (event: SocketMessageEventLike) => {
      if (this.closedAlready) return;
      const frame = toFrame(event.data);
      let response: SignalResponse;
      try {
        response = decodeFrame(SignalResponseSchema, frame).message;
      } catch (e) {
        this.handlers?.malformed(e instanceof CodecError ? e : new CodecError("undecodable frame"));
        return;
      }
      this.handlers?.message(response);
    };
    this.ws.onclose = (event: SocketCloseEventLike) => this.reportClosed(event.code, event.reason);
    this.ws.onerror = () => {};
  }

  private reportClosed(code: number, reason: string): void {
    if (this.closedAlready) return;
    this.closedAlready = true;
    this.ws.onmessage = this.ws.onclose = this.ws.onerror = null;
    this.handlers?.closed(code, reason);
  }
}

/** The `/rtc` URL with the connect parameters in its query. */
export function signalUrl(options: Pick<SignalSocketOptions, "url" | "token" | "format" | "resume">): string {
  const url = new URL(options.url);
  if (url.pathname === "" || url.pathname === "/") url.pathname = "/rtc";
  url.searchParams.set("access_token", options.token);
  url.searchParams.set("format", options.format);
  if (options.resume !== undefined) {
    url.searchParams.set("reconnect", "1");
    url.searchParams.set("sid", options.resume.sid);
    url.searchParams.set("last_message_id", options.resume.lastMessageId.toString());
  }
  return url.toString();
}

/** Why an upgrade failed, from `GET /rtc/validate` (same checks, readable status); `Unavailable` if unknown. */
async function diagnose(options: SignalSocketOptions): Promise<ConnectError> {
  const url = new URL(signalUrl(options));
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  url.pathname = "/rtc/validate";
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const body = await response.text();
    if (response.status !== 200) return errorFromHttpStatus(response.status, body);
  } catch {
    // unreachable: fall through
  }
  return new ConnectError(`could not connect to ${options.url}`, Code.Unavailable);
}

function toFrame(data: unknown): Uint8Array | string {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return "";
}
