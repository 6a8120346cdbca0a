/**
 * gc mode: a divergence of the reference from CPython that `aiospec diff`
 * found and that is still open (docs/findings.md, "Where the reference still
 * differs from CPython (open)"). CPython's behaviour is asserted on the
 * driver (skipped, saying so, where that CPython is absent); the reference's
 * run is expected to fail (`it.fails`) until the divergence is closed, when
 * it will pass, fail as an expectation, and the case moves to
 * test/gc-divergences.test.ts with the fix.
 */
import { describe, expect, it } from "vitest";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import type { Trace } from "../spec/scenario/trace";
import { findCPython } from "../harness/targets";
import { driverTrace } from "./helpers/driver";
import type { Scenario } from "../spec/scenario/types";

/**
 * `diff reference@3.12+pytask cpython-3.12+pytask --runs 2000 --size large
 * --seed 10`, shrunk. main creates t0 eagerly (c3 runs until it awaits
 * wait_for(f0, 1)), cancels it, awaits it and catches the CancelledError;
 * a task of c2 binds t0 again later, dropping the first t0. With the
 * pure-Python Task, 3.12+ keep that first task to the end: the CancelledError
 * main caught has main's finished frame in its traceback, linked to the step
 * frames that hold the task (`__wakeup`'s `future`), and it lives on as the
 * `__context__` of the CancelledError a later task (t3) keeps: the
 * pure-Python Task's `__wakeup` runs main's whole step (and the eager tasks
 * it starts) inside `except BaseException as exc: self.__step(exc)`, so what
 * is raised there gets that CancelledError as its context. The C Task's
 * wake-up is C code: no context, and the task goes.
 */
const SCENARIO = JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"create_task","coro":"c3","task":"t0"},{"op":"cancel","task":"t0"},{"op":"try","body":[{"op":"await","on":{"task":"t0"}}],"except":[{"type":"CancelledError"}]},{"op":"taskgroup","group":"g0","body":[{"op":"create_task","coro":"c2","task":"t1","group":"g0"}]}]},{"name":"c1","body":[{"op":"create_task","coro":"c3","task":"t2"},{"op":"ensure_future","on":{"shield":{"task":"t2"}},"future":"s0"},{"op":"cancel","task":"s0"},{"op":"drop","handle":"t2"}]},{"name":"c2","body":[{"op":"try","body":[],"finally":[]},{"op":"taskgroup","group":"g1","body":[{"op":"create_task","coro":"c3","task":"t3"}]},{"op":"create_task","coro":"c3","task":"t0"}]},{"name":"c3","body":[{"op":"try","body":[{"op":"await","on":{"task":"f0"}}],"finally":[]},{"op":"create_future","future":"f0"},{"op":"await","on":{"wait_for":{"task":"f0"},"timeout":1}}]}],"eager":true}`) as Scenario;

/** The dropped first t0: a cancelled task that no handle is bound to, still listed at the end. */
const keptDroppedTask = (t: Trace): boolean => t.tasks.some((x) => x.ref === null && x.state === "cancelled");

describe("the pure-Python Task keeps a task dropped after its CancelledError was caught in main (open; found by: diff reference@3.12+pytask cpython-3.12+pytask --runs 2000 --size large --seed 10)", () => {
  for (const v of ["3.12", "3.13"] as PythonVersion[]) {
    const python = findCPython(v).path;
    it.skipIf(python === "")(`CPython ${v}+pytask (the driver) keeps it${python === "" ? " — skipped: no CPython " + v + " here" : ""}`, () => {
      expect(keptDroppedTask(driverTrace(python, SCENARIO, { task: "py" }))).toBe(true);
    });
    it.fails(`reference@${v}+pytask keeps it (open divergence: expected to fail until closed)`, () => {
      expect(keptDroppedTask(runScenario(makeReference(v, { pyTask: true }), SCENARIO))).toBe(true);
    });
  }
  it("the C Task lets it go, on CPython 3.12 and in the reference (the control)", () => {
    expect(keptDroppedTask(runScenario(makeReference("3.12"), SCENARIO))).toBe(false);
    const python = findCPython("3.12").path;
    if (python !== "") expect(keptDroppedTask(driverTrace(python, SCENARIO))).toBe(false);
  });
});
