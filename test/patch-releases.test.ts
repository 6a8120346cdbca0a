/**
 * Behaviour that changed in a patch release: a clause holds an
 * implementation to the CPython release it reports (Target.fullVersion, from
 * a driver's hello), and one that claims only a minor version (the
 * reference, a TypeScript module) to the release the reference models for
 * it. The case that made it necessary: set_exception(StopIteration()) raises
 * TypeError on 3.12.1 and stores a RuntimeError on 3.12.7 (gh-112182,
 * backported to 3.12.6); the clause used to ask only "3.12 or 3.13?" and
 * failed on Pyodide 0.27's CPython 3.12.7.
 */
import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { CLAUSES } from "../spec/clauses";
import { releaseOf } from "../spec/clauses/clause";
import { SET_EXCEPTION_WRAPS_STOP_ITERATION, TASKGROUP_DONE_CHILD_FAST_PATH_REMOVED, hasChange, releaseIn } from "../spec/scenario/versions";
import { MODELLED_RELEASES } from "../implementations/reference/releases";
import { makeReference } from "../implementations/reference";
import { profileFor } from "../implementations/reference/profile";
import { runClause } from "../harness/running/runner";
import { Target, findCPython, resolveTarget, tsTarget } from "../harness/targets";

const clause = CLAUSES.find((c) => c.id === "fut.set_exception.stop_iteration")!;
const eagerDoneChild = CLAUSES.find((c) => c.id === "taskgroup.eager_done_child")!;
const RUNS = 40;

/** A target that says it is `fullVersion` (or says nothing), whatever it runs. */
function claiming(t: Target, fullVersion: string | undefined): Target {
  const { fullVersion: _ignored, ...rest } = t;
  return fullVersion === undefined ? rest : { ...rest, fullVersion };
}

/** A TypeScript target that claims Python 3.12 but behaves as the reference's `behaves` profile. */
function claims312(behaves: "3.12" | "3.13"): Target {
  return tsTarget(makeReference(behaves), "3.12", `reference ${behaves} behaviour claiming 3.12`);
}

describe("releases named in a full version", () => {
  it("finds the release of the claimed version, in a hello's python or a Pyodide description", () => {
    expect(releaseIn("3.12", "3.12.7")).toBe("3.12.7");
    expect(releaseIn("3.12", "Pyodide 0.27.8 / 3.12.7")).toBe("3.12.7");
    expect(releaseIn("3.12", "3.12.10")).toBe("3.12.10");
    expect(releaseIn("3.12", "3.13.0")).toBeUndefined(); // another minor version's release
    expect(releaseIn("3.12", "Pyodide 0.27.8")).toBeUndefined();
    expect(releaseIn("3.12", undefined)).toBeUndefined();
  });

  it("holds an implementation that names no release to the one the reference models, else to 3.X.0", () => {
    expect(releaseOf({ version: "3.12", fullVersion: "3.12.7" })).toBe("3.12.7");
    expect(releaseOf({ version: "3.12" })).toBe("3.12.1");
    expect(releaseOf({ version: "3.12", fullVersion: "Pyodide 0.27.8" })).toBe("3.12.1");
    expect(releaseOf({ version: "3.13" })).toBe("3.13.0");
    expect(releaseOf({ version: "3.10" })).toBe("3.10.0");
  });

  it("every reference profile says the release it models", () => {
    for (const v of ["3.11", "3.12", "3.13", "3.14"] as const) {
      expect(profileFor(v).release).toBe(MODELLED_RELEASES[v]);
      expect(releaseIn(v, profileFor(v).release)).toBe(profileFor(v).release);
    }
  });
});

