import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_ROUTES, RouteCache } from "../../src/redis/route-cache.js";

test("a route is learnt, updated in place and forgotten when its recipient is gone", () => {
  const routes = new RouteCache();
  assert.equal(routes.get("r", "a"), undefined);
  routes.learn("r", "a", { sid: "PA_1", nodeId: "n1" });
  const route = routes.get("r", "a");
  assert.deepEqual(route, { room: "r", identity: "a", sid: "PA_1", node: "n1" });
  // A batch holding the route sees the update: it groups and pushes by the object.
  routes.learn("r", "a", { sid: "PA_2", nodeId: "n2" });
  assert.equal(routes.get("r", "a"), route);
  assert.deepEqual([route?.sid, route?.node], ["PA_2", "n2"]);
  assert.equal(routes.get("r", "b"), undefined, "by room and identity");
  assert.equal(routes.get("s", "a"), undefined);
  routes.learn("r", "a", undefined);
  assert.equal(routes.get("r", "a"), undefined);
  assert.equal(routes.routes, 0);
  routes.learn("r", "ghost", undefined);
  assert.equal(routes.routes, 0, "forgetting an unknown route changes nothing");
});

test("the cache holds at most MAX_ROUTES routes and then starts over", () => {
  const routes = new RouteCache();
  for (let i = 0; i < MAX_ROUTES; i++) routes.learn(`room-${i % 100}`, `id-${i}`, { sid: `PA_${i}`, nodeId: "n" });
  assert.equal(routes.routes, MAX_ROUTES);
  routes.learn("room-new", "someone", { sid: "PA_new", nodeId: "n" });
  assert.equal(routes.routes, 1);
  assert.equal(routes.get("room-0", "id-0"), undefined);
  assert.equal(routes.get("room-new", "someone")?.sid, "PA_new");
});
