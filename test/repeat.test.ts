/**
 * `repeat` (spec/scenario/repeat.ts): expansion, the validator's refusals
 * (one line, at the written JSON path), the Python driver expanding alike,
 * and the reference matching CPython on repeated scenarios.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { expandRepeats, expandScenario } from "../spec/scenario/repeat";
import { validateScenario, type ValidationError } from "../spec/scenario/validate";
import type { Scenario } from "../spec/scenario/types";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import { canonicalJson } from "../spec/scenario/trace";

const DRIVER = path.resolve(__dirname, "..", "implementations", "python", "aiospec_driver.py");

function scenario(body: unknown[], ...others: Array<{ name: string; body: unknown[] }>): Scenario {
  return { aiospec: 1, coroutines: [{ name: "main", body }, ...others] } as unknown as Scenario;
}

function errorOf(input: unknown): ValidationError {
  const r = validateScenario(input);
  if (r.ok) throw new Error("expected the scenario to be rejected");
  expect(r.errors).toHaveLength(1);
  expect(r.errors[0].message).not.toContain("\n");
  return r.errors[0];
}

const worker = { name: "w", body: [{ op: "sleep", ticks: 1 }] };

describe("expansion", () => {
  it("writes out the body once per index, placeholders replaced", () => {
    const s = scenario([
      { op: "repeat", times: 3, var: "i", body: [
        { op: "create_task", coro: "w", task: "t{i}", name: "job{i*10+5}" },
        { op: "log", label: "{i}" },
        { op: "sleep", ticks: "{i%2}" },
      ] },
      { op: "log", label: "after" },
    ], worker);
    const body = expandScenario(s).coroutines[0].body;
    expect(body).toHaveLength(10);
    expect(body[3]).toEqual({ op: "create_task", coro: "w", task: "t1", name: "job15" });
    expect(body[4]).toEqual({ op: "log", label: "1" }); // a label stays a string
    expect(body[5]).toEqual({ op: "sleep", ticks: 1 }); // a number field gets a number
    expect(body[9]).toEqual({ op: "log", label: "after" });
  });

  it("nests, expands repeated awaitables and leaves braces outside repeats alone", () => {
    const s = scenario([
      { op: "log", label: "{not a placeholder}" },
      { op: "repeat", times: 2, var: "i", body: [{ op: "repeat", times: 2, var: "j", body: [{ op: "log", label: "{i}-{j}" }] }] },
      { op: "await", on: { gather: [{ repeat: 3, var: "k", each: { sleep: 0, result: "{k}" } }] } },
    ]);
    const body = expandScenario(s).coroutines[0].body;
    expect(body.map((b) => (b as { label?: string }).label)).toEqual(["{not a placeholder}", "0-0", "0-1", "1-0", "1-1", undefined]);
    expect(body[5]).toEqual({ op: "await", on: { gather: [{ sleep: 0, result: 0 }, { sleep: 0, result: 1 }, { sleep: 0, result: 2 }] } });
  });

  it("returns a scenario without repeats as it is", () => {
    const s = scenario([{ op: "log", label: "x" }]);
    expect(expandScenario(s)).toBe(s);
  });
});

describe("validator", () => {
  it.each([
    [{ op: "repeat", times: 100001, var: "i", body: [] }, "$.coroutines[0].body[0].times", /integer from 0 to 100000/],
    [{ op: "repeat", times: 2.5, var: "i", body: [] }, "$.coroutines[0].body[0].times", /integer/],
    [{ op: "repeat", times: 2, var: "1x", body: [] }, "$.coroutines[0].body[0].var", /must be a name/],
    [{ op: "repeat", times: 2, var: "i", body: [], step: 1 }, "$.coroutines[0].body[0].step", /unknown property "step"/],
    [{ op: "repeat", times: 2, var: "i" }, "$.coroutines[0].body[0].body", /needs a "body"/],
    [{ op: "repeat", times: 2, var: "i", body: [{ op: "repeat", times: 2, var: "i", body: [] }] },
      "$.coroutines[0].body[0].body[0].var", /already the variable of an enclosing repeat/],
    [{ op: "repeat", times: 2, var: "i", body: [{ op: "log", label: "{j}" }] },
      "$.coroutines[0].body[0].body[0].label", /unknown repeat variable "j"/],
  ])("refuses %j", (step, at, message) => {
    const e = errorOf(scenario([step]));
    expect(e.path).toBe(at);
    expect(e.message).toMatch(message);
  });

  it("refuses a scenario that expands past the bound", () => {
    const e = errorOf(scenario([{ op: "repeat", times: 100000, var: "i", body: [
      { op: "repeat", times: 11, var: "j", body: [{ op: "log", label: "x" }] },
    ] }]));
    expect(e.message).toMatch(/more than 1000000 steps/);
  });

  it("reports an error of a repeated step once, at the written path, with the iteration", () => {
    const e = errorOf(scenario([
      { op: "log", label: "first" },
      { op: "repeat", times: 50, var: "i", body: [{ op: "cancel", task: "t{i}" }] },
    ]));
    expect(e.path).toBe("$.coroutines[0].body[1].body[0].task");
    expect(e.message).toMatch(/task handle "t0" is never bound: .*\(repeat i=0\)$/);
  });

  it("maps structural errors after a repeat back to the written path", () => {
    const e = errorOf(scenario([
      { op: "repeat", times: 5, var: "i", body: [{ op: "log", label: "x" }] },
      { op: "sleep", ticks: "soon" },
    ]));
    expect(e.path).toBe("$.coroutines[0].body[1].ticks");
  });

  it("returns the expanded scenario", () => {
    const r = validateScenario(scenario([{ op: "repeat", times: 4, var: "i", body: [{ op: "create_task", coro: "w", task: "t{i}" }] }], worker));
    expect(r.ok && r.scenario.coroutines[0].body).toHaveLength(4);
  });
});

/** Expand with the Python driver's expand_scenario. */
function pythonExpand(s: unknown): unknown {
  const code = [
    "import json, sys",
    `sys.path.insert(0, ${JSON.stringify(path.dirname(DRIVER))})`,
    "import aiospec_driver as d",
    "try:",
    "    print(json.dumps({'ok': d.expand_scenario(json.load(sys.stdin))}))",
    "except d.ScenarioError as e:",
    "    print(json.dumps({'error': str(e)}))",
  ].join("\n");
  const r = spawnSync("python3", ["-c", code], { input: JSON.stringify(s), encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

describe("the Python driver expands alike", () => {
  const cases: Array<[string, Scenario]> = [
    ["placeholders and numbers", scenario([
      { op: "repeat", times: 4, var: "i", body: [
        { op: "create_task", coro: "w", task: "t{i}", name: "n{i-1}" },
        { op: "call_later", delay: "{i*3%5}", callback: "cb", handle: "{i}" },
        { op: "try", body: [{ op: "log", label: "{i}" }], except: [{ type: "ValueError", body: [{ op: "log", label: "e{i}" }] }] },
      ] },
      { op: "as_completed", on: [{ repeat: 2, var: "k", each: { task: "t{k}" } }] },
    ], worker)],
    ["nested", scenario([{ op: "repeat", times: 3, var: "a", body: [{ op: "repeat", times: 2, var: "b", body: [
      { op: "raise", exc: { type: "ValueError", args: ["{a}", "{a}{b}", "x{b}"] } },
    ] }] }])],
  ];
  it.each(cases)("%s", (_name, s) => {
    expect(pythonExpand(s)).toEqual({ ok: expandScenario(s) });
  });

  it("refuses what the validator refuses", () => {
    const r = pythonExpand(scenario([{ op: "repeat", times: 2, var: "i", body: [{ op: "log", label: "{j}" }] }])) as { error?: string };
    expect(r.error).toMatch(/^\$\.coroutines\[0\]\.body\[0\]\.body\[0\]\.label: unknown repeat variable 'j'/);
  });
});

describe("reference vs CPython on repeated scenarios", () => {
  const s = scenario([
    { op: "repeat", times: 120, var: "i", body: [{ op: "call_later", delay: "{i%7+1}", callback: "cb", handle: "h{i}" }] },
    { op: "repeat", times: 110, var: "i", body: [{ op: "cancel_handle", handle: "h{i}" }] },
    { op: "repeat", times: 30, var: "i", body: [{ op: "create_task", coro: "w{i%2}", task: "t{i}" }] },
    { op: "repeat", times: 10, var: "i", body: [{ op: "cancel", task: "t{i*3}" }] },
    { op: "as_completed", on: [{ repeat: 30, var: "i", each: { task: "t{i}" } }] },
  ], { name: "w0", body: [{ op: "sleep", ticks: 2 }, { op: "return", value: 0 }] },
  { name: "w1", body: [{ op: "sleep", ticks: 1 }, { op: "raise", exc: { type: "ValueError", args: ["x"] } }] });
  (s as unknown as { callbacks: unknown[] }).callbacks = [{ name: "cb", body: [{ op: "log", label: "tick" }] }];

  it("gives the same trace on CPython 3.11 (python3)", () => {
    const r = spawnSync("python3", [DRIVER], { input: JSON.stringify({ id: 1, scenario: s }) + "\n", encoding: "utf8", maxBuffer: 64 << 20 });
    const reply = JSON.parse(r.stdout.trim().split("\n")[1]);
    expect(reply.error).toBeUndefined();
    expect(canonicalJson(runScenario(makeReference("3.11"), s))).toBe(canonicalJson(reply.trace));
  });
});
