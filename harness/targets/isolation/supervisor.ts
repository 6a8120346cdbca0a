/**
 * Supervision of an implementation that runs out of the harness's reach (a
 * child process, an "engine"): cases run one at a time (or, for an engine
 * that pipelines, several in flight, which it works on in order),
 * each under the time limit; an engine that dies (crash, exit, timeout,
 * protocol violation) is replaced for the next case, a bounded number of
 * times; past the bound, or when a replacement cannot start, every further
 * case fails at once with the reason.
 *
 * Every failure reaches the caller as a rejected run() with a TargetFailure
 * ("timeout" or "error", and a one-line reason), never as a hang or a crash
 * of the harness.
 */
import type { Scenario } from "../../../spec/scenario/types";
import type { Trace } from "../../../spec/scenario/trace";
import type { PythonVersion } from "../../../implementations/reference/profile";
import { TargetFailure } from "../errors";
import { IsolationEvent, IsolationLimits, IsolationStats, oneLine } from "./limits";

export interface EngineInfo {
  version: PythonVersion;
  description: string;
  unsupported: readonly string[];
  /** The implementation's own id (worker engines). */
  implId?: string;
  /** The module exported a factory (worker engines). */
  factory?: boolean;
  /** Drivers: "virtual" or "real" clock, the length of a tick in real time, and the full version ("3.11.7"), from the hello. */
  clock?: "virtual" | "real";
  tickMs?: number;
  fullVersion?: string;
  /** Drivers: "nondeterministic" when a collection's outcome depends on the process's history (PyPy; the hello's gc). */
  gc?: "deterministic" | "nondeterministic";
  /** Which Task runs the scenarios: "C" (CPython's default) or "py" (the pure-Python Task: +pytask, PyPy). */
  task?: "C" | "py";
  /** How many cases the engine takes in flight (drivers that pipeline); one when absent. */
  pipeline?: number;
}

/** One child process running an implementation. */
export interface Engine {
  /** Resolves once the engine takes cases; rejects with a one-line reason when it cannot start. */
  readonly ready: Promise<EngineInfo>;
  /**
   * Run one case; rejects with a TargetFailure. Called only once ready, with
   * up to `pipeline` cases at a time (one when EngineInfo has none). A case
   * the engine never started because the one before it killed it rejects
   * with an error whose `notStarted` is true: it is run again on the replacement.
   */
  run(scenario: Scenario, timeoutMs: number): Promise<Trace>;
  /** Why the engine can serve no more cases, or null while it can. */
  readonly dead: string | null;
  /** Called once, when the engine dies by itself or is killed after a failure (not after close()). */
  onDeath(cb: (reason: string) => void): void;
  /** Stop it; resolves once the thread / process is gone. Never rejects. */
  close(): Promise<void>;
}

export class Supervisor {
  private engine: Engine | null = null;
  private engineReady: Promise<EngineInfo> | null = null;
  private info: EngineInfo | null = null;
  /** Cases waiting for a place in the engine, in order; `running` of them have one. */
  private waiting: Array<(() => void) & { reject: (e: Error) => void }> = [];
  private running = 0;
  private closed = false;
  private readonly engines = new Set<Engine>();
  /** stats.restarts when the restart budget was last reset (resetRestarts). */
  private budgetBase = 0;
  readonly stats: IsolationStats;

  constructor(
    /** The target's id (for messages and events). */
    readonly id: string,
    /** What runs there: a TypeScript module (in a child process of its own) or a driver (a program speaking the driver protocol). */
    private readonly kind: "module" | "driver",
    private readonly make: () => Engine,
    private readonly limits: IsolationLimits,
    private readonly onEvent?: (e: IsolationEvent) => void,
  ) {
    this.stats = { isolation: "process", cases: 0, timeouts: 0, errors: 0, restarts: 0, gaveUp: null };
  }

  private get what(): string {
    return this.kind === "module" ? "child process" : "driver process";
  }

