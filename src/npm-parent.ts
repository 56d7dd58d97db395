import { readFileSync } from "node:fs";

/** How often the parent is looked at: a supervisor that killed npm expects the port free about a second later. */
const CHECK_MS = 250;
/** The shells npm and npx run a command through (npx keeps one between itself and the server). */
const SHELLS = new Set(["sh", "dash", "bash", "zsh"]);

/**
 * Under npm or npx (`npm_command` in the environment), calls `stop` when the process that started the server
 * goes away. `npm start` execs the server in place of its shell, so the parent is npm itself. `npx
 * volly-signaling` keeps a shell between npx and the server, and that shell neither passes signals on nor
 * dies with npx: when npx is killed the shell lives on, re-parented, and the server with it, holding its
 * ports. So when the parent is a shell, its own parent (npx) is watched too, by the shell's parent id in
 * /proc (Linux; elsewhere only the direct parent is watched). A parent id only changes when that parent has
 * exited, so neither check can be fooled by a reused process id.
 */
export function stopWhenNpmGoes(stop: () => void): void {
  if (process.env.npm_command === undefined) return;
  const parent = process.ppid;
  const grandparent = SHELLS.has(procField(parent, "comm") ?? "") ? parentOf(parent) : undefined;
  const timer = setInterval(() => {
    if (process.ppid === parent && (grandparent === undefined || parentOf(parent) === grandparent)) return;
    clearInterval(timer);
    stop();
  }, CHECK_MS);
  timer.unref();
}

/** The parent id of process `pid`, from /proc; undefined when it cannot be read (gone, or no /proc). */
function parentOf(pid: number): number | undefined {
  const stat = procField(pid, "stat");
  // Field 4, after the command name, which is in parentheses and may itself hold spaces or parentheses.
  const fields = stat?.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ppid = Number(fields?.[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

function procField(pid: number, file: "comm" | "stat"): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8").trim();
  } catch {
    return undefined;
  }
}
