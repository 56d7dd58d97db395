import assert from "node:assert/strict";
import { test } from "node:test";
import { TokenVerifier } from "../../src/auth/access-token.js";
import { startTestServer } from "../helpers/test-server.js";
import { DEV_KEY, DEV_SECRET } from "../helpers/werift-sdk.js";

const PROD_SECRET = "a-production-secret-that-is-long-enough-123";

test("development: the demo page, its bundles and the dev token endpoint are served on the signal port", async () => {
  const server = await startTestServer();
  try {
    const page = await fetch(`${server.httpUrl}/demo/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await page.text(), /<script type="module" src="\/demo\/app.js">/);
    const policy = page.headers.get("content-security-policy") ?? "";
    for (const directive of ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) {
      assert.ok(policy.split("; ").includes(directive), `${directive} in ${policy}`);
    }
    assert.equal(page.headers.get("x-content-type-options"), "nosniff");
    assert.equal((await fetch(`${server.httpUrl}/demo`, { redirect: "manual" })).status, 302);
    for (const path of ["/demo/app.js", "/demo/volly-client.js"]) {
      const js = await fetch(`${server.httpUrl}${path}`);
      assert.equal(js.status, 200, path);
      assert.match(js.headers.get("content-type") ?? "", /javascript/);
      assert.equal(js.headers.get("x-content-type-options"), "nosniff", path);
      const code = await js.text();
      assert.ok(code.length > 10_000, `${path} is a real bundle`);
      assert.doesNotMatch(code, /from\s*"node:|require\("node:/, `${path} has no Node imports`);
    }
    assert.equal((await fetch(`${server.apiUrl}/demo/`)).status, 404, "not on the API port");

    const answer = await fetch(`${server.httpUrl}/volly/dev/token?room=demo-room&identity=alice`);
    assert.equal(answer.status, 200);
    const { token } = (await answer.json()) as { token: string };
    const claims = await new TokenVerifier(new Map([[DEV_KEY, DEV_SECRET]])).verify(token);
    assert.deepEqual([claims.identity, claims.video.room, claims.video.roomJoin], ["alice", "demo-room", true]);
    assert.equal((await fetch(`${server.httpUrl}/volly/dev/token?room=demo-room`)).status, 400);
  } finally {
    await server.close();
  }
});

test("the dev token endpoint exists only with the development keys; the demo is off in production", async () => {
  const ownKeys = await startTestServer({ LIVEKIT_KEYS: `prod-key: ${PROD_SECRET}` });
  try {
    assert.equal((await fetch(`${ownKeys.httpUrl}/volly/dev/token?room=r&identity=i`)).status, 404);
    assert.equal((await fetch(`${ownKeys.httpUrl}/demo/`)).status, 200, "the page itself still works with a pasted token");
  } finally {
    await ownKeys.close();
  }
  const production = await startTestServer({ NODE_ENV: "production", LIVEKIT_KEYS: `prod-key: ${PROD_SECRET}` });
  try {
    for (const path of ["/demo/", "/demo/app.js", "/volly/dev/token?room=r&identity=i"]) {
      assert.equal((await fetch(`${production.httpUrl}${path}`)).status, 404, path);
    }
  } finally {
    await production.close();
  }
  const demoOff = await startTestServer({ VOLLY_DEMO: "false" });
  try {
    assert.equal((await fetch(`${demoOff.httpUrl}/demo/`)).status, 404);
  } finally {
    await demoOff.close();
  }
});
