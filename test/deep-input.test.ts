/**
 * Deep input (issue 14.7): the validator bounds how deeply a scenario nests
 * (MAX_NESTING levels of JSON objects and arrays), checks it before any
 * recursive pass, and a scenario at the limit still runs everywhere —
 * on the reference, on CPython's driver, and as a Python reproducer, whose
 * nesting CPython's compiler bounds (20 blocks per function).
 */
import { describe, expect, it, afterAll } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MAX_NESTING, validateScenario, formatValidationErrors } from "../spec/scenario/validate";
import { toPython } from "../harness/reproducing/python";
import { canonicalJson, type Trace } from "../spec/scenario/trace";
import type { ExceptionSpec, Scenario, Step } from "../spec/scenario/types";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "bin", "aiospec.js");
const DRIVER = path.join(ROOT, "implementations", "python", "aiospec_driver.py");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-deep-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Levels of objects and arrays (the value itself is level 1), counted without recursion. */
function nesting(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    deepest = Math.max(deepest, d);
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return deepest;
}

const main = (body: Step[]): Scenario => ({ aiospec: 1, coroutines: [{ name: "main", body }] });

/** try / except ValueError / finally, each handler holding the next level: 3 blocks of CPython's 20 per level. */
function handlers(levels: number, innermost: Step[]): Scenario {
  let body = innermost;
  for (let i = 0; i < levels; i++) {
    body = [
      {
        op: "try",
        body: [{ op: "raise", exc: { type: "ValueError", args: [`e${i}`] } }],
        except: [{ type: "ValueError", body }],
        finally: [{ op: "log", label: `finally ${i}` }],
      },
    ];
  }
  return main(body);
}

/** Exception groups, each the only member of the next. */
function groups(levels: number): Scenario {
  let exc: ExceptionSpec = { type: "ValueError" };
  for (let i = 0; i < levels; i++) exc = { type: "ExceptionGroup", args: [`g${i}`], exceptions: [exc] };
  return main([
    { op: "try", body: [{ op: "raise", exc }], except: [{ type: "ExceptionGroup", body: [{ op: "log", label: "caught" }] }] },
  ]);
}

/** TaskGroups and timeouts, alternately, each holding the next. */
function contexts(levels: number): Scenario {
  let body: Step[] = [{ op: "await", on: { sleep: 1 } }];
  for (let i = 0; i < levels; i++) {
    body = [i % 2 === 0 ? { op: "timeout", delay: 100, body } : { op: "taskgroup", group: `g${i}`, body }];
  }
  return main(body);
}

const AT_LIMIT: Record<string, Scenario> = {
  "try / except / finally in handlers, shields innermost": handlers(6, [{ op: "await", on: { shield: { shield: { sleep: 1 } } } }]),
  "exception groups": groups(12),
  "TaskGroups and timeouts": contexts(13),
};

function writeScenario(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

function driverTrace(scenario: Scenario): Trace {
  const r = spawnSync("python3", [DRIVER], { input: JSON.stringify({ id: 1, scenario }) + "\n", encoding: "utf8", timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  const reply = JSON.parse(r.stdout.trim().split("\n")[1]);
  expect(reply.error).toBeUndefined();
  return reply.trace as Trace;
}

function reproducerTrace(scenario: Scenario, name: string): { trace: Trace; stderr: string } {
  const file = writeScenario(`${name}.py`, toPython(scenario, { title: name }));
  const r = spawnSync("python3", [file], { encoding: "utf8", timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const outcome = lines.pop();
  return { trace: { events: lines, ...outcome } as Trace, stderr: r.stderr };
}

describe("a scenario nested 10,000 levels deep", () => {
  // Written as text: JSON.stringify itself recurses too deeply for it.
  const n = 10_000;
  const deepTry = `{"aiospec":1,"coroutines":[{"name":"main","body":${'[{"op":"try","body":'.repeat(n)}[]${',"finally":[]}]'.repeat(n)}}]}`;
  const deepShield = `{"aiospec":1,"coroutines":[{"name":"main","body":[{"op":"await","on":${'{"shield":'.repeat(n)}{"sleep":1}${"}".repeat(n)}}]}]}`;

  for (const [name, text] of Object.entries({ "try bodies": deepTry, "shields": deepShield })) {
    it(`of ${name}: replay exits 2 with one line naming the limit and where`, () => {
      const file = writeScenario(`deep-${name.replace(/\W/g, "")}.json`, text);
      const r = spawnSync("node", [CLI, "replay", file, "--impl", "reference"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`nested deeper than the limit of ${MAX_NESTING} levels`);
      expect(lines[0]).toMatch(/\$\.coroutines\[0\]\.body\[0\]\.(body\[0\]|on\.shield)/);
    });
  }
});

describe(`a scenario at the limit (${MAX_NESTING} levels)`, () => {
  for (const [name, scenario] of Object.entries(AT_LIMIT)) {
    it(`${name}: validates, runs on the reference, and its reproducer prints the driver's trace`, () => {
      expect(nesting(scenario)).toBe(MAX_NESTING);
      const v = validateScenario(scenario);
      expect(v.ok, v.ok ? "" : formatValidationErrors(v.errors)).toBe(true);

      const file = writeScenario(`${name.replace(/\W/g, "")}.json`, JSON.stringify(scenario));
      const replay = spawnSync("node", [CLI, "replay", file, "--impl", "reference"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
      expect(replay.status, replay.stderr).toBe(0);

      const { trace, stderr } = reproducerTrace(scenario, name.replace(/\W/g, ""));
      expect(stderr).toBe("");
      expect(canonicalJson(trace)).toBe(canonicalJson(driverTrace(scenario)));
    });
  }

  it("one level more is refused, at the path where the limit is exceeded", () => {
    const scenario = handlers(6, [{ op: "await", on: { shield: { shield: { shield: { sleep: 1 } } } } }]);
    expect(nesting(scenario)).toBe(MAX_NESTING + 1);
    const v = validateScenario(scenario);
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.errors).toHaveLength(1);
    expect(v.errors[0].path).toBe(`$.coroutines[0]${".body[0].except[0]".repeat(6)}.body[0].on.shield.shield.shield`);
    expect(v.errors[0].message).toBe(`nested deeper than the limit of ${MAX_NESTING} levels of objects and arrays`);
  });
});
