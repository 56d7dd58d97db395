import { Code, ConnectError } from "@connectrpc/connect";
import {
  SignalRequestSchema,
  SignalResponseSchema,
  type SignalRequest,
  type SignalResponse,
} from "../../gen/volly/signaling/v1/signal_pb.js";
import { CodecError, decodeFrame, encodeFrame, type WireFormat } from "../protocol/signal-codec.js";
import { errorFromClose, errorFromHttpStatus } from "./client-errors.js";
import { frameBytes, frameTooLarge, textCertainlyFits } from "./frame-size.js";
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
  /** Abandons the open at once (`Canceled`): no socket, timer or diagnosis is left behind. */
  readonly signal?: AbortSignal;
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
    if (options.signal?.aborted === true) return Promise.reject(canceled());
    const url = signalUrl(options);
    const ws = new options.WebSocket(url);
    ws.binaryType = "arraybuffer";
    const socket = new SignalSocket(ws, options.format, undefined);
    const diagnosis = new AbortController();
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => fail(new ConnectError("timed out opening the signal connection", Code.DeadlineExceeded)), options.openTimeoutMs);
      const onAbort = (): void => fail(canceled());
      options.signal?.addEventListener("abort", onAbort);
      const finish = (): void => {
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        diagnosis.abort();
      };
      const fail = (error: ConnectError): void => {
        if (settled) return;
        finish();
        ws.onopen = ws.onclose = ws.onmessage = null;
        // `ws` emits 'error' a tick after close() on a CONNECTING socket; with no listener that event would be
        // thrown out of the event loop (an uncaught exception in the app), so a listener stays attached.
        ws.onerror = ignore;
        try {
          ws.close();
        } catch {
          // already closing
        }
        reject(error);
      };
      ws.onopen = () => {
        if (settled) return;
        finish();
        socket.handlers = handlers;
        socket.listen();
        resolve(socket);
      };
      let diagnosing = false;
      const failedUpgrade = (): void => {
        // An error or close before open is a refused or failed upgrade: ask the server why (once).
        if (diagnosing) return;
        diagnosing = true;
        void diagnose(options, diagnosis.signal).then(fail);
      };
      ws.onerror = failedUpgrade;
      ws.onclose = (event: SocketCloseEventLike) => {
        if (event.code >= 4000) fail(errorFromClose(event.code, event.reason));
        else failedUpgrade();
      };
    });
  }

  /** Frames sent so far (the server counts each against its message rate). */
  framesSent = 0;

  /**
   * Sends an envelope (dropped when the socket is no longer open); a frame over `maxFrameBytes` is not sent and
   * its `InvalidArgument` error returned instead.
   */
  send(request: SignalRequest, maxFrameBytes = Infinity): ConnectError | undefined {
    if (this.closedAlready || this.ws.readyState !== 1) return undefined;
    const frame = encodeFrame(SignalRequestSchema, request, this.format);
    if (typeof frame !== "string" || !textCertainlyFits(frame.length, maxFrameBytes)) {
      const size = frameBytes(frame);
      if (size > maxFrameBytes) return frameTooLarge(size, maxFrameBytes);
    }
    this.framesSent++;
    this.ws.send(frame);
    return undefined;
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
    this.ws.onerror = ignore;
  }

  private reportClosed(code: number, reason: string): void {
    if (this.closedAlready) return;
    this.closedAlready = true;
    this.ws.onmessage = this.ws.onclose = null;
    // Kept: `ws` may still emit 'error' after close(), which would be thrown without a listener.
    this.ws.onerror = ignore;
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
async function diagnose(options: SignalSocketOptions, abandoned: AbortSignal): Promise<ConnectError> {
  const url = new URL(signalUrl(options));
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  url.pathname = "/rtc/validate";
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  abandoned.addEventListener("abort", abort);
  const timer = setTimeout(abort, 5000);
  try {
    const response = await fetch(url, { signal: controller.signal });
    const body = await response.text();
    if (response.status !== 200) return errorFromHttpStatus(response.status, body);
  } catch {
    // unreachable or abandoned: fall through
  } finally {
    clearTimeout(timer);
    abandoned.removeEventListener("abort", abort);
  }
  return new ConnectError(`could not connect to ${options.url}`, Code.Unavailable);
}

function canceled(): ConnectError {
  return new ConnectError("connection attempt canceled", Code.Canceled);
}

function ignore(): void {}

function toFrame(data: unknown): Uint8Array | string {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return "";
}
