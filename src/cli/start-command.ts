import { parseFlags } from "./cli-args.js";
import { EXIT, type CliIo } from "./cli-io.js";

/** `volly-signaling start --help`. */
export const START_USAGE = `Usage: volly-signaling [start]

Runs the signaling server, exactly like \`npm start\`: configuration comes from the environment (see the
README's table), signaling on VOLLY_PORT (7880), HTTP API on VOLLY_API_PORT (7881), JSON logs on stdout at
LOG_LEVEL. SIGTERM or SIGINT drains connections and exits 0. Invalid configuration: every problem is printed
on stderr and the process exits with code 78. A start-up failure that is not configuration (a port taken by
another process, a VOLLY_HOST that does not resolve, Redis not answering) is one fatal log line, exit code 1.

Common variables:
  LIVEKIT_API_KEY / LIVEKIT_API_SECRET   signing key pair (default: the dev pair volly-dev-key)
  LIVEKIT_KEYS                           several "key: secret" pairs
  VOLLY_PQ_ENABLED                       post-quantum signaling (default true)
  REDIS_URL                              shared state for several nodes (default: in memory)
  LOG_LEVEL                              fatal, error, warn, info (default), debug, trace, silent

Options:
  -h, --help   show this help
`;

/**
 * `volly-signaling [start]`: loads `src/main.ts`, which starts the server and owns the process from then on.
 * Returns undefined once it runs (the process must not exit), or an exit code for `--help` and bad flags.
 */
export async function runStartCommand(args: readonly string[], io: CliIo): Promise<number | undefined> {
  const values = parseFlags(args, { help: { type: "boolean", short: "h" } });
  if (values.help === true) {
    io.stdout(START_USAGE);
    return EXIT.ok;
  }
  await import("../main.js");
  return undefined;
}
