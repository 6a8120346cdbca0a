/**
 * reference, reference@3.X, reference@3.X.Y, reference...+pytask: the
 * TypeScript reference, trusted, so it runs in the harness's own thread
 * unless `isolate` asks for a worker. Also the version rules it shares with
 * the mutants.
 */
import { UsageError } from "./errors";
import { Target, TargetOptions, tsTarget } from "./target";
import { workerTarget } from "./supervised";
import { NEWEST, VERSIONS, makeReference, isReferenceVersion } from "../../implementations/reference";
import type { PythonVersion } from "../../implementations/reference";
import { MODELLED_RELEASES } from "../../implementations/reference/releases";
import { releaseIn } from "../../spec/scenario/versions";

/** The @3.X of a mutant id: a version the reference models. */
export function parseVersionSuffix(id: string, rest: string): PythonVersion | undefined {
  if (rest === "") return undefined;
  const v = rest.slice(1);
  if (!rest.startsWith("@") || !isReferenceVersion(v)) {
    throw new UsageError(`unknown implementation "${id}": versions are ${VERSIONS.map((x) => "@" + x).join(", ")}`);
  }
  return v;
}

/** What a reference id's suffix asks for: a modelled version, and a release of it (absent: the one the reference models). */
export interface ReferenceAt {
  version: PythonVersion;
  release?: string;
}

/**
 * The @3.X or @3.X.Y of a reference id: a version the reference models, or
 * any release of one (reference@3.13.2: the 3.13 profile with the
 * patch-release changes of 3.13.2, spec/scenario/versions.ts). Refuses a
 * malformed suffix and a version the reference does not model.
 */
export function parseReferenceSuffix(id: string, rest: string): ReferenceAt | undefined {
  if (rest === "") return undefined;
  const m = /^@(3\.(?:0|[1-9]\d*))(?:\.(0|[1-9]\d*))?$/.exec(rest);
  const versions = VERSIONS.map((x) => "@" + x).join(", ");
  if (!m) throw new UsageError(`unknown implementation "${id}": versions are ${versions}, or a release of one of them (@3.13.2)`);
  const v = m[1];
  if (!isReferenceVersion(v)) {
    throw new UsageError(`unknown implementation "${id}": the reference models Python ${VERSIONS.join(", ")} (${versions}, or a release of one of them: @3.13.2)`);
  }
  return m[2] === undefined ? { version: v } : { version: v, release: `${v}.${m[2]}` };
}

/** The version hint for the reference or a mutant: it must be one the reference models. */
export function modelled(id: string, hint: PythonVersion | undefined): PythonVersion | undefined {
  if (hint === undefined || isReferenceVersion(hint)) return hint;
  throw new UsageError(
    `${id} cannot follow Python ${hint}: the reference models ${VERSIONS.join(", ")}; compare the implementation with another one of Python ${hint}`,
  );
}

/**
 * A reference id (reference, reference@3.X, reference@3.X.Y, ...+pytask) as
 * a target. `releaseHint`: the full version of the implementation a plain
 * `reference` follows (resolvePair): it takes that implementation's release
 * as well as its version. A reference at a release says so in its
 * fullVersion, so the clauses hold it to that release (clause.ts releaseOf)
 * and compare it with the reference at that release.
 */
export function referenceTarget(id: string, versionHint: PythonVersion | undefined, options: TargetOptions, releaseHint?: string): Target | Promise<Target> {
  const pyTask = id.endsWith("+pytask");
  const base = pyTask ? id.slice(0, -"+pytask".length) : id;
  const asked = parseReferenceSuffix(id, base.slice("reference".length));
  const v = asked?.version ?? modelled(id, versionHint) ?? NEWEST;
  // Following an implementation at the release the reference models anyway: no need to say it.
  const followed = asked === undefined && versionHint !== undefined ? releaseIn(v, releaseHint) : undefined;
  const release = asked ? asked.release : followed !== MODELLED_RELEASES[v] ? followed : undefined;
  const name = `reference@${release ?? v}${pyTask ? "+pytask" : ""}`;
  const at = release !== undefined ? { fullVersion: release } : {};
  const flavour = pyTask ? "pure-Python Task" : "C Task";
  if (options.isolate) {
    const t = workerTarget(name, { kind: "reference", version: v, pyTask, ...(release !== undefined ? { release } : {}) }, options, (r) => `implementation "${id}": ${r}`);
    return release === undefined ? t : Promise.resolve(t).then((w) => Object.assign(w, at));
  }
  const profile = `Python ${v} profile${release !== undefined ? ` at CPython ${release}` : ""}`;
  return { ...tsTarget(makeReference(v, { pyTask, release }), v, `TypeScript reference, ${profile}, ${flavour}`), task: pyTask ? "py" : "C", ...at };
}
