/**
 * What a report embeds of one case is capped: an implementation can send a
 * trace of megabytes (each reply may be up to 8 MiB), and every writer of a
 * run (JSON, HTML, Markdown, the matrix) would copy it, several times over,
 * into one string: hundreds of megabytes, or V8's "Invalid string length"
 * and no report at all. The full case is already on disk: a failing clause's
 * files (failures.ts) hold both traces whole; the reports get a prefix of
 * each trace, the scenario, the program and the first difference, each
 * within a budget, and a `truncated` note that says what was cut and where
 * the whole is (docs/reports.md, "Report size").
 */
import type { Trace } from "../../spec/scenario/trace";
import type { ClauseReport, FailureReport, FirstDifference, FlakyReport, Truncated } from "./model";

/** Bytes of pretty-printed JSON each embedded trace (events, then tasks) may take. */
export const TRACE_CAP_BYTES = 64 * 1024;
/** Bytes of the scenario (as pretty-printed JSON) and of the Python program. */
export const SCENARIO_CAP_BYTES = 64 * 1024;
export const PROGRAM_CAP_BYTES = 64 * 1024;
/** Bytes of each side of the first difference, and of its text. */
export const DIFFERENCE_CAP_BYTES = 8 * 1024;

const size = (v: unknown): number => Buffer.byteLength(JSON.stringify(v, null, 2) ?? "", "utf8");

/** The longest prefix of `items` whose pretty JSON fits in `budget` bytes. */
function prefixWithin<T>(items: readonly T[], budget: number): T[] {
  let used = 0;
  let n = 0;
  // Each element costs its own JSON plus a comma, a newline and indentation.
  for (; n < items.length; n++) {
    used += size(items[n]) + 16;
    if (used > budget) break;
  }
  return items.slice(0, n);
}

/** A trace within TRACE_CAP_BYTES: as it is, or with its events (then tasks) cut to a prefix. */
function capTrace(t: Trace, name: string, cuts: Truncated["parts"]): Trace {
  if (size(t) <= TRACE_CAP_BYTES) return t;
  const events = prefixWithin(t.events, TRACE_CAP_BYTES / 2);
  const tasks = prefixWithin(t.tasks, TRACE_CAP_BYTES / 4);
  cuts[name] = `${events.length} of ${t.events.length} events, ${tasks.length} of ${t.tasks.length} tasks`;
  return { ...t, events, tasks };
}

/** Text cut to `budget` bytes (on a character boundary), with a line saying so. */
function capText(s: string, budget: number, name: string, cuts: Truncated["parts"], comment = ""): string {
  const bytes = Buffer.byteLength(s, "utf8");
  if (bytes <= budget) return s;
  cuts[name] = `${budget} of ${bytes} bytes`;
  return `${Buffer.from(s, "utf8").subarray(0, budget).toString("utf8").replace(/\uFFFD$/, "")}\n${comment}… cut: ${bytes - budget} more bytes\n`;
}

function capDifference(d: FirstDifference, cuts: Truncated["parts"]): FirstDifference {
  const side = (v: unknown, name: string): unknown => {
    const n = size(v);
    if (n <= DIFFERENCE_CAP_BYTES) return v;
    cuts[name] = `${n} bytes`;
    return `(cut: ${n} bytes of JSON)`;
  };
  return {
    where: d.where,
    actual: side(d.actual, "firstDifference.actual"),
    expected: side(d.expected, "firstDifference.expected"),
    text: capText(d.text, DIFFERENCE_CAP_BYTES, "firstDifference.text", cuts),
  };
}

/** The scenario as it is, or (over its cap) its header with no coroutines: the files hold it whole. */
function capScenario<S extends FailureReport["scenario"]>(s: S, cuts: Truncated["parts"]): S {
  const n = size(s);
  if (n <= SCENARIO_CAP_BYTES) return s;
  cuts.scenario = `${n} bytes, not embedded`;
  return { ...s, coroutines: [], ...(s.callbacks ? { callbacks: [] } : {}) };
}

/** The embedded parts of a failure or flaky case, each within its cap; `truncated` says what was cut. */
function capCase<C extends FailureReport | FlakyReport>(x: C, full: string | undefined): C {
  const cuts: Truncated["parts"] = {};
  const out = { ...x };
  out.scenario = capScenario(x.scenario, cuts);
  out.python = capText(x.python, PROGRAM_CAP_BYTES, "python", cuts, "# ");
  for (const k of ["trace", "expected", "passingTrace"] as const) {
    const t = (x as Partial<Record<typeof k, Trace>>)[k];
    if (t) (out as Partial<Record<typeof k, Trace>>)[k] = capTrace(t, k, cuts);
  }
  if (x.firstDifference) out.firstDifference = capDifference(x.firstDifference, cuts);
  if (Object.keys(cuts).length === 0) return x;
  out.truncated = { parts: cuts, ...(full !== undefined ? { full } : {}) };
  return out;
}

/** A clause's report with its failure and flaky case capped (a copy when anything was cut). */
export function capClauseReport(r: ClauseReport): ClauseReport {
  if (!r.failure && !r.flaky) return r;
  return {
    ...r,
    ...(r.failure ? { failure: capCase(r.failure, r.failure.files?.json) } : {}),
    ...(r.flaky ? { flaky: capCase(r.flaky, undefined) } : {}),
  };
}

/** What a writer says about a cut case: "cut to fit the report (trace: 60 of 12288 events, …); the whole case: FILE". */
export function truncatedText(t: Truncated): string {
  const parts = Object.entries(t.parts).map(([k, v]) => `${k}: ${v}`).join("; ");
  return `cut to fit the report (${parts}); ${t.full ? `the whole case: ${t.full}` : "replay the case to see it whole"}`;
}
