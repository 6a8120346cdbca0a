/**
 * as_completed over coroutines: accepted by the validator, and the same trace
 * on the reference and CPython (plain and async iteration, eager tasks): the
 * interpreters pin the coroutines' hashes (the driver's PinnedCoroutine), so
 * the set as_completed makes of them iterates in a reproducible order.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { validateScenario } from "../spec/scenario/validate";
import type { Scenario } from "../spec/scenario/types";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import { canonicalJson } from "../spec/scenario/trace";
import { findCPython } from "../harness/targets";
import { driverTrace } from "./helpers/driver";
import { toPython } from "../harness/reproducing/python";
import { findMutant } from "../implementations/mutants";
import type { Trace } from "../spec/scenario/trace";

const example = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, "..", "spec", "examples", "language", "as-completed-coroutines.json"), "utf8"),
) as Scenario;

/** The example with its as_completed step changed. */
function variant(change: Record<string, unknown>, eager = false): Scenario {
  const s = JSON.parse(JSON.stringify(example)) as Scenario;
  Object.assign(s.coroutines[0].body[3], change);
  if (eager) s.eager = true;
  return s;
}

it("the validator accepts coroutines in as_completed", () => {
  const v = validateScenario(example);
  expect(v.ok).toBe(true);
});

const pythons: Array<{ version: PythonVersion; python: string }> = [
  { version: "3.11", python: "python3" },
  ...(["3.12", "3.13"] as const).map((v) => ({ version: v, python: findCPython(v).path })).filter((t) => t.python !== ""),
];

describe.each(pythons)("reference@$version vs CPython ($python)", ({ version, python }) => {
  const cases: Array<[string, Scenario]> = [
    ["plain iteration", example],
    ["with a timeout", variant({ timeout: 1 })],
    ["only coroutines, 20 of them", variant({ on: [{ repeat: 20, var: "i", each: { coro: "slow" } }] })],
  ];
  if (version !== "3.11") cases.push(["eager tasks", variant({}, true)]);
  if (version === "3.13") cases.push(["async iteration", variant({ mode: "async" })]);
  it.each(cases)("%s", (_name, s) => {
    const cpython = driverTrace(python, s);
    expect(canonicalJson(runScenario(makeReference(version), s))).toBe(canonicalJson(cpython));
  });
});

it("the Python reproducer gives the driver's trace", () => {
  const r = spawnSync("python3", ["-"], { input: toPython(example), encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.ev !== undefined);
  const trace = driverTrace("python3", example);
  expect(events).toEqual(trace.events);
});

// ---- gc mode: what keeps the tasks as_completed wraps the coroutines in

/**
 * a() and b() fail at their first step; the collector, created first, yields
 * twice and collects in the loop iteration where main's wake-up is queued
 * behind a()'s completion: a (and b) wait on as_completed's queue, which only
 * as_completed holds (a finished coroutine's frame is cleared).
 */
const queued: Scenario = {
  aiospec: 1,
  coroutines: [
    {
      name: "main",
      body: [
        { op: "create_task", coro: "collector", task: "c", name: "collector" },
        { op: "try", body: [{ op: "as_completed", on: [{ coro: "a" }, { coro: "b" }] }], except: [{ type: "ValueError" }] },
        { op: "sleep", ticks: 1 },
      ],
    },
    { name: "a", body: [{ op: "raise", exc: { type: "ValueError", args: [1] } }] },
    { name: "b", body: [{ op: "raise", exc: { type: "ValueError", args: [2] } }] },
    { name: "collector", body: [{ op: "sleep", ticks: 0 }, { op: "sleep", ticks: 0 }, { op: "log", label: "g1" }, { op: "gc" }] },
  ],
};

/**
 * stuck0() and stuck1() wait on f, which the collector drops before it
 * collects while main waits in the loop; then it cancels main.
 */
const stuck: Scenario = {
  aiospec: 1,
  coroutines: [
    {
      name: "main",
      body: [
        { op: "create_future", future: "f" },
        { op: "create_task", coro: "collector", task: "c", name: "collector" },
        { op: "try", body: [{ op: "as_completed", on: [{ coro: "stuck0" }, { coro: "stuck1" }] }], except: [{ type: "CancelledError" }] },
        { op: "sleep", ticks: 1 },
      ],
    },
    { name: "stuck0", body: [{ op: "await", on: { task: "f" } }] },
    { name: "stuck1", body: [{ op: "await", on: { task: "f" } }] },
    {
      name: "collector",
      body: [{ op: "sleep", ticks: 0 }, { op: "drop", handle: "f" }, { op: "gc" }, { op: "log", label: "g1" }, { op: "cancel", task: "$main" }],
    },
  ],
};

/** What the exception handler heard at the collector's collection (the reports are recorded in the collecting task). */
function heardAtCollection(t: Trace): unknown[] {
  return t.events.filter((e) => e.ev === "exception_handler" && e.task === "collector");
}

const holdsNothing = findMutant("as-completed-holds-nothing")!;

describe.each(pythons)("gc mode, reference@$version vs CPython ($python)", ({ version, python }) => {
  it("a failed member waiting on as_completed's queue survives a collection, and the reference agrees with CPython", () => {
    const cpython = driverTrace(python, queued);
    expect(heardAtCollection(cpython)).toEqual([]);
    expect(canonicalJson(runScenario(makeReference(version), queued))).toBe(canonicalJson(cpython));
  });

  it("mutant as-completed-holds-nothing destroys it there, reported never retrieved", () => {
    const heard = heardAtCollection(runScenario(holdsNothing.make(version), queued)) as Array<{ message: string }>;
    expect(heard.map((e) => e.message)).toContain("Task exception was never retrieved");
  });

  it("pending members live through the driver's argument list (their coroutines' frames hold the futures they await): the same mutant keeps them too", () => {
    const cpython = driverTrace(python, stuck);
    expect(heardAtCollection(cpython)).toEqual([]);
    expect(canonicalJson(runScenario(makeReference(version), stuck))).toBe(canonicalJson(cpython));
    expect(heardAtCollection(runScenario(holdsNothing.make(version), stuck))).toEqual([]);
  });
});
