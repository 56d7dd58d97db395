import { WebSocket } from "ws";

/** What a signal WebSocket's events are handed to. */
export interface SignalSocketEvents {
  frame(data: unknown, isBinary: boolean): void;
  pong(): void;
  socketClosed(): void;
}

/**
 * ws's WebSocket, handing its events straight to one handler instead of through listeners. Each listener
 * an idle connection keeps costs it memory for its whole life (per-connection closures, and an `_events`
 * table that grows with every event name), and `emit` finds them by name for every frame. ws emits these
 * events on the socket itself, so intercepting them here is all it takes; other events, and `close` after
 * the handler has it (ws's server tracks its clients through it), go through `emit` as usual.
 */
export class SignalWebSocket extends WebSocket {
  private events: SignalSocketEvents | undefined = undefined;

  /** Hands the socket's events to `events` (once per socket). */
  listen(events: SignalSocketEvents): void {
    this.events = events;
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    const events = this.events;
    if (events !== undefined) {
      switch (event) {
        case "message":
          events.frame(args[0], args[1] === true);
          return true;
        case "pong":
          events.pong();
          return true;
        case "error":
          // An error ends the connection; its close event follows.
          this.terminate();
          return true;
        case "close":
          events.socketClosed();
          break;
      }
    }
    return super.emit(event, ...args);
  }
}
