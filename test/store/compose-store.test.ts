import assert from "node:assert/strict";
import { test } from "node:test";
import { composeStore } from "../../src/store/compose-store.js";

class Counter {
  private n = 0;
  bump(): number {
    return ++this.n;
  }
}
class Greeter {
  private n = "greeter";
  hello(): string {
    return `hello from ${this.n}`;
  }
}
class OtherCounter {
  bump(): number {
    return -1;
  }
}

test("composeStore binds each part's methods onto one object, and refuses a name two parts define", () => {
  const store = composeStore([new Counter(), new Greeter()], { close: () => "closed" });
  assert.deepEqual([store.bump(), store.bump(), store.hello(), store.close()], [1, 2, "hello from greeter", "closed"]);
  assert.throws(() => composeStore([new Counter(), new OtherCounter()], {}), /bump is defined by both Counter and OtherCounter/);
  assert.throws(() => composeStore([new Counter()], { bump: () => 0 }), /bump is defined by both base and Counter/);
});
