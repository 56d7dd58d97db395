import type { Logger } from "pino";

type Level = "debug" | "info" | "warn" | "error";

/** The logging a connection does: pino's methods, bound to the connection's fields. */
export type ConnectionLog = Record<Level, (fields: Record<string, unknown>, msg: string) => void>;

/**
 * A per-connection logger whose pino child (connection id, room, identity) is made only when a line is
 * actually written at an enabled level. Making a child serialises its bindings, a cost every join would
 * otherwise pay, even at LOG_LEVEL=warn where joins log nothing.
 */
export function lazyConnectionLog(root: Logger, bindings: () => Record<string, unknown>): ConnectionLog {
  let child: Logger | undefined;
  const at = (level: Level) => (fields: Record<string, unknown>, msg: string) => {
    if (!root.isLevelEnabled(level)) return;
    child ??= root.child(bindings());
    child[level](fields, msg);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
