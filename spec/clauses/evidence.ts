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
import { forEachStep, type Scenario, type Step } from "../scenario/types";
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

/** What the evidence checks read of a scenario: each part computed when first asked for. */
interface ScenarioFacts {
  scenario: Scenario;
  /** The scenario with its repeats written out. */
  expanded?: Scenario;
  /** Every step of it, with its coroutine. */
  steps?: ReadonlyArray<{ step: Step; coro: string }>;
  names?: Names;
  straight?: StraightMain;
}

/**
 * The facts of the last scenario asked about: the checks of one case come
 * one after the other (a scenario is not changed once it has been run).
 * One entry rather than a WeakMap keyed by scenario: a run makes some
 * 15,000 scenarios, and a WeakMap's entries cost the collector.
 */
let lastScenario: ScenarioFacts | null = null;

function scenarioFacts(scenario: Scenario): ScenarioFacts {
  if (lastScenario === null || lastScenario.scenario !== scenario) lastScenario = { scenario };
  return lastScenario;
}

/** The scenario with its repeats written out. */
function expand(scenario: Scenario): Scenario {
  const f = scenarioFacts(scenario);
  return (f.expanded ??= expandScenario(scenario));
}

/** Every step of the scenario with its coroutine, nested ones included, repeats written out. */
function stepsOf(scenario: Scenario): ReadonlyArray<{ step: Step; coro: string }> {
  const f = scenarioFacts(scenario);
  return (f.steps ??= stepsIn(expand(scenario)));
}

/**
 * Every step of a scenario as written, with its coroutine (a callback's is
 * `callback:NAME`), nested ones included, in the order of walkSteps
 * (spec/scenario/types.ts), without the JSON path it builds for each step
 * (forEachStep): the evidence never reads the paths, and building them was
 * most of the walk's cost. A repeat not written out counts its body once,
 * as there.
 */
export function stepsIn(scenario: Scenario): Array<{ step: Step; coro: string }> {
  const out: Array<{ step: Step; coro: string }> = [];
  forEachStep(scenario, (step, inCallback, name) => out.push({ step, coro: inCallback ? `callback:${name}` : name }));
  return out;
}

/** canonicalJson(null): what a coroutine returns by falling off its end. */
const NONE = "null";

/**
 * canonicalJson(v), without its copy of v when v is a scalar (most values a
 * coroutine returns): a scalar's canonical JSON is its JSON.
 */
function valueJson(v: unknown): string {
  return typeof v === "object" && v !== null ? canonicalJson(v) : JSON.stringify(v);
}

