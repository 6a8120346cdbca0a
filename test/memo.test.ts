/**
 * The runner's memo of traces (harness/running/memo.ts): a deterministic
 * target is asked each distinct scenario once per run; a real clock, a
 * nondeterministic collector and a failure are asked again; a counterexample
 * is re-run afresh, so a target that only says it is deterministic shows;
 * the traces kept are frozen under the test runner.
 */
import { describe, expect, it } from "vitest";
import * as fc from "fast-check";
import type { Clause, CheckContext } from "../spec/clauses/clause";
import type { Scenario } from "../spec/scenario/types";
import type { Trace } from "../spec/scenario/trace";
import { runClause } from "../harness/running/runner";
import { TraceMemo, expectedTrace, runMemoised } from "../harness/running/memo";
import { makeReference } from "../implementations/reference";
import { runScenario } from "../harness/engine/interpreter";
import { tsTarget, Target } from "../harness/targets/target";
import { TargetFailure } from "../harness/targets/errors";

/** Two programs only: main logs "a", or main logs "b". */
function program(label: string): Scenario {
  return { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "log", label }] }] } as Scenario;
}

function clauseOf(check: (ctx: CheckContext) => true | string): Clause {
  return {
    id: "memo.test",
    statement: "a test clause",
    source: { url: "https://docs.python.org/3/library/asyncio.html", section: "test" },
    versions: ["3.11", "3.12", "3.13", "3.14"],
    level: "exact",
    needs: ["log"],
    brokenBy: [],
    scenarios: () => fc.constantFrom("a", "b").map(program),
    check,
  } as Clause;
}

/** The reference as a target, with its runs counted, claiming the given clock and collector. */
function counted(extra: Partial<Target> = {}, run?: (s: Scenario, n: number) => Promise<Trace>): Target & { runs: () => number } {
  const base = tsTarget(makeReference("3.12"), "3.12", "the reference");
  let runs = 0;
  return {
    ...base,
    ...extra,
    run: (s) => {
      runs++;
      return run ? run(s, runs) : base.run(s);
    },
    runs: () => runs,
  };
}

const pass = clauseOf(() => true);

describe("the runner's memo of traces", () => {
  it("asks a deterministic target each distinct scenario once, and still checks every case", async () => {
    const t = counted();
    const r = await runClause(pass, t, { runs: 100, seed: 1 });
    expect(r.status).toBe("pass");
    expect(r.checked).toBe(100);
    expect(t.runs()).toBe(2);
  });

  it.each([
    ["a real clock", { clock: "real" as const }],
    ["a nondeterministic collector", { gc: "nondeterministic" as const }],
  ])("asks a target on %s every time", async (_what, extra) => {
    const t = counted(extra);
    const r = await runClause(pass, t, { runs: 50, seed: 1 });
    expect(r.checked).toBe(50);
    expect(t.runs()).toBe(50);
  });

  it("keeps no failure: a case that failed to run is asked again", async () => {
    const ref = tsTarget(makeReference("3.12"), "3.12", "the reference");
    const t = counted({}, (s, n) => (n === 1 ? Promise.reject(new TargetFailure("error", "crashed once")) : ref.run(s)));
    const memo = new TraceMemo();
    expect(memo.size).toBe(0);
    await expect(t.run(program("a"))).rejects.toThrow("crashed once");
    const r = await runClause(pass, t, { runs: 20, seed: 3 });
    expect(r.status).toBe("pass");
    // Both programs were run once more after the failure, and then taken from the memo.
    expect(t.runs()).toBe(3);
  });

  it("asks a repeat that comes while its scenario is in flight once: both wait for the one run; a failure shared so is not kept", async () => {
    const ref = tsTarget(makeReference("3.12"), "3.12", "the reference");
    const release: Array<() => void> = [];
    // Each run waits until the test lets it finish; the first one fails.
    const t = counted({}, (s, n) =>
      new Promise<void>((r) => release.push(r)).then(() => (n === 1 ? Promise.reject(new TargetFailure("error", "crashed once")) : ref.run(s))),
    );
    const first = runMemoised(t, program("a"));
    const again = runMemoised(t, program("a"));
    expect(t.runs()).toBe(1);
    release.shift()!();
    await expect(first).rejects.toThrow("crashed once");
    await expect(again).rejects.toThrow("crashed once");
    // After the failure: asked again, and a repeat in flight waits for that run.
    const third = runMemoised(t, program("a"));
    const fourth = runMemoised(t, program("a"));
    expect(t.runs()).toBe(2);
    release.shift()!();
    expect(await fourth).toBe(await third);
    expect(t.runs()).toBe(2);
  });

  it("re-runs the counterexample afresh: a target that is not deterministic after all is caught", async () => {
    const ref = tsTarget(makeReference("3.12"), "3.12", "the reference");
    // Logs "x" on its first run only: every later run passes.
    const t = counted({}, async (s, n) => {
      const trace = await ref.run(s);
      return n === 1 ? { ...trace, events: [...trace.events, { ev: "log", task: "main", label: "x" }] as Trace["events"] } : trace;
    });
    const noX = clauseOf(({ trace }) => (trace.events.some((e) => (e as { label?: string }).label === "x") ? "x was logged" : true));
    const r = await runClause(noX, t, { runs: 20, seed: 1 });
    expect(r.status).toBe("fail");
    expect(r.counterexample?.message).toMatch(/passed when re-run/);
  });

  it("freezes the traces it keeps under the test runner: a clause that writes into one throws", async () => {
    const t = counted();
    const writes = clauseOf(({ trace }) => {
      (trace.events as unknown[]).push({ ev: "log", task: "main", label: "mine" });
      return true;
    });
    const r = await runClause(writes, t, { runs: 10, seed: 1 });
    expect(r.status).not.toBe("pass");
  });

  it("keeps the reference's expected traces: the same trace object for the same program, the reference's trace", () => {
    const a = expectedTrace("3.13", false, program("a"));
    expect(expectedTrace("3.13", false, program("a"))).toBe(a);
    expect(a).toEqual(runScenario(makeReference("3.13"), program("a")));
    expect(JSON.stringify(a)).toContain('"a"');
    expect(expectedTrace("3.13", true, program("a"))).not.toBe(a);
  });

  it("is bounded: the least recently used trace goes first", () => {
    const memo = new TraceMemo(2);
    const trace = (label: string) => ({ events: [{ ev: "log", task: "main", label }] }) as unknown as Trace;
    memo.set("a", trace("a"));
    memo.set("b", trace("b"));
    expect(memo.get("a")).toBeDefined(); // a is now the most recent
    memo.set("c", trace("c"));
    expect(memo.size).toBe(2);
    expect(memo.get("b")).toBeUndefined();
    expect(memo.get("a")).toBeDefined();
    expect(memo.get("c")).toBeDefined();
  });
});
