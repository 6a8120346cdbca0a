/**
 * Implementation ids -> runnable targets.
 *
 *   reference, reference@3.11 | @3.12 | @3.13   the TypeScript reference (plain = newest profile)
 *   reference...+pytask                           the reference modelling the pure-Python Task
 *   mutant:NAME[@3.X]                             a deliberately faulty reference
 *   cpython, cpython-3.X, cpython-3.X.Y           a CPython found here, through the Python driver
 *   pypy-3.X, pyodide-3.12|3.13|3.14, nest_asyncio  PyPy, Pyodide (Node), nest_asyncio's CPython
 *   ...+pytask +uvloop +nest_asyncio +realtime    modifiers (harness/discovery.ts has the grammar)
 *   ./impl.ts, /abs/impl.js, impl.ts[@3.X]        a TypeScript / CommonJS module exporting an implementation
 *   cmd:COMMAND LINE                              any program speaking the driver protocol
 *
 * A target runs scenarios and returns traces; every target says which Python
 * version's behaviour it claims.
 *
 * Isolation (harness/isolation/): implementations under test are buggy by
 * definition. Modules run in worker threads and drivers in child processes,
 * each case under a time limit; whatever goes wrong becomes a rejected run()
 * with a TargetFailure ("timeout" | "error", reason) for that case, the
 * worker or process is replaced for the next one (a bounded number of
 * times), and nothing is left running after close(). The trusted reference
 * and mutants run in-process unless `isolate: true` is asked for.
 * docs/adapters.md describes the ids, the module contract and the protocol.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DriverHello, DriverProcess } from "./driver";
import { UsageError } from "./errors";
import { DRIVER_PATH, InterpreterId, driverArgs, locate, parseInterpreterId } from "./discovery";
import { runScenario } from "./interpreter";
import type { AsyncioImplementation } from "./api";
import type { Scenario } from "../spec/scenario/types";
import type { Trace } from "../spec/scenario/trace";
import { NEWEST, VERSIONS, makeReference, isReferenceVersion } from "../implementations/reference";
import { PYTHON_VERSIONS, isPythonVersion } from "../spec/scenario/versions";
import { FEATURES } from "../spec/scenario/validate";
import type { PythonVersion } from "../implementations/reference";
import { MUTANTS, findMutant } from "../implementations/mutants";
import { IsolationEvent, IsolationLimits, IsolationStats, resolveLimits } from "./isolation/limits";
import { Engine, EngineInfo, Supervisor } from "./isolation/supervisor";
import { WorkerEngine } from "./isolation/worker-engine";
import type { ImplSpec } from "./isolation/load";
import { CommandLineError, splitCommandLine } from "./isolation/cmdline";

export { DEFAULT_LIMITS } from "./isolation/limits";
export type { IsolationEvent, IsolationLimits, IsolationStats } from "./isolation/limits";
export { liveResources } from "./isolation/resources";
export { TargetFailure } from "./runner";
export { UsageError } from "./errors";
export { DRIVER_PATH, findCPython, whichSync } from "./discovery";

export interface Target {
  id: string;
  /** The Python version whose behaviour the target claims ("3.11", ...). */
  version: PythonVersion;
  /** A longer description (interpreter path, Task flavour). */
  description: string;
  /** Scenario features the implementation declares it lacks (clauses needing them are skipped). */
  unsupported?: readonly string[];
  /**
   * "virtual": time is the loop's virtual clock (deterministic); "real": one
   * tick of a scenario is `tickMs` milliseconds of real time (uvloop,
   * +realtime), so a loaded machine can make a run flaky.
   */
  clock: "virtual" | "real";
  /** Real clock: the length of one tick in milliseconds (from the driver's hello). */
  tickMs?: number;
  /** The implementation's full version, for reports: "3.11.7" (the driver's hello), "Pyodide 0.27.8 / 3.12.7". */
  fullVersion?: string;
  /**
   * Which Task it runs, when known: "C" or "py" (the pure-Python Task of
   * +pytask, and PyPy's only one). Clauses that compare with the reference
   * compare with the reference modelling the same Task.
   */
  task?: "C" | "py";
  /** How it runs: in the harness's own thread (trusted code), in a worker thread, or in a child process. */
  isolation?: IsolationStats["isolation"];
  /**
   * Run one scenario. A failure of the implementation (no trace in time, a
   * crash, a malformed trace, ...) rejects with a TargetFailure (runner.ts)
   * whose verdict is "timeout" or "error".
   */
  run(scenario: Scenario): Promise<Trace>;
  /** Stop the target's worker / process; the promise (which never rejects) resolves once it is gone. */
  close(): void | Promise<void>;
  /** Counters of an isolated target: cases, timeouts, errors, restarts, and why it gave up. */
  stats?(): IsolationStats;
  /**
   * A fresh restart budget (isolated targets): the limit on restarts counts
   * from here, and a target that was given up on starts a new worker /
   * driver. The clause runner calls it at the start of every clause, so that
   * an implementation given up on in one clause still runs the others.
   */
  resetRestarts?(): void;
}

