/**
 * gh-103590 (3.11.4, 3.12.0): a try / except* whose handlers raise one new
 * exception and re-raise nothing else raises it as it is; before, it came
 * out wrapped in ExceptionGroup("", [it]). The interpreter runs the
 * scenario's Python statements itself, so it follows the release the
 * implementation claims (AsyncioImplementation.pythonRelease: the reference
 * at a release sets it). Found by `aiospec diff reference cpython-3.11.2`
 * (Debian's CPython 3.11.2): seeds 1 and 2, and --size medium 1 and 2, each
 * a TaskGroup's ExceptionGroup caught by `except* Exception` and a new
 * exception raised in the handler.
 */
import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import type { Scenario } from "../spec/scenario/types";
import type { Trace } from "../spec/scenario/trace";
import { canonicalJson } from "../spec/scenario/trace";
import { EXCEPT_STAR_RAISES_NAKED_EXCEPTION, hasChange } from "../spec/scenario/versions";
import { makeReference } from "../implementations/reference";
import { runScenario } from "../harness/engine/interpreter";
import { contractViolation } from "../harness/engine/contract";
import { resolveTarget, tsTarget } from "../harness/targets";
import { runClause } from "../harness/running/runner";
import { CLAUSES } from "../spec/clauses";
import * as path from "node:path";

/** main: try { c1() } except* Exception { raise E }; c1: a TaskGroup whose body raises ValueError. */
function groupThenRaise(raised: "ValueError" | "KeyError", rest: boolean): Scenario {
  return {
    aiospec: 1,
    coroutines: [
      {
        name: "main",
        body: [
          {
            op: "try",
            star: true,
            body: [{ op: "call", coro: "c1" }],
            // `rest`: a second clause matches nothing, and a part of the group goes unmatched.
            except: [{ type: rest ? "ValueError" : "Exception", body: [{ op: "raise", exc: { type: raised } }] }],
          },
        ],
      },
      {
        name: "c1",
        body: [
          {
            op: "taskgroup",
            group: "g0",
            body: rest
              ? [{ op: "create_task", coro: "c2", task: "t", group: "g0" }, { op: "sleep", ticks: 0 }, { op: "raise", exc: { type: "ValueError" } }]
              : [{ op: "raise", exc: { type: "ValueError" } }],
          },
        ],
      },
      { name: "c2", body: [{ op: "raise", exc: { type: "RuntimeError" } }] },
    ],
  };
}

/** What main's task ended with. */
const mainExc = (t: Trace): string => canonicalJson((t.main as { exc?: unknown }).exc ?? null);
const atRelease = (release: string | undefined, s: Scenario): Trace =>
  runScenario(makeReference("3.11", release === undefined ? {} : { release }), s);

describe("gh-103590: one exception raised from except* (3.11.4+ raise it as it is)", () => {
  it("the Backport names 3.11.4 and 3.12.0", () => {
    const has = (r: string) => hasChange(r, EXCEPT_STAR_RAISES_NAKED_EXCEPTION);
    expect(["3.11.0", "3.11.2", "3.11.3", "3.11.4", "3.11.7", "3.12.0", "3.13.0"].map(has)).toEqual([false, false, false, true, true, true, true]);
  });

  it("3.11.2 wraps the one new exception in ExceptionGroup('', [...]); 3.11.7 (and the reference with no release) raises it bare", () => {
    const s = groupThenRaise("ValueError", false);
    expect(mainExc(atRelease("3.11.2", s))).toBe('{"args":[""],"exceptions":[{"args":[],"type":"ValueError"}],"type":"ExceptionGroup"}');
    expect(mainExc(atRelease("3.11.7", s))).toBe('{"args":[],"type":"ValueError"}');
    expect(mainExc(atRelease(undefined, s))).toBe('{"args":[],"type":"ValueError"}');
  });

  it("with a part of the group left over, both releases raise a group of the new exception and the rest", () => {
    const s = groupThenRaise("KeyError", true);
    expect(mainExc(atRelease("3.11.2", s))).toBe(mainExc(atRelease("3.11.7", s)));
    expect(mainExc(atRelease("3.11.7", s))).toMatch(/^\{"args":\[""\],"exceptions":\[\{"args":\[\],"type":"KeyError"\},\{"args":\["unhandled errors in a TaskGroup"\]/);
  });
});

describe("AsyncioImplementation.pythonRelease", () => {
  const ref = makeReference("3.11");
  it("is refused unless it is a release of pythonVersion", () => {
    expect(contractViolation({ ...ref, pythonRelease: "3.11.2" }, "impl")).toBeNull();
    expect(contractViolation({ ...ref, pythonRelease: "3.12.1" }, "impl")).toBe('impl claims pythonRelease "3.12.1": expected a release of Python 3.11, such as "3.11.0", or no pythonRelease');
    expect(contractViolation({ ...ref, pythonRelease: "3.11" }, "impl")).toMatch(/claims pythonRelease "3\.11"/);
    expect(contractViolation({ ...ref, pythonRelease: 3.11 }, "impl")).toMatch(/claims pythonRelease 3\.11:/);
  });

  it("is the reference's release at a release, and a target's full version", () => {
    expect(makeReference("3.11", { release: "3.11.2" }).pythonRelease).toBe("3.11.2");
    expect(ref.pythonRelease).toBeUndefined();
    expect(tsTarget({ ...ref, pythonRelease: "3.11.2" }, "3.11", "x").fullVersion).toBe("3.11.2");
    expect(tsTarget(ref, "3.11", "x").fullVersion).toBeUndefined();
  });

  it("of a module (run in a child process) is its target's full version, so the clauses hold it to that release", async () => {
    const t = await resolveTarget(path.join(__dirname, "fixtures", "impls", "reference-3-11-2.ts"));
    try {
      expect([t.version, t.fullVersion]).toEqual(["3.11", "3.11.2"]);
      // 3.11.2's TimeoutError has no cause (gh-102780): held to 3.11.7, the module would fail.
      const expires = CLAUSES.find((c) => c.id === "timeout.expires")!;
      const r = await runClause(expires, t, { runs: 40, seed: 5 });
      expect(r.status, r.counterexample?.message).toBe("pass");
    } finally {
      await t.close();
    }
  }, 120_000);
});

// On the real CPythons: Debian's 3.11.2 and pyenv's 3.11.7, through the driver.
const debian = fs.existsSync("/usr/bin/python3.11") ? resolveTarget("cpython-3.11.2").catch(() => null) : Promise.resolve(null);
const pyenv = resolveTarget("cpython-3.11").catch(() => null);
afterAll(async () => {
  for (const t of [debian, pyenv]) (await t)?.close();
});

describe("on CPython 3.11.2 and 3.11.7", async () => {
  const [old, recent] = await Promise.all([debian, pyenv]);
  for (const [t, release, why] of [
    [old, "3.11.2", "no CPython 3.11.2 at /usr/bin/python3.11 (apt-get install python3)"],
    [recent, "3.11.7", "no CPython 3.11 found (pyenv install 3.11)"],
  ] as const) {
    it.skipIf(t === null || t.fullVersion !== release)(`${release} runs both cases as the reference at ${release}${t === null ? ` — skipped: ${why}` : t.fullVersion !== release ? ` — skipped: the CPython 3.11 found is ${t.fullVersion}` : ""}`, async () => {
      for (const s of [groupThenRaise("ValueError", false), groupThenRaise("KeyError", true)]) {
        expect(canonicalJson(await t!.run(s))).toBe(canonicalJson(atRelease(release, s)));
      }
    }, 120_000);
  }
});
