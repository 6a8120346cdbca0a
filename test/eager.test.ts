/**
 * The eager task factory (3.12+, gh-97696): `eager: true` scenarios run with
 * asyncio.eager_task_factory installed on the loop, on the reference and on
 * CPython 3.12 / 3.13 (C Task and pure-Python Task); the traces must be equal.
 *
 * What eager start means, as these cases show it:
 * - create_task runs the coroutine's first step at once, inside the call,
 *   with the new task as the current task (the creating task's events stop
 *   and resume around it);
 * - a coroutine that finishes in that step gives a task that is done when
 *   create_task returns: it was never scheduled and all_tasks() never lists
 *   it after;
 * - loop.create_task calls the factory without the name and names the task
 *   afterwards, so the first step runs under the default name "Task-N" (and
 *   a named task still takes a number); on 3.13.0 the renaming happens even
 *   without a name: the task is named "None" (gh-130033);
 * - the main task is created before the loop runs, so it starts normally;
 * - gather of children finished eagerly is done before it is awaited.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { findCPython } from "../harness/targets";
import { DriverRun, runOnDriver } from "./helpers/driver";
import { ScenarioError, runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import { canonicalJson } from "../spec/scenario/trace";
import type { Trace } from "../spec/scenario/trace";
import type { CallbackDef, CoroutineDef, Scenario, Step } from "../spec/scenario/types";
import { describeDifference } from "./helpers/difference";

// ---------------------------------------------------------------- harness

type TaskKind = "C" | "py";

interface Case {
  name: string;
  scenario: Scenario;
}



const targets: Array<{ version: PythonVersion; python: string }> = (["3.12", "3.13"] as const)
  .map((v) => ({ version: v, python: findCPython(v).path }))
  .filter((t) => t.python !== "");

// ---------------------------------------------------------------- scenario helpers

const log = (label: string): Step => ({ op: "log", label });
const sleep = (ticks: number): Step => ({ op: "sleep", ticks });
const inspect = (task: string): Step => ({ op: "inspect", task });
const coro = (name: string, body: Step[]): CoroutineDef => ({ name, body });
const cb = (name: string, body: Step[] = []): CallbackDef => ({ name, body: [log(name), ...body] });

function E(name: string, main: Step[], extra: { coroutines?: CoroutineDef[]; callbacks?: CallbackDef[] } = {}, more: Partial<Case> = {}): Case {
  const scenario: Scenario = { aiospec: 1, description: name, eager: true, coroutines: [coro("main", main), ...(extra.coroutines ?? [])] };
  if (extra.callbacks) scenario.callbacks = extra.callbacks;
  return { name, scenario, ...more };
}

// ---------------------------------------------------------------- the cases

const CASES: Case[] = [
  E("a coroutine that never suspends: done inside create_task, never listed by all_tasks", [
    log("before"),
    { op: "create_task", coro: "w", task: "t" },
    log("after"),
    inspect("t"),
    { op: "result", task: "t" },
    { op: "all_tasks" },
    { op: "await", on: { task: "t" } },
  ], { coroutines: [coro("w", [{ op: "current_task" }, { op: "all_tasks" }, { op: "return", value: 5 }])] }),
  E("a named task runs its first step under its default name", [
    { op: "create_task", coro: "w", task: "t", name: "nm" },
    inspect("t"),
    { op: "create_task", coro: "w2", task: "u", name: "un" },
    inspect("u"),
    { op: "all_tasks" },
    { op: "await", on: { task: "u" } },
    { op: "create_task", coro: "w", task: "v" },
  ], { coroutines: [coro("w", [{ op: "current_task" }]), coro("w2", [{ op: "current_task" }, sleep(0), { op: "current_task" }])] }),
  E("a task that suspends is scheduled and registered after its first step", [
    { op: "create_task", coro: "w", task: "t" },
    log("created"),
    { op: "all_tasks" },
    inspect("t"),
    { op: "await", on: { task: "t" } },
  ], { coroutines: [coro("w", [log("w1"), sleep(1), log("w2"), { op: "return", value: 2 }])] }),
  E("nested eager starts: the current task is set aside and restored", [
    { op: "create_task", coro: "a", task: "ta" },
    log("main-after"),
    { op: "await", on: { task: "ta" } },
    { op: "await", on: { task: "tb" } },
  ], {
    coroutines: [
      coro("a", [log("a1"), { op: "create_task", coro: "b", task: "tb" }, log("a2"), { op: "current_task" }, { op: "all_tasks" }]),
      coro("b", [log("b1"), { op: "current_task" }, { op: "all_tasks" }, sleep(0), log("b2")]),
    ],
  }),
  E("an exception in the first step: the task is done with it", [
    { op: "create_task", coro: "w", task: "t" },
    inspect("t"),
    { op: "exception", task: "t" },
    { op: "try", body: [{ op: "await", on: { task: "t" } }], except: [{ type: "ValueError" }] },
  ], { coroutines: [coro("w", [{ op: "raise", exc: { type: "ValueError", args: ["e"] } }])] }),
  E("CancelledError in the first step: the task is cancelled before create_task returns", [
    { op: "create_task", coro: "w", task: "t" },
    inspect("t"),
    { op: "cancel", task: "t" },
    { op: "try", body: [{ op: "await", on: { task: "t" } }], except: [{ type: "CancelledError" }] },
  ], { coroutines: [coro("w", [{ op: "raise", exc: { type: "CancelledError", args: ["e"] } }])] }),
  E("KeyboardInterrupt in the first step escapes from create_task into the creator", [
    { op: "try", body: [{ op: "create_task", coro: "w", task: "t" }], except: [{ type: "KeyboardInterrupt", body: [log("caught")] }] },
    inspect("t"),
    { op: "all_tasks" },
    log("end"),
  ], { coroutines: [coro("w", [log("w"), { op: "raise", exc: { type: "KeyboardInterrupt" } }])] }),
  E("SystemExit in the first step, not caught: main fails with it and it escapes the loop", [
    { op: "create_task", coro: "w", task: "t" },
    log("never"),
  ], { coroutines: [coro("w", [log("w"), { op: "raise", exc: { type: "SystemExit", args: [2] } }])] }),
  E("KeyboardInterrupt from an already-failed future awaited in the first step", [
    { op: "create_future", future: "f" },
    { op: "set_exception", future: "f", exc: { type: "KeyboardInterrupt" } },
    { op: "create_task", coro: "w", task: "t" },
    sleep(1),
    log("after"),
  ], { coroutines: [coro("w", [{ op: "await", on: { task: "f" } }])] }),
  E("gather of children finished eagerly is done at once; mixed with one that suspends", [
    { op: "await", on: { gather: [{ coro: "w" }, { coro: "w" }] } },
    { op: "await", on: { gather: [{ coro: "w" }, { coro: "s" }, { coro: "w" }] } },
    { op: "await", on: { gather: [{ coro: "bad" }, { coro: "s" }] } },
  ], {
    coroutines: [
      coro("w", [{ op: "current_task" }, { op: "return", value: 1 }]),
      coro("s", [sleep(0), { op: "return", value: 2 }]),
      coro("bad", [{ op: "raise", exc: { type: "ValueError" } }]),
    ],
  }),
  E("gather: a child failing eagerly fails the gather before the others finish", [
    { op: "try", body: [{ op: "await", on: { gather: [{ coro: "s" }, { coro: "bad" }] } }], except: [{ type: "ValueError" }] },
    sleep(1),
    { op: "await", on: { gather: [{ coro: "bad" }, { coro: "bad" }], return_exceptions: true } },
  ], { coroutines: [coro("s", [sleep(0), log("s"), { op: "return", value: 2 }]), coro("bad", [{ op: "raise", exc: { type: "ValueError" } }])] }),
  E("a task created in a callback starts eagerly with no task to restore", [
    { op: "call_soon", callback: "x" },
    sleep(0),
    inspect("t"),
    { op: "await", on: { task: "t" } },
  ], { callbacks: [cb("x", [{ op: "create_task", coro: "w", task: "t" }, { op: "current_task" }])], coroutines: [coro("w", [{ op: "current_task" }, sleep(0), { op: "current_task" }])] }),
  E("names before and after the first step, named and unnamed", [
    { op: "create_task", coro: "w", task: "t", name: "given" },
    { op: "create_task", coro: "w", task: "u" },
    inspect("t"),
    sleep(1),
  ], { coroutines: [coro("w", [{ op: "current_task" }, sleep(0), { op: "current_task" }])] }),
  E("an eager task cancels a task that is waiting", [
    { op: "create_task", coro: "w", task: "t" },
    { op: "create_task", coro: "k", task: "k" },
    sleep(0),
    log("main-end"),
  ], { coroutines: [coro("w", [sleep(5)]), coro("k", [{ op: "cancel", task: "t" }, inspect("t")])] }),
  E("awaiting a done future does not suspend the first step", [
    { op: "create_future", future: "f" },
    { op: "set_result", future: "f", value: 3 },
    { op: "create_task", coro: "w", task: "t" },
    inspect("t"),
    { op: "create_future", future: "g" },
    { op: "create_task", coro: "w2", task: "u" },
    { op: "set_result", future: "g", value: 4 },
    inspect("u"),
    { op: "await", on: { task: "u" } },
  ], { coroutines: [coro("w", [{ op: "await", on: { task: "f" } }]), coro("w2", [{ op: "await", on: { task: "g" } }])] }),
  E("done callbacks added to a task finished eagerly are scheduled at once", [
    { op: "create_task", coro: "w", task: "t" },
    { op: "add_done_callback", task: "t", callback: "x" },
    { op: "remove_done_callback", task: "t", callback: "x" },
    { op: "add_done_callback", task: "t", callback: "x" },
    sleep(0),
  ], { callbacks: [cb("x", [{ op: "current_task" }])], coroutines: [coro("w", [{ op: "return", value: 1 }])] }),
  E("main starts normally (the loop was not running); cancel / uncancel after an eager start", [
    { op: "current_task" },
    { op: "all_tasks" },
    { op: "create_task", coro: "w", task: "t" },
    { op: "cancel", task: "t" },
    { op: "uncancel", task: "t" },
    sleep(0),
    inspect("t"),
  ], { coroutines: [coro("w", [log("w"), sleep(0), log("w-after")])] }),
  E("gather wraps coroutines in eager tasks: the gathered futures start in argument order", [
    { op: "create_task", coro: "g", task: "gt" },
    log("gather-created"),
    sleep(0),
    { op: "cancel", task: "gt", msg: "stop" },
    sleep(0),
    sleep(0),
    inspect("gt"),
  ], {
    coroutines: [
      coro("g", [{ op: "await", on: { gather: [{ coro: "a" }, { coro: "b" }], return_exceptions: true } }]),
      coro("a", [log("a"), sleep(3)]),
      coro("b", [log("b"), { op: "try", body: [sleep(3)], except: [{ type: "CancelledError", body: [{ op: "return", value: "refused" }] }] }]),
    ],
  }),
  E("TaskGroup: children finished eagerly are never waited for (its fast path)", [
    {
      op: "taskgroup",
      group: "g",
      body: [
        { op: "create_task", coro: "w", task: "a", group: "g" },
        { op: "create_task", coro: "w", task: "b", group: "g", name: "bee" },
        { op: "create_task", coro: "s", task: "c", group: "g" },
        inspect("a"),
        { op: "all_tasks" },
      ],
    },
    inspect("c"),
  ], { coroutines: [coro("w", [{ op: "current_task" }, { op: "return", value: 1 }]), coro("s", [{ op: "current_task" }, sleep(0), { op: "current_task" }])] }),
  E("TaskGroup: a child failing eagerly aborts the group inside create_task", [
    {
      op: "try",
      body: [{
        op: "taskgroup",
        group: "g",
        body: [
          { op: "create_task", coro: "s", task: "c", group: "g" },
          { op: "create_task", coro: "bad", task: "a", group: "g" },
          log("after-bad"),
          { op: "create_task", coro: "w", task: "d", group: "g" },
          inspect("c"),
        ],
      }],
      except: [{ type: "ExceptionGroup", body: [log("eg")] }],
    },
    inspect("c"),
  ], { coroutines: [coro("w", [{ op: "return", value: 1 }]), coro("s", [sleep(1)]), coro("bad", [{ op: "raise", exc: { type: "ValueError" } }])] }),
  E("a task suspended in its first step is cancelled before it resumes", [
    { op: "create_task", coro: "w", task: "t" },
    { op: "cancel", task: "t", msg: "m" },
    inspect("t"),
    sleep(0),
    inspect("t"),
    { op: "exception", task: "t" },
  ], { coroutines: [coro("w", [log("w"), { op: "try", body: [sleep(0)], except: [{ type: "CancelledError", body: [log("caught"), { op: "raise", exc: { type: "CancelledError", args: ["again"] } }] }] }])] }),
];

/**
 * The driver pins hashes on CPython's Task with a Python-level __hash__.
 * When the C Task's eager first step raises KeyboardInterrupt or SystemExit,
 * task_eager_start unregisters the task (a set discard, which calls that
 * __hash__) with the exception still set, and Python turns it into
 * SystemError("... returned a result with an exception set") caused by the
 * KeyboardInterrupt. asyncio's own Task (C-level hash) lets the
 * KeyboardInterrupt through, as the pure-Python Task and the reference do;
 * the driver re-raises the cause, so no trace may show the SystemError.
 */
