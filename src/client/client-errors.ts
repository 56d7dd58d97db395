import { Code, ConnectError } from "@connectrpc/connect";

/**
 * How the SDK reports failures: always a `ConnectError` whose `code` is the Connect code the server named
 * (`error {code: "not_found"}` → `Code.NotFound`), the code behind a close (4000 + code), or the HTTP status of a
 * refused upgrade (401 → `Code.Unauthenticated`).
 */

/** The Connect code for its wire name (`"permission_denied"` → `Code.PermissionDenied`); unknown names are `Code.Unknown`. */
export function codeFromName(name: string): Code {
  for (const value of Object.values(Code)) {
    if (typeof value === "number" && codeNameOf(value) === name) return value;
  }
  return Code.Unknown;
}

/** The wire name of a Connect code (`Code.PermissionDenied` → `"permission_denied"`). */
export function codeNameOf(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** An error the SDK raises itself for an argument or option it cannot use. */
export function invalidArgument(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

/** An option's refusal: `<name> must be <what>, not <the value as given>` (NaN as NaN, a string quoted). */
export function badOption(name: string, what: string, value: unknown): ConnectError {
  return invalidArgument(`${name} must be ${what}, not ${shown(value)}`);
}

/** A value as the caller wrote it, short; any value at all (a BigInt or a circular object must not throw here). */
function shown(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "bigint") return `${value}n`;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // A circular structure, or a BigInt inside: named by its kind.
  }
  text ??= typeof value === "object" && value !== null ? `${value.constructor?.name ?? "Object"} {…}` : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Where a server error's catalogue id travels on the `ConnectError` (its metadata). */
const REASON = "volly-error-reason";

/** The error a server `error {code, message, reason}` stands for; `reason` is kept (see `errorReasonOf`). */
export function errorFromResponse(error: { code: string; message: string; reason?: string }): ConnectError {
  return new ConnectError(error.message, codeFromName(error.code), error.reason ? { [REASON]: error.reason } : undefined);
}

/**
 * The server's catalogue id for an error it answered (docs/errors.md: `rate_limited`, `store_timeout`, ...), or
 * undefined for an error the SDK made itself or a server too old to send one.
 */
export function errorReasonOf(e: unknown): string | undefined {
  return e instanceof ConnectError ? (e.metadata.get(REASON) ?? undefined) : undefined;
}

/** The error a WebSocket close stands for: 4000 + Connect code for fatal errors, `Unavailable` otherwise. */
export function errorFromClose(code: number, reason: string): ConnectError {
  if (code > 4000 && code <= 4016) return new ConnectError(reason || "connection closed", code - 4000);
  return new ConnectError(reason || `connection closed (${code})`, Code.Unavailable);
}

/** The error for a refused upgrade, from the HTTP status and plain-text reason (`/rtc/validate`). */
export function errorFromHttpStatus(status: number, body: string): ConnectError {
  const byStatus: Record<number, Code> = {
    400: Code.InvalidArgument, 401: Code.Unauthenticated, 403: Code.PermissionDenied, 404: Code.NotFound,
    409: Code.AlreadyExists, 429: Code.ResourceExhausted, 499: Code.Canceled, 501: Code.Unimplemented,
    503: Code.Unavailable, 504: Code.DeadlineExceeded,
  };
  return new ConnectError(body.trim() || `HTTP ${status}`, byStatus[status] ?? Code.Unknown);
}
