import { badOption } from "./client-errors.js";

/** How the SDK retries after a dropped connection (resume, then a full rejoin if resuming is no longer possible). */
export interface ReconnectPolicy {
  /** Attempts before giving up with `disconnected` (default 10). */
  maxAttempts?: number;
  /** Delay before the first retry, in ms (default 100); each retry multiplies it. */
  initialDelayMs?: number;
  /** Upper bound of the delay, in ms (default 5000). */
  maxDelayMs?: number;
  /** Growth factor per attempt (default 2). */
  multiplier?: number;
  /** Random spread of each delay, 0..1 (default 0.2), so that many clients do not retry in lockstep. */
  jitter?: number;
}

/** A policy with every field set. */
export type ResolvedReconnectPolicy = Required<ReconnectPolicy>;

/** The policy with defaults filled in; a field out of its range throws `InvalidArgument`, naming it. */
export function resolveReconnectPolicy(policy: ReconnectPolicy | undefined): ResolvedReconnectPolicy {
  const resolved = {
    maxAttempts: policy?.maxAttempts ?? 10,
    initialDelayMs: policy?.initialDelayMs ?? 100,
    maxDelayMs: policy?.maxDelayMs ?? 5000,
    multiplier: policy?.multiplier ?? 2,
    jitter: policy?.jitter ?? 0.2,
  };
  checkField("maxAttempts", resolved.maxAttempts, (n) => Number.isSafeInteger(n) && n >= 0, "a whole number, at least 0");
  checkField("initialDelayMs", resolved.initialDelayMs, (n) => Number.isFinite(n) && n >= 0, "milliseconds, at least 0");
  checkField("maxDelayMs", resolved.maxDelayMs, (n) => Number.isFinite(n) && n >= 0, "milliseconds, at least 0");
  checkField("multiplier", resolved.multiplier, (n) => Number.isFinite(n) && n >= 1, "at least 1");
  checkField("jitter", resolved.jitter, (n) => n >= 0 && n <= 1, "from 0 to 1");
  return resolved;
}

// Apps in plain JavaScript (or with values from config files) can pass anything: NaN would make every delay
// NaN, which setTimeout runs at once, and a retry storm follows.
function checkField(name: keyof ReconnectPolicy, value: unknown, ok: (n: number) => boolean, what: string): void {
  if (typeof value === "number" && ok(value)) return;
  throw badOption(`reconnect.${name}`, what, value);
}

/** The delay before attempt `attempt` (1-based): exponential backoff with jitter, capped. */
export function backoffDelay(policy: ResolvedReconnectPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** Math.max(0, attempt - 1));
  const spread = base * policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base + spread));
}
