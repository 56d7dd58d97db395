import { readFile } from "node:fs/promises";
import type { ExtraRoute } from "../http/rest-routes.js";
import { packageFile } from "../package-root.js";
import type { NodeServices } from "../session/node-services.js";
import { demoBundles } from "./client-bundle.js";

const PAGE = packageFile("src/demo/page/index.html");

/**
 * The page runs only its own module and talks only to this server (its token route and `/rtc`; CSP 3's 'self'
 * covers ws: on the same host). Inline styles stay: the markup uses a few `style` attributes. Media comes from
 * the page's own capture and peers (`srcObject`), which no source list governs.
 */
const PAGE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * The development demo on the signal port: `/demo/` (the page), `/demo/app.js` (its script with the SDK) and
 * `/demo/volly-client.js` (the SDK alone, an ES module). Off when `VOLLY_DEMO=false`, which is the default under
 * NODE_ENV=production. The page gets its tokens from the dev token endpoint (`dev-token-route.ts`).
 */
export function demoRoutes(svc: NodeServices): ExtraRoute {
  return async (req, res, url) => {
    if (!svc.config.demo) return false;
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    switch (url.pathname) {
      case "/demo":
        res.writeHead(302, { Location: "/demo/" });
        res.end();
        return true;
      case "/demo/":
        res.setHeader("Content-Security-Policy", PAGE_POLICY);
        return send(res, "text/html; charset=utf-8", await readFile(PAGE, "utf8"));
      case "/demo/app.js":
        return send(res, "text/javascript; charset=utf-8", (await demoBundles()).app);
      case "/demo/volly-client.js":
        return send(res, "text/javascript; charset=utf-8", (await demoBundles()).sdk);
      default:
        return false;
    }
  };
}

function send(res: Parameters<ExtraRoute>[1], type: string, body: string): true {
  res.setHeader("Content-Type", type);
  res.setHeader("Cache-Control", "no-cache");
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.writeHead(200);
  res.end(body);
  return true;
}
