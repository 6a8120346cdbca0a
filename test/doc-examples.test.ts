/**
 * The Python documentation's own examples ("Coroutines and Tasks" page),
 * as scenarios in spec/examples/docs/*.json, with their CPython traces
 * recorded in spec/examples/docs/expected/<name>.<version>.json by
 *
 *     npx ts-node -T scripts/record-expected.ts
 *
 * For every example and every version it applies to (requiredVersion .. 3.13):
 *  1. the TypeScript reference (reference@version) gives the recorded trace;
 *  2. the recorded trace is still what CPython gives: each CPython runs all
 *     examples in one driver process; a version whose interpreter is missing
 *     here is skipped, with the reason in the suite's name.
 * Traces are compared as canonical JSON.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as path from "node:path";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference, VERSIONS } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import { canonicalJson, firstDifference, formatEvent } from "../spec/scenario/trace";
import type { Trace, TraceEvent } from "../spec/scenario/trace";
import {
  expectedPath,
  loadDocExamples,
  missingCPython,
  readExpected,
  runOnCPython,
  staleExpectedFiles,
} from "../scripts/record-expected";
import type { CPythonOutcome } from "../scripts/record-expected";

/**
 * Examples on which the reference is known to differ from CPython because of
 * a reference defect: example name -> the versions where it differs. Such a
 * case runs with it.fails, so it turns red once the reference is fixed. Keep
 * this empty unless the difference is certainly the reference's.
 */
const KNOWN_REFERENCE_DEFECTS: Record<string, PythonVersion[]> = {};

const examples = loadDocExamples();

const RECORD = "npx ts-node -T scripts/record-expected.ts";

function describeDifference(actual: Trace, expected: Trace, actualName: string): string {
  const d = firstDifference(actual, expected);
  if (d === null) return "traces are equal";
  const show = (x: unknown) =>
    x !== null && typeof x === "object" && "ev" in (x as object) ? formatEvent(x as TraceEvent) : JSON.stringify(x);
  const width = Math.max(actualName.length, "recorded".length);
  return (
    `first difference at ${d.where}\n` +
    `  ${actualName.padEnd(width)}: ${show(d.a)}\n` +
    `  ${"recorded".padEnd(width)}: ${show(d.b)}`
  );
}

function expectRecorded(name: string, version: PythonVersion): Trace {
  const expected = readExpected(name, version);
  expect(expected, `${path.relative(process.cwd(), expectedPath(name, version))} exists (run ${RECORD})`).toBeDefined();
  return expected!;
}

describe("the documentation examples", () => {
  it("are there, each valid (loadDocExamples validates) and described", () => {
    expect(examples.length).toBeGreaterThan(0);
    for (const e of examples) {
      expect(typeof e.scenario.description, `${e.name} has a description`).toBe("string");
      expect(e.scenario.description!.length, `${e.name}'s description says what it is`).toBeGreaterThan(80);
      expect(e.versions.length, `${e.name} applies to some version`).toBeGreaterThan(0);
    }
  });

  it("have a recorded trace for every version they apply to, and no other", () => {
    const missing = examples.flatMap((e) =>
      e.versions.filter((v) => readExpected(e.name, v) === undefined).map((v) => `${e.name}.${v}`),
    );
    expect(missing, `missing expected traces (run ${RECORD})`).toEqual([]);
    const stale = staleExpectedFiles(examples).map((p) => path.basename(p));
    expect(stale, `expected traces of no example (run ${RECORD}, which deletes them)`).toEqual([]);
  });
});

describe.each(VERSIONS.map((version) => ({ version })))("reference@$version vs the recorded CPython traces", ({ version }) => {
  const applicable = examples.filter((e) => e.versions.includes(version));
  if (applicable.length === 0) it.skip("no example applies to this version", () => {});
  for (const e of applicable) {
    const known = KNOWN_REFERENCE_DEFECTS[e.name]?.includes(version) ?? false;
    (known ? it.fails : it)(e.name, () => {
      const expected = expectRecorded(e.name, version);
      const reference = runScenario(makeReference(version), e.scenario);
      expect(canonicalJson(reference), describeDifference(reference, expected, `reference@${version}`)).toBe(
        canonicalJson(expected),
      );
    });
  }
});

for (const version of VERSIONS) {
  const missing = missingCPython(version);
  const applicable = examples.filter((e) => e.versions.includes(version));
  const title = `CPython ${version} still gives the recorded traces`;
  if (missing !== null) {
    describe.skip(`${title} — skipped: ${missing}`, () => {
      it("needs the interpreter", () => {});
    });
    continue;
  }
  describe(title, () => {
    let outcomes: Map<string, CPythonOutcome[]>;
    let interpreter = "";

    beforeAll(async () => {
      // One driver process for all examples of this version (requests are pipelined; it is closed after).
      const run = await runOnCPython(version, applicable);
      outcomes = run.outcomes;
      interpreter = run.description;
    });

    for (const e of applicable) {
      it(e.name, () => {
        const [outcome] = outcomes.get(e.name)!;
        if ("error" in outcome) throw new Error(`the driver failed on ${e.name}: ${outcome.error}`);
        const expected = expectRecorded(e.name, version);
        // The traces were recorded with particular patch releases (spec/examples/docs/README.md); name this one.
        const message = `${interpreter}\n${describeDifference(outcome.trace, expected, `cpython-${version}`)}`;
        expect(canonicalJson(outcome.trace), message).toBe(canonicalJson(expected));
      });
    }
  });
}
