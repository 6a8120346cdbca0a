/**
 * The `unawaited` step: a coroutine object made and dropped, never awaited.
 * CPython's RuntimeWarning "coroutine ... was never awaited" becomes a
 * never_awaited event: at once, or in gc mode at the next collection, before
 * the exception handler's reports. Reference, driver (CPython 3.8 and
 * 3.11-3.13) and the Python reproducer agree; the docs' example is run.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { validateScenario } from "../spec/scenario/validate";
import type { Scenario } from "../spec/scenario/types";
import { canonicalJson, firstDifference } from "../spec/scenario/trace";
import type { Trace } from "../spec/scenario/trace";
import { runScenario } from "../harness/engine/interpreter";
import { toPython } from "../harness/reproducing/python";
import { makeReference } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import { findCPython } from "../harness/targets";
import { runOnDriver } from "./helpers/driver";

/** The driver's trace; it must write nothing on stderr (no RuntimeWarning escapes). */
function driverTrace(python: string, scenario: unknown): Trace {
  const run = runOnDriver(python, [scenario]);
  expect(run.stderr).toBe("");
  expect(run.errors.get(0)).toBeUndefined();
  return run.traces.get(0)!;
}

/** The example of docs/scenario-language.md ("Tasks"). */
const DOCS_EXAMPLE: Scenario = {
  aiospec: 1,
  coroutines: [
    { name: "main", body: [{ op: "log", label: "a" }, { op: "unawaited", coro: "w" }, { op: "log", label: "b" }] },
    { name: "w", body: [{ op: "log", label: "never" }] },
  ],
};

/** gc mode: two coroutines wait in the limbo with a future whose exception nobody retrieved; one more after the gc step. */
const GC_MODE: Scenario = {
  aiospec: 1,
  coroutines: [
    {
      name: "main",
      body: [
        { op: "unawaited", coro: "w" },
        { op: "create_future", future: "f" },
        { op: "set_exception", future: "f", exc: { type: "ValueError" } },
        { op: "drop", handle: "f" },
        { op: "unawaited", coro: "main" },
        { op: "log", label: "before gc" },
        { op: "gc" },
        { op: "unawaited", coro: "w" },
      ],
    },
    { name: "w", body: [{ op: "log", label: "never" }] },
  ],
};

/** In a callback, and with a name that is a generated program's global. */
const CALLBACK: Scenario = {
  aiospec: 1,
  callbacks: [{ name: "cb", body: [{ op: "unawaited", coro: "unawaited" }] }],
  coroutines: [
    { name: "main", body: [{ op: "call_soon", callback: "cb" }, { op: "sleep", ticks: 0 }] },
    { name: "unawaited", body: [] },
  ],
};

const brief = (t: Trace) => t.events.map((e) => `${e.ev}:${"coro" in e ? e.coro : "label" in e ? e.label : "message" in e ? e.message : ""}@${e.task}`);

/** The reference models 3.11 on; CPython 3.8 is compared with its 3.11 (these traces do not differ by version). */
const modelled = (v: PythonVersion): PythonVersion => (v === "3.8" ? "3.11" : v);

const pythons: Array<{ version: PythonVersion; python: string }> = (["3.8", "3.11", "3.12", "3.13"] as const)
  .map((v) => ({ version: v, python: findCPython(v).path }))
  .filter((t) => t.python !== "");

describe("validator", () => {
  it("accepts the step, in coroutines and callbacks, and refuses an unknown coroutine in one line", () => {
    for (const s of [DOCS_EXAMPLE, GC_MODE, CALLBACK]) expect(validateScenario(s).ok).toBe(true);
    const r = validateScenario({ aiospec: 1, coroutines: [{ name: "main", body: [{ op: "unawaited", coro: "nope" }] }] });
    expect(r.ok ? [] : r.errors).toEqual([{ path: "$.coroutines[0].body[0].coro", message: 'unknown coroutine "nope" (defined: main)' }]);
  });

  it("is no spawn: a coroutine may make its own coroutine object without a cycle", () => {
    expect(validateScenario(GC_MODE).ok).toBe(true); // main makes main()
  });
});

describe.each(pythons)("CPython $version ($python)", ({ version, python }) => {
  it("records never_awaited at once, in the running task, and never runs the body", () => {
    const t = driverTrace(python, DOCS_EXAMPLE);
    expect(brief(t)).toEqual(["enter:main@Task-1", "log:a@Task-1", "never_awaited:w@Task-1", "log:b@Task-1", "exit:main@Task-1"]);
    expect(canonicalJson(runScenario(makeReference(modelled(version)), DOCS_EXAMPLE))).toBe(canonicalJson(t));
  });

  it("in gc mode, records them at the collection, in order, before the reports (and at the end of the run)", () => {
    const t = driverTrace(python, GC_MODE);
    expect(brief(t)).toEqual([
      "enter:main@Task-1", "create_future:@Task-1", "set_exception:@Task-1", "log:before gc@Task-1",
      "never_awaited:w@Task-1", "never_awaited:main@Task-1", "exception_handler:Future exception was never retrieved@Task-1",
      "exit:main@Task-1", "never_awaited:w@null",
    ]);
    const got = runScenario(makeReference(modelled(version)), GC_MODE);
    expect(canonicalJson(got), JSON.stringify(firstDifference(got, t))).toBe(canonicalJson(t));
  });

  it("records it in a callback, outside any task", () => {
    const t = driverTrace(python, CALLBACK);
    expect(brief(t)).toContain("never_awaited:unawaited@null");
    expect(canonicalJson(runScenario(makeReference(modelled(version)), CALLBACK))).toBe(canonicalJson(t));
  });
});

describe("Python reproducer", () => {
  const python = findCPython("3.12").path;
  it.skipIf(python === "")("prints the driver's trace", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-na-"));
    try {
      for (const [n, s] of [DOCS_EXAMPLE, GC_MODE, CALLBACK].entries()) {
        const file = path.join(dir, `repro${n}.py`);
        fs.writeFileSync(file, toPython(s, { title: "never awaited" }));
        const r = spawnSync(python, [file], { encoding: "utf8" });
        expect(r.stderr).toBe("");
        const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
        const outcome = lines.pop();
        expect(canonicalJson({ events: lines, ...outcome })).toBe(canonicalJson(driverTrace(python, s)));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
