import { WebSocket } from "ws";

/** What a signal WebSocket's events are handed to. */
export interface SignalSocketEvents {
  frame(data: unknown, isBinary: boolean): void;
  pong(): void;
  socketClosed(): void;
}

/**
 * ws's WebSocket with a slot for whoever handles its events, so that its listeners can be functions
 * shared by every connection (`this` is the socket) instead of closures made per connection: three
 * closures and their scope cost an idle connection about 200 bytes, the slot 8.
 */
export class SignalWebSocket extends WebSocket {
  events: SignalSocketEvents | undefined = undefined;

  /** Hands the socket's events to `events` (once per socket). */
  listen(events: SignalSocketEvents): void {
    this.events = events;
    this.on("message", onMessage);
    this.on("pong", onPong);
    this.on("close", onClose);
    this.on("error", terminate);
  }
}

// ws types a listener's `this` as its own WebSocket; only `listen` adds these, so it is a SignalWebSocket.
function onMessage(this: WebSocket, data: unknown, isBinary: boolean): void {
  (this as SignalWebSocket).events?.frame(data, isBinary);
}

function onPong(this: WebSocket): void {
  (this as SignalWebSocket).events?.pong();
}

function onClose(this: WebSocket): void {
  (this as SignalWebSocket).events?.socketClosed();
}

/** An error ends the connection; its close event follows. */
function terminate(this: WebSocket): void {
  this.terminate();
}
