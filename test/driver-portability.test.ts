// The Python driver on every Python and loop it claims: CPython 3.8 to 3.13
// (pyenv), PyPy 3.9, uvloop, nest_asyncio, real time; its command line; its
// entry points for hosts that run it themselves (Pyodide).
//
// Interpreters and packages that are not installed are skipped, and the
// test's name says so.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { DRIVER_PATH, findCPython } from "../harness/targets";
import { DriverProcess } from "../harness/targets/driver";
import { FEATURE_VERSIONS } from "../spec/scenario/validate";
import { compareVersions } from "../spec/scenario/versions";

const PYTHON = "python3";

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  lines: any[];
}

function driver(python: string, args: string[], input: string): Run {
  const r = spawnSync(python, [DRIVER_PATH, ...args], { input, encoding: "utf8", timeout: 120_000 });
  const lines = r.stdout.trim() === "" ? [] : r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines };
}

function requests(...scenarios: Array<{ scenario: unknown; options?: unknown }>): string {
  return scenarios.map((s, i) => JSON.stringify({ id: i + 1, ...s }) + "\n").join("");
}

/** Does `python` run and import `module`? */
function hasModule(python: string, module: string): boolean {
  const r = spawnSync(python, ["-c", `import ${module}`], { encoding: "utf8" });
  return r.status === 0;
}

function runs(python: string): boolean {
  const r = spawnSync(python, ["-c", "pass"], { encoding: "utf8" });
  return r.error === undefined && r.status === 0;
}

function patchLevel(python: string): string {
  return spawnSync(python, ["-c", "import platform; print(platform.python_version())"], { encoding: "utf8" }).stdout.trim();
}

/** The features the harness says version v lacks (spec/scenario/validate.ts FEATURE_VERSIONS). */
function lacks(v: string): string[] {
  return Object.entries(FEATURE_VERSIONS)
    .filter(([, since]) => compareVersions(v, since) < 0)
    .map(([f]) => f)
    .sort();
}

// A scenario every version runs alike: tasks, sleeps, gather, a cancellation
// (without a message: 3.8 has none), wait_for, a done callback. (Not
// wait_for's timeout: 3.8's TimeoutError has no __cause__.)
const simple = {
  aiospec: 1,
  coroutines: [
    {
      name: "main",
      body: [
        { op: "create_task", coro: "worker", task: "t" },
        { op: "create_task", coro: "sleeper", task: "s" },
        { op: "add_done_callback", task: "t", callback: "done" },
        { op: "sleep", ticks: 1 },
        { op: "cancel", task: "s" },
        { op: "await", on: { gather: [{ task: "t" }, { sleep: 2, result: "slept" }] } },
        { op: "await", on: { wait_for: { sleep: 1, result: "in time" }, timeout: 5 } },
        { op: "inspect", task: "s" },
        { op: "return", value: 42 },
      ],
    },
    { name: "worker", body: [{ op: "sleep", ticks: 2 }, { op: "log", label: "worked" }, { op: "return", value: 7 }] },
    { name: "sleeper", body: [{ op: "sleep", ticks: 10 }] },
  ],
  callbacks: [{ name: "done", body: [{ op: "log", label: "callback" }] }],
};

const deadlock = {
  aiospec: 1,
  coroutines: [
    { name: "main", body: [{ op: "create_task", coro: "w", task: "t" }, { op: "await", on: { task: "t" } }] },
    { name: "w", body: [{ op: "create_task", coro: "x", task: "u" }, { op: "await", on: { task: "u" } }] },
    { name: "x", body: [{ op: "sleep", ticks: 1 }, { op: "await", on: { task: "t" } }] },
  ],
};

const withTaskGroup = {
  aiospec: 1,
  coroutines: [
    { name: "main", body: [{ op: "taskgroup", group: "g", body: [{ op: "create_task", coro: "w", task: "t", group: "g" }] }] },
    { name: "w", body: [] },
  ],
};

const withCancelMsg = {
  aiospec: 1,
  coroutines: [
    { name: "main", body: [{ op: "create_task", coro: "w", task: "t" }, { op: "cancel", task: "t", msg: "stop" }, { op: "sleep", ticks: 0 }] },
    { name: "w", body: [] },
  ],
};

