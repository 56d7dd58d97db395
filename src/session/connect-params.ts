import { bearerToken } from "../auth/bearer-token.js";
import { errors } from "../errors.js";
import type { WireFormat } from "../protocol/signal-codec.js";

/** What a client asks for when it connects, from the `/rtc` query string or gRPC metadata. */
export interface ConnectParams {
  readonly token: string | undefined;
  /** The format the server uses when it speaks first (WebSocket only). */
  readonly format: WireFormat | undefined;
  readonly reconnect: boolean;
  /** Participant sid to resume (with `reconnect`). */
  readonly sid: string | undefined;
  /** The last message id the client processed, when resuming. */
  readonly lastMessageId: bigint | undefined;
  /** Where the client put these, so that a later error names a parameter as the client sent it. */
  readonly source: ParamSource;
}

const SID = /^PA_[A-Za-z0-9]{1,64}$/;

/**
 * Reads connect parameters. `get` looks a parameter up by its query name (`access_token`, `format`,
 * `reconnect`, `sid`, `last_message_id`); `authorization` is the Authorization header, which wins over
 * `access_token` as in LiveKit. Throws catalogue errors for malformed values.
 */
export function parseConnectParams(
  get: (name: string) => string | undefined,
  authorization: string | undefined,
  source: ParamSource = "query",
): ConnectParams {
  const name = (query: string) => paramName(query, source);
  const bad = (detail: string) => errors.badQuery(detail, source);
  let token = get("access_token") || undefined;
  if (authorization !== undefined && authorization !== "") {
    token = bearerToken(authorization);
  }
  const format = get("format");
  if (format !== undefined && format !== "" && format !== "json" && format !== "flat" && format !== "protobuf") {
    throw bad(`${name("format")} must be json, flat or protobuf`);
  }
  const reconnect = flag(get("reconnect"), () => bad(`${name("reconnect")} must be 1, 0, true or false`));
  const sid = get("sid") || undefined;
  if (sid !== undefined && !SID.test(sid)) throw bad(`${name("sid")} is not a participant sid`);
  const last = get("last_message_id");
  let lastMessageId: bigint | undefined;
  if (last !== undefined && last !== "") {
    if (!/^\d{1,19}$/.test(last)) throw bad(`${name("last_message_id")} must be a whole number`);
    lastMessageId = BigInt(last);
  }
  if (reconnect && sid === undefined) throw bad(`${name("reconnect")} needs ${name("sid")}`);
  return { token, format: wireFormat(format), reconnect, sid, lastMessageId, source };
}

/**
 * `parseConnectParams`'s `get` over a query string. A parameter given twice is refused: which one counts
 * would be a guess, and a proxy or a log in front of the server could guess the other way (a second
 * `access_token` slipped past a check of the first).
 */
export function queryParams(query: URLSearchParams): (name: string) => string | undefined {
  return (name) => {
    const values = query.getAll(name);
    if (values.length > 1) throw errors.badQuery(`${name} is given more than once`);
    return values[0];
  };
}

/**
 * The gRPC/Connect metadata names of the parameters a stream takes (docs/protocol.md), and only those: the
 * token is `authorization` alone (`volly-access_token` would be a second way in, and proxies such as nginx
 * drop names with an underscore), and the format is the RPC protocol's own.
 */
const metadataNames: Readonly<Record<string, string>> = {
  reconnect: "volly-reconnect",
  sid: "volly-sid",
  last_message_id: "volly-last-message-id",
};

/** Where a client put its connect parameters: the `/rtc` query string, or gRPC/Connect metadata. */
export type ParamSource = "query" | "metadata";

/** `parseConnectParams`'s `get` over gRPC/Connect metadata (`header` reads one by its name). */
export function metadataParams(header: (name: string) => string | null): (name: string) => string | undefined {
  return (name) => {
    const key = metadataNames[name];
    return key === undefined ? undefined : (header(key) ?? undefined);
  };
}

/** `query`'s name as the client spelled it in `source`, so an error names what the client actually sent. */
export function paramName(query: string, source: ParamSource): string {
  return source === "query" ? query : (metadataNames[query] ?? query);
}

/** The literal, not the query's string: a connection keeps its format for its whole life. */
function wireFormat(format: string | undefined): WireFormat | undefined {
  if (format === "json") return "json";
  if (format === "flat") return "flat";
  return format === "protobuf" ? "protobuf" : undefined;
}

/**
 * A yes/no parameter: LiveKit's `1`/`true` (what its SDKs send) and their opposites. Anything else is
 * refused rather than read as no: `reconnect=yes&sid=...` silently joining as a new participant would drop
 * the participant the client meant to resume.
 */
function flag(v: string | undefined, malformed: () => Error): boolean {
  if (v === undefined || v === "" || v === "0" || v === "false") return false;
  if (v === "1" || v === "true") return true;
  throw malformed();
}
