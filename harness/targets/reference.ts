/**
 * reference, reference@3.X, reference...+pytask: the TypeScript reference,
 * trusted, so it runs in the harness's own thread unless `isolate` asks for
 * a worker. Also the version rules it shares with the mutants.
 */
import { UsageError } from "./errors";
import { Target, TargetOptions, tsTarget } from "./target";
import { workerTarget } from "./supervised";
import { NEWEST, VERSIONS, makeReference, isReferenceVersion } from "../../implementations/reference";
import type { PythonVersion } from "../../implementations/reference";

/** The @3.X of a reference or mutant id: a version the reference models. */
export function parseVersionSuffix(id: string, rest: string): PythonVersion | undefined {
  if (rest === "") return undefined;
  const v = rest.slice(1);
  if (!rest.startsWith("@") || !isReferenceVersion(v)) {
    throw new UsageError(`unknown implementation "${id}": versions are ${VERSIONS.map((x) => "@" + x).join(", ")}`);
  }
  return v;
}

/** The version hint for the reference or a mutant: it must be one the reference models. */
export function modelled(id: string, hint: PythonVersion | undefined): PythonVersion | undefined {
  if (hint === undefined || isReferenceVersion(hint)) return hint;
  throw new UsageError(
    `${id} cannot follow Python ${hint}: the reference models ${VERSIONS.join(", ")}; compare the implementation with another one of Python ${hint}`,
  );
}

/** A reference id (reference, reference@3.X, ...+pytask) as a target. */
export function referenceTarget(id: string, versionHint: PythonVersion | undefined, options: TargetOptions): Target | Promise<Target> {
  const pyTask = id.endsWith("+pytask");
  const base = pyTask ? id.slice(0, -"+pytask".length) : id;
  const v = parseVersionSuffix(id, base.slice("reference".length)) ?? modelled(id, versionHint) ?? NEWEST;
  if (options.isolate) {
    return workerTarget(`reference@${v}${pyTask ? "+pytask" : ""}`, { kind: "reference", version: v, pyTask }, options, (r) => `implementation "${id}": ${r}`);
  }
  const flavour = pyTask ? "pure-Python Task" : "C Task";
  return { ...tsTarget(makeReference(v, { pyTask }), v, `TypeScript reference, Python ${v} profile, ${flavour}`), task: pyTask ? "py" : "C" };
}
