import { pathToFileURL } from "node:url";
import { START_USAGE } from "./cli/start-command.js";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { createLogger, type Logger } from "./logger.js";
import { createDefaultServer } from "./default-server.js";
import { stopWhenNpmGoes } from "./npm-parent.js";

type VollyServer = Awaited<ReturnType<typeof createDefaultServer>>;

/** Exit codes of the server process (docs/operations.md §1). */
const EXIT_START_FAILED = 1;
const EXIT_CONFIG = 78;
const EXIT_USAGE = 2;

/** Process entry: config from the environment, one node, clean shutdown on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const args = ownArguments();
  if (args.length > 0) {
    // `npm start -- --help` must not quietly start a server on the default ports.
    if (args.length === 1 && (args[0] === "-h" || args[0] === "--help")) {
      process.stdout.write(START_USAGE);
      return;
    }
    console.error(`volly-signaling: npm start takes no arguments (got ${JSON.stringify(args.join(" "))}); the commands are "npx volly-signaling --help"`);
    process.exit(EXIT_USAGE);
  }
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      // The logger needs a valid LOG_LEVEL, so configuration problems go to stderr directly.
      console.error(e.message);
      process.exit(EXIT_CONFIG);
    }
    throw e;
  }
  const logger = createLogger(config.logLevel);
  // The server binds nodeId into its own child logger; this process's lines about the node (its start-up
  // failure, its shutdown) carry it too, or an operator filtering a replica's lines by node loses exactly those.
  const nodeLog = logger.child({ nodeId: config.nodeId });
  // The signals are handled from the start: a supervisor may signal as soon as it reads "listening" (or
  // earlier), and Node's default for SIGTERM ends the process at once, without draining or a last line.
  let server: VollyServer | undefined;
  let stopping = false;
  const close = (s: VollyServer) => {
    s.close(10_000).then(
      () => process.exit(0),
      (e: unknown) => {
        nodeLog.error({ err: e }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    nodeLog.info({ signal }, "shutting down");
    if (server !== undefined) close(server);
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  stopWhenNpmGoes(() => stop("npm exited"));
  try {
    const created = await createDefaultServer(config, logger);
    await created.listen();
    server = created;
  } catch (e) {
    reportStartFailure(e, config, nodeLog);
    process.exit(EXIT_START_FAILED);
  }
  // Signalled while starting: stopped now that there is something to drain.
  if (stopping) close(server);
}

/**
 * The arguments given to this file when it is the process's entry (`npm start`, `tsx src/main.ts`); none
 * when the CLI loaded it, as the CLI has read its own arguments.
 */
function ownArguments(): string[] {
  const entry = process.argv[1];
  return entry !== undefined && pathToFileURL(entry).href === import.meta.url ? process.argv.slice(2) : [];
}

/**
 * One fatal line that says what the operator must fix. A port taken by another process, a host that does not
 * resolve or Redis not answering are facts about the machine, not bugs: their stack (source paths of this
 * server and Node's internals) only hides the cause, so it goes to the debug level alone. With LOG_LEVEL=silent
 * the line goes to stderr, so a node never dies without saying why.
 */
function reportStartFailure(e: unknown, config: Config, logger: Logger): void {
  const code = systemErrorCode(e);
  const message = `start-up failed: ${describeStartFailure(e, config)}`;
  logger.debug({ err: e }, "start-up failure details");
  if (logger.isLevelEnabled("fatal")) logger.fatal(code === undefined ? {} : { code }, message);
  else process.stderr.write(`volly-signaling: ${message}\n`);
}

/** The cause in the operator's terms (which variable), followed by Node's own message for the details. */
function describeStartFailure(e: unknown, config: Config): string {
  const cause = e instanceof Error ? e.message : String(e);
  const code = systemErrorCode(e);
  const fields = e instanceof Error ? (e as Error & { port?: unknown; hostname?: unknown }) : undefined;
  const port = typeof fields?.port === "number" ? fields.port : undefined;
  const variable = port === undefined ? "" : port === config.port ? " (VOLLY_PORT)" : port === config.apiPort ? " (VOLLY_API_PORT)" : "";
  const host = JSON.stringify(config.host);
  switch (code) {
    case "EADDRINUSE":
      return `port ${port ?? "?"}${variable} is already in use by another process (${cause})`;
    case "EACCES":
      return `port ${port ?? "?"}${variable} may not be bound by this user (${cause})`;
    case "EADDRNOTAVAIL":
      return `VOLLY_HOST=${host} is not an address of this machine (${cause})`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_FAIL":
      if (fields?.hostname === config.host) return `VOLLY_HOST=${host} does not resolve to an address (${cause})`;
      return cause;
    default:
      return cause;
  }
}

/** The `code` of a Node system error (`EADDRINUSE`, `ENOTFOUND`, ...), if `e` is one. */
function systemErrorCode(e: unknown): string | undefined {
  if (!(e instanceof Error) || !("code" in e)) return undefined;
  return typeof e.code === "string" ? e.code : undefined;
}

void main();
