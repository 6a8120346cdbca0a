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
 * The profiles: every version the reference models with the C Task, and
 * 3.13 with the pure-Python Task (+pytask), whose one difference there
 * (Task.result() before the task is done) only shows on it. Not 3.14+pytask:
 * on 3.14 a _PyTask is invisible to current_task(), which most clauses use to
 * name the running task, so they do not apply to it.
 * AIOSPEC_MUTATION_VERSIONS (e.g. "3.11,3.13+pytask") runs only those;
 * AIOSPEC_MUTATION_SEED fixes another seed.
 *
 * Each test builds its own reference (makeReference is cheap): with a target
 * shared across tests, Stryker's per-test coverage charged everything built
 * once per target (the API object in index.ts, the profile) to the first
 * clause of each profile only, and ran those mutants against that clause
 * alone, so they survived whatever the other clauses would have caught.
 */
import { describe, expect, it } from "vitest";
import { CLAUSES } from "../../spec/clauses";
import { VERSIONS as PROFILES, isReferenceVersion } from "../../implementations/reference";
import { runClause, skipInfo } from "../../harness/running/runner";
import { DEFAULT_RUNS } from "../../harness/cli/commands";
import { Target, resolveTarget } from "../../harness/targets";

const SEED = Number(process.env.AIOSPEC_MUTATION_SEED ?? 1);
const DEFAULT_PROFILES = [...PROFILES, "3.13+pytask"];
const VERSIONS = (process.env.AIOSPEC_MUTATION_VERSIONS ?? DEFAULT_PROFILES.join(",")).split(",");
const unknown = VERSIONS.filter((v) => !isReferenceVersion(v.replace(/\+pytask$/, "")));
if (unknown.length > 0) throw new Error(`AIOSPEC_MUTATION_VERSIONS: the reference has no profile ${unknown.join(", ")} (it has ${PROFILES.join(", ")}, each also as +pytask)`);

describe.each(VERSIONS.map((v) => [v]))("reference@%s", (v) => {
  it.each(CLAUSES.map((c) => [c.id, c] as const))("%s", async (_id, c) => {
    const target: Target = await resolveTarget(`reference@${v}`);
    try {
      if (skipInfo(c, target) !== null) return; // as aiospec run: a clause for other versions is skipped
      const r = await runClause(c, target, { runs: DEFAULT_RUNS, seed: SEED });
      expect(r.status, r.counterexample?.message ?? r.reason).not.toBe("fail");
      expect(r.status, r.reason).not.toBe("error");
    } finally {
      target.close();
    }
  });
});
