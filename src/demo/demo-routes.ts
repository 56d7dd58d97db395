import { readFile } from "node:fs/promises";
import type { ExtraRoute } from "../http/rest-routes.js";
import { packageFile } from "../package-root.js";
import type { NodeServices } from "../session/node-services.js";
import { demoBundles } from "./client-bundle.js";

const PAGE = packageFile("src/demo/page/index.html");

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
  res.writeHead(200);
  res.end(body);
  return true;
}
