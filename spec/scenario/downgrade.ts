/**
 * Scenarios for older Pythons: rewrite a scenario so that it uses only what
 * `version` has (FEATURE_VERSIONS in validate.ts), keeping as much of its
 * shape as possible.
 *
 * The generators are written for 3.11 and later. For 3.8–3.10 the scenario
 * is rewritten rather than thrown away, so that random runs on an old
 * Python exercise tasks, cancellation, gather, wait, shield and callbacks as
 * much as on a new one:
 *
 *   cancel(msg)                      3.8: the message is dropped
 *   async with TaskGroup() as g: B   before 3.11: B runs inline; g.create_task is create_task
 *   async with timeout(d): B         before 3.11: B runs inline
 *   reschedule, inspect_timeout, uncancel, new_taskgroup   before 3.11: dropped
 *   try ... except* T                before 3.11: try ... except T
 *   raise ExceptionGroup(..., [E, ...])    before 3.11: raise E (its first member)
 *   except ExceptionGroup / BaseExceptionGroup   before 3.11: except Exception / BaseException
 *
 * The result is a different program, not an equivalent one: it is only a
 * way of generating valid scenarios for the older version. When a rewrite
 * makes the scenario invalid (the validator has the last word), the caller
 * gets `null`.
 */
import type { ExceptClause, ExceptionSpec, Scenario, Step } from "./types";
import type { PythonVersion } from "./versions";
import { atLeast } from "./versions";
import { validateScenario } from "./validate";

const GROUPS = new Set(["ExceptionGroup", "BaseExceptionGroup"]);

/** The first exception of a group that is not itself a group. */
function firstLeaf(e: ExceptionSpec): ExceptionSpec {
  if (!GROUPS.has(e.type)) return e;
  const first = (e.exceptions ?? [])[0];
  return first === undefined ? { type: "RuntimeError", args: ["empty group"] } : firstLeaf(first);
}

function plainClause(h: ExceptClause): ExceptClause {
  const out: ExceptClause = { ...h, type: h.type === "ExceptionGroup" ? "Exception" : h.type === "BaseExceptionGroup" ? "BaseException" : h.type };
  return out;
}

function rewriteSteps(steps: Step[], version: PythonVersion): Step[] {
  const modern = atLeast(version, "3.11");
  const out: Step[] = [];
  for (const step of steps) {
    switch (step.op) {
      case "cancel":
        if (step.msg !== undefined && !atLeast(version, "3.9")) {
          const { msg: _msg, ...rest } = step;
          out.push(rest);
        } else out.push(step);
        break;
      case "taskgroup":
      case "timeout":
        if (modern) out.push({ ...step, body: rewriteSteps(step.body, version) } as Step);
        else out.push(...rewriteSteps(step.body, version));
        break;
      case "new_taskgroup":
      case "reschedule":
      case "inspect_timeout":
      case "uncancel":
        if (modern) out.push(step);
        break;
      case "create_task":
        if (step.group !== undefined && !modern) {
          const { group: _group, ...rest } = step;
          out.push(rest);
        } else out.push(step);
        break;
      case "raise":
      case "set_exception":
        out.push(modern ? step : { ...step, exc: firstLeaf(step.exc) });
        break;
      case "try": {
        const t = { ...step, body: rewriteSteps(step.body, version) };
        if (step.except) {
          t.except = step.except.map((h) => {
            const body = h.body === undefined ? undefined : rewriteSteps(h.body, version);
            const c = modern ? { ...h } : plainClause(h);
            if (body !== undefined) c.body = body;
            return c;
          });
        }
        if (step.finally) t.finally = rewriteSteps(step.finally, version);
        if (!modern) delete t.star;
        out.push(t);
        break;
      }
      default:
        if ((step as { op: string }).op === "repeat") {
          // A repeat not written out yet: its body, rewritten (empty: dropped).
          const r = step as unknown as { body: Step[] };
          const body = rewriteSteps(r.body, version);
          if (body.length > 0) out.push({ ...r, body } as unknown as Step);
        } else out.push(step);
    }
  }
  return out;
}

/** `s` rewritten to use only what `version` has, or null when the rewrite is not a valid scenario. */
export function downgradeScenario(s: Scenario, version: PythonVersion): Scenario | null {
  const out = rewriteScenario(s, version);
  const r = validateScenario(out);
  if (r.ok) return out;
  // Only errors the rewrite introduced count.
  const before = validateScenario(s);
  // (Inlined blocks move steps, so errors are matched by message, not path.)
  const known = new Set(before.ok ? [] : before.errors.map((e) => e.message));
  return r.errors.every((e) => known.has(e.message)) ? out : null;
}

/** The rewrite alone, valid or not. */
export function rewriteScenario(s: Scenario, version: PythonVersion): Scenario {
  const out: Scenario = {
    ...s,
    coroutines: s.coroutines.map((c) => ({ ...c, body: rewriteSteps(c.body, version) })),
  };
  if (s.callbacks) out.callbacks = s.callbacks.map((c) => ({ ...c, body: rewriteSteps(c.body, version) }));
  if (out.eager && !atLeast(version, "3.12")) delete out.eager;
  return out;
}
