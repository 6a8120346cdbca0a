/** How a reference trace differs from CPython's, as a test failure message. */
import { firstDifference, formatEvent } from "../../spec/scenario/trace";
import type { Trace, TraceEvent } from "../../spec/scenario/trace";

export function describeDifference(reference: Trace, cpython: Trace): string {
  const d = firstDifference(reference, cpython);
  if (d === null) return "traces are equal";
  const show = (x: unknown) =>
    x !== null && typeof x === "object" && "ev" in (x as object) ? formatEvent(x as TraceEvent) : JSON.stringify(x);
  return `first difference at ${d.where}\n  reference: ${show(d.a)}\n  cpython:   ${show(d.b)}`;
}
