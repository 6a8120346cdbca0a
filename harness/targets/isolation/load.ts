/**
 * Loading an implementation inside its child process: a user's module (a path)
 * or one of the trusted implementations of this repository (the reference,
 * a mutant), by a description the parent sends (ImplSpec).
 *
 * A module exports its implementation as `default` or `implementation` (or is
 * it, as `module.exports = ...`): either an AsyncioImplementation object, or a
 * factory `(version) => AsyncioImplementation` (which may return a promise,
 * for implementations that need asynchronous set-up).
 */
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { AsyncioImplementation } from "../../engine/api";
import { contractViolation } from "../../engine/contract";
import type { PythonVersion } from "../../../spec/scenario/versions";

export type ImplSpec =
  | {
      kind: "module";
      /** Absolute path of the module. */
      path: string;
      /** The version the factory is asked for (the id's @3.X, else the hint, else the newest). */
      version: PythonVersion;
      /** True when the version was asked for explicitly (an @3.X suffix): the implementation must claim it. */
      explicit: boolean;
    }
  | { kind: "reference"; version: PythonVersion; pyTask: boolean; release?: string }
  | { kind: "mutant"; name: string; version: PythonVersion };

/** What the worker tells the parent about the loaded implementation. */
export interface LoadedInfo {
  implId: string;
  version: PythonVersion;
  unsupported: string[];
  description: string;
  /** The module exported a factory (so the version was chosen by the harness). */
  factory: boolean;
  /** The release it claims (AsyncioImplementation.pythonRelease), if any. */
  fullVersion?: string;
}

/** The module failed to load or does not export an implementation (a one-line reason). */
export class LoadError extends Error {}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return (typeof x === "object" || typeof x === "function") && x !== null && typeof (x as PromiseLike<unknown>).then === "function";
}

function looksLikeImplementation(x: unknown): boolean {
  return typeof x === "object" && x !== null && typeof (x as AsyncioImplementation).new_event_loop === "function";
}

/** Pick the export: default, implementation, or the module object itself. */
function pickExport(mod: unknown): unknown {
  if (typeof mod === "function") return mod;
  if (typeof mod !== "object" || mod === null) return undefined;
  const m = mod as Record<string, unknown>;
  for (const name of ["default", "implementation"]) {
    const x = m[name];
    if (typeof x === "function" || looksLikeImplementation(x)) return x;
  }
  return looksLikeImplementation(mod) ? mod : undefined;
}

/** The implementation contract (engine/contract.ts), as the other entry points check it. */
export function checkImplementation(impl: unknown, where: string): AsyncioImplementation {
  const violation = contractViolation(impl, where);
  if (violation !== null) throw new LoadError(violation);
  return impl as AsyncioImplementation;
}

/**
 * A real import(): TypeScript's CommonJS output turns `import(x)` into
 * require(x), which cannot load an ES module with top-level await.
 */
const importESM = new Function("url", "return import(url)") as (url: string) => Promise<unknown>;

/**
 * The module's exports. The contract (docs/adapters.md): .ts and .cts are
 * transpiled to CommonJS (isolation/ts-loader.js), .js and .cjs are
 * required, and ES modules (.mjs, or a .js that is one) are imported. A
 * TypeScript ES module (.mts) is refused: nothing here transpiles it.
 */
async function importModule(file: string): Promise<unknown> {
  const name = path.basename(file);
  if (/\.mts$/.test(file)) {
    throw new LoadError(
      `${name} is a TypeScript ES module (.mts), which aiospec does not transpile: rename it to .ts (transpiled to CommonJS), or compile it to .js / .mjs`,
    );
  }
  try {
    if (/\.mjs$/.test(file)) return await importESM(pathToFileURL(file).href);
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(file);
    } catch (e) {
      // An ES module that require() cannot load: any ES module before Node
      // 20.19, one with top-level await since. import() loads both.
      const code = (e as { code?: unknown } | null)?.code;
      if (code !== "ERR_REQUIRE_ESM" && code !== "ERR_REQUIRE_ASYNC_MODULE") throw e;
      return await importESM(pathToFileURL(file).href);
    }
  } catch (e) {
    if ((e as { code?: unknown } | null)?.code === "ERR_UNKNOWN_FILE_EXTENSION" && /\.[cm]?ts\b/.test(String((e as Error).message))) {
      // Node's ES module loader does not go through the TypeScript loader. (A
      // checkout of aiospec linked into the project maps its exports to its
      // TypeScript sources: the packed package maps them to JavaScript.)
      throw new LoadError(
        `loading ${name} failed: as an ES module it imports TypeScript, which Node's ES module loader cannot load (${(e as Error).message}): write the implementation as .ts or CommonJS, or import compiled JavaScript`,
      );
    }
    throw new LoadError(`loading ${name} failed: ${describeThrown(e)}`);
  }
}

