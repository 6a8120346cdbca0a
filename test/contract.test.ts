/**
 * One implementation contract (harness/engine/api.ts, checked by
 * harness/engine/contract.ts), the same wherever an implementation comes in:
 * a module the CLI loads, an object given to aiospec/vitest, an object given
 * to the programmatic API (tsTarget).
 *
 *  - new_event_loop, create_task, sleep and current_task are required;
 *  - every other function may be left out when the features that use it are
 *    declared unsupported (or newer than the Python claimed), and only then;
 *  - unknown feature names are refused;
 *  - the scenario shutdown of an implementation without gather waits for the
 *    leftover tasks itself, with the same trace as through gather.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { ConformanceUsageError, planConformance } from "../harness/vitest";
import { UsageError, resolveTarget, tsTarget } from "../harness/targets";
import { contractViolation } from "../harness/engine/contract";
import { ScenarioError, runScenario } from "../harness/engine/interpreter";
import type { AsyncioImplementation } from "../harness/engine/api";
import { makeReference } from "../implementations/reference";
import { scenarioArb } from "../spec/scenario/arbitraries";
import { scenarioFeatures } from "../spec/scenario/validate";
import type { Scenario } from "../spec/scenario/types";
import { canonicalJson } from "../spec/scenario/trace";

const ROOT = path.resolve(__dirname, "..");
const BIN = path.join(ROOT, "bin", "aiospec.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-contract-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The functions sleep-and-create_task scheduler leaves out, and the features it declares for them. */
const LEFT_OUT = ["gather", "shield", "wait_for", "wait", "as_completed", "TaskGroup", "timeout", "timeout_at", "all_tasks", "use_eager_task_factory", "gc_collect", "gc_alive"];
const DECLARED = ["gather", "shield", "wait_for", "wait", "as_completed", "taskgroup", "new_taskgroup", "timeout", "all_tasks", "eager", "gc", "drop", "weakref", "inspect_weakref"];

/** The reference at `version` without some functions, declaring some features unsupported; as an object and as module source. */
function variant(version: "3.11" | "3.12", leftOut: string[], unsupported: string[]) {
  const id = `partial@${version}`;
  const obj = Object.fromEntries(Object.entries(makeReference(version)).filter(([k]) => !leftOut.includes(k)));
  Object.assign(obj, { id, unsupported });
  const source = [
    `const { makeReference } = require(${JSON.stringify(path.join(ROOT, "implementations", "reference"))});`,
    `const leftOut = ${JSON.stringify(leftOut)};`,
    `const impl = Object.fromEntries(Object.entries(makeReference(${JSON.stringify(version)})).filter(([k]) => !leftOut.includes(k)));`,
    `module.exports = { ...impl, id: ${JSON.stringify(id)}, unsupported: ${JSON.stringify(unsupported)} };`,
  ].join("\n");
  return { obj: obj as unknown as AsyncioImplementation, source };
}

/** What each entry point says of an implementation: null (accepted) or its one-line refusal. */
async function verdicts(v: { obj: AsyncioImplementation; source: string }, name: string) {
  const file = path.join(tmp, `${name}.js`);
  fs.writeFileSync(file, v.source);
  const refusal = (e: unknown, kind: new (...a: never[]) => Error) => {
    expect(e).toBeInstanceOf(kind);
    const msg = (e as Error).message;
    expect(msg.split("\n")).toHaveLength(1);
    return msg;
  };
  let cli: string | null = null;
  try {
    await (await resolveTarget(file, undefined, { startTimeoutMs: 60_000 })).close();
  } catch (e) {
    cli = refusal(e, UsageError);
  }
  let vitest: string | null = null;
  try {
    planConformance(v.obj, { clauses: "tasks.*" });
  } catch (e) {
    vitest = refusal(e, ConformanceUsageError);
  }
  let api: string | null = null;
  try {
    tsTarget(v.obj, v.obj.pythonVersion as "3.12", "an object");
  } catch (e) {
    api = refusal(e, UsageError);
  }
  return { cli, vitest, api };
}

