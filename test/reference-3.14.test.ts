/**
 * reference@3.14 against CPython 3.14.
 *
 * There is no native CPython 3.14 here: CPython 3.14.2 runs in Node through
 * Pyodide 314 (implementations/pyodide/driver.js; `npm run peers` installs
 * it into .peers/, or $AIOSPEC_PEERS_DIR). When it is installed:
 *  - every example scenario (spec/examples/**) runs on it and on
 *    reference@3.14, with the C Task and with the pure-Python Task, and the
 *    traces must be equal;
 *  - so must a few hundred generated 3.14 scenarios (fixed seeds).
 * When it is not, those suites are skipped and their names say why.
 *
 * Without Pyodide: one pure reference test per behaviour that 3.14 changed
 * (the 3.14 flags of implementations/reference/profile.ts), each against
 * the 3.13 profile.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import type { Coroutine } from "../harness/engine/api";
import { runScenario } from "../harness/engine/interpreter";
import { PyBaseException } from "../harness/engine/pyexc";
import { makeReference } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import { get_running_loop } from "../implementations/reference/loop";
import type { EventLoop } from "../implementations/reference/loop";
import { profileFor } from "../implementations/reference/profile";
import { sleep } from "../implementations/reference/sleep";
import { AsyncioTaskGroup } from "../implementations/reference/taskgroups";
import { Task, create_task, current_task, eagerTaskFactory } from "../implementations/reference/tasks";
import { scenarioArb } from "../spec/scenario/arbitraries";
import { canonicalJson } from "../spec/scenario/trace";
import type { Trace, TraceEvent } from "../spec/scenario/trace";
import type { Scenario } from "../spec/scenario/types";
import { GROUP_HELD_AFTER_ITS_BLOCK } from "./helpers/gc-scenarios";
import { requiredVersion, validateScenario } from "../spec/scenario/validate";
import { compareVersions } from "../spec/scenario/versions";
import { describeDifference } from "./helpers/difference";

const ROOT = path.resolve(__dirname, "..");
const EXAMPLES_DIR = path.join(ROOT, "spec", "examples");
const DRIVER = path.join(ROOT, "implementations", "pyodide", "driver.js");
const PEERS = path.resolve(process.env.AIOSPEC_PEERS_DIR ?? path.join(ROOT, ".peers"));
const PYODIDE_314 = path.join(PEERS, "node_modules", "pyodide-314", "pyodide.js");

function example(name: string): Scenario {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, name), "utf8")) as Scenario;
}

function listJson(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== "expected") out.push(...listJson(p));
    else if (entry.isFile() && entry.name.endsWith(".json")) out.push(p);
  }
  return out.sort();
}

const ref = (version: PythonVersion, scenario: Scenario, pyTask = false): Trace => runScenario(makeReference(version, { pyTask }), scenario);

/** The events, as "[task] ev field=value" strings, leaving out enter/exit noise when asked. */
function lines(trace: Trace): string[] {
  return trace.events.map((e: TraceEvent) => {
    const { ev, task, time, ...rest } = e as TraceEvent & Record<string, unknown>;
    return `t=${time} [${task ?? "-"}] ${ev} ${canonicalJson(rest)}`;
  });
}

function labels(trace: Trace): string[] {
  return trace.events.filter((e) => e.ev === "log").map((e) => (e as { label: string }).label);
}

/**
 * gc-mode scenarios written by hand for what 3.14 keeps alive. The reference
 * tests below state CPython 3.14.2's outcome; they also join the Pyodide 314
 * runs further down (C Task and pure-Python Task), which compare whole traces.
 */
