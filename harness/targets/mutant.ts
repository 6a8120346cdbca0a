/**
 * mutant:NAME[@3.X]: a deliberately faulty reference (implementations/mutants),
 * in the harness's own thread unless `isolate` asks for a worker.
 */
import { UsageError } from "./errors";
import { Target, TargetOptions, tsTarget } from "./target";
import { workerTarget } from "./supervised";
import { modelled, parseVersionSuffix } from "./reference";
import { NEWEST } from "../../implementations/reference";
import type { PythonVersion } from "../../implementations/reference";
import { MUTANTS, findMutant } from "../../implementations/mutants";

/** A mutant id as a target. */
export function mutantTarget(id: string, versionHint: PythonVersion | undefined, options: TargetOptions): Target | Promise<Target> {
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
