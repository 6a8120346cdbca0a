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
