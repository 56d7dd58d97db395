import WebSocket from "ws";
import type { WebSocketConstructor } from "../../src/client/index.js";

/** `ws` behind a link with `oneWayMs` of latency each way (order kept): a real client on a slow network. */
export function slowLinkWebSocket(oneWayMs: number): WebSocketConstructor {
  class SlowLink extends WebSocket {
    override emit(event: string | symbol, ...args: unknown[]): boolean {
      setTimeout(() => super.emit(event, ...args), oneWayMs);
      return this.listenerCount(event) > 0;
    }

    override send(data: Parameters<WebSocket["send"]>[0]): void {
      setTimeout(() => super.send(data), oneWayMs);
    }
  }
  return SlowLink;
}
