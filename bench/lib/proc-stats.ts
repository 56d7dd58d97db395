import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux (getconf CLK_TCK), fixed at 100 on x86_64.

/** CPU time (user + system) of a process, in microseconds, from /proc/<pid>/stat. */
export function cpuMicros(pid: number): number {
  const { user, system } = cpuSplitMicros(pid);
  return user + system;
}

/** A process's CPU time in user space and in the kernel, in microseconds, from /proc/<pid>/stat. */
export function cpuSplitMicros(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Field 2 (comm) may contain spaces; everything after the last ')' is space separated from field 3 on.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: (Number(fields[11]) * 1_000_000) / TICKS_PER_SECOND, system: (Number(fields[12]) * 1_000_000) / TICKS_PER_SECOND };
}

/** Resident set size of a process in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** Write system calls a process has made (`syscw` in /proc/<pid>/io): how well its writes are batched. */
export function writeSyscalls(pid: number): number {
  const m = /syscw: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, "utf8"));
  return m ? Number(m[1]) : 0;
}
