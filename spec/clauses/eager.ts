/**
 * Clauses: the eager task factory — "Eager Task Factory" of the
 * "Coroutines and Tasks" page (Python 3.12+, gh-97696).
 *
 * Scenarios run with `eager: true`: the loop has asyncio.eager_task_factory
 * installed, so every task created while the loop runs starts inside
 * create_task. The main task is created before the loop runs and starts as
 * usual. Only main spawns tasks here, so an eager first step never contains
 * another one: the events between a child's `enter` and the `create_task`
 * event that returns its task are exactly that first step.
 *
 * Names: loop.create_task calls a task factory without the name and names
 * the task afterwards, so a first step runs under a default name "Task-N"
 * even when create_task was given a name; on CPython 3.13.0 the renaming
 * happens even without a name, and the task ends up named "None" (main
 * too). Later 3.13 releases pass the name to the factory instead
 * (gh-128308, gh-130033); the clauses say 3.13 for 3.13.0, the 3.13 this
 * project checks against.
 */
import fc from "fast-check";
import type { Scenario, Step } from "../scenario/types";
import type { TraceEvent } from "../scenario/trace";
import { canonicalJson } from "../scenario/trace";
import { DOCS, clause } from "./clause";
import { mainRanToItsEnd } from "./evidence";
import type { Clause } from "./clause";
import type { PythonVersion } from "../../implementations/reference/profile";
import { VALUE_POOL, createIndex, createSteps, enterIndex, exitIndex, inspect, is, isDefaultName, log, ret, scenarioOf, sleep, spawn } from "./tasks";

const EAGER_VERSIONS: readonly PythonVersion[] = ["3.12", "3.13", "3.14"];
const show = (x: unknown): string => canonicalJson(x);
/** The scenario features eagerArb uses. */
const EAGER_NEEDS = [
  "all_tasks", "await", "create_future", "create_task", "current_task", "eager", "inspect", "log", "raise", "return", "set_result", "sleep", "task",
];
const SOURCE = { url: DOCS.tasks + "#eager-task-factory", section: "Eager Task Factory" };

interface EagerOptions {
  /** Children's names: always given (distinct), or either (the first child unnamed). */
  named: "always" | "mixed";
  /** The first child records current_task() and all_tasks() in its first step. */
  probes?: boolean;
}

/**
 * main records current_task() ("ct:main" marker), then spawns c1..cK
 * (K = 1..3), each maybe followed by an inspect, an all_tasks() and a
 * current_task(), and sleeps until everything is done. A child's first
 * step records a marker log, maybe current_task() ("ct:cK" marker) and
 * all_tasks(), then either ends (returns or raises) or suspends (sleep 0
 * or 1, or an await of a future main resolves later) and records more.
 */
function eagerArb(opts: EagerOptions): fc.Arbitrary<Scenario> {
  const child = fc.record({
    named: opts.named === "mixed" ? fc.boolean() : fc.constant(opts.named === "always"),
    probes: fc.subarray(["current_task", "all_tasks"] as const),
    ending: fc.constantFrom("return", "raise", "sleep", "future"),
    ticks: fc.nat(1),
    value: fc.constantFrom(...VALUE_POOL),
    after: fc.subarray(["inspect", "all_tasks", "current_task"] as const),
  });
  return fc.array(child, { minLength: 1, maxLength: 3 }).map((children) => {
    if (opts.named === "mixed") children[0] = { ...children[0], named: false };
    if (opts.probes) children[0] = { ...children[0], probes: ["current_task", "all_tasks"] };
    const ct = (x: string): Step[] => [log(`ct:${x}`), { op: "current_task" }];
    const main: Step[] = [...ct("main")];
    const future = children.some((c) => c.ending === "future");
    if (future) main.push({ op: "create_future", future: "f1" });
    const coros: Array<[string, Step[]]> = [];
    children.forEach((c, k) => {
      const name = `c${k + 1}`;
      const ref = `t${k + 1}`;
      main.push(spawn(name, ref, c.named ? `e${k + 1}` : null));
      for (const a of c.after) {
        if (a === "inspect") main.push(inspect(ref));
        else if (a === "all_tasks") main.push({ op: "all_tasks" });
        else main.push(...ct("main"));
      }
      const body: Step[] = [log(`${name}:first`)];
      for (const p of c.probes) body.push(...(p === "current_task" ? ct(name) : [{ op: "all_tasks" } as Step]));
      if (c.ending === "return") body.push(ret(c.value));
      else if (c.ending === "raise") body.push({ op: "raise", exc: { type: "ValueError", args: ["boom"] } });
      else {
        body.push(c.ending === "sleep" ? sleep(c.ticks) : { op: "await", on: { task: "f1" } });
        body.push(...ct(name), { op: "all_tasks" }, ret(c.value));
      }
      coros.push([name, body]);
    });
    main.push(sleep(0), ...ct("main"));
    if (future) main.push({ op: "set_result", future: "f1", value: 1 });
    main.push(sleep(3), { op: "all_tasks" });
    return scenarioOf([["main", main], ...coros], { eager: true });
  });
}

