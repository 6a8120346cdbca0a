/**
 * A cheap structural check of a trace coming from an implementation under
 * test (a worker thread or a driver process): the fields every consumer
 * relies on have the right types. It does not check the meaning of events;
 * the clauses do that.
 */

import { MAX_TRACE_DEPTH } from "../../../spec/scenario/trace";

const RUN_ENDS = new Set(["complete", "deadlock", "interrupted", "iteration_limit", "error"]);
const STATES = new Set(["pending", "cancelled", "result", "exception"]);

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  if (typeof x === "string") return `the string ${JSON.stringify(x.length > 40 ? x.slice(0, 40) + "…" : x)}`;
  return typeof x === "object" ? "an object" : `${typeof x} ${String(x)}`;
}

function runEnd(x: unknown, where: string): string | null {
  if (!isObject(x)) return `${where} is ${describe(x)}, not an object`;
  if (typeof x.kind !== "string" || !RUN_ENDS.has(x.kind)) {
    return `${where}.kind is ${describe(x.kind)}, not one of ${[...RUN_ENDS].join(", ")}`;
  }
  if ((x.kind === "interrupted" || x.kind === "error") && !isObject(x.exc)) return `${where}.exc is missing`;
  return null;
}

function outcome(x: unknown, where: string): string | null {
  if (!isObject(x)) return `${where} is ${describe(x)}, not an object`;
  if (typeof x.state !== "string" || !STATES.has(x.state)) {
    return `${where}.state is ${describe(x.state)}, not one of ${[...STATES].join(", ")}`;
  }
  if (x.state === "exception" && !isObject(x.exc)) return `${where}.exc is missing`;
  return null;
}

/** The deepest nesting of arrays and objects in x, counted without recursion; stops counting past `limit`. */
export function nestingDepth(x: unknown, limit: number): number {
  let deepest = 0;
  // Two stacks side by side (a value, its depth) rather than a pair per value: this walk sees
  // every object of every reply, and the pairs were most of what it allocated.
  const values: unknown[] = [x];
  const depths: number[] = [1];
  while (values.length > 0) {
    const v = values.pop();
    const d = depths.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (d > deepest) deepest = d;
    if (deepest > limit) return deepest;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const child: unknown = v[i];
        if (child !== null && typeof child === "object") {
          values.push(child);
          depths.push(d + 1);
        }
      }
    } else {
      for (const child of Object.values(v)) {
        if (child !== null && typeof child === "object") {
          values.push(child);
          depths.push(d + 1);
        }
      }
    }
  }
  return deepest;
}

/** Where event i is, for a message: spelled out only then, not once per event of every good trace. */
function eventAt(i: number): string {
  return `trace.events[${i}]`;
}

/**
 * Whether a JSON text opens at most `limit` arrays and objects, so that
 * what was parsed from it cannot nest deeper than `limit` (each level opens
 * with a bracket). Brackets inside strings count too, which can only make
 * the answer no when it could be yes. Two searches for a character rather
 * than a walk over every object parsed: a reply of some kilobytes opens a
 * few hundred.
 */
function opensAtMost(text: string, limit: number): boolean {
  // Each level also takes a bracket to close: a short text is known without looking.
  if (text.length <= 2 * limit) return true;
  let n = 0;
  for (let p = text.indexOf("{"); p >= 0; p = text.indexOf("{", p + 1)) if (++n > limit) return false;
  for (let p = text.indexOf("["); p >= 0; p = text.indexOf("[", p + 1)) if (++n > limit) return false;
  return true;
}

/**
 * Why x is not a well-formed trace, or null when it is. `json`: the JSON
 * text x was parsed from (or one that contains it), when it was, or only
 * that text's length: a text that opens at most MAX_TRACE_DEPTH arrays and
 * objects (one of at most 2 * MAX_TRACE_DEPTH characters, whose every
 * level takes a bracket to open and one to close, or one with that few
 * brackets) cannot nest too deeply, and most replies need not be walked to
 * know it.
 */
export function traceShapeError(x: unknown, json?: string | number): string | null {
  if (!isObject(x)) return `the trace is ${describe(x)}, not an object`;
  // Checked first: everything after (and the clauses' canonicalisation) walks the trace.
  const shallow = typeof json === "string" ? opensAtMost(json, MAX_TRACE_DEPTH) : json !== undefined && json <= 2 * MAX_TRACE_DEPTH;
  if (!shallow && nestingDepth(x, MAX_TRACE_DEPTH) > MAX_TRACE_DEPTH) {
    return `the trace nests deeper than ${MAX_TRACE_DEPTH} levels (the trace depth limit)`;
  }
  if (!Array.isArray(x.events)) return `trace.events is ${describe(x.events)}, not an array`;
  for (let i = 0; i < x.events.length; i++) {
    const e = x.events[i];
    if (!isObject(e)) return `${eventAt(i)} is ${describe(e)}, not an object`;
    if (typeof e.ev !== "string") return `${eventAt(i)}.ev is ${describe(e.ev)}, not a string`;
    if (typeof e.time !== "number" || !Number.isFinite(e.time)) return `${eventAt(i)}.time is ${describe(e.time)}, not a number`;
    if (e.task !== null && typeof e.task !== "string") return `${eventAt(i)}.task is ${describe(e.task)}, not a task name or null`;
  }
  const end = runEnd(x.end, "trace.end");
  if (end !== null) return end;
  const main = outcome(x.main, "trace.main");
  if (main !== null) return main;
  if (!Array.isArray(x.tasks)) return `trace.tasks is ${describe(x.tasks)}, not an array`;
  for (let i = 0; i < x.tasks.length; i++) {
    const t = x.tasks[i];
    const where = `trace.tasks[${i}]`;
    const o = outcome(t, where);
    if (o !== null) return o;
    if (typeof (t as Record<string, unknown>).name !== "string") return `${where}.name is ${describe((t as Record<string, unknown>).name)}, not a string`;
  }
  if (x.shutdown !== undefined) return runEnd(x.shutdown, "trace.shutdown");
  return null;
}
