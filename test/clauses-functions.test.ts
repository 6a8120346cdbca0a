/**
 * The function clauses (gather, shield, wait_for, wait, as_completed):
 * their generators make valid scenarios the clause's versions can run, and
 * `needs` lists every feature those scenarios use (but the basics every
 * implementation has).
 */
import { compareVersions } from "../spec/scenario/versions";
import { OPTIONAL_FEATURES } from "../spec/clauses/clause";
import { walkSteps } from "../spec/scenario/types";
import type { Scenario } from "../spec/scenario/types";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CLAUSES as gather } from "../spec/clauses/gather";
import { CLAUSES as shield } from "../spec/clauses/shield";
import { CLAUSES as waitFor } from "../spec/clauses/wait_for";
import { CLAUSES as wait } from "../spec/clauses/wait";
import { CLAUSES as asCompleted } from "../spec/clauses/as_completed";
import { FEATURES, requiredVersion, scenarioFeatures, validateScenario, formatValidationErrors } from "../spec/scenario/validate";
import { MUTANTS } from "../implementations/mutants";

const MINE = [...gather, ...shield, ...waitFor, ...wait, ...asCompleted];
const BASICS = new Set(["await", "log", "return"]);
const OPTIONAL = new Set(OPTIONAL_FEATURES);
/** s without cancel messages (the only optional feature). */
function withoutOptional(s: Scenario): Scenario {
  const copy = JSON.parse(JSON.stringify(s)) as Scenario;
  for (const { step } of walkSteps(copy)) if (step.op === "cancel") delete step.msg;
  return copy;
}
/** The oldest version that runs s, leaving out the optional features (their cases are skipped where they are missing). */
const neededVersion = (s: Scenario) => requiredVersion(withoutOptional(s));

describe.each(MINE.map((c) => [c.id, c] as const))("%s", (_id, c) => {
  it.each(c.versions.map((v) => [v]))("generates valid scenarios for %s, using only what it needs", (v) => {
    for (const f of c.needs) expect(FEATURES).toContain(f);
    const used = new Set<string>();
    for (const s of fc.sample(c.scenarios(v), { numRuns: 100, seed: 3 })) {
      const r = validateScenario(s);
      expect(r.ok, r.ok ? "" : `${formatValidationErrors(r.errors)}\n${JSON.stringify(s)}`).toBe(true);
      expect(compareVersions(neededVersion(s), v) <= 0).toBe(true);
      for (const f of scenarioFeatures(s)) used.add(f);
    }
    const missing = [...used].filter((f) => !BASICS.has(f) && !OPTIONAL.has(f) && !c.needs.includes(f));
    expect(missing, `features used but not in needs`).toEqual([]);
  });

  it("names existing mutants as breakers", () => {
    for (const b of c.brokenBy) {
      expect(b.startsWith("mutant:")).toBe(true);
      expect(MUTANTS.map((m) => m.name)).toContain(b.slice("mutant:".length));
    }
  });
});
