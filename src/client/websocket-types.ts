/**
 * The slice of the WebSocket API the SDK uses, as structural types: the browser's native `WebSocket` and the
 * `ws` package both fit. Handlers take `(event: never) => void` so any implementation's handler type is
 * assignable; the SDK reads only the fields of the `*EventLike` types below.
 */

/** A WebSocket (browser `WebSocket`, `ws`'s `WebSocket`). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null | undefined;
  onmessage: ((event: never) => void) | null | undefined;
  onclose: ((event: never) => void) | null | undefined;
  onerror: ((event: never) => void) | null | undefined;
}

/** A WebSocket constructor: `WebSocket` in browsers (and Node 22+), the `ws` package's default export in Node 20. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** The event of `onmessage`: a string for text frames, an ArrayBuffer (binaryType "arraybuffer") for binary ones. */
export interface SocketMessageEventLike {
  readonly data: unknown;
}

/** The event of `onclose`. */
export interface SocketCloseEventLike {
  readonly code: number;
  readonly reason: string;
}
