import { after, before } from "node:test";
import { createLogger } from "../../src/logger.js";
import { createBackend, type Backend } from "../../src/store/create-backend.js";
import { deletePrefix, REDIS_URL, requireRedis, uniquePrefix } from "../helpers/redis.js";
import { CommandCounter } from "./contract-fixtures.js";

/** Two nodes' backends on the shared Redis, under a prefix of their own; `one`'s commands are counted. */
export interface TwoBackends {
  readonly prefix: string;
  readonly counter: CommandCounter;
  one: Backend;
  two: Backend;
}

/** Opens the pair before the enclosing suite and closes it, with everything it wrote, after. */
export function useTwoBackends(tag: string): TwoBackends {
  const log = createLogger("silent");
  const pair = { prefix: uniquePrefix(tag), counter: new CommandCounter() } as TwoBackends;
  before(async () => {
    await requireRedis();
    pair.one = await createBackend({ url: REDIS_URL, prefix: pair.prefix }, log, pair.counter);
    pair.two = await createBackend({ url: REDIS_URL, prefix: pair.prefix }, log);
  });
  after(async () => {
    await pair.one?.close();
    await pair.two?.close();
    await deletePrefix(REDIS_URL, pair.prefix);
  });
  return pair;
}
