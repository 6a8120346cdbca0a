/**
 * Clauses: weak references and garbage collection — the "Important" note
 * under asyncio.create_task in "Creating Tasks": "Save a reference to the
 * result of this function, to avoid a task disappearing mid-execution. The
 * event loop only keeps weak references to tasks", and its background_tasks
 * example.
 *
 * Scenarios run in gc mode (they use gc / drop / weakref steps: see
 * docs/scenario-language.md, "Garbage collection"): an object the scenario
 * lets go of is destroyed at the next gc step if nothing else holds it, and
 * the exception handler's reports about destroyed objects appear there, in
 * creation order, naming the object (`of`). A "set" of tasks is modelled by
 * the handles themselves: add = create_task binds the handle, discard = a
 * done callback that drops it; "the set is empty" = using the handle
 * records `unbound`.
 */
import fc from "fast-check";
import type { ExceptionSpec, Scenario, Step } from "../scenario/types";
import type { Trace, TraceEvent } from "../scenario/trace";
import { canonicalJson, firstDifference, formatEvent } from "../scenario/trace";
import { ALL_VERSIONS, DOCS, SINCE_3_11, clause } from "./clause";
import { mainRanToItsEnd } from "./evidence";
import type { Clause } from "./clause";
import { is, log, scenarioOf, sleep, spawn } from "./tasks";

const SOURCE = { url: DOCS.tasks + "#asyncio.create_task", section: "Creating Tasks" };
const show = (x: unknown): string => canonicalJson(x);
const DESTROYED = "Task was destroyed but it is pending!";

const gc: Step = { op: "gc" };
const drop = (handle: string): Step => ({ op: "drop", handle });
const weakref = (task: string, ref: string): Step => ({ op: "weakref", task, ref });
const alive = (ref: string): Step => ({ op: "inspect_weakref", ref });
const future = (f: string): Step => ({ op: "create_future", future: f });
const awaitOn = (task: string): Step => ({ op: "await", on: { task } });

/** The exception handler's reports about destroyed objects, in order. */
function reports(trace: Trace): Array<TraceEvent & { ev: "exception_handler" }> {
  return trace.events.filter(
    (e): e is TraceEvent & { ev: "exception_handler" } =>
      is(e, "exception_handler") && (e.message === DESTROYED || e.message.endsWith("exception was never retrieved")),
  );
}

/** The alive/dead readings of weak reference `ref`, in order. */
function readings(trace: Trace, ref: string): boolean[] {
  return trace.events.filter((e) => is(e, "weakref") && e.ref === ref).map((e) => (e as { alive: boolean }).alive);
}

function logged(trace: Trace, label: string): boolean {
  return trace.events.some((e) => is(e, "log") && e.label === label);
}

/** The last all_tasks() reading. */
function lastAllTasks(trace: Trace): string[] | null {
  const all = trace.events.filter((e) => is(e, "all_tasks"));
  return all.length === 0 ? null : (all[all.length - 1] as { names: string[] }).names;
}

const NEEDS_BASE = ["create_task", "gc", "drop", "weakref", "inspect_weakref", "log", "sleep"];

// ---------------------------------------------------------------- a sleeping task nobody holds