async function loadModule(spec: Extract<ImplSpec, { kind: "module" }>): Promise<{ impl: AsyncioImplementation; info: LoadedInfo }> {
  const file = path.basename(spec.path);
  const mod = await importModule(spec.path);
  const exported = pickExport(mod);
  if (exported === undefined) {
    throw new LoadError(
      `${file} exports no implementation: export an AsyncioImplementation or a factory (version) => AsyncioImplementation as \`default\` or \`implementation\``,
    );
  }
  let impl: unknown = exported;
  const factory = typeof exported === "function";
  if (factory) {
    try {
      impl = (exported as (v: PythonVersion) => unknown)(spec.version);
      if (isThenable(impl)) impl = await impl;
    } catch (e) {
      throw new LoadError(`the factory exported by ${file} failed: ${describeThrown(e)}`);
    }
  }
  const checked = checkImplementation(impl, factory ? `the implementation ${file}'s factory returned` : `the implementation ${file} exports`);
  if (spec.explicit && checked.pythonVersion !== spec.version) {
    throw new LoadError(`${file} was asked for Python ${spec.version} but its implementation claims ${checked.pythonVersion}`);
  }
  const implId = typeof checked.id === "string" && checked.id ? checked.id : file;
  return {
    impl: checked,
    info: {
      implId,
      version: checked.pythonVersion as PythonVersion,
      unsupported: [...(checked.unsupported ?? [])],
      description: `${/\.[cm]?ts$/.test(spec.path) ? "TypeScript" : "JavaScript"} module ${spec.path} (${implId}), Python ${checked.pythonRelease ?? checked.pythonVersion}, in a child process`,
      factory,
      ...(checked.pythonRelease !== undefined ? { fullVersion: checked.pythonRelease } : {}),
    },
  };
}

/** Load what the spec describes (runs in the child process). */
export async function loadImplementation(spec: ImplSpec): Promise<{ impl: AsyncioImplementation; info: LoadedInfo }> {
  if (spec.kind === "module") return loadModule(spec);
  // Trusted implementations: loaded only when asked for, so a user's module never pays for them.
  /* eslint-disable @typescript-eslint/no-require-imports */
  if (spec.kind === "reference") {
    const { makeReference } = require("../../../implementations/reference") as typeof import("../../../implementations/reference");
    const impl = makeReference(spec.version, { pyTask: spec.pyTask, release: spec.release });
    const flavour = spec.pyTask ? "pure-Python Task" : "C Task";
    return {
      impl,
      info: { implId: impl.id, version: spec.version, unsupported: [...(impl.unsupported ?? [])], description: `TypeScript reference, Python ${spec.version} profile, ${flavour}, in a child process`, factory: false },
    };
  }
  const { findMutant } = require("../../../implementations/mutants") as typeof import("../../../implementations/mutants");
  const m = findMutant(spec.name);
  if (!m) throw new LoadError(`unknown mutant "${spec.name}"`);
  const impl = m.make(spec.version);
  return {
    impl,
    info: { implId: impl.id, version: spec.version, unsupported: [...(impl.unsupported ?? [])], description: `mutant ${m.name}: ${m.description}, in a child process`, factory: false },
  };
}

/** A value something threw, in one line (it may not be an Error at all). */
export function describeThrown(e: unknown): string {
  try {
    if (e instanceof Error) {
      const frame = (e.stack ?? "").split("\n").find((l) => /^\s+at /.test(l));
      const where = frame ? frame.trim().replace(/^at /, "") : "";
      const msg = `${e.name || "Error"}: ${e.message}`;
      return where ? `${msg} (at ${where})` : msg;
    }
    if (typeof e === "string") return `a thrown string (not an Error): ${JSON.stringify(e.length > 200 ? e.slice(0, 200) + "…" : e)}`;
    if (e === null || e === undefined) return `a thrown ${String(e)} (not an Error)`;
    if (typeof e === "object") {
      let repr: string;
      try {
        repr = JSON.stringify(e) ?? Object.prototype.toString.call(e);
      } catch {
        repr = Object.prototype.toString.call(e);
      }
      return `a thrown object (not an Error): ${repr.length > 200 ? repr.slice(0, 200) + "…" : repr}`;
    }
    return `a thrown ${typeof e} (not an Error): ${String(e)}`;
  } catch {
    return "a thrown value that cannot be described";
  }
}

