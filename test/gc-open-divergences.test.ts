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
 * --seed 10`, shrunk, after the first divergence of that seed was closed
 * (test/gc-divergences.test.ts, "woken by a failed future"). The same
 * mechanism through another raise: main catches the first t0's
 * CancelledError in the step __wakeup runs while handling it, then a
 * `raise ValueError` in its TaskGroup body is raised under that
 * CancelledError: the ValueError's __context__ is it, and the
 * ExceptionGroup main ends with keeps the ValueError. CPython keeps one more
 * dropped, cancelled task to the end (wait_for(sleep(0), -1)'s inner task,
 * through the CancelledError's traceback); the reference sets the context
 * only for what a future's result() raises (futures.ts `raised`), not for
 * the interpreter's `raise` nor the reference's own raises.
 */
const SCENARIO = JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"create_task","coro":"c2","task":"t0"},{"op":"cancel","task":"t0"},{"op":"try","body":[{"op":"await","on":{"task":"t0"}}],"except":[{"type":"CancelledError"}]},{"op":"taskgroup","group":"g0","body":[{"op":"create_task","coro":"c2","task":"t1","group":"g0"},{"op":"try","body":[{"op":"raise","exc":{"type":"ValueError"}}],"finally":[]}]}]},{"name":"c1","body":[{"op":"create_task","coro":"c2","task":"t2"},{"op":"ensure_future","on":{"shield":{"task":"t2"}},"future":"s0"},{"op":"cancel","task":"s0"},{"op":"drop","handle":"t2"}]},{"name":"c2","body":[{"op":"await","on":{"wait_for":{"sleep":0},"timeout":-1}}]}],"eager":true}`) as Scenario;

/** Two cancelled tasks no handle is bound to are still listed at the end (the reference keeps one). */
const keptDroppedTask = (t: Trace): boolean => t.tasks.filter((x) => x.ref === null && x.state === "cancelled").length === 2;

describe("the pure-Python Task: a raise in a step woken by a failed future gets that exception as its __context__ (open; found by: diff reference@3.12+pytask cpython-3.12+pytask --runs 2000 --size large --seed 10, after its first divergence was closed)", () => {
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
