/**
 * The full details of a failing clause, written to files so that the
 * terminal, the vitest message and the HTML card can stay short: under the
 * reports' failures/ directory (model.ts failureFiles names them),
 *
 *   <implementation>--<clause>.py    the shrunk scenario as a standalone
 *                                    Python program; it checks that it runs
 *                                    on the Python version the failure is about
 *   <implementation>--<clause>.ts    a TypeScript program that runs the
 *                                    scenario on the implementation and on the
 *                                    reference through aiospec, and judges it
 *                                    with the clause (npx ts-node FILE)
 *   <implementation>--<clause>.json  the scenario, both traces whole, the
 *                                    first difference, the verdict and the
 *                                    replay command
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ClauseReport, FailureFiles } from "./model";

/** Where the harness's public API is, for the TypeScript reproducer (harness/index, .ts or compiled). */
const HARNESS_INDEX = path.resolve(__dirname, "..", "index");

/** The repository's tsconfig.json (commonjs), for ts-node to run the TypeScript reproducer with; none in a compiled package. */
function repositoryTsconfig(): string | undefined {
  for (const up of ["../..", "../../.."]) {
    const f = path.resolve(__dirname, up, "tsconfig.json");
    if (fs.existsSync(f)) return f;
  }
  return undefined;
}

/** The command that runs a TypeScript reproducer. */
export function tsRunCommand(file: string): string {
  const tsconfig = repositoryTsconfig();
  return `npx ts-node ${tsconfig ? `-P ${tsconfig} ` : ""}${file}`;
}

/** A string as a TypeScript string literal. */
function tsString(s: string): string {
  return JSON.stringify(s);
}

/**
 * The id to give resolveTarget from another directory: a module path made
 * absolute (relative to the working directory, as --impl took it).
 */
function portableId(implId: string): string {
  const m = /^(.*?\.(?:[cm]?[jt]s))(@3\.\d+)?$/.exec(implId);
  if (!m || implId.startsWith("cmd:")) return implId;
  return path.resolve(m[1]) + (m[2] ?? "");
}

/** The TypeScript reproducer: run the scenario on the implementation, judge it with the clause, exit 1 when it fails. */
export function typescriptReproducer(r: ClauseReport, implId: string, version: string, fromDir: string): string {
  const x = r.failure!;
  let api = path.relative(fromDir, HARNESS_INDEX).split(path.sep).join("/");
  if (!api.startsWith(".")) api = `./${api}`;
  return `// aiospec reproducer (TypeScript): ${r.id} fails on ${implId} (seed ${x.seed}, path ${x.path}).
// Run it from the aiospec checkout (or a project that has aiospec installed):
//     ${tsRunCommand(x.files?.typescript ?? "this_file.ts")}
// It runs the scenario on ${implId} and on the reference's ${version} profile,
// judges the trace with the clause, prints the verdict and exits 1 if the clause fails.
import { findClause, resolveTarget } from ${tsString(api)};
import type { Scenario } from ${tsString(api)};

// An id \`aiospec run --impl\` accepts; for an implementation checked through
// the vitest integration, put the path of the module that exports it here.
const IMPLEMENTATION = ${tsString(portableId(implId))};
const CLAUSE = ${tsString(r.id)};
const VERSION = ${tsString(version)};
const SCENARIO: Scenario = ${JSON.stringify(x.scenario, null, 2)};

async function main(): Promise<number> {
  const clause = findClause(CLAUSE);
  if (!clause) throw new Error(\`no clause \${CLAUSE} in this aiospec\`);
  const target = await resolveTarget(IMPLEMENTATION, VERSION as never);
  const reference = await resolveTarget(\`reference@\${VERSION}\`);
  try {
    const trace = await target.run(SCENARIO);
    const expected = await reference.run(SCENARIO);
    const verdict = clause.check({ scenario: SCENARIO, trace, version: target.version, fullVersion: target.fullVersion, expected: () => expected });
    console.log(JSON.stringify(trace, null, 2));
    console.log(verdict === true ? \`\${CLAUSE} holds on \${target.id}\` : \`\${CLAUSE} fails on \${target.id}: \${verdict}\`);
    return verdict === true ? 0 : 1;
  } finally {
    await Promise.all([target.close(), reference.close()]);
  }
}

main().then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(2);
});
`;
}

/** Everything about the failure, as JSON. */
function failureJson(r: ClauseReport, implId: string): string {
  const x = r.failure!;
  const { python: _python, files: _files, ...rest } = x;
  return JSON.stringify({ clause: r.id, statement: r.statement, implementation: implId, ...rest }, null, 2) + "\n";
}

/**
 * Write a failing clause's files (r.failure.files) and return their paths;
 * undefined when the clause has no failure or the files could not be
 * written (a read-only directory: the reports still hold everything).
 */
export function writeFailureFiles(r: ClauseReport, implId: string, version: string): FailureFiles | undefined {
  const files = r.failure?.files;
  if (!files) return undefined;
  try {
    fs.mkdirSync(path.dirname(path.resolve(files.python)), { recursive: true });
    fs.writeFileSync(files.python, r.failure!.python);
    fs.writeFileSync(files.typescript, typescriptReproducer(r, implId, version, path.dirname(path.resolve(files.typescript))));
    fs.writeFileSync(files.json, failureJson(r, implId));
    return files;
  } catch {
    return undefined;
  }
}