/** The names a scenario defines, once its repeats are written out. */
function namesOf(scenario: Scenario): Names {
  const f = scenarioFacts(scenario);
  if (f.names !== undefined) return f.names;
  const s = expand(scenario);
  const names: Names = {
    labels: new Set(),
    callbacks: new Set((s.callbacks ?? []).map((c) => c.name)),
    coroutines: new Set(s.coroutines.map((c) => c.name)),
    handles: new Set(),
    ops: new Set(),
    returns: new Map(s.coroutines.map((c) => [c.name, [NONE]])),
  };
  for (const { step, coro } of stepsOf(scenario)) {
    names.ops.add(step.op);
    if (step.op === "return") names.returns.get(coro)?.push(valueJson(step.value ?? null));
    if (step.op === "log") names.labels.add(step.label);
    else if (step.op === "create_task") names.handles.add(step.task);
    else if (step.op === "create_future") names.handles.add(step.future);
  }
  f.names = names;
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

/**
 * Every kind of event a trace records, numbered: one pass over a trace's
 * events looks each one's kind up once (factsOf), and what follows counts
 * and dispatches on the number. (An event's `ev` comes from JSON.parse, a
 * fresh string: a lookup keyed by it, or a comparison with a literal, reads
 * its characters each time.)
 */
const KIND: Readonly<Record<TraceEvent["ev"], number>> = {
  log: 0, enter: 1, exit: 2, create_task: 3, awaited: 4, cancel: 5, inspect: 6, caught: 7, unbound: 8,
  exception_handler: 9, shutdown: 10, create_future: 11, ensure_future: 12, never_awaited: 13,
  set_result: 14, set_exception: 15, result: 16, exception: 17, uncancel: 18, current_task: 19,
  all_tasks: 20, remove_done_callback: 21, callback: 22, inspect_timeout: 23, weakref: 24, as_completed: 25,
};
const KIND_COUNT = Object.keys(KIND).length;
const KIND_OF = new Map<string, number>(Object.entries(KIND));
/** An event of a kind no trace should record (a hostile implementation's). */
const UNKNOWN = -1;

/** By kind: the op of the step a probe's event comes from (STEP_OF_EVENT), else undefined. */
const PROBE_OP: ReadonlyArray<Step["op"] | undefined> = Object.keys(KIND).map((ev) => STEP_OF_EVENT[ev as TraceEvent["ev"]]);

/**
 * What a foreign event names that the scenario does not define, if anything;
 * `kind` is its KIND. An event of a kind no trace should record (UNKNOWN) is
 * looked up in STEP_OF_EVENT by its name, as every event was before kinds
 * were numbered, so that what a hostile trace is told stays the same.
 */
function foreignName(e: TraceEvent, kind: number, names: Names): string | null {
  const op = kind === UNKNOWN ? STEP_OF_EVENT[e.ev] : PROBE_OP[kind];
  if (op !== undefined && !names.ops.has(op)) return `${/^[aeiou]/.test(e.ev) ? "an" : "a"} ${e.ev} event, but the scenario has no ${op} step`;
  switch (kind) {
    case KIND.log: {
      const l = e as Extract<TraceEvent, { ev: "log" }>;
      return names.labels.has(l.label) ? null : `the log label "${l.label}", which no log step writes`;
    }
    case KIND.callback: {
      const c = e as Extract<TraceEvent, { ev: "callback" }>;
      return names.callbacks.has(c.callback) ? null : `a run of callback ${c.callback}, which the scenario does not define`;
    }
    case KIND.enter: {
      const x = e as Extract<TraceEvent, { ev: "enter" }>;
      return names.coroutines.has(x.coro) ? null : `the coroutine ${x.coro} entering, which the scenario does not define`;
    }
    case KIND.exit: {
      const x = e as Extract<TraceEvent, { ev: "exit" }>;
      const returns = names.returns.get(x.coro);
      if (returns === undefined) return `the coroutine ${x.coro} ending, which the scenario does not define`;
      // A coroutine returns what one of its return steps gives, or None at its end.
      if (x.exc === undefined && !returns.includes(valueJson(x.value ?? null))) {
        return `${x.coro} returning ${valueJson(x.value ?? null)}, a value no return step of it gives`;
      }
      return null;
    }
    case KIND.create_task:
    case KIND.create_future: {
      const x = e as Extract<TraceEvent, { ev: "create_task" | "create_future" }>;
      return names.handles.has(x.ref) ? null : `the creation of ${x.ref}, a handle no step binds`;
    }
    default:
      return null;
  }
}

// ---------------------------------------------------------------- what a trace records

/**
 * What the evidence checks ask of a trace, gathered in one pass over its
 * events: a clause asks for several pieces of evidence, and a trace the memo
 * hands out again (harness/running/memo.ts) may be checked by several
 * clauses. Kept for the last trace asked about (the checks of one case come
 * one after the other): a trace is not written once it has been produced
 * (the memo freezes them under the tests to make sure).
 */
interface TraceFacts {
  trace: Trace;
  events: readonly TraceEvent[];
  /** Each event's KIND, in the order of the events. */
  kinds: Int8Array;
  /** How many events of each KIND. */
  counts: Int32Array;
  /** The coroutines that entered. */
  entered: Set<string>;
  /** Each coroutine's first exit event. */
  exits: Map<string, Extract<TraceEvent, { ev: "exit" }>>;
  /** How many times each label was logged. */
  labels: Map<string, number>;
  /** The callbacks that ran, in order, once per run. */
  callbacks: string[];
  /** The handles of the tasks created (create_task events), in order. */
  created: string[];
}

let lastFacts: TraceFacts | null = null;

function factsOf(trace: Trace): TraceFacts {
  const events = trace.events;
  // The same trace, and (cheap to make sure) the same events, as many of them.
  if (lastFacts !== null && lastFacts.trace === trace && lastFacts.events === events && lastFacts.kinds.length === events.length) return lastFacts;
  const facts: TraceFacts = {
    trace,
    events,
    kinds: new Int8Array(events.length),
    counts: new Int32Array(KIND_COUNT),
    entered: new Set(),
    exits: new Map(),
    labels: new Map(),
    callbacks: [],
    created: [],
  };
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const kind = KIND_OF.get(e.ev) ?? UNKNOWN;
    facts.kinds[i] = kind;
    if (kind === UNKNOWN) continue;
    facts.counts[kind]++;
    switch (kind) {
      case KIND.enter:
        facts.entered.add((e as Extract<TraceEvent, { ev: "enter" }>).coro);
        break;
      case KIND.exit: {
        const x = e as Extract<TraceEvent, { ev: "exit" }>;
        if (!facts.exits.has(x.coro)) facts.exits.set(x.coro, x);
        break;
      }
      case KIND.log: {
        const label = (e as Extract<TraceEvent, { ev: "log" }>).label;
        facts.labels.set(label, (facts.labels.get(label) ?? 0) + 1);
        break;
      }
      case KIND.callback:
        facts.callbacks.push((e as Extract<TraceEvent, { ev: "callback" }>).callback);
        break;
      case KIND.create_task:
        facts.created.push((e as Extract<TraceEvent, { ev: "create_task" }>).ref);
        break;
    }
  }
  lastFacts = facts;
  return facts;
}

