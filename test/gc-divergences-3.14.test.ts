/**
 * gc mode, 3.14: the reference's divergences from CPython 3.14 that
 * `aiospec diff reference@3.14 pyodide-3.14` found and that are closed, as
 * test/gc-divergences.test.ts does for 3.11-3.13. There is no native CPython
 * 3.14 here: the driver runs on CPython 3.14.2 in Pyodide 314
 * (implementations/pyodide/driver.js; `npm run peers` installs it into
 * .peers/, or $AIOSPEC_PEERS_DIR), and those tests are skipped, saying so,
 * when it is absent. Each case states the fact that made the two differ on
 * the reference, against the 3.13 profile where 3.13 behaves otherwise, so
 * that the file fails on the reference before the fix with or without
 * Pyodide.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import { canonicalJson } from "../spec/scenario/trace";
import type { Trace } from "../spec/scenario/trace";
import type { Scenario } from "../spec/scenario/types";
import { WAIT_COMPLETION_QUEUED } from "./helpers/gc-scenarios";

const ROOT = path.resolve(__dirname, "..");
const DRIVER = path.join(ROOT, "implementations", "pyodide", "driver.js");
const PEERS = path.resolve(process.env.AIOSPEC_PEERS_DIR ?? path.join(ROOT, ".peers"));
const PYODIDE_314 = path.join(PEERS, "node_modules", "pyodide-314", "pyodide.js");

interface Case {
  name: string;
  /** The command that found it. */
  found: string;
  /** What CPython 3.14 does and the old reference did not, read off a trace. */
  fact: (t: Trace) => boolean;
  /** What the 3.13 profile gives instead (CPython 3.13.0 alike), when 3.13 differs. */
  factOn313?: boolean;
  /** Also with the pure-Python Task (reference+pytask against the driver's {"task": "py"}). */
  pyTask?: boolean;
  /** Whether the fact holds with the pure-Python Task too (default: no, current_task() being None there). */
  factWithPyTask?: boolean;
  scenario: Scenario;
}

const taskNames = (t: Trace): string[] => t.tasks.map((x) => x.name);