/** Does a child's body suspend (the eagerArb children suspend only at a top-level sleep or await)? */
function suspends(scenario: Scenario, coro: string): boolean {
  return scenario.coroutines.find((c) => c.name === coro)!.body.some((s) => s.op === "sleep" || s.op === "await");
}

/** For each spawned child: its create_task event, its enter, its exit (indices, -1 when absent). */
function firstSteps(scenario: Scenario, ev: TraceEvent[]) {
  return createSteps(scenario).map((s) => ({
    step: s,
    created: createIndex(ev, s.task),
    entered: enterIndex(ev, s.coro),
    exited: exitIndex(ev, s.coro),
  }));
}

const firstStepInline = clause({
  id: "eager.first_step_inline",
  statement:
    "With the eager task factory, create_task runs the coroutine at once, up to its first suspension, before it returns: the first step's events come before the create_task event, with nothing of the creating task in between.",
  source: SOURCE,
  versions: EAGER_VERSIONS,
  level: "documented",
  needs: EAGER_NEEDS,
  note: "asyncio.eager_task_factory is new in 3.12",
  brokenBy: ["mutant:eager-factory-lazy"],
  evidence: [mainRanToItsEnd],
  scenarios: () => eagerArb({ named: "mixed" }),
  check({ scenario, trace }) {
    const ev = trace.events;
    for (const { step, created, entered, exited } of firstSteps(scenario, ev)) {
      if (created === -1) return `${step.task} was not created`;
      if (entered === -1 || entered > created) return `${step.coro} did not start inside create_task (create_task returned at event ${created})`;
      const own = ev[entered].task;
      if (own === ev[created].task) return `${step.coro}'s first step ran as the creating task ${show(own)}`;
      for (let k = entered; k < created; k++) {
        if (ev[k].task !== own) return `event ${k}, inside ${step.coro}'s first step, belongs to ${show(ev[k].task)}`;
      }
      if (!suspends(scenario, step.coro) && (exited === -1 || exited > created)) return `${step.coro} never suspends, yet it had not finished when create_task returned`;
    }
    return true;
  },
});

const finishedNeverScheduled = clause({
  id: "eager.finished_never_scheduled",
  statement:
    "A task whose coroutine ends in its eager first step is already done when create_task returns and is never listed by all_tasks(); one that suspended is pending and listed like any scheduled task until it ends.",
  source: SOURCE,
  versions: EAGER_VERSIONS,
  level: "documented",
  needs: EAGER_NEEDS,
  note: "asyncio.eager_task_factory is new in 3.12",
  brokenBy: ["mutant:eager-factory-lazy", "mutant:all-tasks-keeps-done"],
  evidence: [mainRanToItsEnd],
  scenarios: () => eagerArb({ named: "always" }),
  check({ scenario, trace }) {
    const ev = trace.events;
    for (const { step, created, exited } of firstSteps(scenario, ev)) {
      const name = step.name!;
      // Whether the coroutine suspends at all is in the scenario, whatever the trace says.
      const eager = !suspends(scenario, step.coro);
      const right = ev[created + 1];
      if (is(right, "inspect") && right.ref === step.task && right.done !== eager) {
        return `right after create_task, ${step.task} has done()=${right.done}, though its coroutine ${eager ? "finished" : "suspended"} in the first step`;
      }
      for (let j = created + 1; j < ev.length; j++) {
        const e = ev[j];
        if (!is(e, "all_tasks")) continue;
        const listed = e.names.includes(name);
        if (eager && listed) return `all_tasks() lists ${show(name)} (event ${j}), whose coroutine never suspends: it finishes in its eager first step`;
        if (!eager && (exited === -1 || j < exited) && !listed) return `all_tasks() leaves out the pending task ${show(name)} (event ${j})`;
        if (!eager && exited !== -1 && j > exited && listed) return `all_tasks() lists ${show(name)} (event ${j}) after it finished`;
      }
    }
    return true;
  },
});

