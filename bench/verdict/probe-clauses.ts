/**
 * The specification's clauses, timed: loaded through AIOSPEC_CLAUSES (the
 * harness's hook for its own clause sets) by `aiospec run` when the bench
 * splits a run's time into phases. Each clause is the spec's own, with its
 * scenario arbitrary and its check wrapped in timers; at exit the process
 * appends what it measured to the file AIOSPEC_BENCH_PHASES names:
 *
 *   generation  time fast-check spent generating scenarios (and shrink candidates);
 *   comparing   time in the clauses' checks, which includes running the
 *               reference for the expected trace when a clause compares with it;
 *   firstCase / lastCheck  wall-clock instants (ms since the epoch) of the
 *               first generated scenario and the end of the last check.
 *
 * The harness does not tell the rest apart; the bench derives it (bench/verdict/verdict.ts).
 */
import * as fs from "node:fs";
import * as fc from "fast-check";
import { CLAUSES as SPEC_CLAUSES } from "../../spec/clauses";
import type { Clause } from "../../spec/clauses/clause";
import type { Scenario } from "../../spec/scenario/types";

const phases = { pid: process.pid, generationMs: 0, comparingMs: 0, cases: 0, firstCase: 0, lastCheck: 0 };

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** An arbitrary that generates and shrinks as `inner` does, adding its time to the generation phase. */
class Timed<T> extends fc.Arbitrary<T> {
  constructor(private readonly inner: fc.Arbitrary<T>) {
    super();
  }
  generate(mrng: fc.Random, biasFactor: number | undefined): fc.Value<T> {
    const t0 = nowMs();
    if (phases.firstCase === 0) phases.firstCase = t0;
    try {
      return this.inner.generate(mrng, biasFactor);
    } finally {
      phases.generationMs += nowMs() - t0;
    }
  }
  canShrinkWithoutContext(value: unknown): value is T {
    return this.inner.canShrinkWithoutContext(value);
  }
  shrink(value: T, context: unknown): fc.Stream<fc.Value<T>> {
    const t0 = nowMs();
    try {
      return this.inner.shrink(value, context);
    } finally {
      phases.generationMs += nowMs() - t0;
    }
  }
}

function timed(c: Clause): Clause {
  return {
    ...c,
    scenarios: (version) => new Timed<Scenario>(c.scenarios(version)),
    check: (ctx) => {
      const t0 = nowMs();
      try {
        return c.check(ctx);
      } finally {
        phases.lastCheck = nowMs();
        phases.comparingMs += phases.lastCheck - t0;
        phases.cases++;
      }
    },
  };
}

export const CLAUSES: Clause[] = SPEC_CLAUSES.map(timed);

process.on("exit", () => {
  const file = process.env.AIOSPEC_BENCH_PHASES;
  if (file && phases.cases > 0) fs.appendFileSync(file, JSON.stringify(phases) + "\n");
});
