/**
 * The minimisation pass keeps a removal only when the reference still
 * passes the clause (harness/running/runner.ts failsTheSameWay): a removal
 * that takes a case out of the clause's premise, where the check fails on
 * CPython too with the same message, makes no counterexample. Found on
 * loop.run_until_complete.stale_stop, whose nest_asyncio counterexample was
 * minimised to `main: return 1`.
 */
import { describe, expect, it } from "vitest";
import * as fc from "fast-check";
import type { Clause } from "../spec/clauses/clause";
import type { Scenario } from "../spec/scenario/types";
import type { Trace } from "../spec/scenario/trace";
import { runClause } from "../harness/running/runner";
import { makeReference } from "../implementations/reference";
import { tsTarget, Target } from "../harness/targets/target";
import { runScenario } from "../harness/engine/interpreter";

/** main logs "a", then "b", then n more labels: the clause's premise is that main logs at least two. */
function program(n: number): Scenario {
  const body = ["a", "b", ...Array.from({ length: n }, (_, i) => `c${i}`)].map((label) => ({ op: "log", label }));
  return { aiospec: 1, coroutines: [{ name: "main", body }] } as Scenario;
}

/** A check that does not test its premise: "at least two log events". */
const twoLogs: Clause = {
  id: "minimise.two_logs",
  statement: "a test clause: main's two logs are both recorded",
  source: { url: "https://docs.python.org/3/library/asyncio.html", section: "test" },
  versions: ["3.11", "3.12", "3.13", "3.14"],
  level: "exact",
  needs: ["log"],
  brokenBy: [],
  scenarios: () => fc.nat(3).map(program),
  check: ({ trace }) => (trace.events.filter((e) => e.ev === "log").length >= 2 ? true : "fewer than two log events"),
};

/** The reference at 3.12, but every trace loses its last log event. */
function losesALog(): Target {
  const impl = makeReference("3.12");
  const base = tsTarget(impl, "3.12", "the reference, losing a log");
  return {
    ...base,
    id: "loses-a-log",
    run: async (s) => {
      const trace = runScenario(impl, s);
      const last = trace.events.map((e) => e.ev).lastIndexOf("log");
      return { ...trace, events: trace.events.filter((_, i) => i !== last) } as Trace;
    },
  };
}

describe("the minimisation pass", () => {
  it("keeps the clause's premise: it removes no step the reference needs to pass", async () => {
    const r = await runClause(twoLogs, losesALog(), { runs: 20, seed: 1 });
    expect(r.status).toBe("fail");
    const body = r.counterexample!.scenario.coroutines[0].body as Array<{ op: string; label?: string }>;
    // Shrunk and minimised down to the two logs the premise needs: with one log
    // (or none) the reference fails the check as well.
    expect(body.filter((s) => s.op === "log")).toHaveLength(2);
    expect(r.counterexample!.message).toBe("fewer than two log events");
  });
});
