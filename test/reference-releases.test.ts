/**
 * A reference per CPython patch release: reference@3.X.Y is the 3.X profile
 * with the patch-release changes aiospec knows (spec/scenario/versions.ts
 * Backport) as that release has them, and the clauses that compare an
 * implementation with the reference compare it with the reference at the
 * release the implementation reports (harness/running/runner.ts
 * targetRelease). The two changes that made it necessary:
 *   - gh-124958 (3.12.8, 3.13.1, 3.14.0): TaskGroup.__aexit__ forgets its
 *     parent task, so in gc mode a group still referenced no longer keeps its
 *     finished parent alive (Pyodide 0.29's CPython 3.13.2 failed
 *     differential.trace against the reference's 3.13.0);
 *   - gh-102780 (3.11.3, 3.12.0): timeout()'s TimeoutError is raised from the
 *     CancelledError, and the block counts cancel requests from its entry
 *     (Debian's CPython 3.11.2 has neither).
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CLAUSES } from "../spec/clauses";
import { TASKGROUP_EXIT_FORGETS_PARENT, TIMEOUT_COUNTS_FROM_ENTRY_AND_CHAINS, hasChange } from "../spec/scenario/versions";
import type { Scenario } from "../spec/scenario/types";
import type { Trace } from "../spec/scenario/trace";
import { canonicalJson } from "../spec/scenario/trace";
import { makeReference } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import { profileFor } from "../implementations/reference/profile";
import { patchLevelNote } from "../implementations/reference/releases";
import { runScenario } from "../harness/engine/interpreter";
import { expectedTrace } from "../harness/running/memo";
import { referenceName, runClause, targetRelease } from "../harness/running/runner";
import { Target, UsageError, resolvePair, resolveTarget, tsTarget } from "../harness/targets";
import { releaseNote } from "../harness/cli/commands";
import { GROUP_HELD_AFTER_ITS_BLOCK } from "./helpers/gc-scenarios";
import { driverTrace } from "./helpers/driver";

const ROOT = path.resolve(__dirname, "..");
const BIN = path.join(ROOT, "bin", "aiospec.js");
const clauseById = (id: string) => CLAUSES.find((c) => c.id === id)!;
const differential = clauseById("differential.trace");
const expires = clauseById("timeout.expires");
const RUNS = 40;

/** Debian's CPython 3.11.2, where there is one (python3.11 at that release), else "". */
const DEBIAN_3_11_2 = ["/usr/bin/python3.11", "python3.11"].find(
  (p) => spawnSync(p, ["-c", "import platform; print(platform.python_version())"], { encoding: "utf8" }).stdout?.trim() === "3.11.2",
) ?? "";

