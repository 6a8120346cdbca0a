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
import type { Awaitable, ExceptClause, ExceptionSpec, Scenario, Step } from "./types";
import type { PythonVersion } from "./versions";
import { atLeast } from "./versions";
import { scenarioFeatures, validateScenario } from "./validate";

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

// ---------------------------------------------------------------- features left out

/**
 * An awaitable without the excluded kinds: shield(aw) and wait_for(aw) become
 * aw; a gather or wait is not one awaitable any more, so the caller gets its
 * parts (see `withoutAwaitable`).
 */
function plainAwaitables(aw: Awaitable, excluded: ReadonlySet<string>): Awaitable[] {
  if ("shield" in aw && excluded.has("shield")) return plainAwaitables(aw.shield, excluded);
  if ("wait_for" in aw && excluded.has("wait_for")) return plainAwaitables(aw.wait_for, excluded);
  if ("gather" in aw) {
    const parts = aw.gather.flatMap((x) => plainAwaitables(x, excluded));
    return excluded.has("gather") ? parts : [{ ...aw, gather: parts }];
  }
  if ("wait" in aw) {
    const parts = aw.wait.flatMap((x) => plainAwaitables(x, excluded));
    return excluded.has("wait") ? parts : [{ ...aw, wait: parts }];
  }
  if ("shield" in aw) return [{ shield: oneAwaitable(plainAwaitables(aw.shield, excluded)) }];
  if ("wait_for" in aw) return [{ ...aw, wait_for: oneAwaitable(plainAwaitables(aw.wait_for, excluded)) }];
  return [aw];
}

/** One awaitable standing for several: the first, or a zero sleep for none. */
function oneAwaitable(parts: Awaitable[]): Awaitable {
  return parts[0] ?? { sleep: 0 };
}

/**
 * The steps with what `excluded` names taken out, keeping the program's
 * shape: blocks (TaskGroup, timeout) run their body inline, gathers, waits
 * and as_completed loops become awaits of their parts in turn, shields and
 * wait_fors their inner awaitable, and the remaining excluded steps are
 * dropped. Like the version rewrite, a different program.
 */
function withoutSteps(steps: Step[], excluded: ReadonlySet<string>): Step[] {
  const out: Step[] = [];
  for (const step of steps) out.push(...withoutStep(step, excluded));
  return out;
}

function withoutStep(step: Step, excluded: ReadonlySet<string>): Step[] {
  const body = (b: Step[]) => withoutSteps(b, excluded);
  switch (step.op) {
    case "taskgroup":
    case "timeout":
      return excluded.has(step.op) ? body(step.body) : [{ ...step, body: body(step.body) } as Step];
    case "create_task": {
      let out = step;
      if (out.group !== undefined && excluded.has("taskgroup")) {
        const { group: _group, ...rest } = out;
        out = rest;
      }
      if (out.eager_start !== undefined && excluded.has("create_task:eager_start")) {
        const { eager_start: _eagerStart, ...rest } = out;
        out = rest;
      }
      return [out];
    }
    case "cancel":
      if (step.msg !== undefined && excluded.has("cancel:msg")) {
        const { msg: _msg, ...rest } = step;
        return [rest];
      }
      return [step];
    case "await":
      return plainAwaitables(step.on, excluded).map((on) => ({ op: "await", on }) as Step);
    case "ensure_future":
      if (excluded.has("ensure_future")) return [];
      return [{ ...step, on: oneAwaitable(plainAwaitables(step.on, excluded)) }];
    case "as_completed": {
      const parts = step.on.flatMap((aw) => plainAwaitables(aw, excluded));
      if (excluded.has("as_completed")) return parts.map((on) => ({ op: "await", on }) as Step);
      const mode = step.mode === "async" && excluded.has("as_completed:async") ? "iter" : step.mode;
      return [{ ...step, on: parts, ...(mode === undefined ? {} : { mode }) }];
    }
    case "try": {
      const t = { ...step, body: body(step.body) };
      if (step.except) {
        t.except = step.except.map((h) => {
          const c = excluded.has("exception_group") ? plainClause(h) : { ...h };
          if (h.body !== undefined) c.body = body(h.body);
          return c;
        });
      }
      if (step.finally) t.finally = body(step.finally);
      if (excluded.has("except*")) delete t.star;
      return [t];
    }
    case "raise":
    case "set_exception":
      if (excluded.has(step.op)) return [];
      return [excluded.has("exception_group") ? { ...step, exc: firstLeaf(step.exc) } : step];
    default:
      if ((step as { op: string }).op === "repeat") {
        // A repeat not written out yet: its body, rewritten (empty: dropped).
        const r = step as unknown as { body: Step[] };
        const inner = body(r.body);
        return inner.length > 0 ? [{ ...r, body: inner } as unknown as Step] : [];
      }
      return excluded.has(step.op) ? [] : [step];
  }
}

/**
 * `s` rewritten so that it uses none of the features `excluded` names (an
 * implementation's unsupported ones; see scenarioFeatures in validate.ts),
 * or null when the rewrite is not a valid scenario or still uses one (a
 * feature no rewrite removes, such as sleep). A scenario that uses none is
 * returned as it is.
 */
export function withoutFeatures(s: Scenario, excluded: ReadonlySet<string>): Scenario | null {
  // A scenario already without them is kept as generated (a Python that
  // lacks only what its version's generator never makes sees the scenarios
  // of before, seed for seed).
  if (!scenarioFeatures(s).some((f) => excluded.has(f))) return s;
  const out: Scenario = {
    ...s,
    coroutines: s.coroutines.map((c) => ({ ...c, body: withoutSteps(c.body, excluded) })),
  };
  if (s.callbacks) out.callbacks = s.callbacks.map((c) => ({ ...c, body: withoutSteps(c.body, excluded) }));
  if (out.eager && excluded.has("eager")) delete out.eager;
  if (!validateScenario(out).ok) return null;
  return scenarioFeatures(out).some((f) => excluded.has(f)) ? null : out;
}
