/** Event names mapped to their listener arguments. */
export type EventMap = { [event: string]: unknown[] };

/** A listener for `E[K]`. */
export type Listener<A extends unknown[]> = (...args: A) => void;

/** What `once` registers: the listener behind it stays reachable for `off`. */
type OnceWrapper<A extends unknown[]> = Listener<A> & { readonly original: Listener<A> };

/**
 * A small typed event emitter (browser-safe: no `node:events`). A throwing listener does not stop the others or
 * the SDK; its error goes to `onListenerError`.
 */
export class TypedEmitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Set<unknown>>();
  // Type-level only (emits nothing): lets generic helpers infer `E` from an emitter.
  declare private readonly eventTypes?: E;

  /** Called with errors thrown by listeners (default: ignored). */
  protected onListenerError: (error: unknown, event: keyof E) => void = () => {};

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Adds a listener called at most once; `off(event, listener)` removes it too. */
  once<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    const wrapper: OnceWrapper<E[K]> = Object.assign((...args: E[K]) => {
      off();
      listener(...args);
    }, { original: listener });
    const off = this.on(event, wrapper);
    return off;
  }

  /** Removes a listener, whether added with `on` or `once` (one registration of it). */
  off<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
    const set = this.listeners.get(event);
    if (set === undefined || set.delete(listener)) return;
    // `once` registers a wrapper, so callers holding only their own function find it through `original`.
    for (const registered of set) {
      if ((registered as Partial<OnceWrapper<E[K]>>).original === listener) {
        set.delete(registered);
        return;
      }
    }
  }

  /** Number of listeners for `event`. */
  listenerCount(event: keyof E): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<E[K]>)(...args);
      } catch (e) {
        this.onListenerError(e, event);
      }
    }
  }
}
