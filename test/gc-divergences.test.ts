/**
 * gc mode: the reference's divergences from CPython that `aiospec diff`
 * found and that are closed (docs/findings.md, "Where the reference still
 * differs from CPython"). One scenario per divergence, shrunk from the diff's
 * counterexample: the reference at each version it concerns against the
 * driver on that CPython (skipped, saying so, where it is absent), and the
 * fact that made them differ, asserted on both, so that the test fails on
 * the reference before the fix.
 */
import { describe, expect, it } from "vitest";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import { canonicalJson } from "../spec/scenario/trace";
import type { Trace } from "../spec/scenario/trace";
import { findCPython } from "../harness/targets";
import { driverTrace } from "./helpers/driver";
import type { Scenario } from "../spec/scenario/types";
import { WAIT_COMPLETION_QUEUED } from "./helpers/gc-scenarios";

interface Case {
  name: string;
  /** The command that found it. */
  found: string;
  versions: PythonVersion[];
  /** The pure-Python Task (reference+pytask against the driver's {"task": "py"}). */
  pyTask?: boolean;
  /** What CPython does and the old reference did not, read off a trace. */
  fact: (t: Trace) => boolean;
  scenario: Scenario;
}

const taskState = (t: Trace, name: string): string | undefined => t.tasks.find((x) => x.name === name)?.state;