/** Shrunk from `diff reference cpython-3.11.2 --size large --seed 701`. */
const EXPIRED_IN_FINALLY = JSON.parse(String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"try","body":[{"op":"timeout","delay":1,"body":[{"op":"await","on":{"gather":[{"coro":"c2"}]}}]}],"finally":[{"op":"timeout","delay":1,"body":[{"op":"as_completed","on":[{"coro":"c3"},{"coro":"c3"}]}]}]}]},{"name":"c1","body":[]},{"name":"c2","body":[{"op":"sleep","ticks":3}]},{"name":"c3","body":[{"op":"create_future","future":"f0"},{"op":"call_later","delay":0,"callback":"cb0"},{"op":"await","on":{"shield":{"task":"f0"}}}]}],"callbacks":[{"name":"cb0","body":[{"op":"set_result","future":"f0"}]}]}`) as Scenario;

const at = (version: PythonVersion, release: string | undefined, s: Scenario): Trace =>
  runScenario(makeReference(version, release === undefined ? {} : { release }), s);
const weakrefs = (t: Trace) => t.events.filter((e) => e.ev === "weakref").map((e) => (e as { alive: boolean }).alive);
const caught = (t: Trace) => t.events.filter((e) => e.ev === "caught").map((e) => canonicalJson((e as { exc: unknown }).exc));


/** An expired timeout block, its TimeoutError caught. */
const TIMEOUT_EXPIRES: Scenario = {
  aiospec: 1,
  coroutines: [
    {
      name: "main",
      body: [
        { op: "try", body: [{ op: "timeout", cm: "t", delay: 1, body: [{ op: "sleep", ticks: 5 }] }], except: [{ type: "BaseException", body: [] }] },
        { op: "log", label: "after" },
      ],
    },
  ],
} as Scenario;

/**
 * A task cancelled while it sleeps catches the CancelledError (no uncancel()),
 * then enters a timeout block that expires: 3.11.7 (counting from the block's
 * entry) converts the deadline's CancelledError into TimeoutError; 3.11.2
 * (counting from 0) lets it through. Checked on CPython 3.11.2 (/usr/bin/python3)
 * and 3.11.7 with the same program in Python.
 */
const TIMEOUT_AFTER_CAUGHT_CANCEL: Scenario = {
  aiospec: 1,
  coroutines: [
    {
      name: "main",
      body: [
        { op: "create_task", coro: "child", task: "t" },
        { op: "sleep", ticks: 0 },
        { op: "cancel", task: "t" },
        { op: "try", body: [{ op: "await", on: { task: "t" } }], except: [{ type: "BaseException", body: [] }] },
        { op: "log", label: "end" },
      ],
    },
    {
      name: "child",
      body: [
        { op: "try", body: [{ op: "sleep", ticks: 10 }], except: [{ type: "CancelledError", body: [{ op: "log", label: "caught cancel" }] }] },
        {
          op: "try",
          body: [{ op: "timeout", cm: "t2", delay: 1, body: [{ op: "sleep", ticks: 10 }] }],
          except: [{ type: "BaseException", body: [{ op: "log", label: "block raised" }] }],
        },
      ],
    },
  ],
} as Scenario;

/** A TypeScript target behaving as the reference at `behaves`, claiming `fullVersion` (or nothing). */
function claiming(version: PythonVersion, behaves: string | undefined, fullVersion: string | undefined): Target {
  const t = tsTarget(makeReference(version, behaves === undefined ? {} : { release: behaves }), version, `reference ${behaves ?? version} claiming ${fullVersion ?? version}`);
  return fullVersion === undefined ? t : { ...t, fullVersion };
}

describe("the changes and the profiles that follow them", () => {
  it("gh-124958: TaskGroup forgets its parent in 3.12.8, 3.13.1 and 3.14.0 on", () => {
    const has = (r: string) => hasChange(r, TASKGROUP_EXIT_FORGETS_PARENT);
    expect(["3.11.7", "3.12.1", "3.12.7", "3.13.0"].filter(has)).toEqual([]);
    expect(["3.12.8", "3.12.10", "3.13.1", "3.13.2", "3.14.0", "3.14.2"].every(has)).toBe(true);
    const flag = (v: PythonVersion, r?: string) => profileFor(v, false, r).taskGroupExitForgetsParent;
    expect([flag("3.11"), flag("3.12"), flag("3.13"), flag("3.14")]).toEqual([false, false, false, true]);
    expect([flag("3.13", "3.13.0"), flag("3.13", "3.13.1"), flag("3.13", "3.13.2"), flag("3.12", "3.12.8")]).toEqual([false, true, true, true]);
  });

  it("gh-102780: timeout() chains and counts from its entry in 3.11.3 and every 3.12 on", () => {
    const has = (r: string) => hasChange(r, TIMEOUT_COUNTS_FROM_ENTRY_AND_CHAINS);
    expect(["3.11.0", "3.11.2"].filter(has)).toEqual([]);
    expect(["3.11.3", "3.11.7", "3.12.0", "3.13.0", "3.14.2"].every(has)).toBe(true);
    for (const flag of ["timeoutChainsCancelledError", "timeoutCountsFromEntry"] as const) {
      expect([profileFor("3.11")[flag], profileFor("3.11", false, "3.11.2")[flag], profileFor("3.12")[flag]], flag).toEqual([true, false, true]);
    }
  });

  it("a profile is made at a release of its own version only", () => {
    expect(profileFor("3.13", false, "3.13.2").release).toBe("3.13.2");
    expect(profileFor("3.13").release).toBe("3.13.0");
    expect(() => profileFor("3.13", false, "3.12.9")).toThrow(/not a CPython 3\.13 release/);
    expect(() => profileFor("3.13", false, "3.13")).toThrow(/not a CPython 3\.13 release/);
    expect(makeReference("3.13", { release: "3.13.2" }).id).toBe("reference@3.13.2");
    expect(makeReference("3.13", { release: "3.13.2", pyTask: true }).id).toBe("reference@3.13.2+pytask");
  });
});

describe("the reference at a release behaves as that release", () => {
  it("gc mode, gh-124958: a group still held keeps its finished parent alive at 3.13.0, not at 3.13.1 / 3.13.2", () => {
    // CPython 3.13.0: the task <- the TaskGroup's _parent_task <- the handle g; Pyodide 0.29 (3.13.2):
    // g._parent_task is None after the block (docs/findings.md, "Patch releases inside 3.12 and 3.13").
    expect(weakrefs(at("3.13", undefined, GROUP_HELD_AFTER_ITS_BLOCK))).toEqual([true]);
    expect(weakrefs(at("3.13", "3.13.0", GROUP_HELD_AFTER_ITS_BLOCK))).toEqual([true]);
    expect(weakrefs(at("3.13", "3.13.1", GROUP_HELD_AFTER_ITS_BLOCK))).toEqual([false]);
    expect(weakrefs(at("3.13", "3.13.2", GROUP_HELD_AFTER_ITS_BLOCK))).toEqual([false]);
    expect(weakrefs(at("3.12", "3.12.7", GROUP_HELD_AFTER_ITS_BLOCK))).toEqual([true]);
    expect(weakrefs(at("3.12", "3.12.8", GROUP_HELD_AFTER_ITS_BLOCK))).toEqual([false]);
  });

  it("gh-102780: 3.11.2's TimeoutError has no cause, 3.11.7's is caused by the CancelledError", () => {
    expect(caught(at("3.11", "3.11.2", TIMEOUT_EXPIRES))).toEqual(['{"args":[],"type":"TimeoutError"}']);
    expect(caught(at("3.11", undefined, TIMEOUT_EXPIRES))).toEqual(['{"args":[],"cause":{"args":[],"type":"CancelledError"},"type":"TimeoutError"}']);
    expect(caught(at("3.11", "3.11.7", TIMEOUT_EXPIRES))).toEqual(caught(at("3.11", undefined, TIMEOUT_EXPIRES)));
  });

  it("gh-102780: inside a task that caught a cancellation, 3.11.2's expired block lets the CancelledError through", () => {
    const blockRaised = (t: Trace) => {
      const i = t.events.findIndex((e) => e.ev === "log" && (e as { label: string }).label === "block raised");
      const c = t.events.slice(0, i).filter((e) => e.ev === "caught");
      return (c[c.length - 1] as { exc: { type: string } } | undefined)?.exc.type;
    };
    expect(blockRaised(at("3.11", undefined, TIMEOUT_AFTER_CAUGHT_CANCEL))).toBe("TimeoutError");
    expect(blockRaised(at("3.11", "3.11.2", TIMEOUT_AFTER_CAUGHT_CANCEL))).toBe("CancelledError");
  });

  // main's first timeout expires inside a try; its finally's second timeout
  // expires too, over an as_completed whose tasks wait on futures nobody
  // completes. The second TimeoutError is raised in Timeout.__aexit__, whose
  // frame holds exc_val, the CancelledError it replaces: without a cause
  // (3.11.2) that frame, in the TimeoutError's traceback, still keeps the
  // CancelledError, and through its traceback the pending task (Task-3).
  // The reference kept only `self` there: 3.11.7's cause hid it.
  it("gc mode: 3.11.2's TimeoutError keeps, without a cause, the CancelledError it replaces (diff reference cpython-3.11.2 --size large --seed 701)", () => {
    for (const release of ["3.11.2", undefined]) expect(at("3.11", release, EXPIRED_IN_FINALLY).tasks.find((x) => x.name === "Task-3")?.state, release).toBe("pending");
  });

  it.skipIf(DEBIAN_3_11_2 === "")(`gc mode: Debian's CPython 3.11.2 (the driver) gives the reference@3.11.2 trace of that scenario${DEBIAN_3_11_2 === "" ? " — skipped: no CPython 3.11.2 here (Debian's /usr/bin/python3.11)" : ""}`, () => {
    expect(canonicalJson(driverTrace(DEBIAN_3_11_2, EXPIRED_IN_FINALLY))).toBe(canonicalJson(at("3.11", "3.11.2", EXPIRED_IN_FINALLY)));
  }, 60_000);

  it("the expected traces are memoised per release", () => {
    const t0 = expectedTrace("3.13", false, GROUP_HELD_AFTER_ITS_BLOCK);
    const t2 = expectedTrace("3.13", false, GROUP_HELD_AFTER_ITS_BLOCK, "3.13.2");
    expect(weakrefs(t0)).toEqual([true]);
    expect(weakrefs(t2)).toEqual([false]);
    // The release modelled anyway is the plain profile.
    expect(expectedTrace("3.13", false, GROUP_HELD_AFTER_ITS_BLOCK, "3.13.0")).toBe(t0);
    expect(expectedTrace("3.13", false, GROUP_HELD_AFTER_ITS_BLOCK, "3.13.2")).toBe(t2);
  });
});

