import { Code, ConnectError } from "@connectrpc/connect";
import { backoffDelay, type ResolvedReconnectPolicy } from "./reconnect-policy.js";
import { LeaveRefusal, leaveOutcome, type LeaveOutcome } from "./server-leave.js";
import type { EntryKind, SignalConnection } from "./signal-connection.js";

/** What recovery reports. */
export interface ReconnectorHooks {
  reconnecting(reason: string, error: ConnectError | undefined): void;
  reconnected(how: EntryKind): void;
  disconnected(reason: string, error: ConnectError | undefined): void;
}

/** Past the resume window plus this, resuming is pointless; within it the server decides (clocks and sweeps differ). */
const RESUME_GRACE_MS = 2000;

/** Codes that another attempt cannot fix (a bad or expired token, a refused grant). */
const FATAL = new Set([Code.Unauthenticated, Code.PermissionDenied, Code.InvalidArgument, Code.FailedPrecondition]);

/** What a browser (or worker) says of the network; elsewhere none of it exists and the network counts as up. */
interface NetworkGlobals {
  readonly navigator?: { readonly onLine?: unknown };
  addEventListener?(type: "online", listener: () => void): void;
  removeEventListener?(type: "online", listener: () => void): void;
}
const platform = globalThis as unknown as NetworkGlobals;

/** True when the platform knows the network is down (`navigator.onLine === false`). */
function knownOffline(): boolean {
  return platform.navigator?.onLine === false;
}

/**
 * Recovery after a lost connection: resume the same participant (`reconnect=1&sid=...`) with backoff while the
 * server's resume window lasts, else (or when the server answers `leave {RECONNECT}`) join again as a new
 * participant; give up after the policy's attempts or on an error no retry can fix.
 */
export class Reconnector {
  private run = 0;
  /** Set by `stop`: a loss reported while the client is leaving, or after, starts nothing. */
  private stopped = false;
  /** Ends the backoff wait in progress (so a cancelled recovery leaves no timer holding the process). */
  private wake: (() => void) | undefined;

  constructor(
    private readonly connection: SignalConnection,
    private readonly policy: ResolvedReconnectPolicy | false,
    private readonly resumeWindowMs: () => number,
    private readonly hooks: ReconnectorHooks,
  ) {}

  /** Starts recovering from a loss the connection reported. */
  async recover(reason: string, action: LeaveOutcome, error: ConnectError | undefined): Promise<void> {
    if (this.stopped) return;
    const run = ++this.run;
    const policy = this.policy;
    if (action === "disconnect" || policy === false) {
      this.finish(reason, error);
      return;
    }
    // Monotonic, like the server's resume window: a wall-clock step must not end (or stretch) the resume attempts.
    const droppedAt = performance.now();
    let how: EntryKind = action === "resume" && this.connection.sid !== undefined && this.resumeWindowMs() > 0 ? "resume" : "rejoin";
    let lastError = error;
    this.hooks.reconnecting(reason, error);
    let immediate = false;
    for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
      if (!immediate) await this.sleep(backoffDelay(policy, attempt));
      immediate = false;
      if (run !== this.run) return;
      // While the browser knows it is offline an attempt could only fail: wait for the network without
      // spending attempts, or a train ride would use them all up and end the client for good.
      while (knownOffline()) {
        await this.sleep(undefined);
        if (run !== this.run) return;
      }
      if (how === "resume" && performance.now() - droppedAt >= this.resumeWindowMs() + RESUME_GRACE_MS) how = "rejoin";
      try {
        await this.connection.enter(how);
        if (run !== this.run) return;
        this.hooks.reconnected(how);
        return;
      } catch (e) {
        if (run !== this.run) return;
        const err = ConnectError.from(e, Code.Unavailable);
        lastError = err;
        if (e instanceof LeaveRefusal && leaveOutcome(e.leave.action) === "rejoin") {
          // The server said exactly what to do: join again, now.
          how = "rejoin";
          immediate = true;
        }
        else if (FATAL.has(err.code)) break;
      }
    }
    this.finish("reconnect_failed", lastError);
  }

  /**
   * Stops any recovery in progress, and keeps losses from starting one until `start` (the client
   * disconnects: its socket may still drop while its `leave` is on the way).
   */
  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  /** Recovers from losses again (the client connects afresh); drops any recovery in progress. */
  start(): void {
    this.stopped = false;
    this.cancel();
  }

  /** Stops any recovery in progress. */
  cancel(): void {
    this.run++;
    this.wake?.();
  }

  /**
   * Waits `ms` (undefined: until woken), or less: `cancel`, or the network coming back (the `online` event, so the
   * next attempt goes at once rather than after its backoff).
   */
  private sleep(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        platform.removeEventListener?.("online", done);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      platform.addEventListener?.("online", done);
      this.wake = done;
    });
  }

  private finish(reason: string, error: ConnectError | undefined): void {
    this.connection.end(error);
    this.hooks.disconnected(reason, error);
  }
}
