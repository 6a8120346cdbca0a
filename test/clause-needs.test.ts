/**
 * Every clause's `needs` names what its scenarios cannot do without.
 *
 * The runner skips a clause, saying "ID does not support F", when the
 * implementation declares a feature of its `needs` unsupported
 * (harness/running/runner.ts skipInfo). A feature the clause's scenarios use
 * every time but `needs` leaves out skips nothing: every case is drawn
 * again around it (spec/scenario/avoiding.ts), still uses it, and is left
 * out, and the clause ends INCONCLUSIVE ("checked 0 of 100") instead of
 * SKIP with its reason. So, for every clause and every version it claims:
 *
 *  (a) every feature used by all of its sampled scenarios is in `needs`,
 *      and a target declaring that feature unsupported skips the clause,
 *      naming it (unless the feature is newer than the version: the runner
 *      does not skip for those, FEATURE_VERSIONS);
 *  (b) every feature in `needs` is a feature scenarioFeatures knows.
 *
 * No feature is exempt from (a), not even "await", "log" and "return":
 * the implementation contract (harness/engine/contract.ts contractViolation,
 * and the driver's hello, harness/targets/driver.ts) accepts any name of
 * FEATURES in `unsupported`, and those three are FEATURES (they are ops), so
 * an implementation may declare them unsupported, and a clause that always
 * uses one must then be skipped like any other.
 *
 * The other direction (features used only by some scenarios, which need
 * not be in `needs`: such cases are drawn around or skipped one by one) is
 * checked per area by test/clauses-*.test.ts.
 *
 * 100 scenarios per clause and version, seed 3: sampling every clause
 * over all its versions takes about three seconds. A feature the builders
 * put in every scenario is in all 100; one they leave out now and then is
 * left out well within 100 (with 1,000 samples the always-used sets were
 * the same, for every clause and version).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CLAUSES } from "../spec/clauses";
import { FEATURES, FEATURE_VERSIONS, scenarioFeatures } from "../spec/scenario/validate";
import { compareVersions } from "../spec/scenario/versions";
import type { PythonVersion } from "../spec/scenario/versions";
import type { Clause } from "../spec/clauses/clause";
import { skipInfo } from "../harness/running/runner";
import type { Target } from "../harness/targets/target";

const SAMPLES = 100;
const SEED = 3;

/** The features every one of the clause's sampled scenarios for `version` uses, sorted. */
function alwaysUsed(c: Clause, version: PythonVersion): string[] {
  let always: string[] | null = null;
  for (const s of fc.sample(c.scenarios(version), { numRuns: SAMPLES, seed: SEED })) {
    const used = scenarioFeatures(s);
    always = always === null ? used : always.filter((f) => used.includes(f));
  }
  return (always ?? []).sort();
}

/** A target of Python `version` that declares `unsupported` (never run: skipInfo reads its fields only). */
function lacking(version: PythonVersion, unsupported: string[]): Target {
  return {
    id: `lacking-${unsupported.join("-")}`,
    version,
    description: "a target declaring features unsupported",
    unsupported,
    clock: "virtual",
    run: () => Promise.reject(new Error("not run")),
    close: () => {},
  };
}

const newerThan = (f: string, version: PythonVersion) => FEATURE_VERSIONS[f] !== undefined && compareVersions(FEATURE_VERSIONS[f]!, version) > 0;

describe.each(CLAUSES.map((c) => [c.id, c] as const))("%s", (_id, c) => {
  it("needs only features scenarioFeatures knows", () => {
    expect(c.needs.filter((f) => !FEATURES.includes(f)), "unknown features in needs").toEqual([]);
  });

  it.each(c.versions.map((v) => [v]))("on %s, needs every feature all its scenarios use, and is skipped without one", (v) => {
    const always = alwaysUsed(c, v);
    expect(always.filter((f) => !c.needs.includes(f)), `features every sampled scenario uses, missing from needs`).toEqual([]);
    for (const f of always.filter((x) => !newerThan(x, v))) {
      const target = lacking(v, [f]);
      expect(skipInfo(c, target)).toEqual({ kind: "unsupported", reason: `${target.id} does not support ${f}` });
    }
  });
});