const GC_CASES = {
  /** A task drops its own handle, then enters and leaves an empty TaskGroup bound to the handle `g`. */
  groupHeldAfterItsBlock: GROUP_HELD_AFTER_ITS_BLOCK,
  /** A task waits on f0 with asyncio.wait(timeout=0) and ends; main holds f0, then drops it. */
  waitLeavesTaskOnPendingFuture: {
    aiospec: 1,
    description: "a finished task that waited on a future still pending with asyncio.wait, then the future dropped",
    coroutines: [
      {
        name: "main",
        body: [
          { op: "create_future", future: "f0" },
          { op: "create_task", coro: "c1", task: "t" },
          { op: "weakref", task: "t", ref: "w" },
          { op: "drop", handle: "t" },
          { op: "sleep", ticks: 1 },
          { op: "gc" },
          { op: "inspect_weakref", ref: "w" },
          { op: "drop", handle: "f0" },
          { op: "gc" },
          { op: "inspect_weakref", ref: "w" },
        ],
      },
      { name: "c1", body: [{ op: "await", on: { wait: [{ task: "f0" }], timeout: 0 } }] },
    ],
  } as Scenario,
  /**
   * `diff reference@3.14 pyodide-3.14 --seed 8`, shrunk: c1 shields a task (Task-4) that is still pending when
   * the run ends, and ends; main's first task handle is bound again.
   */
  shieldInnerPendingAtTheEnd: {"aiospec": 1, "coroutines": [{"name": "main", "body": [{"op": "create_task", "coro": "c1", "task": "t0"}, {"op": "timeout", "delay": 1, "body": [{"op": "create_task", "coro": "c2", "task": "t0"}]}]}, {"name": "c1", "body": [{"op": "create_task", "coro": "c2", "task": "t1"}, {"op": "ensure_future", "on": {"shield": {"task": "t1"}}, "future": "s0"}, {"op": "cancel", "task": "s0"}, {"op": "drop", "handle": "t1"}]}, {"name": "c2", "body": []}], "description": "shield of a task still pending at the end, from a task that then ends"} as Scenario,
  /**
   * `diff reference@3.14 pyodide-3.14 --size medium --seed 4`, shrunk: c2 (its handle bound again) awaits
   * wait_for(t1) in a TaskGroup; t1 fails, and the ValueError goes through c2's wait_for.
   */
  exceptionThroughWaitFor: {"aiospec": 1, "coroutines": [{"name": "main", "body": [{"op": "gc"}, {"op": "repeat", "times": 2, "var": "rep", "body": [{"op": "create_task", "coro": "c2", "task": "t0"}]}, {"op": "try", "body": [{"op": "await", "on": {"task": "t0"}}], "except": [{"type": "CancelledError"}]}]}, {"name": "c1", "body": []}, {"name": "c2", "body": [{"op": "try", "body": [{"op": "cancel", "task": "t0"}, {"op": "taskgroup", "group": "g0", "body": [{"op": "create_task", "coro": "c3", "task": "t1"}, {"op": "await", "on": {"wait_for": {"task": "t1"}, "timeout": 1}}]}], "finally": []}]}, {"name": "c3", "body": [{"op": "timeout", "delay": 1, "body": [{"op": "raise", "exc": {"type": "ValueError"}}]}]}], "description": "a ValueError raised through wait_for inside a TaskGroup, the task dropped"} as Scenario,
  /** wait_for(f0, 1) in main; a callback then fails f0 and drops it. (With _PyTask on 3.14, wait_for raises at once.) */
  waitForFutureDropped: waitForFutureDropped(false),
  /** The same, main catching wait_for's RuntimeError and going on. */
  waitForFutureDroppedCaught: waitForFutureDropped(true),
};

function waitForFutureDropped(caught: boolean): Scenario {
  const wait = { op: "await", on: { wait_for: { task: "f0" }, timeout: 1 } } as const;
  return {
    aiospec: 1,
    description: `wait_for on a future that a callback fails and drops${caught ? "; main catches RuntimeError" : ""}`,
    coroutines: [
      {
        name: "main",
        body: [
          { op: "create_future", future: "f0" },
          { op: "call_soon", callback: "cb0" },
          ...(caught ? [{ op: "try", body: [wait], except: [{ type: "RuntimeError" }] } as const] : [wait]),
          { op: "sleep", ticks: 0 },
        ],
      },
    ],
    callbacks: [{ name: "cb0", body: [{ op: "set_exception", future: "f0", exc: { type: "ValueError" } }, { op: "drop", handle: "f0" }] }],
  } as Scenario;
}

