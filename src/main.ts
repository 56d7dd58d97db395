import { ConfigError, loadConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { createDefaultServer } from "./default-server.js";

/** Process entry: config from the environment, one node, clean shutdown on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      // The logger needs a valid LOG_LEVEL, so configuration problems go to stderr directly.
      console.error(e.message);
      process.exit(78);
    }
    throw e;
  }
  const logger = createLogger(config.logLevel);
  let server;
  try {
    server = await createDefaultServer(config, logger);
    await server.listen();
  } catch (e) {
    logger.fatal({ err: e }, "start-up failed");
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    server.close(10_000).then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ err: e }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

void main();
