/**
 * Where a run's jobs run (harness/running/pool.ts): against an
 * implementation in a process of its own on a virtual clock (a Python
 * driver), every job runs in the aiospec process, each with its own driver;
 * against one in this process (the reference), jobs 1..N-1 are worker
 * processes. What either way must keep: the same report for any number of
 * jobs, and nothing left running after a Ctrl-C.
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { jobsInThisProcess, openTarget } from "../harness/running/pool";
import { DRIVER_PATH } from "../harness/targets";
import type { Target } from "../harness/targets";
import { alive } from "./helpers/processes";

const BIN = path.resolve(__dirname, "..", "bin", "aiospec.js");
const FIXTURE_CLAUSES = path.resolve(__dirname, "fixtures", "reports", "clauses.ts");
const python3 = spawnSync("python3", ["--version"]).status === 0;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-pool-jobs-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A driver that first writes "its pid, its parent's pid" to `log`, then is the Python driver. */
function loggingDriver(log: string): string {
  const wrapper = path.join(tmp, `driver-${path.basename(log)}.sh`);
  fs.writeFileSync(wrapper, `#!/bin/sh\necho "$$ $PPID" >> '${log}'\nexec python3 '${DRIVER_PATH}' "$@"\n`, { mode: 0o755 });
  return `cmd:${wrapper}`;
}

function started(log: string): Array<{ pid: number; parent: number }> {
  return fs.readFileSync(log, "utf8").trim().split("\n").map((l) => {
    const [pid, parent] = l.split(" ").map(Number);
    return { pid, parent };
  });
}

/** Run the CLI with the fixture clauses; resolves with its exit code, output and pid. */
function cli(args: string[], onStdout?: (all: string, child: ReturnType<typeof spawn>) => void) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: tmp, env: { ...process.env, CI: "1", AIOSPEC_CLAUSES: FIXTURE_CLAUSES } });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => {
    out += d;
    onStdout?.(out, child);
  });
  child.stderr.on("data", (d) => (err += d));
  return new Promise<{ code: number | null; out: string; err: string; pid: number }>((resolve) =>
    child.on("exit", (code) => resolve({ code, out, err, pid: child.pid! })),
  );
}

function deterministic(file: string) {
  const report = JSON.parse(fs.readFileSync(file, "utf8"));
  delete report.timing;
  for (const r of report.results) delete r.elapsedMs;
  return report;
}

describe("which implementations get their jobs in the aiospec process", () => {
  it("the reference (it runs in this process): no, its jobs need processes of their own to use more than one core", async () => {
    const t = await openTarget("reference", { timeoutMs: 5000 });
    try {
      expect(jobsInThisProcess(t)).toBe(false);
    } finally {
      await t.close();
    }
  });

  it("a real clock: no, whatever runs it", () => {
    const fake = { isolation: "process", clock: "real" } as unknown as Target;
    expect(jobsInThisProcess(fake)).toBe(false);
    expect(jobsInThisProcess({ isolation: "process" } as unknown as Target)).toBe(true);
  });

  it.runIf(python3)("a Python driver on a virtual clock: yes (skipped when there is no python3 on PATH)", async () => {
    const t = await openTarget(`cmd:python3 ${DRIVER_PATH}`, { timeoutMs: 5000 });
    try {
      expect(jobsInThisProcess(t)).toBe(true);
    } finally {
      await t.close();
    }
  });
});

describe.runIf(python3)("--jobs 2 on a Python driver (skipped when there is no python3 on PATH)", () => {
  it("both drivers are children of the aiospec process itself, and the report is the one --jobs 1 gives", async () => {
    const common = ["run", "--clause", "fixture.fast.*", "--runs", "30", "--seed", "5"];
    const log2 = path.join(tmp, "two.log");
    const two = await cli([...common, "--impl", loggingDriver(log2), "--jobs", "2", "--json", path.join(tmp, "two.json")]);
    expect(two.code, two.err).toBe(0);
    expect(two.err).toMatch(/2 job\(s\)/);
    const drivers = started(log2);
    expect(drivers).toHaveLength(2);
    expect(drivers.map((d) => d.parent)).toEqual([two.pid, two.pid]);

    const log1 = path.join(tmp, "one.log");
    const one = await cli([...common, "--impl", loggingDriver(log1), "--jobs", "1", "--json", path.join(tmp, "one.json")]);
    expect(one.code, one.err).toBe(0);
    const a = deterministic(path.join(tmp, "one.json"));
    const b = deterministic(path.join(tmp, "two.json"));
    // The implementation's id names the wrapper, which differs: the verdicts must not.
    expect(b.results).toEqual(a.results);
    expect(b.summary).toEqual(a.summary);
  }, 300_000);

  it("Ctrl-C: exit 130 with the finished clauses reported, and both jobs' drivers gone", async () => {
    const log = path.join(tmp, "interrupted.log");
    const out = path.join(tmp, "interrupted");
    let sent = false;
    const r = await cli(["run", "--impl", loggingDriver(log), "--clause", "fixture.*", "--runs", "1000", "--seed", "3", "--jobs", "2", "--out", out], (all, child) => {
      // fixture.slow.busy takes about 50 ms a case: it is running when the fast ones have finished.
      if (!sent && /^(PASS|SKIP) {2}fixture\.fast\.old/m.test(all)) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    expect(sent, r.out + r.err).toBe(true);
    expect(r.code, r.err).toBe(130);
    const report = JSON.parse(fs.readFileSync(path.join(out, "report.json"), "utf8"));
    expect(report.complete).toBe(false);
    expect(report.notRun).toEqual(["fixture.slow.busy"]);
    const drivers = started(log);
    expect(drivers).toHaveLength(2);
    // Ended by aiospec before it exited: no driver outlives the run.
    expect(drivers.filter((d) => alive(d.pid)).map((d) => d.pid)).toEqual([]);
  }, 300_000);
});