const withGroup = {
  aiospec: 1,
  coroutines: [
    { name: "main", body: [{ op: "raise", exc: { type: "ExceptionGroup", args: ["eg"], exceptions: [{ type: "ValueError" }] } }] },
  ],
};

describe("the driver's command line", () => {
  it("refuses an unknown argument: one line on stderr, exit code 2, no hello", () => {
    const r = driver(PYTHON, ["--no-such-option"], "");
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/unrecognized arguments: --no-such-option/);
  });

  it("refuses a stray word and an abbreviated option", () => {
    for (const args of [["extra"], ["--lo", "asyncio"]]) {
      const r = driver(PYTHON, args, "");
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it("refuses a loop module that cannot be imported, naming it, before the hello", () => {
    const r = driver(PYTHON, ["--loop", "no_such_module_for_aiospec:new_event_loop"], "");
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot import no_such_module_for_aiospec/);
  });

  it("refuses a factory that makes no event loop, and --tick-ms with the virtual clock", () => {
    for (const args of [["--loop", "os:getcwd"], ["--tick-ms", "30"], ["--clock", "real", "--tick-ms", "0"], ["--clock", "sundial"]]) {
      const r = driver(PYTHON, args, "");
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it("answers --help", () => {
    const r = spawnSync(PYTHON, [DRIVER_PATH, "--help"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--loop/);
    expect(r.stdout).toMatch(/--clock/);
    expect(r.stdout).toMatch(/--tick-ms/);
  });
});

describe("the hello of each CPython", () => {
  for (const v of ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]) {
    const python = findCPython(v).path;
    it.skipIf(!python)(`CPython ${v}${python ? "" : ` (skipped: no CPython ${v} under pyenv)`} declares its version, patch level and what it lacks`, () => {
      const r = driver(python, [], "");
      expect(r.status).toBe(0);
      const h = r.lines[0].hello;
      expect(h).toMatchObject({
        protocol: 1,
        version: v,
        python: patchLevel(python),
        implementation: "CPython",
        task: "C",
        loop: "asyncio",
        loop_version: null,
        clock: "virtual",
        gc: "deterministic",
        executable: expect.any(String),
      });
      expect(h.tick_ms).toBeUndefined();
      expect([...h.unsupported].sort()).toEqual(lacks(v));
    });
  }
});

const OLD = ["3.8", "3.9", "3.10"].map((v) => ({ v, python: findCPython(v).path }));
const PYPY = runs("pypy3") ? "pypy3" : "";

describe("the driver on Pythons older than 3.11", () => {
  const reference = driver(PYTHON, [], requests({ scenario: simple }, { scenario: simple, options: { task: "py" } })).lines;

  for (const { v, python } of [...OLD, { v: "PyPy", python: PYPY }]) {
    const name = v === "PyPy" ? "PyPy 3" : `CPython ${v}`;
    const why = v === "PyPy" ? "pypy3 is not on PATH (apt-get install pypy3)" : `no CPython ${v} under pyenv`;
    it.skipIf(!python)(`${name}${python ? "" : ` (skipped: ${why})`} runs a simple scenario as CPython 3.11+ does, with either Task`, () => {
      const r = driver(python, [], requests({ scenario: simple }, { scenario: simple, options: { task: "py" } }));
      expect(r.status).toBe(0);
      const [hello, c, py] = r.lines;
      if (v === "PyPy") {
        // PyPy's collector frees by allocation history: gc-mode cases are rerun before they fail (harness/running/runner.ts).
        expect(hello.hello).toMatchObject({ implementation: "PyPy", version: "3.9", task: "py", gc: "nondeterministic" });
        expect(hello.hello.unsupported).toEqual(lacks("3.9"));
      }
      for (const [reply, ref] of [[c, reference[1]], [py, reference[2]]]) {
        expect(reply.error).toBeUndefined();
        // cancelling() does not exist before 3.11: inspect leaves it out.
        const strip = (t: any) => ({ ...t, events: t.events.map(({ cancelling, ...e }: any) => e) });
        expect(strip(reply.trace)).toEqual(strip(ref.trace));
        const inspect = reply.trace.events.find((e: any) => e.ev === "inspect");
        expect("cancelling" in inspect).toBe(false);
      }
    });

    it.skipIf(!python)(`${name}${python ? "" : ` (skipped: ${why})`} answers a scenario using a feature it lacks with an error, and keeps serving`, () => {
      const r = driver(python, [], requests({ scenario: withTaskGroup }, { scenario: withGroup }, { scenario: simple }));
      expect(r.status).toBe(0);
      const version = r.lines[0].hello.version;
      expect(r.lines[1]).toEqual({ id: 1, error: `unsupported feature taskgroup on Python ${version}` });
      expect(r.lines[2]).toEqual({ id: 2, error: `unsupported feature exception_group on Python ${version}` });
      expect(r.lines[3].trace.main).toEqual({ state: "result", value: 42 });
    });
  }

  const py38 = findCPython("3.8").path;
  it.skipIf(!py38)(`CPython 3.8${py38 ? "" : " (skipped: no CPython 3.8 under pyenv)"} has no cancel message: an error reply, not a crash`, () => {
    const r = driver(py38, [], requests({ scenario: withCancelMsg }, { scenario: simple }));
    expect(r.status).toBe(0);
    expect(r.lines[0].hello.unsupported).toContain("cancel:msg");
    expect(r.lines[1]).toEqual({ id: 1, error: "unsupported feature cancel:msg on Python 3.8" });
    expect(r.lines[2].trace.main).toEqual({ state: "result", value: 42 });
  });
});

describe("a feature the running Python lacks", () => {
  it("gets an error reply naming the feature and the version, and the driver keeps serving", () => {
    const h = driver(PYTHON, [], "").lines[0].hello;
    const eager = { ...simple, eager: true };
    const asyncIter = {
      aiospec: 1,
      coroutines: [{ name: "main", body: [{ op: "as_completed", mode: "async", on: [{ sleep: 1 }] }] }],
    };
    const r = driver(PYTHON, [], requests({ scenario: eager }, { scenario: asyncIter }, { scenario: simple }));
    for (const [i, feature] of [[1, "eager"], [2, "as_completed:async"]] as const) {
      if (h.unsupported.includes(feature)) {
        expect(r.lines[i]).toEqual({ id: i, error: `unsupported feature ${feature} on Python ${h.version}` });
      } else {
        expect(r.lines[i].trace).toBeDefined();
      }
    }
    expect(r.lines[3].trace.main).toEqual({ state: "result", value: 42 });
  });
});

describe("real time on asyncio's own loop", () => {
  const examples = ["coroutines-say-after-concurrent", "timeout-reschedule", "wait-for-eternity", "shield-ignore-cancellation"];
  const scenarios = examples.map((n) => JSON.parse(fs.readFileSync(path.join(__dirname, "..", "spec", "examples", "docs", `${n}.json`), "utf8")));

  it("declares its clock and tick in the hello", () => {
    const h = driver(PYTHON, ["--clock", "real", "--tick-ms", "25"], "").lines[0].hello;
    expect(h).toMatchObject({ loop: "asyncio", clock: "real", tick_ms: 25 });
  });

  it("refuses a run that strays from the tick grid every time (a tick of 1 µs), and keeps serving", () => {
    const sleeper = { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "sleep", ticks: 1 }, { op: "log", label: "x" }, { op: "sleep", ticks: 1 }] }] };
    const quick = { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "log", label: "x" }] }] };
    const r = driver(PYTHON, ["--clock", "real", "--tick-ms", "0.001"], requests({ scenario: sleeper }, { scenario: quick }));
    expect(r.status).toBe(0);
    expect(r.lines[1]).toEqual({ id: 1, error: expect.stringMatching(/^real time: a timer ran .* late \(one tick is 0.001 ms\) in each of 3 runs/) });
    expect(r.stderr).toMatch(/request 1: .*\(attempt 3 of 3\)/);
    expect(r.lines[2].trace.main).toEqual({ state: "result", value: null });
  });

  it("gives the virtual clock's traces on small examples (ticks of 50 ms; one retry, the machine may be loaded)", () => {
    const input = requests(...scenarios.map((scenario) => ({ scenario })), { scenario: deadlock });
    const virtual = driver(PYTHON, [], input).lines.slice(1);
    let real = driver(PYTHON, ["--clock", "real", "--tick-ms", "50"], input).lines.slice(1);
    if (JSON.stringify(real) !== JSON.stringify(virtual)) real = driver(PYTHON, ["--clock", "real", "--tick-ms", "50"], input).lines.slice(1);
    expect(real).toEqual(virtual);
    expect(real[real.length - 1].trace.end).toEqual({ kind: "deadlock" });
  });
});