describe("implementation ids", () => {
  it("reference@3.X.Y is the reference at that release, claiming it", async () => {
    const t = await resolveTarget("reference@3.13.2");
    expect([t.id, t.version, t.fullVersion]).toEqual(["reference@3.13.2", "3.13", "3.13.2"]);
    expect(weakrefs(await t.run(GROUP_HELD_AFTER_ITS_BLOCK))).toEqual([false]);
    const py = await resolveTarget("reference@3.11.2+pytask");
    expect([py.id, py.version, py.fullVersion, py.task]).toEqual(["reference@3.11.2+pytask", "3.11", "3.11.2", "py"]);
    expect(caught(await py.run(TIMEOUT_EXPIRES))).toEqual(['{"args":[],"type":"TimeoutError"}']);
    const plain = await resolveTarget("reference@3.13");
    expect(plain.fullVersion).toBeUndefined();
  });

  it("an isolated reference@3.X.Y runs the release in its worker", async () => {
    const t = await resolveTarget("reference@3.13.2", undefined, { isolate: true });
    try {
      expect([t.id, t.fullVersion]).toEqual(["reference@3.13.2", "3.13.2"]);
      expect(weakrefs(await t.run(GROUP_HELD_AFTER_ITS_BLOCK))).toEqual([false]);
    } finally {
      await t.close();
    }
  }, 60_000);

  it("refuses a malformed release and a version the reference does not model", async () => {
    for (const id of ["reference@3.13.", "reference@3.13.x", "reference@3.13.02", "reference@3.13.2.1", "reference@3", "reference@4.0.1"]) {
      await expect(resolveTarget(id), id).rejects.toThrow(UsageError);
      await expect(resolveTarget(id), id).rejects.toThrow(/versions are @3\.11, @3\.12, @3\.13, @3\.14, or a release of one of them \(@3\.13\.2\)/);
    }
    await expect(resolveTarget("reference@3.10.4")).rejects.toThrow(/"reference@3\.10\.4": the reference models Python 3\.11, 3\.12, 3\.13, 3\.14/);
  });

  it("the CLI exits 2 with one line for them", () => {
    for (const id of ["reference@3.10.4", "reference@3.13.x"]) {
      const r = spawnSync(process.execPath, [BIN, "run", "--impl", id, "--clause", "timeout.expires", "--runs", "5"], { encoding: "utf8", cwd: ROOT, env: { ...process.env, CI: "1" } });
      expect(r.status, id).toBe(2);
      expect(r.stderr.trim().split("\n"), id).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`unknown implementation "${id.replace(/\./g, "\\.")}"`));
    }
  }, 120_000);

  it("plain reference follows the other side's release as well as its version", async () => {
    const other = claiming("3.11", "3.11.2", "3.11.2");
    // resolvePair resolves ids; a tsTarget has none, so follow what resolvePair does with a resolved side.
    const t = await resolveTarget("reference", other.version, {}, other.fullVersion);
    expect([t.id, t.fullVersion]).toEqual(["reference@3.11.2", "3.11.2"]);
    const same = await resolveTarget("reference", "3.11", {}, "3.11.7");
    expect([same.id, same.fullVersion]).toEqual(["reference@3.11", undefined]);
    const [a, b] = await resolvePair("reference", "reference@3.13.2");
    expect([a.id, b.id]).toEqual(["reference@3.13.2", "reference@3.13.2"]);
  });
});

