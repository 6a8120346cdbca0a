/**
 * The clause suite as StrykerJS runs it (npm run mutation, docs/mutation.md):
 * every clause on the reference, at the settings of a user's `aiospec run
 * --impl reference` (100 cases a clause, the newest profile), one test per
 * clause, so that Stryker names the clause that killed each mutant.
 *
 * Stryker mutates implementations/reference in a sandbox copy; the target
 * here is that mutated reference, in this process. The clauses that compare
 * with the reference's own trace (ctx.expected) get it from the unmutated
 * reference: vitest.mutation.config.ts points the runner's oracle there.
 *
 * Named without .test.ts so that npm test leaves it out (test/clauses.test.ts
 * already checks every clause on every profile).
 *
 * AIOSPEC_MUTATION_VERSIONS (e.g. "3.11,3.14") runs only those profiles;
 * AIOSPEC_MUTATION_SEED fixes another seed.
 */
import { afterAll, describe, expect, it } from "vitest";
import { CLAUSES } from "../../spec/clauses";
import { VERSIONS as PROFILES, isReferenceVersion } from "../../implementations/reference";
import { runClause, skipInfo } from "../../harness/running/runner";
import { DEFAULT_RUNS } from "../../harness/cli/commands";
import { Target, resolveTarget } from "../../harness/targets";

const SEED = Number(process.env.AIOSPEC_MUTATION_SEED ?? 1);
const VERSIONS = (process.env.AIOSPEC_MUTATION_VERSIONS ?? PROFILES.join(",")).split(",");
const unknown = VERSIONS.filter((v) => !isReferenceVersion(v));
if (unknown.length > 0) throw new Error(`AIOSPEC_MUTATION_VERSIONS: the reference has no profile ${unknown.join(", ")} (it has ${PROFILES.join(", ")})`);

const targets = new Map<string, Target>();
afterAll(() => targets.forEach((t) => t.close()));

async function reference(v: string): Promise<Target> {
  if (!targets.has(v)) targets.set(v, await resolveTarget(`reference@${v}`));
  return targets.get(v)!;
}

describe.each(VERSIONS.map((v) => [v]))("reference@%s", (v) => {
  it.each(CLAUSES.map((c) => [c.id, c] as const))("%s", async (_id, c) => {
    const target = await reference(v);
    if (skipInfo(c, target) !== null) return; // as aiospec run: a clause for other versions is skipped
    const r = await runClause(c, target, { runs: DEFAULT_RUNS, seed: SEED });
    expect(r.status, r.counterexample?.message ?? r.reason).not.toBe("fail");
    expect(r.status, r.reason).not.toBe("error");
  });
});
