import { CONTROL_CHARACTERS, MAX_NAME_CHARACTERS, withinCharacters } from "../auth/participant-names.js";
import { generateVollyAccessToken } from "../client/access-token.js";
import { DEV_API_KEY, DEV_API_SECRET } from "../config.js";
import type { ExtraRoute } from "../http/rest-routes.js";
import type { NodeServices } from "../session/node-services.js";

/** Where development tokens are handed out. */
export const DEV_TOKEN_PATH = "/volly/dev/token";

/** The same rule as tokens' identities and room names (participant-names.ts). */
function isName(s: string): boolean {
  return s !== "" && withinCharacters(s, MAX_NAME_CHARACTERS) && !CONTROL_CHARACTERS.test(s);
}

/**
 * `GET /volly/dev/token?room=&identity=[&name=]` → `{"token": "..."}`: a one-hour token signed with the seed's
 * development key, for the demo page. It exists only while the server runs with exactly the development key pair
 * and not under NODE_ENV=production; otherwise the path is a plain 404, like any unknown path.
 */
export function devTokenRoute(svc: NodeServices): ExtraRoute {
  return async (req, res, url) => {
    if (url.pathname !== DEV_TOKEN_PATH || !svc.config.devKeys || svc.config.production) return false;
    if (req.method !== "GET") return reply(res, 405, { error: "method not allowed" });
    const room = url.searchParams.get("room") ?? "";
    const identity = url.searchParams.get("identity") ?? "";
    const name = url.searchParams.get("name") ?? identity;
    if (!isName(room) || !isName(identity) || !isName(name)) {
      return reply(res, 400, { error: "room and identity are required (1-256 characters, no control characters)" });
    }
    const token = await generateVollyAccessToken(DEV_API_KEY, DEV_API_SECRET, { room, identity, name, ttl: 3600 });
    return reply(res, 200, { token });
  };
}

function reply(res: Parameters<ExtraRoute>[1], status: number, body: unknown): true {
  res.setHeader("Content-Type", "application/json");
  res.setHeader("Cache-Control", "no-store");
  res.writeHead(status);
  res.end(JSON.stringify(body));
  return true;
}
