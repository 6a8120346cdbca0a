/** Plain-text renderings of a failure, shared by the terminal output and the JUnit failure bodies. */
import { formatTrace } from "./format";
import type { ClauseReport, FailureReport } from "./model";
import { checkedText } from "./model";
import { INCONCLUSIVE } from "../running/runner";
import type { Scenario } from "../../spec/scenario/types";
import { Trace, canonicalJson, formatEvent } from "../../spec/scenario/trace";

export function indent(text: string, by = "  "): string {
  return text.replace(/^/gm, by);
}

const SCENARIO_MARK = /^# -+ the scenario$/m;

/** The part of a reproducer after its helpers: the scenario's own coroutines and callbacks. */
export function scenarioPart(python: string): string {
  const m = SCENARIO_MARK.exec(python);
  return m ? python.slice(m.index) : python;
}

export interface FailureTextOptions {
  /** Print the `aiospec run` replay command (default true; the vitest integration prints its own). */
  replay?: boolean;
  /** Also the scenario as JSON, the whole traces and (unless it was written to a file) the Python program (JUnit bodies); default: only the part around the first difference. */
  full?: boolean;
}

/** At most this many events of each side around the first difference. */
const CONTEXT_EVENTS = 3;
/** At most this many lines of compact scenario. */
const SCENARIO_LINES = 14;
/** Lines are cut at this width (the files hold everything). */
const WIDTH = 160;

function cut(line: string, width = WIDTH): string {
  return line.length <= width ? line : line.slice(0, width - 1) + "\u2026";
}

/**
 * The scenario, one line per coroutine and callback: `main: [steps as
 * compact JSON]`, each line cut at WIDTH, at most SCENARIO_LINES lines.
 */
export function compactScenario(s: Scenario): string[] {
  const defs = [
    ...s.coroutines.map((c) => `${c.name}: ${JSON.stringify(c.body)}`),
    ...(s.callbacks ?? []).map((c) => `callback ${c.name}: ${JSON.stringify(c.body)}`),
  ];
  if (s.eager) defs.unshift("(eager task factory)");
  const shown = defs.slice(0, SCENARIO_LINES).map((l) => cut(l));
  if (defs.length > shown.length) shown.push(`... ${defs.length - shown.length} more definition(s)`);
  return shown;
}

/** The events of one side around index `at`: "  > 12  log a" marks the first difference. */
function eventWindow(t: Trace, at: number): string[] {
  const from = Math.max(0, at - CONTEXT_EVENTS);
  const to = Math.min(t.events.length, at + CONTEXT_EVENTS + 1);
  const lines = [];
  for (let i = from; i < to; i++) lines.push(cut(`${i === at ? "  >" : "   "} ${String(i).padStart(3)}  ${formatEvent(t.events[i])}`));
  if (at >= t.events.length) lines.push(`  > ${String(at).padStart(3)}  (no event: the trace has ${t.events.length})`);
  return lines;
}

