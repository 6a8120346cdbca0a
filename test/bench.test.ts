/**
 * `npm run bench` (bench/bench.ts) in quick mode: it runs and writes a
 * well-formed results.json. No figure is asserted (they depend on the
 * machine's load); only the shape of the results: every row the sections
 * promise is there, absent peers included, and measured rows carry times and
 * ratios. The three quick sections are checked when AIOSPEC_BENCH_TEST=1
 * (a minute and a half), the verdict section, which runs full `aiospec run`s,
 * when AIOSPEC_BENCH_VERDICT=1; the refusal of a bad option always.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { SHAPES } from "../bench/scale/shapes";
import { WORKLOADS } from "../bench/scheduler/workloads";
import type { Row } from "../bench/lib/rows";

const ROOT = path.resolve(__dirname, "..");
const TS_NODE = require.resolve("ts-node/dist/bin.js");

function bench(args: string[]) {
  return spawnSync(process.execPath, [TS_NODE, "-T", path.join(ROOT, "bench", "bench.ts"), ...args], {
    cwd: ROOT, encoding: "utf8", timeout: 900_000,
  });
}

interface Results {
  bench: number;
  mode: string;
  sections: string[];
  machine: { cpus: number; loadAverageAtStart: number[] };
  rows: Row[];
}

function runQuick(sections: string): Results {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-bench-")), "results.json");
  const r = bench(["--quick", "--sections", sections, "--out", out]);
  expect(r.stderr.split("\n").filter((l) => l.startsWith("bench:"))).toEqual([]);
  expect(r.status).toBe(0);
  return JSON.parse(fs.readFileSync(out, "utf8")) as Results;
}

function expectWellFormed(rows: Row[]): void {
  for (const row of rows) {
    expect(["ok", "absent", "not run", "infeasible", "failed"]).toContain(row.status);
    if (row.status === "ok") {
      expect(row.seconds).toBeGreaterThan(0);
      if (row.ratio !== undefined) {
        expect(Number.isFinite(row.ratio) && row.ratio > 0).toBe(true);
        expect(rows.some((b) => b.name === row.ratioTo || row.ratioTo?.startsWith(b.name))).toBe(true);
      }
    } else {
      expect(row.note, row.name).toBeTruthy();
    }
  }
}

describe("npm run bench", () => {
  it("refuses an unknown option in one line, with exit code 2", () => {
    const r = bench(["--fast"]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("unknown option --fast");
    expect(r.stdout).toBe("");
  });

  // A minute and a half of benchmarking on a quiet machine (several on a
  // loaded one): outside the default run, which must fit CI's budget.
  it.skipIf(!process.env.AIOSPEC_BENCH_TEST)("--quick writes every differential, scale and scheduler row (AIOSPEC_BENCH_TEST=1)", () => {
    const res = runQuick("differential,scale,scheduler");
    expect(res).toMatchObject({ bench: 1, mode: "quick", sections: ["differential", "scale", "scheduler"] });
    expect(res.machine.cpus).toBeGreaterThan(0);
    expectWellFormed(res.rows);
    const names = res.rows.map((r) => r.name);

    // Differential: the five rows, the driver alone being the baseline (ratio 1); the diff's rate as a fraction of it.
    const diff = res.rows.filter((r) => r.section === "differential");
    expect(diff.map((r) => r.name.split(" [")[0])).toEqual([
      "reference alone", "driver alone, one batch on stdin", "harness -> driver, one request in flight", "harness -> driver, pipelined",
      "diff reference cpython-3.11",
    ]);
    if (diff[1].status === "ok") {
      expect(diff[1].ratio).toBeCloseTo(1, 10);
      expect(diff[4].figures!.ofDriverRate).toBeCloseTo(1 / diff[4].ratio!, 10);
      // The first round is one of the rounds the best is taken from: never faster than the best.
      expect(diff[4].figures!.firstRoundOfDriverRate).toBeGreaterThan(0);
      expect(diff[4].figures!.firstRoundOfDriverRate).toBeLessThanOrEqual(diff[4].figures!.ofDriverRate);
    }

    // Scale: every shape on both sides at the quick sizes, the larger ones listed as not run.
    for (const shape of SHAPES) {
      for (const side of ["reference", "cpython-3.11 driver"]) {
        expect(names.filter((n) => n.startsWith(`${shape} `) && n.endsWith(`: ${side}`))).toHaveLength(2);
      }
    }
    expect(res.rows.filter((r) => r.section === "scale" && r.status === "not run")).toHaveLength(2);
    const tasks1000 = res.rows.find((r) => r.name === "tasks 1,000 steps: reference")!;
    expect(tasks1000.status).toBe("ok");
    expect(tasks1000.figures!.peakMb).toBeGreaterThan(0);
    expect(tasks1000.ratio).toBeCloseTo(1, 10);

    // Scheduler: each workload on the reference, Node and every peer, found or not.
    for (const w of WORKLOADS) {
      const group = res.rows.filter((r) => r.section === "scheduler").slice(WORKLOADS.indexOf(w) * 7, WORKLOADS.indexOf(w) * 7 + 7);
      expect(group.map((r) => r.name.split(": ")[1].split(" (")[0])).toEqual([
        "reference", "CPython 3.11 asyncio", "CPython 3.13 asyncio", "CPython 3.11 uvloop", "CPython 3.11.2 uvloop", "CPython 3.13 uvloop", "Node promises",
      ]);
      expect(group[0].status).toBe("ok");
      expect(group[6].status).toBe("ok");
    }
  }, 900_000);

  it.skipIf(!process.env.AIOSPEC_BENCH_VERDICT)("--quick times the reference's verdict, split into phases", () => {
    const res = runQuick("verdict");
    expectWellFormed(res.rows);
    const ref = res.rows.find((r) => r.name === "run --impl reference")!;
    expect(ref.status).toBe("ok");
    const f = ref.figures!;
    for (const phase of ["startup", "generation", "running", "comparing", "reporting"]) expect(f[phase]).toBeGreaterThan(0);
    expect(f.startup + f.generation + f.running + f.comparing + f.reporting).toBeCloseTo(f.total, 1);
    expect(res.rows.filter((r) => r.name.startsWith("run --impl cpython-3.")).length).toBeGreaterThanOrEqual(7);
  }, 900_000);
});