describe("a change and its backports (hasChange)", () => {
  it("set_exception(StopIteration()): 3.12.6 on and 3.13.0 on, never 3.11 or older", () => {
    const has = (r: string) => hasChange(r, SET_EXCEPTION_WRAPS_STOP_ITERATION);
    expect(["3.12.1", "3.12.5", "3.11.7", "3.11.9", "3.11.2", "3.10.13", "3.8.0"].filter(has)).toEqual([]);
    expect(["3.12.6", "3.12.7", "3.12.10", "3.13.0", "3.13.2", "3.14.0", "3.14.2"].every(has)).toBe(true);
  });

  it("the reference's profiles follow it through their releases", () => {
    expect(profileFor("3.11").setExceptionWrapsStopIteration).toBe(false);
    expect(profileFor("3.12").setExceptionWrapsStopIteration).toBe(false); // 3.12.1
    expect(profileFor("3.13").setExceptionWrapsStopIteration).toBe(true);
    expect(profileFor("3.14").setExceptionWrapsStopIteration).toBe(true);
  });

  it("TaskGroup's fast path for a done child: removed in 3.12.9, 3.13.2 and 3.14.0", () => {
    const removed = (r: string) => hasChange(r, TASKGROUP_DONE_CHILD_FAST_PATH_REMOVED);
    expect(["3.12.1", "3.12.8", "3.13.0", "3.13.1", "3.11.7"].filter(removed)).toEqual([]);
    expect(["3.12.9", "3.12.10", "3.13.2", "3.13.5", "3.14.0", "3.14.2"].every(removed)).toBe(true);
    expect(["3.11", "3.12", "3.13", "3.14"].map((v) => profileFor(v as "3.11").taskGroupDoneTaskFastPath)).toEqual([false, true, true, false]);
  });

  it("refuses what is not a release", () => {
    expect(() => hasChange("3.12", SET_EXCEPTION_WRAPS_STOP_ITERATION)).toThrow(/not a CPython release/);
    expect(() => hasChange("3.12.7", ["3.12"])).toThrow(/not a CPython release/);
  });
});

describe("fut.set_exception.stop_iteration at each 3.12 release", () => {
  it("3.12.1's behaviour (TypeError) passes as 3.12.1 and as a bare 3.12, fails as 3.12.7", async () => {
    const old = claims312("3.12");
    expect((await runClause(clause, old, { runs: RUNS, seed: 3 })).status).toBe("pass");
    expect((await runClause(clause, claiming(old, "3.12.1"), { runs: RUNS, seed: 3 })).status).toBe("pass");
    const r = await runClause(clause, claiming(old, "3.12.7"), { runs: RUNS, seed: 3 });
    expect(r.status).toBe("fail");
    expect(r.counterexample?.message).toMatch(/on 3\.12\.7 \(from 3\.12\.6 and 3\.13\.0\) it stores a RuntimeError/);
  });

  it("the wrapping (3.13.0's behaviour) passes as 3.12.7, fails as 3.12.1 and as a bare 3.12 (the modelled 3.12.1)", async () => {
    const wraps = claims312("3.13");
    expect((await runClause(clause, claiming(wraps, "3.12.7"), { runs: RUNS, seed: 3 })).status).toBe("pass");
    expect((await runClause(clause, claiming(wraps, "Pyodide 0.27.8 / 3.12.6"), { runs: RUNS, seed: 3 })).status).toBe("pass");
    for (const claim of ["3.12.1", "3.12.5", undefined]) {
      const r = await runClause(clause, claiming(wraps, claim), { runs: RUNS, seed: 3 });
      expect(r.status, `claiming ${claim ?? "3.12 only"}`).toBe("fail");
      expect(r.counterexample?.message).toMatch(/on 3\.12\.[15] expected TypeError/);
    }
  });
});

