/**
 * The hostile-implementation suite (issue 13): `aiospec run` against
 * implementations that misbehave on purpose, each through the whole command
 * (main() of harness/cli/cli.ts, in this process: no start-up cost per run)
 * on two clauses. Each run must end, with a complete report, the verdict the
 * misbehaviour deserves, and exit 1 — or exit 0 when the implementation is
 * right and only noisy (floods of output are no verdict). And a run killed
 * with SIGKILL leaves a journal that `aiospec report --resume` reports from.
 *
 * Fixtures: test/fixtures/hostile/ (modules, hostile_driver.py) and
 * test/fixtures/impls/. Each misbehaves only in scenarios that sleep; both
 * clauses' scenarios do.
 *
 * Wall-time bounds are generous (a loaded 2-core machine starts a child
 * process in seconds): they catch a run that hangs, not one that is slow.
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../harness/cli/cli";
import { liveResources } from "../harness/targets";
import { alive } from "./helpers/processes";

const HOSTILE = path.join(__dirname, "fixtures", "hostile");
const IMPLS = path.join(__dirname, "fixtures", "impls");
const BIN = path.resolve(__dirname, "..", "bin", "aiospec.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-hostile-"));
const python3 = spawnSync("python3", ["--version"]).status === 0;
const CLAUSES = "sleep.result,gather.order";
/** Per run: far above what a run takes on a loaded machine (tens of seconds), far below "never ends". */
const WALL_MS = 240_000;

// Both grandchild fixtures append the pids of what they start here (one file: the tests run concurrently).
const PIDS = path.join(tmp, "grandchild-pids");
process.env.AIOSPEC_HOSTILE_PIDFILE = PIDS;
const driver = (mode: string, ...rest: string[]) => `cmd:python3 ${path.join(HOSTILE, "hostile_driver.py")} ${[mode, ...rest].join(" ")}`;

interface Outcome {
  code: number;
  ms: number;
  report: {
    complete: boolean;
    outcome: string;
    notes: string[];
    timing: { jobs: number };
    results: Array<{ id: string; status: string; failure?: { verdict: string; message: string } }>;
  } | null;
}

/**
 * `aiospec run` on two clauses. timeoutMs: 3 s per case; 30 s where the
 * misbehaviour needs CPU to show (allocating a GiB, writing 8 MiB of output,
 * 7 MiB replies) and a loaded machine gives the child little of it.
 */
