/**
 * The clauses a run checks: the specification's (spec/clauses), or, when the
 * environment variable AIOSPEC_CLAUSES names a module, that module's
 * `CLAUSES` instead (for tests of the harness, and for projects that keep
 * their own clauses). Pool workers inherit the variable, so every job sees
 * the same clause set.
 */
import * as path from "node:path";
import type { Clause } from "../../spec/clauses/clause";
import { CLAUSES } from "../../spec/clauses";
import { UsageError } from "../targets";

let cached: readonly Clause[] | undefined;

export function loadClauses(): readonly Clause[] {
  if (cached) return cached;
  const module = process.env.AIOSPEC_CLAUSES;
  let clauses: readonly Clause[];
  if (module) {
    let loaded: { CLAUSES?: unknown };
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require(path.resolve(module));
    } catch (e) {
      throw new UsageError(`AIOSPEC_CLAUSES=${module}: cannot load it: ${(e as Error).message.split("\n")[0]}`);
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
