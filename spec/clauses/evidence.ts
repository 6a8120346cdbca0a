/**
 * Evidence: what a clause requires the trace to record before its property
 * reasons about it.
 *
 * A property such as "callbacks run in the order they were registered" holds
 * of a trace in which nothing ran at all. So every clause first asks for the
 * events its property is about: the callbacks ran, the tasks were created,
 * the cancel was delivered. An implementation that records less fails with
 * a sentence saying what was expected, never passes for want of events.
 *
 * Two kinds of evidence:
 *  - `ofThisScenario`, which every clause asks for (clause() adds it): the
 *    main task ran, and what the trace records could come from this
 *    scenario (its log labels, callbacks, coroutines and handles, a probe
 *    event only where it has such a step, a coroutine returning only what
 *    its return steps give);
 *  - the helpers below, which a clause lists in its `evidence`: each reads
 *    the scenario for what must have happened (main ran to its end, the
 *    callbacks ran, the tasks were created, every cancel step was recorded)
 *    and looks for it in the trace.
 *
 * Evidence only asks for what the scenario guarantees; what happened then
 * (in which order, with which outcome) is the property's business.
 */
import type { Scenario, Step } from "../scenario/types";
import { walkSteps } from "../scenario/types";
import { expandScenario } from "../scenario/repeat";
import type { Trace, TraceEvent } from "../scenario/trace";
import { canonicalJson } from "../scenario/trace";
import type { CheckContext, Verdict } from "./clause";

/** One piece of evidence: true when the trace records it, else what was expected and not found. */
export type Evidence = (ctx: CheckContext) => Verdict;

/** The first piece of evidence the trace lacks, or true. */
export function firstMissing(ctx: CheckContext, evidence: readonly Evidence[]): Verdict {
  for (const e of evidence) {
    const v = e(ctx);
    if (v !== true) return v;
  }
  return true;
}

// ---------------------------------------------------------------- what a scenario defines

interface Names {
  labels: Set<string>;
  callbacks: Set<string>;
  coroutines: Set<string>;
  /** Handles bound by create_task and create_future. */
  handles: Set<string>;
  /** The ops the scenario's steps use. */
  ops: Set<string>;
  /** By coroutine: what it can return (a return step's value, or None by falling off its end). */
  returns: Map<string, string[]>;
}

const expanded = new WeakMap<Scenario, Scenario>();

/** The scenario with its repeats written out (once per scenario). */
function expand(scenario: Scenario): Scenario {
  let s = expanded.get(scenario);
  if (s === undefined) {
    s = expandScenario(scenario);
    expanded.set(scenario, s);
  }
  return s;
}

/** Every step of the scenario, nested ones included, repeats written out. */
function allSteps(scenario: Scenario): Step[] {
  return [...walkSteps(expand(scenario))].map((x) => x.step);
}

const namesCache = new WeakMap<Scenario, Names>();

/** The names a scenario defines, once its repeats are written out. */
function namesOf(scenario: Scenario): Names {
  let names = namesCache.get(scenario);
  if (names) return names;
  const s = expand(scenario);
  names = {
    labels: new Set(),
    callbacks: new Set((s.callbacks ?? []).map((c) => c.name)),
    coroutines: new Set(s.coroutines.map((c) => c.name)),
    handles: new Set(),
    ops: new Set(),
    returns: new Map(s.coroutines.map((c) => [c.name, [canonicalJson(null)]])),
  };
  for (const { step, coro } of walkSteps(s)) {
    names.ops.add(step.op);
    if (step.op === "return") names.returns.get(coro)?.push(canonicalJson(step.value ?? null));
    if (step.op === "log") names.labels.add(step.label);
    else if (step.op === "create_task") names.handles.add(step.task);
    else if (step.op === "create_future") names.handles.add(step.future);
  }
  namesCache.set(scenario, names);
  return names;
}