const currentTaskFirstStep = clause({
  id: "eager.current_task_first_step",
  statement:
    "During its eager first step the new task is the current task, not its creator; once create_task returns, the creator is current again.",
  source: SOURCE,
  versions: EAGER_VERSIONS,
  level: "documented",
  needs: EAGER_NEEDS,
  note: "asyncio.eager_task_factory is new in 3.12",
  brokenBy: ["mutant:current-task-ignores-eager"],
  evidence: [mainRanToItsEnd],
  scenarios: () => eagerArb({ named: "mixed", probes: true }),
  check({ scenario, trace }) {
    const ev = trace.events;
    const mainName = ev[enterIndex(ev, "main")]?.task ?? null;
    const steps = firstSteps(scenario, ev);
    for (let j = 1; j < ev.length; j++) {
      const e = ev[j];
      const before = ev[j - 1];
      if (!is(e, "current_task") || !is(before, "log") || !before.label.startsWith("ct:")) continue;
      const x = before.label.slice(3);
      if (x === "main") {
        if (e.name !== mainName) return `current_task() in main is ${show(e.name)}, not main's own task ${show(mainName)} (event ${j})`;
        continue;
      }
      const s = steps.find((f) => f.step.coro === x)!;
      if (j < s.created) {
        const creator = ev[s.created].task;
        if (e.name === null || e.name === creator) {
          return `current_task() in ${x}'s eager first step is ${show(e.name)}, the creating task's, not the new task (event ${j})`;
        }
      }
    }
    return true;
  },
});

const allTasksFirstStep = clause({
  id: "eager.all_tasks_first_step",
  statement: "During its eager first step the new task, not finished yet, is in all_tasks(), and so is the task creating it.",
  source: SOURCE,
  versions: EAGER_VERSIONS,
  level: "documented",
  needs: EAGER_NEEDS,
  note: "asyncio.eager_task_factory is new in 3.12",
  brokenBy: ["mutant:all-tasks-omits-eager"],
  evidence: [mainRanToItsEnd],
  scenarios: () => eagerArb({ named: "mixed", probes: true }),
  check({ scenario, trace }) {
    const ev = trace.events;
    for (const { step, created, entered } of firstSteps(scenario, ev)) {
      if (entered === -1 || created === -1) continue;
      for (let j = entered; j < created; j++) {
        const e = ev[j];
        if (!is(e, "all_tasks")) continue;
        if (!e.names.includes(e.task!)) return `all_tasks() in ${step.coro}'s eager first step leaves out the task itself, ${show(e.task)} (event ${j})`;
        if (!e.names.includes(ev[created].task!)) return `all_tasks() in ${step.coro}'s eager first step leaves out its creator ${show(ev[created].task)} (event ${j})`;
      }
    }
    return true;
  },
});

const firstStepDefaultName = clause({
  id: "eager.first_step_default_name",
  statement:
    "loop.create_task calls the task factory without the name and names the task afterwards: an eager task runs its first step under a default name Task-N, and has the name it was given once create_task returns.",
  source: SOURCE,
  versions: ["3.12", "3.13"],
  level: "exact",
  needs: EAGER_NEEDS,
  note: "3.13.0; later 3.13 releases pass the name to the factory (gh-128308)",
  brokenBy: ["mutant:eager-factory-gets-name"],
  evidence: [mainRanToItsEnd],
  scenarios: () => eagerArb({ named: "always" }),
  check({ scenario, trace }) {
    const ev = trace.events;
    for (const { step, created, entered } of firstSteps(scenario, ev)) {
      if (entered === -1 || created === -1) continue;
      const during = ev[entered].task;
      if (during === null || !isDefaultName(during)) return `${step.coro} ran its eager first step as ${show(during)}, not under a default name`;
      const after = ev[created];
      if (is(after, "create_task") && after.name !== step.name) return `create_task(name=${show(step.name)}) returned a task named ${show(after.name)}`;
    }
    return true;
  },
});

