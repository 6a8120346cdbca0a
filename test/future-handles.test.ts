/**
 * ensure_future: a handle on what a combinator returns (gather's and
 * shield's futures), on a task wrapping a coroutine, or on a task itself.
 * The validator's rules, the example against CPython 3.11-3.13 on the
 * reference, and the Python reproducer against the driver.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { validateScenario } from "../spec/scenario/validate";
import type { Scenario } from "../spec/scenario/types";
import { canonicalJson, firstDifference } from "../spec/scenario/trace";
import { runScenario } from "../harness/engine/interpreter";
import { toPython } from "../harness/reproducing/python";
import { makeReference } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import { findCPython } from "../harness/targets";
import { driverTrace } from "./helpers/driver";

const EXAMPLE = path.join(__dirname, "..", "spec", "examples", "language", "future-handles.json");
const example = (): Scenario => JSON.parse(fs.readFileSync(EXAMPLE, "utf8"));

const pythons: Array<{ version: PythonVersion; python: string }> = (["3.11", "3.12", "3.13"] as const)
  .map((v) => ({ version: v, python: findCPython(v).path }))
  .filter((t) => t.python !== "");

const main = (body: unknown[], ...others: Array<{ name: string; body: unknown[] }>): unknown => ({
  aiospec: 1,
  coroutines: [{ name: "main", body }, ...others],
});

function errors(s: unknown): Array<{ path: string; message: string }> {
  const r = validateScenario(s);
  return r.ok ? [] : r.errors;
}

describe("validator", () => {
  it("accepts the example, and ensure_future in a callback", () => {
    expect(errors(example())).toEqual([]);
    expect(errors({
      aiospec: 1,
      callbacks: [{ name: "cb", body: [{ op: "ensure_future", on: { coro: "a" }, future: "g" }] }],
      coroutines: [{ name: "main", body: [{ op: "call_soon", callback: "cb" }, { op: "sleep", ticks: 0 }, { op: "await", on: { task: "g" } }] }, { name: "a", body: [] }],
    })).toEqual([]);
  });

  it("refuses binding $current, in one line", () => {
    expect(errors(main([{ op: "ensure_future", on: { sleep: 1 }, future: "$current" }]))).toEqual([
      { path: "$.coroutines[0].body[0].future", message: '"$current" is reserved: it names the running task (asyncio.current_task()), and no step can bind it' },
    ]);
  });

  it("refuses set_result on what ensure_future holds", () => {
    const e = errors(main([{ op: "ensure_future", on: { gather: [] }, future: "g" }, { op: "set_result", future: "g" }]));
    expect(e).toHaveLength(1);
    expect(e[0].message).toMatch(/^set_result needs a future: handle "g" is bound only by ensure_future, never by create_future/);
  });

  it("sees a task awaiting a future that runs it: a cycle of awaits", () => {
    const direct = errors(main(
      [{ op: "ensure_future", on: { gather: [{ coro: "a" }] }, future: "g" }, { op: "sleep", ticks: 1 }],
      { name: "a", body: [{ op: "await", on: { task: "g" } }] },
    ));
    expect(direct.map((e) => e.message)).toEqual([expect.stringMatching(/^tasks could await each other: a -> a /)]);
    // Through a task handle: g = shield(t), t runs a, a awaits g.
    const viaTask = errors(main(
      [{ op: "create_task", coro: "a", task: "t" }, { op: "ensure_future", on: { shield: { task: "t" } }, future: "g" }, { op: "sleep", ticks: 1 }],
      { name: "a", body: [{ op: "await", on: { wait_for: { task: "g" }, timeout: 1 } }] },
    ));
    expect(viaTask.map((e) => e.path)).toEqual(["$.coroutines[1].body[0].on.wait_for.task"]);
  });

  it("counts ensure_future of a coroutine as a spawn (no self-spawn)", () => {
    expect(errors(main([{ op: "ensure_future", on: { coro: "main" }, future: "g" }])).map((e) => e.message)).toEqual([
      'coroutine "main" calls or spawns itself through main -> main; scenarios must terminate',
    ]);
  });
});

describe.each(pythons)("reference@$version vs CPython ($python)", ({ version, python }) => {
  it("the example gives the same trace, gather's cancel reaching what had not completed", () => {
    const want = driverTrace(python, example());
    const got = runScenario(makeReference(version), example());
    expect(canonicalJson(got), JSON.stringify(firstDifference(got, want))).toBe(canonicalJson(want));
    // What the documentation says, read off CPython's trace: the still-running
    // awaitables end cancelled with the gather's message, the finished one keeps its result.
    // (Task numbers differ by version: on 3.11 and 3.12 the named task takes one.)
    const exits = want.events.filter((e) => e.ev === "exit" && e.coro !== "main") as Array<{ coro: string; task: string; exc?: { args: unknown[] }; value?: unknown; time: number }>;
    expect(exits.filter((e) => e.coro === "quick").map((e) => e.value)).toEqual(["q", "q"]);
    expect(exits.filter((e) => e.exc !== undefined).map((e) => [e.task === "slow" ? "slow" : "gathered", e.exc!.args, e.time]).sort()).toEqual([
      ["gathered", ["enough"], 1],
      ["slow", ["enough"], 1],
    ]);
    // shield's outer future was cancelled; the shielded coroutine ran to its end.
    expect(exits.find((e) => e.value === "slow done")?.time).toBe(5);
  });

  it("unbound handles inside ensure_future record unbound and bind nothing", () => {
    const s = main([
      { op: "ensure_future", on: { shield: { task: "late" } }, future: "g" },
      { op: "inspect", task: "g" },
      { op: "create_future", future: "late" },
    ]);
    const want = driverTrace(python, s);
    expect(want.events.filter((e) => e.ev === "unbound").map((e) => (e as { ref: string }).ref)).toEqual(["late", "g"]);
    expect(canonicalJson(runScenario(makeReference(version), s as Scenario))).toBe(canonicalJson(want));
  });
});

describe("Python reproducer", () => {
  const python = pythons.length > 0 ? pythons[pythons.length - 1].python : "";
  it.skipIf(python === "")("prints the driver's trace for the example", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-fh-"));
    try {
      const file = path.join(dir, "repro.py");
      fs.writeFileSync(file, toPython(example(), { title: "future handles" }));
      const r = spawnSync(python, [file], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      const outcome = lines.pop();
      expect(canonicalJson({ events: lines, ...outcome })).toBe(canonicalJson(driverTrace(python, example())));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
