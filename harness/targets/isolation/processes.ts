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
 * would keep the harness waiting). Every child (a module's, a driver) also
 * gets a token in its environment, which what it starts inherits: a daemon
 * that left the group, was re-parented and closed its inherited pipes is
 * still found by it, unless it also cleared its environment. Such a process
 * cannot be told apart from any other process of the user: it is abandoned,
 * and harms nothing of the run.
 *
 * What was killed besides the child itself is written down in the ledger of
 * the run that started it (withProcessLedger), so that the run can say which
 * processes it ended and which, if any, were still alive after it. A pool
 * worker keeps a ledger of its own and sends it to the run (addToLedger).
 */
import * as fs from "node:fs";
import { AsyncLocalStorage } from "node:async_hooks";

/** The environment variable holding a child's token (child-engine.ts, driver.ts). */
export const TOKEN_VARIABLE = "AIOSPEC_CHILD_TOKEN";

const LINUX = process.platform === "linux";

interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** Clock ticks since boot when it started: with the pid, who it is (pids are reused). */
  start: string;
}

function readStat(pid: number): ProcStat | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid pgrp session ... starttime (field 22) ...": comm may hold spaces and parentheses.
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { pid, state: f[0], ppid: Number(f[1]), pgrp: Number(f[2]), session: Number(f[3]), start: f[19] };
  } catch {
    return null;
  }
}

/** A process aiospec killed because an implementation had started it. */
export interface StartedProcess {
  pid: number;
  /** Its start time (ticks since boot), to tell it from a later process with the same pid. */
  start: string;
  /** Its command line, shortened. */
  command: string;
}

const ledgers = new AsyncLocalStorage<StartedProcess[]>();

/**
 * The ledger of the runs going on outside any AsyncLocalStorage context,
 * and how many they are. A command line runs one run in its process (a pool
 * worker several at a time, all with the same ledger): it needs no async
 * context, which costs every promise the process makes from then on a hook
 * (some 80 ns a promise; a run makes half a million). Only a run with
 * another ledger, started while one is going on, or within a run's async
 * context, gets its own.
 */
let soloLedger: StartedProcess[] | undefined;
let soloRuns = 0;

/**
 * Runs `fn` with a ledger of its own: every process killProcessTree kills on
 * its behalf (its children's leftovers, not the children themselves) is
 * added to `ledger`. Child processes started within `fn` keep the ledger in
 * their exit handlers and timers (async context), so concurrent runs in one
 * process keep apart. While only runs with the same ledger go on (the usual
 * case: one run in a process) and none of them in another's async context,
 * the ledger is the process's (currentLedger) until the last one ends, and
 * no async context is made.
 */
export function withProcessLedger<T>(ledger: StartedProcess[], fn: () => Promise<T>): Promise<T> {
  if (ledgers.getStore() !== undefined || (soloRuns > 0 && soloLedger !== ledger)) return ledgers.run(ledger, fn);
  soloLedger = ledger;
  soloRuns++;
  const done = () => {
    if (--soloRuns === 0) soloLedger = undefined;
  };
  let running: Promise<T>;
  try {
    running = fn();
  } catch (e) {
    done();
    throw e;
  }
  return running.finally(done);
}

/** The ledger of the run this code runs for (withProcessLedger), if any. */
export function currentLedger(): StartedProcess[] | undefined {
  return ledgers.getStore() ?? soloLedger;
}

/**
 * Adds to `ledger` processes killed on the run's behalf elsewhere (by a pool
 * worker process, which keeps a ledger of its own and sends it over), each once.
 */
export function addToLedger(ledger: StartedProcess[], processes: readonly StartedProcess[]): void {
  for (const p of processes) if (!ledger.some((q) => q.pid === p.pid && q.start === p.start)) ledger.push(p);
}

function commandOf(pid: number): string {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
    return argv.length > 80 ? argv.slice(0, 79) + "…" : argv;
  } catch {
    return "?";
  }
}

/** Is this the process that was recorded, still running (not gone, not a zombie, its pid not reused)? */
function stillRunning(p: StartedProcess): boolean {
  const s = readStat(p.pid);
  return s !== null && s.state !== "Z" && s.start === p.start;
}

/**
 * After the run: which of the processes in `ledger` are gone, and which are
 * still running (they escaped the kill). A SIGKILL takes effect at once for
 * any process that can be killed; `graceMs` covers the kernel's delay.
 */
export async function settleProcesses(ledger: readonly StartedProcess[], graceMs = 1000): Promise<{ ended: StartedProcess[]; alive: StartedProcess[] }> {
  const end = Date.now() + graceMs;
  let alive = ledger.filter(stillRunning);
  while (alive.length > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    alive = alive.filter(stillRunning);
  }
  return { ended: ledger.filter((p) => !alive.includes(p)), alive };
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
 * members of its process group or session, processes holding one of `pipes`,
 * and processes whose environment holds `token`. Never the harness itself.
 */
export function processTree(pid: number, pipes: readonly string[] = [], token?: string): number[] {
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
  if (pipes.length > 0 || token !== undefined) {
    for (const s of stats) {
      if (found.has(s.pid) || s.pid === process.pid) continue;
      if ((pipes.length > 0 && holdsPipe(s.pid, pipes)) || (token !== undefined && hasToken(s.pid, token))) found.add(s.pid);
    }
  }
  found.delete(process.pid);
  return [...found];
}

function hasToken(pid: number, token: string): boolean {
  try {
    return `\0${fs.readFileSync(`/proc/${pid}/environ`, "utf8")}`.includes(`\0${TOKEN_VARIABLE}=${token}\0`);
  } catch {
    return false;
  }
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
 * Those go into the current run's ledger (withProcessLedger).
 */
export function killProcessTree(pid: number, pipes: readonly string[] = [], token?: string): number {
  if (pid <= 0) return 0;
  const others = processTree(pid, pipes, token).filter((p) => p !== pid);
  const ledger = currentLedger();
  if (ledger) {
    for (const p of others) {
      const s = readStat(p);
      if (s) addToLedger(ledger, [{ pid: p, start: s.start, command: commandOf(p) }]);
    }
  }
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
