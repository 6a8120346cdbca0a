/**
 * The defaults of running clauses that the command line shows in its help.
 * A module of their own, importing nothing of the harness, so that
 * `aiospec --help` does not load the runner to print them.
 */
import * as os from "node:os";

/** What changes on a real clock, by default (docs/reports.md, "Real-time runs"). */
export const REALTIME = {
  /** Scenarios per clause: 10 instead of 100, so a whole run takes minutes (`--runs` overrides). */
  runs: 10,
  /** Jobs: one, since parallel real-time drivers on a small machine miss their ticks (`--jobs` overrides). */
  jobs: 1,
  /** Extra runs of a failing case: it fails only if it fails 3 times out of 3. */
  reruns: 2,
  /** Shrink candidates run after a failure. */
  shrinkLimit: 40,
  /** Per-case time limit: the longest scenarios last about 100 ticks (3 s at 30 ms), and a loaded machine stretches them (`--timeout-ms` overrides). */
  timeoutMs: 20_000,
} as const;

/** Clauses run in parallel by default: one job per core. */
export function defaultJobs(): number {
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}
