/** The aiospec command as a user meets it: exit codes, one-line errors, outputs. */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const BIN = path.resolve(__dirname, "..", "bin", "aiospec.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-cli-"));

function aiospec(...args: string[]) {
  return aiospecEnv({}, ...args);
}

function aiospecEnv(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: tmp, env: { ...process.env, CI: "1", ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function file(name: string, text: string): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
}

const good = JSON.stringify({
  aiospec: 1,
  coroutines: [
    { name: "main", body: [{ op: "create_task", coro: "w", task: "t" }, { op: "log", label: "spawned" }, { op: "await", on: { task: "t" } }] },
    { name: "w", body: [{ op: "sleep", ticks: 2 }, { op: "return", value: 42 }] },
  ],
});

describe("aiospec replay", () => {
  it("prints the trace of a scenario, and the same canonical JSON for the reference and CPython", () => {
    const f = file("good.json", good);
    const human = aiospec("replay", f, "--impl", "reference");
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/t=0 \[Task-1\] log label="spawned"/);
    const a = aiospec("replay", f, "--impl", "reference@3.11", "--json");
    const b = aiospec("replay", f, "--impl", "cpython", "--json");
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(a.out).toBe(b.out);
    expect(JSON.parse(a.out).main).toEqual({ state: "result", value: null });
  });

  it("exits 2 on malformed JSON, naming where, and prints no trace", () => {
    const r = aiospec("replay", file("bad.json", '{"aiospec": 1, "coroutines": [\n  {"name": "main",, }]}'), "--impl", "reference");
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/bad\.json: \$: malformed JSON: .*line 2, column/);
  });

  it("exits 2 on a schema-invalid scenario, naming the JSON path of the bad node", () => {
    const bad = JSON.parse(good);
    bad.coroutines[1].body[0].ticks = "soon";
    const r = aiospec("replay", file("invalid.json", JSON.stringify(bad)), "--impl", "cpython");
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err.trim()).toBe(`aiospec: ${path.join(tmp, "invalid.json")}: $.coroutines[1].body[0].ticks: must be integer`);
  });

  it("exits 2 with one line for an unreadable file, an unknown implementation, a missing interpreter", () => {
    const f = file("ok.json", good);
    for (const [args, pattern] of [
      [["replay", path.join(tmp, "nope.json"), "--impl", "reference"], /cannot read .*nope\.json: ENOENT/],
      [["replay", f, "--impl", "jython"], /unknown implementation "jython"/],
      [["replay", f, "--impl", "reference@2.7"], /unknown implementation "reference@2.7": versions are @3.11, @3.12, @3.13/],
      [["replay", f, "--impl", "cpython-3.99"], /unknown implementation "cpython-3.99": CPython 3.99 is not a Python version aiospec knows/],
      [["replay", f, "--impl", "cpython-3.11+turbo"], /unknown modifier "\+turbo" in "cpython-3.11\+turbo": the modifiers are \+pytask, \+uvloop, \+nest_asyncio, \+realtime/],
      [["replay", f, "--impl", "pyodide-3.12+realtime"], /modifier "\+realtime" does not apply to pyodide-3.12: it takes \+pytask/],
      [["replay", f, "--impl", "cpython+uvloop+nest_asyncio"], /cannot be combined/],
      [["replay", f, "--impl", "mutant:nonesuch"], /unknown mutant "nonesuch"/],
    ] as Array<[string[], RegExp]>) {
      const r = aiospec(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.out).toBe("");
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).toMatch(pattern);
    }
  }, 600_000); // several CLI runs: minutes on a loaded machine (135 s at a load average of ~25)
});

