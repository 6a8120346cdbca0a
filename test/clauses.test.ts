/**
 * The specification's own checks:
 *  - every clause is well described (id, statement, source, versions, level);
 *  - every clause holds for the reference, for each version it claims;
 *  - every clause can fail: each implementation it names in `brokenBy`
 *    makes it fail. (CPython's side: test/clauses-cpython.test.ts.)
 */
import { afterAll, describe, expect, it } from "vitest";
import { isReferenceVersion } from "../implementations/reference";
import { CLAUSES } from "../spec/clauses";
import { DOCS } from "../spec/clauses/clause";
import { runClause } from "../harness/running/runner";
import { Target, resolveTarget } from "../harness/targets";

const RUNS = Number(process.env.AIOSPEC_CLAUSE_RUNS ?? 60);
const open: Target[] = [];
afterAll(() => open.forEach((t) => t.close()));

async function target(id: string): Promise<Target> {
  const t = await resolveTarget(id);
  open.push(t);
  return t;
}

describe("clause metadata", () => {
  it("ids are unique, dotted, area first", () => {
    const ids = CLAUSES.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z_]+(\.[a-z0-9_]+)+$/);
  });

  it.each(CLAUSES.map((c) => [c.id, c] as const))("%s is described: statement, source, versions, level, breakers", (_id, c) => {
    expect(c.statement.length).toBeGreaterThan(20);
    expect(c.statement.trim().endsWith(".")).toBe(true);
    expect(Object.values(DOCS).some((page) => c.source.url.startsWith(page))).toBe(true);
    expect(c.source.section.length).toBeGreaterThan(2);
    expect(c.versions.length).toBeGreaterThan(0);
    expect(["documented", "exact"]).toContain(c.level);
    expect(c.brokenBy.length).toBeGreaterThan(0);
  });
});

describe.each(CLAUSES.map((c) => [c.id, c] as const))("%s", (_id, c) => {
  // The reference models some of the versions a clause claims (3.8-3.10 are checked on CPython only).
  it.each(c.versions.filter(isReferenceVersion).map((v) => [v]))("holds for reference@%s", async (v) => {
    const r = await runClause(c, await target(`reference@${v}`), { runs: RUNS, seed: 1 });
    expect(r.status, r.counterexample ? `${r.counterexample.message}\n${JSON.stringify(r.counterexample.scenario)}` : r.reason).toBe("pass");
  });

  it.each(c.brokenBy.map((b) => [b]))("fails on %s", async (breaker) => {
    // A breaker has to make the clause fail for at least one version the clause claims.
    const verdicts: string[] = [];
    for (const v of c.versions.filter(isReferenceVersion)) {
      const r = await runClause(c, await target(`${breaker}@${v}`), { runs: Math.max(RUNS * 5, 300), seed: 1 });
      verdicts.push(`${v}: ${r.status}`);
      if (r.status === "fail") return;
    }
    expect.fail(`${breaker} never breaks ${c.id} (${verdicts.join(", ")})`);
  });
});
