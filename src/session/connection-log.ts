import type { Logger } from "pino";

type Level = "debug" | "info" | "warn" | "error";

/** The logging a connection does: pino's methods, bound to the connection's fields. */
export type ConnectionLog = Record<Level, (fields: Record<string, unknown>, msg: string) => void>;

/** Where a connection's log fields come from (connection id, room, identity, ...). */
export interface LogBindingsSource {
  logBindings(): Record<string, unknown>;
}

/**
 * A per-connection logger whose pino child (connection id, room, identity) is made only when a line is
 * actually written at an enabled level. Making a child serialises its bindings, a cost every join would
 * otherwise pay, even at LOG_LEVEL=warn where joins log nothing. Methods live on the prototype and the
 * bindings are read from their source when needed: an idle connection pays one small object, not four
 * closures and their scopes.
 */
export function lazyConnectionLog(root: Logger, source: LogBindingsSource): ConnectionLog {
  return new LazyConnectionLog(root, source);
}

class LazyConnectionLog implements ConnectionLog {
  private child: Logger | undefined;

  constructor(private readonly root: Logger, private readonly source: LogBindingsSource) {}

  debug(fields: Record<string, unknown>, msg: string): void {
    this.write("debug", fields, msg);
  }

  info(fields: Record<string, unknown>, msg: string): void {
    this.write("info", fields, msg);
  }

  warn(fields: Record<string, unknown>, msg: string): void {
    this.write("warn", fields, msg);
  }

  error(fields: Record<string, unknown>, msg: string): void {
    this.write("error", fields, msg);
  }

  private write(level: Level, fields: Record<string, unknown>, msg: string): void {
    if (!this.root.isLevelEnabled(level)) return;
    this.child ??= this.root.child(this.source.logBindings());
    this.child[level](fields, msg);
  }
}
