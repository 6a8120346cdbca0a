/**
 * A feature newer than the Python a target models is refused alike
 * everywhere, in one line: the reference (runScenario) and the Python driver
 * both say "unsupported feature F on Python 3.X" (issue 9: as_completed's
 * async mode on 3.12 used to run into a TypeError trace on the reference).
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import type { Scenario } from "../spec/scenario/types";

const DRIVER = path.resolve(__dirname, "..", "implementations", "python", "aiospec_driver.py");

const eager = { aiospec: 1, eager: true, coroutines: [{ name: "main", body: [{ op: "log", label: "x" }] }] } as Scenario;
const asyncAsCompleted = {
  aiospec: 1,
  coroutines: [{ name: "main", body: [
    { op: "create_future", future: "f" },
    { op: "set_result", future: "f", value: 1 },
    { op: "repeat", times: 1, var: "i", body: [{ op: "as_completed", on: [{ task: "f" }], mode: "async" }] },
  ] }],
} as unknown as Scenario;

describe("version-specific features", () => {
  it.each([
    ["eager", eager, "3.11", "unsupported feature eager on Python 3.11"],
    ["as_completed:async", asyncAsCompleted, "3.11", "unsupported feature as_completed:async on Python 3.11"],
    ["as_completed:async", asyncAsCompleted, "3.12", "unsupported feature as_completed:async on Python 3.12"],
  ] as const)("the reference refuses %s on %s", (_f, s, version, message) => {
    expect(() => runScenario(makeReference(version), s)).toThrow(message);
  });

  it("the reference runs them where they exist", () => {
    expect(runScenario(makeReference("3.12"), eager).end.kind).toBe("complete");
    expect(runScenario(makeReference("3.13"), asyncAsCompleted).end.kind).toBe("complete");
  });

  it("the Python 3.11 driver refuses them in the same words", () => {
    const input = [eager, asyncAsCompleted].map((s, id) => JSON.stringify({ id, scenario: s })).join("\n") + "\n";
    const r = spawnSync("python3", [DRIVER], { input, encoding: "utf8" });
    const replies = r.stdout.trim().split("\n").slice(1).map((l) => JSON.parse(l));
    expect(replies.map((x) => x.error)).toEqual([
      "unsupported feature eager on Python 3.11",
      "unsupported feature as_completed:async on Python 3.11",
    ]);
  });
});
