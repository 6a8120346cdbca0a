/**
 * Runs clauses across jobs. Every job has its own target instance (its own
 * driver process for an out-of-process implementation), so jobs never share
 * state. A clause's result depends only on the clause, the run seed and the
 * implementation, never on the job that ran it, so the results (handed back
 * in clause order) are the same for any number of jobs.
 *
 * Where the jobs run depends on where the implementation runs. Job 0 is
 * always in this process. When the implementation runs in a process of its
 * own on a virtual clock (a Python driver, a module's child process), the
 * other jobs run in this process too, each with its own target: the
 * implementation's processes already run side by side, and this process
 * only generates, checks and waits, so a worker process would only add its
 * own start-up and a second copy of the code to compile and warm up (about
 * 2-3 s of CPU on a full run against CPython, docs/performance.md). When the
 * implementation runs in this process (the reference, a mutant), jobs
 * 1..N-1 run in worker processes (pool-worker.ts), the only way its runs can
 * use more than one core.
 *
 * Workers are started in their own process group: a Ctrl-C on the terminal
 * reaches only the coordinating process, which then ends the workers (and
 * their drivers) itself and keeps every clause that had finished.
 *
 * A worker kills what its implementation leaves running as job 0 does, and
 * sends the processes it killed; they go into the ledger of the run that
 * made the pool (isolation/processes.ts), so the run names them all. A
 * worker asked to close is waited for (a while) until it has closed its target.
 */
import { ChildProcess, fork } from "node:child_process";
import * as path from "node:path";
import type { Clause } from "../../spec/clauses/clause";
import type { PythonVersion } from "../../implementations/reference";
import { ClauseResult, clauseSeed, runClause, targetClock } from "./runner";
import { Target, TargetOptions, resolveTarget } from "../targets";
import { StartedProcess, addToLedger, currentLedger } from "../targets/isolation/processes";
import type { IsolationEvent } from "../targets/isolation/limits";

/**
 * resolveTarget with the per-case time limit (and the isolation layer's
 * events, e.g. restarts of a crashed driver).
 */
export function openTarget(id: string, opts: TargetOptions, versionHint?: PythonVersion): Promise<Target> {
  return resolveTarget(id, versionHint, opts);
}

export { defaultJobs } from "./defaults";

export interface PoolRun {
  /** The implementation id as requested (each worker resolves it again). */
  impl: string;
  timeoutMs: number;
  runs: number;
  seed: number;
  path?: string;
  jobs: number;
}

export interface PoolEvents {
  /** A clause started on a job. */
  onStart?(index: number): void;
  /** Cases done so far for a clause (generated and shrunk). */
  onCase?(index: number, cases: number): void;
  /** A clause finished (called in completion order). */
  onResult?(index: number, result: ClauseResult): void;
  /** Something went wrong with a worker (the run goes on with the other jobs). */
  onWarning?(message: string): void;
}

export interface PoolOutcome {
  /** Results by clause index; undefined for clauses that did not finish (interrupted). */
  results: Array<ClauseResult | undefined>;
  interrupted: boolean;
  jobs: number;
}

type FromWorker =
  | { type: "ready" }
  | { type: "init-error"; message: string }
  | { type: "case"; index: number; cases: number }
  | { type: "warning"; message: string }
  | { type: "killed"; processes: StartedProcess[] }
  | { type: "result"; index: number; result: ClauseResult };

const WORKER = path.join(__dirname, "pool-worker.js");
/** How long a worker asked to close may take to close its target (a driver gets 1 s after SIGTERM) before the run goes on without it. */
const CLOSE_WAIT_MS = 15_000;

/**
 * Whether a run's jobs other than job 0 run in this process (each with its
 * own target) rather than in worker processes: when the implementation runs
 * in a process of its own on a virtual clock. A real clock keeps workers:
 * its runs go one job at a time by default, and a real-clock run's timing
 * is best left as it has been measured.
 */
export function jobsInThisProcess(t: Target): boolean {
  return t.isolation === "process" && targetClock(t) !== "real";
}

/** The warning a job's isolation event becomes, in this process or in a worker. */
export function isolationWarning(e: IsolationEvent): string {
  return `${e.target}: ${e.kind === "restart" ? `restarted after: ${e.reason}` : `gave up: ${e.reason}`}`;
}

export class ClausePool {
  private next = 0;
  private interrupted = false;
  private readonly abort = new AbortController();
  private readonly workers = new Set<ChildProcess>();
  /** The targets of the jobs run in this process other than job 0 (sameProcessJob). */
  private readonly ownTargets = new Set<Target>();
  private readonly results: Array<ClauseResult | undefined>;
  private finishInterrupt: (() => void) | null = null;
  /** The ledger of the run that made the pool, where the workers' killed processes go. */
  private readonly ledger = currentLedger();

  /** `local` is job 0's target, already resolved (and closed by the caller). */
  constructor(
    private readonly clauses: readonly Clause[],
    private readonly local: Target,
    private readonly run: PoolRun,
    private readonly events: PoolEvents = {},
  ) {
    this.results = new Array(clauses.length).fill(undefined);
  }

  private take(): number | null {
    if (this.interrupted || this.next >= this.clauses.length) return null;
    return this.next++;
  }

  private record(index: number, result: ClauseResult): void {
    if (this.interrupted) return;
    this.results[index] = result;
    this.events.onResult?.(index, result);
  }

