import { randomBytes } from "node:crypto";

/**
 * A node id is part of Redis key names (`node:<id>`, `node:<id>:participants`), of bus topics and of log
 * lines, so it is kept to characters that need no quoting anywhere and cannot fake a key separator (`:`),
 * a Redis Cluster hash tag (`{`) or a new log line.
 */
export const NODE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Why `id` cannot be a node id, or undefined when it can. */
export function nodeIdProblem(id: string): string | undefined {
  if (NODE_ID_PATTERN.test(id)) return undefined;
  return `VOLLY_NODE_ID=${JSON.stringify(id.slice(0, 100))} must be 1-64 characters from A-Z, a-z, 0-9, "_", "." and "-"`;
}

/**
 * The id a node takes when VOLLY_NODE_ID is unset: `ND_<host name>_<8 hex digits>`. The host name is cut to
 * 24 characters and anything outside the node id alphabet becomes `_` (host names are usually DNS labels,
 * but nothing forces them to be), so the result always satisfies `NODE_ID_PATTERN`.
 */
export function defaultNodeId(hostName: string, random: string = randomBytes(4).toString("hex")): string {
  return `ND_${hostName.slice(0, 24).replace(/[^A-Za-z0-9_.-]/g, "_")}_${random}`;
}
