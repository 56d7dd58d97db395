import { VERSION } from "../version.js";
import { UsageError } from "./cli-args.js";
import { EXIT, type CliIo } from "./cli-io.js";
import { START_USAGE, runStartCommand } from "./start-command.js";
import { TOKEN_USAGE, runTokenCommand } from "./token-command.js";

/** `volly-signaling --help`. */
export const MAIN_USAGE = `Usage: volly-signaling [command] [options]

Commands:
  start      run the signaling server (the default when no command is given)
  token      print an access token, optionally with a post-quantum client key pair
  help       show help for a command: volly-signaling help token

Options:
  -h, --help      show this help
  -v, --version   print the version

Run "volly-signaling <command> --help" for a command's options.
`;

const COMMANDS: Readonly<Record<string, { usage: string; run: (args: readonly string[], io: CliIo) => Promise<number | undefined> }>> = {
  start: { usage: START_USAGE, run: runStartCommand },
  token: { usage: TOKEN_USAGE, run: runTokenCommand },
};

/**
 * The `volly-signaling` command line. Returns the exit code, or undefined when the server was started and now
 * owns the process. Usage errors print the message and a pointer to `--help` on stderr and return 2.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number | undefined> {
  const [first, ...rest] = argv;
  if (first === "-h" || first === "--help") {
    io.stdout(MAIN_USAGE);
    return EXIT.ok;
  }
  if (first === "-v" || first === "--version") {
    io.stdout(`${VERSION}\n`);
    return EXIT.ok;
  }
  if (first === "help") {
    const topic = rest[0];
    if (topic === undefined) io.stdout(MAIN_USAGE);
    else {
      const command = commandNamed(topic);
      if (!command) return usageError(`unknown command ${JSON.stringify(topic)}`, "", io);
      io.stdout(command.usage);
    }
    return EXIT.ok;
  }
  // No command, or flags first: start the server (so `volly-signaling` alone behaves like `npm start`).
  const name = first === undefined || first.startsWith("-") ? "start" : first;
  const args = name === first ? rest : argv;
  const command = commandNamed(name);
  if (!command) return usageError(`unknown command ${JSON.stringify(name)}`, "", io);
  try {
    return await command.run(args, io);
  } catch (e) {
    if (e instanceof UsageError) return usageError(e.message, name, io);
    throw e;
  }
}

/** The command called `name`; own keys only, so "constructor" or "__proto__" are unknown commands. */
function commandNamed(name: string): (typeof COMMANDS)[string] | undefined {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
}

/** Prints a usage error and where to find the usage (the command's, or the main one when `command` is ""). */
function usageError(message: string, command: string, io: CliIo): number {
  const help = command === "" ? "volly-signaling --help" : `volly-signaling ${command} --help`;
  io.stderr(`volly-signaling: ${message}\nRun "${help}" for usage.\n`);
  return EXIT.usage;
}
