/**
 * The differential clause: the broadest net. On any generated scenario, an
 * implementation's trace equals the reference's for the same Python version,
 * event for event.
 */
import { scenarioArb } from "../scenario/arbitraries";
import { canonicalJson, firstDifference, formatEvent } from "../scenario/trace";
import type { TraceEvent } from "../scenario/trace";
import { ALL_VERSIONS, DOCS, clause } from "./clause";
import { VERSIONS } from "../../implementations/reference/profile";

export const differential = clause({
  id: "differential.trace",
  statement: "Every scenario produces, event for event, the trace CPython produces for the same Python version.",
  source: { url: DOCS.tasks, section: "Coroutines and Tasks (all of it)" },
  versions: VERSIONS,
  level: "exact",
  needs: [],
  brokenBy: ["mutant:lifo-ready"],
  // Generated around what the implementation lacks, rather than skipped
  // case by case, so that a partial implementation is still checked on
  // (nearly) every case.
  scenarios: (version, target) => scenarioArb({ version, exclude: target?.unsupported ?? [] }),
  check({ trace, expected, version }) {
    // The expected trace is the reference's (CheckContext.expected), not a
    // CPython run: name it as what it is.
    const want = expected();
    if (canonicalJson(trace) === canonicalJson(want)) return true;
    const d = firstDifference(trace, want)!;
    const show = (x: unknown) =>
      typeof x === "object" && x !== null && "ev" in (x as object) ? formatEvent(x as TraceEvent) : canonicalJson(x);
    return `traces part at ${d.where}: got ${show(d.a)}, the reference's ${version} profile gives ${show(d.b)}`;
  },
});