const unnamedNone = clause({
  id: "eager.unnamed_task_named_none",
  statement:
    "With a task factory installed, loop.create_task renames every new task with set_name(name) even when name is None, so a task created without a name, main included, is named \"None\".",
  source: SOURCE,
  versions: ["3.13"],
  level: "exact",
  needs: EAGER_NEEDS,
  note: "CPython 3.13.0 only (fixed in later 3.13 releases, gh-130033); 3.12 keeps the default name",
  brokenBy: ["mutant:eager-factory-gets-name", "mutant:factory-rename-flipped"],
  evidence: [mainRanToItsEnd],
  scenarios: () => eagerArb({ named: "mixed" }),
  check({ scenario, trace }) {
    if (trace.tasks[0]?.name !== "None") return `the main task is named ${show(trace.tasks[0]?.name)}, not "None"`;
    for (const s of createSteps(scenario)) {
      if (s.name !== undefined) continue;
      const i = createIndex(trace.events, s.task);
      const e = trace.events[i];
      if (is(e, "create_task") && e.name !== "None") return `${s.task}, created without a name, is named ${show(e.name)}, not "None"`;
    }
    return true;
  },
});

const unnamedDefault = clause({
  id: "eager.unnamed_task_keeps_default_name",
  statement: "With a task factory installed, a task created without a name keeps its default name Task-N, main included.",
  source: SOURCE,
  versions: ["3.12", "3.14"],
  level: "exact",
  needs: EAGER_NEEDS,
  note: "CPython 3.13.0 names such tasks \"None\" (gh-130033)",
  brokenBy: ["mutant:factory-rename-flipped"],
  evidence: [mainRanToItsEnd],
  scenarios: () => eagerArb({ named: "mixed" }),
  check({ scenario, trace }) {
    if (!isDefaultName(trace.tasks[0]?.name ?? "")) return `the main task is named ${show(trace.tasks[0]?.name)}, not Task-N`;
    for (const s of createSteps(scenario)) {
      if (s.name !== undefined) continue;
      const e = trace.events[createIndex(trace.events, s.task)];
      if (is(e, "create_task") && !isDefaultName(e.name)) return `${s.task}, created without a name, is named ${show(e.name)}`;
    }
    return true;
  },
});

const firstStepGivenName = clause({
  id: "eager.first_step_given_name",
  statement:
    "loop.create_task passes the name to the task factory: an eager task runs its first step under the name it was given, and still has that name once create_task returns.",
  source: SOURCE,
  versions: ["3.14"],
  level: "exact",
  needs: EAGER_NEEDS,
  note: "3.14 passes create_task's keyword arguments on to the task factory (gh-128308); 3.12 and 3.13.0 rename the task after its first step (eager.first_step_default_name)",
  brokenBy: ["mutant:factory-name-flipped"],
  evidence: [mainRanToItsEnd],
  scenarios: () => eagerArb({ named: "always" }),
  check({ scenario, trace }) {
    const ev = trace.events;
    for (const { step, created, entered } of firstSteps(scenario, ev)) {
      if (entered === -1 || created === -1) continue;
      const during = ev[entered].task;
      if (during !== step.name) return `${step.coro} ran its eager first step as ${show(during)}, not under its name ${show(step.name)}`;
      const after = ev[created];
      if (is(after, "create_task") && after.name !== step.name) return `create_task(name=${show(step.name)}) returned a task named ${show(after.name)}`;
    }
    return true;
  },
});

// ================================================================ 3.14's eager_start keyword

/** A create_task's eager_start: true, false, null, or not given (undefined). */
type EagerStart = boolean | null | undefined;

interface EagerStartOptions {
  /** Children may be created by a TaskGroup (3.11+). */
  group: boolean;
  /** The loop may have the eager task factory (3.12+). */
  factory: boolean;
  /** Every create_task passes eager_start, or only some do. */
  given: "always" | "maybe";
}

