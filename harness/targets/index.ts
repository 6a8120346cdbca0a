/**
 * Implementation ids -> runnable targets.
 *
 *   reference, reference@3.11 | @3.12 | @3.13 | @3.14   the TypeScript reference (plain = newest profile)
 *   reference@3.X.Y                               the reference at a release of a modelled version (patch-release changes)
 *   reference...+pytask                           the reference modelling the pure-Python Task
 *   mutant:NAME[@3.X]                             a deliberately faulty reference
 *   cpython, cpython-3.X, cpython-3.X.Y           a CPython found here, through the Python driver
 *   pypy-3.X, pyodide-3.12|3.13|3.14, nest_asyncio  PyPy, Pyodide (Node), nest_asyncio's CPython
 *   ...+pytask +uvloop +nest_asyncio +realtime +webloop    modifiers (harness/targets/discovery.ts has the grammar)
 *   ./impl.ts, /abs/impl.js, impl.ts[@3.X]        a TypeScript / CommonJS module exporting an implementation
 *   cmd:COMMAND LINE                              any program speaking the driver protocol
 *
 * A target runs scenarios and returns traces; every target says which Python
 * version's behaviour it claims.
 *
 * Isolation (harness/targets/isolation/): implementations under test are buggy by
 * definition. Modules run in worker threads and drivers in child processes,
 * each case under a time limit; whatever goes wrong becomes a rejected run()
 * with a TargetFailure ("timeout" | "error", reason) for that case, the
 * worker or process is replaced for the next one (a bounded number of
 * times), and nothing is left running after close(). The trusted reference
 * and mutants run in-process unless `isolate: true` is asked for.
 * One module per kind of target: reference.ts, mutant.ts, module.ts,
 * interpreters.ts (CPython, PyPy, Pyodide, nest_asyncio), cmd.ts; this one
 * turns an id into the right one and is the stage's public face.
 * docs/adapters.md describes the ids, the module contract and the protocol.
 */
import { UsageError } from "./errors";
import { locate, parseInterpreterId } from "./discovery";
import type { PythonVersion } from "../../implementations/reference";
import { Target, TargetOptions, limitsFrom } from "./target";
import { referenceTarget } from "./reference";
import { mutantTarget } from "./mutant";
import { interpreterTarget } from "./interpreters";
import { cmdTarget } from "./cmd";
import { moduleTarget, parseModuleId } from "./module";

export type { Target, TargetOptions } from "./target";
export { tsTarget } from "./target";
export { parseCmdId } from "./cmd";
export { parseModuleId } from "./module";
export { PYODIDE_START_TIMEOUT_MS } from "./interpreters";
export { DEFAULT_LIMITS } from "./isolation/limits";
export type { IsolationEvent, IsolationLimits, IsolationStats } from "./isolation/limits";
export { liveResources } from "./isolation/resources";
export { ImplementationError, ReplyTooLarge, TargetFailure, UsageError } from "./errors";
export { DRIVER_PATH, findCPython, whichSync } from "./discovery";

/**
 * Resolve an implementation id. `versionHint` is the version plain
 * `reference` (or a mutant without @version, or a module exporting a
 * factory) takes: when comparing with a CPython, the reference follows that
 * CPython's version; `releaseHint`, that CPython's full version, whose
 * release plain `reference` takes too (reference@3.11.2 beside Debian's
 * 3.11.2). `options` sets the isolation limits (per-case
 * `timeoutMs`, ...) and `isolate` (run the reference / mutants in a worker).
 *
 * Throws a UsageError (one line) for an unknown id and for an implementation
 * that cannot start at all.
 */
export async function resolveTarget(id: string, versionHint?: PythonVersion, options: TargetOptions = {}, releaseHint?: string): Promise<Target> {
  limitsFrom(id, options);
  if (id.startsWith("cmd:")) return cmdTarget(id, options);
  if (id === "reference" || id.startsWith("reference@") || id.startsWith("reference+")) return referenceTarget(id, versionHint, options, releaseHint);
  if (id.startsWith("mutant:")) return mutantTarget(id, versionHint, options);
  const interp = parseInterpreterId(id);
  if (interp) {
    const found = await locate(interp);
    if (found.status === "absent") throw new UsageError(`${interp.id} is not installed here (${found.why}): run ${found.install}`);
    return interpreterTarget(interp, found.command!, found.args!, options);
  }
  const mod = parseModuleId(id);
  if (mod) return moduleTarget(id, mod, versionHint, options);
  throw new UsageError(
    `unknown implementation "${id}": expected reference[@3.X[.Y]][+pytask], mutant:NAME[@3.X], cpython[-3.X[.Y]], pypy-3.X, pyodide-3.X, nest_asyncio (with +pytask +uvloop +nest_asyncio +realtime +webloop), a module path (./impl.ts) or cmd:"COMMAND LINE"`,
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
      return [await resolveTarget(a, tb.version, options, tb.fullVersion), tb];
    } catch (e) {
      await tb.close();
      throw e;
    }
  }
  const ta = await resolveTarget(a, undefined, options);
  try {
    return [ta, await resolveTarget(b, ta.version, options, ta.fullVersion)];
  } catch (e) {
    await ta.close();
    throw e;
  }
}