describe("taskgroup.eager_done_child at each 3.13 release", () => {
  const claims313 = (behaves: "3.13" | "3.14") => tsTarget(makeReference(behaves), "3.13", `reference ${behaves} behaviour claiming 3.13`);

  it("3.13.0's fast path (create_task refused) passes as 3.13.0, 3.13.1 and bare 3.13, fails as 3.13.2", async () => {
    const old = claims313("3.13");
    for (const claim of [undefined, "3.13.0", "3.13.1"]) {
      expect((await runClause(eagerDoneChild, claiming(old, claim), { runs: RUNS, seed: 3 })).status, `claiming ${claim}`).toBe("pass");
    }
    const r = await runClause(eagerDoneChild, claiming(old, "3.13.2"), { runs: RUNS, seed: 3 });
    expect(r.status).toBe("fail");
    expect(r.counterexample?.message).toMatch(/on 3\.13\.2 the create_task right after the eagerly failed child was refused/);
  });

  it("without it (3.14's behaviour) passes as 3.13.2, fails as 3.13.0 and as a bare 3.13 (the modelled 3.13.0)", async () => {
    const fixed = claims313("3.14");
    expect((await runClause(eagerDoneChild, claiming(fixed, "Pyodide 0.29.5 / 3.13.2"), { runs: RUNS, seed: 3 })).status).toBe("pass");
    for (const claim of [undefined, "3.13.0"]) {
      const r = await runClause(eagerDoneChild, claiming(fixed, claim), { runs: RUNS, seed: 3 });
      expect(r.status, `claiming ${claim}`).toBe("fail");
      expect(r.counterexample?.message).toMatch(/on 3\.13\.0 the create_task right after the eagerly failed child was accepted/);
    }
  });
});

// The same on real interpreters, where this machine has them: CPython 3.12.1
// (pyenv) and Pyodide 0.27's CPython 3.12.7.
const cpython312 = findCPython("3.12").path ? resolveTarget("cpython-3.12") : null;
const peers = (line: string) => fs.existsSync(path.resolve(__dirname, "..", ".peers", "node_modules", `pyodide-${line}`, "pyodide.js"));
const pyodide012 = peers("0.27") ? resolveTarget("pyodide-3.12") : null;
const pyodide029 = peers("0.29") ? resolveTarget("pyodide-3.13") : null;
afterAll(async () => {
  for (const t of [cpython312, pyodide012, pyodide029]) if (t) await (await t).close();
});

describe.skipIf(cpython312 === null)(`CPython 3.12.1's driver${cpython312 === null ? " — skipped: no CPython 3.12 here (pyenv install 3.12.1)" : ""}`, () => {
  it("reports 3.12.1 and passes; claiming 3.12.7 it fails", async () => {
    const t = await cpython312!;
    expect(t.fullVersion).toBe("3.12.1");
    expect((await runClause(clause, t, { runs: RUNS, seed: 5 })).status).toBe("pass");
    expect((await runClause(clause, claiming(t, "3.12.7"), { runs: RUNS, seed: 5 })).status).toBe("fail");
  });
});

describe.skipIf(pyodide012 === null)(`Pyodide 0.27's CPython 3.12.7${pyodide012 === null ? " — skipped: Pyodide 0.27 is not installed (npm run peers)" : ""}`, () => {
  it("reports 3.12.7 and passes; claiming 3.12.1 it fails", async () => {
    const t = await pyodide012!;
    expect(t.fullVersion).toMatch(/3\.12\.7/);
    expect((await runClause(clause, t, { runs: RUNS, seed: 5 })).status).toBe("pass");
    expect((await runClause(clause, claiming(t, "3.12.1"), { runs: RUNS, seed: 5 })).status).toBe("fail");
  }, 120_000);
});

describe.skipIf(pyodide029 === null)(`Pyodide 0.29's CPython 3.13.2${pyodide029 === null ? " — skipped: Pyodide 0.29 is not installed (npm run peers)" : ""}`, () => {
  it("passes taskgroup.eager_done_child as 3.13.2 and fails it claiming 3.13.0", async () => {
    const t = await pyodide029!;
    expect(t.fullVersion).toMatch(/3\.13\.2/);
    expect((await runClause(eagerDoneChild, t, { runs: RUNS, seed: 5 })).status).toBe("pass");
    expect((await runClause(eagerDoneChild, claiming(t, "3.13.0"), { runs: RUNS, seed: 5 })).status).toBe("fail");
  }, 120_000);
});
