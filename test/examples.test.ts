/**
 * Every example scenario under spec/examples/ (one JSON file per example, e.g.
 * the code samples of the seed tutorials in spec/examples/seeds/) is run on
 * real CPython through the driver and on the TypeScript reference with the
 * matching version profile; the two traces must be equal.
 *
 * CPython 3.11 is `python3`; 3.12 and 3.13 are run when an interpreter is
 * found (pyenv or python3.X on PATH). Each interpreter runs all examples in one
 * driver process: every scenario is one input line.
 */
import { compareVersions } from "../spec/scenario/versions";
import { beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { findCPython } from "../harness/targets";
import { DriverRun, runOnDriver } from "./helpers/driver";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import { canonicalJson } from "../spec/scenario/trace";
import type { Scenario } from "../spec/scenario/types";
import { formatValidationErrors, requiredVersion, validateScenario } from "../spec/scenario/validate";
import { describeDifference } from "./helpers/difference";

const EXAMPLES_DIR = path.resolve(__dirname, "..", "spec", "examples");

/**
 * Examples on which the reference is known to differ from CPython because of a
 * reference defect: "relative/path.json" -> the versions where it differs.
 * Such a case is run with it.fails, so that it turns red once the reference is
 * fixed. Keep this empty unless the difference is certainly the reference's.
 */
const KNOWN_REFERENCE_DEFECTS: Record<string, PythonVersion[]> = {};

function listJson(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    // expected/ folders hold recorded traces, not scenarios.
    if (entry.isDirectory() && entry.name !== "expected") out.push(...listJson(p));
    else if (entry.isFile() && entry.name.endsWith(".json")) out.push(p);
  }
  return out.sort();
}

interface Example {
  /** Path relative to spec/examples, with forward slashes. */
  name: string;
  scenario: Scenario;
}

const examples: Example[] = listJson(EXAMPLES_DIR).map((file) => ({
  name: path.relative(EXAMPLES_DIR, file).split(path.sep).join("/"),
  scenario: JSON.parse(fs.readFileSync(file, "utf8")) as Scenario,
}));



const targets: Array<{ version: PythonVersion; python: string }> = [
  { version: "3.11", python: "python3" },
  ...(["3.12", "3.13"] as const)
    .map((v) => ({ version: v, python: findCPython(v).path }))
    .filter((t) => t.python !== ""),
];

it("finds the example scenarios, each valid and described", () => {
  expect(examples.length).toBeGreaterThan(0);
  for (const e of examples) {
    const v = validateScenario(e.scenario);
    expect(v.ok ? "valid" : formatValidationErrors(v.errors), e.name).toBe("valid");
    expect(typeof e.scenario.description, `${e.name} has a description`).toBe("string");
  }
});

describe.each(targets)("examples on CPython $version ($python) vs reference@$version", ({ version, python }) => {
  let run: DriverRun;

  beforeAll(() => {
    run = runOnDriver(python, examples.map((e) => e.scenario));
  });

  it("runs on the expected Python version", () => {
    expect(run.hello.version).toBe(version);
  });

  examples.forEach((example, id) => {
    const known = KNOWN_REFERENCE_DEFECTS[example.name]?.includes(version) ?? false;
    const needs = requiredVersion(example.scenario);
    if (compareVersions(needs, version) > 0) {
      it.skip(`${example.name} (needs Python ${needs})`, () => {});
      return;
    }
    (known ? it.fails : it)(example.name, () => {
      expect(run.errors.get(id), "the driver ran the scenario").toBeUndefined();
      const cpython = run.traces.get(id);
      expect(cpython, "the driver returned a trace").toBeDefined();
      const reference = runScenario(makeReference(version), example.scenario);
      expect(canonicalJson(reference), describeDifference(reference, cpython!)).toBe(canonicalJson(cpython));
    });
  });
});
