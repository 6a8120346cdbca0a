/**
 * `--path` (run and diff) names one case of an earlier run: fast-check's
 * index of a generated scenario, then an index into each successive list of
 * shrink candidates. Whether the case exists depends only on the scenarios'
 * generator and the seed, not on the implementation, so it is checked before
 * anything runs: generating the case costs milliseconds, while a run with a
 * path that leads nowhere ran its clauses first and then failed with
 * fast-check's "Unable to replay" (diff: a stack trace).
 */
import * as fc from "fast-check";
import { UsageError } from "../targets/errors";

/** The syntax: numbers separated by colons, as a failure or a divergence prints it. */
export function checkPathSyntax(path: string, printedBy: string): void {
  if (!/^\d+(:\d+)*$/.test(path)) throw new UsageError(`bad --path "${path}": expected numbers separated by colons, as ${printedBy} prints it`);
}

/**
 * Throws a UsageError unless the run fast-check makes of `arb` with `seed`
 * has a case at `path` (generated and shrunk as fast-check would; nothing is
 * run). `whose` says which run, and `sameOptions` which options a path
 * needs to be given with, for the message.
 */
export function checkPathExists<T>(arb: fc.Arbitrary<T>, seed: number, path: string, whose: string, sameOptions: string): void {
  // fc.sample walks a path as fc.check does: the same generation (seed, run
  // index, bias) and the same shrink candidates (those of a one-argument
  // property are the argument's). Not an fc.asyncProperty: sample would take
  // it for an arbitrary and walk other shrinks.
  let found: unknown[];
  try {
    found = fc.sample(arb, { seed, path, numRuns: 1 });
  } catch {
    found = [];
  }
  if (found.length === 0) {
    const segments = path.split(":");
    const where = segments.length === 1 ? "" : ` (the case at ${segments.slice(0, -1).join(":")} has no shrink candidate number ${segments[segments.length - 1]}, or a step before it has too few)`;
    throw new UsageError(`--path ${path}: ${whose} has no such case${where}; a path replays only with the ${sameOptions} that printed it`);
  }
}
