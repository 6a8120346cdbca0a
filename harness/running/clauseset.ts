/**
 * The clauses a run checks: the specification's (spec/clauses), or, when the
 * environment variable AIOSPEC_CLAUSES names a module, that module's
 * `CLAUSES` instead (for tests of the harness, and for projects that keep
 * their own clauses). Pool workers inherit the variable, so every job sees
 * the same clause set. A TypeScript file is transpiled as a TypeScript
 * implementation is (targets/isolation/ts-loader.js), so that the compiled
 * package, which has no ts-node, loads it too.
 */
import * as path from "node:path";
import type { Clause } from "../../spec/clauses/clause";
import { CLAUSES } from "../../spec/clauses";
import { UsageError } from "../targets";

let cached: readonly Clause[] | undefined;

/**
 * Make require() able to load TypeScript, unless something (ts-node in a
 * checkout, a pool worker's loader) already does: the TypeScript loader
 * of the module targets, with the repository's tsconfig.json when there is
 * one (the compiled package has none: its defaults then).
 */
function registerTypeScript(): void {
  if (require.extensions[".ts"] !== undefined) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loader = require("../targets/isolation/ts-loader") as { register(project: string): void };
  loader.register(path.join(__dirname, "..", "..", "tsconfig.json"));
}

/** A throw from loading the module, in one line. */
function loadFailure(module: string, e: unknown): UsageError {
  const message = e instanceof Error ? e.message : String(e);
  if (/needs TypeScript/.test(message)) {
    return new UsageError(
      `AIOSPEC_CLAUSES=${module}: a TypeScript file needs the typescript package: install it (npm install --save-dev typescript), or point AIOSPEC_CLAUSES at compiled JavaScript`,
    );
  }
  return new UsageError(`AIOSPEC_CLAUSES=${module}: cannot load it: ${message.split("\n")[0]}`);
}

export function loadClauses(): readonly Clause[] {
  if (cached) return cached;
  const module = process.env.AIOSPEC_CLAUSES;
  let clauses: readonly Clause[];
  if (module) {
    let loaded: { CLAUSES?: unknown };
    try {
      if (/\.c?ts$/.test(module)) registerTypeScript();
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require(path.resolve(module));
    } catch (e) {
      throw loadFailure(module, e);
    }
    if (!Array.isArray(loaded.CLAUSES)) throw new UsageError(`AIOSPEC_CLAUSES=${module}: the module exports no CLAUSES array`);
    clauses = loaded.CLAUSES as Clause[];
  } else {
    clauses = CLAUSES;
  }
  const seen = new Set<string>();
  for (const c of clauses) {
    if (seen.has(c.id)) throw new UsageError(`two clauses have the id ${c.id}`);
    seen.add(c.id);
  }
  return (cached = clauses);
}

export function findClause(id: string): Clause | undefined {
  return loadClauses().find((c) => c.id === id);
}

/** The area of a clause: the first part of its id. */
export function areaOf(id: string): string {
  return id.split(".")[0];
}
