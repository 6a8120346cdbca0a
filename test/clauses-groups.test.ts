/**
 * The Task Groups and Timeouts clauses (spec/clauses/taskgroup.ts,
 * spec/clauses/timeouts.ts): their generators make valid scenarios for every
 * version they claim, using the features they say they need, and their
 * scenarios exercise what the clause is about (a property whose
 * precondition never holds would pass on anything).
 */
import { compareVersions } from "../spec/scenario/versions";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CLAUSES as TASKGROUP } from "../spec/clauses/taskgroup";
import { CLAUSES as TIMEOUTS } from "../spec/clauses/timeouts";
import { caughtBefore, eventsOf, isGroup, logIndex } from "../spec/clauses/taskgroup";
import type { Clause } from "../spec/clauses/clause";
import { FEATURE_VERSIONS, requiredVersion, scenarioFeatures, validateScenario } from "../spec/scenario/validate";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import type { Trace } from "../spec/scenario/trace";

const ALL = [...TASKGROUP, ...TIMEOUTS];
const byId = (id: string): Clause => ALL.find((c) => c.id === id)!;

function sample(c: Clause, v: PythonVersion, n = 150) {
  return fc.sample(c.scenarios(v), { numRuns: n, seed: 11 });
}

/** The share of a clause's scenarios whose reference trace satisfies `pred`. */
function share(id: string, v: PythonVersion, pred: (t: Trace) => boolean): number {
  const ss = sample(byId(id), v, 100);
  return ss.filter((s) => pred(runScenario(makeReference(v), s))).length / ss.length;
}

describe.each(ALL.flatMap((c) => c.versions.map((v) => [c.id, v, c] as const)))("%s for %s", (_id, v, c) => {
  it("generates valid scenarios that run on that version and use what the clause needs", () => {
    const features = new Set<string>();
    for (const s of sample(c, v)) {
      const r = validateScenario(s);
      expect(r.ok, r.ok ? "" : JSON.stringify(r.errors)).toBe(true);
      expect(compareVersions(requiredVersion(s), v) <= 0).toBe(true);
      scenarioFeatures(s).forEach((f) => features.add(f));
    }
    // As the runner does, a feature newer than the version (eager tasks on 3.11) is not needed there.
    for (const n of c.needs) if (FEATURE_VERSIONS[n] === undefined || compareVersions(FEATURE_VERSIONS[n], v) <= 0) expect(features, `needs ${n}`).toContain(n);
  });
});

describe("the scenarios exercise their clause", () => {
  const collided = (t: Trace): boolean => {
    const at = logIndex(t, "group raised");
    return at >= 0 && isGroup(caughtBefore(t, "group raised")) && eventsOf(t, "cancel").some(({ i, e }) => e.ref === "w" && e.returned && i < at);
  };

  it("an outside cancel collides with the group's ExceptionGroup (collision_kept / collision_lost)", () => {
    expect(share("taskgroup.collision_kept", "3.13", collided)).toBeGreaterThan(0.8);
    expect(share("taskgroup.collision_lost", "3.12", collided)).toBeGreaterThan(0.8);
  });

  it("cancel_order: the set order often differs from creation order", () => {
    const shuffled = (t: Trace): boolean => {
      const order = t.events.filter((e) => e.ev === "log" && / cancelled$/.test(e.label)).map((e) => Number((e as { label: string }).label.slice(1, -10)));
      return order.some((x, i) => i > 0 && x < order[i - 1]);
    };
    expect(share("taskgroup.cancel_order", "3.13", shuffled)).toBeGreaterThan(0.5);
  });

  it("cancelling_leak: the failure comes both while the body runs and after it ended", () => {
    const leaked = (t: Trace): boolean => {
      const seen = eventsOf(t, "inspect").filter(({ e }) => e.ref === "w" && e.task === "w");
      return seen.length === 2 && seen[1].e.cancelling !== seen[0].e.cancelling;
    };
    const s = share("taskgroup.cancelling_leak", "3.12", leaked);
    expect(s).toBeGreaterThan(0.2);
    expect(s).toBeLessThan(0.8);
  });

  it("create_task on a shutting-down group is attempted", () => {
    const attempted = (t: Trace): boolean => t.events.some((e) => e.ev === "log" && e.label.startsWith("refused late"));
    expect(share("taskgroup.create_task_shutting_down", "3.12", attempted)).toBeGreaterThan(0.8);
  });

  it("foreign_cancel: the outside cancel mostly reaches the block before it times out", () => {
    const outside = (t: Trace): boolean => {
      const at = logIndex(t, "raised");
      return at >= 0 && eventsOf(t, "cancel").some(({ i, e }) => e.ref === "w" && e.returned && i < at);
    };
    expect(share("timeout.foreign_cancel", "3.12", outside)).toBeGreaterThan(0.6);
  });

  it("expired and nested_inner: both outcomes occur", () => {
    const timedOut = (t: Trace): boolean => caughtBefore(t, "raised")?.type === "TimeoutError";
    for (const id of ["timeout.expired", "timeout.nested_inner", "timeout.reschedule"]) {
      const s = share(id, "3.13", timedOut);
      expect(s, id).toBeGreaterThan(0.2);
      expect(s, id).toBeLessThan(0.9);
    }
  });
});
