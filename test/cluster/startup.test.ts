import assert from "node:assert/strict";
import { test } from "node:test";
import { NodeProcess } from "../helpers/node-process.js";
import { freePort } from "../helpers/redis.js";

test("a node whose configured Redis does not answer refuses to start, saying why (no fallback to memory)", async () => {
  const port = await freePort();
  await assert.rejects(
    NodeProcess.start({ REDIS_URL: `redis://:hunter2@127.0.0.1:${port}`, LOG_LEVEL: "info" }, "nostore"),
    (e: Error) => {
      assert.match(e.message, /exited during start-up/);
      assert.match(e.message, new RegExp(`Redis at redis://\\*\\*\\*@127\\.0\\.0\\.1:${port} did not answer`));
      assert.doesNotMatch(e.message, /hunter2/, "the password is never logged");
      return true;
    },
  );
});