/**
 * The steps that leave an event of their own, and how the evidence checks
 * use each pair:
 * - `probe`: only that step records the event, so the event in a trace means
 *   the scenario has such a step (ofThisScenario: a foreign trace names ops
 *   the scenario lacks);
 * - `counted`: every such step that runs leaves exactly one such event
 *   (mainRanToItsEnd and everyStep count them; a log step is matched by its
 *   label instead).
 * create_task, create_future and await are counted but no probes (a gather or
 * a TaskGroup creates tasks, many things are awaited); as_completed's event is
 * a probe but not counted (one per iteration, not per step).
 */
const STEP_EVENTS: ReadonlyArray<{ op: Step["op"]; ev: TraceEvent["ev"]; probe: boolean; counted: boolean }> = [
  { op: "create_task", ev: "create_task", probe: false, counted: true },
  { op: "create_future", ev: "create_future", probe: false, counted: true },
  { op: "await", ev: "awaited", probe: false, counted: true },
  { op: "cancel", ev: "cancel", probe: true, counted: true },
  { op: "inspect", ev: "inspect", probe: true, counted: true },
  { op: "result", ev: "result", probe: true, counted: true },
  { op: "exception", ev: "exception", probe: true, counted: true },
  { op: "uncancel", ev: "uncancel", probe: true, counted: true },
  { op: "set_result", ev: "set_result", probe: true, counted: true },
  { op: "set_exception", ev: "set_exception", probe: true, counted: true },
  { op: "current_task", ev: "current_task", probe: true, counted: true },
  { op: "all_tasks", ev: "all_tasks", probe: true, counted: true },
  { op: "remove_done_callback", ev: "remove_done_callback", probe: true, counted: true },
  { op: "inspect_timeout", ev: "inspect_timeout", probe: true, counted: true },
  { op: "inspect_weakref", ev: "weakref", probe: true, counted: true },
  { op: "as_completed", ev: "as_completed", probe: true, counted: false },
];

/** The op of the step a probe's event comes from. */
const STEP_OF_EVENT: Partial<Record<TraceEvent["ev"], Step["op"]>> = Object.fromEntries(
  STEP_EVENTS.filter((p) => p.probe).map((p) => [p.ev, p.op]),
);

/** The event each counted step leaves. */
const EVENT_OF_STEP: Partial<Record<Step["op"], TraceEvent["ev"]>> = Object.fromEntries(
  STEP_EVENTS.filter((p) => p.counted).map((p) => [p.op, p.ev]),
);

/** What a foreign event names that the scenario does not define, if anything. */
function foreignName(e: TraceEvent, names: Names): string | null {
  const op = STEP_OF_EVENT[e.ev];
  if (op !== undefined && !names.ops.has(op)) return `${/^[aeiou]/.test(e.ev) ? "an" : "a"} ${e.ev} event, but the scenario has no ${op} step`;
  switch (e.ev) {
    case "log":
      return names.labels.has(e.label) ? null : `the log label "${e.label}", which no log step writes`;
    case "callback":
      return names.callbacks.has(e.callback) ? null : `a run of callback ${e.callback}, which the scenario does not define`;
    case "enter":
      return names.coroutines.has(e.coro) ? null : `the coroutine ${e.coro} entering, which the scenario does not define`;
    case "exit": {
      const returns = names.returns.get(e.coro);
      if (returns === undefined) return `the coroutine ${e.coro} ending, which the scenario does not define`;
      // A coroutine returns what one of its return steps gives, or None at its end.
      if (e.exc === undefined && !returns.includes(canonicalJson(e.value ?? null))) {
        return `${e.coro} returning ${canonicalJson(e.value ?? null)}, a value no return step of it gives`;
      }
      return null;
    }
    case "create_task":
    case "create_future":
      return names.handles.has(e.ref) ? null : `the creation of ${e.ref}, a handle no step binds`;
    default:
      return null;
  }
}

/**
 * The evidence every clause asks for: the main coroutine ran (its first step
 * is recorded), and the trace names only log labels, callbacks, coroutines
 * and task handles that the scenario defines. A trace that records nothing,
 * or the trace of some other scenario, fails here.
 */
