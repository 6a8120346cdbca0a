/**
 * Scenarios for Pythons older than 3.11 (spec/scenario/downgrade.ts): the
 * generators' scenarios rewritten to what the old version has.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { scenarioArb } from "../spec/scenario/arbitraries";
import { downgradeScenario } from "../spec/scenario/downgrade";
import { FEATURE_VERSIONS, requiredVersion, scenarioFeatures, validateScenario } from "../spec/scenario/validate";
import { compareVersions } from "../spec/scenario/versions";
import type { Scenario } from "../spec/scenario/types";

describe.each(["3.8", "3.9", "3.10"] as const)("scenarioArb for Python %s", (version) => {
  it("generates valid scenarios that use only what the version has, and still plenty of the rest", () => {
    const used = new Set<string>();
    for (const s of fc.sample(scenarioArb({ version }), { numRuns: 1000, seed: 11 })) {
      expect(compareVersions(requiredVersion(s), version), JSON.stringify(s)).toBeLessThanOrEqual(0);
      for (const f of scenarioFeatures(s)) used.add(f);
    }
    for (const f of Object.keys(FEATURE_VERSIONS)) {
      if (compareVersions(FEATURE_VERSIONS[f], version) > 0) expect(used.has(f), f).toBe(false);
    }
    for (const f of ["gather", "shield", "wait", "wait_for", "as_completed", "cancel", "create_task", "add_done_callback", "call_later", "try"]) {
      expect(used.has(f), f).toBe(true);
    }
  });
});

describe("downgradeScenario", () => {
  const main = (body: unknown[]): Scenario => ({ aiospec: 1, coroutines: [{ name: "main", body }, { name: "w", body: [] }] }) as Scenario;

  it("runs a TaskGroup's or a timeout's body inline and drops what has no equivalent", () => {
    const s = main([
      { op: "taskgroup", group: "g", body: [{ op: "create_task", coro: "w", task: "t", group: "g" }, { op: "uncancel", task: "t" }] },
      { op: "timeout", delay: 1, cm: "c", body: [{ op: "log", label: "in" }, { op: "reschedule", cm: "c", delay: 2 }, { op: "inspect_timeout", cm: "c" }] },
    ]);
    expect(downgradeScenario(s, "3.10")!.coroutines[0].body).toEqual([
      { op: "create_task", coro: "w", task: "t" },
      { op: "log", label: "in" },
    ]);
    expect(downgradeScenario(s, "3.11")).toEqual(s);
  });

  it("raises a group's first member, catches groups as Exception / BaseException, and drops except*", () => {
    const s = main([
      {
        op: "try",
        star: true,
        body: [{ op: "raise", exc: { type: "ExceptionGroup", args: ["eg"], exceptions: [{ type: "ExceptionGroup", args: ["in"], exceptions: [{ type: "KeyError" }] }, { type: "ValueError" }] } }],
        except: [{ type: "KeyError" }],
      },
      { op: "try", body: [], except: [{ type: "ExceptionGroup" }, { type: "BaseExceptionGroup" }] },
    ]);
    const d = downgradeScenario(s, "3.9")!;
    expect(validateScenario(d).ok).toBe(true);
    expect(d.coroutines[0].body[0]).toEqual({ op: "try", body: [{ op: "raise", exc: { type: "KeyError" } }], except: [{ type: "KeyError" }] });
    expect((d.coroutines[0].body[1] as { except: unknown }).except).toEqual([{ type: "Exception" }, { type: "BaseException" }]);
  });

  it("drops cancel messages on 3.8 only, and the eager factory before 3.12", () => {
    const s = { ...main([{ op: "create_future", future: "f" }, { op: "cancel", task: "f", msg: "m" }]), eager: true };
    expect(downgradeScenario(s, "3.8")!.coroutines[0].body[1]).toEqual({ op: "cancel", task: "f" });
    expect(downgradeScenario(s, "3.9")!.coroutines[0].body[1]).toEqual({ op: "cancel", task: "f", msg: "m" });
    expect(downgradeScenario(s, "3.11")!.eager).toBeUndefined();
    expect(downgradeScenario(s, "3.12")!.eager).toBe(true);
  });
});