const sleepingSurvives = clause({
  id: "weakrefs.sleeping_task_survives_gc",
  statement:
    "A fire-and-forget task that sleeps is not collected even when nothing in the program refers to it: its timer holds it (through the sleep's future and its wake-up), so it completes; once it is done and unreferenced, a collection destroys it, silently.",
  source: SOURCE,
  versions: ALL_VERSIONS,
  level: "exact",
  needs: [...NEEDS_BASE, "all_tasks"],
  brokenBy: ["mutant:gc-ignores-timers"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc.record({ n: fc.integer({ min: 1, max: 3 }), ticks: fc.integer({ min: 1, max: 3 }), early: fc.boolean() }).map(({ n, ticks, early }) => {
      const main: Step[] = [];
      const coros: Array<[string, Step[]]> = [];
      for (let i = 0; i < n; i++) {
        coros.push([`bg${i}`, [sleep(ticks + i), log(`bg${i}:done`)]]);
        main.push(spawn(`bg${i}`, `t${i}`, `bg-${i}`), weakref(`t${i}`, `w${i}`), drop(`t${i}`));
      }
      // early: collect before the tasks first ran (the ready queue holds them), else after.
      if (!early) main.push(sleep(0));
      main.push(gc, ...Array.from({ length: n }, (_, i) => alive(`w${i}`)), { op: "all_tasks" });
      main.push(sleep(ticks + n + 1), gc, ...Array.from({ length: n }, (_, i) => alive(`w${i}`)));
      return scenarioOf([["main", main], ...coros]);
    }),
  check({ scenario, trace }) {
    const n = scenario.coroutines.length - 1;
    if (reports(trace).length > 0) return `the exception handler heard ${show(reports(trace)[0])}`;
    for (let i = 0; i < n; i++) {
      const r = readings(trace, `w${i}`);
      if (show(r) !== show([true, false])) return `weak reference w${i} read ${show(r)}, expected alive after the first gc and dead after the last`;
      if (!logged(trace, `bg${i}:done`)) return `bg${i} never completed`;
    }
    return true;
  },
});

// ---------------------------------------------------------------- a task waiting on a future nobody holds

const orphanDestroyed = clause({
  id: "weakrefs.orphan_waiter_destroyed",
  statement:
    "A task waiting on a future that nothing else holds, once the program drops both, is collected by the next collection: the loop's exception handler hears \"Task was destroyed but it is pending!\" about it, once, its weak reference dies, and all_tasks() no longer lists it.",
  source: SOURCE,
  versions: ALL_VERSIONS,
  level: "exact",
  needs: [...NEEDS_BASE, "all_tasks", "await", "create_future", "task"],
  brokenBy: ["mutant:strong-task-registry", "mutant:destroyed-pending-silent"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc.record({ n: fc.integer({ min: 1, max: 3 }), order: fc.boolean(), twice: fc.boolean() }).map(({ n, order, twice }) => {
      const main: Step[] = [];
      const coros: Array<[string, Step[]]> = [];
      for (let i = 0; i < n; i++) {
        coros.push([`waiter${i}`, [awaitOn(`f${i}`), log(`waiter${i}:woke`)]]);
        main.push(future(`f${i}`), spawn(`waiter${i}`, `t${i}`, `waiter-${i}`), weakref(`t${i}`, `w${i}`));
      }
      main.push(sleep(0), { op: "all_tasks" });
      for (let i = 0; i < n; i++) main.push(...(order ? [drop(`t${i}`), drop(`f${i}`)] : [drop(`f${i}`), drop(`t${i}`)]));
      main.push(gc, ...Array.from({ length: n }, (_, i) => alive(`w${i}`)));
      if (twice) main.push(gc);
      main.push({ op: "all_tasks" });
      return scenarioOf([["main", main], ...coros]);
    }),
  check({ scenario, trace }) {
    const n = scenario.coroutines.length - 1;
    const got = reports(trace).map((e) => ({ message: e.message, of: e.of }));
    const want = Array.from({ length: n }, (_, i) => ({ message: DESTROYED, of: { task: `waiter-${i}` } }));
    if (show(got) !== show(want)) return `the exception handler heard ${show(got)}, expected ${show(want)}`;
    for (let i = 0; i < n; i++) {
      if (show(readings(trace, `w${i}`)) !== show([false])) return `weak reference w${i} read ${show(readings(trace, `w${i}`))} after the gc`;
      if (logged(trace, `waiter${i}:woke`)) return `waiter${i} woke up`;
    }
    const last = lastAllTasks(trace);
    if (show(last) !== show(["Task-1"])) return `all_tasks() after the gc is ${show(last)}, expected only main`;
    return true;
  },
});

// ---------------------------------------------------------------- the same task, saved in a "set"

const savedSurvives = clause({
  id: "weakrefs.saved_task_survives",
  statement:
    "The same waiting task, kept by the program (a set with add_done_callback(set.discard)), survives a collection, then completes, and the discard leaves nothing behind: after it the task is unreferenced and the next collection destroys it without a report.",
  source: SOURCE,
  versions: ALL_VERSIONS,
  level: "exact",
  needs: [...NEEDS_BASE, "add_done_callback", "await", "cancel", "create_future", "inspect", "task", "try", "return"],
  brokenBy: ["mutant:gc-ignores-program-references"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc.record({ value: fc.constantFrom(1, "done", null) }).map(({ value }) => {
      const waiter: Step[] = [
        { op: "try", body: [awaitOn("f")], except: [{ type: "CancelledError", body: [log("waiter:stopped")] }] },
        { op: "return", value },
      ];
      const main: Step[] = [
        future("f"),
        spawn("waiter", "t", "saved"),
        { op: "add_done_callback", task: "t", callback: "discard_t" },
        weakref("t", "w"),
        sleep(0),
        drop("f"),
        gc,
        alive("w"),
        { op: "cancel", task: "t" },
        sleep(1),
        gc,
        alive("w"),
        { op: "inspect", task: "t" },
      ];
      return scenarioOf([["main", main], ["waiter", waiter]], { callbacks: [["discard_t", [drop("t")]]] });
    }),
  check({ trace }) {
    if (reports(trace).length > 0) return `the exception handler heard ${show(reports(trace)[0])}`;
    if (show(readings(trace, "w")) !== show([true, false])) return `weak reference w read ${show(readings(trace, "w"))}, expected [true,false]`;
    if (!logged(trace, "waiter:stopped")) return "the saved task did not run to completion";
    if (!trace.events.some((e) => is(e, "callback") && e.callback === "discard_t")) return "discard never ran";
    if (!trace.events.some((e) => is(e, "unbound") && e.ref === "t")) return "the set still holds the task after discard";
    return true;
  },
});

// ---------------------------------------------------------------- all_tasks holds no finished task

const registryWeak = clause({
  id: "weakrefs.all_tasks_keeps_nothing_alive",
  statement:
    "The loop's task registry (what all_tasks() reads) holds tasks weakly: a finished task the program no longer refers to is destroyed by the next collection.",
  source: SOURCE,
  versions: ALL_VERSIONS,
  level: "exact",
  needs: [...NEEDS_BASE, "all_tasks", "return"],
  brokenBy: ["mutant:strong-task-registry"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc.record({ n: fc.integer({ min: 1, max: 4 }) }).map(({ n }) => {
      const main: Step[] = [];
      const coros: Array<[string, Step[]]> = [];
      for (let i = 0; i < n; i++) {
        coros.push([`job${i}`, [{ op: "return", value: i }]]);
        main.push(spawn(`job${i}`, `t${i}`), weakref(`t${i}`, `w${i}`));
      }
      main.push({ op: "all_tasks" }, sleep(1), { op: "all_tasks" });
      for (let i = 0; i < n; i++) main.push(drop(`t${i}`));
      main.push(gc, ...Array.from({ length: n }, (_, i) => alive(`w${i}`)));
      return scenarioOf([["main", main], ...coros]);
    }),
  check({ scenario, trace }) {
    const n = scenario.coroutines.length - 1;
    for (let i = 0; i < n; i++) {
      if (show(readings(trace, `w${i}`)) !== show([false])) return `weak reference w${i} read ${show(readings(trace, `w${i}`))}: the finished task outlived the gc`;
    }
    if (reports(trace).length > 0) return `the exception handler heard ${show(reports(trace)[0])}`;
    return true;
  },
});

// ---------------------------------------------------------------- exceptions never retrieved

const EXC_POOL: readonly ExceptionSpec[] = [
  { type: "ValueError", args: ["boom"] },
  { type: "CustomError", args: ["lost"] },
  { type: "KeyError", args: ["k"] },
];

interface Retrieval { kind: "task" | "future"; exc: ExceptionSpec; how: "none" | "result" | "exception" | "await" }

function retrievalScenario({ kind, exc, how }: Retrieval): Scenario {
  const main: Step[] = [];
  const coros: Array<[string, Step[]]> = [];
  if (kind === "task") {
    coros.push(["failing", [{ op: "raise", exc }]]);
    main.push(spawn("failing", "t", "failing"), sleep(0));
  } else {
    main.push(future("t"), { op: "set_exception", future: "t", exc });
  }
  if (how === "result" || how === "exception") main.push({ op: how, task: "t" });
  if (how === "await") main.push({ op: "try", body: [awaitOn("t")], except: [{ type: "Exception" }] });
  main.push(weakref("t", "w"), drop("t"), gc, alive("w"), gc, log("end"));
  return scenarioOf([["main", main], ...coros]);
}

const retrievalArb = (how: fc.Arbitrary<Retrieval["how"]>): fc.Arbitrary<Scenario> =>
  fc.record({ kind: fc.constantFrom("task" as const, "future" as const), exc: fc.constantFrom(...EXC_POOL), how }).map(retrievalScenario);

const neverRetrieved = clause({
  id: "weakrefs.exception_never_retrieved_reported_once",
  statement:
    "A task or future whose exception nobody retrieved is reported when it is destroyed, once: the exception handler hears \"Task exception was never retrieved\" (\"Future exception ...\" for a future) with the exception.",
  source: SOURCE,
  versions: ALL_VERSIONS,
  level: "exact",
  needs: [...NEEDS_BASE, "create_future", "raise", "set_exception"],
  brokenBy: ["mutant:never-retrieved-silent"],
  evidence: [mainRanToItsEnd],
  scenarios: () => retrievalArb(fc.constant("none")),
  check({ scenario, trace }) {
    const isTask = scenario.coroutines.length > 1;
    const raised = scenario.coroutines.flatMap((c) => c.body).find((s) => s.op === "raise" || s.op === "set_exception") as { exc: ExceptionSpec };
    const got = reports(trace);
    if (got.length !== 1) return `the exception handler heard ${got.length} reports (${show(got)}), expected one`;
    const r = got[0];
    const message = `${isTask ? "Task" : "Future"} exception was never retrieved`;
    if (r.message !== message) return `the report says ${show(r.message)}, expected ${show(message)}`;
    if (r.exc?.type !== raised.exc.type || show(r.exc.args) !== show(raised.exc.args)) return `the report carries ${show(r.exc)}, expected the ${raised.exc.type}`;
    if (show(r.of) !== show(isTask ? { task: "failing" } : { future: "t" })) return `the report is about ${show(r.of)}`;
    if (show(readings(trace, "w")) !== show([false])) return `weak reference w read ${show(readings(trace, "w"))} after the gc`;
    return true;
  },
});

const retrievalSilences = clause({
  id: "weakrefs.retrieved_exception_not_reported",
  statement:
    "Retrieving the exception — calling result() or exception(), or awaiting the task or future — marks it retrieved: destroying the object afterwards reports nothing.",
  source: SOURCE,
  versions: ALL_VERSIONS,
  level: "exact",
  needs: [...NEEDS_BASE, "await", "create_future", "exception", "raise", "result", "set_exception", "task", "try"],
  brokenBy: ["mutant:retrieval-not-noted"],
  evidence: [mainRanToItsEnd],
  scenarios: () => retrievalArb(fc.constantFrom("result" as const, "exception" as const, "await" as const)),
  check({ trace }) {
    if (reports(trace).length > 0) return `the exception handler heard ${show(reports(trace)[0])} about a retrieved exception`;
    if (show(readings(trace, "w")) !== show([false])) return `weak reference w read ${show(readings(trace, "w"))} after the gc`;
    return true;
  },
});

// ---------------------------------------------------------------- cancel, then drop

const cancelDrop = clause({
  id: "weakrefs.cancelled_then_dropped",
  statement:
    "Cancelling a task and dropping it at once does not lose the cancellation: the wake-up the cancellation queues holds the task, so a collection right away leaves it alive, it runs its cancellation, and only once done is it destroyed, without a report.",
  source: SOURCE,
  versions: ALL_VERSIONS,
  level: "exact",
  needs: [...NEEDS_BASE, "await", "cancel", "create_future", "task", "try"],
  brokenBy: ["mutant:gc-ignores-ready"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc.record({ on: fc.constantFrom("future" as const, "sleep" as const) }).map(({ on }) => {
      const wait = on === "future" ? awaitOn("f") : sleep(5);
      const worker: Step[] = [
        { op: "try", body: [wait], except: [{ type: "CancelledError", body: [log("worker:cancelled")], reraise: true }] },
      ];
      const main: Step[] = [
        ...(on === "future" ? [future("f")] : []),
        spawn("worker", "t", "worker"),
        weakref("t", "w"),
        sleep(0),
        { op: "cancel", task: "t" },
        drop("t"),
        ...(on === "future" ? [drop("f")] : []),
        gc,
        alive("w"),
        sleep(1),
        gc,
        alive("w"),
      ];
      return scenarioOf([["main", main], ["worker", worker]]);
    }),
  check({ trace }) {
    if (reports(trace).length > 0) return `the exception handler heard ${show(reports(trace)[0])}`;
    if (!logged(trace, "worker:cancelled")) return "the dropped task never ran its cancellation";
    if (show(readings(trace, "w")) !== show([true, false])) return `weak reference w read ${show(readings(trace, "w"))}, expected [true,false]`;
    return true;
  },
});

// ---------------------------------------------------------------- what a task's exception keeps

/**
 * A child awaits a future that only the await holds, the future fails, and
 * the child's except clause either raises a new exception (whose
 * __context__ is the one caught) or re-raises the caught one: either way the
 * exception the child ends with reaches, through the caught exception's
 * traceback, the frame that awaited the future.
 */
function exceptionKeepsScenario({ caught, raised, how, retrieve }: { caught: ExceptionSpec; raised: ExceptionSpec; how: "raise" | "reraise"; retrieve: boolean }): Scenario {
  const handler = how === "raise" ? { type: "Exception" as const, body: [{ op: "raise", exc: raised } as Step] } : { type: "Exception" as const, reraise: true };
  const child: Step[] = [{ op: "try", body: [awaitOn("f")], except: [handler] }];
  const main: Step[] = [
    future("f"),
    spawn("child", "t", "child"),
    weakref("f", "wf"),
    sleep(0),
    { op: "set_exception", future: "f", exc: caught },
    drop("f"),
    sleep(1),
    gc,
    alive("wf"),
    ...(retrieve ? [{ op: "exception", task: "t" } as Step] : []),
    drop("t"),
    gc,
    alive("wf"),
  ];
  return scenarioOf([["main", main], ["child", child]]);
}

const exceptionKeeps = clause({
  id: "weakrefs.exception_keeps_context_and_traceback",
  statement:
    "A task that ended with an exception keeps alive what that exception reaches: its __context__ (the exception an except clause was handling when it raised) and the frames of their tracebacks, with the future the failed await was waiting on. A future only that await held survives collections while the task is held, and dies with it; the exception handler then hears about the task's exception if nobody retrieved it, and not about the future's, which the await retrieved.",
  // What an exception holds: its __context__ ("Exception context" in the
  // library reference, https://docs.python.org/3/library/exceptions.html)
  // and its __traceback__'s frames.
  source: SOURCE,
  versions: ALL_VERSIONS,
  level: "exact",
  needs: [...NEEDS_BASE, "create_future", "exception", "raise", "set_exception", "task", "try", "await"],
  brokenBy: ["mutant:gc-ignores-exception-context"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        caught: fc.constantFrom(...EXC_POOL),
        raised: fc.constantFrom<ExceptionSpec>({ type: "ValueError", args: ["during handling"] }, { type: "RuntimeError", args: ["again"] }),
        how: fc.constantFrom("raise" as const, "reraise" as const),
        retrieve: fc.boolean(),
      })
      .map(exceptionKeepsScenario),
  check({ scenario, trace }) {
    const child = scenario.coroutines[1].body[0] as { except: Array<{ body?: Array<{ exc?: ExceptionSpec }> }> };
    const main = scenario.coroutines[0].body;
    const caught = (main.find((s) => s.op === "set_exception") as { exc: ExceptionSpec }).exc;
    const ended = child.except[0].body?.[0]?.exc ?? caught;
    const retrieved = main.some((s) => s.op === "exception");
    if (show(readings(trace, "wf")) !== show([true, false])) {
      return `weak reference wf read ${show(readings(trace, "wf"))}: expected the future alive while the failed task is held, dead with it`;
    }
    const got = reports(trace).map((e) => ({ message: e.message, exc: e.exc === undefined ? undefined : { type: e.exc.type, args: e.exc.args }, of: e.of }));
    const want = retrieved ? [] : [{ message: "Task exception was never retrieved", exc: { type: ended.type, args: ended.args }, of: { task: "child" } }];
    if (show(got) !== show(want)) return `the exception handler heard ${show(got)}, expected ${show(want)}`;
    return true;
  },
});

// ---------------------------------------------------------------- a task set aside by an eager child's first step

/**
 * With eager tasks, a task "parent" that nothing else refers to any more
 * (it dropped the handle main bound to it) creates a child whose first step
 * runs inside create_task and collects garbage there. The parent is not
 * the current task meanwhile (the child is), but its own step is on the
 * stack below the child's: it survives, goes on after create_task returns,
 * and only once done and unreferenced does a collection destroy it.
 */
const EAGER_VERSIONS = ["3.12", "3.13", "3.14"] as const;
const setAsideSurvives = clause({
  id: "weakrefs.task_below_eager_step_survives",
  statement:
    "With eager tasks, a task that nothing refers to any more, creating a child whose first step (run inside create_task) collects garbage, is not destroyed by that collection: its own step is still running below the child's; it goes on after create_task returns, and a later collection destroys it, silently, once it is done.",
  source: { url: DOCS.tasks + "#asyncio.eager_task_factory", section: "Eager Task Factory" },
  versions: [...EAGER_VERSIONS],
  level: "exact",
  needs: [...NEEDS_BASE, "eager"],
  brokenBy: ["mutant:gc-ignores-task-below-eager-step"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc.record({ ticks: fc.integer({ min: 0, max: 2 }), children: fc.integer({ min: 1, max: 2 }), twice: fc.boolean() }).map(({ ticks, children, twice }) => {
      const parent: Step[] = [sleep(ticks), drop("p")];
      const coros: Array<[string, Step[]]> = [];
      for (let i = 0; i < children; i++) {
        parent.push(spawn(`child${i}`, `c${i}`, `child-${i}`));
        coros.push([`child${i}`, [gc, ...(twice ? [gc] : []), log(`child${i}:collected`)]]);
      }
      parent.push(log("parent:after"));
      const main: Step[] = [spawn("parent", "p", "parent"), weakref("p", "wp"), sleep(ticks + 1), alive("wp"), gc, alive("wp")];
      return scenarioOf([["main", main], ["parent", parent], ...coros], { eager: true });
    }),
  check({ scenario, trace }) {
    if (reports(trace).length > 0) return `the exception handler heard ${show(reports(trace)[0])}: a collection destroyed the task whose step was running below an eager child's`;
    if (!logged(trace, "parent:after")) return "the parent did not go on after create_task returned";
    const n = scenario.coroutines.length - 2;
    for (let i = 0; i < n; i++) if (!logged(trace, `child${i}:collected`)) return `child${i}'s first step did not collect`;
    if (show(readings(trace, "wp")) !== show([true, false])) return `weak reference wp read ${show(readings(trace, "wp"))}, expected alive before main's collection and dead after it`;
    return true;
  },
});

// ---------------------------------------------------------------- the documentation's example

/**
 * The documentation's background-tasks example, end to end (also
 * spec/examples/docs/creating-tasks-background-tasks-gc.json): ten tasks
 * some_coro(param=i), each added to background_tasks and removed by
 * add_done_callback(background_tasks.discard); main collects garbage while
 * they run and after they are done.
 */
export function backgroundTasksExample(n = 10): Scenario {
  const main: Step[] = [];
  const coros: Array<[string, Step[]]> = [];
  const callbacks: Array<[string, Step[]]> = [];
  for (let i = 0; i < n; i++) {
    coros.push([`some_coro_${i}`, [sleep(1), { op: "return", value: i }]]);
    callbacks.push([`discard_${i}`, [drop(`task_${i}`)]]);
    main.push(
      spawn(`some_coro_${i}`, `task_${i}`),
      { op: "add_done_callback", task: `task_${i}`, callback: `discard_${i}` },
      weakref(`task_${i}`, `ref_${i}`),
    );
  }
  main.push(gc, { op: "all_tasks" }, sleep(2), gc, { op: "all_tasks" });
  for (let i = 0; i < n; i++) main.push(alive(`ref_${i}`));
  const s = scenarioOf([["main", main], ...coros], { callbacks });
  s.description =
    "Python docs, 'Coroutines and Tasks' page, section 'Creating Tasks', the 'Important' note on create_task: 'Save a reference to the result of this function, to avoid a task disappearing mid-execution. The event loop only keeps weak references to tasks.' and its example `background_tasks = set(); for i in range(10): task = asyncio.create_task(some_coro(param=i)); background_tasks.add(task); task.add_done_callback(background_tasks.discard)`, end to end, with garbage collection. Mapping: the loop is unrolled; some_coro(param=i) is the stand-in coroutine some_coro_i (sleeps 1 tick, returns i); the set is the handles task_0 .. task_9 (add = create_task binds the handle, discard = the done callback discard_i, which drops it); weakref ref_i watches task_i. main then does what the snippet leaves to the program: it collects garbage (gc) while the tasks run, waits for them, collects again, and reads the weak references. What the trace shows: the collection while they run destroys nothing (the set holds them, and so do their timers); each task completes and its discard runs; afterwards the set is empty, all_tasks() is main alone, and the next collection destroys every task without a report.";
  return s;
}

const docsExample = clause({
  id: "weakrefs.docs_background_tasks",
  statement:
    "The documentation's background_tasks example: tasks held in a set with add_done_callback(set.discard) all complete, the set ends empty, and once discarded the finished tasks are destroyed by a collection without any report.",
  source: SOURCE,
  versions: ALL_VERSIONS,
  level: "documented",
  needs: [...NEEDS_BASE, "add_done_callback", "all_tasks", "return"],
  brokenBy: ["mutant:strong-task-registry"],
  evidence: [mainRanToItsEnd],
  scenarios: () => fc.integer({ min: 1, max: 10 }).map((n) => backgroundTasksExample(n)),
  check({ scenario, trace }) {
    const n = scenario.coroutines.length - 1;
    if (reports(trace).length > 0) return `the exception handler heard ${show(reports(trace)[0])}`;
    for (let i = 0; i < n; i++) {
      const exit = trace.events.find((e) => is(e, "exit") && e.coro === `some_coro_${i}`) as { value?: unknown } | undefined;
      if (exit === undefined || exit.value !== i) return `some_coro_${i} did not return ${i}`;
      if (!trace.events.some((e) => is(e, "callback") && e.callback === `discard_${i}`)) return `discard_${i} never ran`;
      if (show(readings(trace, `ref_${i}`)) !== show([false])) return `task_${i} outlived the last collection`;
    }
    if (show(lastAllTasks(trace)) !== show(["Task-1"])) return `all_tasks() at the end is ${show(lastAllTasks(trace))}`;
    return true;
  },
});

// ---------------------------------------------------------------- random gc programs, against the reference

const CHILD_KINDS = ["sleeper", "waiter", "failing", "returning", "joiner", "catcher"] as const;
type ChildKind = (typeof CHILD_KINDS)[number];

/**
 * Random gc programs: main makes futures f0..f1 and children t0..tK of
 * random kinds (sleeper: sleeps; waiter: awaits a future; failing: raises;
 * returning: returns; joiner: awaits another child; catcher: awaits a
 * future, catching CancelledError), watches them with weak references, then
 * runs random steps: drop, gc, inspect_weakref, cancel, set_result,
 * set_exception, result / exception, sleep, all_tasks, and ends with a gc
 * and every weak reference read.
 */
function gcProgramArb(): fc.Arbitrary<Scenario> {
  const action = fc.oneof(
    fc.record({ op: fc.constant("drop" as const), i: fc.nat(5) }),
    fc.record({ op: fc.constant("gc" as const) }),
    fc.record({ op: fc.constant("inspect_weakref" as const), i: fc.nat(5) }),
    fc.record({ op: fc.constant("cancel" as const), i: fc.nat(5) }),
    fc.record({ op: fc.constant("set_result" as const), f: fc.nat(1) }),
    fc.record({ op: fc.constant("set_exception" as const), f: fc.nat(1) }),
    fc.record({ op: fc.constantFrom("result" as const, "exception" as const), i: fc.nat(5) }),
    fc.record({ op: fc.constant("sleep" as const), ticks: fc.nat(2) }),
    fc.record({ op: fc.constant("all_tasks" as const) }),
  );
  return fc
    .record({
      kinds: fc.array(fc.constantFrom(...CHILD_KINDS), { minLength: 1, maxLength: 4 }),
      targets: fc.array(fc.nat(3), { minLength: 4, maxLength: 4 }),
      actions: fc.array(action, { minLength: 1, maxLength: 12 }),
    })
    .map(({ kinds, targets, actions }) => {
      const n = kinds.length;
      const coros: Array<[string, Step[]]> = [];
      const main: Step[] = [future("f0"), future("f1")];
      kinds.forEach((kind: ChildKind, i) => {
        const f = `f${i % 2}`;
        const body: Step[] =
          kind === "sleeper" ? [sleep(1 + (i % 3)), log(`c${i}:slept`)]
          : kind === "waiter" ? [awaitOn(f), log(`c${i}:woke`)]
          : kind === "failing" ? [sleep(i % 2), { op: "raise", exc: { type: "ValueError", args: [`c${i}`] } }]
          : kind === "returning" ? [{ op: "return", value: i }]
          : kind === "joiner" ? (targets[i] % n < i ? [awaitOn(`t${targets[i] % n}`), log(`c${i}:joined`)] : [sleep(1)])
          : [{ op: "try", body: [awaitOn(f)], except: [{ type: "CancelledError", body: [log(`c${i}:cancelled`)] }] }];
        coros.push([`c${i}`, body]);
        main.push(spawn(`c${i}`, `t${i}`, `child-${i}`), weakref(`t${i}`, `w${i}`));
      });
      main.push(weakref("f0", "wf0"), weakref("f1", "wf1"));
      const h = (i: number): string => (i >= n ? `f${i % 2}` : `t${i}`);
      for (const a of actions) {
        if (a.op === "drop") main.push(drop(h(a.i)));
        else if (a.op === "gc") main.push(gc);
        else if (a.op === "inspect_weakref") main.push(alive(a.i >= n ? `wf${a.i % 2}` : `w${a.i}`));
        else if (a.op === "cancel") main.push({ op: "cancel", task: h(a.i) });
        else if (a.op === "set_result") main.push({ op: "set_result", future: `f${a.f}`, value: a.f });
        else if (a.op === "set_exception") main.push({ op: "set_exception", future: `f${a.f}`, exc: { type: "KeyError", args: [`f${a.f}`] } });
        else if (a.op === "result" || a.op === "exception") main.push({ op: a.op, task: h(a.i) });
        else if (a.op === "sleep") main.push(sleep(a.ticks));
        else main.push({ op: "all_tasks" });
      }
      main.push(gc, ...Array.from({ length: n }, (_, i) => alive(`w${i}`)), alive("wf0"), alive("wf1"));
      return scenarioOf([["main", main], ...coros]);
    });
}

const gcDifferential = clause({
  id: "weakrefs.random_programs_match",
  statement:
    "In random programs that drop tasks and futures, collect garbage and read weak references, what survives each collection, what the exception handler hears about what does not, and everything else, match CPython event for event.",
  source: SOURCE,
  versions: SINCE_3_11,
  level: "exact",
  needs: [...NEEDS_BASE, "all_tasks", "await", "cancel", "create_future", "exception", "raise", "result", "return", "set_exception", "set_result", "task", "try"],
  brokenBy: ["mutant:gc-ignores-timers", "mutant:strong-task-registry", "mutant:destroyed-pending-silent"],
  evidence: [mainRanToItsEnd],
  scenarios: () => gcProgramArb(),
  check({ trace, expected }) {
    const want = expected();
    if (canonicalJson(trace) === canonicalJson(want)) return true;
    const d = firstDifference(trace, want)!;
    const fmt = (x: unknown) => (typeof x === "object" && x !== null && "ev" in (x as object) ? formatEvent(x as TraceEvent) : show(x));
    return `traces part at ${d.where}: got ${fmt(d.a)}, the reference gives ${fmt(d.b)}`;
  },
});

export const CLAUSES: Clause[] = [
  sleepingSurvives, orphanDestroyed, savedSurvives, registryWeak, neverRetrieved, retrievalSilences, cancelDrop, exceptionKeeps, docsExample, setAsideSurvives,
  gcDifferential,
];
