/**
 * Implementation ids -> runnable targets.
 *
 *   reference, reference@3.11 | @3.12 | @3.13   the TypeScript reference (plain = newest profile)
 *   reference...+pytask                           the reference modelling the pure-Python Task
 *   mutant:NAME[@3.X]                             a deliberately faulty reference
 *   cpython                                       python3 on PATH, through the driver
 *   cpython-3.11 | cpython-3.12 | cpython-3.13    a discovered interpreter (pyenv, or python3.X on PATH)
 *   ...+pytask                                    the same, with the pure-Python Task instead of the C Task
 *
 * A target runs scenarios and returns traces; every target says which Python
 * version's behaviour it claims.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DriverProcess } from "./driver";
import { runScenario } from "./interpreter";
import type { AsyncioImplementation } from "./api";
import type { Scenario } from "../spec/scenario/types";
import type { Trace } from "../spec/scenario/trace";
import { NEWEST, VERSIONS, makeReference, isPythonVersion } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import { MUTANTS, findMutant } from "../implementations/mutants";

/** Bad input from the user: the CLI prints the message on one line and exits 2. */
export class UsageError extends Error {}

export interface Target {
  id: string;
  /** The Python version whose behaviour the target claims ("3.11", ...). */
  version: PythonVersion;
  /** A longer description (interpreter path, Task flavour). */
  description: string;
  /** Scenario features the implementation declares it lacks (clauses needing them are skipped). */
  unsupported?: readonly string[];
  run(scenario: Scenario): Promise<Trace>;
  close(): void;
}

export const DRIVER_PATH = path.resolve(__dirname, "..", "implementations", "python", "aiospec_driver.py");

/** A target for an in-process TypeScript implementation. */
export function tsTarget(impl: AsyncioImplementation, version: PythonVersion, description: string): Target {
  return {
    id: impl.id,
    version,
    description,
    unsupported: impl.unsupported ?? [],
    run: async (s) => runScenario(impl, s),
    close: () => {},
  };
}

function parseVersionSuffix(id: string, rest: string): PythonVersion | undefined {
  if (rest === "") return undefined;
  const v = rest.slice(1);
  if (!rest.startsWith("@") || !isPythonVersion(v)) {
    throw new UsageError(`unknown implementation "${id}": versions are ${VERSIONS.map((x) => "@" + x).join(", ")}`);
  }
  return v;
}

/** Where a CPython 3.X interpreter lives, or null. */
export function findCPython(version: string): { path: string; looked: string[] } {
  const looked: string[] = [];
  const root = process.env.PYENV_ROOT || path.join(os.homedir(), ".pyenv");
  const versionsDir = path.join(root, "versions");
  looked.push(path.join(versionsDir, `${version}.*`, "bin", "python3"));
  try {
    const candidates = fs
      .readdirSync(versionsDir)
      .filter((d) => d.startsWith(version + ".") && /^\d+\.\d+\.\d+$/.test(d))
      .sort((a, b) => Number(b.split(".")[2]) - Number(a.split(".")[2]));
    for (const d of candidates) {
      const p = path.join(versionsDir, d, "bin", "python3");
      if (fs.existsSync(p)) return { path: p, looked };
    }
  } catch {
    /* no pyenv */
  }
  const onPath = whichSync(`python${version}`);
  looked.push(`python${version} on PATH`);
  return { path: onPath ?? "", looked };
}

export function whichSync(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* keep looking */
    }
  }
  return null;
}

async function driverTarget(id: string, python: string, pytask: boolean): Promise<Target> {
  const driver = new DriverProcess(python, ["-u", DRIVER_PATH], pytask ? { task: "py" } : {});
  let hello;
  try {
    hello = await driver.hello;
  } catch (e) {
    driver.close();
    throw new UsageError(`implementation "${id}": ${(e as Error).message}`);
  }
  if (!isPythonVersion(hello.version)) {
    driver.close();
    throw new UsageError(
      `implementation "${id}": ${python} is Python ${hello.python}; aiospec models ${VERSIONS.join(", ")}`,
    );
  }
  return {
    id,
    version: hello.version,
    description: `${hello.implementation} ${hello.python} (${pytask ? "pure-Python Task" : "C Task"}) at ${hello.executable}`,
    run: (s) => driver.run(s),
    close: () => driver.close(),
  };
}

/**
 * Resolve an implementation id. `versionHint` is the version plain
 * `reference` (or a mutant without @version) takes: when comparing with a
 * CPython, the reference follows that CPython's version.
 */
export async function resolveTarget(id: string, versionHint?: PythonVersion): Promise<Target> {
  if (id === "reference" || id.startsWith("reference@") || id.startsWith("reference+")) {
    const pyTask = id.endsWith("+pytask");
    const base = pyTask ? id.slice(0, -"+pytask".length) : id;
    const v = parseVersionSuffix(id, base.slice("reference".length)) ?? versionHint ?? NEWEST;
    const flavour = pyTask ? "pure-Python Task" : "C Task";
    return tsTarget(makeReference(v, { pyTask }), v, `TypeScript reference, Python ${v} profile, ${flavour}`);
  }
  if (id.startsWith("mutant:")) {
    const [name, ...rest] = id.slice("mutant:".length).split("@");
    const m = findMutant(name);
    if (!m) {
      throw new UsageError(`unknown mutant "${name}": known mutants are ${MUTANTS.map((x) => x.name).join(", ")}`);
    }
    const v = parseVersionSuffix(id, rest.length ? "@" + rest.join("@") : "") ?? versionHint ?? NEWEST;
    return tsTarget(m.make(v), v, `mutant ${m.name}: ${m.description}`);
  }
  const cp = /^cpython(?:-(3\.\d+))?(\+pytask)?$/.exec(id);
  if (cp) {
    const pytask = cp[2] !== undefined;
    if (cp[1] === undefined) {
      const python = whichSync("python3");
      if (!python) throw new UsageError(`implementation "${id}": no python3 on PATH`);
      return driverTarget(id, python, pytask);
    }
    const found = findCPython(cp[1]);
    if (!found.path) {
      throw new UsageError(`implementation "${id}": no CPython ${cp[1]} found (looked for ${found.looked.join(" and ")})`);
    }
    return driverTarget(id, found.path, pytask);
  }
  throw new UsageError(
    `unknown implementation "${id}": expected reference[@3.X], mutant:NAME, cpython, cpython-3.X or cpython-3.X+pytask`,
  );
}

/** Resolve two ids for a comparison: a plain `reference` follows the other side's version. */
export async function resolvePair(a: string, b: string): Promise<[Target, Target]> {
  const floating = (id: string) =>
    id === "reference" || id === "reference+pytask" || (id.startsWith("mutant:") && !id.includes("@"));
  if (floating(a) && !floating(b)) {
    const tb = await resolveTarget(b);
    return [await resolveTarget(a, tb.version), tb];
  }
  const ta = await resolveTarget(a);
  try {
    return [ta, await resolveTarget(b, ta.version)];
  } catch (e) {
    ta.close();
    throw e;
  }
}
