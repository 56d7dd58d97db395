import WebSocket from "ws";
import {
  generateVollyAccessToken,
  VollySignalingClient,
  type VollySignalingClientOptions,
  type WebSocketConstructor,
} from "../../src/client/index.js";
import type { EventMap, TypedEmitter } from "../../src/client/typed-emitter.js";
import { loopbackOnly, loopbackPeerConnection } from "./werift-peer.js";

export const DEV_KEY = "volly-dev-key";
export const DEV_SECRET = "volly-dev-secret-key-2024";

/** A `ws` constructor that remembers its sockets, so a test can cut the SDK's connection like a network drop. */
export interface SocketTap {
  readonly WebSocket: WebSocketConstructor;
  readonly opened: WebSocket[];
  /** Terminates the newest socket (no close handshake, no `leave`). */
  cut(): void;
  /** Drops every frame the newest socket receives from now on (answers get lost; the server still acts). */
  deafen(): void;
  /** Flips a bit in the next binary frame the newest socket receives (a tampered record). */
  corruptNext(): void;
  /** While true, every new socket's connection is refused (the network is down); open ones are untouched. */
  down: boolean;
}

export function socketTap(): SocketTap {
  const opened: TappedWebSocket[] = [];
  const state = { down: false };
  class TappedWebSocket extends WebSocket {
    deaf = false;
    corrupt = false;
    constructor(url: string) {
      // Port 9 (discard) is closed on loopback: the connection is refused at once.
      super(state.down ? "ws://127.0.0.1:9/" : url);
      opened.push(this);
    }

    override emit(event: string | symbol, ...args: unknown[]): boolean {
      if (this.deaf && event === "message") return false;
      if (this.corrupt && event === "message" && args[1] === true && args[0] instanceof ArrayBuffer) {
        // The SDK sets binaryType "arraybuffer", so frames arrive as ArrayBuffers.
        this.corrupt = false;
        const frame = new Uint8Array(args[0].slice(0));
        frame[frame.length - 1]! ^= 0x01; // the last byte of the record's AES-GCM tag
        return super.emit(event, frame.buffer, true);
      }
      return super.emit(event, ...args);
    }
  }
  return {
    WebSocket: TappedWebSocket,
    opened,
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
    cut: () => opened.at(-1)?.terminate(),
    deafen: () => {
      const last = opened.at(-1);
      if (last) last.deaf = true;
    },
    corruptNext: () => {
      const last = opened.at(-1);
      if (last) last.corrupt = true;
    },
  };
}

/** An SDK client on `wsUrl` for `identity` in `room`: Node setup (ws + werift on loopback), dev token. */
export async function nodeClient(
  wsUrl: string,
  identity: string,
  room: string,
  options: Partial<VollySignalingClientOptions> = {},
): Promise<{ client: VollySignalingClient; tap: SocketTap }> {
  const tap = socketTap();
  const token = await generateVollyAccessToken(DEV_KEY, DEV_SECRET, { room, identity });
  const client = new VollySignalingClient({
    url: wsUrl,
    token,
    webSocket: tap.WebSocket,
    RTCPeerConnection: loopbackPeerConnection,
    candidateFilter: loopbackOnly,
    ...options,
  });
  return { client, tap };
}

/** Resolves with the arguments of the next `event` of `emitter` (rejects after `timeoutMs`). */
export function nextEvent<E extends EventMap, K extends keyof E>(emitter: TypedEmitter<E>, event: K, timeoutMs = 10_000): Promise<E[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${String(event)}`));
    }, timeoutMs);
    const off = emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

export { eventually, until } from "./polling.js";