const CASES: Case[] = [
  {
    // gather runs its eager child (Task-6, wait_for(c4())) in ensure_future;
    // c4 fails at once and the RuntimeError's traceback runs down the stack
    // the step ran on, to gather's frame, which holds its locals as they are
    // when it returns: 3.14's cur_task, the calling task (Task-2). The
    // gather (e0, a handle) keeps the RuntimeError, so Task-2 survives the
    // final collection. Pyodide 3.14.2, gc.get_referrers from the reproducer
    // run in Pyodide: Task-2 <- frame gather <- ... <- frame wait_for <-
    // traceback <- RuntimeError <- _GatheringFuture <- the handles. (The
    // frames of asyncio functions under an outer eager step, gather's here
    // under c1's, are not kept by a failure one eager step up unless that
    // step's coroutine ends within it: tasks.ts callerBase.)
    name: "an eager child failing inside gather keeps gather's frame, and its cur_task, through its traceback",
    found: "diff reference@3.14 pyodide-3.14 --runs 2000 --size medium --seed 612",
    fact: (t) => taskNames(t).includes("Task-2"),
    factOn313: false,
    pyTask: true,
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"repeat","times":2,"var":"rep","body":[{"op":"create_task","coro":"c1","task":"t0"}]},{"op":"gc"},{"op":"cancel","task":"t0"}]},{"name":"c1","body":[{"op":"timeout","cm":"m0","delay":1,"body":[{"op":"inspect_timeout","cm":"m0"}]},{"op":"try","body":[{"op":"create_task","coro":"c4","task":"t1"},{"op":"raise","exc":{"type":"ValueError"}}],"except":[{"type":"Exception","body":[{"op":"try","body":[{"op":"sleep","ticks":0},{"op":"ensure_future","on":{"gather":[{"wait_for":{"coro":"c4"},"timeout":1}]},"future":"e0"},{"op":"await","on":{"task":"e0"}}],"finally":[]}]}]}]},{"name":"c2","body":[]},{"name":"c3","body":[]},{"name":"c4","body":[{"op":"reschedule","cm":"m0","delay":1}]}],"eager":true}`) as Scenario,
  },
  {
    // 3.14's gather (gh-91048) records the calling task as awaiting each
    // pending child and takes it out in _done_callback, which holds it as a
    // default argument: `def _done_callback(fut, cur_task=cur_task)`. c1's
    // task (Task-2) ends at once; gather's child (Task-3) sleeps on, held by
    // its timer, and keeps Task-2 alive. CPython 3.14.2 (Pyodide 314, the
    // reproducer walked with gc.get_referrers at the final collection): the
    // task <- tuple (the defaults of gather.<locals>._done_callback) <- that
    // function <- the child's callbacks; and <- the child (its awaited-by
    // entry). 3.13 has neither; with the pure-Python Task current_task() is
    // None on 3.14, so nothing is recorded.
    name: "a pending child of gather keeps the task that called gather (3.14: _done_callback's cur_task)",
    found: "by hand, from diff reference@3.14 pyodide-3.14 --size medium --seed 10",
    fact: (t) => taskNames(t).includes("Task-2"),
    factOn313: false,
    pyTask: true,
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "create_task", coro: "c1", task: "t0" },
            { op: "weakref", task: "t0", ref: "w" },
            { op: "drop", handle: "t0" },
            { op: "sleep", ticks: 0 },
            { op: "sleep", ticks: 0 },
            { op: "gc" },
            { op: "inspect_weakref", ref: "w" },
          ],
        },
        { name: "c1", body: [{ op: "ensure_future", on: { gather: [{ coro: "c2" }] }, future: "s0" }] },
        { name: "c2", body: [{ op: "await", on: { sleep: 1 } }] },
      ],
    } as Scenario,
  },
  {
    // The diff's shrunk counterexample. shield(c1()) makes c1's task
    // (Task-2), which awaits gather(gather(c2()), c4()); c4's task fails
    // (f0, cancelled by another c4's wait_for(f0, 0)), so the outer gather
    // and Task-2 end cancelled, while the inner gather's child c2 (Task-4)
    // sleeps on: its _done_callback's cur_task is Task-2, which survives
    // the final collection (CPython 3.14.2); the reference collected it.
    name: "a cancelled task whose inner gather's child still sleeps survives the final collection",
    found: "diff reference@3.14 pyodide-3.14 --runs 500 --size medium --seed 10 (after 210 scenarios)",
    fact: (t) => t.tasks.find((x) => x.name === "Task-2")?.state === "cancelled",
    factOn313: false,
    scenario: {
      aiospec: 1,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "ensure_future", on: { shield: { coro: "c1" } }, future: "s0" },
            { op: "cancel", task: "s0" },
            { op: "gc" },
            { op: "create_task", coro: "c4", task: "t0" },
            { op: "try", body: [{ op: "await", on: { task: "t0" } }], except: [{ type: "CancelledError" }] },
          ],
        },
        { name: "c1", body: [{ op: "await", on: { gather: [{ gather: [{ coro: "c2" }] }, { coro: "c4" }] } }] },
        { name: "c2", body: [{ op: "await", on: { sleep: 1 } }] },
        { name: "c4", body: [{ op: "await", on: { task: "f0" } }, { op: "create_future", future: "f0" }, { op: "await", on: { wait_for: { task: "f0" }, timeout: 0 } }] },
      ],
    } as Scenario,
  },
  {
    // 3.14's _wait: `cur_task = current_task()`, which _on_completion
    // closes over (gh-91048). Its handle, queued when f0 got its result in
    // the loop's last iteration, is still in the ready queue when the run
    // ends, and keeps the cancelled, dropped Task-2 (CPython 3.14.2 in
    // Pyodide 314; 3.11-3.13 collect it: test/gc-divergences.test.ts).
    name: "a completion callback of asyncio.wait still queued when the loop stops keeps the waiting task (3.14: cur_task)",
    found: "diff reference@3.11 cpython-3.11 --runs 2000 --size medium --seed 28, the same scenario on 3.14",
    fact: (t) => t.tasks.find((x) => x.name === "Task-2")?.state === "cancelled",
    factOn313: false,
    pyTask: true,
    scenario: WAIT_COMPLETION_QUEUED,
  },
  {
    // A task suspended in a finally block holds the exception passing
    // through it: here wait_for(sleep(0), 0)'s TimeoutError, whose
    // __cause__ (the inner task's CancelledError) has wait_for's frame in its
    // traceback, and so the inner task (Task-3). The same on every version
    // and Task; the reference missed it with 3.14's pure-Python Task only:
    // its interpreter put the frame's contents on current_task()'s frames,
    // which is None there (profile pyTaskUnseenByCurrentTask), instead of on
    // the task whose step runs (the loop's steppingTask()).
    name: "3.14's pure-Python Task, unseen by current_task(), still holds what its frames hold (a finally block's exception)",
    found: "diff reference@3.14+pytask pyodide-3.14+pytask --runs 2000 --size medium --seed 201",
    pyTask: true,
    factWithPyTask: true,
    fact: (t) => t.tasks.some((x) => x.name === "Task-3" && x.state === "cancelled"),
    scenario: JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"create_task","coro":"c1","task":"t0"},{"op":"sleep","ticks":1}]},{"name":"c1","body":[{"op":"try","body":[{"op":"await","on":{"wait_for":{"sleep":0},"timeout":0}}],"finally":[{"op":"sleep","ticks":5}]}]}]}`) as Scenario,
  },
];

