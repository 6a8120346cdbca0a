/**
 * gc mode (gc / drop / weakref / inspect_weakref): the validator, the
 * reference against CPython 3.11-3.13, and determinism — the same gc
 * scenario gives the same trace 20 times in a row on the reference and in
 * one CPython driver process.
 */
import { describe, expect, it } from "vitest";
import { validateScenario } from "../spec/scenario/validate";
import type { Scenario } from "../spec/scenario/types";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import { canonicalJson } from "../spec/scenario/trace";
import { findCPython } from "../harness/targets";
import { driverTrace, driverTraces } from "./helpers/driver";
import { backgroundTasksExample } from "../spec/clauses/weakrefs";

/** Orphaned waiters, a saved one, a failing task nobody asks, a failing future retrieved, a sleeper nobody holds, cancel-then-drop. */
const MIXED: Scenario = {
  aiospec: 1,
  coroutines: [
    {
      name: "main",
      body: [
        { op: "create_future", future: "f" },
        { op: "create_future", future: "g" },
        { op: "create_task", coro: "waiter", task: "t1", name: "orphan" },
        { op: "create_task", coro: "waiter2", task: "t2", name: "saved" },
        { op: "create_task", coro: "bad", task: "t3", name: "bad" },
        { op: "create_task", coro: "sleeper", task: "t4", name: "sleeper" },
        { op: "create_task", coro: "waiter2", task: "t5", name: "cancelled" },
        { op: "add_done_callback", task: "t2", callback: "discard" },
        { op: "weakref", task: "t1", ref: "w1" },
        { op: "weakref", task: "t2", ref: "w2" },
        { op: "weakref", task: "t3", ref: "w3" },
        { op: "weakref", task: "t4", ref: "w4" },
        { op: "weakref", task: "t5", ref: "w5" },
        { op: "sleep", ticks: 0 },
        { op: "all_tasks" },
        { op: "cancel", task: "t5" },
        { op: "drop", handle: "t1" },
        { op: "drop", handle: "t3" },
        { op: "drop", handle: "t4" },
        { op: "drop", handle: "t5" },
        { op: "drop", handle: "f" },
        { op: "create_future", future: "e" },
        { op: "set_exception", future: "e", exc: { type: "KeyError", args: ["k"] } },
        { op: "exception", task: "e" },
        { op: "drop", handle: "e" },
        { op: "gc" },
        { op: "inspect_weakref", ref: "w1" },
        { op: "inspect_weakref", ref: "w2" },
        { op: "inspect_weakref", ref: "w3" },
        { op: "inspect_weakref", ref: "w4" },
        { op: "inspect_weakref", ref: "w5" },
        { op: "all_tasks" },
        { op: "set_result", future: "g", value: 7 },
        { op: "sleep", ticks: 3 },
        { op: "gc" },
        { op: "inspect_weakref", ref: "w2" },
        { op: "inspect_weakref", ref: "w4" },
        { op: "inspect_weakref", ref: "w5" },
        { op: "inspect", task: "t2" },
        { op: "create_task", coro: "bad", task: "t6", name: "bad-at-end" },
      ],
    },
    { name: "waiter", body: [{ op: "await", on: { task: "f" } }, { op: "log", label: "never" }] },
    { name: "waiter2", body: [{ op: "await", on: { task: "g" } }, { op: "log", label: "woke" }] },
    { name: "bad", body: [{ op: "raise", exc: { type: "ValueError", args: ["boom"] } }] },
    { name: "sleeper", body: [{ op: "sleep", ticks: 2 }, { op: "log", label: "slept" }] },
  ],
  callbacks: [{ name: "discard", body: [{ op: "drop", handle: "t2" }] }],
};

describe("validator", () => {
  it("accepts the gc ops, in coroutines and callbacks", () => {
    expect(validateScenario(MIXED).ok).toBe(true);
    expect(validateScenario(backgroundTasksExample(3)).ok).toBe(true);
  });

  it("checks weak references like other handles", () => {
    const r = validateScenario({ aiospec: 1, coroutines: [{ name: "main", body: [{ op: "inspect_weakref", ref: "w" }] }] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0].message).toMatch(/weak reference "w" is never bound/);
    const clash = validateScenario({
      aiospec: 1,
      coroutines: [{ name: "main", body: [{ op: "create_future", future: "f" }, { op: "weakref", task: "f", ref: "f" }] }],
    });
    expect(clash.ok).toBe(false);
  });

  it("refuses to drop $main or $current (the run holds them), in one line", () => {
    const r = validateScenario({ aiospec: 1, coroutines: [{ name: "main", body: [{ op: "drop", handle: "$main" }] }] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      '$.coroutines[0].body[0].handle: "$main" cannot be dropped: it names the main task, which the run itself holds, not a handle of the scenario',
    ]);
  });
});

const pythons: Array<{ version: PythonVersion; python: string }> = [
  { version: "3.11", python: "python3" },
  ...(["3.12", "3.13"] as const).map((v) => ({ version: v, python: findCPython(v).path })).filter((t) => t.python !== ""),
];

describe.each(pythons)("reference@$version vs CPython ($python)", ({ version, python }) => {
  it("gives the same trace for a mixed gc scenario, 20 times in a row on each side", () => {
    const ref = Array.from({ length: 20 }, () => canonicalJson(runScenario(makeReference(version), MIXED)));
    expect(new Set(ref).size).toBe(1);
    const py = driverTraces(python, Array.from({ length: 20 }, () => MIXED)).map(canonicalJson);
    expect(new Set(py).size).toBe(1);
    expect(ref[0]).toBe(py[0]);
  });

  it("gives the same trace for the documentation's background-tasks example", () => {
    const s = backgroundTasksExample(10);
    expect(canonicalJson(runScenario(makeReference(version), s))).toBe(canonicalJson(driverTrace(python, s)));
  });
});