describe("aiospec diff", () => {
  it("exits 0 when the traces agree", () => {
    const r = aiospec("diff", "reference", "cpython", "--runs", "200", "--seed", "1");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/no divergence: 200 scenarios/);
  });

  it("exits 1 on a divergence and prints the shrunk scenario, a Python program, both traces, the first difference and how to replay", () => {
    const r = aiospec("diff", "mutant:lifo-ready", "cpython", "--runs", "500", "--seed", "1");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/DIVERGENCE between mutant:lifo-ready@3.11 and cpython/);
    expect(r.out).toMatch(/Scenario \(JSON\):\n\{/);
    expect(r.out).toMatch(/import asyncio/);
    expect(r.out).toMatch(/Trace of mutant:lifo-ready@3.11:/);
    expect(r.out).toMatch(/Trace of cpython:/);
    expect(r.out).toMatch(/First difference:\n  at events\[\d+\]:/);
    const replay = /npx aiospec diff mutant:lifo-ready@3.11 cpython --seed 1 --path (\S+)/.exec(r.out);
    expect(replay).not.toBeNull();
    const saved = /npx aiospec replay (\S+) --impl/.exec(r.out)![1];
    expect(fs.existsSync(path.join(tmp, saved))).toBe(true);
    // The printed path replays exactly the shrunk case.
    const again = aiospec("diff", "mutant:lifo-ready", "cpython", "--seed", "1", "--path", replay![1]);
    expect(again.code).toBe(1);
  });

  it("exits 2 on bad options", () => {
    for (const args of [["diff", "reference"], ["diff", "reference", "cpython", "--runs", "x"], ["diff", "reference", "cpython", "--seed", "1.5"], ["diff", "reference", "cpython", "--bogus"]]) {
      const r = aiospec(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err).toMatch(/error/);
    }
  });
});

describe("aiospec list", () => {
  it("lists the references, CPythons and mutants", () => {
    const r = aiospec("list", "--json");
    expect(r.code).toBe(0);
    const ids = JSON.parse(r.out).implementations.map((i: { id: string }) => i.id);
    expect(ids).toEqual(expect.arrayContaining(["reference@3.11", "reference@3.13", "cpython", "cpython-3.12+pytask", "mutant:lifo-ready"]));
  });
});

// ---------------------------------------------------------------- run, report: the harness as a product

import { spawn } from "node:child_process";
import { main } from "../harness/cli/cli";
import { reportProblems } from "../harness/reporting/schemas";

const FIXTURE_CLAUSES = path.resolve(__dirname, "fixtures", "reports", "clauses.ts");

