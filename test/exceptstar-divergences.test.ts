/**
 * except*: the reference's divergences from CPython that `aiospec diff`
 * found outside gc mode and that are closed, in the style of
 * test/gc-divergences.test.ts: one scenario per divergence, shrunk from the
 * diff's counterexample, the reference at each version it concerns against
 * the driver on that CPython (skipped, saying so, where it is absent), and
 * the fact that made them differ, asserted on both, so that the test fails
 * on the reference before the fix.
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

interface Case {
  name: string;
  /** The command that found it. */
  found: string;
  versions: PythonVersion[];
  /** What CPython does and the old reference did not, read off a trace. */
  fact: (t: Trace) => boolean;
  scenario: Scenario;
}

/** The args of the exception a task ended with. */
const excArgs = (t: Trace, name: string): unknown => (t.tasks.find((x) => x.name === name) as { exc?: { args?: unknown } } | undefined)?.exc?.args;

/** Two tasks (Task-3, Task-4) run `except* CancelledError: <sleep(0)>; raise` on the one group gather([t0]) raises in both. */
function twoHandlers(nap: boolean): Scenario {
  return {
    aiospec: 1,
    coroutines: [
      {
        name: "main",
        body: [
          { op: "create_task", coro: "c2", task: "t0" },
          { op: "repeat", times: 2, var: "rep", body: [{ op: "create_task", coro: "c1", task: "t1" }] },
          { op: "try", body: [{ op: "await", on: { task: "t1" } }], except: [{ type: "CancelledError" }] },
        ],
      },
      {
        name: "c1",
        body: [
          {
            op: "try",
            star: true,
            body: [{ op: "await", on: { gather: [{ task: "t0" }] } }],
            except: [{ type: "CancelledError", body: nap ? [{ op: "sleep", ticks: 0 }] : [], reraise: true }],
          },
        ],
      },
      {
        name: "c2",
        body: [{ op: "raise", exc: { type: "BaseExceptionGroup", args: ["eg"], exceptions: [{ type: "CancelledError" }, { type: "ValueError" }] } }],
      },
    ],
  } as Scenario;
}

const CASES: Case[] = [
  {
    // Both c1 tasks get the same group object (t0's exception, through
    // gather). The first one's handler sleeps; meanwhile the second raises
    // the group again, which gives it a new traceback. When the first
    // handler's bare `raise` ends the construct, its matched part no longer
    // has the original's metadata (is_same_exception_metadata compares the
    // traceback objects), so it counts as a new exception:
    // BaseExceptionGroup("", [BaseExceptionGroup("eg", [CancelledError()]),
    // ExceptionGroup("eg", [ValueError()])]) instead of the original's
    // projection. The second task, whose handler nothing interrupted,
    // re-raises the original's shape. CPython 3.11.7 (a plain asyncio
    // program) and the driver on 3.11.7-3.13.0 alike.
    name: "a group raised again by another task while an except* handler runs: the handler's re-raise counts as a new exception",
    found: "diff reference@3.12 cpython-3.12 --runs 2000 --size medium --seed 39 (and 3.13, after 259 scenarios)",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => canonicalJson(excArgs(t, "Task-3")) === '[""]' && canonicalJson(excArgs(t, "Task-4")) === '["eg"]',
    scenario: twoHandlers(true),
  },
  {
    // The same without the sleep: each handler ends before the other task
    // raises the group, so both re-raise the original's projection.
    name: "the same handlers without a suspension: both re-raise the original group's shape",
    found: "by hand, with the case above",
    versions: ["3.11", "3.12", "3.13"],
    fact: (t) => canonicalJson(excArgs(t, "Task-3")) === '["eg"]' && canonicalJson(excArgs(t, "Task-4")) === '["eg"]',
    scenario: twoHandlers(false),
  },
];

for (const c of CASES) {
  describe(`${c.name} (found by: ${c.found})`, () => {
    for (const v of c.versions) {
      it(`reference@${v}`, () => {
        expect(c.fact(runScenario(makeReference(v), c.scenario))).toBe(true);
      });
      const python = findCPython(v).path;
      it.skipIf(python === "")(`CPython ${v} (the driver) gives the reference's trace${python === "" ? " — skipped: no CPython " + v + " here" : ""}`, () => {
        const got = driverTrace(python, c.scenario);
        expect(c.fact(got)).toBe(true);
        expect(canonicalJson(runScenario(makeReference(v), c.scenario))).toBe(canonicalJson(got));
      });
    }
  });
}
