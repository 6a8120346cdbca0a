/**
 * ./impl.ts, /abs/impl.js, impl.mjs[@3.X]: a TypeScript, CommonJS or ES
 * module exporting an implementation (or a factory of one), loaded in a
 * child process (isolation/load.ts loads it and checks the export; a .mts
 * is refused there).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError } from "./errors";
import { Target, TargetOptions } from "./target";
import { workerTarget } from "./supervised";
import type { ImplSpec } from "./isolation/load";
import { NEWEST } from "../../implementations/reference";
import type { PythonVersion } from "../../implementations/reference";
import { PYTHON_VERSIONS, isPythonVersion } from "../../spec/scenario/versions";

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

export function moduleTarget(id: string, mod: { file: string; version?: string }, versionHint: PythonVersion | undefined, options: TargetOptions): Promise<Target> {
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

