/** Plain-text renderings of a failure, shared by the terminal output and the JUnit failure bodies. */
import * as fs from "node:fs";
import * as path from "node:path";
import { formatTrace } from "./format";
import type { ClauseReport } from "./model";

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
  /** "full": the whole Python program; "scenario": only its scenario part (the terminal, with the program saved to a file). */
  program?: "full" | "scenario";
  /** Where the program and the scenario were saved, if they were. */
  saved?: { python: string; scenario: string };
}

/** The whole story of one failing clause: statement, verdict, first difference, replay, scenario, program, traces. */
export function failureText(r: ClauseReport, implId: string, version: string, opts: FailureTextOptions = {}): string {
  const x = r.failure!;
  const lines = [r.statement, `${x.verdict}: ${x.message}`];
  if (x.attempts !== undefined && x.attempts > 1) lines.push(`(real clock: the case ran ${x.attempts} times and failed every time)`);
  if (x.firstDifference) lines.push("First difference:", x.firstDifference.text);
  lines.push(`Replay: ${x.replay}`, `Seed ${x.seed} (clause seed ${x.clauseSeed}), path ${x.path}`);
  if (opts.saved) lines.push(`Saved: ${opts.saved.scenario} (for aiospec replay) and ${opts.saved.python} (for python3)`);
  lines.push("Scenario (JSON):", indent(JSON.stringify(x.scenario, null, 2)));
  if (opts.program === "scenario") lines.push(`As a Python program (its scenario part${opts.saved ? `; the whole program is ${opts.saved.python}` : ""}):`, indent(scenarioPart(x.python).trimEnd()));
  else lines.push("As a Python program:", indent(x.python.trimEnd()));
  if (x.trace) lines.push(`Trace of ${implId}:`, formatTrace(x.trace));
  if (x.expected) lines.push(`Expected (reference@${version}):`, formatTrace(x.expected));
  return lines.join("\n");
}

/** Save a failure's scenario (for `aiospec replay`) and Python program under .aiospec/counterexamples/. */
export function saveFailure(r: ClauseReport, implId: string): { python: string; scenario: string } | undefined {
  const x = r.failure;
  if (!x) return undefined;
  try {
    const dir = path.resolve(".aiospec", "counterexamples");
    fs.mkdirSync(dir, { recursive: true });
    const safe = (s: string) => s.replace(/[^A-Za-z0-9_.@+-]/g, "_");
    const impl = implId.replace(/^.*[\\/]/, ""); // a module path: its file name
    const stem = path.join(dir, `run-${safe(impl)}-${safe(r.id)}-seed${x.seed}`);
    fs.writeFileSync(stem + ".json", JSON.stringify(x.scenario, null, 2) + "\n");
    fs.writeFileSync(stem + ".py", x.python);
    const rel = (f: string) => path.relative(process.cwd(), f);
    return { python: rel(stem + ".py"), scenario: rel(stem + ".json") };
  } catch {
    return undefined; // a read-only working directory: the report still has everything
  }
}

/** One line per clause for the terminal: "PASS  gather.order [documented] (100 scenarios, 120 ms)". */
export function resultLine(r: ClauseReport): string {
  const tag = { pass: "PASS", fail: "FAIL", flaky: "FLAKY", skip: "SKIP", error: "ERROR" }[r.status];
  const mark = r.baseline ? ` (${r.baseline.status.replace("-", " ")})` : "";
  const detail = r.status === "skip" || r.status === "error" ? ` — ${r.reason}` : ` (${r.runs} scenarios, ${r.elapsedMs} ms)`;
  return `${tag.padEnd(5)} ${r.id} [${r.level}]${detail}${mark}`;
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
