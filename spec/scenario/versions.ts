/**
 * Python versions aiospec knows about.
 *
 * An implementation may claim any of PYTHON_VERSIONS (CPython 3.8 to 3.14,
 * and whatever behaves as one of them: PyPy 3.9, Pyodide 0.27 = 3.12, ...).
 * The reference models a subset of them (implementations/reference/profile.ts
 * VERSIONS); clauses say which versions they hold for.
 *
 * Versions are compared numerically: as strings "3.9" > "3.12".
 */
export type PythonVersion = "3.8" | "3.9" | "3.10" | "3.11" | "3.12" | "3.13" | "3.14";

/** Every version an implementation can claim, oldest first. */
export const PYTHON_VERSIONS: readonly PythonVersion[] = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14"];

export function isPythonVersion(v: string): v is PythonVersion {
  return (PYTHON_VERSIONS as readonly string[]).includes(v);
}

/** The minor number of each known version (compareVersions runs for every feature of every scenario a diff checks). */
const MINORS: ReadonlyMap<string, number> = new Map(PYTHON_VERSIONS.map((v) => [v, Number(v.slice(2))]));

function minor(v: string): number {
  const known = MINORS.get(v);
  if (known !== undefined) return known;
  const m = /^3\.(\d+)$/.exec(v);
  if (!m) throw new Error(`not a Python version: ${v}`);
  return Number(m[1]);
}

/** Negative, zero or positive as a is older than, the same as or newer than b. */
export function compareVersions(a: string, b: string): number {
  return minor(a) - minor(b);
}

/** Is `v` the version `min` or newer? */
export function atLeast(v: string, min: PythonVersion): boolean {
  return compareVersions(v, min) >= 0;
}

/** The versions from `from` to `to`, both included (to defaults to the newest). */
export function versionRange(from: PythonVersion, to: PythonVersion = "3.14"): PythonVersion[] {
  return PYTHON_VERSIONS.filter((v) => atLeast(v, from) && atLeast(to, v));
}

/**
 * Patch releases change behaviour too: a fix made for the next minor
 * version is often backported to the current one's bug-fix releases
 * (gh-112182, set_exception(StopIteration()), came with 3.13.0 and 3.12.6).
 * A clause whose behaviour changed so says which releases have the change,
 * as a Backport: the first release of each line that got it. The newest line
 * listed is the one the change was made for, and every later version has it
 * too; an older line has it from the release named; a line not listed (a
 * line that was no longer getting bug fixes) never has it.
 */
export type Backport = readonly string[];

