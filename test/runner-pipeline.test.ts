/**
 * The clause runner runs a clause's next cases ahead on a target out of this
 * process (CASE_WINDOW in flight), and the result is the one a run with one
 * case at a time gives: the same counts, the same first failure, the same
 * shrunk counterexample and path. After a failure, the cases run ahead are
 * abandoned: a target that hangs on every case times out once, not once per
 * case in flight.
 */
import { afterAll, describe, expect, it } from "vitest";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { Target, TargetOptions, resolveTarget } from "../harness/targets";
import { CASE_WINDOW, ClauseResult, runClause } from "../harness/running/runner";
import { findClauses } from "../spec/clauses";
import type { Clause } from "../spec/clauses/clause";

const open: Target[] = [];
async function target(id: string, options: TargetOptions = {}, hint?: "3.11" | "3.12" | "3.13"): Promise<Target> {
  const t = await resolveTarget(id, hint, options);
  open.push(t);
  return t;
}
afterAll(async () => {
  await Promise.all(open.map((t) => t.close()));
});

const python3 = spawnSync("python3", ["--version"]).status === 0;
const FIX = path.resolve(__dirname, "fixtures", "impls");

/** A result without its timing, which is all that may differ. */
function timeless(r: ClauseResult): unknown {
  return JSON.parse(JSON.stringify({ ...r, elapsedMs: 0 }));
}

/** The target with its runs counted: the most in flight at once, and how many were started. */
function counted(t: Target): Target & { maxInFlight: () => number; started: () => number } {
  let inFlight = 0;
  let max = 0;
  let started = 0;
  return {
    ...t,
    run: (s) => {
      started++;
      max = Math.max(max, ++inFlight);
      return t.run(s).finally(() => inFlight--);
    },
    abandon: t.abandon,
    maxInFlight: () => max,
    started: () => started,
  };
}

function clause(id: string): Clause {
  const [c] = findClauses(id);
  expect(c?.id).toBe(id);
  return c;
}

describe("the clause runner with cases in flight", () => {
  it.each([
    ["mutant:lifo-ready@3.12", "differential.trace", 4],
    ["mutant:lifo-ready@3.12", "differential.trace", 11],
    ["mutant:tg-no-cancel-siblings@3.12", "taskgroup.cancel_order", 7],
    // A failure deep in the first window (case 57 of seed 2), and one past
    // it (case 76 of seed 40: CASE_WINDOW is 64, so the window was refilled).
    ["mutant:tg-first-error-bare@3.12", "differential.trace", 2],
    ["mutant:tg-first-error-bare@3.12", "differential.trace", 40],
    ["reference@3.12", "sleep.result", 3],
  ])("%s on %s (seed %i): the result of one case at a time", async (id, clauseId, seed) => {
    const c = clause(clauseId);
    const t = counted(await target(id, { isolate: true }));
    expect(t.isolation).toBe("process");
    const ahead = await runClause(c, t, { runs: 100, seed });
    expect(t.maxInFlight()).toBeGreaterThan(1);
    expect(t.maxInFlight()).toBeLessThanOrEqual(CASE_WINDOW);
    const one = counted(await target(id, { isolate: true }));
    const single = await runClause(c, one, { runs: 100, seed, window: 1 });
    expect(one.maxInFlight()).toBe(1);
    expect(timeless(ahead)).toEqual(timeless(single));
    if (id.startsWith("mutant:")) {
      expect(ahead.status).toBe("fail");
      expect(ahead.checked).toBe(ahead.runs); // every case before the failure was checked, none counted twice
      // Its path replays the shrunk case.
      const again = await runClause(c, t, { runs: 100, seed, path: ahead.counterexample!.path });
      expect(again.counterexample?.scenario).toEqual(ahead.counterexample!.scenario);
    } else {
      expect(ahead.status).toBe("pass");
      expect(t.started()).toBe(one.started());
    }
  }, 240_000);

  it("a module that hangs on a case: one timeout, the cases run ahead abandoned", async () => {
    const t = await target(path.join(FIX, "hang-sync.ts"), { timeoutMs: 300 });
    const r = await runClause(clause("differential.trace"), t, { runs: 100, seed: 1 });
    expect(r.status).toBe("fail");
    expect(r.counterexample!.verdict).toBe("timeout");
    expect(t.stats!().timeouts).toBe(1);
  }, 180_000);

  it.runIf(python3)("a driver that never answers: one timeout, not one per request in flight", async () => {
    const t = await target(`cmd:python3 ${path.join(FIX, "misbehaving_driver.py")} silent`, { timeoutMs: 300, maxRestarts: 500 });
    const r = await runClause(clause("differential.trace"), t, { runs: 100, seed: 1 });
    expect(r.status).toBe("fail");
    expect(r.counterexample!.verdict).toBe("timeout");
    expect(t.stats!().timeouts).toBe(1);
  }, 180_000);

  it.runIf(python3)("the Python driver gets several cases at once, and the same verdicts", async () => {
    const c = clause("gather.order");
    const t = counted(await target("cpython"));
    const ahead = await runClause(c, t, { runs: 100, seed: 5 });
    expect(t.maxInFlight()).toBeGreaterThan(1);
    const single = await runClause(c, t, { runs: 100, seed: 5, window: 1 });
    expect(timeless(ahead)).toEqual(timeless(single));
  }, 180_000);
});