/**
 * main creates c1..cK (K = 1..3), each create_task between the marker logs
 * "b:tK" and "a:tK" and inside a try that catches Exception ("refused:tK"),
 * each maybe passing eager_start (true, false or null), maybe inside a
 * TaskGroup block; the loop maybe has the eager task factory. A child logs
 * "cK:first", maybe sleeps, and returns. main sleeps until all is done.
 */
function eagerStartArb(o: EagerStartOptions): fc.Arbitrary<Scenario> {
  const starts: EagerStart[] = o.given === "always" ? [true, false, null] : [true, false, null, undefined];
  const kid = fc.record({ start: fc.constantFrom(...starts), suspend: fc.boolean(), grouped: o.group ? fc.boolean() : fc.constant(false) });
  return fc
    .record({ kids: fc.array(kid, { minLength: 1, maxLength: 3 }), factory: o.factory ? fc.boolean() : fc.constant(false) })
    .map(({ kids, factory }) => {
      const main: Step[] = [];
      const inGroup: Step[] = [];
      const coros: Array<[string, Step[]]> = [];
      kids.forEach((k, i) => {
        const c = `c${i + 1}`;
        const t = `t${i + 1}`;
        const create: Step = { op: "create_task", coro: c, task: t, ...(k.grouped ? { group: "g" } : {}), ...(k.start !== undefined ? { eager_start: k.start } : {}) };
        const guarded: Step = { op: "try", body: [create, log(`a:${t}`)], except: [{ type: "Exception", body: [log(`refused:${t}`)] }] };
        (k.grouped ? inGroup : main).push(log(`b:${t}`), guarded);
        coros.push([c, [log(`${c}:first`), ...(k.suspend ? [sleep(1)] : []), ret(i + 1)]]);
      });
      if (inGroup.length > 0) main.push({ op: "taskgroup", group: "g", body: inGroup });
      main.push(sleep(3));
      return scenarioOf([["main", main], ...coros], { eager: factory });
    });
}

/** The create_task steps of an eagerStartArb scenario, with their markers' places in the trace. */
function eagerStartCases(scenario: Scenario, ev: TraceEvent[]) {
  const at = (label: string) => ev.findIndex((e) => is(e, "log") && e.label === label);
  return createSteps(scenario).map((step) => ({
    step,
    given: "eager_start" in step,
    before: at(`b:${step.task}`),
    after: at(`a:${step.task}`),
    refused: at(`refused:${step.task}`),
    first: at(`${step.coro}:first`),
    created: createIndex(ev, step.task),
  }));
}

/** Before 3.14: each create_task given eager_start raised TypeError with this message, and made no task. */
function refusedEverywhere(scenario: Scenario, ev: TraceEvent[], message: (grouped: boolean) => string): string | true {
  for (const c of eagerStartCases(scenario, ev)) {
    if (!c.given) continue;
    const t = c.step.task;
    if (c.before === -1) return `main never reached the create_task of ${t}`;
    if (c.refused === -1) return `create_task(..., eager_start=${show(c.step.eager_start)}) for ${t} did not raise`;
    const want = message(c.step.group !== undefined);
    const caught = ev.slice(c.before, c.refused).find((e) => is(e, "caught"));
    if (!is(caught, "caught") || caught.exc.type !== "TypeError" || show(caught.exc.args) !== show([want])) {
      return `create_task(..., eager_start=...) for ${t} raised ${show(is(caught, "caught") ? caught.exc : null)}, not TypeError(${show(want)})`;
    }
    if (c.after !== -1 || c.created !== -1) return `create_task(..., eager_start=...) for ${t} returned a task`;
    if (c.first !== -1) return `${c.step.coro} ran (event ${c.first}) although its create_task raised`;
  }
  return true;
}

const BEFORE_3_14: readonly PythonVersion[] = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"];
const EAGER_START_SOURCE = { url: DOCS.tasks + "#asyncio.create_task", section: "Creating Tasks" };