  /** Run every clause; resolves when all finished, or at once after interrupt(). */
  async start(): Promise<PoolOutcome> {
    const jobs = Math.max(1, Math.min(this.run.jobs, this.clauses.length));
    const interruptedP = new Promise<void>((resolve) => (this.finishInterrupt = resolve));
    const here = jobsInThisProcess(this.local);
    const all = Promise.all([this.localJob(), ...Array.from({ length: jobs - 1 }, () => (here ? this.sameProcessJob() : this.workerJob()))]);
    await Promise.race([all, interruptedP]);
    this.stopWorkers();
    // Interrupted: the targets of the jobs in this process are closed here (their drivers killed), not by their jobs.
    await Promise.all([...this.ownTargets].map((t) => Promise.resolve().then(() => t.close()).catch(() => {})));
    return { results: [...this.results], interrupted: this.interrupted, jobs };
  }

  /** Stop: finished clauses are kept, running ones are dropped, workers are ended. */
  interrupt(): void {
    if (this.interrupted) return;
    this.interrupted = true;
    this.abort.abort();
    this.stopWorkers();
    this.finishInterrupt?.();
  }

  private async localJob(): Promise<void> {
    await this.runJob(this.local);
  }

  /** Take clauses one after another and run them on `target`, in this process. */
  private async runJob(target: Target): Promise<void> {
    for (let i = this.take(); i !== null; i = this.take()) {
      const index = i;
      this.events.onStart?.(index);
      const result = await runClause(this.clauses[index], target, {
        runs: this.run.runs,
        seed: this.run.seed,
        path: this.run.path,
        signal: this.abort.signal,
        onCase: (n) => this.events.onCase?.(index, n),
      });
      this.record(index, result);
    }
  }

  /** A job in this process with a target of its own (jobsInThisProcess), closed when the job ends. */
  private async sameProcessJob(): Promise<void> {
    if (this.interrupted || this.next >= this.clauses.length) return;
    let target: Target;
    try {
      target = await openTarget(this.run.impl, {
        timeoutMs: this.run.timeoutMs,
        onEvent: (e: IsolationEvent) => this.events.onWarning?.(isolationWarning(e)),
      });
    } catch (e) {
      if (!this.interrupted) this.events.onWarning?.(`a job could not start: ${(e as Error).message}; the other jobs go on`);
      return;
    }
    if (this.interrupted) {
      // Opened after start() closed the others: nobody else will close this one.
      await target.close();
      return;
    }
    this.ownTargets.add(target);
    try {
      await this.runJob(target);
    } finally {
      // After an interrupt start() closes it, without waiting for this job.
      if (!this.interrupted) {
        this.ownTargets.delete(target);
        await target.close();
      }
    }
  }

  private async workerJob(): Promise<void> {
    if (this.interrupted || this.next >= this.clauses.length) return;
    const child = fork(WORKER, [], {
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      serialization: "advanced",
      detached: true,
      env: process.env,
    });
    this.workers.add(child);
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    let waiter: ((m: FromWorker | null) => void) | null = null;
    const inbox: Array<FromWorker | null> = [];
    const deliver = (m: FromWorker | null) => {
      if (waiter) {
        const w = waiter;
        waiter = null;
        w(m);
      } else inbox.push(m);
    };
    let current: number | null = null;
    child.on("message", (m: FromWorker) => {
      if (m.type === "case") {
        if (m.index === current) this.events.onCase?.(m.index, m.cases);
      } else if (m.type === "warning") {
        this.events.onWarning?.(m.message);
      } else if (m.type === "killed") {
        if (this.ledger) addToLedger(this.ledger, m.processes);
      } else deliver(m);
    });
    let exitInfo = "";
    child.on("exit", (code, signal) => {
      exitInfo = signal ? `killed by ${signal}` : `exit code ${code}`;
      this.workers.delete(child);
      deliver(null);
    });
    child.on("error", (e) => {
      exitInfo = e.message;
      deliver(null);
    });
    const receive = () => new Promise<FromWorker | null>((resolve) => (inbox.length ? resolve(inbox.shift()!) : (waiter = resolve)));
    const died = () => `worker process ended (${exitInfo})${stderr.trim() ? `: ${stderr.trim().split("\n").slice(-3).join(" | ")}` : ""}`;

    child.send({ type: "init", impl: this.run.impl, timeoutMs: this.run.timeoutMs });
    const hello = await receive();
    if (hello === null || hello.type !== "ready") {
      if (!this.interrupted) {
        this.events.onWarning?.(`a worker could not start: ${hello && hello.type === "init-error" ? hello.message : died()}; the other jobs go on`);
      }
      this.kill(child);
      return;
    }
    for (let i = this.take(); i !== null; i = this.take()) {
      current = i;
      this.events.onStart?.(i);
      child.send({ type: "run", index: i, id: this.clauses[i].id, runs: this.run.runs, seed: this.run.seed, path: this.run.path });
      const m = await receive();
      if (m === null) {
        if (this.interrupted) return;
        const c = this.clauses[i];
        this.record(i, { id: c.id, level: c.level, status: "error", reason: `harness failure: ${died()}`, runs: 0, checked: 0, seed: clauseSeed(this.run.seed, c.id), elapsedMs: 0 });
        return;
      }
      if (m.type === "result") this.record(m.index, m.result);
    }
    current = null;
    if (!child.connected) return;
    child.send({ type: "close" });
    // It closes its target, sends what that killed, and exits.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([receive(), new Promise((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
  }

  private kill(child: ChildProcess): void {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGKILL"); // the worker's process group: the worker and its drivers
    } catch {
      child.kill("SIGKILL");
    }
  }

  private stopWorkers(): void {
    for (const w of this.workers) {
      if (this.interrupted) this.kill(w);
      else if (w.connected) w.disconnect();
    }
  }
}