/** Options of resolveTarget / resolvePair. Every limit defaults to DEFAULT_LIMITS. */
export interface TargetOptions extends Partial<IsolationLimits> {
  /** Run the reference or a mutant in a worker thread too (modules and cmd: drivers are always isolated). */
  isolate?: boolean;
  /** Told about restarts and about a target giving up (e.g. to print a warning). */
  onEvent?: (e: IsolationEvent) => void;
}

/** A target for an in-process TypeScript implementation. */
export function tsTarget(impl: AsyncioImplementation, version: PythonVersion, description: string): Target {
  return {
    id: impl.id,
    version,
    description,
    unsupported: impl.unsupported ?? [],
    clock: "virtual",
    isolation: "in-process",
    run: async (s) => runScenario(impl, s),
    close: () => {},
  };
}

/** The @3.X of a reference or mutant id: a version the reference models. */
function parseVersionSuffix(id: string, rest: string): PythonVersion | undefined {
  if (rest === "") return undefined;
  const v = rest.slice(1);
  if (!rest.startsWith("@") || !isReferenceVersion(v)) {
    throw new UsageError(`unknown implementation "${id}": versions are ${VERSIONS.map((x) => "@" + x).join(", ")}`);
  }
  return v;
}

function limitsFrom(id: string, options: TargetOptions): IsolationLimits {
  try {
    return resolveLimits(options);
  } catch (e) {
    throw new UsageError(`implementation "${id}": ${(e as Error).message}`);
  }
}

/** A target whose implementation runs out of the harness's reach, supervised. */
async function supervisedTarget(
  id: string,
  kind: "worker" | "process",
  make: () => Engine,
  options: TargetOptions,
  failure: (reason: string) => string,
  finish: (info: EngineInfo) => { id: string; description: string } = (info) => ({ id, description: info.description }),
): Promise<Target> {
  const limits = limitsFrom(id, options);
  const sup = new Supervisor(id, kind, make, limits, options.onEvent);
  let info: EngineInfo;
  try {
    info = await sup.start();
  } catch (e) {
    throw new UsageError(failure((e as Error).message));
  }
  const named = finish(info);
  (sup as { id: string }).id = named.id;
  return {
    id: named.id,
    version: info.version,
    description: named.description,
    unsupported: info.unsupported,
    clock: info.clock ?? "virtual",
    ...(info.tickMs !== undefined ? { tickMs: info.tickMs } : {}),
    ...(info.fullVersion ? { fullVersion: info.fullVersion } : {}),
    ...(info.task ? { task: info.task } : {}),
    isolation: kind,
    run: (s) => sup.run(s),
    close: () => sup.close(),
    stats: () => ({ ...sup.stats }),
    resetRestarts: () => sup.resetRestarts(),
  };
}

function workerTarget(id: string, spec: ImplSpec, options: TargetOptions, failure: (reason: string) => string, finish?: (info: EngineInfo) => { id: string; description: string }): Promise<Target> {
  const limits = limitsFrom(id, options);
  return supervisedTarget(id, "worker", () => new WorkerEngine(spec, limits, id), options, failure, finish);
}

