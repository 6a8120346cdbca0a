/**
 * Record the expected traces of the Python documentation's examples.
 *
 *     npx ts-node -T scripts/record-expected.ts            every example
 *     npx ts-node -T scripts/record-expected.ts NAME...    only these (file names, with or without .json)
 *
 * Runs every scenario of spec/examples/docs/*.json on real CPython, through
 * the driver, on each version the example applies to (`requiredVersion` of
 * spec/scenario/validate.ts, up to the newest version aiospec models), and
 * writes the traces to spec/examples/docs/expected/<name>.<version>.json
 * (canonical JSON — sorted keys — pretty-printed). Expected traces are never
 * typed by hand: this is the only writer.
 *
 * Interpreters: cpython-3.11, cpython-3.12, cpython-3.13 as harness/targets/index.ts
 * resolves them (pyenv, or python3.X on PATH). A version whose interpreter is
 * missing is skipped with a warning and its files are left alone. Each
 * scenario runs twice; if the two traces differ, nothing is written for it
 * and the script fails (a recorded trace must be reproducible).
 *
 * A file of expected/ that no longer belongs to an example and a version it
 * applies to is deleted (only on a run over every example).
 *
 * test/doc-examples.test.ts imports the helpers below: it checks the
 * reference against these files, and CPython against them again.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { findCPython, resolveTarget } from "../harness/targets";
import { VERSIONS } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import { canonicalJson } from "../spec/scenario/trace";
import type { Trace } from "../spec/scenario/trace";
import type { Scenario } from "../spec/scenario/types";
import { formatValidationErrors, requiredVersion, validateScenario } from "../spec/scenario/validate";

export const DOCS_DIR = path.resolve(__dirname, "..", "spec", "examples", "docs");
export const EXPECTED_DIR = path.join(DOCS_DIR, "expected");

export interface DocExample {
  /** The file name without ".json", e.g. "gather-factorial". */
  name: string;
  file: string;
  scenario: Scenario;
  /** The versions the example applies to, oldest first. */
  versions: PythonVersion[];
}

/** Every example of spec/examples/docs, validated, sorted by name. Throws on an invalid one. */
export function loadDocExamples(): DocExample[] {
  return fs
    .readdirSync(DOCS_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => {
      const file = path.join(DOCS_DIR, f);
      const v = validateScenario(JSON.parse(fs.readFileSync(file, "utf8")));
      if (!v.ok) throw new Error(`${file} is not a valid scenario:\n${formatValidationErrors(v.errors)}`);
      const oldest = requiredVersion(v.scenario);
      return {
        name: f.slice(0, -".json".length),
        file,
        scenario: v.scenario,
        versions: VERSIONS.filter((x) => VERSIONS.indexOf(x) >= VERSIONS.indexOf(oldest)),
      };
    });
}

export function expectedPath(name: string, version: PythonVersion): string {
  return path.join(EXPECTED_DIR, `${name}.${version}.json`);
}

/** The recorded trace, or undefined when there is none. */
export function readExpected(name: string, version: PythonVersion): Trace | undefined {
  const p = expectedPath(name, version);
  return fs.existsSync(p) ? (JSON.parse(fs.readFileSync(p, "utf8")) as Trace) : undefined;
}

/** How a trace is stored: canonical JSON (sorted keys), pretty-printed, with a final newline. */
export function formatExpected(trace: Trace): string {
  return JSON.stringify(JSON.parse(canonicalJson(trace)), null, 2) + "\n";
}

/** The files of expected/ that belong to no (example, applicable version) pair. */
export function staleExpectedFiles(examples: DocExample[]): string[] {
  if (!fs.existsSync(EXPECTED_DIR)) return [];
  const wanted = new Set(examples.flatMap((e) => e.versions.map((v) => path.basename(expectedPath(e.name, v)))));
  return fs
    .readdirSync(EXPECTED_DIR)
    .filter((f) => f.endsWith(".json") && !wanted.has(f))
    .sort()
    .map((f) => path.join(EXPECTED_DIR, f));
}

