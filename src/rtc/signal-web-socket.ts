import { WebSocket } from "ws";

/** What a signal WebSocket's events are handed to. */
export interface SignalSocketEvents {
  frame(data: unknown, isBinary: boolean): void;
  /** A ping from the peer, to be answered (ws's automatic pong is off: see `WsBridge`). */
  ping(data: Buffer): void;
  pong(): void;
  socketClosed(): void;
}

/**
 * ws's WebSocket, handing its events straight to one handler instead of through listeners. Each listener
 * an idle connection keeps costs it memory for its whole life (per-connection closures, and an `_events`
 * table that grows with every event name), and `emit` finds them by name for every frame. ws emits these
 * events on the socket itself, so intercepting them here is all it takes; other events, and `close` after
 * the handler has it, go through `emit` as usual.
 */
export class SignalWebSocket extends WebSocket {
  private events: SignalSocketEvents | undefined = undefined;

  /** Hands the socket's events to `events` (once per socket). */
  listen(events: SignalSocketEvents): void {
    this.events = events;
    // EventEmitter starts every emitter with an empty null-prototype table, which V8 makes a dictionary of
    // about 170 bytes, and nothing else listens on a signal socket. EventEmitter treats an absent table as
    // empty and makes one on the first `on`, so an idle signal socket keeps none.
    const emitter = this as unknown as { _events: object | undefined; _eventsCount: number };
    if (emitter._eventsCount === 0) emitter._events = undefined;
  }

  /**
   * ws's receiver queues the chunks it has not parsed in an array, which keeps the capacity it grew to (16
   * slots, about 140 bytes) once the chunks are parsed, for the connection's life. Setting an empty array's
   * length to 0 gives that back without allocating. Only when empty: the rest of a chunk may still be queued.
   * Called after every frame ws hands over, control frames included.
   */
  private releaseSpareChunks(): void {
    const chunks = (this as unknown as { _receiver: { _buffers?: unknown[] } | null })._receiver?._buffers;
    if (chunks?.length === 0) chunks.length = 0;
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    const events = this.events;
    if (events !== undefined) {
      switch (event) {
        case "message":
          events.frame(args[0], args[1] === true);
          this.releaseSpareChunks();
          return true;
        case "ping":
          events.ping(args[0] as Buffer);
          this.releaseSpareChunks();
          return true;
        case "pong":
          // An idle connection's only frames are keepalives: their chunks grow the queue as a message's do.
          events.pong();
          this.releaseSpareChunks();
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