async function run(impl: string, name: string, timeoutMs = 3000, jobs = 1): Promise<Outcome> {
  const json = path.join(tmp, `${name}.json`);
  const started = Date.now();
  const code = await main(["run", "--impl", impl, "--clause", CLAUSES, "--runs", "5", "--seed", "1", "--json", json, "--timeout-ms", String(timeoutMs), "--jobs", String(jobs)]);
  const ms = Date.now() - started;
  const report = fs.existsSync(json) ? JSON.parse(fs.readFileSync(json, "utf8")) : null;
  // The figures the suite is judged on, one line per mode (the wall time is the machine's, loaded or not).
  process.stderr.write(`hostile: ${name}: exit ${code}, ${ms} ms, verdicts ${report ? report.results.map((r: { failure?: { verdict: string } }) => r.failure?.verdict ?? "pass").join("/") : "(no report)"}\n`);
  return { code, ms, report };
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

afterAll(async () => {
  // Nothing any run started is left running.
  expect(await until(() => liveResources().length === 0, 10_000)).toBe(true);
});

type Verdict = "timeout" | "error" | "crash" | "fail";
const modules: Array<[string, string, Verdict, RegExp, number?]> = [
  ["never settles", path.join(IMPLS, "never-settles.ts"), "timeout", /timed out: no trace after 3000 ms/],
  ["hangs synchronously", path.join(IMPLS, "hang-sync.ts"), "timeout", /timed out: no trace after 3000 ms/],
  ["throws a non-Error", path.join(IMPLS, "throws-string.ts"), "error", /a thrown string \(not an Error\)/],
  ["exits after N cases", path.join(HOSTILE, "exits-after.ts"), "crash", /child process exited with code 0/],
  ["SIGKILLs itself", path.join(HOSTILE, "kills-itself.ts"), "crash", /killed by SIGKILL/],
  ["aborts", path.join(HOSTILE, "aborts.ts"), "crash", /killed by SIGABRT/],
  ["answers twice", path.join(HOSTILE, "answers-twice.ts"), "error", /answered a case it was not running/],
  ["writes garbage to fd 3 (the channel to aiospec)", path.join(HOSTILE, "writes-fd3.ts"), "error", /sent a malformed message \(not JSON: "garbage"/],
  ["deeply nested trace", path.join(HOSTILE, "deep-trace.ts"), "error", /nests deeper than 1000 levels \(the trace depth limit\)/],
  ["huge trace", path.join(HOSTILE, "huge-trace.ts"), "error", /over the 8\.0 MiB limit/],
  ["allocates Buffers without bound", path.join(HOSTILE, "buffers.ts"), "crash", /out of memory: the child process used .* over the 1024 MB memory limit/, 30_000],
];

const drivers: Array<[string, string, Verdict, RegExp, number?]> = [
  ["driver answers twice", driver("twice"), "error", /answered request \d+, which is not pending/],
  // The id it answers with is not pending, or (requests pipelined) pending behind the one it was on.
  ["driver answers out of order", driver("out-of-order"), "error", /answered request \d+(, which is not pending| before request \d+)/],
  ["driver prints garbage after its answer", driver("garbage-after"), "error", /not JSON: "DeprecationWarning/],
  ["driver: deeply nested trace", driver("deep"), "error", /nests deeper than 1000 levels/],
  // 7 MiB a reply: writing, reading and checking it takes seconds on a loaded machine.
  ["driver: huge (well-formed) traces", driver("huge"), "fail", /./, 30_000],
  ["driver allocates without bound", driver("allocates"), "crash", /out of memory: the driver used .* over the 1024 MB memory limit/, 30_000],
];

describe.concurrent("a hostile implementation gets its verdict, the run completes, exit 1", () => {
  it.each(modules)("module: %s", async (name, impl, verdict, message, timeoutMs) => {
    const o = await run(impl, name.replace(/\W+/g, "-"), timeoutMs);
    expect(o.code).toBe(1);
    expect(o.ms).toBeLessThan(WALL_MS);
    expect(o.report!.complete).toBe(true);
    const failures = o.report!.results.filter((r) => r.failure);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.map((r) => r.failure!.verdict)).toContain(verdict);
    expect(failures.map((r) => r.failure!.message).join("\n")).toMatch(message);
  }, WALL_MS + 60_000);

  it.runIf(python3).each(drivers)("%s", async (name, impl, verdict, message, timeoutMs) => {
    const o = await run(impl, name.replace(/\W+/g, "-"), timeoutMs);
    expect(o.code).toBe(1);
    expect(o.ms).toBeLessThan(WALL_MS);
    expect(o.report!.complete).toBe(true);
    const failures = o.report!.results.filter((r) => r.failure);
    expect(failures.map((r) => r.failure!.verdict)).toContain(verdict);
    expect(failures.map((r) => r.failure!.message).join("\n")).toMatch(message);
  }, WALL_MS + 60_000);

  it.each([
    ["module floods stdout (console and fs.writeSync(1))", path.join(HOSTILE, "floods-stdout.ts")],
    ["module floods stderr", path.join(HOSTILE, "floods-stderr.ts")],
    ...(python3 ? [["driver floods stderr", driver("floods-stderr")]] : []),
  ])("%s: a right implementation stays right (exit 0), in bounded time", async (name, impl) => {
    const o = await run(impl, name.replace(/\W+/g, "-"), 30_000);
    expect(o.code).toBe(0);
    expect(o.ms).toBeLessThan(WALL_MS);
    expect(o.report!.complete).toBe(true);
  }, WALL_MS + 60_000);

  it.each([
    ["module", path.join(HOSTILE, "spawns-grandchild.ts"), /child process exited with code 9/],
    ...(python3 ? [["driver", driver("grandchild", PIDS), /the driver exited with code 9/] as const] : []),
  ] as Array<[string, string, RegExp]>)("%s that starts a process in a new session: crash, and the process does not outlive the run", async (kind, impl, message) => {
    const o = await run(impl, `${kind}-grandchild`);
    expect(o.code).toBe(1);
    expect(o.ms).toBeLessThan(WALL_MS);
    expect(o.report!.complete).toBe(true);
    const failures = o.report!.results.filter((r) => r.failure);
    expect(failures.map((r) => r.failure!.verdict)).toContain("crash");
    expect(failures.map((r) => r.failure!.message).join("\n")).toMatch(message);
    const pids = fs.readFileSync(PIDS, "utf8").trim().split("\n").map(Number);
    expect(pids.length).toBeGreaterThan(0);
    expect(await until(() => pids.every((p) => !alive(p)), 10_000)).toBe(true);
    // The report says what was killed, by pid (one of those the fixtures wrote down: both append to one file).
    const killed = /left \d+ process\(es\) of its own behind .*aiospec killed them: pid (\d+) \(sleep 600\)/.exec(o.report!.notes.join("\n"));
    expect(killed, o.report!.notes.join("\n")).not.toBeNull();
    expect(pids).toContain(Number(killed![1]));
  }, WALL_MS + 60_000);

  it("module that starts a daemon (new session, re-parented, no inherited pipes): the run ends, the daemon with it, and the report names it", async () => {
    const before = fs.existsSync(PIDS) ? fs.readFileSync(PIDS, "utf8") : "";
    // A right implementation otherwise: the time limit of the well-behaved rows (a case that spawns a
    // shell can take seconds on a loaded machine; at 3 s it timed out at load 9.5).
    const o = await run(path.join(HOSTILE, "daemon.ts"), "daemon", 30_000);
    expect(o.code).toBe(0);
    expect(o.ms).toBeLessThan(WALL_MS);
    expect(o.report!.complete).toBe(true);
    const notes = o.report!.notes.join("\n");
    const killed = /aiospec killed them: pid (\d+) \(sleep 600\)/.exec(notes);
    expect(killed, notes).not.toBeNull();
    const pid = Number(killed![1]);
    // (Other runs append to the file meanwhile: the daemon's pid is among the lines written since.)
    expect(fs.readFileSync(PIDS, "utf8").slice(before.length).split("\n").map(Number)).toContain(pid);
    expect(await until(() => !alive(pid), 10_000)).toBe(true);
    expect(notes).not.toMatch(/escaped/);
  }, WALL_MS + 60_000);

  it.runIf(python3)("driver that starts a daemon, with --jobs 2: both jobs' daemons (one per job's driver) are killed and named in the report", async () => {
    // A file of its own: it starts one daemon per driver, at start-up, so each job's driver starts one whatever clauses it runs.
    const pidfile = path.join(tmp, "driver-daemon-pids");
    const o = await run(driver("daemon", pidfile), "driver-daemon-jobs-2", 30_000, 2);
    expect(o.code).toBe(0);
    expect(o.ms).toBeLessThan(WALL_MS);
    expect(o.report!.complete).toBe(true);
    expect(o.report!.timing.jobs).toBe(2);
    const pids = fs.readFileSync(pidfile, "utf8").trim().split("\n").map(Number);
    expect(pids).toHaveLength(2);
    const notes = o.report!.notes.join("\n");
    const killed = /left 2 process\(es\) of its own behind .*aiospec killed them: (.*)$/m.exec(notes);
    expect(killed, notes).not.toBeNull();
    // Named by pid: a daemon killed between the shell's fork and its exec of
    // `sleep` still shows the shell's command line (seen under two CPU hogs).
    expect(killed![1].split(", ").map((k) => Number(/^pid (\d+) /.exec(k)?.[1])).sort()).toEqual([...pids].sort());
    expect(notes).not.toMatch(/escaped/);
    expect(await until(() => pids.every((p) => !alive(p)), 10_000)).toBe(true);
  }, WALL_MS + 60_000);

  it.runIf(python3)("driver prints garbage before its hello: it cannot start, exit 1 (its fault), one line", async () => {
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    const started = Date.now();
    let code: number;
    process.stderr.write = ((s: string) => (errors.push(String(s)), true)) as typeof process.stderr.write;
    try {
      code = await main(["run", "--impl", driver("garbage-before"), "--clause", CLAUSES, "--runs", "5", "--json", path.join(tmp, "garbage-before.json")]);
    } finally {
      process.stderr.write = write;
    }
    write(`hostile: driver garbage before hello: exit ${code}, ${Date.now() - started} ms\n`);
    expect(code).toBe(1);
    // (Other runs of this suite write to stderr meanwhile: look for this one's line.)
    const mine = errors.join("").split("\n").filter((l) => l.includes("garbage-before"));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatch(/^aiospec: implementation ".*" cannot start: the driver printed a line that is not JSON: "Loading my asyncio\.\.\. done!"$/);
  }, WALL_MS);
});

describe("a run killed with SIGKILL", () => {
  it("leaves a journal from which `report --resume` writes a report marked incomplete, with every finished clause", async () => {
    const out = path.join(tmp, "killed");
    fs.mkdirSync(out);
    const journal = path.join(out, "aiospec-journal.jsonl");
    // One job and many clauses: the run takes minutes, so it is surely killed halfway.
    const child = spawn(process.execPath, [BIN, "run", "--impl", "reference", "--runs", "20", "--seed", "1", "--jobs", "1", "--out", out], {
      stdio: "ignore",
      env: { ...process.env, CI: "1" },
    });
    const finishedLines = () => (fs.existsSync(journal) ? fs.readFileSync(journal, "utf8").split("\n").filter((l) => l.startsWith('{"kind":"clause"')).length : 0);
    expect(await until(() => finishedLines() >= 3, 180_000)).toBe(true);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect(fs.existsSync(path.join(out, "report.json"))).toBe(false);
    const finished = finishedLines();

    const code = await main(["report", "--resume", journal, "--json", path.join(out, "resumed.json")]);
    expect(code).toBe(130);
    const report = JSON.parse(fs.readFileSync(path.join(out, "resumed.json"), "utf8"));
    expect(report.complete).toBe(false);
    expect(report.results.length).toBe(finished);
    expect(report.results.every((r: { status: string }) => r.status === "pass")).toBe(true);
    expect(report.notRun.length + report.results.length).toBeGreaterThan(100);
    expect(report.notes.join(" ")).toMatch(/did not reach its end/);
  }, 300_000);

  it("a module's child process does not outlive aiospec (its watchdog kills it)", async () => {
    const parent = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(HOSTILE, "orphan-parent.ts")], {
      stdio: ["ignore", "pipe", "ignore"],
      cwd: path.resolve(__dirname, ".."),
    });
    let out = "";
    parent.stdout.on("data", (d) => (out += d));
    expect(await until(() => /^\d+\n/.test(out), 180_000)).toBe(true);
    const childPid = Number(out.trim());
    expect(alive(childPid)).toBe(true);
    parent.kill("SIGKILL");
    await new Promise((r) => parent.once("exit", r));
    // The watchdog polls every 500 ms; a loaded machine may take a few seconds to schedule it.
    expect(await until(() => !alive(childPid), 30_000)).toBe(true);
  }, 240_000);

  it("a file that is not a journal is one line, exit 2", async () => {
    const bad = path.join(tmp, "not-a-journal.jsonl");
    fs.writeFileSync(bad, '{"hello": 1}\n');
    expect(await main(["report", "--resume", bad])).toBe(2);
    expect(await main(["report", "--resume", path.join(tmp, "missing.jsonl")])).toBe(2);
  });
});

