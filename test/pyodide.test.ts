/**
 * The Pyodide driver (implementations/pyodide/driver.js): CPython 3.12 / 3.13 /
 * 3.14 in WebAssembly, from the peers directory (`npm run peers` installs
 * Pyodide 0.27 / 0.29 / 314 into .peers/, or $AIOSPEC_PEERS_DIR).
 *
 * For each Pyodide line installed there: the driver starts, says hello with
 * the Python version inside Pyodide, and gives the recorded CPython trace
 * (spec/examples/docs/expected/NAME.3.X.json) for the documentation examples
 * of its version, through the harness's own driver client. A line that is
 * not installed is skipped, and the suite's name says why. The argument
 * checks run without Pyodide.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DriverProcess } from "../harness/targets/driver";
import type { DriverHello } from "../harness/targets/driver";
import { loadDocExamples, readExpected } from "../scripts/record-expected";
import type { PythonVersion } from "../implementations/reference";
import { canonicalJson } from "../spec/scenario/trace";
import type { Trace } from "../spec/scenario/trace";
import { describeDifference } from "./helpers/difference";

const ROOT = path.resolve(__dirname, "..");
const DRIVER = path.join(ROOT, "implementations", "pyodide", "driver.js");
const PEERS = path.resolve(process.env.AIOSPEC_PEERS_DIR ?? path.join(ROOT, ".peers"));
const LINES = [
  { line: "0.27", python: "3.12" },
  { line: "0.29", python: "3.13" },
  { line: "314", python: "3.14" },
];
// Generous: Pyodide takes seconds to start, more on a loaded machine.
const START_MS = 90_000;
const CASE_MS = 30_000;

function installed(line: string): boolean {
  return fs.existsSync(path.join(PEERS, "node_modules", `pyodide-${line}`, "pyodide.js"));
}

/** Run driver.js to its end with the given arguments and stdin. */
function runDriver(args: string[], env: NodeJS.ProcessEnv = {}, input = "") {
  return spawnSync(process.execPath, [DRIVER, ...args], {
    input,
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: START_MS,
  });
}