export const ofThisScenario: Evidence = ({ scenario, trace }) => {
  const main = scenario.coroutines[0]?.name ?? "main";
  if (!trace.events.some((e) => e.ev === "enter" && e.coro === main)) {
    return `expected the trace to record ${main} entering (the main task's first step), but it does not: nothing of the scenario ran`;
  }
  if (trace.tasks.length === 0) return "expected the trace to list the tasks created, the main task first, but its task list is empty";
  const names = namesOf(scenario);
  for (let i = 0; i < trace.events.length; i++) {
    const foreign = foreignName(trace.events[i], names);
    if (foreign !== null) return `event ${i} records ${foreign}: the trace is not of this scenario`;
  }
  return true;
};

// ---------------------------------------------------------------- evidence a clause lists

/** Counts of a list of names, for "each of these, this many times". */
function counts(names: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const n of names) m.set(n, (m.get(n) ?? 0) + 1);
  return m;
}

/** The first name of `want` that `got` holds fewer times than `want` does, or null. */
function firstShort(want: readonly string[], got: readonly string[]): string | null {
  const have = counts(got);
  const need = counts(want);
  for (const n of want) if ((have.get(n) ?? 0) < need.get(n)!) return n;
  return null;
}

/** The callbacks `select` names (default: every callback the scenario defines) ran, one run per time a name is listed. */
export function callbacksRan(select: (s: Scenario) => readonly string[] = (s) => (s.callbacks ?? []).map((c) => c.name)): Evidence {
  return ({ scenario, trace }) => {
    const want = select(scenario);
    const ran = trace.events.flatMap((e) => (e.ev === "callback" ? [e.callback] : []));
    const missing = firstShort(want, ran);
    if (missing === null) return true;
    return `expected callback ${missing} to run (${want.length} callback run${want.length === 1 ? "" : "s"} expected), but the trace records ${ran.length === 0 ? "no callback run" : `only ${ran.join(", ")}`}`;
  };
}

/** The log steps `select` names (by label, once per step) were recorded. */
export function logged(select: (s: Scenario) => readonly string[]): Evidence {
  return ({ scenario, trace }) => labelsLogged(select(scenario), trace);
}

function labelsLogged(want: readonly string[], trace: Trace): Verdict {
  const got = trace.events.flatMap((e) => (e.ev === "log" ? [e.label] : []));
  const missing = firstShort(want, got);
  if (missing === null) return true;
  return `expected the trace to log "${missing}" (a log step that always runs), but it does not`;
}

/** The trace records at least `atLeast(scenario)` events `ev` matching `filter`; `what` names them in the message. */
export function recorded<E extends TraceEvent["ev"]>(
  ev: E,
  what: string,
  atLeast: (s: Scenario) => number = () => 1,
  filter: (e: Extract<TraceEvent, { ev: E }>) => boolean = () => true,
): Evidence {
  return ({ scenario, trace }) => {
    const want = atLeast(scenario);
    const got = trace.events.filter((e) => e.ev === ev && filter(e as Extract<TraceEvent, { ev: E }>)).length;
    if (got >= want) return true;
    return `expected the trace to record ${want === 1 ? "" : `${want} `}${what}, but it records ${got === 0 ? "none" : got}`;
  };
}

/** The tasks of the create_task steps `select` names (by handle; default: every one of the scenario's) were created. */
export function tasksCreated(select: (s: Scenario) => readonly string[] = taskHandles): Evidence {
  return ({ scenario, trace }) => {
    const got = trace.events.flatMap((e) => (e.ev === "create_task" ? [e.ref] : []));
    const missing = firstShort(select(scenario), got);
    if (missing === null) return true;
    return `expected the trace to record the creation of task ${missing}, but it does not`;
  };
}

/** The coroutines `select` names started: each has an enter event. */
export function entered(select: (s: Scenario) => readonly string[]): Evidence {
  return ({ scenario, trace }) => {
    for (const coro of select(scenario)) {
      if (!trace.events.some((e) => e.ev === "enter" && e.coro === coro)) return `expected the trace to record ${coro} starting (its enter event), but it does not`;
    }
    return true;
  };
}

