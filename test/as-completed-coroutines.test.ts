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