describe("one implementation contract for the CLI, aiospec/vitest and the programmatic API", () => {
  it("accepts a scheduler of sleep and create_task that declares the rest unsupported", async () => {
    const v = variant("3.12", LEFT_OUT, DECLARED);
    expect(contractViolation(v.obj, "it")).toBeNull();
    expect(await verdicts(v, "minimal")).toEqual({ cli: null, vitest: null, api: null });
  }, 120_000);

  it("refuses a left-out function whose features are not declared unsupported, naming what to declare", async () => {
    const v = variant("3.12", LEFT_OUT, DECLARED.filter((f) => f !== "gather" && f !== "new_taskgroup"));
    const why = contractViolation(v.obj, "partial@3.12");
    expect(why).toBe('partial@3.12 lacks gather, TaskGroup: provide them, or declare "gather", "new_taskgroup" unsupported');
    const { cli, vitest, api } = await verdicts(v, "undeclared");
    expect(cli).toContain('lacks gather, TaskGroup: provide them, or declare "gather", "new_taskgroup" unsupported');
    expect(vitest).toBe(`aiospec conformance: ${why}`);
    expect(api).toBe(why);
  }, 120_000);

  it("does not ask for functions of features newer than the Python claimed (eager on 3.11)", async () => {
    const v = variant("3.11", ["use_eager_task_factory"], []);
    expect(await verdicts(v, "old")).toEqual({ cli: null, vitest: null, api: null });
    const newer = variant("3.12", ["use_eager_task_factory"], []);
    expect(contractViolation(newer.obj, "x")).toBe('x lacks use_eager_task_factory: provide it, or declare "eager" unsupported');
  }, 120_000);

  it("refuses a missing core function and an unknown feature name everywhere", async () => {
    const noSleep = variant("3.12", ["sleep"], []);
    const typo = variant("3.12", [], ["gahter"]);
    for (const [v, name, pattern] of [
      [noSleep, "no-sleep", /lacks sleep \(every implementation provides new_event_loop, create_task, sleep, current_task/],
      [typo, "typo", /declares unknown feature\(s\) unsupported: gahter \(features: log, /],
    ] as const) {
      const { cli, vitest, api } = await verdicts(v, name);
      for (const msg of [cli, vitest, api]) expect(msg).toMatch(pattern);
    }
  }, 120_000);

  it("the CLI refuses such a module in one line, with exit code 2", () => {
    const v = variant("3.12", LEFT_OUT, []);
    const file = path.join(tmp, "cli-undeclared.js");
    fs.writeFileSync(file, v.source);
    const r = spawnSync(process.execPath, [BIN, "run", "--impl", file, "--runs", "1"], { cwd: tmp, encoding: "utf8", env: { ...process.env, CI: "1" } });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/lacks gather, shield, wait_for, wait, as_completed, TaskGroup, timeout, timeout_at, all_tasks, use_eager_task_factory, gc_collect, gc_alive: provide them, or declare "gather", /);
  }, 120_000);
});

describe("the scenario shutdown without gather", () => {
  const full = makeReference("3.12");
  const noGather = variant("3.12", ["gather"], ["gather"]).obj;

  it("waits for the leftover tasks as gather would: same trace, shutdown included", () => {
    const scenario: Scenario = {
      aiospec: 1,
      coroutines: [
        { name: "main", body: [{ op: "create_task", coro: "stubborn", task: "a" }, { op: "create_task", coro: "sleeper", task: "b" }, { op: "sleep", ticks: 1 }] },
        { name: "sleeper", body: [{ op: "sleep", ticks: 10 }] },
        {
          name: "stubborn",
          body: [{ op: "try", body: [{ op: "sleep", ticks: 10 }], except: [{ type: "CancelledError", body: [{ op: "log", label: "cleaning up" }, { op: "sleep", ticks: 2 }] }] }],
        },
      ],
    } as Scenario;
    const expected = runScenario(full, scenario);
    expect(expected.shutdown).toEqual({ kind: "complete" });
    expect(expected.events.map((e) => e.ev)).toContain("shutdown");
    expect(canonicalJson(runScenario(noGather, scenario))).toBe(canonicalJson(expected));
  });

  it("a scenario that would call a left-out function is refused in one line", () => {
    const scenario = { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "await", on: { gather: [{ sleep: 1 }] } }] }] } as Scenario;
    expect(() => runScenario(noGather, scenario)).toThrow(new ScenarioError("the scenario uses gather, and partial@3.12 has no gather (declared unsupported)"));
  });

  it("gives the reference's traces on generated scenarios that do not use gather", () => {
    const scenarios = scenarioArb({ version: "3.12" }).filter((s) => !scenarioFeatures(s).includes("gather"));
    fc.assert(
      fc.property(scenarios, (s) => canonicalJson(runScenario(noGather, s)) === canonicalJson(runScenario(full, s))),
      { numRuns: 300, seed: 1 },
    );
  });
});
