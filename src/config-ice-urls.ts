/**
 * The URI syntax of STUN (RFC 7064) and TURN (RFC 7065) servers offered to clients in `join`:
 *
 *   stun:host[:port]  stuns:host[:port]  turn:host[:port][?transport=udp|tcp]  turns:host[:port][?transport=udp|tcp]
 *
 * A bad URL here does not fail on the server: it reaches every client, whose `RTCPeerConnection` refuses the
 * whole ICE configuration (or, for `javascript:`-style values, a careless client might do worse), so calls
 * fail far from the cause. Hence the check at start-up. The schemes and the transport are matched in lower
 * case only, as browsers' parsers (libwebrtc's among them) do.
 */
export type IceUrlKind = "STUN" | "TURN";

// host = IP-literal / IPv4address / reg-name (RFC 3986), without the sub-delims: a comma separates list
// entries and none of the others belongs in a host name.
const HOST = String.raw`(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%-]+)`;
const PORT = String.raw`(?::(\d{1,5}))?`;
const PATTERNS: Readonly<Record<IceUrlKind, RegExp>> = {
  STUN: new RegExp(`^stuns?:${HOST}${PORT}$`),
  TURN: new RegExp(`^turns?:${HOST}${PORT}(?:\\?transport=(?:udp|tcp))?$`),
};
const FORMS: Readonly<Record<IceUrlKind, string>> = {
  STUN: "stun:host[:port] or stuns:host[:port] (RFC 7064)",
  TURN: "turn:host[:port][?transport=udp|tcp] or turns:... (RFC 7065)",
};

/** Why `url` is not a `kind` server URL, or undefined when it is one. */
export function iceUrlProblem(url: string, kind: IceUrlKind): string | undefined {
  const m = PATTERNS[kind].exec(url);
  const port = m?.[1];
  if (m && (port === undefined || (Number(port) >= 1 && Number(port) <= 65_535))) return undefined;
  return `${JSON.stringify(url.slice(0, 100))} is not a ${kind} URL: expected ${FORMS[kind]}`;
}
