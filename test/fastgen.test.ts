/**
 * spec/scenario/fastgen.ts: withoutShrinking(arb) draws exactly what arb
 * draws, run for run and seed for seed (the diff's search uses it, and its
 * divergences are replayed by path on arb itself, so any difference would
 * replay another scenario than the one that diverged).
 */
import { isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { withoutShrinking } from "../spec/scenario/fastgen";
import { sizedScenarioArb, SIZES } from "../harness/running/sizes";
import type { PythonVersion } from "../spec/scenario/versions";

/** The runs where the two arbitraries' samples differ (deep, strict: prototypes included). */
function differing<T>(a: fc.Arbitrary<T>, b: fc.Arbitrary<T>, seed: number, numRuns: number): number[] {
  const xs = fc.sample(a, { seed, numRuns });
  const ys = fc.sample(b, { seed, numRuns });
  const out: number[] = [];
  for (let i = 0; i < numRuns; i++) if (!isDeepStrictEqual(xs[i], ys[i])) out.push(i);
  return out;
}

describe("withoutShrinking", () => {
  // Each kind of node it mirrors, with and without bias (fc.sample biases as fc.check does).
  const cases: Array<[string, fc.Arbitrary<unknown>]> = [
    ["integer", fc.integer({ min: -50, max: 1000 })],
    ["nat", fc.nat(7)],
    ["integer, one value", fc.integer({ min: 3, max: 3 })],
    ["constantFrom", fc.constantFrom("a", "b", "c")],
    ["boolean", fc.boolean()],
    ["oneof, weighted, cross-shrink", fc.oneof({ withCrossShrink: true }, { arbitrary: fc.constant(0), weight: 5 }, { arbitrary: fc.nat(9), weight: 2 })],
    ["oneof, maxDepth 0", fc.oneof({ maxDepth: 0 }, fc.constant("first"), fc.nat())],
    ["array", fc.array(fc.nat(3), { maxLength: 5 })],
    ["array, size max", fc.array(fc.nat(3), { maxLength: 5, size: "max" })],
    ["array, min = max", fc.array(fc.boolean(), { minLength: 2, maxLength: 2 })],
    ["array, default size", fc.array(fc.integer())],
    ["record", fc.record({ a: fc.nat(), b: fc.constantFrom(1, 2), c: fc.array(fc.boolean(), { maxLength: 3 }) })],
    ["record, required keys (left to fast-check)", fc.record({ a: fc.nat(), b: fc.nat() }, { requiredKeys: ["a"] })],
    ["tuple, map, filter", fc.tuple(fc.nat(20), fc.nat(20)).map(([x, y]) => x * 100 + y).filter((n) => n % 3 !== 0)],
    ["string (left to fast-check)", fc.string({ maxLength: 4 })],
    [
      "oneofs sharing a depth identifier, one inside the other (depth bias at depth > 0)",
      fc.oneof(
        { depthIdentifier: "fastgen-test", depthSize: "xsmall" },
        fc.constant("leaf"),
        fc.array(fc.oneof({ depthIdentifier: "fastgen-test", depthSize: "xsmall" }, fc.constant(0), fc.nat(5)), { maxLength: 4 }),
      ),
    ],
    [
      "the same, with maxDepth",
      fc.oneof(
        { depthIdentifier: "fastgen-test-2", maxDepth: 1 },
        fc.constant("leaf"),
        fc.tuple(fc.oneof({ depthIdentifier: "fastgen-test-2", maxDepth: 1 }, fc.constant(0), fc.nat(5)), fc.nat(3)),
      ),
    ],
    ["a recursive oneof (letrec, depth bias)", fc.letrec((tie) => ({ node: fc.oneof({ depthSize: "small" }, fc.nat(3), fc.array(tie("node"), { maxLength: 3 })) })).node],
  ];
  it.each(cases)("%s: the same values", (_name, arb) => {
    for (const seed of [1, 2, 3]) expect(differing(arb, withoutShrinking(arb), seed, 300)).toEqual([]);
  });

  it("the comparison sees a difference (a different arbitrary differs)", () => {
    expect(differing(fc.nat(1000), withoutShrinking(fc.nat(999)), 1, 300).length).toBeGreaterThan(0);
    expect(differing(fc.record({ a: fc.nat(9) }), withoutShrinking(fc.record({ a: fc.nat(9) }, { noNullPrototype: true })), 1, 300).length).toBeGreaterThan(0);
  });

  it("never shrinks", () => {
    const out = fc.check(fc.property(withoutShrinking(fc.nat(1000)), (n) => n < 10), { seed: 1 });
    expect(out.failed).toBe(true);
    expect(out.numShrinks).toBe(0);
  });

  // Every arbitrary `aiospec diff` generates from: each size, version and exclusion it can be given.
  const versions: PythonVersion[] = ["3.8", "3.11", "3.12", "3.13"];
  const exclusions = [[], ["eager"], ["gc"], ["as_completed:async", "eager"]];
  for (const size of SIZES) {
    it(`diff --size ${size}: the same scenarios as sizedScenarioArb`, () => {
      const runs = size === "small" ? 100 : 30;
      for (const v of versions) {
        for (const ex of exclusions) {
          const arb = sizedScenarioArb(v, size, ex);
          for (const seed of [1, 42]) expect(differing(arb, withoutShrinking(arb), seed, runs), `${v} ${ex} seed ${seed}`).toEqual([]);
        }
      }
    }, 120_000);
  }
});
