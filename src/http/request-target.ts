/**
 * The URL of a request target, read as a server must (RFC 9112 §3.2), or undefined when it is none. An
 * origin-form target is a path: `//x` is the path `//x`, where `new URL("//x", base)` would read a host `x`, and
 * `//` alone throws, which on the upgrade path ended the process. An absolute-form target (`http://host/path`,
 * what a proxy may send) keeps its path and query; anything else (`*`, a bare word) is undefined.
 */
export function requestTarget(raw: string | undefined): URL | undefined {
  const target = raw ?? "/";
  try {
    if (target.startsWith("/")) return new URL(`http://localhost${target}`);
    const url = new URL(target);
    return url.protocol === "http:" || url.protocol === "https:" || url.protocol === "ws:" || url.protocol === "wss:" ? url : undefined;
  } catch {
    return undefined;
  }
}
