import type { Socket } from "node:net";
import type WebSocket from "ws";

/**
 * Sends through `ws`, writing all the frames a client sends in one event-loop turn with one system call
 * (cork on the turn's first frame, uncork when the turn is done). Every bench client uses it, so the one
 * generator process, which stands in for many clients, spends its core on messages rather than on a write
 * per frame; what the server receives is the same frames.
 */
export function turnBatchedSender(ws: WebSocket): (frame: Uint8Array | string) => void {
  let socket: Socket | undefined;
  ws.once("upgrade", (res) => {
    socket = res.socket;
  });
  let corked = false;
  return (frame) => {
    if (!corked && socket) {
      corked = true;
      socket.cork();
      setImmediate(() => {
        corked = false;
        socket?.uncork();
      });
    }
    ws.send(frame);
  };
}
