/** The aiospec command as a user meets it: exit codes, one-line errors, outputs. */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const BIN = path.resolve(__dirname, "..", "bin", "aiospec.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-cli-"));

function aiospec(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: tmp, env: { ...process.env, CI: "1" } });
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
      [["replay", f, "--impl", "cpython-3.99"], /no CPython 3.99 found \(looked for .*3\.99\.\*\/bin\/python3 and python3.99 on PATH\)/],
      [["replay", f, "--impl", "mutant:nonesuch"], /unknown mutant "nonesuch"/],
    ] as Array<[string[], RegExp]>) {
      const r = aiospec(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.out).toBe("");
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).toMatch(pattern);
    }
  });
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
    const replay = /npx aiospec diff mutant:lifo-ready cpython --seed 1 --path (\S+)/.exec(r.out);
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