const reports = (trace: Trace) => trace.events.filter((e) => e.ev === "exception_handler");
const weakrefs = (trace: Trace) => trace.events.filter((e) => e.ev === "weakref").map((e) => (e as { alive: boolean }).alive);

// ---------------------------------------------------------------- the reference alone

describe("reference@3.14: what changed since 3.13 (no Pyodide needed)", () => {
  it("models 3.14 with the 3.14 flags on and the 3.13.0 ones they replace off", () => {
    const p13 = profileFor("3.13");
    const p14 = profileFor("3.14");
    expect([p13.taskFactoryGetsName, p14.taskFactoryGetsName]).toEqual([false, true]);
    expect([p13.factoryTaskRenamedEvenUnnamed, p14.factoryTaskRenamedEvenUnnamed]).toEqual([true, false]);
    expect([p13.createTaskEagerStart, p14.createTaskEagerStart]).toEqual([false, true]);
    expect([p13.taskGroupDoneTaskFastPath, p14.taskGroupDoneTaskFastPath]).toEqual([true, false]);
    expect([p13.shieldReportsLateException, p14.shieldReportsLateException]).toEqual([false, true]);
    expect([profileFor("3.13", true).pyTaskUnseenByCurrentTask, profileFor("3.14", true).pyTaskUnseenByCurrentTask]).toEqual([false, true]);
    expect(profileFor("3.14", false).pyTaskUnseenByCurrentTask).toBe(false);
    expect([p13.taskGroupExitForgetsParent, p14.taskGroupExitForgetsParent]).toEqual([false, true]);
    expect([p13.futureAwaitedBy, p14.futureAwaitedBy]).toEqual([false, true]);
  });

  it("taskGroupExitForgetsParent (gh-124958): a TaskGroup still held after its block no longer keeps its finished parent task alive", () => {
    // CPython 3.11.7-3.13.0: the task <- the TaskGroup's _parent_task <- the group handle g (gc.get_referrers,
    // the reproducer on 3.13.0). 3.13.2 and 3.14.2 (Pyodide 0.29, 314): `g._parent_task` is None after the block.
    const s = GC_CASES.groupHeldAfterItsBlock;
    expect(weakrefs(ref("3.13", s))).toEqual([true]);
    expect(weakrefs(ref("3.14", s))).toEqual([false]);
    // Collected, and finished: nothing to report, and no longer in the task list.
    expect(reports(ref("3.14", s))).toEqual([]);
    expect(ref("3.14", s).tasks.map((t) => t.name)).toEqual(["Task-1"]);
  });

  it("futureAwaitedBy (gh-91048): a future still pending when asyncio.wait returns keeps the task that waited, as long as the future lives", () => {
    // CPython 3.14.2 (Pyodide 314; gc.get_referrers): the task <- set (f0's _asyncio_awaited_by) <- f0 <- the
    // handle f0. _wait adds the task for every member and discards it only in the done callback it removes on return.
    const s = GC_CASES.waitLeavesTaskOnPendingFuture;
    expect(weakrefs(ref("3.14", s))).toEqual([true, false]);
    expect(weakrefs(ref("3.13", s))).toEqual([false, false]);
    // With _PyTask, current_task() is None on 3.14: nothing is recorded.
    expect(weakrefs(ref("3.14", s, true))).toEqual([false, false]);
  });

  it("futureAwaitedBy: shield(inner) keeps the task that called it until the inner is done", () => {
    // CPython 3.14.2 (Pyodide 314; gc.get_referrers at the final collection): c1's task <- cell cur_task <-
    // shield's _clear_awaited_by_callback <- the inner's callbacks, and <- the inner (its awaited-by set); the
    // inner is pending, held by the ready queue. 3.13 has neither.
    const s = GC_CASES.shieldInnerPendingAtTheEnd;
    expect(ref("3.14", s).tasks.map((t) => t.name)).toEqual(["Task-1", "Task-2", "Task-3", "Task-4"]);
    expect(ref("3.13", s).tasks.map((t) => t.name)).toEqual(["Task-1", "Task-3", "Task-4"]);
  });

  it("an exception raised through wait_for keeps its future (wait_for's local), not the timeout nor its task", () => {
    // CPython 3.14.2: the ValueError's traceback has c2's frame and wait_for's (fut, timeout), no Timeout; c2's
    // task (dropped) is collected and its ExceptionGroup reported. 3.13.0 keeps the task: its TaskGroup, still
    // bound to g0, holds it as _parent_task (taskGroupExitForgetsParent).
    const s = GC_CASES.exceptionThroughWaitFor;
    const never = (t: Trace) => reports(t).map((e) => `${(e as { message: string }).message} ${canonicalJson((e as { of?: unknown }).of)}`);
    expect(never(ref("3.14", s))).toEqual(['Task exception was never retrieved {"task":"Task-2"}']);
    expect(never(ref("3.13", s))).toEqual([]);
  });

  it("with _PyTask, wait_for's frame holds its future while it enters its timeout: the RuntimeError it raises keeps the future", () => {
    // CPython 3.14.2 (Pyodide 314, _PyTask; gc.get_referrers): f0 <- frame wait_for (fut, timeout) <- traceback
    // of "Timeout should be used inside a task" <- main's task, which ended with it. f0 is never collected in the
    // run, so its exception is never reported. Caught, the RuntimeError dies and f0 goes when cb0 drops it.
    expect(reports(ref("3.14", GC_CASES.waitForFutureDropped, true))).toEqual([]);
    expect(reports(ref("3.14", GC_CASES.waitForFutureDroppedCaught, true))).toEqual([
      { ev: "exception_handler", task: null, time: 0, message: "Future exception was never retrieved", exc: { type: "ValueError", args: [] }, of: { future: "f0" } },
    ]);
    // The C Task enters the timeout: f0's exception is retrieved by the await.
    expect(reports(ref("3.14", GC_CASES.waitForFutureDropped))).toEqual([]);
  });

  it("taskFactoryGetsName (gh-128308): an eager task's first step runs under its given name; unnamed tasks keep Task-N", () => {
    const s = example("versions/eager-task-names.json");
    const t13 = ref("3.13", s);
    const t14 = ref("3.14", s);
    // 3.13.0: first step under the default name, renamed after; unnamed tasks renamed "None".
    expect(t13.events.filter((e) => e.ev === "current_task").map((e) => (e as { name: string }).name)).toEqual(["None", "Task-2", "Task-3", "given", "None"]);
    // 3.14: the given name from the first step on; no renaming, so no "None" and no number taken.
    expect(t14.events.filter((e) => e.ev === "current_task").map((e) => (e as { name: string }).name)).toEqual(["Task-1", "given", "Task-2", "given", "Task-2"]);
    expect(t14.tasks.map((t) => t.name)).toEqual(["Task-1", "given", "Task-2"]);
  });

  it("taskGroupDoneTaskFastPath off (gh-128550): leaving a group waits for the done callback of a child that finished eagerly", () => {
    const s = example("versions/taskgroup-eager-child-done-callback.json");
    expect(labels(ref("3.13", s))).toEqual(["after group", "w resumed"]);
    expect(labels(ref("3.14", s))).toEqual(["w resumed", "after group"]);
    // 3.12.1 has the fast path too.
    expect(labels(ref("3.12", s))).toEqual(["after group", "w resumed"]);
  });

  it("shieldReportsLateException (gh-86802): an exception the inner ends with after its shield was cancelled goes to the exception handler", () => {
    const s = example("versions/shield-cancelled-reports-late-exception.json");
    const handler = (t: Trace) => t.events.filter((e) => e.ev === "exception_handler");
    expect(handler(ref("3.13", s))).toEqual([]);
    expect(handler(ref("3.14", s))).toEqual([
      { ev: "exception_handler", task: null, time: 1, message: "ValueError exception in shielded future", exc: { type: "ValueError", args: ["late"] } },
    ]);
    // Otherwise the traces are the same.
    const rest = (t: Trace) => lines({ ...t, events: t.events.filter((e) => e.ev !== "exception_handler") });
    expect(rest(ref("3.14", s))).toEqual(rest(ref("3.13", s)));
  });

  it("shieldReportsLateException: one report per inner however many of its shields were cancelled; none for a result or a cancellation", () => {
    const s: Scenario = {
      aiospec: 1,
      description: "two cancelled shields of a failing task, one of a task that is then cancelled, one of a task that returns",
      coroutines: [
        {
          name: "main",
          body: [
            { op: "create_task", coro: "fails", task: "i" },
            { op: "create_task", coro: "shield_i", task: "w1" },
            { op: "create_task", coro: "shield_i", task: "w2" },
            { op: "create_task", coro: "returns", task: "j" },
            { op: "create_task", coro: "shield_j", task: "w3" },
            { op: "create_task", coro: "returns", task: "k" },
            { op: "create_task", coro: "shield_k", task: "w4" },
            { op: "sleep", ticks: 0 },
            { op: "cancel", task: "w1" },
            { op: "cancel", task: "w2" },
            { op: "cancel", task: "w3" },
            { op: "cancel", task: "w4" },
            { op: "await", on: { gather: [{ task: "w1" }, { task: "w2" }, { task: "w3" }, { task: "w4" }], return_exceptions: true } },
            { op: "cancel", task: "j" },
            { op: "sleep", ticks: 2 },
          ],
        },
        { name: "fails", body: [{ op: "sleep", ticks: 1 }, { op: "raise", exc: { type: "ValueError", args: ["late"] } }] },
        { name: "returns", body: [{ op: "sleep", ticks: 1 }, { op: "return", value: 3 }] },
        { name: "shield_i", body: [{ op: "await", on: { shield: { task: "i" } } }] },
        { name: "shield_j", body: [{ op: "await", on: { shield: { task: "j" } } }] },
        { name: "shield_k", body: [{ op: "await", on: { shield: { task: "k" } } }] },
      ],
    };
    const reports = ref("3.14", s).events.filter((e) => e.ev === "exception_handler");
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ message: "ValueError exception in shielded future", time: 1 });
  });

  it("pyTaskUnseenByCurrentTask (gh-129898, gh-128002): with _PyTask, current_task() is None, all_tasks() empty, TaskGroup and timeout() refuse", () => {
    const s = example("versions/pytask-unseen-by-current-task.json");
    const t = ref("3.14", s, true);
    expect(t.events.every((e) => e.task === null)).toBe(true);
    const byEv = (ev: string) => t.events.filter((e) => e.ev === ev).map((e) => canonicalJson(e));
    expect(byEv("current_task")).toEqual([canonicalJson({ ev: "current_task", name: null, task: null, time: 0 }), canonicalJson({ ev: "current_task", name: null, task: null, time: 0 })]);
    expect(byEv("all_tasks")).toEqual([canonicalJson({ ev: "all_tasks", names: [], task: null, time: 0 })]);
    expect(t.events.filter((e) => e.ev === "caught").map((e) => (e as { exc: { args: string[] } }).exc.args[0])).toEqual([
      "TaskGroup <...> cannot determine the parent task",
      "Timeout should be used inside a task",
    ]);
    // The C Task on 3.14, and _PyTask on 3.13, see the task as before.
    for (const other of [ref("3.14", s), ref("3.13", s, true)]) {
      expect(other.events.filter((e) => e.ev === "current_task").map((e) => (e as { name: string }).name)).toEqual(["Task-1", "Task-2"]);
      expect(labels(other)).toEqual(["in group", "in timeout"]);
    }
  });

  describe("createTaskEagerStart (gh-128307): create_task(coro, eager_start=...)", () => {
    /** Run main() on a fresh reference loop of `version` (with the eager task factory when asked); return what it logged. */
    function run(version: PythonVersion, eagerFactory: boolean, main: (log: string[]) => Coroutine): string[] {
      const impl = makeReference(version);
      const loop = impl.new_event_loop() as EventLoop;
      if (eagerFactory) loop.set_task_factory(eagerTaskFactory);
      const log: string[] = [];
      loop.run_until_complete(loop.create_task(main(log)));
      return log;
    }
    function* child(log: string[]): Coroutine<undefined> {
      log.push(`start ${current_task()!.get_name()}`);
      yield* sleep(0);
      log.push("end");
      return undefined;
    }
    type Via = "asyncio" | "loop" | "taskgroup";
    /** Create child through `via` with eager_start (undefined: not given), then log, then await it. */
    function* createThenAwait(log: string[], via: Via, eagerStart: boolean | null | undefined): Coroutine<undefined> {
      let task: Task;
      if (via === "taskgroup") {
        const group = new AsyncioTaskGroup();
        yield* group.__aenter__();
        task = group.create_task(child(log), "nm", eagerStart) as Task;
        log.push("created");
        yield* group.__aexit__(null);
      } else {
        task = via === "asyncio" ? create_task(child(log), "nm", eagerStart) : get_running_loop().create_task(child(log), "nm", eagerStart);
        log.push("created");
      }
      yield* task.__await__();
      return undefined;
    }
    const EAGER = ["start nm", "created", "end"];
    const LAZY = ["created", "start nm", "end"];

    // What CPython 3.14.2 does (checked on Pyodide 314: the same matrix of calls).
    const cases: Array<{ factory: boolean; eagerStart: boolean | null | undefined; want: string[] }> = [
      { factory: false, eagerStart: undefined, want: LAZY },
      { factory: false, eagerStart: true, want: EAGER },
      { factory: false, eagerStart: false, want: LAZY },
      { factory: false, eagerStart: null, want: LAZY },
      { factory: true, eagerStart: undefined, want: EAGER },
      { factory: true, eagerStart: true, want: EAGER },
      { factory: true, eagerStart: false, want: LAZY },
      // The factory's eager_start=True is a keyword default: an explicit None overrides it.
      { factory: true, eagerStart: null, want: LAZY },
    ];
    for (const via of ["asyncio", "loop", "taskgroup"] as const) {
      it.each(cases.map((c) => [c.factory ? "eager factory" : "no factory", String(c.eagerStart), c] as const))(
        `${via}: %s, eager_start=%s`,
        (_f, _e, c) => {
          expect(run("3.14", c.factory, (log) => createThenAwait(log, via, c.eagerStart))).toEqual(c.want);
        },
      );
    }

    it("is a TypeError before 3.14", () => {
      const messages: string[] = [];
      run("3.13", false, function* (log) {
        for (const make of [
          () => create_task(child(log), null, true),
          () => get_running_loop().create_task(child(log), null, false),
          () => new AsyncioTaskGroup().create_task(child(log), null, null),
        ]) {
          try {
            make();
          } catch (e) {
            messages.push(`${(e as PyBaseException).type}: ${(e as PyBaseException).args[0]}`);
          }
        }
        yield* sleep(0);
      });
      expect(messages).toEqual([
        "TypeError: create_task() got an unexpected keyword argument 'eager_start'",
        "TypeError: BaseEventLoop.create_task() got an unexpected keyword argument 'eager_start'",
        "TypeError: TaskGroup.create_task() got an unexpected keyword argument 'eager_start'",
      ]);
    });
  });
});