const DRIVER_ARTIFACT = /returned a result with an exception set/;

// ---------------------------------------------------------------- the tests

it("has distinct case names", () => {
  expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
});

describe("eager tasks are 3.12+", () => {
  it("the 3.11 reference has no eager task factory", () => {
    expect(makeReference("3.11").use_eager_task_factory).toBeUndefined();
    expect(() => runScenario(makeReference("3.11"), CASES[0].scenario)).toThrow(ScenarioError);
  });

  it("the 3.11 driver refuses eager scenarios", () => {
    const r = runOnDriver("python3", [CASES[0].scenario]);
    expect(r.version).toBe("3.11");
    expect(r.errors.get(0)).toMatch(/unsupported feature eager on Python 3\.11/);
  });
});

describe("what the reference's traces show", () => {
  const trace = (v: PythonVersion, name: string) => runScenario(makeReference(v), CASES.find((c) => c.name === name)!.scenario);
  const evs = (t: Trace, ev: string) => t.events.filter((e) => e.ev === ev);

  it("a task finishing in its first step is done when create_task returns, and never listed", () => {
    const t = trace("3.12", CASES[0].name);
    const i = t.events.findIndex((e) => e.ev === "log" && e.label === "after");
    const j = t.events.findIndex((e) => e.ev === "exit" && e.task === "Task-2");
    expect(j).toBeGreaterThan(0);
    expect(j).toBeLessThan(i);
    expect(evs(t, "inspect")[0]).toMatchObject({ ref: "t", done: true });
    expect(evs(t, "all_tasks").map((e) => (e as { names: string[] }).names)).toEqual([["Task-1", "Task-2"], ["Task-1"]]);
  });

  it("names: default during the first step; given name after; 3.13.0 names unnamed tasks 'None'", () => {
    const t12 = trace("3.12", "names before and after the first step, named and unnamed");
    const t13 = trace("3.13", "names before and after the first step, named and unnamed");
    const names = (t: Trace) => evs(t, "current_task").map((e) => (e as { name: string }).name);
    expect(names(t12)).toEqual(["Task-2", "Task-3", "given", "Task-3"]);
    expect(names(t13)).toEqual(["Task-2", "Task-3", "given", "None"]);
    expect(t13.main).toBeDefined();
    expect(t13.tasks.map((x) => x.name)).toEqual(["None", "given", "None"]);
  });
});

describe.each(targets)("eager scenarios on CPython $version ($python) vs reference@$version", ({ version, python }) => {
  const runs = new Map<TaskKind, DriverRun>();

  beforeAll(() => {
    const scenarios = CASES.map((c) => c.scenario);
    runs.set("C", runOnDriver(python, scenarios));
    runs.set("py", runOnDriver(python, scenarios, { task: "py" }));
  });

  it("runs on the expected Python version", () => {
    expect(runs.get("C")!.version).toBe(version);
  });

  describe.each(["C", "py"] as const)("%s Task", (kind) => {
    CASES.forEach((c, id) => {
      it(c.name, () => {
        const run = runs.get(kind)!;
        expect(run.errors.get(id), "the driver ran the scenario").toBeUndefined();
        const cpython = run.traces.get(id)!;
        // The driver must not show its pinned-hash artifact (see DRIVER_ARTIFACT).
        expect(JSON.stringify(cpython)).not.toMatch(DRIVER_ARTIFACT);
        const reference = runScenario(makeReference(version), c.scenario);
        expect(canonicalJson(reference), describeDifference(reference, cpython)).toBe(canonicalJson(cpython));
      });
    });
  });
});