/** The coroutines `select` names (default: main) ran to their end: each has an exit event, returned or raised. */
export function finished(select: (s: Scenario) => readonly string[] = (s) => [s.coroutines[0].name]): Evidence {
  return ({ scenario, trace }) => {
    for (const coro of select(scenario)) {
      if (!trace.events.some((e) => e.ev === "exit" && e.coro === coro)) return `expected the trace to record ${coro} finishing (its exit event), but it does not`;
    }
    return true;
  };
}


/**
 * Each step `op` anywhere in the scenario left its event (EVENT_OF_STEP):
 * for scenarios in which every such step runs. A step on a handle not bound
 * yet records `unbound` instead, which counts.
 */
export function everyStep(op: Step["op"]): Evidence {
  const ev = EVENT_OF_STEP[op];
  if (ev === undefined) throw new Error(`everyStep: ${op} steps record no event of their own`);
  return ({ scenario, trace }) => {
    const want = allSteps(scenario).filter((s) => s.op === op).length;
    const got = trace.events.filter((e) => e.ev === ev || e.ev === "unbound").length;
    if (got >= want) return true;
    return `expected the trace to record ${want} ${ev} event${want === 1 ? "" : "s"} (one for each ${op} step of the scenario), but it records ${got}`;
  };
}

/**
 * Main ran to its end: its exit is recorded, and so is every step of its
 * own body (nested blocks aside) before its first return: each log by its
 * label, and, when main returned rather than raised, as many events of
 * each kind as such steps (EVENT_OF_STEP; `unbound` counts for any). For
 * scenarios whose main catches what it awaits, which is most of them.
 */
export const mainRanToItsEnd: Evidence = ({ scenario, trace }) => {
  const main = scenario.coroutines[0];
  const exit = trace.events.find((e): e is Extract<TraceEvent, { ev: "exit" }> => e.ev === "exit" && e.coro === main.name);
  if (exit === undefined) return `expected the trace to record ${main.name} finishing (its exit event), but it does not`;
  const firstReturn = main.body.findIndex((s) => s.op === "return");
  const straight = firstReturn === -1 ? main.body : main.body.slice(0, firstReturn);
  const labels = straight.flatMap((s) => (s.op === "log" ? [s.label] : []));
  const missing = labelsLogged(labels, trace);
  if (missing !== true) return missing;
  if (exit.exc !== undefined) return true;
  const want = counts(straight.flatMap((s) => (EVENT_OF_STEP[s.op] !== undefined ? [EVENT_OF_STEP[s.op]!] : [])));
  const unbound = trace.events.filter((e) => e.ev === "unbound").length;
  for (const [ev, n] of want) {
    const got = trace.events.filter((e) => e.ev === ev).length;
    if (got + unbound < n) return `main returned, so its ${n} step${n === 1 ? "" : "s"} recording ${ev} ran, but the trace records ${got} ${ev} event${got === 1 ? "" : "s"}`;
  }
  return true;
};

// ---------------------------------------------------------------- what a scenario's steps name

/** Handles bound by the scenario's create_task steps, once per step. */
export function taskHandles(s: Scenario): string[] {
  return allSteps(s).flatMap((step) => (step.op === "create_task" ? [step.task] : []));
}

/** Coroutines the scenario's create_task steps wrap in tasks, once per step. */
export function spawnedCoroutines(s: Scenario): string[] {
  return allSteps(s).flatMap((step) => (step.op === "create_task" ? [step.coro] : []));
}

/** Callbacks the scenario's add_done_callback steps register, once per registration. */
export function addedCallbacks(s: Scenario): string[] {
  return allSteps(s).flatMap((step) => (step.op === "add_done_callback" ? [step.callback] : []));
}

/** Callbacks the scenario's call_soon steps queue, once per step. */
export function soonCallbacks(s: Scenario): string[] {
  return allSteps(s).flatMap((step) => (step.op === "call_soon" ? [step.callback] : []));
}

/** Labels the scenario's log steps write, once per step: for scenarios in which every step runs. */
export function allLabels(s: Scenario): string[] {
  return allSteps(s).flatMap((step) => (step.op === "log" ? [step.label] : []));
}