/** The CLI with the fixture clause set (test/fixtures/reports/clauses.ts). */
function fixture(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: tmp, env: { ...process.env, CI: "1", AIOSPEC_CLAUSES: FIXTURE_CLAUSES } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The CLI in this process (for what fails before anything runs): exit code and what it wrote. */
async function inProcess(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out: out.join(""), err: err.join("") };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

const json = (f: string) => JSON.parse(fs.readFileSync(f, "utf8"));

/** A report without the fields that may differ between two runs with the same inputs. */
function deterministic(report: any) {
  const copy = JSON.parse(JSON.stringify(report));
  delete copy.timing;
  for (const r of copy.results) delete r.elapsedMs;
  return copy;
}

describe("--help", () => {
  it("every command has --help (exit 0, usage on stdout)", async () => {
    for (const cmd of ["list", "run", "report", "replay", "diff"]) {
      const r = await inProcess(cmd, "--help");
      expect(r.code, cmd).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: aiospec ${cmd}`));
    }
    const run = await inProcess("run", "--help");
    for (const flag of ["--impl", "--clause", "--runs", "--seed", "--path", "--json", "--junit", "--markdown", "--html", "--out", "--baseline", "--update-baseline", "--strict", "--timeout-ms", "--jobs"]) {
      expect(run.out).toContain(flag);
    }
    expect(run.out).toMatch(/130 interrupted/);
    expect((await inProcess("--help")).code).toBe(0);
    expect((await inProcess("help", "run")).code).toBe(0);
    expect((await inProcess()).code).toBe(2); // no command: help on stderr, usage error
  });
});

describe("aiospec run: usage errors", () => {
  it("exit 2 with one line saying what is wrong, and write no report file", async () => {
    const out = path.join(tmp, "usage-out");
    const bad = file("bad-baseline.json", JSON.stringify({ format: "aiospec-baseline", schemaVersion: 1, knownFailures: [{ implementation: "x" }] }));
    const cases: Array<[string[], RegExp]> = [
      [["--impl", "reference", "--bogus"], /unknown option '--bogus'/],
      [["--impl", "jython"], /unknown implementation "jython"/],
      [["--impl", "reference", "--baseline", path.join(tmp, "no-such-baseline.json")], /cannot read baseline .*no-such-baseline\.json: ENOENT/],
      [["--impl", "reference", "--baseline", bad], /invalid baseline .*: \$\.knownFailures\[0\]: must have required property/],
      [["--impl", "reference", "--seed", "x1"], /seed must be an integer/],
      [["--impl", "reference", "--seed", "99999999999"], /seed must be a 32-bit integer/],
      [["--impl", "reference", "--clause", "gather.[ab]"], /bad --clause glob "gather\.\[ab\]"/],
      [["--impl", "reference", "--clause", "nosuch.*"], /no clause matches "nosuch\.\*"/],
      [["--impl", "reference", "--clause", "differential.trace", "--path", "1:2"], /--path replays a case of an earlier run: give that run's --seed too/],
      [["--impl", "reference", "--seed", "1", "--path", "1:2"], /--path replays a case of one clause/],
      [["--impl", "reference", "--seed", "1", "--clause", "differential.trace", "--path", "x"], /bad --path "x"/],
      [["--impl", "reference", "--update-baseline"], /--update-baseline needs --baseline FILE/],
      [["--impl", "reference", "--strict"], /--strict needs --baseline FILE/],
      [["--impl", "reference", "--runs", "0"], /runs must be an integer >= 1/],
      [["--impl", "reference", "--jobs", "many"], /jobs must be an integer/],
      [["--impl", "reference", "--junit", path.join(tmp, "no", "such", "dir", "j.xml")], /--junit .*: directory .* does not exist/],
      [["--impl", "reference", "--json", tmp], /--json .*: is a directory/],
      [["--impl", "reference", "--json", path.join(out, "report.json")], /--json .*: directory .* does not exist/],
    ];
    for (const [args, pattern] of cases) {
      const r = await inProcess("run", ...args, "--out", out);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.err, args.join(" ")).toMatch(pattern);
      expect(fs.existsSync(out), `${args.join(" ")}: no report written`).toBe(false);
    }
  });
});

describe("aiospec run", () => {
  it("exit 0 on a conformant implementation; 1 with failures, each with the command that replays it", () => {
    const ok = fixture("run", "--impl", "reference", "--clause", "fixture.fast.*", "--runs", "30", "--seed", "2", "--jobs", "1");
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/^PASS {2}fixture\.fast\.holds \[documented\]/m);
    expect(ok.out).toMatch(/^SKIP {2}fixture\.fast\.old \[documented\] — holds for Python 3\.11/m);
    expect(ok.out).toMatch(/^3 passed, 0 failed, 1 skipped$/m);
    expect(ok.err).toMatch(/aiospec run: reference@3\.13 .*4 clause\(s\), 30 runs each, seed 2, 1 job\(s\)/);

    const bad = fixture("run", "--impl", "mutant:lifo-ready", "--clause", "fixture.fast.*", "--runs", "50", "--seed", "1", "--json", "lifo.json");
    expect(bad.code, bad.err).toBe(1);
    expect(bad.out).toMatch(/^FAIL {2}fixture\.fast\.order \[exact\]/m);
    expect(bad.out).toMatch(/First difference at events\[\d+\]:\n {4}Expected \(the reference's 3\.13 profile\):/);
    expect(bad.out).toMatch(/Scenario \(shrunk.*\):\n {4}main: \[/);
    // The details go next to the report (--json lifo.json): failures/<implementation>--<clause>.{py,ts,json}.
    expect(bad.out).toContain("Full reproducers and traces: failures/mutant_lifo-ready@3.13--fixture.fast.order.py (python3.13), failures/mutant_lifo-ready@3.13--fixture.fast.order.ts (TypeScript), failures/mutant_lifo-ready@3.13--fixture.fast.order.json");
    expect(fs.existsSync(path.join(tmp, "failures", "mutant_lifo-ready@3.13--fixture.fast.order.json"))).toBe(true);
    const replay = /Replay: (npx aiospec run --impl mutant:lifo-ready@3\.13 --clause fixture\.fast\.order --seed 1 --path (\S+))/.exec(bad.out);
    expect(replay).not.toBeNull();
    const report = json(path.join(tmp, "lifo.json"));
    expect(reportProblems(report)).toEqual([]);
    const failure = report.results.find((r: any) => r.id === "fixture.fast.order").failure;
    expect(failure.replay).toBe(replay![1]);

    // The printed command replays exactly that case: same shrunk scenario, same message.
    const again = fixture(...replay![1].split(" ").slice(2), "--json", "replayed.json");
    expect(again.code, again.err).toBe(1);
    const replayed = json(path.join(tmp, "replayed.json"));
    expect(replayed.results).toHaveLength(1);
    expect(replayed.results[0].failure.scenario).toEqual(failure.scenario);
    expect(replayed.results[0].failure.message).toBe(failure.message);
  }, 600_000); // several CLI runs: minutes on a loaded machine

  it("the same seed gives the same report, whatever the number of jobs (timing fields aside)", () => {
    const args = ["run", "--impl", "mutant:lifo-ready", "--clause", "fixture.fast.*", "--runs", "40", "--seed", "77"];
    const one = fixture(...args, "--jobs", "1", "--json", "det1.json");
    const two = fixture(...args, "--jobs", "2", "--json", "det2.json");
    const twoAgain = fixture(...args, "--jobs", "3", "--json", "det3.json");
    expect([one.code, two.code, twoAgain.code]).toEqual([1, 1, 1]);
    expect(two.err).toMatch(/2 job\(s\)/);
    const [a, b, c] = ["det1.json", "det2.json", "det3.json"].map((f) => json(path.join(tmp, f)));
    expect(b.timing.jobs).toBe(2);
    expect(deterministic(b)).toEqual(deterministic(a));
    expect(deterministic(c)).toEqual(deterministic(a));
    // Results in clause order, and the stdout lines too.
    const lines = (s: string) => s.split("\n").filter((l) => /^(PASS|FAIL|SKIP|ERROR) /.test(l)).map((l) => l.replace(/\(checked \d+ of \d+[^,]*, \d+ ms\)/, ""));
    expect(lines(two.out)).toEqual(lines(one.out));
  }, 600_000); // several CLI runs: minutes on a loaded machine

  it("baselines: known failures pass, new failures fail, unexpected passes are reported (and fail with --strict); --update-baseline writes it", () => {
    const run = (...extra: string[]) => fixture("run", "--impl", "mutant:lifo-ready", "--clause", "fixture.fast.*", "--runs", "50", "--seed", "1", "--jobs", "1", ...extra);
    const known = file("known.json", JSON.stringify({ format: "aiospec-baseline", schemaVersion: 1, knownFailures: [{ implementation: "mutant:lifo-ready", clause: "fixture.fast.order", reason: "LIFO on purpose" }] }));
    const r1 = run("--baseline", known, "--json", "b1.json");
    expect(r1.code, r1.out + r1.err).toBe(0);
    expect(r1.out).toMatch(/^FAIL {2}fixture\.fast\.order \[exact\] .*\(known failure\)$/m);
    expect(r1.out).toMatch(/baseline .*known\.json: 1 known failure\(s\), 0 new failure\(s\), 0 unexpected pass\(es\)/);
    const b1 = json(path.join(tmp, "b1.json"));
    expect(b1.outcome).toBe("matches-baseline");
    expect(b1.results[1].baseline).toEqual({ status: "known-failure", reason: "LIFO on purpose" });

    const empty = file("empty.json", JSON.stringify({ format: "aiospec-baseline", schemaVersion: 1, knownFailures: [] }));
    const r2 = run("--baseline", empty);
    expect(r2.code).toBe(1);
    expect(r2.out).toMatch(/new failures: fixture\.fast\.order/);

    const stale = file("stale.json", JSON.stringify({ format: "aiospec-baseline", schemaVersion: 1, knownFailures: [
      { implementation: "mutant:lifo-ready", clause: "fixture.fast.order", reason: "LIFO" },
      { implementation: "mutant:lifo-ready@3.13", clause: "fixture.fast.holds", reason: "fixed since" },
    ] }));
    const r3 = run("--baseline", stale);
    expect(r3.code).toBe(0);
    expect(r3.out).toMatch(/unexpected passes .*: fixture\.fast\.holds/);
    const r4 = run("--baseline", stale, "--strict", "--junit", "strict.xml");
    expect(r4.code).toBe(1);
    expect(fs.readFileSync(path.join(tmp, "strict.xml"), "utf8")).toMatch(/type="unexpected-pass"/);

    const fresh = path.join(tmp, "fresh-baseline.json");
    const r5 = run("--baseline", fresh, "--update-baseline");
    expect(r5.code, r5.err).toBe(0);
    expect(r5.out).toMatch(/baseline .*fresh-baseline\.json updated: 1 known failure\(s\) \(\+1, -0\)/);
    expect(json(fresh).knownFailures).toEqual([{ implementation: "mutant:lifo-ready", clause: "fixture.fast.order", reason: expect.stringMatching(/^traces part at events/) }]);
    expect(run("--baseline", fresh).code).toBe(0);
    const r6 = run("--baseline", stale, "--update-baseline");
    expect(r6.code).toBe(0);
    expect(json(stale).knownFailures).toEqual([{ implementation: "mutant:lifo-ready", clause: "fixture.fast.order", reason: "LIFO" }]);
  }, 600_000); // several CLI runs: minutes on a loaded machine

  it("Ctrl-C: writes valid reports marked incomplete with every finished clause, exits 130", async () => {
    const outDir = path.join(tmp, "interrupted");
    const child = spawn(process.execPath, [BIN, "run", "--impl", "reference", "--clause", "fixture.*", "--runs", "1000", "--seed", "3", "--jobs", "2", "--out", outDir], {
      cwd: tmp,
      env: { ...process.env, CI: "1", AIOSPEC_CLAUSES: FIXTURE_CLAUSES },
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      // Generous: a loaded machine takes its time to start aiospec (the test is about what Ctrl-C leaves).
      const t = setTimeout(() => reject(new Error(`no clause finished: ${stdout}${stderr}`)), 240_000);
      child.stdout.on("data", (d) => {
        stdout += d;
        if (/^SKIP {2}fixture\.fast\.old/m.test(stdout)) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const sent = Date.now();
    child.kill("SIGINT");
    const code = await exited;
    expect(code, stderr).toBe(130);
    expect(Date.now() - sent).toBeLessThan(60_000);
    expect(stderr).toMatch(/interrupted \(Ctrl-C\); reporting the 4 clause\(s\) that finished/);
    const report = json(path.join(outDir, "report.json"));
    expect(reportProblems(report)).toEqual([]);
    expect(report.complete).toBe(false);
    expect(report.outcome).toBe("interrupted");
    expect(report.exitCode).toBe(130);
    expect(report.results.map((r: any) => r.id)).toEqual(["fixture.fast.holds", "fixture.fast.order", "fixture.fast.labels", "fixture.fast.old"]);
    expect(report.notRun).toEqual(["fixture.slow.busy"]);
    expect(report.summary.notRun).toBe(1);
    const junit = fs.readFileSync(path.join(outDir, "junit.xml"), "utf8");
    expect(junit).toMatch(/<testcase name="fixture\.slow\.busy"[^>]*>\s*<skipped message="not run: the run was interrupted"\/>/);
    expect(fs.readFileSync(path.join(outDir, "report.md"), "utf8")).toMatch(/INTERRUPTED/);
    // No temporary files left; the journal (docs/reliability.md) holds the finished clauses too.
    expect(fs.readdirSync(outDir).sort()).toEqual(["aiospec-journal.jsonl", "junit.xml", "report.html", "report.json", "report.md"]);
  }, 400_000);

  const haveScript = fs.existsSync("/usr/bin/script");
  it.skipIf(!haveScript)("shows a progress bar on a terminal, plain lines otherwise", () => {
    // `script` gives the command a pseudo-terminal; CI must be unset for the bar.
    const env: Record<string, string | undefined> = { ...process.env, AIOSPEC_CLAUSES: FIXTURE_CLAUSES };
    delete env.CI;
    const cmd = `${process.execPath} ${BIN} run --impl reference --clause 'fixture.fast.*' --runs 20 --seed 1 --jobs 1`;
    const tty = spawnSync("/usr/bin/script", ["-qec", cmd, "/dev/null"], { encoding: "utf8", cwd: tmp, env: env as NodeJS.ProcessEnv });
    expect(tty.status, tty.stdout).toBe(0);
    expect(tty.stdout).toMatch(/\d\/4 clauses \| \d+ scenarios \| 0 failed/);
    expect(tty.stdout).toMatch(/PASS {2}fixture\.fast\.holds/);
    const plain = fixture("run", "--impl", "reference", "--clause", "fixture.fast.*", "--runs", "20", "--seed", "1", "--jobs", "1");
    expect(plain.out + plain.err).not.toMatch(/clauses \|/);
    expect(plain.out).not.toMatch(/\x1b/);
  });

  it("runs the real specification's differential clause and writes every format", () => {
    const r = aiospec("run", "--impl", "reference@3.12", "--clause", "differential.*", "--runs", "30", "--seed", "4", "--out", "real");
    expect(r.code, r.err).toBe(0);
    const report = json(path.join(tmp, "real", "report.json"));
    expect(reportProblems(report)).toEqual([]);
    expect(report.results.map((x: any) => [x.id, x.status])).toEqual([["differential.trace", "pass"]]);
    expect(r.err).toMatch(/wrote real\/report\.json, real\/junit\.xml, real\/report\.md, real\/report\.html/);
  });
});

describe("aiospec report", () => {
  it("writes the matrix (JSON, HTML, Markdown) for the implementations asked for", () => {
    const out = path.join(tmp, "matrix");
    const r = fixture("report", "--impl", "reference@3.11", "--impl", "mutant:lifo-ready", "--clause", "fixture.fast.*", "--runs", "30", "--out", out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^reference@3\.11 +4 passed, 0 failed, 0 skipped/m);
    expect(r.out).toMatch(/^mutant:lifo-ready@3\.13 +2 passed, 1 failed, 1 skipped/m);
    const m = json(path.join(out, "matrix.json"));
    expect(reportProblems(m)).toEqual([]);
    expect(m.format).toBe("aiospec-matrix");
    expect(m.options.seed).toBe(1);
    expect(m.reports.map((x: any) => x.implementation.id)).toEqual(["reference@3.11", "mutant:lifo-ready@3.13"]);
    const html = fs.readFileSync(path.join(out, "index.html"), "utf8");
    expect(html).toContain("<th title=\"TypeScript reference, Python 3.11 profile, C Task\"><code>reference@3.11</code></th>");
    expect(html).toContain('value="differs"');
    expect(fs.readFileSync(path.join(out, "summary.md"), "utf8")).toMatch(/\| `fixture.fast.order` \| exact \| pass \| FAIL \|/);
  });

  it("lists the default matrix: every reference profile and every CPython found", async () => {
    const { matrixImplementations } = await import("../harness/cli/commands");
    const ids = matrixImplementations(false);
    expect(ids.slice(0, 3)).toEqual(["reference@3.11", "reference@3.12", "reference@3.13"]);
    expect(ids.every((id) => /^(reference@|cpython-)3\.\d+$/.test(id))).toBe(true);
    expect(matrixImplementations(true)).toContain("mutant:lifo-ready");
  });
});

// ---------------------------------------------------------------- interpreters, unsupported features, diff counts

const UNSUPPORTED_DRIVER = path.resolve(__dirname, "fixtures", "impls", "unsupported_driver.py");
const unsupportedDriver = (...args: string[]) => `cmd:python3 ${UNSUPPORTED_DRIVER}${args.map((a) => " " + a).join("")}`;

describe("aiospec list: every interpreter id", () => {
  it("lists each id found or absent, an absent one with the command that installs it, and names npm run peers", () => {
    const r = aiospec("list", "--json");
    expect(r.code, r.err).toBe(0);
    const listing = JSON.parse(r.out);
    expect(listing.peers).toBe("npm run peers");
    const byId = new Map<string, any>(listing.implementations.map((i: any) => [i.id, i]));
    const expected = ["cpython", "nest_asyncio", "pypy-3.9", "pyodide-3.12", "pyodide-3.13", "pyodide-3.14"];
    for (const v of ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14"]) {
      expected.push(`cpython-${v}`, `cpython-${v}+pytask`, `cpython-${v}+realtime`, `cpython-${v}+uvloop`, `cpython-${v}+nest_asyncio`);
    }
    for (const id of expected) {
      const i = byId.get(id);
      expect(i, id).toBeDefined();
      expect(["found", "absent"], id).toContain(i.status);
      expect(i.available, id).toBe(i.status === "found");
      if (i.status === "found") expect(i.fullVersion && i.path, id).toBeTruthy();
      else expect(i.install, id).toBeTruthy();
    }
    const text = aiospec("list");
    expect(text.out).toContain("npm run peers");
    for (const line of text.out.split("\n").filter((l) => /^- (cpython|pypy|pyodide|nest)/.test(l))) expect(line).toMatch(/absent: .*; install: /);
  });

  it("an absent peer is one line and exit 2, naming the command that installs it", () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-no-peers-"));
    const r = aiospecEnv({ AIOSPEC_PEERS_DIR: empty }, "replay", file("peer.json", good), "--impl", "pyodide-3.13");
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(/^aiospec: pyodide-3.13 is not installed here \(.*\): run npm run peers$/m);
  });
});

describe("a driver that declares features unsupported", () => {
  it("gets skips, not failures: its taskgroup clauses are skipped with the reason, the others run", () => {
    const impl = unsupportedDriver("--unsupported", "taskgroup,new_taskgroup");
    const r = aiospec("run", "--impl", impl, "--clause", "taskgroup.wait_at_exit,taskgroup.nested,gather.order,differential.trace", "--runs", "30", "--seed", "4", "--jobs", "1", "--json", "unsupported.json");
    expect(r.code, r.out + r.err).toBe(0);
    const report = json(path.join(tmp, "unsupported.json"));
    const status = Object.fromEntries(report.results.map((x: any) => [x.id, x.status]));
    expect(status).toEqual({ "gather.order": "pass", "taskgroup.wait_at_exit": "skip", "taskgroup.nested": "skip", "differential.trace": "pass" });
    for (const x of report.results.filter((y: any) => y.status === "skip")) expect(x.reason).toMatch(/does not support taskgroup/);
    expect(r.out).toMatch(/^SKIP {2}taskgroup\.nested \[documented\] — .* does not support taskgroup$/m);
  });
});

describe("aiospec run --exclude", () => {
  it("leaves clauses out (repeatable, globs), and refuses an exclusion that matches nothing or leaves nothing", async () => {
    const r = aiospec("run", "--impl", "reference", "--clause", "gather.*", "--exclude", "gather.c*", "--exclude", "gather.empty", "--runs", "5", "--seed", "1", "--jobs", "1", "--json", "exclude.json");
    expect(r.code, r.err).toBe(0);
    const ids = json(path.join(tmp, "exclude.json")).results.map((x: any) => x.id);
    expect(ids.length).toBeGreaterThan(2);
    expect(ids.every((id: string) => id.startsWith("gather.") && !id.startsWith("gather.c") && id !== "gather.empty")).toBe(true);
    for (const [args, pattern] of [
      [["--exclude", "nosuch.*"], /no clause matches the exclusion "nosuch\.\*"/],
      [["--clause", "gather.order", "--exclude", "gather.*"], /no clause is left/],
      [["--exclude", "gather.[x]"], /bad --exclude glob/],
    ] as Array<[string[], RegExp]>) {
      const bad = await inProcess("run", "--impl", "reference", ...args);
      expect(bad.code, args.join(" ")).toBe(2);
      expect(bad.err.trim().split("\n")).toHaveLength(1);
      expect(bad.err).toMatch(pattern);
    }
  });
});

describe("aiospec diff: what was compared", () => {
  it("prints how many scenarios were compared, skipped and both errored, in text and JSON; what a side declares unsupported is not generated", () => {
    const a = unsupportedDriver("--fail-on", "sleep");
    const b = unsupportedDriver("--fail-on", "sleep", "--unsupported", "gather");
    const r = aiospec("diff", a, b, "--runs", "80", "--seed", "5");
    expect(r.code, r.err).toBe(0);
    const m = /^80 scenarios: (\d+) compared, (\d+) skipped, (\d+) both errored, 0 ignored$/m.exec(r.out);
    expect(m, r.out).not.toBeNull();
    const [compared, skipped, both] = m!.slice(1).map(Number);
    // The generator leaves gather out (b declares it unsupported), so no
    // scenario has to be skipped for it.
    expect(skipped).toBe(0);
    expect(compared + both).toBe(80);
    expect(compared).toBeGreaterThan(0);
    expect(both).toBeGreaterThan(0);
    expect(r.out).toMatch(/^ {2}both errored \d+: neither side produced a trace \(not compared\); the first: .*fails on sleep on purpose/m);

    const j = aiospec("diff", a, b, "--runs", "80", "--seed", "5", "--json");
    expect(j.code).toBe(0);
    const d = JSON.parse(j.out);
    expect(d).toMatchObject({ scenarios: 80, compared, skippedTotal: 0, bothErrored: both, ignoredTotal: 0, divergences: [] });
    expect(d.bothErroredExample.a).toMatch(/fails on sleep on purpose/);
    expect(d.b.unsupported).toContain("gather");
  });

  it("--ignore passes over a known divergence (by signature, or a glob over it) and searches on", () => {
    const first = aiospec("diff", "mutant:lifo-ready", "reference", "--runs", "300", "--seed", "1", "--json");
    expect(first.code).toBe(1);
    const sig = JSON.parse(first.out).divergences[0].signature;
    // Signatures are matched on every scenario's divergence (shrinking included): no divergence of that shape is reported.
    const exact = JSON.parse(aiospec("diff", "mutant:lifo-ready", "reference", "--runs", "300", "--seed", "1", "--json", "--ignore", sig).out);
    for (const dv of exact.divergences) expect(dv.signature).not.toBe(sig);
    const glob = aiospec("diff", "mutant:lifo-ready", "reference", "--runs", "300", "--seed", "1", "--ignore", "events:*", "--ignore", "tasks:*", "--ignore", "main:*", "--ignore", "end:*");
    expect([0, 1]).toContain(glob.code);
    expect(glob.out).toMatch(/^300 scenarios: \d+ compared, 0 skipped, 0 both errored, \d+ ignored$/m);
    expect(glob.out).toMatch(/^ {2}ignored \d+: events:/m);
  });

  it("says when the two sides are different Python versions", () => {
    const r = aiospec("diff", "reference@3.12", "reference@3.13", "--runs", "30", "--seed", "1");
    expect(r.out).toMatch(/^note: reference@3.12 behaves as Python 3.12 and reference@3.13 as 3.13: the scenarios use only what 3.12 has/m);
  });

  it("prints replay commands that a POSIX shell runs as printed, quoting ids with blanks and quotes", () => {
    // A driver path with a blank and a quote, through a symbolic link.
    const dir = path.join(tmp, "it's a dir");
    fs.mkdirSync(dir, { recursive: true });
    const link = path.join(dir, "driver.py");
    if (!fs.existsSync(link)) fs.symlinkSync(UNSUPPORTED_DRIVER, link);
    const id = `cmd:python3 "${link}" --fail-on sleep`;
    const r = aiospec("diff", id, "reference", "--runs", "200", "--seed", "9");
    expect(r.code, r.err).toBe(1);
    expect(r.out).toMatch(/^Signature: no-trace:a /m);
    const commands = r.out.split("\n").filter((l) => l.startsWith("  npx aiospec ")).map((l) => l.trim());
    expect(commands).toHaveLength(2);
    // `npx aiospec` is this checkout's bin/aiospec.js, found on PATH.
    const bin = path.join(tmp, "bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, "npx"), `#!/bin/sh\n[ "$1" = aiospec ] && shift\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
    const sh = (command: string) => {
      const x = spawnSync("sh", ["-c", command], { encoding: "utf8", cwd: tmp, env: { ...process.env, CI: "1", PATH: `${bin}${path.delimiter}${process.env.PATH}` } });
      return { code: x.status, out: x.stdout, err: x.stderr };
    };
    const diff = sh(commands[0]);
    expect(diff.code, diff.err).toBe(1);
    expect(diff.out).toMatch(/^Signature: no-trace:a /m);
    expect(diff.out).toContain(commands[0]);
    const replay = sh(commands[1]);
    // No trace: the implementation's doing (exit 1, docs/reliability.md).
    expect(replay.code).toBe(1);
    expect(replay.err).toMatch(/fails on sleep on purpose/);
  });
});
