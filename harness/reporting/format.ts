/** Plain-text renderings of traces and differences for the terminal. */
import { Trace, TraceDifference, canonicalJson, formatEvent } from "../../spec/scenario/trace";
import type { TraceEvent } from "../../spec/scenario/trace";

export function formatTrace(t: Trace | { error: string }): string {
  if ("error" in t) return `  (no trace: ${t.error})`;
  const lines = t.events.map((e, i) => `  ${String(i).padStart(3)}  ${formatEvent(e)}`);
  lines.push(`  end: ${canonicalJson(t.end)}`);
  lines.push(`  main: ${canonicalJson(t.main)}`);
  for (const task of t.tasks) lines.push(`  task ${canonicalJson(task)}`);
  if (t.shutdown) lines.push(`  shutdown: ${canonicalJson(t.shutdown)}`);
  return lines.join("\n");
}

export function formatDifference(d: TraceDifference | null, nameA: string, nameB: string): string {
  if (d === null) return "  (one side has no trace)";
  const show = (x: unknown) =>
    typeof x === "object" && x !== null && "ev" in (x as object) ? formatEvent(x as TraceEvent) : canonicalJson(x);
  return [`  at ${d.where}:`, `    ${nameA}: ${show(d.a)}`, `    ${nameB}: ${show(d.b)}`].join("\n");
}
