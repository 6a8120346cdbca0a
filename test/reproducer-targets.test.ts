/**
 * The Python reproducer follows the implementation a failure is about
 * (harness/reproducing/python.ts, PythonTarget): the pure-Python Task for a
 * +pytask target (the program then prints what the driver records with
 * {"task": "py"}), Pyodide for a pyodide-3.X target (the program runs
 * inside it, by the command its header gives), and, for a loop the program
 * does not run on (uvloop, the WebLoop, nest_asyncio, the real clock), a
 * header that says so.
 */
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pythonTarget, toPython } from "../harness/reproducing/python";
import { findCPython, resolveTarget } from "../harness/targets";
import { PYODIDE_LINES, peersDir } from "../harness/targets/discovery";
import { scenarioArb } from "../spec/scenario/arbitraries";
import { canonicalJson } from "../spec/scenario/trace";
import type { Trace } from "../spec/scenario/trace";
import type { Scenario } from "../spec/scenario/types";
import { runOnDriver } from "./helpers/driver";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-repro-targets-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;

/** The program's trace: its event lines, then its outcome line. */
function programTrace(stdout: string): Trace {
  const lines = stdout.trim().split("\n").map((l) => JSON.parse(l));
  const outcome = lines.pop();
  return { events: lines, ...outcome } as Trace;
}

function runWith(python: string, source: string): Trace {
  const file = path.join(tmp, `repro_${++fileNo}.py`);
  fs.writeFileSync(file, source);
  const r = spawnSync(python, [file], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`the program exited with ${r.status}:\n${r.stderr}\n--- ${file}`);
  expect(r.stderr).toBe("");
  return programTrace(r.stdout);
}

/**
 * The divergence of `diff reference@3.11+pytask cpython-3.11+pytask --size
 * medium --seed 602` (test/gc-divergences.test.ts): on CPython 3.11 the
 * pure-Python Task keeps Task-3 through the final collection, the C Task
 * does not.
 */
const KEPT_BY_PY_TASK: Scenario = JSON.parse(
  String.raw`{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"gc"},{"op":"await","on":{"coro":"c2"}}]},{"name":"c2","body":[{"op":"taskgroup","group":"g0","body":[{"op":"create_task","coro":"c3","task":"t0","group":"g0"},{"op":"try","body":[{"op":"await","on":{"wait_for":{"coro":"c3"},"timeout":1}}],"except":[{"type":"TimeoutError"}]}]}]},{"name":"c3","body":[{"op":"raise","exc":{"type":"TimeoutError"}}]}]}`,
);

describe("pythonTarget: what the program can follow of an implementation", () => {
  it("reads the Task, the Pyodide release and the loop off the target", () => {
    expect(pythonTarget({ id: "cpython-3.11+pytask" })).toEqual({ id: "cpython-3.11+pytask", task: "py" });
    expect(pythonTarget({ id: "cpython-3.11", task: "C" })).toEqual({ id: "cpython-3.11", task: "C" });
    expect(pythonTarget({ id: "pypy-3.9", task: "py" })).toEqual({ id: "pypy-3.9", task: "py" });
    expect(pythonTarget({ id: "reference@3.11+pytask", task: "py" })).toEqual({ id: "reference@3.11+pytask", task: "py" });
    expect(pythonTarget({ id: "pyodide-3.12", task: "C", fullVersion: "3.12.7", description: "Pyodide 0.27.8 CPython 3.12.7 (C Task) at driver.js" }))
      .toEqual({ id: "pyodide-3.12", task: "C", pyodide: "0.27.8" });
    expect(pythonTarget({ id: "cmd:./pyodide-like", description: "Pyodide 0.27.8" })).toEqual({ id: "cmd:./pyodide-like" });
    expect(pythonTarget({ id: "pyodide-3.14+webloop", fullVersion: "Pyodide 314.0.8" })).toEqual({ id: "pyodide-3.14+webloop", pyodide: "314.0.8", loop: "Pyodide's WebLoop" });
    expect(pythonTarget({ id: "cpython-3.11+uvloop" })).toEqual({ id: "cpython-3.11+uvloop", loop: "uvloop" });
    expect(pythonTarget({ id: "nest_asyncio" })).toEqual({ id: "nest_asyncio", loop: "nest_asyncio" });
    expect(pythonTarget({ id: "cpython-3.12+realtime" })).toEqual({ id: "cpython-3.12+realtime", loop: "asyncio's loop on the real clock" });
    expect(pythonTarget({ id: "./impl.ts" })).toEqual({ id: "./impl.ts" });
  });

  it("says in the header which loop the program does not run on, and how to reach the implementation", () => {
    const src = toPython(KEPT_BY_PY_TASK, { python: "3.11", target: pythonTarget({ id: "cpython-3.11+uvloop" }) });
    expect(src).toContain("# cpython-3.11+uvloop runs on uvloop, which this program does not:");
    expect(src).toContain("# on it through aiospec (the replay command printed with this program).");
    expect(src).toContain("PURE_PYTHON_TASK = False");
    const plain = toPython(KEPT_BY_PY_TASK, { python: "3.11" });
    expect(plain).not.toContain("which this program does not");
    expect(plain).not.toContain("npm install pyodide");
  });

  it("keeps a hostile id inside its comment lines", () => {
    const id = "cmd:x\nimport os; os.system('echo PWNED')\n#";
    const src = toPython(KEPT_BY_PY_TASK, { target: { id, task: "py", loop: "a loop\nprint('PWNED')" } });
    expect(src).toMatch(/^[\x20-\x7e\n]*$/);
    for (const line of src.split("\n")) if (line.includes("PWNED")) expect(line.startsWith("#")).toBe(true);
  });
});