/** An engine around a driver process: ready once it said a valid hello. */
function driverEngine(
  command: string,
  args: string[],
  label: string,
  limits: IsolationLimits,
  task: "c" | "py" | undefined,
  describe: (h: DriverHello) => string,
  check: (h: DriverHello) => string | null = () => null,
): Engine {
  const driver = new DriverProcess(command, args, { task, maxLineBytes: limits.maxReplyBytes, label });
  const ready = driver.hello.then((h): EngineInfo => {
    if (!isPythonVersion(h.version)) {
      void driver.close();
      const who = h.python ? `${h.implementation || "the driver"} ${h.python}` : "the driver";
      throw new Error(`${command} is ${who}, claiming Python ${h.version}; aiospec knows ${PYTHON_VERSIONS.join(", ")}`);
    }
    const unsupported = h.unsupported ?? [];
    if (!Array.isArray(unsupported) || unsupported.some((f) => typeof f !== "string")) {
      void driver.close();
      throw new Error(`${command} said hello with "unsupported" ${JSON.stringify(unsupported)}: expected a list of feature names`);
    }
    const unknown = unsupported.filter((f) => !FEATURES.includes(f));
    if (unknown.length > 0) {
      void driver.close();
      throw new Error(`${command} declares unknown feature(s) ${unknown.map((f) => JSON.stringify(f)).join(", ")} unsupported; features are ${FEATURES.join(", ")}`);
    }
    const wrong = check(h);
    if (wrong !== null) {
      void driver.close();
      throw new Error(wrong);
    }
    return {
      version: h.version,
      description: describe(h),
      unsupported,
      clock: h.clock ?? "virtual",
      ...(h.tick_ms !== undefined ? { tickMs: h.tick_ms } : {}),
      ...(h.python ? { fullVersion: h.python } : {}),
      ...(task === "py" || h.task === "py" ? { task: "py" as const } : h.task === "C" ? { task: "C" as const } : {}),
    };
  });
  ready.catch(() => {});
  return {
    ready,
    run: (s, timeoutMs) => driver.run(s, { timeoutMs }),
    get dead() {
      return driver.dead;
    },
    onDeath: (cb) => driver.onDeath(cb),
    close: () => driver.close(),
  };
}

/** The start limit of a Pyodide target (the driver's hello), unless one is given. */
export const PYODIDE_START_TIMEOUT_MS = 60_000;

/** A driver on an interpreter an id names (harness/discovery.ts): the hello must match the id. */
function interpreterTarget(p: InterpreterId, command: string, args: string[], options: TargetOptions): Promise<Target> {
  const id = p.id;
  // Pyodide loads CPython's WebAssembly and standard library first: seconds, more on a loaded machine.
  if (p.family === "pyodide" && options.startTimeoutMs === undefined) options = { ...options, startTimeoutMs: PYODIDE_START_TIMEOUT_MS };
  const limits = limitsFrom(id, options);
  const describe = (h: DriverHello) => {
    const task = p.pytask || h.task === "py" ? "pure-Python Task" : h.task === "C" ? "C Task" : `${h.task || "its"} Task`;
    const parts = [`${h.implementation || p.family} ${h.python}`.trim(), `(${task})`];
    if (h.loop && h.loop !== "asyncio") parts.push(`on ${h.loop}${h.loop_version ? ` ${h.loop_version}` : ""}`);
    if (h.clock === "real") parts.push(`real clock${h.tick_ms ? ` (${h.tick_ms} ms a tick)` : ""}`);
    if (h.executable) parts.push(`at ${h.executable}`);
    return parts.join(" ");
  };
  const check = (h: DriverHello): string | null => {
    const who = `${command}${args[0] === "-u" ? "" : ` ${args.join(" ")}`} is ${h.implementation || "a driver"} ${h.python || ""}`.trim();
    if (p.minor !== undefined && h.version !== p.minor) return `${who}, claiming Python ${h.version}, not ${p.minor}`;
    if (p.patch !== undefined && h.python !== p.patch) return `${who}, not ${p.patch}`;
    if (p.family === "pypy" && !/pypy/i.test(h.implementation)) return `${who}, not PyPy`;
    if (p.loop !== "asyncio" && h.loop !== p.loop) {
      return `the driver did not confirm --loop ${p.loop} (its hello says loop ${JSON.stringify(h.loop ?? null)}): it cannot run +${p.loop}`;
    }
    if (p.realtime && h.clock !== "real") {
      return `the driver did not confirm the real clock (its hello says clock ${JSON.stringify(h.clock ?? null)}): it cannot run +realtime`;
    }
    return null;
  };
  return supervisedTarget(
    id,
    "process",
    () => driverEngine(command, args, id, limits, p.pytask ? "py" : undefined, describe, check),
    options,
    (reason) => `implementation "${id}": ${reason}`,
  );
}

