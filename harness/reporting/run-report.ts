/**
 * A run's results made into a RunReport (model.ts): each clause's report,
 * the baseline applied, the totals, the outcome and the exit code.
 */
import type { Clause } from "../../spec/clauses/clause";
import type { ClauseResult } from "../running/runner";
import { Baseline, applyBaseline } from "./baseline";
import { capClauseReport } from "./caps";
import { pythonTarget } from "../reproducing/python";
import {
  ClauseReport, EXIT, ImplementationInfo, Outcome, REPORT_FORMAT, RunReport, SCHEMA_VERSION, Timing,
  clauseReport, summarize, toolInfo,
} from "./model";

export interface RunInput {
  implementation: ImplementationInfo;
  /** The selected clauses, in specification order. */
  clauses: readonly Clause[];
  /** Results by clause index (undefined: did not finish). */
  results: ReadonlyArray<ClauseResult | undefined>;
  options: RunReport["options"];
  notes?: string[];
  baseline: { file: string; data: Baseline } | null;
  interrupted: boolean;
  timing: Timing;
  /** Where failing clauses' files were written (model.ts failureFiles), when they were. */
  failuresDir?: string;
}

export function buildRunReport(input: RunInput): RunReport {
  const results: ClauseReport[] = [];
  const notRun: string[] = [];
  input.clauses.forEach((c, i) => {
    const r = input.results[i];
    if (r) {
      const opts = {
        version: input.implementation.version,
        target: pythonTarget(input.implementation),
        ...(input.failuresDir !== undefined ? { failuresDir: input.failuresDir } : {}),
      };
      // The failure files (written as each clause ended) hold the full case; reports embed it capped.
      results.push(capClauseReport(clauseReport(c, r, input.implementation.id, opts)));
    }
    else notRun.push(c.id);
  });
  const baseline = input.baseline
    ? applyBaseline(results, input.baseline.data, input.baseline.file, input.implementation, input.options.strict)
    : null;
  const summary = summarize(results, notRun.length);
  let outcome: Outcome;
  if (input.interrupted) outcome = "interrupted";
  else if (summary.errors > 0 || notRun.length > 0) outcome = "harness-error";
  else if (baseline) outcome = baseline.newFailures.length > 0 || (input.options.strict && baseline.unexpectedPasses.length > 0) ? "failures" : "matches-baseline";
  else outcome = summary.failed > 0 ? "failures" : summary.flaky > 0 ? "flaky" : summary.inconclusive > 0 ? "inconclusive" : "conformant";
  const exitCode = { interrupted: EXIT.interrupted, "harness-error": EXIT.usage, failures: EXIT.failures, "matches-baseline": EXIT.ok, flaky: EXIT.ok, inconclusive: EXIT.ok, conformant: EXIT.ok }[outcome];
  return {
    format: REPORT_FORMAT,
    schemaVersion: SCHEMA_VERSION,
    tool: toolInfo(),
    complete: !input.interrupted && notRun.length === 0,
    implementation: input.implementation,
    options: input.options,
    ...(input.notes?.length ? { notes: input.notes } : {}),
    outcome,
    exitCode,
    summary,
    baseline,
    results,
    notRun,
    timing: input.timing,
  };
}