describe("other loops", () => {
  const uvloop = hasModule(PYTHON, "uvloop");
  it.skipIf(!uvloop)(`uvloop${uvloop ? "" : " (skipped: uvloop is not installed for python3)"}: real time only, a deadlock found by the watchdog`, () => {
    const refused = driver(PYTHON, ["--loop", "uvloop", "--clock", "virtual"], "");
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/cannot be virtualised/);
    const r = driver(PYTHON, ["--loop", "uvloop"], requests({ scenario: deadlock }, { scenario: simple }));
    expect(r.status).toBe(0);
    expect(r.lines[0].hello).toMatchObject({ loop: "uvloop", clock: "real", tick_ms: 30, loop_version: expect.any(String) });
    expect(r.lines[1].trace.end).toEqual({ kind: "deadlock" });
    expect(r.lines[1].trace.main).toEqual({ state: "pending" });
    expect(r.lines[2].trace.main).toEqual({ state: "result", value: 42 });
  });

  const nest = hasModule(PYTHON, "nest_asyncio");
  it.skipIf(!nest)(`nest_asyncio${nest ? "" : " (skipped: nest_asyncio is not installed for python3)"}: the virtual clock, the pure-Python Task`, () => {
    const r = driver(PYTHON, ["--loop", "nest_asyncio"], requests({ scenario: deadlock }, { scenario: simple }));
    expect(r.status).toBe(0);
    expect(r.lines[0].hello).toMatchObject({ loop: "nest_asyncio", clock: "virtual", task: "py", loop_version: expect.any(String) });
    expect(r.lines[1].trace.end).toEqual({ kind: "deadlock" });
    expect(r.lines[2].trace.main).toEqual({ state: "result", value: 42 });
  });

  it("a MODULE:FACTORY loop that is a BaseEventLoop runs in virtual time by default", () => {
    const r = driver(PYTHON, ["--loop", "asyncio:new_event_loop"], requests({ scenario: simple }, { scenario: deadlock }));
    const plain = driver(PYTHON, [], requests({ scenario: simple }, { scenario: deadlock }));
    expect(r.lines[0].hello).toMatchObject({ loop: "asyncio:new_event_loop", clock: "virtual" });
    expect(r.lines.slice(1)).toEqual(plain.lines.slice(1));
  });

  it("DriverProcess reads the new hello fields", async () => {
    const d = new DriverProcess(PYTHON, ["-u", DRIVER_PATH, "--clock", "real"]);
    try {
      const h = await d.hello;
      expect(h.version).toMatch(/^3\.\d+$/);
      expect(h.clock).toBe("real");
      expect(h.tick_ms).toBe(30);
      expect(Array.isArray(h.unsupported)).toBe(true);
    } finally {
      await d.close();
    }
  });
});

describe("entry points for hosts that run the driver themselves (Pyodide)", () => {
  it("configure / hello_line / serve_line give what the command line does", () => {
    const program = [
      "import sys",
      `sys.path.insert(0, ${JSON.stringify(path.dirname(DRIVER_PATH))})`,
      "import aiospec_driver as d",
      "d.configure([])",
      "print(d.hello_line())",
      `print(d.serve_line(${JSON.stringify(JSON.stringify({ id: 1, scenario: simple }))}))`,
      "print(d.serve_line('not json'))",
      "try:\n    d.configure(['--bogus'])\nexcept d.UsageError as e:\n    print('refused:', e)",
    ].join("\n");
    const r = spawnSync(PYTHON, ["-c", program], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const out = r.stdout.trim().split("\n");
    const cli = driver(PYTHON, [], requests({ scenario: simple }));
    expect(JSON.parse(out[0])).toEqual(cli.lines[0]);
    expect(JSON.parse(out[1])).toEqual(cli.lines[1]);
    expect(JSON.parse(out[2])).toMatchObject({ id: null, error: expect.stringMatching(/malformed JSON/) });
    expect(out[3]).toMatch(/^refused: unrecognized arguments: --bogus/);
  });
});