/** The argv of a cmd: id. */
export function parseCmdId(id: string): string[] {
  try {
    return splitCommandLine(id.slice("cmd:".length));
  } catch (e) {
    if (e instanceof CommandLineError) throw new UsageError(`implementation "${id}": ${e.message}`);
    throw e;
  }
}

function cmdTarget(id: string, options: TargetOptions): Promise<Target> {
  const argv = parseCmdId(id);
  const limits = limitsFrom(id, options);
  const describe = (h: DriverHello) => {
    const what = [h.implementation, h.python].filter(Boolean).join(" ");
    return `driver \`${argv.join(" ")}\`${what ? ` (${what})` : ""}, Python ${h.version} behaviour, in a child process`;
  };
  return supervisedTarget(
    id,
    "process",
    () => driverEngine(argv[0], argv.slice(1), id, limits, undefined, describe),
    options,
    (reason) => `implementation "${id}" cannot start: ${reason}`,
  );
}

/** A module id: the file and the version asked for with @3.X, or null when id does not name a file. */
export function parseModuleId(id: string): { file: string; version?: string } | null {
  let file = id;
  let version: string | undefined;
  const m = /^(.*)@(\d+\.\d+)$/.exec(id);
  if (m && !fs.existsSync(path.resolve(id))) {
    file = m[1];
    version = m[2];
  }
  const looksLikePath =
    /^\.\.?[\\/]/.test(file) || path.isAbsolute(file) || /\.[cm]?[jt]s$/.test(file);
  return looksLikePath ? { file, version } : null;
}

