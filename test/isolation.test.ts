/**
 * The isolation layer: implementations under test are buggy by definition.
 * Whatever one does (hang, block, crash or kill its process, throw a string,
 * send a malformed or oversized trace, exit mid-run, print garbage, never
 * answer, answer the wrong request), the harness gives that case a verdict
 * ("timeout", "crash" or "error", with a reason), runs the next case on a
 * fresh child process / driver, never hangs, and leaves nothing running.
 *
 * Time limits here are generous on purpose (a loaded CI machine starts a
 * child process in seconds, not milliseconds): they catch hangs, not slowness.
 *
 * Fixtures: test/fixtures/impls/ (each misbehaves only on scenarios that
 * sleep, so GOOD runs normally on all of them).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  DEFAULT_LIMITS, ReplyTooLarge, Target, TargetOptions, UsageError, liveResources, parseModuleId, resolvePair, resolveTarget,
} from "../harness/targets";
import { TargetFailure, runClause } from "../harness/running/runner";
import { differential } from "../spec/clauses/differential";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import { canonicalJson } from "../spec/scenario/trace";
import type { Scenario } from "../spec/scenario/types";
import { splitCommandLine } from "../harness/targets/isolation/cmdline";
import { traceShapeError } from "../harness/targets/isolation/trace-shape";
import { alive } from "./helpers/processes";

const FIX = path.resolve(__dirname, "fixtures", "impls");
const fixture = (name: string) => path.join(FIX, name);
const hostile = (name: string) => path.join(__dirname, "fixtures", "hostile", name);
const DRIVER = fixture("misbehaving_driver.py");
const cmd = (...words: string[]) => `cmd:python3 ${DRIVER} ${words.join(" ")}`;
const BIN = path.resolve(__dirname, "..", "bin", "aiospec.js");

/** No sleep: every fixture runs it as the reference does. */
const GOOD: Scenario = {
  aiospec: 1,
  coroutines: [
    { name: "main", body: [{ op: "create_task", coro: "w", task: "t" }, { op: "log", label: "spawned" }, { op: "await", on: { task: "t" } }] },
    { name: "w", body: [{ op: "log", label: "working" }, { op: "return", value: 42 }] },
  ],
} as Scenario;

/** A sleep: every fixture misbehaves on it. */
const BAD: Scenario = {
  aiospec: 1,
  coroutines: [{ name: "main", body: [{ op: "log", label: "before" }, { op: "sleep", ticks: 1 }, { op: "log", label: "after" }] }],
} as Scenario;

const expected = (v: "3.11" | "3.12" | "3.13", s: Scenario) => canonicalJson(runScenario(makeReference(v), s));

const open: Target[] = [];
async function target(id: string, options: TargetOptions = {}, hint?: "3.11" | "3.12" | "3.13"): Promise<Target> {
  const t = await resolveTarget(id, hint, options);
  open.push(t);
  return t;
}

async function failure(p: Promise<unknown>): Promise<TargetFailure> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TargetFailure);
    return e as TargetFailure;
  }
  throw new Error("the case did not fail");
}

async function usageError(p: Promise<unknown>): Promise<string> {
  try {
    const t = await p;
    await (t as Target).close();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    const msg = (e as Error).message;
    expect(msg.split("\n")).toHaveLength(1);
    return msg;
  }
  throw new Error("resolveTarget did not fail");
}

async function until(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
}