const ref = (v: PythonVersion, s: Scenario, pyTask = false): Trace => runScenario(makeReference(v, { pyTask }), s);

/** The scenarios' traces on Pyodide 314's CPython, in one driver process. */
function runOnPyodide(scenarios: Scenario[], pyTask: boolean): Trace[] {
  const options = pyTask ? { task: "py" } : {};
  const input = scenarios.map((scenario, id) => JSON.stringify({ id, scenario, options })).join("\n") + "\n";
  const r = spawnSync(process.execPath, [DRIVER, "--pyodide", "314"], { input, encoding: "utf8", maxBuffer: 1 << 28, timeout: 10 * 60_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`the Pyodide 314 driver exited with ${r.status}: ${r.stderr}`);
  const replies = r.stdout.trim().split("\n").map((l) => JSON.parse(l)).slice(1);
  expect(replies.filter((x) => x.error !== undefined)).toEqual([]);
  return scenarios.map((_, i) => replies.find((x) => x.id === i).trace as Trace);
}

const installed = fs.existsSync(PYODIDE_314) && fs.existsSync(DRIVER);
const why = `Pyodide 314 is not installed (${path.relative(ROOT, PYODIDE_314)}; npm run peers)`;

for (const pyTask of [false, true]) {
  const cases = CASES.filter((c) => !pyTask || c.pyTask === true);
  const variant = pyTask ? "+pytask" : "";
  describe(`gc mode, reference@3.14${variant} against CPython 3.14.2 (Pyodide 314)`, () => {
    let traces: Trace[] | undefined;
    const pyodide = (): Trace[] => (traces ??= runOnPyodide(cases.map((c) => c.scenario), pyTask));
    cases.forEach((c, i) => {
      describe(`${c.name} (found by: ${c.found})`, () => {
        // With the pure-Python Task nothing is recorded where current_task() is read: the fact does not hold there, unless the case says so.
        const holds = !pyTask || c.factWithPyTask === true;
        it(`reference@3.14${variant}`, () => {
          expect(c.fact(ref("3.14", c.scenario, pyTask))).toBe(holds);
        });
        if (c.factOn313 !== undefined && !pyTask) {
          it("reference@3.13 (CPython 3.13.0 has no awaited-by records)", () => {
            expect(c.fact(ref("3.13", c.scenario))).toBe(c.factOn313);
          });
        }
        it.skipIf(!installed)(`CPython 3.14.2${variant} (the driver in Pyodide 314) gives the reference's trace${installed ? "" : " — skipped: " + why}`, { timeout: 10 * 60_000 }, () => {
          const got = pyodide()[i];
          expect(c.fact(got)).toBe(holds);
          expect(canonicalJson(ref("3.14", c.scenario, pyTask))).toBe(canonicalJson(got));
        });
      });
    });
  });
}