function moduleTarget(id: string, mod: { file: string; version?: string }, versionHint: PythonVersion | undefined, options: TargetOptions): Promise<Target> {
  if (mod.version !== undefined && !isPythonVersion(mod.version)) {
    throw new UsageError(`unknown implementation "${id}": versions are ${PYTHON_VERSIONS.map((x) => "@" + x).join(", ")}`);
  }
  const abs = path.resolve(mod.file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch {
    throw new UsageError(`implementation "${id}": no such file ${abs}`);
  }
  if (!stat.isFile()) throw new UsageError(`implementation "${id}": ${abs} is not a file`);
  const explicit = mod.version as PythonVersion | undefined;
  const spec: ImplSpec = { kind: "module", path: abs, version: explicit ?? versionHint ?? NEWEST, explicit: explicit !== undefined };
  return workerTarget(
    id,
    spec,
    options,
    (reason) => `implementation "${id}" cannot be loaded: ${reason}`,
    // A factory's version was the harness's choice: the id that replays the target names it.
    (info) => ({ id: info.factory && !explicit ? `${mod.file}@${info.version}` : id, description: info.description }),
  );
}

/** The version hint for the reference or a mutant: it must be one the reference models. */
function modelled(id: string, hint: PythonVersion | undefined): PythonVersion | undefined {
  if (hint === undefined || isReferenceVersion(hint)) return hint;
  throw new UsageError(
    `${id} cannot follow Python ${hint}: the reference models ${VERSIONS.join(", ")}; compare the implementation with another one of Python ${hint}`,
  );
}

/**
 * Resolve an implementation id. `versionHint` is the version plain
 * `reference` (or a mutant without @version, or a module exporting a
 * factory) takes: when comparing with a CPython, the reference follows that
 * CPython's version. `options` sets the isolation limits (per-case
 * `timeoutMs`, ...) and `isolate` (run the reference / mutants in a worker).
 *
 * Throws a UsageError (one line) for an unknown id and for an implementation
 * that cannot start at all.
 */
export async function resolveTarget(id: string, versionHint?: PythonVersion, options: TargetOptions = {}): Promise<Target> {
  limitsFrom(id, options);
  if (id.startsWith("cmd:")) return cmdTarget(id, options);
  if (id === "reference" || id.startsWith("reference@") || id.startsWith("reference+")) {
    const pyTask = id.endsWith("+pytask");
    const base = pyTask ? id.slice(0, -"+pytask".length) : id;
    const v = parseVersionSuffix(id, base.slice("reference".length)) ?? modelled(id, versionHint) ?? NEWEST;
    if (options.isolate) {
      return workerTarget(`reference@${v}${pyTask ? "+pytask" : ""}`, { kind: "reference", version: v, pyTask }, options, (r) => `implementation "${id}": ${r}`);
    }
    const flavour = pyTask ? "pure-Python Task" : "C Task";
    return { ...tsTarget(makeReference(v, { pyTask }), v, `TypeScript reference, Python ${v} profile, ${flavour}`), task: pyTask ? "py" : "C" };
  }
  if (id.startsWith("mutant:")) {
    const [name, ...rest] = id.slice("mutant:".length).split("@");
    const m = findMutant(name);
    if (!m) {
      throw new UsageError(`unknown mutant "${name}": known mutants are ${MUTANTS.map((x) => x.name).join(", ")}`);
    }
    const v = parseVersionSuffix(id, rest.length ? "@" + rest.join("@") : "") ?? modelled(id, versionHint) ?? NEWEST;
    if (options.isolate) {
      return workerTarget(`mutant:${m.name}@${v}`, { kind: "mutant", name: m.name, version: v }, options, (r) => `implementation "${id}": ${r}`);
    }
    return tsTarget(m.make(v), v, `mutant ${m.name}: ${m.description}`);
  }
  const interp = parseInterpreterId(id);
  if (interp) {
    const found = await locate(interp);
    if (found.status === "absent") throw new UsageError(`${interp.id} is not installed here (${found.why}): run ${found.install}`);
    return interpreterTarget(interp, found.command!, found.args!, options);
  }
  const mod = parseModuleId(id);
  if (mod) return moduleTarget(id, mod, versionHint, options);
  throw new UsageError(
    `unknown implementation "${id}": expected reference[@3.X][+pytask], mutant:NAME[@3.X], cpython[-3.X[.Y]], pypy-3.X, pyodide-3.X, nest_asyncio (with +pytask +uvloop +nest_asyncio +realtime), a module path (./impl.ts) or cmd:"COMMAND LINE"`,
  );
}

/**
 * How firmly an id fixes its Python version: 0 for the reference or a mutant
 * without @3.X (they follow the other side), 1 for a module without @3.X (a
 * factory follows, an object claims its own), 2 for the rest.
 */
function fixedness(id: string): number {
  if (id === "reference" || id === "reference+pytask" || (id.startsWith("mutant:") && !id.includes("@"))) return 0;
  if (!id.startsWith("cmd:") && !/^(reference|mutant:|cpython)/.test(id)) {
    const mod = parseModuleId(id);
    if (mod && mod.version === undefined) return 1;
  }
  return 2;
}

/** Resolve two ids for a comparison: the side whose version is less fixed follows the other's. */
export async function resolvePair(a: string, b: string, options: TargetOptions = {}): Promise<[Target, Target]> {
  if (fixedness(a) < fixedness(b)) {
    const tb = await resolveTarget(b, undefined, options);
    try {
      return [await resolveTarget(a, tb.version, options), tb];
    } catch (e) {
      await tb.close();
      throw e;
    }
  }
  const ta = await resolveTarget(a, undefined, options);
  try {
    return [ta, await resolveTarget(b, ta.version, options)];
  } catch (e) {
    await ta.close();
    throw e;
  }
}