const PY311 = findCPython("3.11").path;

describe.skipIf(PY311 === "")(`the pure-Python Task (+pytask) on CPython 3.11${PY311 === "" ? " — skipped: no CPython 3.11 here" : ""}`, () => {
  it("the program runs asyncio.tasks._PyTask and prints the driver's {\"task\": \"py\"} trace; the C Task's differs", () => {
    const py = runWith(PY311, toPython(KEPT_BY_PY_TASK, { python: "3.11", target: pythonTarget({ id: "cpython-3.11+pytask" }) }));
    const c = runWith(PY311, toPython(KEPT_BY_PY_TASK, { python: "3.11", target: pythonTarget({ id: "cpython-3.11", task: "C" }) }));
    const driver = runOnDriver(PY311, [KEPT_BY_PY_TASK], { task: "py" }).traces.get(0)!;
    const driverC = runOnDriver(PY311, [KEPT_BY_PY_TASK]).traces.get(0)!;
    expect(canonicalJson(py)).toBe(canonicalJson(driver));
    expect(canonicalJson(c)).toBe(canonicalJson(driverC));
    expect(py.tasks.map((t) => t.name)).toEqual(["Task-1", "Task-2", "Task-3"]);
    expect(c.tasks.map((t) => t.name)).toEqual(["Task-1", "Task-2"]);
  });

  it("random scenarios: the program with PURE_PYTHON_TASK prints the driver's {\"task\": \"py\"} trace", () => {
    const scenarios = fc.sample(scenarioArb({ version: "3.11" }), { seed: 20261207, numRuns: 12 });
    const driver = runOnDriver(PY311, scenarios, { task: "py" });
    scenarios.forEach((s, i) => {
      const program = runWith(PY311, toPython(s, { python: "3.11", target: { id: "cpython-3.11+pytask", task: "py" } }));
      expect(canonicalJson(program), `scenario ${i}`).toBe(canonicalJson(driver.traces.get(i)!));
    });
  });
});

// ---------------------------------------------------------------- inside Pyodide

/** The Pyodide that pyodide-3.12 runs (as discovery.ts locates it), when `npm run peers` installed it. */
const pyodideDir = ((dir) => (fs.existsSync(path.join(dir, "pyodide.asm.wasm")) ? dir : null))(
  path.join(peersDir(), "node_modules", `pyodide-${PYODIDE_LINES["3.12"]}`),
);

describe.skipIf(pyodideDir === null)(`inside Pyodide (pyodide-3.12)${pyodideDir === null ? " — skipped: needs a Pyodide in .peers/: npm run peers" : ""}`, () => {
  it("the header's command runs the program inside Pyodide, which prints pyodide-3.12's trace", async () => {
    const target = await resolveTarget("pyodide-3.12");
    try {
      const info = pythonTarget(target);
      expect(info.pyodide).toMatch(/^0\.27\.\d+$/);
      // A project with Pyodide installed: node_modules/pyodide is the peer the target runs.
      const project = fs.mkdtempSync(path.join(tmp, "pyodide-project-"));
      fs.mkdirSync(path.join(project, "node_modules"));
      fs.symlinkSync(pyodideDir!, path.join(project, "node_modules", "pyodide"), "dir");
      const scenarios = [KEPT_BY_PY_TASK, ...fc.sample(scenarioArb({ version: "3.12" }), { seed: 20261207, numRuns: 2 })];
      for (const s of scenarios) {
        const src = toPython(s, { python: "3.12", target: info });
        expect(src).toContain(`#     npm install pyodide@${info.pyodide}`);
        // The command as the header writes it, run where the program is this_file.py.
        const command = src.split("\n").find((l) => l.startsWith("#     node -e "))!.slice("#     ".length);
        fs.writeFileSync(path.join(project, "this_file.py"), src);
        const r = spawnSync("bash", ["-c", command], { cwd: project, encoding: "utf8", timeout: 120_000 });
        expect(r.status, r.stderr).toBe(0);
        expect(canonicalJson(programTrace(r.stdout))).toBe(canonicalJson(await target.run(s)));
      }
    } finally {
      await target.close();
    }
  }, 180_000);
});