/** One side's part of the trace where they differ: a few events, or the end/main/tasks/shutdown field. */
function sideAt(t: Trace, where: string): string[] {
  const m = /^events\[(\d+)\]$/.exec(where);
  if (m) return eventWindow(t, Number(m[1]));
  const field = where.replace(/\[.*$/, "") as keyof Trace;
  const value = (t as unknown as Record<string, unknown>)[field];
  const lines = [`      ${t.events.length} events, then`];
  const show = (label: string, v: unknown) => lines.push(cut(`      ${label}: ${canonicalJson(v)}`));
  if (field === "tasks" && Array.isArray(value)) {
    const i = Number(/\[(\d+)\]/.exec(where)?.[1] ?? 0);
    show(where, value[i]);
  } else show(field, value);
  return lines;
}

/**
 * Expected vs got around the first difference, naming both sides:
 * "Expected (the reference's 3.12 profile)" and "Got (mutant:lifo-ready)".
 */
export function expectedVsGot(x: FailureReport, implId: string): string[] {
  if (!x.trace || !x.expected) {
    return x.trace ? [`Got (${implId}): a trace, but there is no expected trace`] : [`Got (${implId}): no trace`];
  }
  const from = x.expectedFrom ?? "the reference";
  const d = x.firstDifference;
  if (!d) return [`Expected (${from}) and got (${implId}) are the same trace: the clause judges the trace itself`];
  return [
    `First difference at ${d.where}:`,
    `  Expected (${from}):`,
    ...sideAt(x.expected, d.where),
    `  Got (${implId}):`,
    ...sideAt(x.trace, d.where),
  ];
}

/** The Python a reproducer needs, as its header says ("3.12"), when it says. */
function reproducerPython(python: string): string | undefined {
  return /^# Run it with Python (3\.\d+) /m.exec(python)?.[1];
}

/**
 * A failing clause in at most about 60 lines: statement, verdict, the
 * compact shrunk scenario, expected vs got around the first difference,
 * how to replay it and where the full reproducers and traces are.
 */
export function failureText(r: ClauseReport, implId: string, version: string, opts: FailureTextOptions = {}): string {
  const x = r.failure!;
  const message = x.message.split("\n");
  const lines = [r.statement, ...message.slice(0, 3).map((l, i) => cut(i === 0 ? `${x.verdict}: ${l}` : `  ${l}`))];
  if (message.length > 3) lines.push(`  ... ${message.length - 3} more line(s) of message`);
  if (x.attempts !== undefined && x.attempts > 1) lines.push(`(real clock: the case ran ${x.attempts} times and failed every time)`);
  const how = !x.shrunk
    ? "as generated, not shrunk: the implementation produced no trace"
    : x.minimised?.removed
      ? `shrunk, then minimised: ${x.minimised.removed} unused step(s)/definition(s) removed`
      : "shrunk";
  lines.push(`Scenario (${how}):`, ...compactScenario(x.scenario).map((l) => `  ${l}`));
  lines.push(...expectedVsGot(x, implId));
  if (opts.replay !== false) lines.push(`Replay: ${x.replay}`);
  if (x.files) {
    const py = reproducerPython(x.python) ?? version;
    lines.push(`Full reproducers and traces: ${x.files.python} (python${py}), ${x.files.typescript} (TypeScript), ${x.files.json}`);
  }
  if (opts.full) {
    lines.push("Scenario (JSON):", indent(JSON.stringify(x.scenario, null, 2)));
    if (x.trace) lines.push(`Trace of ${implId}:`, formatTrace(x.trace));
    if (x.expected) lines.push(`Expected (${x.expectedFrom ?? `reference@${version}`}):`, formatTrace(x.expected));
    // The program is in the .py file when there is one: no need to carry 20 KB of it here too.
    if (!x.files) lines.push("As a Python program:", indent(x.python.trimEnd()));
  }
  return lines.join("\n");
}

/** One line per clause for the terminal: "PASS  gather.order [documented] (checked 100 of 100, 120 ms)". */
export function resultLine(r: ClauseReport): string {
  const tag = { pass: "PASS", fail: "FAIL", flaky: "FLAKY", inconclusive: "INCONCLUSIVE", skip: "SKIP", error: "ERROR" }[r.status];
  const mark = r.baseline ? ` (${r.baseline.status.replace("-", " ")})` : "";
  const detail = r.status === "skip" || r.status === "error" ? ` — ${r.reason}` : ` (${checkedText(r)}, ${r.elapsedMs} ms)`;
  const why = r.status === "inconclusive" ? ` — too few cases checked for a pass (at least ${Math.round(INCONCLUSIVE.fraction * 100)}%)` : "";
  return `${tag.padEnd(5)} ${r.id} [${r.level}]${detail}${why}${mark}`;
}

/** A flaky case in a few lines: what failed, that a rerun passed, how to replay it. */
export function flakySummary(r: ClauseReport): string {
  const f = r.flaky!;
  const lines = [
    `${f.cases} case(s) failed and then passed when run again; the first: ${f.verdict}: ${f.message}`,
    `It failed ${f.attempts - 1} time(s), then passed on run ${f.attempts}: timing noise on a real clock, not a reproducible failure.`,
  ];
  if (f.replay) lines.push(`Replay: ${f.replay}`);
  return lines.join("\n");
}

/** The whole story of a flaky case: the failing run's trace and the passing rerun's. */
export function flakyText(r: ClauseReport, implId: string, version: string): string {
  const f = r.flaky!;
  const lines = [r.statement, flakySummary(r)];
  if (f.firstDifference) lines.push("First difference (failing run vs the reference):", f.firstDifference.text);
  lines.push(`Seed ${f.seed} (clause seed ${f.clauseSeed})${f.path !== undefined ? `, path ${f.path}` : ""}`);
  lines.push("Scenario (JSON):", indent(JSON.stringify(f.scenario, null, 2)));
  if (f.trace) lines.push(`Trace of ${implId}, the failing run:`, formatTrace(f.trace));
  if (f.passingTrace) lines.push(`Trace of ${implId}, the rerun that passed:`, formatTrace(f.passingTrace));
  if (f.expected) lines.push(`Expected (reference@${version}):`, formatTrace(f.expected));
  return lines.join("\n");
}