describe("the Pyodide driver's arguments", () => {
  it("refuses a missing or unknown --pyodide with one line on stderr and exit code 2", () => {
    for (const args of [[], ["--pyodide", "0.30"], ["--pyodide"]]) {
      const r = runDriver(args);
      expect(r.status, `driver.js ${args.join(" ")}`).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(/--pyodide|Pyodide version/);
    }
  });

  it("says to run npm run peers when the peers directory has no Pyodide (exit code 2)", () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-no-peers-"));
    try {
      const r = runDriver(["--pyodide", "0.29"], { AIOSPEC_PEERS_DIR: empty });
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
      expect(r.stderr).toContain("npm run peers");
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

const examples = loadDocExamples();

for (const { line, python } of LINES) {
  const have = installed(line);
  const title = have
    ? `Pyodide ${line} (CPython ${python}) through the driver protocol`
    : `Pyodide ${line}: skipped, pyodide ${line} not installed: run npm run peers`;
  describe.skipIf(!have)(title, () => {
    let driver: DriverProcess;
    let hello: DriverHello & { pyodide?: string };

    beforeAll(async () => {
      driver = new DriverProcess(process.execPath, [DRIVER, "--pyodide", line], { label: `pyodide-${line}` });
      const timeout = new Promise<never>((_, rej) =>
        setTimeout(() => rej(new Error(`no hello from driver.js --pyodide ${line} within ${START_MS} ms`)), START_MS).unref(),
      );
      hello = await Promise.race([driver.hello, timeout]);
    }, START_MS + 5_000);

    afterAll(async () => {
      await driver?.close();
    });

    it("says hello with the Python version inside Pyodide", () => {
      expect(hello.protocol).toBe(1);
      expect(hello.version).toBe(python);
      expect(hello.python).toMatch(new RegExp(`^${python.replace(".", "\\.")}\\.[0-9]+$`));
      expect(hello.implementation).toMatch(/Pyodide [0-9]+\.[0-9]+\.[0-9]+/);
      expect(hello.implementation).toContain("CPython");
      const pkg = JSON.parse(fs.readFileSync(path.join(PEERS, "node_modules", `pyodide-${line}`, "package.json"), "utf8"));
      expect(hello.implementation).toContain(`Pyodide ${pkg.version}`);
    });

    const recorded = examples.filter((e) => readExpected(e.name, python as PythonVersion) !== undefined);
    if (recorded.length > 0) {
      it(`gives the recorded CPython ${python} trace for the ${recorded.length} documentation examples of ${python}`, async () => {
        for (const e of recorded) {
          const trace: Trace = await driver.run(e.scenario, { timeoutMs: CASE_MS });
          const expected = readExpected(e.name, python as PythonVersion)!;
          expect(canonicalJson(trace), `${e.name}.${python}: ${describeDifference(trace, expected)}`).toBe(canonicalJson(expected));
        }
      }, 120_000);
    } else {
      // No CPython trace is recorded for this version (3.14): an example
      // whose trace is the same on every version stands in.
      it("gives the recorded CPython trace of gather-factorial (nothing recorded for this version: the newest recording)", async () => {
        const e = examples.find((x) => x.name === "gather-factorial")!;
        const newest = [...e.versions].reverse().find((v) => readExpected(e.name, v) !== undefined)!;
        const expected = readExpected(e.name, newest)!;
        const trace: Trace = await driver.run(e.scenario, { timeoutMs: CASE_MS });
        expect(canonicalJson(trace), `gather-factorial vs ${newest}: ${describeDifference(trace, expected)}`).toBe(canonicalJson(expected));
      }, 120_000);
    }

    it("answers a scenario it cannot run with an error reply, and keeps serving", async () => {
      const bad = { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "no_such_op" }] }] };
      await expect(driver.run(bad as never, { timeoutMs: CASE_MS })).rejects.toThrow(/no_such_op|unknown op/);
      const e = examples.find((x) => x.name === "gather-factorial")!;
      const trace = await driver.run(e.scenario, { timeoutMs: CASE_MS });
      expect(trace.end).toEqual({ kind: "complete" });
    }, 120_000);
  });
}

// One raw session: the protocol's lines themselves (hello first, one reply
// per line matched by id, an error reply for a line that is not JSON). It
// starts without the start-up snapshot (--no-snapshot), which the sessions
// above use: both ways give the recorded trace.
const first = LINES.find((l) => installed(l.line));
describe.skipIf(!first)(first ? `Pyodide ${first.line}: raw protocol lines` : "raw protocol lines: skipped, no Pyodide installed: run npm run peers", () => {
  it("writes the hello first, then one reply per request line, by id", async () => {
    const e = examples.find((x) => x.name === "gather-factorial")!;
    const input =
      JSON.stringify({ id: 7, scenario: e.scenario, options: {} }) + "\n" + "this is not json\n" + "\n" +
      JSON.stringify({ id: "x", scenario: e.scenario, options: {} }) + "\n";
    const child = spawn(process.execPath, [DRIVER, "--pyodide", first!.line, "--no-snapshot"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stdin.end(input);
    const code = await new Promise<number | null>((res) => child.on("exit", res));
    expect(code).toBe(0);
    const lines = out.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toHaveProperty("hello");
    expect(lines[1].id).toBe(7);
    expect(lines[1]).toHaveProperty("trace");
    expect(lines[2]).toEqual({ id: null, error: expect.stringMatching(/JSON/) });
    expect(lines[3].id).toBe("x");
    expect(canonicalJson(lines[3].trace)).toBe(canonicalJson(lines[1].trace));
    const expected = readExpected("gather-factorial", first!.python as PythonVersion) ?? readExpected("gather-factorial", "3.13");
    expect(canonicalJson(lines[1].trace), describeDifference(lines[1].trace, expected!)).toBe(canonicalJson(expected));
  }, START_MS + 30_000);
});
