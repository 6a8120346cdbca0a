/**
 * gc mode: what an exception's traceback keeps alive (implementations/
 * reference/gcrefs.ts keptByTraceback, and the interpreter's awaits).
 * Observed on CPython 3.11-3.13 with plain asyncio programs and the driver:
 *  - an eager task that fails in its first step is kept by its exception,
 *    whose traceback links back to create_task's frames (3.12+);
 *  - a KeyboardInterrupt leaving the loop keeps the handle that was running,
 *    and so the future that woke the task (Handle._run's and _run_once's frames).
 * Each scenario: the reference at each version against the driver on that
 * CPython (skipped, saying so, where it is absent), and the fact itself.
 *
 * Known and not modelled: a plain program's `await gather(...)` holds the
 * gather on its frame's stack, which a traceback does not keep, so a child
 * whose exception ended the awaiting task is collected there; the driver
 * holds the awaitable in a variable (`aw`), which the traceback keeps, and
 * the reference follows the driver. Clearing `aw` in the driver makes the
 * pure-Python Task of 3.11 keep the child by a path not found yet.
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

const CASES: Array<{ name: string; versions: PythonVersion[]; task2Alive: boolean; scenario: Scenario }> = [
  {
    name: "an eager task that failed in its first step lives while its exception does",
    versions: ["3.12", "3.13"],
    task2Alive: true,
    scenario: {
      aiospec: 1,
      eager: true,
      coroutines: [
        {
          name: "main",
          body: [
            { op: "create_task", coro: "c1", task: "t0" },
            { op: "call_later", delay: 0, callback: "cb0" },
            { op: "await", on: { task: "t0" } },
          ],
        },
        { name: "c1", body: [{ op: "raise", exc: { type: "ValueError" } }] },
      ],
      callbacks: [{ name: "cb0", body: [{ op: "drop", handle: "t0" }] }],
    } as Scenario,
  },
  {
    name: "a KeyboardInterrupt leaving the loop keeps the wake-up that was running, and the gather it holds",
    versions: ["3.11", "3.12", "3.13"],
    task2Alive: true,
    scenario: {
      aiospec: 1,
      coroutines: [
        { name: "main", body: [{ op: "gc" }, { op: "await", on: { gather: [{ sleep: 0 }] } }, { op: "raise", exc: { type: "KeyboardInterrupt" } }] },
      ],
    } as Scenario,
  },
];

// Two tasks listed: main and the other one (3.13.0 names eager tasks "None", so count them).
const task2 = (t: Trace) => t.tasks.length === 2;

for (const c of CASES) {
  describe(c.name, () => {
    for (const v of c.versions) {
      it(`reference@${v}: Task-2 ${c.task2Alive ? "alive" : "collected"} at the end`, () => {
        expect(task2(runScenario(makeReference(v), c.scenario))).toBe(c.task2Alive);
      });
      const python = findCPython(v).path;
      it.skipIf(python === "")(`CPython ${v} (the driver) gives the reference's trace${python === "" ? " — skipped: no CPython " + v + " here" : ""}`, () => {
        const got = driverTrace(python, c.scenario);
        expect(task2(got)).toBe(c.task2Alive);
        expect(canonicalJson(runScenario(makeReference(v), c.scenario))).toBe(canonicalJson(got));
      });
    }
  });
}