/** `aiospec` as its own process: its stdout and stderr are what a user's terminal or CI log would get. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CI: "1", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe.concurrent("a module writing to file descriptors 1 and 2 directly (fs.writeSync)", () => {
  const impl = path.join(HOSTILE, "writes-fd.ts");
  const MARKS = /FD[12]-WRITTEN-DIRECTLY|\.{100}/;

  it("does not reach aiospec's stdout or stderr: the terminal lines and the JSON report are aiospec's alone", async () => {
    const json = path.join(tmp, "writes-fd.json");
    const r = await cli(["run", "--impl", impl, "--clause", CLAUSES, "--runs", "5", "--seed", "1", "--json", json, "--jobs", "1"]);
    process.stderr.write(`hostile: writes-fd: exit ${r.code}\n`);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(MARKS);
    // Every stdout line is one of aiospec's: a clause line or the totals.
    for (const line of r.stdout.trimEnd().split("\n")) expect(line).toMatch(/^(PASS|\d+ passed)/);
    const report = JSON.parse(fs.readFileSync(json, "utf8"));
    expect(report.complete).toBe(true);
    expect(report.results.map((x: { status: string }) => x.status)).toEqual(["pass", "pass"]);
  }, WALL_MS);

  it("is captured like any output: a crash message quotes both", async () => {
    const json = path.join(tmp, "writes-fd-exit.json");
    const r = await cli(["run", "--impl", impl, "--clause", "sleep.result", "--runs", "5", "--seed", "1", "--json", json, "--jobs", "1"], { AIOSPEC_HOSTILE_EXIT: "1" });
    expect(r.code).toBe(1);
    const failure = JSON.parse(fs.readFileSync(json, "utf8")).results[0].failure;
    expect(failure.verdict).toBe("crash");
    expect(failure.message).toMatch(/exited with code 4; its output: /);
    expect(failure.message).toContain("FD1-WRITTEN-DIRECTLY");
    expect(failure.message).toContain("FD2-WRITTEN-DIRECTLY");
    // Quoted by aiospec in its failure line, never written raw: each marker only after "its output:".
    for (const line of (r.stdout + r.stderr).split("\n").filter((l) => l.includes("WRITTEN-DIRECTLY"))) expect(line).toMatch(/its output: /);
  }, WALL_MS);
});

describe.runIf(process.platform === "linux")("a process that escaped the kill", () => {
  // No process of the same user escapes SIGKILL in practice (it would take another user's process, or one stuck in the
  // kernel): what the run does with one is checked on a process the ledger lists but that nobody killed.
  it("is named in the run's notes as still running (abandoned), and as killed once gone", async () => {
    const { settleProcesses } = await import("../harness/targets/isolation/processes");
    const { leftoverNotes } = await import("../harness/cli/commands");
    const sleeper = spawn("sleep", ["30"], { stdio: "ignore" });
    const pid = sleeper.pid!;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    const ledger = [{ pid, start, command: "sleep 30" }];

    const running = await settleProcesses(ledger, 300);
    expect(running.alive.map((p) => p.pid)).toEqual([pid]);
    expect(leftoverNotes("impl@3.13", running)).toEqual([
      `1 process(es) that impl@3.13 started escaped aiospec's kill and are still running after the run (abandoned): pid ${pid} (sleep 30)`,
    ]);

    sleeper.kill("SIGKILL");
    await new Promise((r) => sleeper.once("exit", r));
    const gone = await settleProcesses(ledger, 5000);
    expect(gone.alive).toEqual([]);
    expect(leftoverNotes("impl@3.13", gone)).toEqual([
      `impl@3.13 left 1 process(es) of its own behind (outside its process group, or after its process ended); aiospec killed them: pid ${pid} (sleep 30)`,
    ]);
    // A later process with the same pid is another process: a different start time.
    expect((await settleProcesses([{ pid: process.pid, start: "0", command: "x" }], 0)).alive).toEqual([]);
  });
});