// ---------------------------------------------------------------- against Pyodide's CPython 3.14

interface DriverRun {
  hello: { version: string; python: string; implementation?: string };
  traces: Map<number, Trace>;
  errors: Map<number, string>;
}

/** Run scenarios on Pyodide 314's CPython, all in one driver process. */
function runOnPyodide(scenarios: Scenario[], pyTask: boolean): DriverRun {
  const options = pyTask ? { task: "py" } : {};
  const input = scenarios.map((scenario, id) => JSON.stringify({ id, scenario, options })).join("\n") + "\n";
  const r = spawnSync(process.execPath, [DRIVER, "--pyodide", "314"], {
    input,
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
    timeout: 15 * 60_000,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`the Pyodide 314 driver exited with ${r.status}: ${r.stderr}`);
  const out = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const run: DriverRun = { hello: out[0].hello, traces: new Map(), errors: new Map() };
  for (const reply of out.slice(1)) {
    if (reply.error !== undefined) run.errors.set(reply.id, reply.error);
    else run.traces.set(reply.id, reply.trace);
  }
  return run;
}

const examples = listJson(EXAMPLES_DIR)
  .map((file) => ({ name: path.relative(EXAMPLES_DIR, file).split(path.sep).join("/"), scenario: JSON.parse(fs.readFileSync(file, "utf8")) as Scenario }))
  .filter((e) => compareVersions(requiredVersion(e.scenario), "3.14") <= 0);

/** Generated scenarios: the C Task gets more of them (it is what asyncio uses). */
const GENERATED = [
  { pyTask: false, seed: 314, count: 300 },
  { pyTask: true, seed: 3140, count: 120 },
];

const installed = fs.existsSync(PYODIDE_314) && fs.existsSync(DRIVER);
const why = !fs.existsSync(DRIVER) ? `${path.relative(ROOT, DRIVER)} is missing` : `Pyodide 314 is not installed (${path.relative(ROOT, PYODIDE_314)}; npm run peers)`;

for (const pyTask of [false, true]) {
  const title = `reference@3.14${pyTask ? "+pytask" : ""} vs Pyodide 314 (CPython 3.14.2${pyTask ? ", pure-Python Task" : ""})`;
  if (!installed) {
    describe.skip(`${title} — skipped: ${why}`, () => {
      it("needs Pyodide 314", () => {});
    });
    continue;
  }
  describe(title, () => {
    const generated = GENERATED.find((g) => g.pyTask === pyTask)!;
    const sampled = fc.sample(scenarioArb({ version: "3.14" }), { seed: generated.seed, numRuns: generated.count });
    let run: DriverRun | undefined;
    // Invalid examples are sent too (the driver refuses them), so that ids stay indices.
    const byHand = Object.entries(GC_CASES);
    const pyodide = (): DriverRun => (run ??= runOnPyodide([...examples.map((e) => e.scenario), ...sampled, ...byHand.map(([, s]) => s)], pyTask));

    it("runs CPython 3.14", { timeout: 15 * 60_000 }, () => {
      expect(pyodide().hello.version).toBe("3.14");
    });

    examples.forEach((e, id) => {
      if (!validateScenario(e.scenario).ok) {
        it.skip(`${e.name} (not a valid scenario: test/examples.test.ts says why)`, () => {});
        return;
      }
      it(e.name, { timeout: 15 * 60_000 }, () => {
        const r = pyodide();
        expect(r.errors.get(id), "the driver ran the scenario").toBeUndefined();
        const cpython = r.traces.get(id)!;
        const reference = ref("3.14", e.scenario, pyTask);
        expect(canonicalJson(reference), describeDifference(reference, cpython)).toBe(canonicalJson(cpython));
      });
    });

    it(`${generated.count} generated 3.14 scenarios (seed ${generated.seed})`, { timeout: 15 * 60_000 }, () => {
      const r = pyodide();
      const differ: string[] = [];
      sampled.forEach((scenario, k) => {
        const id = examples.length + k;
        const error = r.errors.get(id);
        if (error !== undefined) {
          differ.push(`#${k}: the driver failed: ${error}\n${JSON.stringify(scenario)}`);
          return;
        }
        const reference = ref("3.14", scenario, pyTask);
        const cpython = r.traces.get(id)!;
        if (canonicalJson(reference) !== canonicalJson(cpython)) differ.push(`#${k}: ${describeDifference(reference, cpython)}\n${JSON.stringify(scenario)}`);
      });
      expect(differ.slice(0, 3).join("\n\n"), `${differ.length} of ${sampled.length} differ`).toBe("");
    });

    byHand.forEach(([name, scenario], k) => {
      it(`gc mode, by hand: ${name}`, { timeout: 15 * 60_000 }, () => {
        const r = pyodide();
        const id = examples.length + sampled.length + k;
        expect(r.errors.get(id), "the driver ran the scenario").toBeUndefined();
        const cpython = r.traces.get(id)!;
        const reference = ref("3.14", scenario, pyTask);
        expect(canonicalJson(reference), describeDifference(reference, cpython)).toBe(canonicalJson(cpython));
      });
    });
  });
}
