/**
 * The Python reproducer (harness/reproducing/python.ts): generated programs
 * run on real CPython and print exactly the trace the driver records for the
 * same scenario; scenario strings cannot break out of their literals.
 */
import { compareVersions } from "../spec/scenario/versions";
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  PY_RESERVED, pyNumber, pyScalar, pyStr, pythonFunctionNames, pythonNames, toPython,
} from "../harness/reproducing/python";
import type { CallbackDef, Scenario, Step } from "../spec/scenario/types";
import { OPS } from "../spec/scenario/types";
import { FEATURES, formatValidationErrors, requiredVersion, scenarioFeatures, validateScenario } from "../spec/scenario/validate";
import { scenarioArb, type PythonVersion } from "../spec/scenario/arbitraries";
import { canonicalJson } from "../spec/scenario/trace";
import type { Trace } from "../spec/scenario/trace";

const DRIVER = path.resolve(__dirname, "..", "implementations", "python", "aiospec_driver.py");
const PY313 = "/root/.pyenv/versions/3.13.0/bin/python3";
const PY312 = "/root/.pyenv/versions/3.12.1/bin/python3";
const PYTHONS = ["python3", ...[PY312, PY313].filter((p) => fs.existsSync(p))];

/** "3.11", "3.12", ...: the version of a Python executable. */
function pythonVersion(python: string): string {
  const r = spawnSync(python, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cannot run ${python}: ${r.stderr}`);
  return r.stdout.trim();
}
const VERSION_OF = new Map(PYTHONS.map((p) => [p, pythonVersion(p)]));

/** Can `python` run the scenario (eager tasks need 3.12, async as_completed 3.13)? */
function runsOn(scenario: Scenario, python: string): boolean {
  return compareVersions(requiredVersion(scenario), VERSION_OF.get(python)!) <= 0;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-repro-"));
let fileNo = 0;
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function driverTrace(scenario: Scenario, python = "python3"): Trace {
  const r = spawnSync(python, [DRIVER], {
    input: JSON.stringify({ id: 1, scenario }) + "\n",
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`driver failed: ${r.stderr}`);
  const reply = JSON.parse(r.stdout.trim().split("\n")[1]);
  if (reply.error !== undefined) throw new Error(`driver rejected the scenario: ${reply.error}`);
  return reply.trace as Trace;
}

interface ProgramRun {
  events: Trace["events"];
  outcome: Omit<Trace, "events">;
  stdout: string;
  stderr: string;
  file: string;
}

function runProgram(source: string, python = "python3"): ProgramRun {
  const file = path.join(tmp, `repro_${++fileNo}.py`);
  fs.writeFileSync(file, source);
  const r = spawnSync(python, [file], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`program exited with ${r.status}:\n${r.stderr}\n--- ${file}`);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const outcome = lines.pop();
  return { events: lines, outcome, stdout: r.stdout, stderr: r.stderr, file };
}

/** Generate, run and compare with the driver; returns the program's run. */
function checkAgainstDriver(scenario: Scenario, python = "python3"): ProgramRun {
  const run = runProgram(toPython(scenario, { title: "test" }), python);
  const trace = driverTrace(scenario, python);
  const program: Trace = { events: run.events, ...run.outcome } as Trace;
  // Events first, for a readable failure, then the whole trace.
  expect(run.events.map((e) => canonicalJson(e))).toEqual(trace.events.map((e) => canonicalJson(e)));
  expect(canonicalJson(program)).toBe(canonicalJson(trace));
  expect(run.stderr).toBe("");
  return run;
}

const sc = (...coroutines: Array<{ name: string; body: Step[] }>): Scenario => ({ aiospec: 1, coroutines });
/** A scenario with callbacks (and optionally eager tasks). */
const scc = (callbacks: CallbackDef[], ...coroutines: Array<{ name: string; body: Step[] }>): Scenario => ({ aiospec: 1, callbacks, coroutines });

// ------------------------------------------------------------ scenarios

const SCENARIOS: Record<string, Scenario> = {
  "every op": sc(
    {
      name: "main",
      body: [
        { op: "log", label: "start" },
        { op: "create_task", coro: "worker", task: "w1", name: "first" },
        { op: "create_task", coro: "worker", task: "w2" },
        { op: "create_task", coro: "catcher", task: "c" },
        { op: "sleep", ticks: 1 },
        { op: "inspect", task: "w1" },
        { op: "cancel", task: "w1", msg: "stop it" },
        { op: "cancel", task: "w1" },
        { op: "inspect", task: "w1" },
        { op: "cancel", task: "c" },
        { op: "call", coro: "helper" },
        {
          op: "try",
          body: [{ op: "await", on: { task: "w1" } }],
          except: [{ type: "CancelledError", body: [{ op: "log", label: "w1 was cancelled" }] }],
        },
        { op: "await", on: { task: "w2" } },
        { op: "await", on: { task: "c" } },
        { op: "inspect", task: "w2" },
        { op: "cancel", task: "w2", msg: "too late" },
        { op: "await", on: { coro: "helper" } },
        { op: "await", on: { sleep: 0 } },
        { op: "await", on: { sleep: 2, result: "slept" } },
        { op: "await", on: { gather: [{ coro: "helper" }, { task: "w2" }, { sleep: 1, result: 1.5 }] } },
        {
          op: "try",
          body: [{ op: "call", coro: "raiser" }],
          except: [{ type: "KeyError", body: [{ op: "log", label: "key" }] }, { type: "ValueError" }],
          finally: [{ op: "log", label: "finally" }],
        },
        { op: "return", value: "main done" },
      ],
    },
    { name: "worker", body: [{ op: "log", label: "working" }, { op: "sleep", ticks: 3 }, { op: "return", value: 42 }] },
    {
      name: "catcher",
      body: [
        {
          op: "try",
          body: [{ op: "sleep", ticks: 10 }],
          except: [{ type: "CancelledError", body: [{ op: "log", label: "swallowed" }, { op: "return", value: false }] }],
        },
      ],
    },
    { name: "helper", body: [{ op: "sleep", ticks: 0 }, { op: "return", value: null }] },
    { name: "raiser", body: [{ op: "raise", exc: { type: "ValueError", args: ["bad", 7, null, true, 2.5] } }] },
  ),

  "every exception type": sc(
    {
      name: "main",
      body: (["ValueError", "KeyError", "RuntimeError", "CustomError", "CancelledError", "TimeoutError", "KeyboardInterrupt", "SystemExit"] as const).map(
        (type, i): Step => ({
          op: "try",
          body: [{ op: "raise", exc: { type, args: i % 2 ? [`m${i}`] : [] } }],
          except: [
            { type: "Exception", body: [{ op: "log", label: `Exception caught ${type}` }] },
            { type: "BaseException", body: [{ op: "log", label: `BaseException caught ${type}` }] },
          ],
        }),
      ).concat([
        {
          op: "try",
          body: [{ op: "raise", exc: { type: "TimeoutError", args: ["t"] } }],
          except: [{ type: "TimeoutError" }],
        },
        {
          op: "try",
          body: [{ op: "raise", exc: { type: "CustomError" } }],
          except: [{ type: "ValueError" }, { type: "CustomError", body: [{ op: "log", label: "custom" }] }],
        },
        { op: "raise", exc: { type: "KeyError", args: ["missing"] } },
      ]),
    },
  ),

  "nested try, reraise, return in finally": sc(
    {
      name: "main",
      body: [
        { op: "call", coro: "a" },
        { op: "await", on: { coro: "b" } },
        { op: "await", on: { coro: "c" } },
        { op: "try", body: [{ op: "await", on: { coro: "d" } }], except: [{ type: "BaseException", body: [{ op: "log", label: "d failed" }] }] },
        { op: "try", body: [], finally: [] },
        { op: "try", body: [{ op: "log", label: "no handlers" }] },
        { op: "return", value: 0 },
      ],
    },
    {
      name: "a",
      body: [
        {
          op: "try",
          body: [
            {
              op: "try",
              body: [{ op: "raise", exc: { type: "ValueError", args: ["inner"] } }],
              except: [
                {
                  type: "ValueError",
                  body: [
                    { op: "log", label: "inner handler" },
                    {
                      op: "try",
                      body: [{ op: "raise", exc: { type: "KeyError", args: ["k"] } }],
                      except: [{ type: "KeyError", body: [{ op: "log", label: "nested key" }] }],
                      finally: [{ op: "log", label: "nested finally" }],
                    },
                  ],
                  reraise: true,
                },
              ],
              finally: [{ op: "log", label: "inner finally" }],
            },
          ],
          except: [{ type: "Exception", body: [{ op: "log", label: "outer handler" }] }],
        },
      ],
    },
    {
      // return in finally swallows the exception
      name: "b",
      body: [{ op: "try", body: [{ op: "raise", exc: { type: "RuntimeError", args: ["lost"] } }], finally: [{ op: "return", value: "from finally" }] }],
    },
    {
      // return in a handler skips the reraise; return in the body runs finally first
      name: "c",
      body: [
        {
          op: "try",
          body: [{ op: "raise", exc: { type: "ValueError" } }],
          except: [{ type: "ValueError", body: [{ op: "return", value: 1 }], reraise: true }],
        },
        { op: "log", label: "unreachable" },
      ],
    },
    {
      name: "d",
      body: [
        {
          op: "try",
          body: [{ op: "return", value: "body" }],
          finally: [{ op: "log", label: "finally after return" }, { op: "raise", exc: { type: "CustomError", args: ["from finally"] } }],
        },
      ],
    },
  ),

  "gather with and without return_exceptions": sc(
    {
      name: "main",
      body: [
        { op: "create_task", coro: "ok", task: "t" },
        {
          op: "await",
          on: {
            gather: [{ coro: "ok" }, { coro: "bad" }, { task: "t" }, { gather: [{ coro: "bad" }, { sleep: 1 }], return_exceptions: true }, { sleep: 2, result: "s" }],
            return_exceptions: true,
          },
        },
        {
          op: "try",
          body: [{ op: "await", on: { gather: [{ coro: "ok" }, { coro: "bad" }, { coro: "slow" }] } }],
          except: [{ type: "ValueError", body: [{ op: "log", label: "gather failed" }] }],
        },
        { op: "await", on: { gather: [] } },
        { op: "sleep", ticks: 5 },
      ],
    },
    { name: "ok", body: [{ op: "sleep", ticks: 1 }, { op: "return", value: "ok" }] },
    { name: "bad", body: [{ op: "raise", exc: { type: "ValueError", args: ["bad"] } }] },
    { name: "slow", body: [{ op: "try", body: [{ op: "sleep", ticks: 3 }], finally: [{ op: "log", label: "slow ends" }] }] },
  ),

  "cancel with a message, cancelled gather, uncancelled task": sc(
    {
      name: "main",
      body: [
        { op: "create_task", coro: "waiter", task: "g" },
        { op: "create_task", coro: "stubborn", task: "s" },
        { op: "sleep", ticks: 1 },
        { op: "cancel", task: "g", msg: "enough" },
        { op: "cancel", task: "s", msg: "please" },
        { op: "inspect", task: "s" },
        { op: "sleep", ticks: 0 },
        { op: "inspect", task: "g" },
        { op: "inspect", task: "s" },
        { op: "try", body: [{ op: "await", on: { task: "g" } }], except: [{ type: "CancelledError", body: [{ op: "log", label: "g cancelled" }] }] },
        { op: "await", on: { task: "s" } },
        { op: "cancel", task: "s" },
      ],
    },
    { name: "waiter", body: [{ op: "await", on: { gather: [{ coro: "sleeper" }, { coro: "sleeper" }] } }] },
    { name: "sleeper", body: [{ op: "sleep", ticks: 100 }] },
    {
      name: "stubborn",
      body: [
        { op: "try", body: [{ op: "sleep", ticks: 100 }], except: [{ type: "CancelledError", body: [{ op: "log", label: "ignoring" }] }] },
        { op: "sleep", ticks: 1 },
        { op: "return", value: "survived" },
      ],
    },
  ),

  "unbound handles": sc(
    {
      name: "main",
      body: [
        { op: "await", on: { task: "later" } },
        { op: "cancel", task: "later", msg: "x" },
        { op: "inspect", task: "later" },
        { op: "await", on: { gather: [{ task: "later" }, { coro: "w" }, { task: "later" }] } },
        { op: "create_task", coro: "w", task: "later" },
        { op: "await", on: { task: "later" } },
        { op: "create_task", coro: "w", task: "other" },
        { op: "create_task", coro: "w", task: "later", name: "rebound" },
        { op: "await", on: { gather: [{ task: "later" }, { task: "other" }] } },
      ],
    },
    { name: "w", body: [{ op: "return", value: 1 }] },
  ),

  deadlock: sc(
    { name: "main", body: [{ op: "create_task", coro: "w", task: "t" }, { op: "await", on: { task: "t" } }] },
    {
      name: "w",
      body: [
        { op: "create_task", coro: "x", task: "u" },
        { op: "try", body: [{ op: "await", on: { task: "u" } }], finally: [{ op: "log", label: "w finally (never, or at gc)" }, { op: "sleep", ticks: 1 }] },
      ],
    },
    { name: "x", body: [{ op: "await", on: { task: "t" } }] },
  ),

  "a task awaiting itself": sc(
    { name: "main", body: [{ op: "create_task", coro: "self", task: "me" }, { op: "await", on: { task: "me" } }] },
    { name: "self", body: [{ op: "sleep", ticks: 0 }, { op: "await", on: { task: "me" } }] },
  ),

  "KeyboardInterrupt in a task, then shutdown": sc(
    {
      name: "main",
      body: [
        { op: "create_task", coro: "bystander", task: "b" },
        { op: "create_task", coro: "interrupter", task: "i" },
        { op: "sleep", ticks: 10 },
      ],
    },
    { name: "interrupter", body: [{ op: "sleep", ticks: 1 }, { op: "raise", exc: { type: "KeyboardInterrupt", args: ["^C"] } }] },
    {
      name: "bystander",
      body: [{ op: "try", body: [{ op: "sleep", ticks: 5 }], except: [{ type: "CancelledError", body: [{ op: "log", label: "shut down" }, { op: "sleep", ticks: 1 }], reraise: true }] }],
    },
  ),

  "main returns with tasks pending; SystemExit in main's child": sc(
    {
      name: "main",
      body: [
        { op: "create_task", coro: "forever", task: "f", name: "forever task" },
        { op: "create_task", coro: "exiter", task: "e" },
        { op: "sleep", ticks: 0 },
        { op: "return", value: 1e21 },
      ],
    },
    { name: "forever", body: [{ op: "try", body: [{ op: "sleep", ticks: 1000 }], finally: [{ op: "log", label: "forever finally" }] }] },
    { name: "exiter", body: [{ op: "sleep", ticks: 1 }, { op: "raise", exc: { type: "SystemExit", args: [3] } }] },
  ),

  "numbers and scalars": sc(
    {
      name: "main",
      body: [
        { op: "await", on: { sleep: 0, result: 0.1 } },
        { op: "await", on: { sleep: 0, result: -0 } },
        { op: "await", on: { sleep: 0, result: 2 ** 60 } },
        { op: "await", on: { sleep: 0, result: 5e-324 } },
        { op: "await", on: { sleep: 0, result: true } },
        { op: "await", on: { sleep: 0, result: null } },
        { op: "raise", exc: { type: "RuntimeError", args: [1.25, -7, false, null, "s", 1e300] } },
      ],
    },
  ),

  "coroutine names that clash with Python and with the program": sc(
    {
      name: "main",
      body: ["log", "emit", "run", "gather", "T", "print", "None", "class", "asyncio", "handle", "__builtins__", "__name__", "main_", "9lives", "coroutine"].map(
        (n): Step => ({ op: "call", coro: n }),
      ),
    },
    ...["log", "emit", "run", "gather", "T", "print", "None", "class", "asyncio", "handle", "__builtins__", "__name__", "main_", "9lives", "coroutine"].map((n) => ({
      name: n,
      body: [{ op: "log", label: n } as Step],
    })),
  ),
};

// ------------------------------------------------------------ the whole task API
// Valid scenarios (the validator accepts each), together covering every op,
// every awaitable, callbacks, eager tasks and except*.

const TASK_API_SCENARIOS: Record<string, Scenario> = {
  "create_task with eager_start (3.14: eager, lazy, the factory's choice; before: TypeError, caught)": sc(
    {
      name: "main",
      body: [
        ...([true, false, null] as const).map((eager_start, k): Step => ({
          op: "try",
          body: [{ op: "create_task", coro: "w", task: `t${k}`, eager_start }, { op: "log", label: `created t${k}` }],
          except: [{ type: "Exception", body: [{ op: "log", label: `refused t${k}` }] }],
        })),
        { op: "sleep", ticks: 1 },
      ],
    },
    { name: "w", body: [{ op: "log", label: "w runs" }, { op: "return", value: 1 }] },
  ),
  "ensure_future: handles on gather's, shield's and wait_for's futures (spec/examples/language/future-handles.json)": JSON.parse(
    fs.readFileSync(path.join(__dirname, "..", "spec", "examples", "language", "future-handles.json"), "utf8"),
  ) as Scenario,
  "a coroutine made and never awaited, and the tasks' own handles": sc(
    { name: "main", body: [{ op: "log", label: "a" }, { op: "unawaited", coro: "w" }, { op: "inspect", task: "$main" }, { op: "create_task", coro: "w", task: "t" }, { op: "await", on: { task: "t" } }] },
    { name: "w", body: [{ op: "inspect", task: "$current" }, { op: "return", value: 1 }] },
  ),
  "futures: create, set, probe, await, cancel; task probes": scc(
    [
      { name: "on_done", body: [{ op: "log", label: "future done" }, { op: "result", task: "f" }] },
      { name: "never", body: [{ op: "log", label: "removed, never runs" }] },
    ],
    {
      name: "main",
      body: [
        { op: "create_future", future: "f" },
        { op: "create_future", future: "g" },
        { op: "create_task", coro: "worker", task: "t", name: "worker" },
        { op: "inspect", task: "f" },
        { op: "result", task: "f" },
        { op: "exception", task: "f" },
        { op: "add_done_callback", task: "f", callback: "on_done" },
        { op: "add_done_callback", task: "f", callback: "never" },
        { op: "add_done_callback", task: "f", callback: "never" },
        { op: "remove_done_callback", task: "f", callback: "never" },
        { op: "remove_done_callback", task: "g", callback: "never" },
        { op: "set_result", future: "f", value: 42 },
        { op: "set_result", future: "f", value: 43 },
        { op: "result", task: "f" },
        { op: "exception", task: "f" },
        { op: "set_exception", future: "g", exc: { type: "ValueError", args: ["bad", 2] } },
        { op: "result", task: "g" },
        { op: "exception", task: "g" },
        { op: "inspect", task: "g" },
        { op: "await", on: { task: "f" } },
        { op: "try", body: [{ op: "await", on: { task: "g" } }], except: [{ type: "ValueError", body: [{ op: "log", label: "g failed" }] }] },
        { op: "cancel", task: "f" },
        { op: "create_future", future: "h" },
        { op: "cancel", task: "h", msg: "no" },
        { op: "result", task: "h" },
        { op: "exception", task: "h" },
        { op: "set_result", future: "h" },
        { op: "inspect", task: "h" },
        {
          op: "set_exception",
          future: "h",
          exc: { type: "ExceptionGroup", args: ["eg"], exceptions: [{ type: "KeyError", args: ["k"] }] },
        },
        { op: "create_future", future: "later" },
        { op: "create_task", coro: "setter", task: "s" },
        { op: "await", on: { task: "later" } },
        { op: "current_task" },
        { op: "all_tasks" },
        { op: "uncancel", task: "t" },
        { op: "cancel", task: "t" },
        { op: "inspect", task: "t" },
        { op: "uncancel", task: "t" },
        { op: "set_name", task: "t", name: "renamed" },
        { op: "inspect", task: "t" },
        { op: "result", task: "t" },
        { op: "all_tasks" },
        { op: "sleep", ticks: 0 },
        { op: "inspect", task: "t" },
        { op: "exception", task: "t" },
        { op: "return", value: "main done" },
      ],
    },
    { name: "worker", body: [{ op: "current_task" }, { op: "sleep", ticks: 5 }, { op: "return", value: 1 }] },
    { name: "setter", body: [{ op: "sleep", ticks: 1 }, { op: "set_result", future: "later", value: "set later" }] },
  ),

  "callbacks: call_soon, call_later, call_at, cancel_handle, done callbacks, errors": scc(
    [
      {
        name: "a",
        body: [
          { op: "log", label: "a runs" },
          { op: "current_task" },
          { op: "all_tasks" },
          { op: "create_task", coro: "w", task: "t" },
          { op: "call_soon", callback: "d" },
        ],
      },
      { name: "b", body: [{ op: "log", label: "b raises" }, { op: "raise", exc: { type: "ValueError", args: ["from b"] } }] },
      { name: "c", body: [{ op: "log", label: "c runs" }] },
      {
        name: "d",
        body: [
          { op: "create_future", future: "f" },
          { op: "set_result", future: "f", value: 1 },
          { op: "add_done_callback", task: "f", callback: "e" },
          { op: "add_done_callback", task: "t", callback: "e" },
          { op: "call_later", delay: 0, callback: "c", handle: "hx" },
          { op: "cancel_handle", handle: "h2" },
        ],
      },
      { name: "e", body: [{ op: "log", label: "done callback" }, { op: "inspect", task: "t" }, { op: "cancel", task: "t", msg: "from e" }] },
    ],
    {
      name: "main",
      body: [
        { op: "cancel_handle", handle: "hx" },
        { op: "call_soon", callback: "a", handle: "h1" },
        { op: "call_later", delay: 2, callback: "b", handle: "h2" },
        { op: "call_later", delay: 3, callback: "b" },
        { op: "call_at", when: 1, callback: "c", handle: "h3" },
        { op: "call_at", when: 1, callback: "a" },
        { op: "call_soon", callback: "c", handle: "h4" },
        { op: "cancel_handle", handle: "h4" },
        { op: "cancel_handle", handle: "h4" },
        { op: "sleep", ticks: 0 },
        { op: "cancel_handle", handle: "hx" },
        { op: "sleep", ticks: 4 },
        { op: "cancel_handle", handle: "h1" },
      ],
    },
    { name: "w", body: [{ op: "sleep", ticks: 1 }, { op: "return", value: "w" }] },
  ),

  "TaskGroup: failing children, except*, unentered and closed groups, return inside": sc(
    {
      name: "main",
      body: [
        { op: "create_task", coro: "ok", task: "early", group: "g" },
        {
          op: "try",
          star: true,
          body: [
            {
              op: "taskgroup",
              group: "g",
              body: [
                { op: "create_task", coro: "ok", task: "t1", group: "g", name: "one" },
                { op: "create_task", coro: "bad", task: "t2", group: "g" },
                { op: "create_task", coro: "bad_key", task: "t3", group: "g" },
                { op: "create_task", coro: "slow", task: "t4", group: "g" },
                { op: "sleep", ticks: 0 },
                { op: "log", label: "in group" },
                { op: "sleep", ticks: 5 },
                { op: "log", label: "not reached" },
              ],
            },
          ],
          except: [
            { type: "ValueError", body: [{ op: "log", label: "values" }] },
            { type: "KeyError", body: [{ op: "log", label: "keys" }] },
          ],
          finally: [{ op: "log", label: "group done" }],
        },
        { op: "inspect", task: "t4" },
        { op: "new_taskgroup", group: "n" },
        { op: "try", body: [{ op: "create_task", coro: "ok", task: "t5", group: "n" }], except: [{ type: "RuntimeError" }] },
        { op: "try", body: [{ op: "create_task", coro: "ok", task: "t6", group: "g" }], except: [{ type: "RuntimeError" }] },
        { op: "await", on: { coro: "returner" } },
        {
          op: "try",
          body: [{ op: "taskgroup", group: "g2", body: [{ op: "create_task", coro: "ok", task: "t7", group: "g2" }, { op: "raise", exc: { type: "CustomError", args: ["body"] } }] }],
          except: [{ type: "ExceptionGroup", body: [{ op: "log", label: "plain except of the group" }] }],
        },
      ],
    },
    { name: "ok", body: [{ op: "sleep", ticks: 1 }, { op: "return", value: "ok" }] },
    { name: "bad", body: [{ op: "sleep", ticks: 1 }, { op: "raise", exc: { type: "ValueError", args: ["v"] } }] },
    { name: "bad_key", body: [{ op: "sleep", ticks: 1 }, { op: "raise", exc: { type: "KeyError", args: ["k"] } }] },
    {
      name: "slow",
      body: [{ op: "try", body: [{ op: "sleep", ticks: 10 }], except: [{ type: "CancelledError", body: [{ op: "log", label: "slow cancelled" }], reraise: true }] }],
    },
    {
      name: "returner",
      body: [{ op: "taskgroup", group: "g3", body: [{ op: "create_task", coro: "ok", task: "t8", group: "g3" }, { op: "return", value: "early" }] }],
    },
  ),

  "timeouts: expiry, reschedule, timeout_at, nesting, inspect": sc(
    {
      name: "main",
      body: [
        { op: "inspect_timeout", cm: "c" },
        {
          op: "try",
          body: [
            {
              op: "timeout",
              cm: "c",
              delay: 2,
              body: [
                { op: "inspect_timeout", cm: "c" },
                { op: "sleep", ticks: 1 },
                { op: "reschedule", cm: "c", delay: 3 },
                { op: "inspect_timeout", cm: "c" },
                { op: "await", on: { sleep: 10 } },
              ],
            },
          ],
          except: [{ type: "TimeoutError", body: [{ op: "log", label: "timed out" }] }],
        },
        { op: "inspect_timeout", cm: "c" },
        { op: "try", body: [{ op: "reschedule", cm: "c", delay: 1 }], except: [{ type: "RuntimeError" }] },
        {
          op: "timeout",
          cm: "n",
          delay: null,
          body: [
            { op: "inspect_timeout", cm: "n" },
            { op: "reschedule", cm: "n", delay: 1 },
            { op: "sleep", ticks: 0 },
            { op: "reschedule", cm: "n", delay: null },
            { op: "sleep", ticks: 2 },
            { op: "inspect_timeout", cm: "n" },
          ],
        },
        {
          op: "try",
          body: [
            {
              op: "timeout",
              cm: "abs",
              at: true,
              delay: 10,
              body: [{ op: "reschedule", cm: "abs", at: true, delay: 8 }, { op: "inspect_timeout", cm: "abs" }, { op: "call", coro: "sleepy" }],
            },
          ],
          except: [{ type: "TimeoutError" }],
        },
        {
          op: "try",
          body: [
            {
              op: "timeout",
              cm: "outer",
              delay: 1,
              body: [{ op: "timeout", cm: "inner", delay: 5, body: [{ op: "sleep", ticks: 3 }] }],
            },
          ],
          except: [{ type: "TimeoutError", body: [{ op: "inspect_timeout", cm: "outer" }, { op: "inspect_timeout", cm: "inner" }] }],
        },
        { op: "timeout", delay: 0, body: [{ op: "log", label: "no await: no timeout" }] },
        {
          op: "try",
          body: [{ op: "timeout", delay: 0, body: [{ op: "sleep", ticks: 0 }] }],
          except: [{ type: "TimeoutError", body: [{ op: "log", label: "expired at once" }] }],
        },
        { op: "timeout", cm: "late", at: true, delay: 1, body: [{ op: "try", body: [{ op: "sleep", ticks: 1 }], except: [{ type: "CancelledError", body: [{ op: "log", label: "cancelled inside" }], reraise: true }] }] },
      ],
    },
    { name: "sleepy", body: [{ op: "try", body: [{ op: "sleep", ticks: 100 }], finally: [{ op: "log", label: "sleepy finally" }] }] },
  ),

  "except*: splitting groups, naked exceptions, reraise, finally": sc(
    {
      name: "main",
      body: [
        {
          op: "try",
          body: [
            {
              op: "try",
              star: true,
              body: [
                {
                  op: "raise",
                  exc: {
                    type: "ExceptionGroup",
                    args: ["eg"],
                    exceptions: [
                      { type: "ValueError", args: [1] },
                      { type: "KeyError", args: [2] },
                      { type: "CustomError", args: [3] },
                      { type: "ExceptionGroup", args: ["inner"], exceptions: [{ type: "ValueError", args: [4] }, { type: "RuntimeError" }] },
                    ],
                  },
                },
              ],
              except: [
                { type: "ValueError", body: [{ op: "log", label: "values" }] },
                { type: "KeyError", reraise: true },
                { type: "CustomError", body: [{ op: "raise", exc: { type: "RuntimeError", args: ["from handler"] } }] },
              ],
              finally: [{ op: "log", label: "star finally" }],
            },
          ],
          except: [{ type: "ExceptionGroup", body: [{ op: "log", label: "rest" }] }],
        },
        { op: "try", star: true, body: [{ op: "raise", exc: { type: "ValueError", args: ["naked"] } }], except: [{ type: "ValueError" }] },
        {
          op: "try",
          body: [{ op: "try", star: true, body: [{ op: "raise", exc: { type: "KeyError", args: ["unmatched"] } }], except: [{ type: "ValueError" }] }],
          except: [{ type: "KeyError", body: [{ op: "log", label: "naked, unmatched, re-raised as is" }] }],
        },
        {
          op: "try",
          star: true,
          body: [
            {
              op: "raise",
              exc: { type: "BaseExceptionGroup", args: ["b"], exceptions: [{ type: "CancelledError", args: ["c"] }, { type: "ValueError" }, { type: "SystemExit", args: [2] }] },
            },
          ],
          except: [{ type: "CancelledError" }, { type: "Exception" }, { type: "BaseException", body: [{ op: "log", label: "the rest" }] }],
        },
        { op: "try", star: true, body: [{ op: "log", label: "no exception" }, { op: "sleep", ticks: 1 }], except: [{ type: "Exception" }], finally: [{ op: "log", label: "finally" }] },
        {
          op: "try",
          star: true,
          body: [{ op: "raise", exc: { type: "BaseExceptionGroup", exceptions: [{ type: "ValueError", args: ["only exceptions"] }] } }],
          except: [{ type: "ValueError", body: [{ op: "call", coro: "helper" }, { op: "try", body: [{ op: "raise", exc: { type: "KeyError" } }], except: [{ type: "KeyError" }] }] }],
        },
        { op: "try", star: true, body: [{ op: "return", value: "from the body" }], except: [{ type: "Exception" }], finally: [{ op: "log", label: "after return" }] },
      ],
    },
    { name: "helper", body: [{ op: "return", value: "a return in a called coroutine is fine" }] },
  ),

  "shield, wait_for, wait, as_completed": sc(
    {
      name: "main",
      body: [
        { op: "create_task", coro: "slow", task: "s" },
        { op: "create_task", coro: "fast", task: "f" },
        { op: "create_task", coro: "failing", task: "x" },
        { op: "create_future", future: "fut" },
        { op: "await", on: { wait: [{ task: "s" }, { task: "f" }, { task: "x" }, { task: "fut" }], return_when: "FIRST_COMPLETED" } },
        { op: "await", on: { wait: [{ task: "s" }, { task: "x" }], return_when: "FIRST_EXCEPTION" } },
        { op: "await", on: { wait: [{ task: "s" }, { task: "fut" }], timeout: 0 } },
        { op: "try", body: [{ op: "await", on: { wait: [{ coro: "fast" }] } }], except: [{ type: "Exception", body: [{ op: "log", label: "wait refuses coroutines" }] }] },
        { op: "try", body: [{ op: "await", on: { wait: [] } }], except: [{ type: "ValueError" }] },
        { op: "try", body: [{ op: "await", on: { wait_for: { task: "s" }, timeout: 0 } }], except: [{ type: "TimeoutError" }] },
        { op: "inspect", task: "s" },
        { op: "create_task", coro: "slow", task: "s2" },
        { op: "try", body: [{ op: "await", on: { wait_for: { shield: { task: "s2" } }, timeout: 1 } }], except: [{ type: "TimeoutError" }] },
        { op: "inspect", task: "s2" },
        { op: "await", on: { wait_for: { coro: "fast" }, timeout: null } },
        { op: "await", on: { wait_for: { sleep: 1, result: "r" }, timeout: 5 } },
        { op: "create_task", coro: "shielder", task: "sh" },
        { op: "sleep", ticks: 0 },
        { op: "cancel", task: "sh" },
        { op: "try", body: [{ op: "await", on: { task: "sh" } }], except: [{ type: "CancelledError" }] },
        { op: "create_task", coro: "fast", task: "a1" },
        { op: "create_task", coro: "slow", task: "a2" },
        { op: "create_task", coro: "failing", task: "a3" },
        { op: "create_task", coro: "fast", task: "a4" },
        { op: "try", body: [{ op: "as_completed", on: [{ task: "a2" }, { task: "a1" }, { task: "a3" }, { task: "a4" }, { task: "nobody" }], timeout: 10 }], except: [{ type: "ValueError" }] },
        { op: "create_task", coro: "slow", task: "a5" },
        { op: "try", body: [{ op: "as_completed", on: [{ task: "a5" }, { task: "fut" }], timeout: 1 }], except: [{ type: "TimeoutError" }] },
        { op: "as_completed", on: [] },
        { op: "await", on: { gather: [{ shield: { task: "a5" } }, { wait_for: { task: "nobody" }, timeout: 1 }, { wait: [{ task: "a1" }, { task: "nobody" }] }], return_exceptions: true } },
        { op: "await", on: { shield: { task: "nobody" } } },
        { op: "create_task", coro: "fast", task: "nobody" },
      ],
    },
    { name: "slow", body: [{ op: "sleep", ticks: 3 }, { op: "return", value: "slow" }] },
    { name: "fast", body: [{ op: "sleep", ticks: 1 }, { op: "return", value: "fast" }] },
    { name: "failing", body: [{ op: "sleep", ticks: 2 }, { op: "raise", exc: { type: "ValueError", args: ["failing"] } }] },
    {
      name: "shielder",
      body: [
        { op: "try", body: [{ op: "await", on: { shield: { coro: "slow" } } }], except: [{ type: "CancelledError", body: [{ op: "log", label: "shield cancelled, inner goes on" }], reraise: true }] },
      ],
    },
  ),

  "eager tasks (3.12+)": {
    aiospec: 1,
    eager: true,
    callbacks: [{ name: "cb", body: [{ op: "create_task", coro: "quick", task: "from_cb" }, { op: "inspect", task: "from_cb" }] }],
    coroutines: [
      {
        name: "main",
        body: [
          { op: "create_task", coro: "quick", task: "q", name: "quick" },
          { op: "inspect", task: "q" },
          { op: "create_task", coro: "sleeper", task: "w" },
          { op: "inspect", task: "w" },
          { op: "current_task" },
          { op: "all_tasks" },
          { op: "call_soon", callback: "cb" },
          { op: "await", on: { gather: [{ coro: "quick" }, { coro: "sleeper" }] } },
          {
            op: "taskgroup",
            group: "g",
            body: [{ op: "create_task", coro: "quick", task: "gq", group: "g" }, { op: "create_task", coro: "sleeper", task: "gs", group: "g" }, { op: "inspect", task: "gq" }],
          },
          { op: "await", on: { wait_for: { coro: "quick" }, timeout: 1 } },
          { op: "await", on: { shield: { coro: "sleeper" } } },
          { op: "await", on: { task: "w" } },
        ],
      },
      { name: "quick", body: [{ op: "current_task" }, { op: "return", value: "quick" }] },
      { name: "sleeper", body: [{ op: "sleep", ticks: 1 }, { op: "return", value: "slept" }] },
    ],
  },

  "as_completed, async iteration (3.13+)": sc(
    {
      name: "main",
      body: [
        { op: "create_task", coro: "fast", task: "a" },
        { op: "create_task", coro: "slow", task: "b" },
        { op: "create_future", future: "f" },
        { op: "create_task", coro: "setter", task: "c" },
        { op: "as_completed", on: [{ task: "b" }, { task: "a" }, { task: "f" }], mode: "async" },
        { op: "create_task", coro: "slow", task: "d" },
        { op: "try", body: [{ op: "as_completed", on: [{ task: "d" }, { task: "unbound" }], mode: "async", timeout: 1 }], except: [{ type: "TimeoutError" }] },
        { op: "as_completed", on: [{ task: "d" }], mode: "iter" },
        { op: "create_task", coro: "fast", task: "unbound" },
      ],
    },
    { name: "fast", body: [{ op: "sleep", ticks: 1 }, { op: "return", value: "fast" }] },
    { name: "slow", body: [{ op: "sleep", ticks: 3 }, { op: "return", value: "slow" }] },
    { name: "setter", body: [{ op: "sleep", ticks: 2 }, { op: "set_exception", future: "f", exc: { type: "KeyError", args: ["f"] } }] },
  ),
  "gc mode: drop, gc, weak references, destruction reports": scc(
    [{ name: "discard", body: [{ op: "drop", handle: "saved" }, { op: "gc" }] }],
    {
      name: "main",
      body: [
        { op: "create_future", future: "f" },
        { op: "create_task", coro: "waiter", task: "orphan", name: "orphan" },
        { op: "create_task", coro: "waiter", task: "saved", name: "saved" },
        { op: "create_task", coro: "bad", task: "bad", name: "bad" },
        { op: "add_done_callback", task: "saved", callback: "discard" },
        { op: "weakref", task: "orphan", ref: "w1" },
        { op: "weakref", task: "saved", ref: "w2" },
        { op: "weakref", task: "bad", ref: "w3" },
        { op: "sleep", ticks: 0 },
        { op: "drop", handle: "orphan" },
        { op: "drop", handle: "bad" },
        { op: "create_future", future: "f" },
        { op: "gc" },
        { op: "inspect_weakref", ref: "w1" },
        { op: "inspect_weakref", ref: "w2" },
        { op: "inspect_weakref", ref: "w3" },
        { op: "cancel", task: "saved" },
        { op: "sleep", ticks: 1 },
        { op: "inspect_weakref", ref: "w2" },
        { op: "inspect", task: "saved" },
        { op: "drop", handle: "nothing" },
        { op: "create_future", future: "nothing" },
      ],
    },
    { name: "waiter", body: [{ op: "await", on: { task: "f" } }, { op: "log", label: "woke" }] },
    { name: "bad", body: [{ op: "raise", exc: { type: "ValueError", args: ["lost"] } }] },
  ),
};

// ------------------------------------------------------------ hostile strings

const HOSTILE = [
  '"',
  "\\",
  "\\\"",
  "'",
  '"""',
  "'''",
  "\n",
  "\r\n",
  "line one\nline two",
  "\x00",
  "\x07\x1b[31m\x7f",
  "\u0085\u2028\u2029",
  "😀",
  "é\u00ff\u0100\uffff",
  "\ud800",
  "\udfff\ud83d",
  "'); import os; ('",
  '"); import os; os._exit(3); print("',
  '\\"); import os; os._exit(3) #',
  "\n__import__('os')._exit(3)\n",
  "{0} %s ${x} {{",
  "# -*- coding: utf-7 -*-",
  "+AAo-print('PW'+'NED')",
  "\t\v\f\b",
  "<Task pending name='x' coro=<f() running at /x.py:1>>",
];

const hostileScenario: Scenario = {
  aiospec: 1,
  description: HOSTILE.join(" | "),
  coroutines: [
    {
      name: "main",
      body: [
        ...HOSTILE.map((label): Step => ({ op: "log", label })),
        ...HOSTILE.map((label): Step => ({ op: "create_task", coro: "w", task: label, name: "n" + label })),
        ...HOSTILE.map((label): Step => ({ op: "cancel", task: label, msg: label })),
        ...HOSTILE.map((label): Step => ({
          op: "try",
          body: [{ op: "await", on: { task: label } }],
          except: [{ type: "CancelledError" }],
        })),
        { op: "await", on: { gather: HOSTILE.slice(0, 6).map((task) => ({ task })), return_exceptions: true } },
        { op: "await", on: { coro: "ret" } },
        { op: "try", body: [{ op: "call", coro: "raiser" }], except: [{ type: "CustomError" }] },
        { op: "call", coro: "'); import os; ('" },
      ],
    },
    { name: "w", body: [{ op: "sleep", ticks: 1 }] },
    { name: "ret", body: [{ op: "return", value: HOSTILE.join("") }] },
    { name: "raiser", body: [{ op: "raise", exc: { type: "CustomError", args: HOSTILE } }] },
    { name: "'); import os; ('", body: [{ op: "log", label: "odd name" }] },
  ],
};

/** Hostile text everywhere the task API takes a name or a string (handles are not valid names: the validator is bypassed). */
const hostileTaskApiScenario: Scenario = {
  aiospec: 1,
  callbacks: HOSTILE.map((name) => ({ name, body: [{ op: "log", label: name } as Step] })),
  coroutines: [
    {
      name: "main",
      body: [
        ...HOSTILE.flatMap((h): Step[] => [
          { op: "create_task", coro: "w", task: "t" + h },
          { op: "set_name", task: "t" + h, name: "renamed " + h },
          { op: "inspect", task: "t" + h },
          { op: "create_future", future: h },
          { op: "add_done_callback", task: h, callback: h },
          { op: "remove_done_callback", task: h, callback: h },
          { op: "set_exception", future: h, exc: { type: "ExceptionGroup", args: [h], exceptions: [{ type: "ValueError", args: [h] }] } },
          { op: "call_soon", callback: h, handle: h },
          { op: "cancel_handle", handle: h },
          { op: "call_later", delay: 1, callback: h, handle: "x" + h },
          { op: "timeout", cm: h, delay: 5, body: [{ op: "inspect_timeout", cm: h }, { op: "reschedule", cm: h, delay: 6 }] },
          { op: "new_taskgroup", group: h },
          { op: "try", body: [{ op: "create_task", coro: "w", task: "u", group: h }], except: [{ type: "RuntimeError" }] },
          { op: "taskgroup", group: "g" + h, body: [{ op: "create_task", coro: "w", task: "v", group: "g" + h }] },
        ]),
        { op: "as_completed", on: HOSTILE.slice(0, 5).map((h) => ({ task: h })) },
        { op: "await", on: { wait: HOSTILE.slice(0, 5).map((h) => ({ task: "t" + h })) } },
        { op: "sleep", ticks: 2 },
      ],
    },
    { name: "w", body: [{ op: "sleep", ticks: 1 }] },
  ],
};

// ------------------------------------------------------------ tests

describe("pyStr and literals", () => {
  it("escapes to printable ASCII that Python reads back unchanged", () => {
    for (const s of HOSTILE) {
      const lit = pyStr(s);
      expect(lit).toMatch(/^"[\x20-\x7e]*"$/);
      expect(lit.slice(1, -1)).not.toMatch(/(^|[^\\])(\\\\)*"/); // no unescaped quote inside
    }
    const program = `import json, sys\nvals = [${HOSTILE.map(pyStr).join(", ")}]\nsys.stdout.write(json.dumps(vals))\n`;
    const r = spawnSync("python3", ["-c", program], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual(HOSTILE);
  });

  it("writes numbers as JSON hands them to the driver", () => {
    expect(pyNumber(3)).toBe("3");
    expect(pyNumber(-0)).toBe("0");
    expect(pyNumber(1.5)).toBe("1.5");
    expect(pyNumber(1e21)).toBe("1e+21");
    expect(pyNumber(NaN)).toBe("None");
    expect([null, true, false, "x"].map((v) => pyScalar(v))).toEqual(["None", "True", "False", '"x"']);
  });

  it("names coroutines with identifiers that shadow nothing", () => {
    const names = pythonNames(
      ["log", "main", "a-b", "a_b", "", "9", "__builtins__", "class", "ok"].map((name) => ({ name, body: [] })),
    );
    expect(names.get("main")).toBe("main");
    expect(names.get("ok")).toBe("ok");
    const ids = [...names.values()];
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
      expect(PY_RESERVED.has(id)).toBe(false);
      expect(id.startsWith("__")).toBe(false);
    }
  });

  it("reserves every module-level name of the program", () => {
    const src = toPython(sc({ name: "main", body: [] }));
    const file = path.join(tmp, "globals.py");
    fs.writeFileSync(file, src);
    const r = spawnSync("python3", ["-c", `import json, runpy, sys; print(json.dumps(sorted(runpy.run_path(sys.argv[1], run_name="probe"))))`, file], {
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    const globals: string[] = JSON.parse(r.stdout);
    const own = globals.filter((g) => !(g.startsWith("__") && g.endsWith("__")) && g !== "main");
    expect(own.filter((g) => !PY_RESERVED.has(g))).toEqual([]);
  });

  it("rejects what the driver would reject", () => {
    expect(() => toPython(sc({ name: "m", body: [] }))).toThrow(/main/);
    expect(() => toPython(sc({ name: "main", body: [{ op: "call", coro: "nope" }] }))).toThrow(/nope/);
    expect(() => toPython(sc({ name: "main", body: [] }, { name: "main", body: [] }))).toThrow(/duplicate/);
    expect(() => toPython(sc({ name: "main", body: [{ op: "raise", exc: { type: "Exception" as never } }] }))).toThrow(/cannot raise/);
    expect(() => toPython(sc({ name: "main", body: [{ op: "explode" } as never] }))).toThrow(/unknown op/);
    expect(() => toPython(sc({ name: "main", body: [{ op: "raise", exc: { type: "constructor" as never } }] }))).toThrow(/cannot raise/);
    expect(() => toPython(sc({ name: "main", body: [{ op: "try", body: [], except: [{ type: "toString" as never }] }] }))).toThrow(/unknown exception type/);
  });
});

describe("the task API scenarios", () => {
  it("are valid and together use every feature of the language", () => {
    const used = new Set<string>();
    for (const [name, scenario] of Object.entries(TASK_API_SCENARIOS)) {
      const r = validateScenario(scenario);
      expect(r.ok ? "" : formatValidationErrors(r.errors), name).toBe("");
      for (const f of scenarioFeatures(scenario)) used.add(f);
    }
    expect([...used].sort()).toEqual([...FEATURES].sort());
    expect(OPS.every((op) => used.has(op))).toBe(true);
  });
});

describe.each(PYTHONS)("generated programs on %s print the driver's trace", (python) => {
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    it(name, () => {
      checkAgainstDriver(scenario, python);
    });
  }

  for (const [name, scenario] of Object.entries(TASK_API_SCENARIOS)) {
    it.runIf(runsOn(scenario, python))(name, () => {
      checkAgainstDriver(scenario, python);
    });
  }

  it("random scenarios for this version: the program prints the driver's trace", () => {
    const version = VERSION_OF.get(python) as PythonVersion;
    const scenarios = fc.sample(scenarioArb({ version }), { seed: 20240611, numRuns: 25 });
    for (const scenario of scenarios) checkAgainstDriver(scenario, python);
  });

  it("hostile strings in the task API's names and messages round-trip and inject nothing", () => {
    const run = checkAgainstDriver(hostileTaskApiScenario, python);
    expect(run.stdout).not.toContain("PWNED");
    const callbacks = run.events.filter((e) => e.ev === "callback").map((e) => (e as { callback: string }).callback);
    expect([...callbacks].sort()).toEqual([...HOSTILE].sort());
    const names = run.events.filter((e) => e.ev === "inspect").map((e) => (e as { name?: string }).name);
    expect(names).toEqual(HOSTILE.map((h) => "renamed " + h));
  });

  it("hostile strings round-trip and inject nothing", () => {
    const src = toPython(hostileScenario, { title: HOSTILE.join("\n") });
    // pure ASCII; user text never on the first two lines (coding declarations)
    expect(src).toMatch(/^[\x20-\x7e\n]*$/);
    const lines = src.split("\n");
    expect(lines[0]).toBe("#!/usr/bin/env python3");
    expect(lines[1]).toBe("# aiospec reproducer, generated by aiospec from a scenario.");
    const run = checkAgainstDriver(hostileScenario, python);
    expect(run.stdout).not.toContain("PWNED");
    const labels = run.events.filter((e) => e.ev === "log").map((e) => (e as { label: string }).label);
    expect(labels.slice(0, HOSTILE.length)).toEqual(HOSTILE);
    const cancels = run.events.filter((e) => e.ev === "cancel").map((e) => (e as { ref: string }).ref);
    expect(cancels).toEqual(HOSTILE);
    const created = run.events.filter((e) => e.ev === "create_task").map((e) => (e as { name: string }).name);
    expect(created).toEqual(HOSTILE.map((h) => "n" + h));
    const caught = run.events.filter((e) => e.ev === "caught").map((e) => (e as { exc: { args: unknown[] } }).exc.args);
    // Labels are raw; values in exceptions are printed with asyncio reprs elided, as the driver does.
    const elided = (s: string) => s.replace("<Task pending name='x' coro=<f() running at /x.py:1>>", "<...>");
    expect(caught.slice(0, HOSTILE.length)).toEqual(HOSTILE.map((h) => [elided(h)]));
    expect(caught[HOSTILE.length]).toEqual(HOSTILE.map(elided));
    const ret = run.events.find((e) => e.ev === "awaited" && (e as { on: string }).on === "ret()") as { value: string };
    expect(ret.value).toBe(elided(HOSTILE.join("")));
  });
});

/** The newest CPython 3.8 under pyenv: the oldest version scenarios are written for. */
const PY38 = ((dir) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((v) => /^3\.8\.\d+$/.test(v)).sort().reverse() : []).map((v) => path.join(dir, v, "bin", "python3")).find((p) => fs.existsSync(p)))(
  path.join(process.env.PYENV_ROOT ?? path.join(os.homedir(), ".pyenv"), "versions"),
);
if (PY38 !== undefined) VERSION_OF.set(PY38, "3.8");

// Before 3.11, asyncio.Task takes no context, cancelling() and the exception
// groups do not exist and asyncio.TimeoutError is not the builtin: the
// program must run there as the driver does (feature detection), or the
// reproducer of a 3.8 scenario dies in its prelude.
describe.runIf(PY38 !== undefined)("on CPython 3.8, the oldest version scenarios are written for", () => {
  it("the scenarios above that 3.8 can run print the driver's trace, the program pinned to 3.8 too", () => {
    const runnable = [...Object.values(SCENARIOS), ...Object.values(TASK_API_SCENARIOS)].filter((s) => runsOn(s, PY38!));
    expect(runnable.length).toBeGreaterThan(3);
    for (const scenario of runnable) checkAgainstDriver(scenario, PY38);
    // As the CLI writes it for a counterexample found on 3.8: it checks the version it names.
    const pinned = runProgram(toPython(runnable[0], { title: "pinned", python: "3.8" }), PY38!);
    expect(pinned.events.length).toBeGreaterThan(0);
  });

  it("random 3.8 scenarios: the program prints the driver's trace", () => {
    const scenarios = fc.sample(scenarioArb({ version: "3.8" }), { seed: 20240611, numRuns: 15 });
    for (const scenario of scenarios) checkAgainstDriver(scenario, PY38);
  });
});

it("the program is readable: helpers, then one async def per coroutine, then __main__", () => {
  const src = toPython(SCENARIOS["every op"], { title: "every op" });
  expect(src).toContain("# every op\n");
  expect(src).toContain('@coroutine("worker")\nasync def worker():\n    log("working")\n    await asyncio.sleep(3)\n    return 42\n');
  expect(src).toContain('T["w1"] = asyncio.create_task(worker(), name="first")');
  expect(src).toContain('emit("cancel", ref="w1", returned=T["w1"].cancel("stop it"))');
  expect(src).toContain('    except asyncio.CancelledError as e:\n        caught(e)\n        log("w1 was cancelled")\n');
  expect(src).toContain('awaited("gather", await gather(helper(), handle("w2"), asyncio.sleep(1, 1.5)))');
  expect(src.indexOf("def emit(")).toBeLessThan(src.indexOf("async def main():"));
  expect(src.trimEnd().endsWith('if __name__ == "__main__":\n    run(main())')).toBe(true);
});

it("the task API reads as real asyncio code", () => {
  const src = toPython(
    {
      aiospec: 1,
      eager: true,
      callbacks: [{ name: "cb", body: [{ op: "log", label: "cb" }, { op: "call_later", delay: 1, callback: "main", handle: "h" }] }, { name: "main", body: [] }],
      coroutines: [
        {
          name: "main",
          body: [
            { op: "create_future", future: "f" },
            { op: "add_done_callback", task: "f", callback: "cb" },
            {
              op: "try",
              star: true,
              body: [
                {
                  op: "taskgroup",
                  group: "g",
                  body: [
                    { op: "create_task", coro: "w", task: "t", group: "g" },
                    { op: "timeout", cm: "c", delay: 3, body: [{ op: "reschedule", cm: "c", delay: 1 }, { op: "await", on: { shield: { coro: "w" } } }] },
                  ],
                },
              ],
              except: [{ type: "TimeoutError", body: [{ op: "log", label: "x" }], reraise: true }, { type: "ValueError" }],
            },
            { op: "as_completed", on: [{ task: "t" }, { task: "f" }], timeout: 2 },
            { op: "as_completed", on: [{ task: "t" }], mode: "async" },
            { op: "await", on: { wait: [{ task: "t" }], return_when: "FIRST_COMPLETED" } },
            { op: "await", on: { wait_for: { sleep: 1 }, timeout: 2 } },
            { op: "set_result", future: "f", value: 1 },
            { op: "cancel_handle", handle: "h" },
          ],
        },
        { name: "w", body: [{ op: "sleep", ticks: 2 }] },
      ],
    },
    { title: "task API" },
  );
  expect(src).toContain("# Run it with Python 3.13 or later");
  expect(src).toContain('T["f"] = labelled(asyncio.get_running_loop().create_future(), "f")');
  expect(src).toContain('        T["f"].add_done_callback(cb)\n');
  expect(src).toContain('        async with asyncio.TaskGroup() as G["g"]:\n            if bound("g", G):\n                T["t"] = group_task(G["g"], w())\n');
  expect(src).toContain('            async with asyncio.timeout(3) as CM["c"]:\n                if bound("c", CM):\n                    CM["c"].reschedule(asyncio.get_running_loop().time() + 1)\n');
  expect(src).toContain('awaited("shield", await asyncio.shield(w()))');
  expect(src).toContain('    except* asyncio.TimeoutError as e:\n        caught(e)\n        log("x")\n        raise\n    except* ValueError as e:\n        caught(e)\n');
  expect(src).toContain('    for aw in asyncio.as_completed(present(handle("t"), handle("f")), timeout=2):\n        try:\n            awaited("as_completed", await aw)\n');
  expect(src).toContain('    async for fut in asyncio.as_completed(present(handle("t"))):\n        emit("as_completed", item=value_data(fut))\n');
  expect(src).toContain('awaited("wait", await wait(present(handle("t")), return_when=asyncio.FIRST_COMPLETED))');
  expect(src).toContain('awaited("wait_for", await asyncio.wait_for(asyncio.sleep(1), 2))');
  // the callback named "main" is a plain def of another name: the coroutine keeps `main`
  expect(src).toContain('@callback("cb")\ndef cb():\n    log("cb")\n    H["h"] = asyncio.get_running_loop().call_later(1, main_2)\n');
  expect(src).toContain('@callback("main")\ndef main_2():\n    pass\n');
  expect(src.trimEnd().endsWith('if __name__ == "__main__":\n    run(main(), eager=True)')).toBe(true);
  expect(pythonFunctionNames([{ name: "main", body: [] }], [{ name: "main", body: [] }, { name: "e", body: [] }]).callbacks).toEqual(
    new Map([["main", "main_2"], ["e", "e_2"]]),
  );
});

it("rejects task API scenarios the driver or Python would reject", () => {
  const main = (body: Step[], callbacks: CallbackDef[] = []): Scenario => ({ aiospec: 1, callbacks, coroutines: [{ name: "main", body }] });
  expect(() => toPython(main([{ op: "call_soon", callback: "nope" }]))).toThrow(/no callback named "nope"/);
  expect(() => toPython(main([], [{ name: "cb", body: [{ op: "sleep", ticks: 1 }] }]))).toThrow(/callbacks\[0\]\.body\[0\]\.op: a callback cannot run a "sleep" step/);
  expect(() => toPython(main([], [{ name: "cb", body: [] }, { name: "cb", body: [] }]))).toThrow(/duplicate callback/);
  expect(() =>
    toPython(main([{ op: "try", star: true, body: [], except: [{ type: "ValueError", body: [{ op: "try", body: [], finally: [{ op: "return" }] }] }] }])),
  ).toThrow(/"return" cannot appear in an except\* handler/);
  expect(() => toPython(main([{ op: "try", star: true, body: [], except: [{ type: "ExceptionGroup" }] }]))).toThrow(/except\* cannot name ExceptionGroup/);
  expect(() => toPython(main([{ op: "try", star: true, body: [], except: ["ValueError", "KeyError", "RuntimeError", "CustomError"].map((type) => ({ type: type as "ValueError" })) }]))).toThrow(/1 to 3 clauses/);
  expect(() => toPython(main([{ op: "try", star: true, body: [], finally: [] }]))).toThrow(/1 to 3 clauses/);
});

describe("docs/scenario-language.md", () => {
  it.runIf(fs.existsSync(PY313))("shows the traces the driver records on CPython 3.13", () => {
    const doc = fs.readFileSync(path.resolve(__dirname, "..", "docs", "scenario-language.md"), "utf8");
    for (const heading of ["## A full example", "## A task API example"]) {
      const section = doc.slice(doc.indexOf(heading));
      const [scenarioText, traceText] = [...section.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => m[1]);
      const scenario = JSON.parse(scenarioText) as Scenario;
      expect(canonicalJson(driverTrace(scenario, PY313)), heading).toBe(canonicalJson(JSON.parse(traceText)));
      // and the reproducer prints it too
      checkAgainstDriver(scenario, PY313);
    }
  });
});