/** Why CPython `version` cannot be run here, or null when an interpreter was found. */
export function missingCPython(version: PythonVersion): string | null {
  const found = findCPython(version);
  return found.path ? null : `no CPython ${version} found (looked for ${found.looked.join(" and ")})`;
}

export type CPythonOutcome = { trace: Trace } | { error: string };

/**
 * Run the examples on CPython `version`, all in one driver process
 * (requests are pipelined), `times` runs of each. Returns, per example name,
 * the outcome of each run, and the interpreter's description.
 */
export async function runOnCPython(
  version: PythonVersion,
  examples: DocExample[],
  times = 1,
): Promise<{ description: string; outcomes: Map<string, CPythonOutcome[]> }> {
  const target = await resolveTarget(`cpython-${version}`);
  try {
    if (target.version !== version) {
      throw new Error(`cpython-${version} resolved to ${target.description}, which is Python ${target.version}`);
    }
    const outcomes = new Map<string, CPythonOutcome[]>();
    await Promise.all(
      examples.map(async (e) => {
        const runs: Promise<CPythonOutcome>[] = [];
        for (let i = 0; i < times; i++) {
          runs.push(
            target.run(e.scenario).then(
              (trace) => ({ trace }),
              (err: Error) => ({ error: err.message }),
            ),
          );
        }
        outcomes.set(e.name, await Promise.all(runs));
      }),
    );
    return { description: target.description, outcomes };
  } finally {
    target.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const all = loadDocExamples();
  const wanted = argv.map((a) => path.basename(a).replace(/\.json$/, ""));
  const unknown = wanted.filter((w) => !all.some((e) => e.name === w));
  if (unknown.length > 0) {
    console.error(`unknown example(s): ${unknown.join(", ")} (see ${DOCS_DIR})`);
    return 2;
  }
  const examples = wanted.length > 0 ? all.filter((e) => wanted.includes(e.name)) : all;
  fs.mkdirSync(EXPECTED_DIR, { recursive: true });
  let failed = false;
  for (const version of VERSIONS) {
    const selected = examples.filter((e) => e.versions.includes(version));
    if (selected.length === 0) continue;
    const missing = missingCPython(version);
    if (missing) {
      console.warn(`skipping Python ${version}: ${missing}; its expected traces are left as they are`);
      continue;
    }
    const { description, outcomes } = await runOnCPython(version, selected, 2);
    console.log(`Python ${version}: ${description}`);
    for (const e of selected) {
      const runs = outcomes.get(e.name)!;
      const bad = runs.find((r): r is { error: string } => "error" in r);
      if (bad) {
        console.error(`  ${e.name}: the driver failed: ${bad.error}`);
        failed = true;
        continue;
      }
      const [a, b] = runs.map((r) => canonicalJson((r as { trace: Trace }).trace));
      if (a !== b) {
        console.error(`  ${e.name}: two runs gave different traces; nothing recorded`);
        failed = true;
        continue;
      }
      const p = expectedPath(e.name, version);
      const text = formatExpected((runs[0] as { trace: Trace }).trace);
      const before = fs.existsSync(p) ? fs.readFileSync(p, "utf8") : undefined;
      if (before !== text) fs.writeFileSync(p, text);
      console.log(`  ${before === undefined ? "new      " : before === text ? "unchanged" : "CHANGED  "} ${path.relative(process.cwd(), p)}`);
    }
  }
  if (wanted.length === 0) {
    for (const p of staleExpectedFiles(all)) {
      fs.unlinkSync(p);
      console.log(`  deleted   ${path.relative(process.cwd(), p)} (no such example, or the version does not apply)`);
    }
  }
  return failed ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      console.error(e.stack ?? e.message);
      process.exit(1);
    },
  );
}