/** "3.12.7" as [12, 7], or undefined when it is not a 3.X.Y release. */
function minorAndPatch(release: string): [number, number] | undefined {
  const m = /^3\.(\d+)\.(\d+)$/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * The release of `version` named in an implementation's full version: "3.12.7"
 * in "3.12.7" (a driver's hello) or in "Pyodide 0.27.8 / 3.12.7"; undefined
 * when it names none of that version (a TypeScript implementation claims a
 * minor version only).
 */
export function releaseIn(version: PythonVersion, fullVersion: string | undefined): string | undefined {
  if (fullVersion === undefined) return undefined;
  return new RegExp(`(?<![\\d.])${version.replace(".", "\\.")}\\.\\d+(?![\\d.])`).exec(fullVersion)?.[0];
}

/** Does `release` ("3.12.7", a release of some version) have the change that `backport` describes? */
export function hasChange(release: string, backport: Backport): boolean {
  const at = minorAndPatch(release);
  if (!at) throw new Error(`not a CPython release: ${release}`);
  const firsts = backport.map((r) => {
    const p = minorAndPatch(r);
    if (!p) throw new Error(`not a CPython release: ${r}`);
    return p;
  });
  const newest = Math.max(...firsts.map(([minor]) => minor));
  if (at[0] > newest) return true;
  const first = firsts.find(([minor]) => minor === at[0]);
  return first !== undefined && at[1] >= first[1];
}

/**
 * Future.set_exception(StopIteration()) stores a RuntimeError caused by it
 * instead of raising TypeError: gh-112182 (PR #113220), made for 3.13.0,
 * backported to 3.12.6 (its changelog, Misc/NEWS.d/3.12.6.rst). 3.11 was
 * taking security fixes only by then (3.11.7 and 3.11.2 raise TypeError).
 */
export const SET_EXCEPTION_WRAPS_STOP_ITERATION: Backport = ["3.12.6", "3.13.0"];

/**
 * TaskGroup.create_task no longer settles a child that is already done (an
 * eager task that finished in its first step) on the spot, through the fast
 * path gh-104144 added in 3.12.0; it adds it to the group and learns of its
 * end from its done callback, like any child: gh-128550 (PR #129063), made
 * for 3.14.0, backported to 3.13.2 and 3.12.9 (Misc/NEWS.d/3.12.9.rst).
 * Pyodide 0.29's CPython 3.13.2 has it; CPython 3.12.1 and 3.13.0 do not.
 */
export const TASKGROUP_DONE_CHILD_FAST_PATH_REMOVED: Backport = ["3.12.9", "3.13.2", "3.14.0"];

/**
 * An expired timeout() block counts cancel requests from where the task
 * stood when it entered the block (`self._cancelling = task.cancelling()` in
 * __aenter__; __aexit__ converts the CancelledError when `uncancel() <=
 * self._cancelling`, no longer only when it is 0), and raises its
 * TimeoutError `from` the CancelledError it replaces: gh-102780 (PR
 * #102815), made for 3.12.0, backported to 3.11.3 (Misc/NEWS.d/3.11.3.rst;
 * its tests, test_timeout_after_cancellation and test_timeout_exception_cause,
 * sit together in 3.11.7's test_timeouts.py). Debian's CPython 3.11.2 raises
 * a TimeoutError without a cause, and inside a task already being cancelled
 * lets the CancelledError through; 3.11.7 does neither.
 */
export const TIMEOUT_COUNTS_FROM_ENTRY_AND_CHAINS: Backport = ["3.11.3", "3.12.0"];

/**
 * TaskGroup.__aexit__ forgets, in a finally, its parent task, its errors and
 * the KeyboardInterrupt / SystemExit it kept (reference cycles through the
 * raised exceptions' tracebacks): gh-124958 (PR #124959), made for 3.14.0,
 * in 3.13.1 (Misc/NEWS.d/3.13.1.rst) and 3.12.8 (Misc/NEWS.d/3.12.8.rst:
 * "Fix refcycles in exceptions raised from asyncio.TaskGroup and the python
 * implementation of asyncio.Future"; the 3.12 backport wraps the old
 * __aexit__ as _aexit under a try/finally). Pyodide 0.29's CPython 3.13.2
 * has it; 3.12.1 and 3.13.0 keep a finished parent task alive through a
 * group still referenced.
 */
export const TASKGROUP_EXIT_FORGETS_PARENT: Backport = ["3.12.8", "3.13.1", "3.14.0"];

/**
 * A try / except* whose handlers raise one new exception, and re-raise
 * nothing else, raises that exception as it is, no longer wrapped in
 * ExceptionGroup("", [it]): gh-103590 (PR #103665), a language change made
 * for 3.12.0 and backported to 3.11.4 (Misc/NEWS.d/3.11.4.rst; What's New
 * in 3.12: "Also changed in version 3.11.4"). Debian's CPython 3.11.2 wraps
 * it (`diff reference cpython-3.11.2 --runs 2000 --seed 2`: a CancelledError
 * raised in an except* handler leaves main as BaseExceptionGroup('',
 * [CancelledError])); 3.11.7 and 3.12.1 do not. A naked exception caught by
 * except* was never wrapped on the way out. The scenario interpreter runs
 * except* itself (harness/engine/exceptstar.ts), at the release the
 * implementation claims (AsyncioImplementation.pythonRelease).
 */
export const EXCEPT_STAR_RAISES_NAKED_EXCEPTION: Backport = ["3.11.4", "3.12.0"];
