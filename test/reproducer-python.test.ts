/**
 * The Python reproducer (harness/reproducers/python.ts): generated programs
 * run on real CPython and print exactly the trace the driver records for the
 * same scenario; scenario strings cannot break out of their literals.
 */
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PY_RESERVED, pyNumber, pyScalar, pyStr, pythonNames, toPython } from "../harness/reproducers/python";
import type { Scenario, Step } from "../spec/scenario/types";
import { scenarioArb } from "../spec/scenario/arbitraries";
import { canonicalJson } from "../spec/scenario/trace";
import type { Trace } from "../spec/scenario/trace";

const DRIVER = path.resolve(__dirname, "..", "implementations", "python", "aiospec_driver.py");
const PY313 = "/root/.pyenv/versions/3.13.0/bin/python3";
const PY312 = "/root/.pyenv/versions/3.12.1/bin/python3";
const PYTHONS = ["python3", ...[PY312, PY313].filter((p) => fs.existsSync(p))];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-repro-"));
let fileNo = 0;
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function driverTrace(scenario: Scenario, python = "python3"): Trace {
  const r = spawnSync(python, [DRIVER], {
    input: JSON.stringify({ id: 1, scenario }) + "\n",
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`driver failed: ${r.stderr}`);
  const reply = JSON.parse(r.stdout.trim().split("\n")[1]);
  if (reply.error !== undefined) throw new Error(`driver rejected the scenario: ${reply.error}`);
  return reply.trace as Trace;
}

interface ProgramRun {
  events: Trace["events"];
  outcome: Omit<Trace, "events">;
  stdout: string;
  stderr: string;
  file: string;
}

function runProgram(source: string, python = "python3"): ProgramRun {
  const file = path.join(tmp, `repro_${++fileNo}.py`);
  fs.writeFileSync(file, source);
  const r = spawnSync(python, [file], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`program exited with ${r.status}:\n${r.stderr}\n--- ${file}`);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const outcome = lines.pop();
  return { events: lines, outcome, stdout: r.stdout, stderr: r.stderr, file };
}

/** Generate, run and compare with the driver; returns the program's run. */
function checkAgainstDriver(scenario: Scenario, python = "python3"): ProgramRun {
  const run = runProgram(toPython(scenario, { title: "test" }), python);
  const trace = driverTrace(scenario, python);
  const program: Trace = { events: run.events, ...run.outcome } as Trace;
  // Events first, for a readable failure, then the whole trace.
  expect(run.events.map((e) => canonicalJson(e))).toEqual(trace.events.map((e) => canonicalJson(e)));
  expect(canonicalJson(program)).toBe(canonicalJson(trace));
  expect(run.stderr).toBe("");
  return run;
}

const sc = (...coroutines: Array<{ name: string; body: Step[] }>): Scenario => ({ aiospec: 1, coroutines });

// ------------------------------------------------------------ scenarios

const SCENARIOS: Record<string, Scenario> = {
  "every op": sc(
    {
      name: "main",
      body: [
        { op: "log", label: "start" },
        { op: "create_task", coro: "worker", task: "w1", name: "first" },
        { op: "create_task", coro: "worker", task: "w2" },
        { op: "create_task", coro: "catcher", task: "c" },
        { op: "sleep", ticks: 1 },
        { op: "inspect", task: "w1" },
        { op: "cancel", task: "w1", msg: "stop it" },
        { op: "cancel", task: "w1" },
        { op: "inspect", task: "w1" },
        { op: "cancel", task: "c" },
        { op: "call", coro: "helper" },
        {
          op: "try",
          body: [{ op: "await", on: { task: "w1" } }],
          except: [{ type: "CancelledError", body: [{ op: "log", label: "w1 was cancelled" }] }],
        },
        { op: "await", on: { task: "w2" } },
        { op: "await", on: { task: "c" } },
        { op: "inspect", task: "w2" },
        { op: "cancel", task: "w2", msg: "too late" },
        { op: "await", on: { coro: "helper" } },
        { op: "await", on: { sleep: 0 } },
        { op: "await", on: { sleep: 2, result: "slept" } },
        { op: "await", on: { gather: [{ coro: "helper" }, { task: "w2" }, { sleep: 1, result: 1.5 }] } },
        {
          op: "try",
          body: [{ op: "call", coro: "raiser" }],
          except: [{ type: "KeyError", body: [{ op: "log", label: "key" }] }, { type: "ValueError" }],
          finally: [{ op: "log", label: "finally" }],
        },
        { op: "return", value: "main done" },
      ],
    },
    { name: "worker", body: [{ op: "log", label: "working" }, { op: "sleep", ticks: 3 }, { op: "return", value: 42 }] },
    {
      name: "catcher",
      body: [
        {
          op: "try",
          body: [{ op: "sleep", ticks: 10 }],
          except: [{ type: "CancelledError", body: [{ op: "log", label: "swallowed" }, { op: "return", value: false }] }],
        },
      ],
    },
    { name: "helper", body: [{ op: "sleep", ticks: 0 }, { op: "return", value: null }] },
    { name: "raiser", body: [{ op: "raise", exc: { type: "ValueError", args: ["bad", 7, null, true, 2.5] } }] },
  ),

  "every exception type": sc(
    {
      name: "main",
      body: (["ValueError", "KeyError", "RuntimeError", "CustomError", "CancelledError", "TimeoutError", "KeyboardInterrupt", "SystemExit"] as const).map(
        (type, i): Step => ({
          op: "try",
          body: [{ op: "raise", exc: { type, args: i % 2 ? [`m${i}`] : [] } }],
          except: [
            { type: "Exception", body: [{ op: "log", label: `Exception caught ${type}` }] },
            { type: "BaseException", body: [{ op: "log", label: `BaseException caught ${type}` }] },
          ],
        }),
      ).concat([
        {
          op: "try",
          body: [{ op: "raise", exc: { type: "TimeoutError", args: ["t"] } }],
          except: [{ type: "TimeoutError" }],
        },
        {
          op: "try",
          body: [{ op: "raise", exc: { type: "CustomError" } }],
          except: [{ type: "ValueError" }, { type: "CustomError", body: [{ op: "log", label: "custom" }] }],
        },
        { op: "raise", exc: { type: "KeyError", args: ["missing"] } },
      ]),
    },
  ),

  "nested try, reraise, return in finally": sc(
    {
      name: "main",
      body: [
        { op: "call", coro: "a" },
        { op: "await", on: { coro: "b" } },
        { op: "await", on: { coro: "c" } },
        { op: "try", body: [{ op: "await", on: { coro: "d" } }], except: [{ type: "BaseException", body: [{ op: "log", label: "d failed" }] }] },
        { op: "try", body: [], finally: [] },
        { op: "try", body: [{ op: "log", label: "no handlers" }] },
        { op: "return", value: 0 },
      ],
    },
    {
      name: "a",
      body: [
        {
          op: "try",
          body: [
            {
              op: "try",
              body: [{ op: "raise", exc: { type: "ValueError", args: ["inner"] } }],
              except: [
                {
                  type: "ValueError",
                  body: [
                    { op: "log", label: "inner handler" },
                    {
                      op: "try",
                      body: [{ op: "raise", exc: { type: "KeyError", args: ["k"] } }],
                      except: [{ type: "KeyError", body: [{ op: "log", label: "nested key" }] }],
                      finally: [{ op: "log", label: "nested finally" }],
                    },
                  ],
                  reraise: true,
                },
              ],
              finally: [{ op: "log", label: "inner finally" }],
            },
          ],
          except: [{ type: "Exception", body: [{ op: "log", label: "outer handler" }] }],
        },
      ],
    },
    {
      // return in finally swallows the exception
      name: "b",
      body: [{ op: "try", body: [{ op: "raise", exc: { type: "RuntimeError", args: ["lost"] } }], finally: [{ op: "return", value: "from finally" }] }],
    },
    {
      // return in a handler skips the reraise; return in the body runs finally first
      name: "c",
      body: [
        {
          op: "try",
          body: [{ op: "raise", exc: { type: "ValueError" } }],
          except: [{ type: "ValueError", body: [{ op: "return", value: 1 }], reraise: true }],
        },
        { op: "log", label: "unreachable" },
      ],
    },
    {
      name: "d",
      body: [
        {
          op: "try",
          body: [{ op: "return", value: "body" }],
          finally: [{ op: "log", label: "finally after return" }, { op: "raise", exc: { type: "CustomError", args: ["from finally"] } }],
        },
      ],
    },
  ),

  "gather with and without return_exceptions": sc(
    {
      name: "main",
      body: [
        { op: "create_task", coro: "ok", task: "t" },
        {
          op: "await",
          on: {
            gather: [{ coro: "ok" }, { coro: "bad" }, { task: "t" }, { gather: [{ coro: "bad" }, { sleep: 1 }], return_exceptions: true }, { sleep: 2, result: "s" }],
            return_exceptions: true,
          },
        },
        {
          op: "try",
          body: [{ op: "await", on: { gather: [{ coro: "ok" }, { coro: "bad" }, { coro: "slow" }] } }],
          except: [{ type: "ValueError", body: [{ op: "log", label: "gather failed" }] }],
        },
        { op: "await", on: { gather: [] } },
        { op: "sleep", ticks: 5 },
      ],
    },
    { name: "ok", body: [{ op: "sleep", ticks: 1 }, { op: "return", value: "ok" }] },
    { name: "bad", body: [{ op: "raise", exc: { type: "ValueError", args: ["bad"] } }] },
    { name: "slow", body: [{ op: "try", body: [{ op: "sleep", ticks: 3 }], finally: [{ op: "log", label: "slow ends" }] }] },
  ),

  "cancel with a message, cancelled gather, uncancelled task": sc(
    {
      name: "main",
      body: [
        { op: "create_task", coro: "waiter", task: "g" },
        { op: "create_task", coro: "stubborn", task: "s" },
        { op: "sleep", ticks: 1 },
        { op: "cancel", task: "g", msg: "enough" },
        { op: "cancel", task: "s", msg: "please" },
        { op: "inspect", task: "s" },
        { op: "sleep", ticks: 0 },
        { op: "inspect", task: "g" },
        { op: "inspect", task: "s" },
        { op: "try", body: [{ op: "await", on: { task: "g" } }], except: [{ type: "CancelledError", body: [{ op: "log", label: "g cancelled" }] }] },
        { op: "await", on: { task: "s" } },
        { op: "cancel", task: "s" },
      ],
    },
    { name: "waiter", body: [{ op: "await", on: { gather: [{ coro: "sleeper" }, { coro: "sleeper" }] } }] },
    { name: "sleeper", body: [{ op: "sleep", ticks: 100 }] },
    {
      name: "stubborn",
      body: [
        { op: "try", body: [{ op: "sleep", ticks: 100 }], except: [{ type: "CancelledError", body: [{ op: "log", label: "ignoring" }] }] },
        { op: "sleep", ticks: 1 },
        { op: "return", value: "survived" },
      ],
    },
  ),

  "unbound handles": sc(
    {
      name: "main",
      body: [
        { op: "await", on: { task: "later" } },
        { op: "cancel", task: "later", msg: "x" },
        { op: "inspect", task: "later" },
        { op: "await", on: { gather: [{ task: "later" }, { coro: "w" }, { task: "later" }] } },
        { op: "create_task", coro: "w", task: "later" },
        { op: "await", on: { task: "later" } },
        { op: "create_task", coro: "w", task: "other" },
        { op: "create_task", coro: "w", task: "later", name: "rebound" },
        { op: "await", on: { gather: [{ task: "later" }, { task: "other" }] } },
      ],
    },
    { name: "w", body: [{ op: "return", value: 1 }] },
  ),

  deadlock: sc(
    { name: "main", body: [{ op: "create_task", coro: "w", task: "t" }, { op: "await", on: { task: "t" } }] },
    {
      name: "w",
      body: [
        { op: "create_task", coro: "x", task: "u" },
        { op: "try", body: [{ op: "await", on: { task: "u" } }], finally: [{ op: "log", label: "w finally (never, or at gc)" }, { op: "sleep", ticks: 1 }] },
      ],
    },
    { name: "x", body: [{ op: "await", on: { task: "t" } }] },
  ),

  "a task awaiting itself": sc(
    { name: "main", body: [{ op: "create_task", coro: "self", task: "me" }, { op: "await", on: { task: "me" } }] },
    { name: "self", body: [{ op: "sleep", ticks: 0 }, { op: "await", on: { task: "me" } }] },
  ),

  "KeyboardInterrupt in a task, then shutdown": sc(
    {
      name: "main",
      body: [
        { op: "create_task", coro: "bystander", task: "b" },
        { op: "create_task", coro: "interrupter", task: "i" },
        { op: "sleep", ticks: 10 },
      ],
    },
    { name: "interrupter", body: [{ op: "sleep", ticks: 1 }, { op: "raise", exc: { type: "KeyboardInterrupt", args: ["^C"] } }] },
    {
      name: "bystander",
      body: [{ op: "try", body: [{ op: "sleep", ticks: 5 }], except: [{ type: "CancelledError", body: [{ op: "log", label: "shut down" }, { op: "sleep", ticks: 1 }], reraise: true }] }],
    },
  ),

  "main returns with tasks pending; SystemExit in main's child": sc(
    {
      name: "main",
      body: [
        { op: "create_task", coro: "forever", task: "f", name: "forever task" },
        { op: "create_task", coro: "exiter", task: "e" },
        { op: "sleep", ticks: 0 },
        { op: "return", value: 1e21 },
      ],
    },
    { name: "forever", body: [{ op: "try", body: [{ op: "sleep", ticks: 1000 }], finally: [{ op: "log", label: "forever finally" }] }] },
    { name: "exiter", body: [{ op: "sleep", ticks: 1 }, { op: "raise", exc: { type: "SystemExit", args: [3] } }] },
  ),

  "numbers and scalars": sc(
    {
      name: "main",
      body: [
        { op: "await", on: { sleep: 0, result: 0.1 } },
        { op: "await", on: { sleep: 0, result: -0 } },
        { op: "await", on: { sleep: 0, result: 2 ** 60 } },
        { op: "await", on: { sleep: 0, result: 5e-324 } },
        { op: "await", on: { sleep: 0, result: true } },
        { op: "await", on: { sleep: 0, result: null } },
        { op: "raise", exc: { type: "RuntimeError", args: [1.25, -7, false, null, "s", 1e300] } },
      ],
    },
  ),

  "coroutine names that clash with Python and with the program": sc(
    {
      name: "main",
      body: ["log", "emit", "run", "gather", "T", "print", "None", "class", "asyncio", "handle", "__builtins__", "__name__", "main_", "9lives", "coroutine"].map(
        (n): Step => ({ op: "call", coro: n }),
      ),
    },
    ...["log", "emit", "run", "gather", "T", "print", "None", "class", "asyncio", "handle", "__builtins__", "__name__", "main_", "9lives", "coroutine"].map((n) => ({
      name: n,
      body: [{ op: "log", label: n } as Step],
    })),
  ),
};

// ------------------------------------------------------------ hostile strings

const HOSTILE = [
  '"',
  "\\",
  "\\\"",
  "'",
  '"""',
  "'''",
  "\n",
  "\r\n",
  "line one\nline two",
  "\x00",
  "\x07\x1b[31m\x7f",
  "\u0085\u2028\u2029",
  "😀",
  "é\u00ff\u0100\uffff",
  "\ud800",
  "\udfff\ud83d",
  "'); import os; ('",
  '"); import os; os._exit(3); print("',
  '\\"); import os; os._exit(3) #',
  "\n__import__('os')._exit(3)\n",
  "{0} %s ${x} {{",
  "# -*- coding: utf-7 -*-",
  "+AAo-print('PW'+'NED')",
  "\t\v\f\b",
  "<Task pending name='x' coro=<f() running at /x.py:1>>",
];

const hostileScenario: Scenario = {
  aiospec: 1,
  description: HOSTILE.join(" | "),
  coroutines: [
    {
      name: "main",
      body: [
        ...HOSTILE.map((label): Step => ({ op: "log", label })),
        ...HOSTILE.map((label): Step => ({ op: "create_task", coro: "w", task: label, name: "n" + label })),
        ...HOSTILE.map((label): Step => ({ op: "cancel", task: label, msg: label })),
        ...HOSTILE.map((label): Step => ({
          op: "try",
          body: [{ op: "await", on: { task: label } }],
          except: [{ type: "CancelledError" }],
        })),
        { op: "await", on: { gather: HOSTILE.slice(0, 6).map((task) => ({ task })), return_exceptions: true } },
        { op: "await", on: { coro: "ret" } },
        { op: "try", body: [{ op: "call", coro: "raiser" }], except: [{ type: "CustomError" }] },
        { op: "call", coro: "'); import os; ('" },
      ],
    },
    { name: "w", body: [{ op: "sleep", ticks: 1 }] },
    { name: "ret", body: [{ op: "return", value: HOSTILE.join("") }] },
    { name: "raiser", body: [{ op: "raise", exc: { type: "CustomError", args: HOSTILE } }] },
    { name: "'); import os; ('", body: [{ op: "log", label: "odd name" }] },
  ],
};

// ------------------------------------------------------------ tests

describe("pyStr and literals", () => {
  it("escapes to printable ASCII that Python reads back unchanged", () => {
    for (const s of HOSTILE) {
      const lit = pyStr(s);
      expect(lit).toMatch(/^"[\x20-\x7e]*"$/);
      expect(lit.slice(1, -1)).not.toMatch(/(^|[^\\])(\\\\)*"/); // no unescaped quote inside
    }
    const program = `import json, sys\nvals = [${HOSTILE.map(pyStr).join(", ")}]\nsys.stdout.write(json.dumps(vals))\n`;
    const r = spawnSync("python3", ["-c", program], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual(HOSTILE);
  });

  it("writes numbers as JSON hands them to the driver", () => {
    expect(pyNumber(3)).toBe("3");
    expect(pyNumber(-0)).toBe("0");
    expect(pyNumber(1.5)).toBe("1.5");
    expect(pyNumber(1e21)).toBe("1e+21");
    expect(pyNumber(NaN)).toBe("None");
    expect([null, true, false, "x"].map((v) => pyScalar(v))).toEqual(["None", "True", "False", '"x"']);
  });

  it("names coroutines with identifiers that shadow nothing", () => {
    const names = pythonNames(
      ["log", "main", "a-b", "a_b", "", "9", "__builtins__", "class", "ok"].map((name) => ({ name, body: [] })),
    );
    expect(names.get("main")).toBe("main");
    expect(names.get("ok")).toBe("ok");
    const ids = [...names.values()];
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
      expect(PY_RESERVED.has(id)).toBe(false);
      expect(id.startsWith("__")).toBe(false);
    }
  });

  it("reserves every module-level name of the program", () => {
    const src = toPython(sc({ name: "main", body: [] }));
    const file = path.join(tmp, "globals.py");
    fs.writeFileSync(file, src);
    const r = spawnSync("python3", ["-c", `import json, runpy, sys; print(json.dumps(sorted(runpy.run_path(sys.argv[1], run_name="probe"))))`, file], {
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    const globals: string[] = JSON.parse(r.stdout);
    const own = globals.filter((g) => !(g.startsWith("__") && g.endsWith("__")) && g !== "main");
    expect(own.filter((g) => !PY_RESERVED.has(g))).toEqual([]);
  });

  it("rejects what the driver would reject", () => {
    expect(() => toPython(sc({ name: "m", body: [] }))).toThrow(/main/);
    expect(() => toPython(sc({ name: "main", body: [{ op: "call", coro: "nope" }] }))).toThrow(/nope/);
    expect(() => toPython(sc({ name: "main", body: [] }, { name: "main", body: [] }))).toThrow(/duplicate/);
    expect(() => toPython(sc({ name: "main", body: [{ op: "raise", exc: { type: "Exception" as never } }] }))).toThrow(/cannot raise/);
    expect(() => toPython(sc({ name: "main", body: [{ op: "explode" } as never] }))).toThrow(/unknown op/);
    expect(() => toPython(sc({ name: "main", body: [{ op: "raise", exc: { type: "constructor" as never } }] }))).toThrow(/cannot raise/);
    expect(() => toPython(sc({ name: "main", body: [{ op: "try", body: [], except: [{ type: "toString" as never }] }] }))).toThrow(/unknown exception type/);
  });
});

describe.each(PYTHONS)("generated programs on %s print the driver's trace", (python) => {
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    it(name, () => {
      checkAgainstDriver(scenario, python);
    });
  }

  it("hostile strings round-trip and inject nothing", () => {
    const src = toPython(hostileScenario, { title: HOSTILE.join("\n") });
    // pure ASCII; user text never on the first two lines (coding declarations)
    expect(src).toMatch(/^[\x20-\x7e\n]*$/);
    const lines = src.split("\n");
    expect(lines[0]).toBe("#!/usr/bin/env python3");
    expect(lines[1]).toBe("# aiospec reproducer, generated by aiospec from a scenario.");
    const run = checkAgainstDriver(hostileScenario, python);
    expect(run.stdout).not.toContain("PWNED");
    const labels = run.events.filter((e) => e.ev === "log").map((e) => (e as { label: string }).label);
    expect(labels.slice(0, HOSTILE.length)).toEqual(HOSTILE);
    const cancels = run.events.filter((e) => e.ev === "cancel").map((e) => (e as { ref: string }).ref);
    expect(cancels).toEqual(HOSTILE);
    const created = run.events.filter((e) => e.ev === "create_task").map((e) => (e as { name: string }).name);
    expect(created).toEqual(HOSTILE.map((h) => "n" + h));
    const caught = run.events.filter((e) => e.ev === "caught").map((e) => (e as { exc: { args: unknown[] } }).exc.args);
    // Labels are raw; values in exceptions are printed with asyncio reprs elided, as the driver does.
    const elided = (s: string) => s.replace("<Task pending name='x' coro=<f() running at /x.py:1>>", "<...>");
    expect(caught.slice(0, HOSTILE.length)).toEqual(HOSTILE.map((h) => [elided(h)]));
    expect(caught[HOSTILE.length]).toEqual(HOSTILE.map(elided));
    const ret = run.events.find((e) => e.ev === "awaited" && (e as { on: string }).on === "ret()") as { value: string };
    expect(ret.value).toBe(elided(HOSTILE.join("")));
  });
});

it("random scenarios: the program prints the driver's trace", () => {
  const scenarios = fc.sample(scenarioArb(), { seed: 20240611, numRuns: 25 });
  for (const scenario of scenarios) checkAgainstDriver(scenario);
});

it("the program is readable: helpers, then one async def per coroutine, then __main__", () => {
  const src = toPython(SCENARIOS["every op"], { title: "every op" });
  expect(src).toContain("# every op\n");
  expect(src).toContain('@coroutine("worker")\nasync def worker():\n    log("working")\n    await asyncio.sleep(3)\n    return 42\n');
  expect(src).toContain('T["w1"] = asyncio.create_task(worker(), name="first")');
  expect(src).toContain('emit("cancel", ref="w1", returned=T["w1"].cancel("stop it"))');
  expect(src).toContain('    except asyncio.CancelledError as e:\n        caught(e)\n        log("w1 was cancelled")\n');
  expect(src).toContain('awaited("gather", await gather(helper(), handle("w2"), asyncio.sleep(1, 1.5)))');
  expect(src.indexOf("def emit(")).toBeLessThan(src.indexOf("async def main():"));
  expect(src.trimEnd().endsWith('if __name__ == "__main__":\n    run(main())')).toBe(true);
});
