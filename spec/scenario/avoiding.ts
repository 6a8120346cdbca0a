/**
 * Scenarios generated around features an implementation lacks.
 *
 * A clause's generator may reach for features the implementation under
 * test does not have (a cancel message before Python 3.9, uncancel before
 * 3.11, eager tasks before 3.12, or what a TypeScript implementation
 * declares unsupported). Such a case is skipped, not checked; a clause
 * whose cases mostly use one ends "inconclusive" where it could have been
 * checked (on CPython 3.8, nine clauses drew a cancel message in over 80%
 * of their cases). `avoiding(arb, features)` draws again, up to
 * MAX_DRAWS times, until a scenario uses none of them, and keeps the last
 * draw otherwise (which the runner then skips, as before): the same random
 * stream, so a seed still names a run. Shrinking keeps to scenarios that
 * use none of them.
 */
import * as fc from "fast-check";
import type { Scenario } from "./types";
import { scenarioFeatures } from "./validate";

/** Draws per case at most: a generator that uses a feature in five cases of six still gives a usable one 99.7% of the time. */
export const MAX_DRAWS = 32;

export function avoiding(arb: fc.Arbitrary<Scenario>, features: Iterable<string>): fc.Arbitrary<Scenario> {
  const lacking = new Set(features);
  if (lacking.size === 0) return arb;
  return new Avoiding(arb, (s) => !scenarioFeatures(s).some((f) => lacking.has(f)));
}

class Avoiding extends fc.Arbitrary<Scenario> {
  constructor(
    private readonly arb: fc.Arbitrary<Scenario>,
    private readonly usable: (s: Scenario) => boolean,
  ) {
    super();
  }

  generate(mrng: fc.Random, biasFactor: number | undefined): fc.Value<Scenario> {
    let v = this.arb.generate(mrng, biasFactor);
    for (let draws = 1; draws < MAX_DRAWS && !this.usable(v.value); draws++) v = this.arb.generate(mrng, biasFactor);
    return v;
  }

  canShrinkWithoutContext(value: unknown): value is Scenario {
    return this.arb.canShrinkWithoutContext(value) && this.usable(value);
  }

  shrink(value: Scenario, context: unknown): fc.Stream<fc.Value<Scenario>> {
    return this.arb.shrink(value, context).filter((v) => this.usable(v.value));
  }
}