const CASES: Case[] = [
  {
    // TaskGroup.__aexit__ raises its ExceptionGroup (`raise me from None`)
    // while the body's CancelledError is being handled: that is the group's
    // __context__, whose traceback keeps wait_for's frame and its local
    // `fut`, the task wrapping sleep(0). The main task keeps the group.
    name: "a TaskGroup's ExceptionGroup keeps the body's CancelledError, and wait_for(..., 0)'s inner task",
    found: "diff reference@3.12 cpython-3.12 --runs 2000 --seed 9 (and 3.13)",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => taskState(t, "Task-3") === "cancelled",
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "gc" },
            {
              op: "taskgroup",
              group: "g0",
              body: [
                { op: "create_task", coro: "c1", task: "t0", group: "g0" },
                { op: "await", on: { wait_for: { sleep: 0 }, timeout: 0 } },
              ],
            },
          ],
        },
        { name: "c1", body: [{ op: "raise", exc: { type: "ValueError" } }] },
      ],
    } as Scenario,
  },
  {
    // `except* CancelledError: raise` with `finally: raise ValueError`: the
    // finally runs while the re-raised group leaves, so the ValueError's
    // __context__ is that group, whose traceback (a group derived by
    // except* takes its original's) keeps the frame that awaited the
    // gather, and so gather's child. The task keeps its ValueError, the
    // handle keeps the task.
    name: "an except* construct's finally: what it raises keeps the group leaving it, and that group's frames",
    found: "diff reference@3.11 cpython-3.11 --runs 1500 --seed 24 (and 3.13)",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => taskState(t, "Task-3") === "cancelled",
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "gc" },
            { op: "create_task", coro: "c1", task: "t0" },
            { op: "try", body: [{ op: "await", on: { task: "t0" } }], except: [{ type: "ValueError" }] },
          ],
        },
        {
          name: "c1",
          body: [
            {
              op: "try",
              star: true,
              body: [
                { op: "cancel", task: "t0" },
                { op: "await", on: { gather: [{ sleep: 0 }] } },
              ],
              except: [{ type: "CancelledError", reraise: true }],
              finally: [{ op: "raise", exc: { type: "ValueError" } }],
            },
          ],
        },
      ],
    } as Scenario,
  },
  {
    // The same as the previous case, but what keeps the group is a new
    // exception raised in the except* handler: its __context__ is the
    // matched group.
    name: "an except* handler: what it raises keeps the matched group, and that group's frames",
    found: "diff reference@3.11 cpython-3.11 --seed 12, once the future's traceback was modelled",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => taskState(t, "Task-3") === "cancelled",
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "gc" },
            { op: "create_task", coro: "c1", task: "t0" },
            { op: "try", body: [{ op: "await", on: { task: "t0" } }], except: [{ type: "ValueError" }] },
          ],
        },
        {
          name: "c1",
          body: [
            {
              op: "try",
              star: true,
              body: [
                { op: "cancel", task: "t0" },
                { op: "await", on: { gather: [{ sleep: 0 }] } },
              ],
              except: [{ type: "CancelledError", body: [{ op: "raise", exc: { type: "ValueError" } }] }],
            },
          ],
        },
      ],
    } as Scenario,
  },
  {
    // Two tasks await gathers that fail with the same ValueError (a third
    // task's). Each raise of it by Future.result() starts from the
    // traceback it had when it was set (_exception_tb) and the C Future
    // then drops that, so the exception's traceback ends up holding only
    // the frames of the last raise: the second gather (its frame's `aw`)
    // and its sleep(0) child live on, the first one's child is collected.
    name: "a future's exception is raised with the traceback it was set with, and keeps only the last raise's frames",
    found: "diff reference@3.11 cpython-3.11 --seed 12",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => taskState(t, "Task-5") === undefined && taskState(t, "Task-6") === "result",
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "gc" },
            { op: "create_task", coro: "c1", task: "t0" },
            { op: "create_task", coro: "c2", task: "t1" },
            { op: "create_task", coro: "c2", task: "t2" },
            { op: "await", on: { task: "t1" } },
            { op: "await", on: { task: "t2" } },
          ],
        },
        // (It fails after a sleep, so that both gathers have their outcome
        // set, by their done callbacks, before either awaiter raises it; on
        // 3.12+ a gather of a task already done sets it inside gather(),
        // after the first raise, with that raise's traceback.)
        { name: "c1", body: [{ op: "await", on: { sleep: 0 } }, { op: "raise", exc: { type: "ValueError" } }] },
        {
          name: "c2",
          body: [
            {
              op: "try",
              body: [{ op: "await", on: { gather: [{ task: "t0" }, { sleep: 0 }] } }],
              except: [{ type: "ValueError" }],
            },
          ],
        },
      ],
    } as Scenario,
  },
  {
    // The main task and a dropped task (through shield) both raise one
    // future's ValueError, the main task first. The dropped task's raise
    // starts from the traceback shield's outer future saved, not from
    // everything the exception went through, so the main task's exception
    // (the same object) does not keep the dropped task: it is collected at
    // the end, its exception never retrieved.
    name: "a task that raised an exception the main task also raised is collected, and reported",
    found: "diff reference@3.13 cpython-3.13 --runs 2000 --seed 22",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => t.events.some((e) => e.ev === "exception_handler" && String(e.message).includes("never retrieved")),
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "create_task", coro: "c1", task: "t0" },
            { op: "drop", handle: "t0" },
            { op: "create_future", future: "f0" },
            { op: "call_soon", callback: "cb0" },
            { op: "await", on: { task: "f0" } },
          ],
        },
        { name: "c1", body: [{ op: "timeout", delay: 1, body: [{ op: "await", on: { shield: { task: "f0" } } }] }] },
      ],
      callbacks: [{ name: "cb0", body: [{ op: "set_exception", future: "f0", exc: { type: "ValueError" } }] }],
    } as Scenario,
  },
  {
    // A task suspended in a finally block that an exception is passing
    // through holds that exception (on its frame's stack, to re-raise it
    // after): the gather's ValueError, whose traceback keeps the frame that
    // awaited the gather, and so gather's child.
    name: "a task suspended in a finally block keeps the exception passing through it",
    found: "diff reference@3.12 cpython-3.12 --runs 2000 --seed 45",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => taskState(t, "Task-2") === "pending" && taskState(t, "Task-3") === "exception",
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "gc" },
            { op: "create_task", coro: "c1", task: "t0" },
            { op: "await", on: { sleep: 1 } },
          ],
        },
        {
          name: "c1",
          body: [
            {
              op: "try",
              body: [{ op: "await", on: { gather: [{ coro: "c2" }] } }],
              finally: [{ op: "await", on: { sleep: 2 } }],
            },
          ],
        },
        { name: "c2", body: [{ op: "raise", exc: { type: "ValueError" } }] },
      ],
    } as Scenario,
  },
  {
    // gather turns off the "destroyed but pending" report of the tasks it
    // makes for coroutines (their caller cannot reach them): of a pending
    // task awaiting gather(c1()) and gather's pending child, both
    // collected, only the first is reported.
    name: "a pending task gather made for a coroutine is destroyed silently",
    found: "diff reference@3.12 cpython-3.12 --runs 2000 --seed 29 (and 3.13), once futures kept tracebacks as CPython's do",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => {
      const reports = t.events.filter((e) => e.ev === "exception_handler");
      return reports.length === 1 && JSON.stringify(reports[0]).includes('"Task-2"');
    },
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "create_future", future: "f0" },
            { op: "create_task", coro: "c2", task: "t0" },
            { op: "await", on: { sleep: 0 } },
            { op: "await", on: { sleep: 0 } },
            { op: "drop", handle: "t0" },
            { op: "drop", handle: "f0" },
            { op: "gc" },
          ],
        },
        { name: "c2", body: [{ op: "await", on: { gather: [{ coro: "c1" }] } }] },
        { name: "c1", body: [{ op: "await", on: { task: "f0" } }] },
      ],
    } as Scenario,
  },
  {
    // With eager tasks, c1 fails inside create_task, called (through the
    // inner gather) while the main task evaluates its await's awaitable.
    // Its exception's traceback runs down that stack (f_back) to the
    // await's frame, which then holds the outer gather: the outer gather's
    // wait_for child (the fourth task, done) lives as long as c1's task,
    // which the inner gather holds, which sleep(3)'s pending task holds
    // through its done callback, which its timer holds.
    // (3.13.0 names a task factory's tasks "None": the tasks are counted.)
    name: "an eager task that fails in its first step keeps the frames of the task that created it",
    found: "diff reference@3.12 cpython-3.12 --runs 2000 --seed 27 (and 3.13)",
    versions: ["3.12", "3.13"],
    fact: (t) => t.tasks.length === 4 && t.tasks[3].state === "result",
    scenario: {
      aiospec: 1,
      eager: true,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "gc" },
            {
              op: "await",
              on: {
                gather: [{ gather: [{ sleep: 3 }, { coro: "c1" }] }, { wait_for: { sleep: 0 }, timeout: 1 }],
                return_exceptions: true,
              },
            },
          ],
        },
        { name: "c1", body: [{ op: "raise", exc: { type: "ValueError" } }] },
      ],
    } as Scenario,
  },
  {
    // Eager tasks nested three deep: shield(c1()) starts c1, whose loop
    // over as_completed([c2()]) starts c2 inside as_completed's set-up,
    // which starts c3, failing at once. c3's exception's traceback runs
    // down the whole stack (f_back) through the set-up's frame, whose loop
    // variable is c2's task when it returns: c2's task (done, the third
    // listed) lives as long as t0 keeps that exception. (3.13.0 names a
    // task factory's tasks "None": the tasks are counted.)
    name: "an eager task failing in a nested eager step keeps the asyncio frames further down the stack",
    found: "diff reference@3.13 cpython-3.13 --size medium --seed 2 (and 3.12)",
    versions: ["3.12", "3.13"],
    fact: (t) => t.tasks.length === 3 && t.tasks[2].state === "result",
    scenario: {
      aiospec: 1,
      eager: true,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "gc" },
            { op: "ensure_future", on: { shield: { coro: "c1" } }, future: "s0" },
            { op: "cancel", task: "s0" },
            { op: "sleep", ticks: 0 },
          ],
        },
        { name: "c1", body: [{ op: "as_completed", on: [{ coro: "c2" }] }] },
        { name: "c2", body: [{ op: "create_task", coro: "c3", task: "t0" }] },
        { name: "c3", body: [{ op: "raise", exc: { type: "ValueError" } }] },
      ],
    } as Scenario,
  },
  {
    // The other side of the two cases above: c2 fails in its eager first
    // step, inside shield(), called by c1, itself in the eager first step
    // gather gave it inside the main task's await. c1 suspends (a sleep)
    // instead of ending there, so its frames link, when they end, to the
    // loop's frames, not to the main task's await frame: c1's task (done)
    // is not kept by c2's exception, and is collected.
    name: "an eager task failing two eager steps up does not keep the main task's frames",
    found: "diff reference@3.12 cpython-3.12 --runs 2000 --seed 2 (and 3.13), after 85f30c0",
    versions: ["3.12", "3.13"],
    fact: (t) => t.tasks.length === 2,
    scenario: {
      aiospec: 1,
      eager: true,
      coroutines: [
        { name: "main", body: [{ op: "gc" }, { op: "await", on: { gather: [{ coro: "c1" }] } }] },
        {
          name: "c1",
          body: [
            { op: "ensure_future", on: { shield: { coro: "c2" } }, future: "s0" },
            { op: "sleep", ticks: 0 },
          ],
        },
        { name: "c2", body: [{ op: "await", on: { wait: [] } }] },
      ],
    } as Scenario,
  },
  {
    // The pure-Python Task steps its coroutine from Python frames:
    // __wakeup(future) -> __step(exc) -> __step_run_and_handle_result. c1's
    // ValueError ends Task-2 (c1's) in the step gather(sleep(0))'s
    // completion ran; its traceback keeps that frame, whose f_back chain
    // keeps __wakeup's `future`, the gather, whose _children holds Task-3.
    // The main task keeps the ValueError. (The C Task's step is C: Task-3
    // is collected there. The diff's scenario awaited c1 through wait_for.)
    name: "pure-Python Task: an exception that ends a task keeps the future whose wake-up ran that step",
    found: "diff reference@3.13+pytask cpython-3.13+pytask --runs 2000 --seed 3",
    versions: ["3.11", "3.12", "3.13"],
    pyTask: true,
    fact: (t) => taskState(t, "Task-3") === "result",
    scenario: {
      aiospec: 1,
      coroutines: [
        { name: "main", body: [{ op: "gc" }, { op: "await", on: { gather: [{ coro: "c1" }] } }] },
        {
          name: "c1",
          body: [
            { op: "await", on: { gather: [{ sleep: 0 }] } },
            { op: "raise", exc: { type: "ValueError" } },
          ],
        },
      ],
    } as Scenario,
  },
  {
    // The same chain when the step was woken by the awaited task t0
    // (cancelled): main catches t0's CancelledError, drops t0, and ends in
    // that step with the TaskGroup's ExceptionGroup, whose traceback keeps
    // __wakeup's `future`, t0 (and __step's `exc`, the CancelledError).
    name: "pure-Python Task: a task that ends with an exception keeps the task it was woken by",
    found: "diff reference@3.13+pytask cpython-3.13+pytask --runs 2000 --seed 12",
    versions: ["3.11", "3.12", "3.13"],
    pyTask: true,
    fact: (t) => taskState(t, "Task-2") === "cancelled",
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "gc" },
            { op: "create_task", coro: "c1", task: "t0" },
            { op: "cancel", task: "t0" },
            { op: "try", body: [{ op: "await", on: { task: "t0" } }], except: [{ type: "CancelledError" }] },
            { op: "drop", handle: "t0" },
            { op: "taskgroup", group: "g0", body: [{ op: "raise", exc: { type: "ValueError" } }] },
          ],
        },
        { name: "c1", body: [{ op: "await", on: { gather: [] } }] },
      ],
    } as Scenario,
  },
  {
    // Eager tasks, the pure-Python Task: c2 fails in its eager first step,
    // inside shield() in c1's eager first step. The traceback's chain runs
    // through c2's task's __eager_start frame, a Python one here, whose
    // `prev_task` is c1's task (t0, dropped): s0 (c2's task) keeps t0's
    // task, done, as the third listed. (3.13.0 names a task factory's
    // tasks "None": the tasks are counted.)
    name: "pure-Python Task: an eager task that fails in its first step keeps the task that created it (__eager_start's prev_task)",
    found: "diff reference@3.13+pytask cpython-3.13+pytask --runs 2000 --seed 2",
    versions: ["3.12", "3.13"],
    pyTask: true,
    fact: (t) => t.tasks.length === 3 && t.tasks[2].state === "result",
    scenario: {
      aiospec: 1,
      eager: true,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "taskgroup", group: "g0", body: [{ op: "create_task", coro: "c1", task: "t0", group: "g0" }] },
            { op: "drop", handle: "t0" },
          ],
        },
        { name: "c1", body: [{ op: "ensure_future", on: { shield: { coro: "c2" } }, future: "s0" }] },
        { name: "c2", body: [{ op: "await", on: { wait: [] } }] },
      ],
    } as Scenario,
  },
  {
    // gc mode, at the collection that ends the run: main left its loop over
    // as_completed([t0, c1(), c1()]) with t0's ExceptionGroup, and the
    // main task keeps that exception. Its traceback keeps the driver's
    // frame and the argument list; the first c1's coroutine object holds
    // its frame, suspended on its own f0 (nothing else holds that one:
    // the handle was bound again), and f0's wake-up callback holds the
    // task. The reference now gives a task's coroutine object those
    // referents (tasks.ts).
    name: "a coroutine object given to as_completed holds its frame: the future it awaits, and so its task",
    found: "diff reference@3.12 cpython-3.12 --size medium --seed 3 (and 3.11)",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => taskState(t, "Task-3") === "pending",
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "create_task", coro: "c4", task: "t0" },
            { op: "try", body: [{ op: "as_completed", on: [{ task: "t0" }, { coro: "c1" }, { coro: "c1" }] }], finally: [] },
          ],
        },
        {
          name: "c1",
          body: [
            { op: "create_future", future: "f0" },
            { op: "call_later", delay: 0, callback: "cb0" },
            { op: "try", body: [{ op: "await", on: { task: "f0" } }], except: [{ type: "CancelledError" }] },
          ],
        },
        {
          name: "c2",
          body: [
            { op: "create_task", coro: "c4", task: "t1" },
            { op: "ensure_future", on: { shield: { task: "t1" } }, future: "s0" },
            { op: "cancel", task: "s0" },
            { op: "drop", handle: "t1" },
          ],
        },
        { name: "c3", body: [] },
        { name: "c4", body: [{ op: "taskgroup", group: "g0", body: [{ op: "try", body: [{ op: "raise", exc: { type: "ValueError" } }], finally: [] }] }] },
      ],
      callbacks: [{ name: "cb0", body: [{ op: "set_result", future: "f0" }] }],
    } as Scenario,
  },
  {
    // A task cancelled out of its loop over as_completed, which catches
    // the CancelledError and collects in the same step: the exception is
    // still held by that step (C task_wakeup's `exc`), its traceback keeps
    // the driver's frame and argument list, whose coroutines keep their
    // tasks, pending on f (dropped). Not reported at main's collection in
    // that step (g2), but at the collector's next one (g3), while main
    // sleeps: once the step is over nothing holds the exception.
    name: "the exception a step throws into a task's coroutine lives until the step ends, caught or not",
    found: "as_completed.holds_its_tasks scenarios, by hand",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => {
      const [g2, g3] = ["g2", "g3"].map((label) => t.events.findIndex((e) => e.ev === "log" && e.label === label));
      const reports = t.events.flatMap((e, i) => (e.ev === "exception_handler" ? [i] : []));
      return g2 >= 0 && reports.length === 2 && reports.every((i) => i > g2 && i < g3);
    },
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "create_future", future: "f" },
            { op: "create_task", coro: "collector", task: "c", name: "collector" },
            { op: "try", body: [{ op: "as_completed", on: [{ coro: "stuck0" }, { coro: "stuck1" }] }], except: [{ type: "CancelledError" }] },
            { op: "gc" },
            { op: "log", label: "g2" },
            { op: "sleep", ticks: 1 },
          ],
        },
        { name: "stuck0", body: [{ op: "await", on: { task: "f" } }] },
        { name: "stuck1", body: [{ op: "await", on: { task: "f" } }] },
        {
          name: "collector",
          body: [
            { op: "sleep", ticks: 0 },
            { op: "drop", handle: "f" },
            { op: "gc" },
            { op: "log", label: "g1" },
            { op: "cancel", task: "$main" },
            { op: "sleep", ticks: 0 },
            { op: "gc" },
            { op: "log", label: "g3" },
          ],
        },
      ],
    } as Scenario,
  },
  {
    // `async for fut in as_completed(...)` binds each item to the frame's
    // local `fut`, which keeps the last one after the loop has gone on to
    // wait for the next; a timeout's CancelledError leaving the loop has
    // that frame in its traceback (the TimeoutError's __cause__, which the
    // main task keeps). CPython 3.13.0: Task-2 <- frame c2 (local fut) of
    // the reproducer <- a traceback (the driver's op_as_completed, alike).
    name: "an exception leaving a loop over as_completed keeps the item in hand",
    found: "diff reference@3.13 cpython-3.13 --runs 2000 --size medium --seed 13",
    versions: ["3.13"],
    fact: (t) => taskState(t, "Task-2") === "result",
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "gc" },
            { op: "create_future", future: "f0" },
            { op: "try", body: [], finally: [{ op: "await", on: { wait_for: { coro: "c2" }, timeout: 1 } }] },
          ],
        },
        { name: "c2", body: [{ op: "as_completed", on: [{ task: "f0" }, { coro: "c5" }], mode: "async" }] },
        { name: "c5", body: [] },
      ],
    },
  },
  {
    // Eager tasks. The first c1's task (Task-2) creates t1 = c2, which fails
    // in its own eager first step; c1 then returns, within its eager step
    // too. The ValueError's traceback holds c2's frame, whose f_back chain
    // (materialized as each frame returns) runs through c1's frame to the
    // create_task frames that made Task-2, whose `task` is Task-2. t1 keeps
    // its exception, so Task-2 survives the final collection. CPython 3.13.0
    // with the reproducer, gc.get_referrers: Task-2 <- frames create_task
    // (asyncio.create_task's, the loop's; local task) <- frame c1 (f_back)
    // <- ... <- the traceback of t1's ValueError; plain asyncio alike.
    name: "a task that finished within its eager step is kept by the exception of an eager task it created",
    found: "diff reference@3.13 cpython-3.13 --runs 2000 --size medium --seed 17 (and 3.12)",
    versions: ["3.12", "3.13"],
    // (Default names read "None" on 3.13.0 with a task factory: count instead.)
    fact: (t) => t.tasks.filter((x) => x.state === "result").length === 2,
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [{ op: "gc" }, { op: "repeat", times: 2, var: "rep", body: [{ op: "create_task", coro: "c1", task: "t0" }] }],
        },
        {
          name: "c1",
          body: [
            { op: "await", on: { task: "t1" } },
            { op: "create_task", coro: "c2", task: "t1" },
          ],
        },
        { name: "c2", body: [{ op: "await", on: { wait: [] } }] },
      ],
      eager: true,
    } as Scenario,
  },
  {
    // Task-4 (gather's child c2, second round) awaits wait_for(shield(t1))
    // with t1 (Task-3) already failed: it fails with t1's very ValueError,
    // whose traceback runs through Task-4's frames, wait_for's among them.
    // wait_for (3.12+: `async with timeouts.timeout(timeout): return await
    // fut`) holds fut and timeout in its frame; the Timeout, which holds its
    // task, is only on the frame's stack, cleared when the exception leaves
    // the frame. CPython 3.12.1 and 3.13.0, the reproducer at the final
    // collection: the ValueError's traceback has frames recorded, c2 (aw),
    // wait_for (fut, timeout), recorded, c3, and no Timeout; Task-4 is
    // collected. The reference (before 534be61) put [aw, cm] on it: Task-4
    // <- Timeout <- wait_for's frame list <- the ValueError <- t1.
    name: "an exception leaving wait_for does not keep its timeout, nor so the task the timeout holds",
    found: "diff reference@3.13 cpython-3.13 --runs 2000 --size medium --seed 16 (and 3.12)",
    versions: ["3.12", "3.13"],
    fact: (t) => taskState(t, "Task-3") === "exception" && taskState(t, "Task-4") === undefined,
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [{ op: "gc" }, { op: "repeat", times: 2, var: "rep", body: [{ op: "await", on: { gather: [{ coro: "c2" }], return_exceptions: true } }] }],
        },
        {
          name: "c2",
          body: [
            { op: "await", on: { wait_for: { shield: { task: "t1" } }, timeout: 1 } },
            { op: "taskgroup", group: "g0", body: [{ op: "create_task", coro: "c3", task: "t1" }] },
          ],
        },
        { name: "c3", body: [{ op: "try", body: [{ op: "raise", exc: { type: "ValueError" } }], finally: [] }] },
      ],
    } as Scenario,
  },
  {
    // c1 runs twice: the first time g0 is unbound, and c2's task (Task-3)
    // binds g0 to its TaskGroup and finishes; the second time c1 calls
    // g0.create_task on that finished group, which raises RuntimeError, and
    // Task-4 ends with it. Its traceback keeps the driver's op_create_task
    // frame (local group) and TaskGroup.create_task's (self); the group
    // keeps its parent task, Task-3 (3.11-3.13.0), after g0 and t2 were
    // bound again. CPython 3.13.0, the reproducer walked with
    // gc.get_referrers: Task-3 <- TaskGroup <- frames group_task (group)
    // and create_task (self) <- tracebacks <- the RuntimeError <- Task-4.
    name: "an exception leaving a TaskGroup's create_task keeps the group, and so its parent task",
    found: "diff reference@3.13 cpython-3.13 --runs 2000 --size medium --seed 19 (and 3.12; 3.11 alike)",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => taskState(t, "Task-3") === "result" && taskState(t, "Task-4") === "exception",
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "gc" },
            { op: "create_task", coro: "c1", task: "t0" },
            { op: "await", on: { task: "t0" } },
            { op: "create_task", coro: "c1", task: "t1" },
            { op: "create_future", future: "f0" },
            { op: "await", on: { task: "f0" } },
          ],
        },
        {
          name: "c1",
          body: [
            { op: "cancel", task: "t1" },
            { op: "create_task", coro: "c2", task: "t2" },
            { op: "try", body: [{ op: "try", body: [{ op: "create_task", coro: "c2", task: "t3", group: "g0" }], finally: [] }], finally: [] },
          ],
        },
        { name: "c2", body: [{ op: "taskgroup", group: "g0", body: [] }] },
      ],
    } as Scenario,
  },
  {
    // wait_for(sleep(0), timeout=0) in t1 (Task-4) wraps sleep(0) in a task
    // (Task-5), cancels it and raises `TimeoutError from exc`, exc being the
    // CancelledError that Task-5.result() raised in wait_for's frame: exc's
    // traceback keeps that frame, whose `fut` is Task-5. Two tasks then raise
    // Task-4's TimeoutError through as_completed; the C Future's result()
    // gives the exception its saved traceback the first time and none the
    // second (futures.ts), so only the __cause__ still reaches wait_for's
    // frame. CPython 3.12.1, the reproducer walked with gc.get_referrers at
    // the final collection: Task-5 <- frame wait_for (fut, timeout) <- tb
    // wait_for <- the CancelledError <- the TimeoutError (__cause__) <- the
    // second c2's task, bound to t0.
    name: "wait_for(..., 0)'s TimeoutError keeps, through its __cause__, the task wait_for made",
    found: "diff reference@3.12 cpython-3.12 --runs 2000 --size medium --seed 35 (and 3.13, after 509 scenarios)",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => taskState(t, "Task-5") === "cancelled",
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "create_task", coro: "c2", task: "t0" },
            { op: "create_task", coro: "c2", task: "t0" },
            { op: "create_task", coro: "c3", task: "t1" },
            { op: "sleep", ticks: 3 },
          ],
        },
        // Never called: its drop puts the scenario in gc mode (a final collection, no gc step).
        { name: "c1", body: [{ op: "drop", handle: "t0" }] },
        { name: "c2", body: [{ op: "as_completed", on: [{ task: "t1" }] }] },
        { name: "c3", body: [{ op: "await", on: { wait_for: { sleep: 0 }, timeout: 0 } }] },
      ],
    } as Scenario,
  },
  {
    // The same with a deadline that passes: on 3.12+ `async with
    // timeout(1): return await fut`, whose __aexit__ raises TimeoutError from
    // the CancelledError that came out of `await fut` in wait_for's frame;
    // on 3.11 wait_for's own `raise TimeoutError() from exc` after
    // fut.result(). Either way the cause's traceback keeps wait_for's frame
    // and its `fut`, the task c3 made and then let go of (t2 bound again).
    name: "a TimeoutError from wait_for's deadline keeps, through its __cause__, the future wait_for awaited",
    found: "by hand, from diff reference@3.12 cpython-3.12 --runs 2000 --size medium --seed 35",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => taskState(t, "Task-5") === "cancelled",
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "create_task", coro: "c3", task: "t1" },
            { op: "create_task", coro: "c2", task: "t0" },
            { op: "create_task", coro: "c2", task: "t0" },
            { op: "sleep", ticks: 3 },
            { op: "create_task", coro: "c6", task: "t2" },
            { op: "sleep", ticks: 1 },
          ],
        },
        { name: "c1", body: [{ op: "drop", handle: "t0" }] },
        { name: "c2", body: [{ op: "as_completed", on: [{ task: "t1" }] }] },
        {
          name: "c3",
          body: [
            { op: "create_task", coro: "c4", task: "t2" },
            { op: "await", on: { wait_for: { task: "t2" }, timeout: 1 } },
          ],
        },
        { name: "c4", body: [{ op: "await", on: { sleep: 2 } }] },
        { name: "c6", body: [] },
      ],
    } as Scenario,
  },
  {
    // c2's task (Task-2) enters timeout m0 and finishes; c3 then calls
    // m0.reschedule(), which raises RuntimeError ("Cannot change state of
    // finished Timeout"), and t0 (Task-3) ends with it. Its traceback keeps
    // Timeout.reschedule's frame (self) and the driver's op_reschedule
    // (cm): the timeout, which holds Task-2, after m0 and t1 were bound
    // again. CPython 3.12.1, the reproducer walked with gc.get_referrers at
    // the final collection: Task-2 <- Timeout <- frame reschedule (self) <-
    // tb <- the RuntimeError <- Task-3.
    name: "an exception leaving a timeout's reschedule keeps the timeout, and so the task that entered it",
    found: "diff reference@3.12 cpython-3.12 --runs 2000 --size medium --seed 35 (and 3.13, after 1,896 scenarios once wait_for's was closed)",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => taskState(t, "Task-2") === "result" && taskState(t, "Task-3") === "exception",
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "create_task", coro: "c2", task: "t1" },
            { op: "sleep", ticks: 1 },
            { op: "create_task", coro: "c3", task: "t0" },
            { op: "sleep", ticks: 1 },
            { op: "create_task", coro: "c2", task: "t1" },
            { op: "sleep", ticks: 1 },
            { op: "gc" },
          ],
        },
        { name: "c2", body: [{ op: "timeout", cm: "m0", delay: 5, body: [] }] },
        { name: "c3", body: [{ op: "reschedule", cm: "m0", delay: 1 }] },
      ],
    } as Scenario,
  },
  {
    // t0 (Task-2) waits on f0 with asyncio.wait(timeout=1); in one loop
    // iteration main cancels it and returns, then cb1 drops t0 and sets f0's
    // result, which queues wait's _on_completion, and Task-2 ends cancelled,
    // removing the callback from f0 but not the handle already queued. The
    // loop stops with that handle still in its ready queue. 3.11-3.13's
    // _on_completion closes over counter, return_when, timeout_handle and
    // waiter only (its __code__.co_freevars on 3.11.7, 3.12.1, 3.13.0), so
    // CPython collects Task-2; the reference's closure also held the
    // waiting task, which only 3.14's does (`cur_task`, gh-91048:
    // test/gc-divergences-3.14.test.ts).
    name: "a completion callback of asyncio.wait still queued when the loop stops does not keep the waiting task (3.11-3.13)",
    found: "diff reference@3.11 cpython-3.11 --runs 2000 --size medium --seed 28 (after 853 scenarios; 3.12, 3.13 alike)",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => taskState(t, "Task-2") === undefined,
    scenario: WAIT_COMPLETION_QUEUED,
  },
  {
    // e0 = gather(wait_for(shield(c2()), 1)), cancelled at once: the task
    // gather made for wait_for (Task-3) is cancelled before its first step,
    // so CancelledError is thrown into the fresh wait_for coroutine. It
    // leaves from wait_for's frame, which already holds its arguments (fut:
    // shield's outer future), and its traceback keeps that frame; Task-3
    // keeps the CancelledError and gather's outer future (bound to e0) hands
    // on that very object. c2 then fails and shield sets its ValueError on
    // the outer future, which stays alive, unretrieved, and unreported.
    // CPython 3.11.7, gc.get_referrers at the final collection: the outer
    // future <- frame wait_for (fut, timeout) <- tb wait_for <- ... <- the
    // CancelledError <- e0 (_GatheringFuture). The reference reported "Future
    // exception was never retrieved" for it.
    name: "a coroutine of asyncio's cancelled before it started keeps its arguments: wait_for's future",
    found: "diff reference@3.11 cpython-3.11 --runs 2000 --size medium --seed 32 (after 1,222 scenarios)",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => !t.events.some((e) => e.ev === "exception_handler") && taskState(t, "Task-3") === "cancelled",
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "gc" },
            { op: "ensure_future", on: { gather: [{ wait_for: { shield: { coro: "c2" } }, timeout: 1 }] }, future: "e0" },
            { op: "cancel", task: "e0" },
            { op: "try", body: [{ op: "await", on: { task: "e0" } }], except: [{ type: "CancelledError" }] },
            { op: "sleep", ticks: 1 },
          ],
        },
        { name: "c2", body: [{ op: "raise", exc: { type: "ValueError" } }] },
      ],
    } as Scenario,
  },
  {
    // The pure-Python Task. main catches f0's ValueError (thrown into its
    // coroutine by __step), then awaits gather(sleep(0)) and returns. The
    // ValueError, kept by f0 (bound), has main's frames in its traceback;
    // when main's coroutine ends, 3.12+ link its finished frames on to the
    // step frames under it (f_back), and __wakeup's `future` is the gather,
    // which holds its child (Task-2). CPython 3.13.0 with _PyTask pinned,
    // gc.get_referrers at the final collection: Task-2 <- list _children <-
    // the _GatheringFuture's dict; 3.12.1 and 3.14.2 keep it too, 3.11.7 does
    // not (next case). The reference modelled this only for an exception
    // that ends the coroutine (docs/findings.md listed it as not modelled).
    name: "pure-Python Task, 3.12+: an exception caught in the coroutine keeps the step frames once the coroutine returns",
    found: "diff reference@3.13+pytask cpython-3.13+pytask --runs 2000 --size medium --seed 7 (after 13 scenarios)",
    versions: ["3.12", "3.13"],
    pyTask: true,
    fact: (t) => taskState(t, "Task-2") === "result",
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "gc" },
            { op: "create_future", future: "f0" },
            { op: "call_later", delay: 0, callback: "cb0" },
            { op: "try", body: [{ op: "await", on: { task: "f0" } }], except: [{ type: "BaseException" }] },
            { op: "await", on: { gather: [{ sleep: 0 }] } },
          ],
        },
      ],
      callbacks: [{ name: "cb0", body: [{ op: "set_exception", future: "f0", exc: { type: "ValueError" } }] }],
    } as Scenario,
  },
  {
    // 3.11's generators drop a finished frame's link to its caller before
    // clearing it, so no f_back chain is made: the gather's child goes.
    name: "pure-Python Task, 3.11: the same caught exception does not keep the step frames",
    found: "with the case above",
    versions: ["3.11"],
    pyTask: true,
    fact: (t) => taskState(t, "Task-2") === undefined && taskState(t, "Task-1") === "result",
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "gc" },
            { op: "create_future", future: "f0" },
            { op: "call_later", delay: 0, callback: "cb0" },
            { op: "try", body: [{ op: "await", on: { task: "f0" } }], except: [{ type: "BaseException" }] },
            { op: "await", on: { gather: [{ sleep: 0 }] } },
          ],
        },
      ],
      callbacks: [{ name: "cb0", body: [{ op: "set_exception", future: "f0", exc: { type: "ValueError" } }] }],
    } as Scenario,
  },
  {
    // The pure-Python Task's __wakeup(future) runs the step inside `except
    // BaseException as exc: self.__step(exc)`: what the step raises, eager
    // tasks it starts included, gets exc as its __context__. Here exc is the
    // CancelledError the first t0 ended with, raised again in main by
    // result() and caught there; a later eager task (t3) ends with a
    // CancelledError whose context it is, and keeps it; its traceback has
    // main's finished frame, linked (3.12+) to the step frames, whose
    // __wakeup holds the first t0, dropped since. The C Task's wake-up is C
    // code and pushes nothing: the first t0 goes.
    name: "the pure-Python Task's step, woken by a failed future, raises under that exception (its __context__), and keeps the future",
    found: "diff reference@3.12+pytask cpython-3.12+pytask --runs 2000 --size large --seed 10 (and 3.13)",
    versions: ["3.12", "3.13"],
    pyTask: true,
    fact: (t) => t.tasks.some((x) => x.ref === null && x.state === "cancelled"),
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"create_task","coro":"c3","task":"t0"},{"op":"cancel","task":"t0"},{"op":"try","body":[{"op":"await","on":{"task":"t0"}}],"except":[{"type":"CancelledError"}]},{"op":"taskgroup","group":"g0","body":[{"op":"create_task","coro":"c2","task":"t1","group":"g0"}]}]},{"name":"c1","body":[{"op":"create_task","coro":"c3","task":"t2"},{"op":"ensure_future","on":{"shield":{"task":"t2"}},"future":"s0"},{"op":"cancel","task":"s0"},{"op":"drop","handle":"t2"}]},{"name":"c2","body":[{"op":"try","body":[],"finally":[]},{"op":"taskgroup","group":"g1","body":[{"op":"create_task","coro":"c3","task":"t3"}]},{"op":"create_task","coro":"c3","task":"t0"}]},{"name":"c3","body":[{"op":"try","body":[{"op":"await","on":{"task":"f0"}}],"finally":[]},{"op":"create_future","future":"f0"},{"op":"await","on":{"wait_for":{"task":"f0"},"timeout":1}}]}],"eager":true}`) as Scenario,
  },
  {
    // The same seed, once the case above was closed: the exception a
    // `raise` step raises in a step of the pure-Python Task woken by a
    // failed future gets that future's exception as __context__ too. Here a
    // ValueError raised in main's TaskGroup body, after main caught the
    // first t0's CancelledError, keeps it (through the ExceptionGroup main
    // ends with), and its traceback wait_for(sleep(0), -1)'s inner task.
    name: "a raise step in a pure-Python Task's step woken by a failed future chains that exception (its __context__)",
    found: "diff reference@3.12+pytask cpython-3.12+pytask --runs 2000 --size large --seed 10, after the case above (and 3.13)",
    versions: ["3.12", "3.13"],
    pyTask: true,
    fact: (t) => t.tasks.filter((x) => x.ref === null && x.state === "cancelled").length === 2,
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"create_task","coro":"c2","task":"t0"},{"op":"cancel","task":"t0"},{"op":"try","body":[{"op":"await","on":{"task":"t0"}}],"except":[{"type":"CancelledError"}]},{"op":"taskgroup","group":"g0","body":[{"op":"create_task","coro":"c2","task":"t1","group":"g0"},{"op":"try","body":[{"op":"raise","exc":{"type":"ValueError"}}],"finally":[]}]}]},{"name":"c1","body":[{"op":"create_task","coro":"c2","task":"t2"},{"op":"ensure_future","on":{"shield":{"task":"t2"}},"future":"s0"},{"op":"cancel","task":"s0"},{"op":"drop","handle":"t2"}]},{"name":"c2","body":[{"op":"await","on":{"wait_for":{"sleep":0},"timeout":-1}}]}],"eager":true}`) as Scenario,
  },
  {
    // main awaits a failed task twice: the first await is woken and the
    // task throws the ValueError in; the second finds the task done, and
    // result() raises the same ValueError in main's coroutine, replacing its
    // traceback (main's frame again). The reference kept the link only for
    // what the task throws in, and result() resets the traceback: the
    // second raise lost it. CPython 3.12.1 / 3.13.0 with _PyTask keep
    // gather's child (Task-3) through main's finished frame, linked to the
    // step frames, as in the case before (d14586b).
    name: "a failed task awaited twice: the second raise, by result() in the coroutine, keeps the pure-Python Task's step frames too",
    found: "diff reference@3.12+pytask cpython-3.12+pytask --runs 2000 --size medium --seed 20 (and 3.13)",
    versions: ["3.12", "3.13"],
    pyTask: true,
    fact: (t) => taskState(t, "Task-3") === "result",
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"create_task","coro":"c1","task":"t0"},{"op":"inspect","task":"t0"},{"op":"repeat","times":2,"var":"rep","body":[{"op":"try","body":[{"op":"await","on":{"task":"t0"}}],"except":[{"type":"BaseException"}]}]},{"op":"await","on":{"gather":[{"sleep":0}]}}]},{"name":"c1","body":[{"op":"await","on":{"wait":[]}}]},{"name":"c2","body":[{"op":"drop","handle":"t0"}]}]}`) as Scenario,
  },
  {
    // What the implementation raises itself in such a step chains the same
    // way: main, woken by t0's CancelledError (raised again in main and
    // caught there), calls create_task on a TaskGroup never entered. Its
    // RuntimeError, raised in TaskGroup.create_task while __wakeup handles
    // the CancelledError, gets that as __context__; main ends with it, and
    // the CancelledError's traceback keeps t0's step frames, whose
    // __wakeup holds the gather it was woken by, and so gather's child
    // (Task-3). CPython 3.11.7, _PyTask, walked with gc.get_referents:
    // RuntimeError -> CancelledError -> traceback ... -> frame __step ->
    // frame __wakeup -> _GatheringFuture -> _children -> Task-3. The
    // reference chained only what `raise` steps and result() raise (3.12+
    // keep Task-3 through main's finished frame as well; 3.11 only so).
    name: "the implementation's own exception, raised in a pure-Python Task's step woken by a failed future, chains that exception (its __context__)",
    found: "diff reference@3.11+pytask cpython-3.11+pytask --runs 2000 --size large --seed 4",
    versions: ["3.11", "3.12", "3.13"],
    pyTask: true,
    fact: (t) => taskState(t, "Task-3") === "cancelled",
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"create_task","coro":"c1","task":"t0"},{"op":"sleep","ticks":0},{"op":"cancel","task":"t0"},{"op":"try","body":[{"op":"await","on":{"task":"t0"}}],"except":[{"type":"CancelledError"}]},{"op":"new_taskgroup","group":"g0"},{"op":"create_task","coro":"c1","task":"t1","group":"g0"}]},{"name":"c1","body":[{"op":"await","on":{"gather":[{"sleep":0}]}}]}]}`) as Scenario,
  },
  {
    // 3.11's wait_for waits on a waiter future: a timeout(0) around it
    // cancels the task, the waiter's CancelledError is thrown into wait_for
    // and caught there (aw is done: its result is returned). That
    // CancelledError has wait_for's frame in its traceback (fut: the task
    // wrapping c3), and the pure-Python Task's step woken by the waiter
    // runs under it, so the ValueError main raises next keeps it as
    // __context__. CPython 3.11.7, _PyTask, gc.get_referents: ValueError ->
    // CancelledError -> traceback -> frame wait_for -> Task-2. The C Task
    // keeps nothing of it.
    name: "3.11's wait_for, cancelled while aw is done: the CancelledError it catches keeps its frame, and the pure-Python Task's step raises under it",
    found: "diff reference@3.11+pytask cpython-3.11+pytask --runs 2000 --size medium --seed 20",
    versions: ["3.11"],
    pyTask: true,
    fact: (t) => taskState(t, "Task-2") === "result",
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"timeout","delay":0,"body":[{"op":"await","on":{"wait_for":{"coro":"c3"},"timeout":1}}]},{"op":"raise","exc":{"type":"ValueError"}}]},{"name":"c3","body":[]}]}`) as Scenario,
  },
  {
    // Eager tasks: t0 fails in its eager first step, inside main's first
    // step; its ValueError's traceback has main's coroutine frame (create_task
    // was called from it). With the pure-Python Task (3.12+), that frame,
    // once main has returned, links on to the step frames of main's last
    // step, woken by the gather: __wakeup holds the _GatheringFuture, which
    // holds its child (Task-3). CPython 3.12.1, _PyTask, gc.get_referrers:
    // Task-3 <- list <- _GatheringFuture <- frame __wakeup <- __step <-
    // __step_run_and_handle_result <- ... <- frame main <- create_task's
    // frames. The reference linked the eager failure to the creating task's
    // frames as they were, not to where they lead once it ends (tasks.ts
    // eagerStart: previous.stackBelow).
    name: "pure-Python Task: an eager task that fails in its first step keeps the step frames the creating task ends in",
    found: "diff reference@3.12+pytask cpython-3.12+pytask --runs 2000 --size large --seed 201 (and 3.13)",
    versions: ["3.12", "3.13"],
    pyTask: true,
    fact: (t) => t.tasks.length === 3 && t.tasks[2].state === "result",
    scenario: JSON.parse(String.raw`{"aiospec":1,"eager":true,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"create_task","coro":"c3","task":"t0"},{"op":"await","on":{"gather":[{"sleep":0}]}}]},{"name":"c3","body":[{"op":"raise","exc":{"type":"ValueError"}}]}]}`) as Scenario,
  },
  {
    // As the implementation's own exception of a synchronous step above,
    // for one an await raises: main, woken by t0's CancelledError and
    // having caught it, awaits wait([]), whose ValueError is raised in
    // wait()'s frame while __wakeup handles the CancelledError. It keeps
    // gather's child (Task-3) through the CancelledError's traceback
    // (3.12+ through main's finished frame as well).
    name: "asyncio's own exception, raised by an await in a pure-Python Task's step woken by a failed future, chains that exception",
    found: "diff reference@3.11+pytask cpython-3.11+pytask --runs 5000 --size medium --seed 205",
    versions: ["3.11", "3.12", "3.13"],
    pyTask: true,
    fact: (t) => taskState(t, "Task-3") === "cancelled",
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"create_task","coro":"c1","task":"t0"},{"op":"sleep","ticks":0},{"op":"cancel","task":"t0"},{"op":"try","body":[{"op":"await","on":{"task":"t0"}}],"except":[{"type":"CancelledError"}]},{"op":"await","on":{"wait":[]}}]},{"name":"c1","body":[{"op":"await","on":{"gather":[{"sleep":0}]}}]}]}`) as Scenario,
  },
  {
    // Eager tasks: main creates t1 in t0's TaskGroup (g0), and t1 fails in
    // its eager first step, inside TaskGroup.create_task; then main drops
    // t0 and binds g0 to another group. t1's ValueError keeps, through its
    // traceback, the frames of the calls that ran that step, and
    // TaskGroup.create_task's holds the group (self), which holds its parent
    // task, t0's, done since with the group's ExceptionGroup. CPython 3.12.1
    // (C Task), gc.get_referrers: t0's task <- TaskGroup <- frame
    // create_task <- ... <- frame __init__ <- frame recorded <- traceback
    // <- t1. The reference kept only the creating task's frames
    // (taskgroups.ts: the group's frame, loop.callerFrames), and reported
    // the ExceptionGroup as never retrieved.
    name: "an eager task failing in its first step, created in a TaskGroup, keeps the group, and so its parent task",
    found: "diff reference@3.12+pytask cpython-3.12+pytask --runs 2000 --size large --seed 205 (and 3.13, and the C Task)",
    versions: ["3.12", "3.13"],
    fact: (t) => t.tasks.length === 3 && t.tasks[1].state === "exception" && !t.events.some((e) => e.ev === "exception_handler"),
    scenario: JSON.parse(String.raw`{"aiospec":1,"eager":true,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"create_task","coro":"c3","task":"t0"},{"op":"create_task","coro":"c6","task":"t1","group":"g0"},{"op":"drop","handle":"t0"},{"op":"new_taskgroup","group":"g0"},{"op":"sleep","ticks":2}]},{"name":"c3","body":[{"op":"taskgroup","group":"g0","body":[{"op":"sleep","ticks":1}]}]},{"name":"c6","body":[{"op":"raise","exc":{"type":"ValueError"}}]}]}`) as Scenario,
  },
  {
    // A pending task the collector destroys has its coroutine closed by
    // CPython (the coroutine object's finalizer, during gc.collect()):
    // GeneratorExit is thrown in where it is suspended, and its finally
    // block runs, here f1.set_result(None), which wakes t1. The driver
    // records nothing of the close itself, but t1's wake-up follows. The
    // reference reported the destroyed task and left its coroutine as it
    // was: t1 waited until the shutdown cancelled it.
    name: "a pending task destroyed by the collector has its coroutine closed: its finally block runs",
    found: "diff reference@3.12 cpython-3.12 --runs 2000 --size large --seed 304 (and 3.11, 3.13)",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => t.events.some((e) => e.ev === "log" && (e as { label: string }).label === "woke"),
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"create_future","future":"f0"},{"op":"create_future","future":"f1"},{"op":"create_task","coro":"c1","task":"t0"},{"op":"create_task","coro":"c2","task":"t1"},{"op":"sleep","ticks":0},{"op":"drop","handle":"t0"},{"op":"drop","handle":"f0"},{"op":"gc"},{"op":"sleep","ticks":1}]},{"name":"c1","body":[{"op":"try","body":[{"op":"await","on":{"task":"f0"}}],"finally":[{"op":"set_result","future":"f1"}]}]},{"name":"c2","body":[{"op":"await","on":{"task":"f1"}},{"op":"log","label":"woke"}]}]}`) as Scenario,
  },
  {
    // The pure-Python Task steps its coroutine inside __wakeup's except
    // block: here the CancelledError the TaskGroup's abort threw into
    // wait_for (3.11), which wait_for turned into its inner task's
    // TimeoutError, caught by the body. The group's ExceptionGroup, raised in
    // the same step with no body exception, gets that CancelledError as its
    // __context__, and its traceback keeps wait_for's frame and `fut`, the
    // inner task (Task-3). The C Task's step handles nothing: Task-3 is
    // collected there, and on 3.12+ wait_for is a timeout block.
    name: "a TaskGroup's ExceptionGroup keeps what the pure-Python Task's wake-up handles, and wait_for's inner task",
    found: "diff reference@3.11+pytask cpython-3.11+pytask --runs 5000 --size medium --seed 602",
    versions: ["3.11"],
    pyTask: true,
    fact: (t) => t.tasks.some((x) => x.name === "Task-3"),
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"await","on":{"coro":"c2"}}]},{"name":"c2","body":[{"op":"taskgroup","group":"g0","body":[{"op":"create_task","coro":"c3","task":"t0","group":"g0"},{"op":"try","body":[{"op":"await","on":{"wait_for":{"coro":"c3"},"timeout":1}}],"except":[{"type":"TimeoutError"}]}]}]},{"name":"c3","body":[{"op":"raise","exc":{"type":"TimeoutError"}}]}]}`) as Scenario,
  },
  {
    // The collector destroys Task-2 (c1, in a TaskGroup, awaiting its child
    // Task-5) and Task-5, and closes their coroutines. GeneratorExit reaches
    // the group's __aexit__, which cancels Task-5 and awaits again: that
    // close fails ("coroutine ignored GeneratorExit") and the frames are
    // closed by their own objects' finalizers. Task-5's cancellation wakes
    // it (the loop holds it again), then Task-2: both coroutines are done
    // for, and both tasks end with "cannot reuse already awaited coroutine",
    // running no scenario code. The reference resumed Task-2's coroutine,
    // which left the group with a BaseExceptionGroup(GeneratorExit).
    name: "a destroyed task whose closed coroutine awaited again never runs its code again",
    found: "diff reference@3.11 cpython-3.11 --runs 5000 --size medium --seed 611 (and 3.12, 3.13, both Tasks)",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => !t.events.some((e) => e.task === "Task-2" && e.ev === "exit"),
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"repeat","times":3,"var":"rep","body":[{"op":"create_task","coro":"c1","task":"t0"}]},{"op":"cancel","task":"t0"},{"op":"sleep","ticks":0}]},{"name":"c1","body":[{"op":"taskgroup","group":"g0","body":[{"op":"create_task","coro":"c2","task":"t1","group":"g0"},{"op":"await","on":{"task":"t1"}}]}]},{"name":"c2","body":[{"op":"create_future","future":"f0"},{"op":"await","on":{"wait":[{"task":"f0"}]}}]}]}`) as Scenario,
  },
  {
    name: "a destroyed task whose closed coroutine awaited again never runs its code again (pure-Python Task)",
    found: "diff reference@3.11+pytask cpython-3.11+pytask --runs 5000 --size medium --seed 611 (and 3.12, 3.13)",
    versions: ["3.11", "3.12", "3.13"],
    pyTask: true,
    fact: (t) => !t.events.some((e) => e.task === "Task-2" && e.ev === "exit"),
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"repeat","times":3,"var":"rep","body":[{"op":"create_task","coro":"c1","task":"t0"}]},{"op":"cancel","task":"t0"},{"op":"sleep","ticks":0}]},{"name":"c1","body":[{"op":"taskgroup","group":"g0","body":[{"op":"create_task","coro":"c2","task":"t1","group":"g0"},{"op":"await","on":{"task":"t1"}}]}]},{"name":"c2","body":[{"op":"create_future","future":"f0"},{"op":"await","on":{"wait":[{"task":"f0"}]}}]}]}`) as Scenario,
  },
  {
    // The collector destroys Task-2 (c2, awaiting its f0, which the second
    // c2 rebound) and closes its coroutine. Its `except BaseException`
    // catches the GeneratorExit, but the driver runs each statement as a
    // coroutine of its own and CPython closes each: the try statement ends
    // normally, then the coroutine running c2's statements gets
    // GeneratorExit where it awaits it, and the `drop f0` after it never
    // runs. The reference went on to the drop, unbinding the second c2's f0:
    // Task-3 found it unbound.
    name: "a destroyed task's coroutine that catches the collector's GeneratorExit runs nothing after its try statement",
    found: "diff reference@3.12 cpython-3.12 --runs 3000 --size medium --seed 9 (and 3.13, both Tasks)",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => !t.events.some((e) => e.ev === "unbound"),
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"repeat","times":2,"var":"rep","body":[{"op":"ensure_future","on":{"shield":{"coro":"c2"}},"future":"s0"}]},{"op":"cancel","task":"s0"},{"op":"inspect","task":"s0"}]},{"name":"c2","body":[{"op":"create_future","future":"f0"},{"op":"try","body":[{"op":"await","on":{"task":"f0"}}],"except":[{"type":"BaseException"}]},{"op":"drop","handle":"f0"},{"op":"log","label":"a"}]}]}`) as Scenario,
  },
  {
    name: "a destroyed task's coroutine that catches the collector's GeneratorExit runs nothing after its try statement (pure-Python Task)",
    found: "diff reference@3.12+pytask cpython-3.12+pytask --runs 3000 --size medium --seed 9 (and 3.13)",
    versions: ["3.11", "3.12", "3.13"],
    pyTask: true,
    fact: (t) => !t.events.some((e) => e.ev === "unbound"),
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"repeat","times":2,"var":"rep","body":[{"op":"ensure_future","on":{"shield":{"coro":"c2"}},"future":"s0"}]},{"op":"cancel","task":"s0"},{"op":"inspect","task":"s0"}]},{"name":"c2","body":[{"op":"create_future","future":"f0"},{"op":"try","body":[{"op":"await","on":{"task":"f0"}}],"except":[{"type":"BaseException"}]},{"op":"drop","handle":"f0"},{"op":"log","label":"a"}]}]}`) as Scenario,
  },
  {
    // main calls t0.result() (the driver's probe), which raises t0's
    // ValueError; the shield's outer future s0 holds that same exception,
    // whose traceback now has the probe frame, which holds `fut.result`, a
    // method bound to t0. So t0 (Task-2) survives the final collection
    // after c4 dropped its handle. The reference's probe kept nothing.
    name: "an exception raised by a result() probe keeps, through its traceback, the future it was called on",
    found: "diff reference@3.11 cpython-3.11 --runs 3000 --size large --seed 630 (and 3.12, 3.13, both Tasks)",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => t.tasks.some((x) => x.name === "Task-2"),
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"log","label":"a"},{"op":"create_task","coro":"c3","task":"t0"},{"op":"ensure_future","on":{"shield":{"task":"t0"}},"future":"s0"},{"op":"sleep","ticks":0},{"op":"cancel","task":"$current"},{"op":"inspect","task":"s0"},{"op":"result","task":"t0"},{"op":"timeout","delay":1,"body":[{"op":"taskgroup","group":"g0","body":[{"op":"create_task","coro":"c4","task":"t1","group":"g0"}]}]}]},{"name":"c1","body":[]},{"name":"c2","body":[]},{"name":"c3","body":[{"op":"try","body":[{"op":"raise","exc":{"type":"ValueError"}}],"finally":[]}]},{"name":"c4","body":[{"op":"drop","handle":"t0"}]}]}`) as Scenario,
  },
  {
    name: "an exception raised by a result() probe keeps, through its traceback, the future it was called on (pure-Python Task)",
    found: "diff reference@3.11+pytask cpython-3.11+pytask --runs 3000 --size large --seed 630 (and 3.12, 3.13)",
    versions: ["3.11", "3.12", "3.13"],
    pyTask: true,
    fact: (t) => t.tasks.some((x) => x.name === "Task-2"),
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"log","label":"a"},{"op":"create_task","coro":"c3","task":"t0"},{"op":"ensure_future","on":{"shield":{"task":"t0"}},"future":"s0"},{"op":"sleep","ticks":0},{"op":"cancel","task":"$current"},{"op":"inspect","task":"s0"},{"op":"result","task":"t0"},{"op":"timeout","delay":1,"body":[{"op":"taskgroup","group":"g0","body":[{"op":"create_task","coro":"c4","task":"t1","group":"g0"}]}]}]},{"name":"c1","body":[]},{"name":"c2","body":[]},{"name":"c3","body":[{"op":"try","body":[{"op":"raise","exc":{"type":"ValueError"}}],"finally":[]}]},{"name":"c4","body":[{"op":"drop","handle":"t0"}]}]}`) as Scenario,
  },
  {
    // Task-2 (c1, its handle t0 rebound by the repeat) catches, inside a
    // timeout's body, the TimeoutError of gather's child t1. The traceback
    // of that TimeoutError has the driver's op_try frame; once op_try
    // returns, CPython 3.12+ links its frame object to its caller's
    // (f_back), and so on down to op_timeout's, whose `cm` holds the
    // Timeout, which holds Task-2. The gather's outer future keeps the
    // TimeoutError (its pending sleep child keeps the gather), so Task-2
    // survives the final collection. The reference kept a context manager
    // only for an exception leaving its body.
    name: "an exception caught inside a timeout's body keeps, through its frames' callers, the timeout and its task (3.12+)",
    found: "diff reference@3.12 cpython-3.12 --runs 2000 --size large --seed 611 (and 3.13, both Tasks)",
    versions: ["3.12", "3.13"],
    fact: (t) => taskState(t, "Task-2") === "result",
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"repeat","times":2,"var":"rep","body":[{"op":"create_task","coro":"c1","task":"t0"}]},{"op":"try","body":[{"op":"await","on":{"task":"t0"}}],"except":[{"type":"CancelledError"}]}]},{"name":"c1","body":[{"op":"taskgroup","group":"g0","body":[]},{"op":"timeout","delay":1,"body":[{"op":"try","body":[{"op":"create_task","coro":"c4","task":"t1"},{"op":"await","on":{"gather":[{"task":"t1"},{"sleep":2}]}}],"except":[{"type":"TimeoutError"}]}]}]},{"name":"c2","body":[]},{"name":"c3","body":[]},{"name":"c4","body":[{"op":"try","body":[{"op":"raise","exc":{"type":"TimeoutError"}}],"finally":[]}]},{"name":"c5","body":[]}]}`) as Scenario,
  },
  {
    name: "an exception caught inside a timeout's body keeps, through its frames' callers, the timeout and its task (3.12+, pure-Python Task)",
    found: "diff reference@3.12+pytask cpython-3.12+pytask --runs 2000 --size large --seed 611 (and 3.13)",
    versions: ["3.12", "3.13"],
    pyTask: true,
    fact: (t) => taskState(t, "Task-2") === "result",
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"repeat","times":2,"var":"rep","body":[{"op":"create_task","coro":"c1","task":"t0"}]},{"op":"try","body":[{"op":"await","on":{"task":"t0"}}],"except":[{"type":"CancelledError"}]}]},{"name":"c1","body":[{"op":"taskgroup","group":"g0","body":[]},{"op":"timeout","delay":1,"body":[{"op":"try","body":[{"op":"create_task","coro":"c4","task":"t1"},{"op":"await","on":{"gather":[{"task":"t1"},{"sleep":2}]}}],"except":[{"type":"TimeoutError"}]}]}]},{"name":"c2","body":[]},{"name":"c3","body":[]},{"name":"c4","body":[{"op":"try","body":[{"op":"raise","exc":{"type":"TimeoutError"}}],"finally":[]}]},{"name":"c5","body":[]}]}`) as Scenario,
  },
  {
    // The same with a TaskGroup around the try: the group holds its parent task.
    name: "an exception caught inside a TaskGroup's body keeps, through its frames' callers, the group and its parent task (3.12+)",
    found: "diff reference@3.12 cpython-3.12 --runs 2000 --size large --seed 611, the timeout made a TaskGroup",
    versions: ["3.12", "3.13"],
    fact: (t) => taskState(t, "Task-2") === "result",
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"repeat","times":2,"var":"rep","body":[{"op":"create_task","coro":"c1","task":"t0"}]},{"op":"try","body":[{"op":"await","on":{"task":"t0"}}],"except":[{"type":"CancelledError"}]}]},{"name":"c1","body":[{"op":"taskgroup","group":"g0","body":[]},{"op":"taskgroup","group":"g1","body":[{"op":"try","body":[{"op":"create_task","coro":"c4","task":"t1"},{"op":"await","on":{"gather":[{"task":"t1"},{"sleep":2}]}}],"except":[{"type":"TimeoutError"}]}]}]},{"name":"c2","body":[]},{"name":"c3","body":[]},{"name":"c4","body":[{"op":"try","body":[{"op":"raise","exc":{"type":"TimeoutError"}}],"finally":[]}]},{"name":"c5","body":[]}]}`) as Scenario,
  },
  {
    // 3.11 clears a finished coroutine frame's link to its caller before
    // the frame object takes over: no f_back, and Task-2 goes.
    name: "an exception caught inside a timeout's body keeps no frame around it on 3.11",
    found: "diff reference@3.12 cpython-3.12 --runs 2000 --size large --seed 611, on 3.11",
    versions: ["3.11"],
    fact: (t) => taskState(t, "Task-2") === undefined && taskState(t, "Task-3") === "result",
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"repeat","times":2,"var":"rep","body":[{"op":"create_task","coro":"c1","task":"t0"}]},{"op":"try","body":[{"op":"await","on":{"task":"t0"}}],"except":[{"type":"CancelledError"}]}]},{"name":"c1","body":[{"op":"taskgroup","group":"g0","body":[]},{"op":"timeout","delay":1,"body":[{"op":"try","body":[{"op":"create_task","coro":"c4","task":"t1"},{"op":"await","on":{"gather":[{"task":"t1"},{"sleep":2}]}}],"except":[{"type":"TimeoutError"}]}]}]},{"name":"c2","body":[]},{"name":"c3","body":[]},{"name":"c4","body":[{"op":"try","body":[{"op":"raise","exc":{"type":"TimeoutError"}}],"finally":[]}]},{"name":"c5","body":[]}]}`) as Scenario,
  },
  {
    // At t=2 the shielded c5 (Task-6) fails with an ExceptionGroup, which
    // reaches gather's outer future; c3 (Task-5) fails next, and main's
    // group cancels c2 (Task-4), whose gather is done by then: its
    // __wakeup(future) calls future.result(), which raises that
    // ExceptionGroup, and __step throws a CancelledError in instead. The
    // ExceptionGroup's traceback now has __wakeup's frame, whose `future`
    // is the gather, whose children hold wait_for's task (Task-7). Task-6,
    // which the TaskGroup g1 (bound) holds, keeps the ExceptionGroup, so
    // Task-7 survives the final collection.
    name: "an exception future.result() raises in the pure-Python Task's __wakeup keeps that future, even when the step throws a CancelledError instead",
    found: "diff reference@3.11+pytask cpython-3.11+pytask --runs 3000 --size large --seed 652 (the scenario: 3.12, 3.13 too)",
    versions: ["3.11", "3.12", "3.13"],
    pyTask: true,
    fact: (t) => taskState(t, "Task-7") === "result",
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"ensure_future","on":{"shield":{"coro":"c6"}},"future":"s0"},{"op":"cancel","task":"s0"},{"op":"gc"},{"op":"taskgroup","group":"g0","body":[{"op":"create_task","coro":"c6","task":"t0"},{"op":"create_task","coro":"c2","task":"t1","group":"g0"},{"op":"create_task","coro":"c3","task":"t2","group":"g0"}]}]},{"name":"c1","body":[{"op":"create_task","coro":"c6","task":"t3"},{"op":"ensure_future","on":{"shield":{"task":"t3"}},"future":"s1"},{"op":"cancel","task":"s1"},{"op":"inspect","task":"s1"}]},{"name":"c2","body":[{"op":"await","on":{"gather":[{"wait_for":{"coro":"c4"},"timeout":null},{"shield":{"coro":"c5"}}]}}]},{"name":"c3","body":[{"op":"call","coro":"c5"}]},{"name":"c4","body":[{"op":"sleep","ticks":1},{"op":"call_later","delay":0,"callback":"cb0"}]},{"name":"c5","body":[{"op":"try","body":[{"op":"taskgroup","group":"g1","body":[{"op":"create_task","coro":"c6","task":"t0"},{"op":"create_task","coro":"c6","task":"t1","group":"g1"}]}],"finally":[{"op":"timeout","delay":null,"body":[{"op":"sleep","ticks":2}]}]}]},{"name":"c6","body":[{"op":"raise","exc":{"type":"ValueError"}}]}],"callbacks":[{"name":"cb0","body":[]}]}`) as Scenario,
  },
  {
    // The C Task's wake-up is C: no frame, and Task-7 goes.
    name: "the C Task's wake-up keeps nothing through the exception future.result() raises",
    found: "diff reference@3.11+pytask cpython-3.11+pytask --runs 3000 --size large --seed 652, with the C Task",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => taskState(t, "Task-7") === undefined && taskState(t, "Task-6") === "exception",
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"ensure_future","on":{"shield":{"coro":"c6"}},"future":"s0"},{"op":"cancel","task":"s0"},{"op":"gc"},{"op":"taskgroup","group":"g0","body":[{"op":"create_task","coro":"c6","task":"t0"},{"op":"create_task","coro":"c2","task":"t1","group":"g0"},{"op":"create_task","coro":"c3","task":"t2","group":"g0"}]}]},{"name":"c1","body":[{"op":"create_task","coro":"c6","task":"t3"},{"op":"ensure_future","on":{"shield":{"task":"t3"}},"future":"s1"},{"op":"cancel","task":"s1"},{"op":"inspect","task":"s1"}]},{"name":"c2","body":[{"op":"await","on":{"gather":[{"wait_for":{"coro":"c4"},"timeout":null},{"shield":{"coro":"c5"}}]}}]},{"name":"c3","body":[{"op":"call","coro":"c5"}]},{"name":"c4","body":[{"op":"sleep","ticks":1},{"op":"call_later","delay":0,"callback":"cb0"}]},{"name":"c5","body":[{"op":"try","body":[{"op":"taskgroup","group":"g1","body":[{"op":"create_task","coro":"c6","task":"t0"},{"op":"create_task","coro":"c6","task":"t1","group":"g1"}]}],"finally":[{"op":"timeout","delay":null,"body":[{"op":"sleep","ticks":2}]}]}]},{"name":"c6","body":[{"op":"raise","exc":{"type":"ValueError"}}]}],"callbacks":[{"name":"cb0","body":[]}]}`) as Scenario,
  },
  {
    // Two tasks (c1) await gathers over one failing task t1 inside except*,
    // which wraps the ValueError in a new ExceptionGroup. That group has no
    // traceback of its own: the frames its member's raise went through stay
    // the member's, and the second raise of the ValueError (each result()
    // starts again from the traceback it was set with) drops the first
    // one's, whose op_await frame held the first gather and its sleep(0)
    // child (Task-5). The reference copied the member's traceback into the
    // group at the wrap, and so kept Task-5 through Task-2's group.
    name: "except* wrapping a naked exception gives the group no traceback: a later raise of the member drops what the first one held",
    found: "diff reference@3.12 cpython-3.12 --runs 3000 --size large --seed 724 (and 3.13, both Tasks)",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => taskState(t, "Task-5") === undefined && taskState(t, "Task-6") === "result",
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"taskgroup","group":"g0","body":[{"op":"create_task","coro":"c1","task":"t0"},{"op":"taskgroup","group":"g1","body":[{"op":"create_task","coro":"c4","task":"t1"},{"op":"create_task","coro":"c1","task":"t2"}]}]},{"op":"repeat","times":3,"var":"rep","body":[{"op":"await","on":{"sleep":0}}]}]},{"name":"c1","body":[{"op":"try","body":[{"op":"await","on":{"gather":[{"task":"t1"},{"sleep":0}]}}],"except":[{"type":"BaseException","reraise":true}],"star":true}]},{"name":"c2","body":[]},{"name":"c3","body":[]},{"name":"c4","body":[{"op":"sleep","ticks":0},{"op":"raise","exc":{"type":"ValueError"}}]}]}`) as Scenario,
  },
  {
    // main ends in the iteration where c1 makes a task for wait([t1]) and
    // drops t1; that task (Task-4) has not taken its first step at the
    // final collection. Its coroutine, not started, holds its arguments in
    // its frame: the driver's wait(parts) its list of parts, so t1 (Task-3)
    // survives. The reference's interpreter hid them in a generator.
    name: "a task that has not started keeps its coroutine's arguments: the driver's wait(parts)",
    found: "diff reference@3.13 cpython-3.13 --runs 30000 --seed 744",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => taskState(t, "Task-3") === "result",
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"create_task","coro":"c1","task":"t0"},{"op":"create_task","coro":"c2","task":"t1"}]},{"name":"c1","body":[{"op":"ensure_future","on":{"wait":[{"task":"t1"}]},"future":"e0"},{"op":"drop","handle":"t1"},{"op":"await","on":{"task":"e0"}}]},{"name":"c2","body":[]}]}`) as Scenario,
  },
  {
    name: "a task that has not started keeps its coroutine's arguments: the driver's wait(parts) (pure-Python Task)",
    found: "diff reference@3.13 cpython-3.13 --runs 30000 --seed 744, with the pure-Python Task",
    versions: ["3.11", "3.12", "3.13"],
    pyTask: true,
    fact: (t) => taskState(t, "Task-3") === "result",
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"create_task","coro":"c1","task":"t0"},{"op":"create_task","coro":"c2","task":"t1"}]},{"name":"c1","body":[{"op":"ensure_future","on":{"wait":[{"task":"t1"}]},"future":"e0"},{"op":"drop","handle":"t1"},{"op":"await","on":{"task":"e0"}}]},{"name":"c2","body":[]}]}`) as Scenario,
  },
  {
    // The same with asyncio's own wait_for(fut, timeout), whose frame holds `fut`.
    name: "a task that has not started keeps its coroutine's arguments: asyncio.wait_for(t1)",
    found: "diff reference@3.13 cpython-3.13 --runs 30000 --seed 744, wait made wait_for",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => taskState(t, "Task-3") === "result",
    scenario: JSON.parse(String.raw`{"aiospec": 1, "coroutines": [{"name": "main", "body": [{"op": "gc"}, {"op": "create_task", "coro": "c1", "task": "t0"}, {"op": "create_task", "coro": "c2", "task": "t1"}]}, {"name": "c1", "body": [{"op": "ensure_future", "on": {"wait_for": {"task": "t1"}, "timeout": null}, "future": "e0"}, {"op": "drop", "handle": "t1"}, {"op": "await", "on": {"task": "e0"}}]}, {"name": "c2", "body": []}]}`) as Scenario,
  },
  {
    // c3 runs in a task as_completed made for it (Task-4). It awaits t2,
    // which it cancelled (Task-6): the step throws t2's CancelledError into
    // the coroutine, which catches it and, in the same step, raises from a
    // TaskGroup. In the driver the coroutine is a PinnedCoroutine, whose
    // throw(*args) frame holds the CancelledError thrown in, and that frame
    // is in the ExceptionGroup's traceback; the CancelledError's traceback
    // keeps the op_await frame awaiting Task-6. Task-4 keeps its
    // ExceptionGroup, so Task-6 survives the final collection. (Walked on
    // CPython 3.11.7 with gc.get_referrers.)
    name: "an exception leaving an as_completed coroutine during a throw keeps the exception thrown in (the driver's PinnedCoroutine.throw frame)",
    found: "diff reference@3.11 cpython-3.11 --runs 10000 --size large --seed 744",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => taskState(t, "Task-6") === "cancelled",
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"create_task","coro":"c4","task":"t0"},{"op":"await","on":{"gather":[{"coro":"c1"}],"return_exceptions":true}},{"op":"create_task","coro":"c3","task":"t1"}]},{"name":"c1","body":[{"op":"try","body":[{"op":"as_completed","on":[{"coro":"c3"},{"coro":"c4"}]}],"finally":[]}]},{"name":"c2","body":[]},{"name":"c3","body":[{"op":"create_task","coro":"c4","task":"t2"},{"op":"cancel","task":"t2"},{"op":"try","body":[{"op":"await","on":{"task":"t2"}}],"except":[{"type":"CancelledError"}]},{"op":"taskgroup","group":"g0","body":[{"op":"raise","exc":{"type":"ValueError"}}]}]},{"name":"c4","body":[]}]}`) as Scenario,
  },
  {
    // One iteration runs Task-2's first step (cancelled before it ran: its
    // CancelledError is caught in the pure-Python Task's __step) and then
    // Task-3's, whose KeyboardInterrupt leaves the loop. __step's frame, in
    // the CancelledError's traceback, is linked on its return to
    // Handle._run's and that to _run_once's, whose `handle` is still Task-3's
    // step (it is cleared only when _run_once returns). Task-2 is bound (t0),
    // so Task-3 survives the final collection, unreported. (Walked on
    // CPython 3.11.7 with gc.get_referrers.) The C Task has no __step frame.
    name: "pure-Python Task: a step's exception keeps the iteration's frame, whose handle a KeyboardInterrupt left behind",
    found: "diff reference@3.11+pytask cpython-3.11+pytask --runs 10000 --size large --seed 750",
    versions: ["3.11", "3.12", "3.13"],
    pyTask: true,
    fact: (t) => taskState(t, "Task-3") === "exception",
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"create_task","coro":"c2","task":"t0"},{"op":"cancel","task":"t0"},{"op":"repeat","times":2,"var":"rep","body":[{"op":"create_task","coro":"c1","task":"t1"}]}]},{"name":"c1","body":[{"op":"raise","exc":{"type":"KeyboardInterrupt"}}]},{"name":"c2","body":[{"op":"drop","handle":"t0"}]}]}`) as Scenario,
  },
  {
    // The C Task's step is C, but on 3.12+ the coroutine's own frame, in the
    // CancelledError's traceback, is linked on its end to the Python frame
    // that called the step, Handle._run's, and so to _run_once's.
    name: "the C Task (3.12+): a coroutine's exception keeps the iteration's frame, whose handle a KeyboardInterrupt left behind",
    found: "diff reference@3.11+pytask cpython-3.11+pytask --runs 10000 --size large --seed 750, with the C Task on 3.12 and 3.13",
    versions: ["3.12", "3.13"],
    fact: (t) => taskState(t, "Task-3") === "exception",
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"create_task","coro":"c2","task":"t0"},{"op":"cancel","task":"t0"},{"op":"repeat","times":2,"var":"rep","body":[{"op":"create_task","coro":"c1","task":"t1"}]}]},{"name":"c1","body":[{"op":"raise","exc":{"type":"KeyboardInterrupt"}}]},{"name":"c2","body":[{"op":"drop","handle":"t0"}]}]}`) as Scenario,
  },
  {
    // 3.11 links no finished coroutine frame to its caller: Task-3 goes, reported.
    name: "the C Task on 3.11: a KeyboardInterrupt's task is collected when only the iteration's frame held its handle",
    found: "diff reference@3.11+pytask cpython-3.11+pytask --runs 10000 --size large --seed 750, with the C Task on 3.11",
    versions: ["3.11"],
    fact: (t) => taskState(t, "Task-3") === undefined && t.events.some((e) => e.ev === "exception_handler"),
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"create_task","coro":"c2","task":"t0"},{"op":"cancel","task":"t0"},{"op":"repeat","times":2,"var":"rep","body":[{"op":"create_task","coro":"c1","task":"t1"}]}]},{"name":"c1","body":[{"op":"raise","exc":{"type":"KeyboardInterrupt"}}]},{"name":"c2","body":[{"op":"drop","handle":"t0"}]}]}`) as Scenario,
  },
];

for (const c of CASES) {
  describe(`${c.name} (found by: ${c.found})`, () => {
    const variant = c.pyTask === true ? "+pytask" : "";
    const reference = (v: PythonVersion) => makeReference(v, { pyTask: c.pyTask === true });
    const options = c.pyTask === true ? { task: "py" } : {};
    for (const v of c.versions) {
      it(`reference@${v}${variant}`, () => {
        expect(c.fact(runScenario(reference(v), c.scenario))).toBe(true);
      });
      const python = findCPython(v).path;
      it.skipIf(python === "")(`CPython ${v}${variant} (the driver) gives the reference's trace${python === "" ? " — skipped: no CPython " + v + " here" : ""}`, () => {
        const got = driverTrace(python, c.scenario, options);
        expect(c.fact(got)).toBe(true);
        expect(canonicalJson(runScenario(reference(v), c.scenario))).toBe(canonicalJson(got));
      });
    }
  });
}