/** How many events `ev` the trace records. */
function countOf(trace: Trace, ev: TraceEvent["ev"]): number {
  return factsOf(trace).counts[KIND[ev]];
}

/**
 * The evidence every clause asks for: the main coroutine ran (its first step
 * is recorded), and the trace names only log labels, callbacks, coroutines
 * and task handles that the scenario defines. A trace that records nothing,
 * or the trace of some other scenario, fails here.
 */
export const ofThisScenario: Evidence = ({ scenario, trace }) => {
  const main = scenario.coroutines[0]?.name ?? "main";
  const facts = factsOf(trace);
  if (!facts.entered.has(main)) {
    return `expected the trace to record ${main} entering (the main task's first step), but it does not: nothing of the scenario ran`;
  }
  if (trace.tasks.length === 0) return "expected the trace to list the tasks created, the main task first, but its task list is empty";
  const names = namesOf(scenario);
  for (let i = 0; i < trace.events.length; i++) {
    const foreign = foreignName(trace.events[i], facts.kinds[i], names);
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

/** The first name of `want` that `have` counts fewer times than `want` lists it, or null. */
function firstShort(want: readonly string[], have: ReadonlyMap<string, number>): string | null {
  if (want.length === 0) return null;
  const need = counts(want);
  for (const n of want) if ((have.get(n) ?? 0) < need.get(n)!) return n;
  return null;
}

/** The callbacks `select` names (default: every callback the scenario defines) ran, one run per time a name is listed. */
export function callbacksRan(select: (s: Scenario) => readonly string[] = (s) => (s.callbacks ?? []).map((c) => c.name)): Evidence {
  return ({ scenario, trace }) => {
    const want = select(scenario);
    const ran = factsOf(trace).callbacks;
    const missing = firstShort(want, counts(ran));
    if (missing === null) return true;
    return `expected callback ${missing} to run (${want.length} callback run${want.length === 1 ? "" : "s"} expected), but the trace records ${ran.length === 0 ? "no callback run" : `only ${ran.join(", ")}`}`;
  };
}

/** The log steps `select` names (by label, once per step) were recorded. */
export function logged(select: (s: Scenario) => readonly string[]): Evidence {
  return ({ scenario, trace }) => labelsLogged(select(scenario), trace);
}

function labelsLogged(want: readonly string[], trace: Trace): Verdict {
  const missing = firstShort(want, factsOf(trace).labels);
  if (missing === null) return true;
  return `expected the trace to log "${missing}" (a log step that always runs), but it does not`;
}

/** The trace records at least `atLeast(scenario)` events `ev` matching `filter` (default: every one); `what` names them in the message. */
export function recorded<E extends TraceEvent["ev"]>(
  ev: E,
  what: string,
  atLeast: (s: Scenario) => number = () => 1,
  filter?: (e: Extract<TraceEvent, { ev: E }>) => boolean,
): Evidence {
  return ({ scenario, trace }) => {
    const want = atLeast(scenario);
    const got =
      filter === undefined ? countOf(trace, ev) : trace.events.filter((e) => e.ev === ev && filter(e as Extract<TraceEvent, { ev: E }>)).length;
    if (got >= want) return true;
    return `expected the trace to record ${want === 1 ? "" : `${want} `}${what}, but it records ${got === 0 ? "none" : got}`;
  };
}

/** The tasks of the create_task steps `select` names (by handle; default: every one of the scenario's) were created. */
export function tasksCreated(select: (s: Scenario) => readonly string[] = taskHandles): Evidence {
  return ({ scenario, trace }) => {
    const missing = firstShort(select(scenario), counts(factsOf(trace).created));
    if (missing === null) return true;
    return `expected the trace to record the creation of task ${missing}, but it does not`;
  };
}

/** The coroutines `select` names started: each has an enter event. */
export function entered(select: (s: Scenario) => readonly string[]): Evidence {
  return ({ scenario, trace }) => {
    const started = factsOf(trace).entered;
    for (const coro of select(scenario)) {
      if (!started.has(coro)) return `expected the trace to record ${coro} starting (its enter event), but it does not`;
    }
    return true;
  };
}

/** The coroutines `select` names (default: main) ran to their end: each has an exit event, returned or raised. */
export function finished(select: (s: Scenario) => readonly string[] = (s) => [s.coroutines[0].name]): Evidence {
  return ({ scenario, trace }) => {
    const exits = factsOf(trace).exits;
    for (const coro of select(scenario)) {
      if (!exits.has(coro)) return `expected the trace to record ${coro} finishing (its exit event), but it does not`;
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
    let want = 0;
    for (const { step } of stepsOf(scenario)) if (step.op === op) want++;
    const got = countOf(trace, ev) + countOf(trace, "unbound");
    if (got >= want) return true;
    return `expected the trace to record ${want} ${ev} event${want === 1 ? "" : "s"} (one for each ${op} step of the scenario), but it records ${got}`;
  };
}

/** What main's own body (nested blocks aside, up to its first return) must leave in the trace. */
interface StraightMain {
  /** Its log steps' labels, once per step. */
  labels: string[];
  /** How many events of each kind its counted steps leave (EVENT_OF_STEP), in the order the steps come. */
  events: Array<{ ev: TraceEvent["ev"]; kind: number; n: number }>;
}

function straightMain(scenario: Scenario): StraightMain {
  const f = scenarioFacts(scenario);
  if (f.straight !== undefined) return f.straight;
  const labels: string[] = [];
  // By kind of event, in the order the steps come.
  const events = new Map<TraceEvent["ev"], number>();
  for (const step of scenario.coroutines[0].body) {
    if (step.op === "return") break;
    if (step.op === "log") labels.push(step.label);
    const ev = EVENT_OF_STEP[step.op];
    if (ev !== undefined) events.set(ev, (events.get(ev) ?? 0) + 1);
  }
  return (f.straight = { labels, events: [...events].map(([ev, n]) => ({ ev, kind: KIND[ev], n })) });
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
  const exit = factsOf(trace).exits.get(main.name);
  if (exit === undefined) return `expected the trace to record ${main.name} finishing (its exit event), but it does not`;
  const straight = straightMain(scenario);
  const missing = labelsLogged(straight.labels, trace);
  if (missing !== true) return missing;
  if (exit.exc !== undefined) return true;
  const counted = factsOf(trace).counts;
  const unbound = counted[KIND.unbound];
  for (const { ev, kind, n } of straight.events) {
    const got = counted[kind];
    if (got + unbound < n) return `main returned, so its ${n} step${n === 1 ? "" : "s"} recording ${ev} ran, but the trace records ${got} ${ev} event${got === 1 ? "" : "s"}`;
  }
  return true;
};

// ---------------------------------------------------------------- what a scenario's steps name

/** Handles bound by the scenario's create_task steps, once per step. */
export function taskHandles(s: Scenario): string[] {
  return stepsOf(s).flatMap(({ step }) => (step.op === "create_task" ? [step.task] : []));
}

/** Coroutines the scenario's create_task steps wrap in tasks, once per step. */
export function spawnedCoroutines(s: Scenario): string[] {
  return stepsOf(s).flatMap(({ step }) => (step.op === "create_task" ? [step.coro] : []));
}

/** Callbacks the scenario's add_done_callback steps register, once per registration. */
export function addedCallbacks(s: Scenario): string[] {
  return stepsOf(s).flatMap(({ step }) => (step.op === "add_done_callback" ? [step.callback] : []));
}

/** Callbacks the scenario's call_soon steps queue, once per step. */
export function soonCallbacks(s: Scenario): string[] {
  return stepsOf(s).flatMap(({ step }) => (step.op === "call_soon" ? [step.callback] : []));
}

/** Labels the scenario's log steps write, once per step: for scenarios in which every step runs. */
export function allLabels(s: Scenario): string[] {
  return stepsOf(s).flatMap(({ step }) => (step.op === "log" ? [step.label] : []));
}
