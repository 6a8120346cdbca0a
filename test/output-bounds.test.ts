/**
 * Issue 14: input refused before anything runs, and clause globs in linear
 * time, through the whole command (main() of harness/cli/cli.ts, in this
 * process).
 *
 * - `--path` names a case of an earlier run (fast-check's path): one that
 *   leads nowhere is one line and exit 2 before any clause runs (it used to
 *   run the clause, then fail with "Unable to replay"; diff printed a stack
 *   trace), while a path a failure printed still replays.
 * - diff saves divergences under .aiospec/counterexamples: a working
 *   directory where that cannot be made is refused before the search.
 * - `--clause '************Z'` and a baseline entry `"clause": "**********Z"`
 *   finish at once (they ran for minutes with an exponential matcher).
 *
 * No wall-clock assertion: the generous timeouts catch a run that never ends.
 */
import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../harness/cli/cli";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-bounds-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** main() with what it writes to stdout and stderr (this run's only: other tests do not run concurrently here). */
async function aiospec(args: string[], cwd?: string): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  const here = process.cwd();
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  let code: number;
  try {
    if (cwd) process.chdir(cwd);
    code = await main(args);
  } finally {
    process.chdir(here);
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
  return { code, out: out.join(""), err: err.join("") };
}

const FIFO = "loop.call_soon.fifo";

/** A working directory whose .aiospec is a file: nothing can be created under it. */
function cwdWhereAiospecIsAFile(name: string): string {
  const cwd = path.join(tmp, name);
  fs.mkdirSync(cwd);
  fs.writeFileSync(path.join(cwd, ".aiospec"), "");
  return cwd;
}

describe("--path is checked before anything runs", () => {
  it("run: a path that a failure printed replays that case; one past its shrinks is one line, exit 2, no clause run", async () => {
    const json = path.join(tmp, "lifo.json");
    const first = await aiospec(["run", "--impl", "mutant:lifo-ready", "--clause", FIFO, "--seed", "1", "--runs", "50", "--json", json]);
    expect(first.code).toBe(1);
    const found: string = JSON.parse(fs.readFileSync(json, "utf8")).results[0].failure.path;
    expect(found).toMatch(/^\d+(:\d+)*$/);

    const again = await aiospec(["run", "--impl", "mutant:lifo-ready", "--clause", FIFO, "--seed", "1", "--path", found]);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/FAIL {2}loop\.call_soon\.fifo .*checked 1 of 1/);

    const wrong = await aiospec(["run", "--impl", "mutant:lifo-ready", "--clause", FIFO, "--seed", "1", "--path", `${found}:99`]);
    expect(wrong.code).toBe(2);
    expect(wrong.out).toBe("");
    expect(wrong.err.trimEnd().split("\n")).toEqual([
      expect.stringMatching(new RegExp(`^aiospec: --path ${found}:99: the run of ${FIFO.replace(/\./g, "\\.")} with seed 1 on mutant:lifo-ready@3\\.13 has no such case .*no shrink candidate number 99`)),
    ]);
  }, 300_000);

  it("run: bad syntax and a path without its seed stay one-line usage errors", async () => {
    expect((await aiospec(["run", "--impl", "reference", "--clause", FIFO, "--seed", "1", "--path", "1:x"])).code).toBe(2);
    const noSeed = await aiospec(["run", "--impl", "reference", "--clause", FIFO, "--path", "1"]);
    expect(noSeed.code).toBe(2);
    expect(noSeed.err).toMatch(/give that run's --seed too/);
  }, 120_000);

  it("diff: a path past the shrinks is one line, exit 2 (it was a stack trace after the search)", async () => {
    const r = await aiospec(["diff", "reference@3.13", "mutant:lifo-ready@3.13", "--seed", "1", "--runs", "50", "--path", "0:99999"]);
    expect(r.code).toBe(2);
    expect(r.err).not.toMatch(/internal error|\n\s+at /);
    expect(r.err).toMatch(/^aiospec: --path 0:99999: the diff of reference@3\.13 and mutant:lifo-ready@3\.13 with seed 1 has no such case/m);
    expect(r.out).toBe("");
  }, 120_000);

  it("diff: a working directory where .aiospec/counterexamples cannot be made is refused before the search", async () => {
    const cwd = cwdWhereAiospecIsAFile("cwd");
    const r = await aiospec(["diff", "reference@3.13", "mutant:lifo-ready@3.13", "--seed", "1", "--runs", "50"], cwd);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err.trimEnd().split("\n")).toEqual([expect.stringMatching(/^aiospec: diff saves divergences in \.aiospec\/counterexamples: cannot create .*is not a directory$/)]);
  }, 120_000);
});

describe("where a run writes as it goes is checked before it starts", () => {
  it("run: a working directory where .aiospec cannot be made (no report files given) is one line, exit 2", async () => {
    // (Under /proc, Node's recursive mkdirSync never returned: the run spun at 100% CPU before any clause.)
    const cwd = cwdWhereAiospecIsAFile("cwd-run");
    const r = await aiospec(["run", "--impl", "reference", "--clause", "sleep.result", "--runs", "1"], cwd);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err.trimEnd().split("\n")).toEqual([expect.stringMatching(/^aiospec: the run journal and failure files go into .*\.aiospec: cannot create .* is not a directory$/)]);
  }, 120_000);
});

describe.runIf(fs.existsSync("/proc/self"))("--out under /proc (writable to root by its permission bits, yet nothing can be made there)", () => {
  // report wrote nothing and spun in Node's recursive mkdirSync after running every implementation.
  it.each([
    ["report", ["report", "--out", "/proc/aiospec-out", "--impl", "reference", "--clause", "sleep.result", "--runs", "1"]],
    ["run", ["run", "--impl", "reference", "--clause", "sleep.result", "--runs", "1", "--out", "/proc/aiospec-out"]],
  ])("%s: one line, exit 2, before anything runs", async (_, args) => {
    const r = await aiospec(args);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err.trimEnd().split("\n")).toEqual(["aiospec: --out /proc/aiospec-out: cannot write in /proc (ENOENT)"]);
  }, 120_000);
});

describe("globs of many stars finish at once (issue 14.3)", () => {
  it("--clause '************Z': no clause matches, one line, exit 2", async () => {
    const r = await aiospec(["run", "--impl", "reference", "--clause", "************Z"]);
    expect(r.code).toBe(2);
    expect(r.err.trimEnd().split("\n")).toEqual(['aiospec: no clause matches "************Z" (see `aiospec list`)']);
  }, 60_000);

  it('a baseline entry "clause": "**********Z" is an entry that matches no clause: a warning, and the run goes on', async () => {
    const file = path.join(tmp, "stars.json");
    fs.writeFileSync(file, JSON.stringify({
      format: "aiospec-baseline",
      schemaVersion: 1,
      knownFailures: [
        { implementation: "reference", clause: "**********Z", reason: "x" },
        { implementation: "**********Z", clause: "*".repeat(40) + "Z", reason: "y" },
      ],
    }));
    const r = await aiospec(["run", "--impl", "reference", "--clause", "sleep.result", "--runs", "1", "--seed", "1", "--baseline", file]);
    expect(r.code).toBe(0);
    expect(r.err).toContain('no clause matches "**********Z" (reference)');
    expect(r.out).toMatch(/1 passed/);
  }, 60_000);
});
