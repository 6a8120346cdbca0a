/**
 * aiospec/vitest on an implementation that hangs (issue 10, point 4).
 *
 * An infinite synchronous loop inside an implementation run in vitest's own
 * thread hangs the whole run with no output. Given as a module path,
 * conformance() runs it in a child process like the CLI's module targets,
 * each case under the per-case limit (timeoutMs): the hanging case fails with
 * the verdict "timeout", naming the limit, and the run goes on.
 *
 * The spec file test/fixtures/vitest-hang/hang.spec.ts checks two clauses on
 * a module whose call_soon never returns and on the reference (as a module),
 * one second per case, and a known failure of a module that cannot be
 * loaded (whose test must fail: not loading is not the clause failing); this
 * test runs `npx vitest run` on it (its own config, so the project's suite
 * never collects it) and reads the output.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { ConformanceUsageError, DEFAULT_CASE_TIMEOUT_MS, planConformance } from "../harness/vitest";

const ROOT = path.resolve(__dirname, "..");
const CONFIG = path.join(ROOT, "test/fixtures/vitest-hang/vitest.config.ts");
const CLAUSES = ["coro.sequential", "sleep.result"];

interface Outcome {
  code: number | null;
  output: string;
}

/** `npx vitest run` with the fixture's config, outside this vitest's environment. */
async function runVitest(): Promise<Outcome> {
  // The outer vitest's variables would make the inner one think it is a worker.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(VITEST|TINYPOOL|NODE_OPTIONS$)/.test(k)));
  try {
    const { stdout, stderr } = await promisify(execFile)("npx", ["vitest", "run", "--config", CONFIG], {
      cwd: ROOT,
      env: { ...env, NO_COLOR: "1" },
      // Generous: a loaded machine, and a hang must end well before this.
      timeout: 240_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, output: stdout + stderr };
  } catch (e) {
    const x = e as { code?: number | string; killed?: boolean; stdout?: string; stderr?: string };
    if (x.killed) throw new Error(`npx vitest run did not end within 240 s:\n${x.stdout ?? ""}${x.stderr ?? ""}`);
    return { code: typeof x.code === "number" ? x.code : null, output: (x.stdout ?? "") + (x.stderr ?? "") };
  }
}

describe("npx vitest run on an implementation that hangs in call_soon", () => {
  let run: Outcome;

  beforeAll(async () => {
    run = await runVitest();
  }, 300_000);

  it("ends, and fails", () => {
    expect(run.code, run.output).toBe(1);
    expect(run.output).toMatch(/Tests\s+3 failed \| 2 passed \(5\)/);
  });

  it("fails each of the hanging module's clauses with a timeout naming the per-case limit", () => {
    for (const id of CLAUSES) {
      const failure = new RegExp(
        `FAIL .*hangs-in-call-soon\\.ts.* > ${id.replace(".", "\\.")}:[\\s\\S]*?` +
          `ConformanceFailure: ${id.replace(".", "\\.")} fails on .*hangs-in-call-soon\\.ts@3\\.13[\\s\\S]*?` +
          `timeout: .*timed out: no trace after 1000 ms`,
      );
      expect(run.output, run.output).toMatch(failure);
    }
  });

  it("still runs the other clauses: the same ones pass on the reference module", () => {
    for (const id of CLAUSES) expect(run.output).toMatch(new RegExp(`✓ ${id.replace(".", "\\.")}:`));
    expect(run.output).not.toMatch(/FAIL .*reference\.ts/);
  });

  it("fails a known failure of a module that cannot be loaded, with the load error: not loading is not the clause failing", () => {
    expect(run.output).toMatch(
      /FAIL .*cannot-load\.ts.* > coro\.sequential: .*\[known failure: a known failure, but the module cannot load\][\s\S]*?cannot be loaded: loading cannot-load\.ts failed: Error: this implementation cannot be loaded/,
    );
  });
});

describe("planConformance with a module path", () => {
  const HANGS = path.join(ROOT, "test/fixtures/vitest-hang/hangs-in-call-soon.ts");

  it("plans without loading the module: the per-case limit, the version asked for", () => {
    const plan = planConformance(HANGS, { clauses: CLAUSES }, {});
    expect(plan).toMatchObject({ module: HANGS, timeoutMs: DEFAULT_CASE_TIMEOUT_MS, versionAsked: false, title: `aiospec conformance: ${HANGS}` });
    expect(plan.implementation).toBeUndefined();
    expect(plan.clauses.map((p) => p.mode)).toEqual(["run", "run"]);
    const at311 = planConformance(`${HANGS}@3.11`, { clauses: CLAUSES, timeoutMs: 250 }, {});
    expect(at311).toMatchObject({ version: "3.11", versionAsked: true, timeoutMs: 250 });
  });

  it("refuses a string that is not a module path, and two different versions", () => {
    const bad: Array<[() => unknown, RegExp]> = [
      [() => planConformance("my-asyncio", {}, {}), /"my-asyncio" is not a module path/],
      [() => planConformance(`${HANGS}@3.11`, { version: "3.13" }, {}), /asks for Python 3\.11 but version is "3\.13"/],
      [() => planConformance(`${HANGS}@3.7`, {}, {}), /version "3\.7" is not a Python version aiospec knows/],
    ];
    for (const [f, message] of bad) {
      expect(f).toThrow(ConformanceUsageError);
      expect(f).toThrow(message);
    }
  });
});