  /** Start the first engine. Rejects (with a plain Error, one line) when it cannot start. */
  async start(): Promise<EngineInfo> {
    this.spawn();
    try {
      this.info = await this.engineReady!;
      return this.info;
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  private spawn(): void {
    let engine: Engine;
    try {
      engine = this.make();
    } catch (e) {
      this.engine = null;
      this.engineReady = Promise.reject(new Error(oneLine((e as Error).message ?? String(e))));
      this.engineReady.catch(() => {});
      return;
    }
    this.engine = engine;
    this.engines.add(engine);
    engine.onDeath((reason) => this.died(engine, reason));
    const ms = this.limits.startTimeoutMs;
    this.engineReady = new Promise<EngineInfo>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(this.kind === "module"
          ? `the module did not finish loading within ${ms} ms`
          : `the driver did not introduce itself within ${ms} ms`));
        void engine.close();
      }, ms);
      engine.ready.then(
        (info) => {
          clearTimeout(timer);
          if (this.info !== null && info.version !== this.info.version) {
            reject(new Error(`the replacement ${this.what} claims Python ${info.version}, the first one claimed ${this.info.version}`));
            void engine.close();
          } else resolve(info);
        },
        (e) => {
          clearTimeout(timer);
          // "refused": the module was refused as it loaded (a usage error, not a misbehaviour).
          reject(Object.assign(new Error(oneLine((e as Error)?.message ?? String(e))), { refused: (e as { refused?: boolean })?.refused === true }));
        },
      );
    });
    this.engineReady.catch(() => {});
  }

  /** An engine died: replace it (eagerly, so the next case does not wait), within the bound. */
  private died(engine: Engine, reason: string): void {
    void engine.close().then(() => this.engines.delete(engine));
    if (engine !== this.engine || this.closed || this.info === null) return;
    if (this.inEngine === 0) this.idleFault = reason;
    const used = this.stats.restarts - this.budgetBase;
    if (used >= this.limits.maxRestarts) {
      this.engine = null;
      this.giveUp(
        `${this.id} was given up after ${used} restart(s) of its ${this.what} (the limit is ${this.limits.maxRestarts}${this.resets > 0 ? " per clause" : ""}); the last failure: ${reason}`,
      );
      return;
    }
    this.stats.restarts++;
    this.onEvent?.({ kind: "restart", target: this.id, reason, restarts: this.stats.restarts });
    this.spawn();
  }

  private resets = 0;
  /** Cases running on the engine (a death while none is, is a fault between cases). */
  private inEngine = 0;
  /** Why the last engine died between cases; the next case fails with it, so no misbehaviour goes unreported. */
  private idleFault: string | null = null;

  /**
   * A fresh restart budget (the clause runner calls it at the start of each
   * clause): maxRestarts counts the restarts since the last call, and a
   * target given up on gets a new engine, so that an implementation given up
   * on in one clause still runs the next. stats.restarts keeps counting.
   */
  resetRestarts(): void {
    this.resets++;
    this.budgetBase = this.stats.restarts;
    if (this.stats.gaveUp === null || this.closed || this.info === null) return;
    this.stats.gaveUp = null;
    const old = this.engine;
    if (old !== null) void old.close().then(() => this.engines.delete(old));
    this.spawn();
  }

  private giveUp(reason: string): void {
    if (this.stats.gaveUp !== null) return;
    this.stats.gaveUp = oneLine(reason, 600);
    this.onEvent?.({ kind: "gave-up", target: this.id, reason: this.stats.gaveUp, restarts: this.stats.restarts });
  }

  /** Run one case (queued behind the cases already submitted; up to the engine's `pipeline` of them run at once). */
  run(scenario: Scenario): Promise<Trace> {
    const epoch = this.epoch;
    return new Promise<Trace>((resolve, reject) => {
      const start = () => {
        this.running++;
        let failed = false;
        this.runOne(scenario, epoch)
          .then(resolve, (e) => {
            failed = true;
            reject(e);
          })
          .finally(() => {
            this.running--;
            // After a failure, the next case starts once the caller has heard of it (and may have abandoned it).
            if (failed) setImmediate(() => this.admit());
            else this.admit();
          });
      };
      this.waiting.push(Object.assign(start, { reject }));
      this.admit();
    });
  }

  /** Incremented by abandon(): a case submitted before it is not sent again to a replacement. */
  private epoch = 0;

  /**
   * Give up the cases submitted so far that have not run (the clause runner,
   * which submits a clause's next cases ahead, calls it when a case failed
   * and their outcomes no longer matter): those still waiting for a place
   * reject at once, and those in the engine behind a case that kills it are
   * not run again on the replacement. Without it, a driver that hangs on
   * every case would time out once per case submitted ahead.
   */
  abandon(): void {
    this.epoch++;
    const dropped = this.waiting.splice(0);
    for (const w of dropped) w.reject(new TargetFailure("error", "not run: abandoned after an earlier case failed"));
  }

  /** Start waiting cases while the engine has room for them. */
  private admit(): void {
    const room = Math.max(1, this.info?.pipeline ?? 1);
    while (this.running < room && this.waiting.length > 0) this.waiting.shift()!();
  }

  private async runOne(scenario: Scenario, epoch: number): Promise<Trace> {
    for (let again = false; ; again = true) {
      try {
        return await this.attempt(scenario, again);
      } catch (e) {
        // Behind a case that killed the engine: run it again, on the replacement (unless abandoned).
        if ((e as { notStarted?: boolean }).notStarted === true) {
          // Once the caller has heard of the failure that killed the engine (and may have abandoned this case).
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (epoch !== this.epoch) throw new TargetFailure("error", "not run: abandoned after an earlier case failed");
          continue;
        }
        throw e;
      }
    }
  }

  private async attempt(scenario: Scenario, again: boolean): Promise<Trace> {
    let engine: Engine;
    for (;;) {
      if (this.closed) throw new TargetFailure("error", `${this.id} was closed`);
      if (this.stats.gaveUp !== null) throw new TargetFailure("error", this.stats.gaveUp);
      engine = this.engine!;
      try {
        await this.engineReady;
      } catch (e) {
        if (this.closed) continue;
        this.giveUp(`a replacement ${this.what} for ${this.id} could not start: ${(e as Error).message}`);
        continue;
      }
      // It may have died idle (a stray timer, an exit between cases): its replacement is already on the way.
      if (engine.dead === null) break;
      if (this.engine === engine) this.died(engine, engine.dead);
    }
    if (!again) this.stats.cases++;
    if (this.idleFault !== null) {
      const why = this.idleFault;
      this.idleFault = null;
      this.stats.errors++;
      throw new TargetFailure("error", oneLine(`between cases, ${why}`));
    }
    this.inEngine++;
    let counted = true;
    try {
      const trace = await engine.run(scenario, this.limits.timeoutMs);
      this.inEngine--;
      counted = false;
      // It died right after answering (answered twice, say) and no case still in it took
      // the blame: the case stands, the next one hears why.
      if (engine.dead !== null && this.inEngine === 0 && this.idleFault === null && !this.closed) this.idleFault = engine.dead;
      return trace;
    } catch (e) {
      if ((e as { notStarted?: boolean }).notStarted === true) throw e;
      const f = e instanceof TargetFailure ? e : new TargetFailure("error", oneLine((e as Error)?.message ?? String(e)));
      if (f.verdict === "timeout") this.stats.timeouts++;
      else this.stats.errors++;
      throw f;
    } finally {
      if (counted) this.inEngine--;
    }
  }

  /**
   * Replace the engine with a fresh one, so the next cases run in a process
   * that ran nothing before them (the clause runner does it at the start of
   * each clause on a nondeterministic collector, whose outcome depends on
   * what the process ran before). Not a restart: the budget is untouched.
   */
  async renew(): Promise<void> {
    if (this.closed || this.stats.gaveUp !== null || this.engine === null) return;
    const old = this.engine;
    this.spawn();
    void old.close().then(() => this.engines.delete(old));
    await this.engineReady!.catch(() => {}); // a fresh engine that cannot start fails the next case, as a replacement would
  }

  /** Stop the engine (and any replacement on its way); resolves once they are gone. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.engines].map((e) => e.close()));
    this.engines.clear();
  }
}
