/**
 * "$current" and "$main": task handles no step binds (the running task, the
 * main task). Validator refusals (one line, at the JSON path) and the
 * reference against CPython, eager start included.
 */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { validateScenario } from "../spec/scenario/validate";
import type { Scenario } from "../spec/scenario/types";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import { canonicalJson } from "../spec/scenario/trace";
import { findCPython } from "../harness/targets";
import { driverTrace } from "./helpers/driver";
import type { PythonVersion } from "../implementations/reference";

function scenario(body: unknown[]): unknown {
  return { aiospec: 1, coroutines: [{ name: "main", body }, { name: "w", body: [{ op: "sleep", ticks: 0 }] }] };
}

function errorOf(input: unknown): { path: string; message: string } {
  const r = validateScenario(input);
  if (r.ok) throw new Error("expected the scenario to be rejected");
  expect(r.errors).toHaveLength(1);
  expect(r.errors[0].message).not.toContain("\n");
  return r.errors[0];
}

describe("validator", () => {
  it("accepts them wherever a task is used, unbound", () => {
    for (const op of ["cancel", "inspect", "result", "exception", "uncancel"]) {
      expect(validateScenario(scenario([{ op, task: "$current" }, { op, task: "$main" }])).ok, op).toBe(true);
    }
    expect(validateScenario(scenario([{ op: "set_name", task: "$main", name: "boss" }])).ok).toBe(true);
  });

  it.each([
    [[{ op: "create_task", coro: "w", task: "$main" }], "$.coroutines[0].body[0].task", /^"\$main" is reserved: it names the main task, and no step can bind it$/],
    [[{ op: "create_future", future: "$current" }], "$.coroutines[0].body[0].future", /^"\$current" is reserved/],
    [[{ op: "await", on: { task: "$current" } }], "$.coroutines[0].body[0].on.task", /^"\$current" cannot be awaited/],
    [[{ op: "await", on: { gather: [{ task: "$main" }] } }], "$.coroutines[0].body[0].on.gather[0].task", /^"\$main" cannot be awaited/],
    [[{ op: "as_completed", on: [{ task: "$current" }] }], "$.coroutines[0].body[0].on[0].task", /cannot be awaited/],
    [[{ op: "set_result", future: "$current", value: 1 }], "$.coroutines[0].body[0].future", /^set_result needs a future: "\$current" is a task/],
    [[{ op: "cancel", task: "$self" }], "$.coroutines[0].body[0].task", /^must be a task handle: .*"\$current" or "\$main" \(got "\$self"\)$/],
  ])("refuses %j", (body, at, message) => {
    const e = errorOf(scenario(body));
    expect(e.path).toBe(at);
    expect(e.message).toMatch(message);
  });
});

const example = JSON.parse(fs.readFileSync(path.resolve(__dirname, "..", "spec", "examples", "language", "self-handles.json"), "utf8")) as Scenario;

const pythons: Array<{ version: PythonVersion; python: string }> = [
  { version: "3.11", python: "python3" },
  ...(["3.12", "3.13"] as const).map((v) => ({ version: v, python: findCPython(v).path })).filter((t) => t.python !== ""),
];

describe.each(pythons)("reference@$version vs CPython ($python)", ({ version, python }) => {
  it("gives the same trace", () => {
    expect(canonicalJson(runScenario(makeReference(version), example))).toBe(canonicalJson(driverTrace(python, example)));
  });
  if (version !== "3.11") {
    it("gives the same trace with eager tasks (a child reaches its parent through $main during its eager start)", () => {
      const eager = { ...example, eager: true };
      expect(canonicalJson(runScenario(makeReference(version), eager))).toBe(canonicalJson(driverTrace(python, eager)));
    });
  }
});