const python3 = spawnSync("python3", ["--version"]).status === 0;
const PY_VERSION = python3
  ? (spawnSync("python3", ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" }).stdout.trim() as "3.11")
  : "3.11";

beforeAll(async () => {
  // The first worker of a fresh checkout transpiles the interpreter and the reference (cached afterwards).
  const t = await resolveTarget(fixture("good.ts"), undefined, { startTimeoutMs: 60_000 });
  await t.close();
}, 90_000);

afterAll(async () => {
  await Promise.all(open.map((t) => t.close()));
  // Nothing started by the isolation layer is left running.
  expect(await until(() => liveResources().length === 0)).toBe(true);
});

describe("TypeScript modules run in child processes", () => {
  it("a well-behaved module gives the reference's traces, with the id that replays it", async () => {
    const t = await target(fixture("good.ts"));
    expect(t.isolation).toBe("process");
    expect(t.version).toBe("3.13");
    expect(t.id).toBe(`${fixture("good.ts")}@3.13`);
    expect(canonicalJson(await t.run(GOOD))).toBe(expected("3.13", GOOD));
    expect(canonicalJson(await t.run(BAD))).toBe(expected("3.13", BAD));
    // Concurrent calls are queued, one case at a time.
    const many = await Promise.all([GOOD, BAD, GOOD, BAD].map((s) => t.run(s)));
    expect(many.map((x) => canonicalJson(x))).toEqual([GOOD, BAD, GOOD, BAD].map((s) => expected("3.13", s)));
  });

  it("a factory takes the @3.X of the id, or the version hint; an object claims its own", async () => {
    expect((await target(`${fixture("good.ts")}@3.11`)).version).toBe("3.11");
    expect((await target(fixture("good.ts"), {}, "3.12")).version).toBe("3.12");
    const obj = await target(fixture("good-object.js"), {}, "3.11");
    expect(obj.version).toBe("3.12");
    expect(obj.id).toBe(fixture("good-object.js"));
    expect(canonicalJson(await obj.run(GOOD))).toBe(expected("3.12", GOOD));
    // reference follows a module's version in a pair.
    const [a, b] = await resolvePair("reference", fixture("good-object.js"));
    open.push(a, b);
    expect([a.version, b.version]).toEqual(["3.12", "3.12"]);
  });

  it("relative module paths resolve from the working directory", () => {
    expect(parseModuleId("./impl.ts")).toEqual({ file: "./impl.ts", version: undefined });
    expect(parseModuleId("impl.ts@3.12")).toEqual({ file: "impl.ts", version: "3.12" });
    expect(parseModuleId("/abs/impl.js")).toEqual({ file: "/abs/impl.js", version: undefined });
    expect(parseModuleId("jython")).toBeNull();
  });

  it("the reference and mutants can run isolated too, with the same traces", async () => {
    const t = await target("reference@3.12", { isolate: true });
    expect(t.isolation).toBe("process");
    expect(t.id).toBe("reference@3.12");
    expect(canonicalJson(await t.run(BAD))).toBe(expected("3.12", BAD));
    const m = await target("mutant:lifo-ready@3.12", { isolate: true });
    const inProcess = await target("mutant:lifo-ready@3.12");
    expect(inProcess.isolation).toBe("in-process");
    expect(canonicalJson(await m.run(GOOD))).toBe(canonicalJson(await inProcess.run(GOOD)));
  });
});

describe("every way a module misbehaves gives its case a verdict, and the next case runs", () => {
  const cases: Array<[string, "timeout" | "error" | "crash", RegExp, number, Partial<TargetOptions>?]> = [
    ["hang-sync.ts", "timeout", /timed out: no trace after 1000 ms/, 1],
    ["never-settles.ts", "timeout", /timed out: no trace after 1000 ms/, 1],
    ["exits.ts", "crash", /child process exited with code 3.*giving up on life/, 1],
    [hostile("kills-itself.ts"), "crash", /child process was killed by SIGKILL/, 1],
    [hostile("aborts.ts"), "crash", /child process was killed by SIGABRT/, 1],
    ["throws-in-timer.ts", "error", /uncaught in the child process: Error: boom in a timer/, 1],
    ["rejects-unhandled.ts", "error", /uncaught in the child process: .*nobody handles this rejection/, 1],
    ["throws-string.ts", "error", /a thrown string \(not an Error\): "oops: not an Error"/, 0],
    ["malformed-trace.ts", "error", /malformed trace: trace\.events\[\d+\]\.task is number 42, not a task name or null/, 0],
    // 9 MiB through JSON and a pipe takes seconds on a loaded machine: a time limit that does not decide the verdict.
    ["oversized-trace.ts", "error", /the trace is 9\.0 MiB of JSON, over the 8\.0 MiB limit/, 0, { timeoutMs: 30_000 }],
    ["out-of-memory.ts", "crash", /out of memory: its heap is limited to 64 MB/, 1, { workerHeapMb: 64, timeoutMs: 30_000 }],
    [hostile("buffers.ts"), "crash", /out of memory: the child process used \d+\.\d MiB, over the 200 MB memory limit/, 1, { memoryMb: 200, timeoutMs: 30_000 }],
  ];

  it.each(cases)("%s: %s", async (file, verdict, reason, restarts, extra) => {
    const t = await target(path.isAbsolute(file) ? file : fixture(file), { timeoutMs: 1000, ...extra });
    expect(canonicalJson(await t.run(GOOD))).toBe(expected("3.13", GOOD));
    const started = Date.now();
    const f = await failure(t.run(BAD));
    // A trace over the limit says so by its class: a diff compares it with the other side's, held to the same limit.
    expect(f instanceof ReplyTooLarge).toBe(file === "oversized-trace.ts");
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(f.verdict).toBe(verdict);
    expect(f.message).toMatch(reason);
    expect(f.message.split("\n")).toHaveLength(1);
    // The next case runs (on a replacement worker when the old one died), and so does another failing one.
    expect(canonicalJson(await t.run(GOOD))).toBe(expected("3.13", GOOD));
    expect((await failure(t.run(BAD))).verdict).toBe(verdict);
    expect(canonicalJson(await t.run(GOOD))).toBe(expected("3.13", GOOD));
    const stats = t.stats!();
    expect(stats).toMatchObject({ isolation: "process", cases: 5, restarts: 2 * restarts, gaveUp: null });
    expect(stats.timeouts + stats.errors).toBe(2);
    await t.close();
    expect(liveResources().filter((r) => r.label.includes(path.basename(file)))).toEqual([]);
  }, 180_000);

  it("restarts are bounded: past the limit every case fails at once, saying why", async () => {
    const events: string[] = [];
    const t = await target(fixture("exits.ts"), { maxRestarts: 2, onEvent: (e) => events.push(`${e.kind} ${e.restarts}`) });
    for (let i = 0; i < 3; i++) expect((await failure(t.run(BAD))).message).toMatch(/exited with code 3/);
    const started = Date.now();
    for (const s of [GOOD, BAD, GOOD]) {
      const f = await failure(t.run(s));
      expect(f.verdict).toBe("error");
      expect(f.message).toMatch(/was given up after 2 restart\(s\) of its child process \(the limit is 2\); the last failure: the child process exited with code 3/);
    }
    // No process is started for them: they fail at once (generously: the machine may be loaded).
    expect(Date.now() - started).toBeLessThan(5000);
    expect(events).toEqual(["restart 1", "restart 2", "gave-up 2"]);
    expect(t.stats!().gaveUp).toMatch(/given up/);
  }, 120_000);

  it("a module that cannot start is one UsageError at resolve time", async () => {
    const quick = { startTimeoutMs: 20_000 };
    expect(await usageError(resolveTarget(fixture("load-throws.ts"), undefined, quick))).toMatch(
      /^implementation ".*load-throws\.ts" cannot be loaded: loading load-throws\.ts failed: Error: cannot initialise: the native scheduler library is missing/,
    );
    expect(await usageError(resolveTarget(fixture("load-exits.ts"), undefined, quick))).toMatch(/cannot be loaded: the child process exited with code 7 before the implementation was loaded/);
    expect(await usageError(resolveTarget(fixture("load-hangs.ts"), undefined, { startTimeoutMs: 3000 }))).toMatch(/cannot be loaded: the module did not finish loading within 3000 ms/);
    expect(await usageError(resolveTarget(fixture("not-an-impl.ts"), undefined, quick))).toMatch(/not-an-impl\.ts exports no implementation: export an AsyncioImplementation or a factory/);
    expect(await usageError(resolveTarget(fixture("wrong-version.ts"), undefined, quick))).toMatch(/claims pythonVersion "2\.7"; aiospec knows 3\.8, 3\.9, .*3\.14/);
    expect(await usageError(resolveTarget(`${fixture("good-object.js")}@3.11`, undefined, quick))).toMatch(/was asked for Python 3\.11 but its implementation claims 3\.12/);
    expect(await usageError(resolveTarget("./no/such/impl.ts"))).toMatch(/^implementation "\.\/no\/such\/impl\.ts": no such file .*no\/such\/impl\.ts$/);
    expect(await usageError(resolveTarget(`${fixture("good.ts")}@2.7`))).toMatch(/versions are @3\.8, @3\.9, .*@3\.14/);
    expect(await usageError(resolveTarget("jython"))).toMatch(/^unknown implementation "jython": expected reference.*a module path \(\.\/impl\.ts\) or cmd:"COMMAND LINE"$/);
    expect(await usageError(resolveTarget("reference", undefined, { timeoutMs: -1 }))).toMatch(/timeoutMs must be a positive number/);
    expect(await usageError(resolveTarget("reference", undefined, { timeoutMs: 2 ** 31 }))).toMatch(/timeoutMs must be at most 2147483647 ms/);
  }, 180_000);
});

describe.runIf(python3)("every way a driver misbehaves gives its case a verdict, and the next case runs", () => {
  const cases: Array<[string, "timeout" | "error" | "crash", RegExp, number?]> = [
    ["exit", "crash", /the driver exited with code 3: misbehaving driver: exiting mid-run/],
    ["garbage", "error", /the driver printed a line that is not JSON: "Traceback \(most recent call last\): this is not JSON"/],
    ["silent", "timeout", /timed out: no reply after 1000 ms \(the driver was killed\)/],
    ["wrong-id", "error", /the driver answered request \d+, which is not pending \(waiting for \d+\)/],
    ["malformed", "error", /malformed trace: trace\.events is the string "not a list", not an array/],
    // A reply over the limit fails its case; the driver goes on (the line is passed over): no restart.
    ["oversized", "error", /the driver's reply is longer than 8\.0 MiB \(the reply limit\); the driver goes on/, 30_000],
  ];

  it.each(cases)("%s: %s", async (mode, verdict, reason, timeoutMs = 1000) => {
    const t = await target(cmd(mode), { timeoutMs });
    expect(t.isolation).toBe("process");
    expect(t.version).toBe(PY_VERSION);
    const want = expected(PY_VERSION, GOOD);
    expect(canonicalJson(await t.run(GOOD))).toBe(want);
    const started = Date.now();
    const f = await failure(t.run(BAD));
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(f.verdict).toBe(verdict);
    expect(f.message).toMatch(reason);
    expect(canonicalJson(await t.run(GOOD))).toBe(want);
    expect((await failure(t.run(BAD))).verdict).toBe(verdict);
    expect(canonicalJson(await t.run(GOOD))).toBe(want);
    const killed = mode !== "malformed" && mode !== "oversized";
    if (mode === "oversized") expect(f).toBeInstanceOf(ReplyTooLarge);
    expect(t.stats!()).toMatchObject({ isolation: "process", cases: 5, restarts: killed ? 2 : 0, gaveUp: null });
    await t.close();
    expect(liveResources().filter((r) => r.label.includes(`driver.py ${mode}`))).toEqual([]);
  }, 120_000);

  it("a driver in another language: a Node script", async () => {
    const t = await target(`cmd:node ${fixture("node_driver.js")}`, { timeoutMs: 2000 });
    expect(t.version).toBe("3.13");
    expect(t.description).toMatch(/node-fixture/);
    expect((await t.run(GOOD)).end).toEqual({ kind: "complete" });
    const f = await failure(t.run(BAD));
    expect(f.message).toMatch(/the driver exited with code 4/);
    expect((await t.run(GOOD)).end).toEqual({ kind: "complete" });
  }, 120_000);

  it("killing a driver kills what it started: its process group", async () => {
    const pidFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-iso-")), "pids");
    const t = await target(cmd("grandchild", pidFile), { timeoutMs: 500 });
    expect(await until(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, "utf8").includes("\n"))).toBe(true);
    const [driverPid, childPid] = fs.readFileSync(pidFile, "utf8").trim().split(" ").map(Number);
    expect(alive(driverPid) && alive(childPid)).toBe(true);
    expect((await failure(t.run(BAD))).verdict).toBe("timeout");
    // The driver ignores SIGTERM, its child never reads stdin: both are gone anyway.
    expect(await until(() => !alive(driverPid) && !alive(childPid))).toBe(true);
    // Its replacement started a child too; closing the target (the driver exits on end of input) ends both.
    expect(await until(() => fs.readFileSync(pidFile, "utf8").trim() !== `${driverPid} ${childPid}` && fs.readFileSync(pidFile, "utf8").includes("\n"))).toBe(true);
    const [driver2, child2] = fs.readFileSync(pidFile, "utf8").trim().split(" ").map(Number);
    expect(alive(driver2) && alive(child2)).toBe(true);
    await t.close();
    expect(await until(() => !alive(driver2) && !alive(child2))).toBe(true);
  }, 120_000);

  it("a driver that cannot start is one UsageError at resolve time", async () => {
    const quick = { startTimeoutMs: 20_000 };
    expect(await usageError(resolveTarget("cmd:/no/such/driver --flag", undefined, quick))).toMatch(
      /^implementation "cmd:\/no\/such\/driver --flag" cannot start: cannot start \/no\/such\/driver: ENOENT \(no such program\)$/,
    );
    expect(await usageError(resolveTarget(cmd("die-at-start"), undefined, quick))).toMatch(
      /cannot start: the driver exited with code 5 before introducing itself: misbehaving driver: cannot find my configuration/,
    );
    expect(await usageError(resolveTarget(cmd("mute"), undefined, { startTimeoutMs: 3000 }))).toMatch(/cannot start: the driver did not introduce itself within 3000 ms/);
    expect(await usageError(resolveTarget(cmd("no-hello"), undefined, quick))).toMatch(/cannot start: the driver printed a line that is not JSON: "Welcome to my driver!"/);
    expect(await usageError(resolveTarget(cmd("bad-version"), undefined, quick))).toMatch(/claiming Python 2\.7; aiospec knows 3\.8, 3\.9, .*3\.14/);
    expect(await usageError(resolveTarget("cmd:python3 driver.py | tee log"))).toMatch(/unquoted "\|" at position 19: the command runs without a shell/);
    expect(await usageError(resolveTarget("cmd:"))).toMatch(/the command line is empty/);
  }, 180_000);

  it("cpython targets are supervised drivers too", async () => {
    const t = await target("cpython", { timeoutMs: 5000 });
    expect(t.isolation).toBe("process");
    expect(canonicalJson(await t.run(BAD))).toBe(expected(PY_VERSION, BAD));
  }, 120_000);
});

describe("the clause runner turns isolated failures into counterexamples", () => {
  it("a module that throws a string: the differential clause fails with an error verdict", async () => {
    const t = await target(fixture("throws-string.ts"));
    const r = await runClause(differential, t, { runs: 100, seed: 1 });
    expect(r.status).toBe("fail");
    expect(r.counterexample!.verdict).toBe("error");
    expect(r.counterexample!.message).toMatch(/a thrown string \(not an Error\)/);
    expect(JSON.stringify(r.counterexample!.scenario)).toMatch(/sleep/);
  }, 180_000);

  it.runIf(python3)("a driver that never answers: the differential clause fails with a timeout verdict", async () => {
    const t = await target(cmd("silent"), { timeoutMs: 300, maxRestarts: 500 });
    const started = Date.now();
    const r = await runClause(differential, t, { runs: 100, seed: 1 });
    expect(r.status).toBe("fail");
    expect(r.counterexample!.verdict).toBe("timeout");
    expect(r.counterexample!.message).toMatch(/timed out: no reply after 300 ms/);
    expect(Date.now() - started).toBeLessThan(150_000);
  }, 180_000);

  it("a module that hangs, with the default restart limit: the clause still ends, failing", async () => {
    const t = await target(fixture("hang-sync.ts"), { timeoutMs: 300 });
    const r = await runClause(differential, t, { runs: 100, seed: 1 });
    expect(r.status).toBe("fail");
    expect(["timeout", "error"]).toContain(r.counterexample!.verdict);
    expect(r.counterexample!.message).toMatch(/timed out|given up after 20 restart/);
    expect(t.stats!().restarts).toBeLessThanOrEqual(DEFAULT_LIMITS.maxRestarts);
  }, 180_000);
});

describe("the command line of cmd: ids", () => {
  it.each([
    ["python3 driver.py", ["python3", "driver.py"]],
    ["  python3   -u  driver.py ", ["python3", "-u", "driver.py"]],
    [`"python3 driver.py --x"`, ["python3", "driver.py", "--x"]],
    [`'/opt/my driver/run' --name "a b" c\\ d`, ["/opt/my driver/run", "--name", "a b", "c d"]],
    [`node -e 'console.log("$HOME")'`, ["node", "-e", 'console.log("$HOME")']],
    [`a "x\\"y\\\\z" '' b`, ["a", 'x"y\\z', "", "b"]],
    ["a*.py b~ 'c|d'", ["a*.py", "b~", "c|d"]],
  ])("%s", (line, words) => {
    expect(splitCommandLine(line)).toEqual(words);
  });

  it.each([["a | b"], ["a > out"], ["a; b"], ["echo $HOME"], ["~/driver"], ["a 'unterminated"], ['a "unterminated'], ["a `b`"], [""], ["   "]])(
    "refuses %j",
    (line) => {
      expect(() => splitCommandLine(line)).toThrow();
    },
  );
});

describe("trace shape", () => {
  it("accepts real traces and names the first bad field", () => {
    expect(traceShapeError(JSON.parse(expected("3.13", GOOD)))).toBeNull();
    expect(traceShapeError(null)).toMatch(/not an object/);
    expect(traceShapeError({ events: [], end: { kind: "exploded" }, main: { state: "pending" }, tasks: [] })).toMatch(/trace\.end\.kind/);
    expect(traceShapeError({ events: [{ ev: "log", time: "soon", task: null }], end: { kind: "complete" }, main: { state: "pending" }, tasks: [] })).toMatch(/events\[0\]\.time/);
    expect(traceShapeError({ events: [], end: { kind: "complete" }, main: { state: "pending" }, tasks: [{ state: "pending" }] })).toMatch(/tasks\[0\]\.name/);
  });

  it("skips the depth walk only for JSON too short to nest too deeply", () => {
    const trace = (depth: number) => {
      let value: unknown = 0;
      for (let i = 0; i < depth; i++) value = [value];
      return { events: [], end: { kind: "complete" }, main: { state: "result", value }, tasks: [] };
    };
    // Nested one level past the limit (the trace, main, then the arrays): its JSON is longer than 2 * 1000 characters.
    const deep = JSON.stringify(trace(999));
    expect(deep.length).toBeGreaterThan(2 * 1000);
    expect(traceShapeError(JSON.parse(deep), deep.length)).toMatch(/nests deeper than 1000 levels/);
    expect(traceShapeError(JSON.parse(deep))).toMatch(/nests deeper than 1000 levels/);
    // At the limit: accepted, walked or not.
    const limit = JSON.stringify(trace(998));
    expect(traceShapeError(JSON.parse(limit), limit.length)).toBeNull();
    expect(traceShapeError(JSON.parse(limit))).toBeNull();
    // A short text is not walked: a length that lies is believed (only the caller knows the text).
    expect(traceShapeError(JSON.parse(deep), 2 * 1000)).toBeNull();
    // Given the text: walked only when it opens more than 1000 arrays and objects.
    expect(traceShapeError(JSON.parse(deep), deep)).toMatch(/nests deeper than 1000 levels/);
    expect(traceShapeError(JSON.parse(limit), limit)).toBeNull();
    // A text that lies is believed: a long one with few brackets is not walked ...
    const few = `[${" ".repeat(5000)}]`;
    expect(traceShapeError(JSON.parse(deep), few)).toBeNull();
    // ... and one with many is (here the trace is shallow: the walk finds it so).
    const many = `${"[".repeat(1001)}${" ".repeat(1500)}`;
    expect(traceShapeError(JSON.parse(limit), many)).toBeNull();
    expect(traceShapeError(JSON.parse(deep), many)).toMatch(/nests deeper than 1000 levels/);
    // Braces count as well as brackets: 600 of each is more than 1000; 1000 in all is not.
    const mixed = `${"{".repeat(600)}${"[".repeat(600)}${" ".repeat(1000)}`;
    expect(traceShapeError(JSON.parse(deep), mixed)).toMatch(/nests deeper than 1000 levels/);
    expect(traceShapeError(JSON.parse(deep), mixed.slice(0, 1000) + " ".repeat(1500))).toBeNull();
  });
});

describe("the CLI with isolated implementations", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-iso-cli-"));
  const scenario = path.join(tmp, "bad.json");
  fs.writeFileSync(scenario, JSON.stringify(BAD));
  const aiospec = (...args: string[]) =>
    // Each aiospec process starts ts-node: tens of seconds on a loaded machine.
    spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: tmp, env: { ...process.env, CI: "1" }, timeout: 120_000 });

  it("replays a scenario on a module, and a failing case exits 1 (the implementation's fault) with one line", () => {
    const ok = aiospec("replay", scenario, "--impl", fixture("good.ts"), "--json");
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe(expected("3.13", BAD) + "\n");
    const bad = aiospec("replay", scenario, "--impl", fixture("exits.ts"));
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe("");
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/exited with code 3/);
  }, 300_000);

  it("a module refused as it loads: exit 2, one line; one that exits while loading: exit 1 (its fault)", () => {
    expect(aiospec("replay", scenario, "--impl", "./no-such-impl.ts").status).toBe(2);
    const exits = aiospec("replay", scenario, "--impl", fixture("load-exits.ts"));
    expect(exits.status).toBe(1);
    expect(exits.stderr.trim().split("\n")).toHaveLength(1);
    const r = aiospec("replay", scenario, "--impl", fixture("load-throws.ts"));
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot be loaded: loading load-throws\.ts failed: Error: cannot initialise/);
  }, 400_000);
});
