/**
 * Every clause holds on CPython, for every version it claims that this
 * machine has (a clause that fails on CPython is a defect of the spec).
 * A modest number of scenarios per clause here; `npx aiospec run --impl
 * cpython-3.X` runs the full default count.
 */
import { afterAll, describe, expect, it } from "vitest";
import { CLAUSES } from "../spec/clauses";
import { runClause } from "../harness/running/runner";
import { Target, findCPython, resolveTarget } from "../harness/targets";
import type { PythonVersion } from "../implementations/reference";

const RUNS = Number(process.env.AIOSPEC_CPYTHON_CLAUSE_RUNS ?? 25);
const versions = (["3.11", "3.12", "3.13"] as PythonVersion[]).filter((v) => findCPython(v).path);
const targets = new Map<PythonVersion, Promise<Target>>();
afterAll(async () => {
  for (const t of targets.values()) (await t).close();
});

function cpython(v: PythonVersion): Promise<Target> {
  if (!targets.has(v)) targets.set(v, resolveTarget(`cpython-${v}`));
  return targets.get(v)!;
}

describe.each(versions.map((v) => [v]))("on CPython %s", (v) => {
  const applicable = CLAUSES.filter((c) => c.versions.includes(v));
  it.each(applicable.map((c) => [c.id, c] as const))("%s holds", async (_id, c) => {
    const r = await runClause(c, await cpython(v), { runs: RUNS, seed: 7 });
    expect(r.status, r.counterexample ? `${r.counterexample.message}\n${JSON.stringify(r.counterexample.scenario)}` : r.reason).toBe("pass");
  });
});