describe("clauses compare a target with the reference at the target's release", () => {
  it("targetRelease: the release reported, when it is not the one modelled", () => {
    expect(targetRelease({ version: "3.13", fullVersion: "Pyodide 0.29.3 / 3.13.2" })).toBe("3.13.2");
    expect(targetRelease({ version: "3.13", fullVersion: "3.13.0" })).toBeUndefined();
    expect(targetRelease({ version: "3.13" })).toBeUndefined();
    expect(referenceName("3.13", false, "3.13.2")).toBe("the reference's 3.13 profile at 3.13.2");
  });

  it("differential.trace: 3.13.2's behaviour passes claiming 3.13.2, and 3.13.0's fails there on gh-124958", async () => {
    // differential.trace compares whole traces with the expected ones; its generator rarely builds the
    // held-group case, so the clause is run on a target whose runs are that case.
    const only = (t: Target): Target => ({ ...t, run: () => t.run(GROUP_HELD_AFTER_ITS_BLOCK) });
    const ctx = (t: Target) => ({ scenario: GROUP_HELD_AFTER_ITS_BLOCK, version: t.version, fullVersion: t.fullVersion, expected: () => expectedTrace(t.version, false, GROUP_HELD_AFTER_ITS_BLOCK, targetRelease(t)) });
    const new13 = only(claiming("3.13", "3.13.2", "3.13.2"));
    const old13 = only(claiming("3.13", undefined, "3.13.2"));
    expect(differential.check({ ...ctx(new13), trace: await new13.run(GROUP_HELD_AFTER_ITS_BLOCK) })).toBe(true);
    expect(differential.check({ ...ctx(old13), trace: await old13.run(GROUP_HELD_AFTER_ITS_BLOCK) })).not.toBe(true);
    // Claiming 3.13.0, the other way round.
    const new13as0 = only(claiming("3.13", "3.13.2", "3.13.0"));
    expect(differential.check({ ...ctx(new13as0), trace: await new13as0.run(GROUP_HELD_AFTER_ITS_BLOCK) })).not.toBe(true);
  });

  it("timeout.expires holds 3.11.2 to its own behaviour (no cause) and 3.11.7 to its own", async () => {
    expect((await runClause(expires, claiming("3.11", "3.11.2", "3.11.2"), { runs: RUNS, seed: 3 })).status).toBe("pass");
    expect((await runClause(expires, claiming("3.11", undefined, undefined), { runs: RUNS, seed: 3 })).status).toBe("pass");
    const r = await runClause(expires, claiming("3.11", "3.11.2", "3.11.7"), { runs: RUNS, seed: 3 });
    expect(r.status).toBe("fail");
    expect(r.counterexample?.message).toMatch(/is caused by nothing, not by the CancelledError/);
    const s = await runClause(expires, claiming("3.11", undefined, "3.11.2"), { runs: RUNS, seed: 3 });
    expect(s.status).toBe("fail");
    expect(s.counterexample?.message).toMatch(/on 3\.11\.2 \(before gh-102780, 3\.11\.3\) it has no cause/);
  });

  it("a failure's expected trace names the release the reference ran at", async () => {
    const r = await runClause(differential, { ...claiming("3.11", undefined, "3.11.2"), run: (s) => claiming("3.11", undefined, undefined).run(s) }, { runs: 200, seed: 1 });
    // 3.11.7's behaviour claiming 3.11.2: the first expired timeout block differs (its TimeoutError's cause).
    expect(r.status).toBe("fail");
    expect(r.counterexample?.expectedFrom).toBe("the reference's 3.11 profile at 3.11.2");
    expect(canonicalJson(r.counterexample?.expected)).toBe(canonicalJson(expectedTrace("3.11", false, r.counterexample!.scenario, "3.11.2")));
  });

  it("the patch-level note says the release the clauses and the reference were run at", () => {
    expect(patchLevelNote("3.13", "Pyodide 0.29.3 / 3.13.2")).toMatch(/^this implementation is Pyodide 0\.29\.3 \/ 3\.13\.2: the clauses and the reference were run at 3\.13\.2, which differs from 3\.13\.0/);
    const note = releaseNote(claiming("3.11", "3.11.2", "3.11.2"));
    expect(note).toMatch(/run at 3\.11\.2, which differs from 3\.11\.7 \(the release the reference's 3\.11 profile was checked against\)/);
  });
});

// The same on the real implementations, where this machine has them.
const peer = (line: string) => fs.existsSync(path.join(ROOT, ".peers", "node_modules", `pyodide-${line}`, "pyodide.js"));
const pyodide029 = peer("0.29") ? resolveTarget("pyodide-3.13") : null;
const debian3112 = fs.existsSync("/usr/bin/python3") ? resolveTarget("cpython-3.11.2").catch(() => null) : Promise.resolve(null);
afterAll(async () => {
  for (const t of [pyodide029, debian3112]) {
    const got = await t;
    if (got) await got.close();
  }
});

describe.skipIf(pyodide029 === null)(`Pyodide 0.29's CPython 3.13.2${pyodide029 === null ? " — skipped: Pyodide 0.29 is not installed (npm run peers)" : ""}`, () => {
  it("runs the held-group case as the reference at 3.13.2, not as at 3.13.0", async () => {
    const t = await pyodide029!;
    expect(t.fullVersion).toMatch(/3\.13\.2/);
    const trace = await t.run(GROUP_HELD_AFTER_ITS_BLOCK);
    expect(canonicalJson(trace)).toBe(canonicalJson(expectedTrace("3.13", false, GROUP_HELD_AFTER_ITS_BLOCK, "3.13.2")));
    expect(canonicalJson(trace)).not.toBe(canonicalJson(expectedTrace("3.13", false, GROUP_HELD_AFTER_ITS_BLOCK)));
  }, 120_000);

  it("passes differential.trace, compared with the reference at 3.13.2 (against 3.13.0's it failed on gh-124958)", async () => {
    const t = await pyodide029!;
    const r = await runClause(differential, t, { runs: 300, seed: 1 });
    expect(r.status, r.counterexample?.message).toBe("pass");
  }, 300_000);
});

describe("Debian's CPython 3.11.2", async () => {
  const t = await debian3112;
  it.skipIf(t === null)(`runs the timeout cases as the reference at 3.11.2${t === null ? " — skipped: no CPython 3.11.2 at /usr/bin/python3 (apt-get install python3)" : ""}`, async () => {
    expect(t!.fullVersion).toBe("3.11.2");
    for (const s of [TIMEOUT_EXPIRES, TIMEOUT_AFTER_CAUGHT_CANCEL]) {
      expect(canonicalJson(await t!.run(s))).toBe(canonicalJson(expectedTrace("3.11", false, s, "3.11.2")));
      expect(canonicalJson(await t!.run(s))).not.toBe(canonicalJson(expectedTrace("3.11", false, s)));
    }
    expect((await runClause(expires, t!, { runs: RUNS, seed: 5 })).status).toBe("pass");
  }, 120_000);
});
