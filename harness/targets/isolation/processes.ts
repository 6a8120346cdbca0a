/**
 * Ending an implementation's child process together with everything it
 * started, and reading its memory (Linux /proc; elsewhere only the process
 * group is signalled and memory is not watched).
 *
 * A child runs in its own process group (spawned detached), so one signal to
 * the group reaches what it started with fork/exec. A process that left the
 * group (setsid, setpgid: a daemon, `setsid sleep 45 &`) is found two ways:
 * while the child lives, as its descendant by parent pid; afterwards, because
 * it still holds one of the child's stdout/stderr pipes (which is exactly what
 * would keep the harness waiting). A process that left the group, was
 * re-parented and closed its inherited pipes cannot be told apart from any
 * other process of the user: it is abandoned, and harms nothing of the run.
 */
import * as fs from "node:fs";

const LINUX = process.platform === "linux";

interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  session: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses.
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { pid, ppid: Number(f[1]), pgrp: Number(f[2]), session: Number(f[3]) };
  } catch {
    return null;
  }
}

function allPids(): number[] {
  try {
    return fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number);
  } catch {
    return [];
  }
}

/**
 * The identities of a process's stdout and stderr ("socket:[1234]": Node
 * gives a child socket pairs, not pipes; "pipe:[1234]" otherwise), read once
 * it is started.
 */
export function stdioPipes(pid: number): string[] {
  if (!LINUX) return [];
  const out: string[] = [];
  for (const fd of [1, 2]) {
    try {
      const link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link.startsWith("pipe:") || link.startsWith("socket:")) out.push(link);
    } catch {
      /* gone already */
    }
  }
  return out;
}

/**
 * Processes that belong to the child `pid`: its descendants (by parent pid),
 * members of its process group or session, and processes holding one of
 * `pipes`. Never the harness itself.
 */
export function processTree(pid: number, pipes: readonly string[] = []): number[] {
  if (!LINUX) return [];
  const stats = allPids().map(readStat).filter((s): s is ProcStat => s !== null);
  const found = new Set<number>();
  for (const s of stats) if (s.pgrp === pid || s.session === pid) found.add(s.pid);
  // Descendants: repeat until no new child is found (the table is small).
  let grew = true;
  found.add(pid);
  while (grew) {
    grew = false;
    for (const s of stats) {
      if (!found.has(s.pid) && found.has(s.ppid)) {
        found.add(s.pid);
        grew = true;
      }
    }
  }
  if (pipes.length > 0) {
    for (const s of stats) {
      if (found.has(s.pid) || s.pid === process.pid) continue;
      if (holdsPipe(s.pid, pipes)) found.add(s.pid);
    }
  }
  found.delete(process.pid);
  return [...found];
}

function holdsPipe(pid: number, pipes: readonly string[]): boolean {
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      if (pipes.includes(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))) return true;
    } catch {
      /* closed meanwhile */
    }
  }
  return false;
}

/**
 * SIGKILL the child `pid`, its process group, and the processes processTree
 * finds; returns how many processes other than the child were signalled.
 */
export function killProcessTree(pid: number, pipes: readonly string[] = []): number {
  if (pid <= 0) return 0;
  const others = processTree(pid, pipes).filter((p) => p !== pid);
  const kill = (target: number) => {
    try {
      process.kill(target, "SIGKILL");
    } catch {
      /* gone, or not ours */
    }
  };
  if (process.platform !== "win32") kill(-pid);
  kill(pid);
  for (const p of others) kill(p);
  return others.length;
}

/** Resident memory of a process in bytes, or null when it cannot be read. */
export function residentBytes(pid: number): number | null {
  if (!LINUX) return null;
  try {
    const pages = Number(fs.readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]);
    return Number.isFinite(pages) ? pages * 4096 : null;
  } catch {
    return null;
  }
}