const eagerStartRefused = clause({
  id: "eager.start_keyword_refused",
  statement:
    "Before Python 3.14, asyncio.create_task has no eager_start parameter: passing it raises TypeError (an unexpected keyword argument), and no task is made, so the coroutine never runs.",
  source: EAGER_START_SOURCE,
  versions: BEFORE_3_14,
  level: "documented",
  note: "create_task: Changed in version 3.14: Added the eager_start parameter by passing on all kwargs (gh-128307)",
  needs: ["create_task", "create_task:eager_start", "log", "return", "sleep", "try"],
  brokenBy: ["mutant:eager-start-before-3-14"],
  evidence: [mainRanToItsEnd],
  scenarios: () => eagerStartArb({ group: false, factory: false, given: "always" }),
  check: ({ scenario, trace }) => refusedEverywhere(scenario, trace.events, () => "create_task() got an unexpected keyword argument 'eager_start'"),
});

const groupEagerStartRefused = clause({
  id: "eager.group_start_keyword_refused",
  statement:
    "Before Python 3.14, TaskGroup.create_task has no eager_start parameter either: passing it raises TypeError, no task is made and the group goes on without it; so does asyncio.create_task under the eager task factory (3.12, 3.13).",
  source: EAGER_START_SOURCE,
  versions: ["3.11", "3.12", "3.13"],
  level: "documented",
  note: "TaskGroup.create_task: Changed in version 3.14: Passes on all kwargs to loop.create_task (gh-128307)",
  needs: ["create_task", "create_task:eager_start", "eager", "log", "return", "sleep", "taskgroup", "try"],
  brokenBy: ["mutant:eager-start-before-3-14"],
  evidence: [mainRanToItsEnd],
  scenarios: (version) => eagerStartArb({ group: true, factory: version !== "3.11", given: "always" }),
  check: ({ scenario, trace }) =>
    refusedEverywhere(scenario, trace.events, (grouped) => `${grouped ? "TaskGroup." : ""}create_task() got an unexpected keyword argument 'eager_start'`),
});

const eagerStartKeyword = clause({
  id: "eager.start_keyword",
  statement:
    "From Python 3.14, create_task(coro, eager_start=True) (asyncio's, or a TaskGroup's) starts the task eagerly, running the coroutine up to its first suspension before create_task returns, with or without the eager task factory; eager_start=False or None makes a lazy task even under the eager task factory; without the keyword, the factory decides.",
  source: EAGER_START_SOURCE,
  versions: ["3.14"],
  level: "documented",
  note: "gh-128307; checked on CPython 3.14.2 (Pyodide 314): eager_start=None under asyncio.eager_task_factory makes a lazy task (the factory's eager_start=True is only a default)",
  needs: ["create_task", "create_task:eager_start", "eager", "log", "return", "sleep", "taskgroup", "try"],
  brokenBy: ["mutant:eager-start-ignored"],
  evidence: [mainRanToItsEnd],
  scenarios: () => eagerStartArb({ group: true, factory: true, given: "maybe" }),
  check({ scenario, trace }) {
    const ev = trace.events;
    for (const c of eagerStartCases(scenario, ev)) {
      const t = c.step.task;
      const start = c.step.eager_start;
      const eager = start === true || (start === undefined && scenario.eager === true);
      const how = c.given ? `eager_start=${show(start)}` : `no eager_start${scenario.eager ? " under the eager task factory" : ""}`;
      if (c.refused !== -1) return `create_task(..., ${how}) for ${t} raised`;
      if (c.first === -1 || c.after === -1 || c.created === -1) return `${t} was not created, or ${c.step.coro} never ran`;
      if (eager && !(c.before < c.first && c.first < c.created)) return `with ${how}, ${c.step.coro} did not start inside create_task (its first log is event ${c.first}, create_task returned at ${c.created})`;
      if (!eager && c.first < c.after) return `with ${how}, ${c.step.coro} started (event ${c.first}) before create_task's caller went on (event ${c.after})`;
    }
    return true;
  },
});

export const CLAUSES: Clause[] = [
  firstStepInline,
  finishedNeverScheduled,
  currentTaskFirstStep,
  allTasksFirstStep,
  firstStepDefaultName,
  firstStepGivenName,
  unnamedNone,
  unnamedDefault,
  eagerStartRefused,
  groupEagerStartRefused,
  eagerStartKeyword,
];
