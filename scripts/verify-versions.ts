/**
 * Which clauses hold on which Python: run every clause on an implementation
 * whatever the versions its metadata claims, and print, per clause, the
 * verdict. This is how clause version ranges are verified (issue 8: a clause
 * claims a version only when it holds on that CPython).
 *
 *   npx ts-node -T scripts/verify-versions.ts ID [ID...] [--runs N] [--seed S] [--clause GLOB] [--json FILE]
 *
 * e.g. `... cpython-3.8 cpython-3.9 cpython-3.10`. A clause whose needs the
 * implementation declares unsupported is "skip"; every other clause runs, its
 * scenarios generated for the implementation's version (cases using a
 * feature it lacks are skipped and counted). Clauses that compare with the
 * reference's trace (ctx.expected()) need a version the reference models and
 * are "n/a" elsewhere.
 */
import * as fs from "node:fs";
import { CLAUSES } from "../spec/clauses";
import { isReferenceVersion } from "../implementations/reference";
import { resolveTarget } from "../harness/targets";
import { runClause } from "../harness/running/runner";
import { selectClauses } from "../harness/running/glob";

interface Row {
  clause: string;
  claims: string[];
  results: Record<string, { status: string; runs: number; skipped?: Record<string, number>; message?: string }>;
}

function usage(msg: string): never {
  process.stderr.write(`verify-versions: ${msg}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const ids: string[] = [];
  let runs = 100;
  let seed = 1;
  let glob: string | undefined;
  let json: string | undefined;
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => (i + 1 < args.length ? args[++i] : usage(`${a} needs a value`));
    if (a === "--runs") runs = Number(value());
    else if (a === "--seed") seed = Number(value());
    else if (a === "--clause") glob = value();
    else if (a === "--json") json = value();
    else if (a.startsWith("-")) usage(`unknown option ${a}`);
    else ids.push(a);
  }
  if (ids.length === 0) usage("name at least one implementation id");
  if (!Number.isInteger(runs) || runs < 1) usage("--runs must be a positive integer");
  const clauses = glob ? selectClauses(CLAUSES, glob) : [...CLAUSES];
  const rows: Row[] = clauses.map((c) => ({ clause: c.id, claims: [...c.versions], results: {} }));
  for (const id of ids) {
    const target = await resolveTarget(id);
    process.stderr.write(`${id}: ${target.description}\n`);
    try {
      for (const [i, c] of clauses.entries()) {
        const usesReference = /expected\(\)/.test(c.check.toString());
        if (usesReference && !isReferenceVersion(target.version)) {
          rows[i].results[id] = { status: "n/a", runs: 0, message: `compares with the reference, which does not model ${target.version}` };
          continue;
        }
        const widened = { ...c, versions: [...c.versions, target.version] };
        const r = await runClause(widened, target, { runs, seed });
        rows[i].results[id] = {
          status: r.status,
          runs: r.runs,
          ...(r.skipped ? { skipped: r.skipped } : {}),
          ...(r.reason || r.counterexample ? { message: (r.reason ?? r.counterexample!.message).split("\n")[0].slice(0, 300) } : {}),
        };
        process.stderr.write(`  ${r.status.padEnd(5)} ${c.id}${r.status === "fail" ? `: ${rows[i].results[id].message}` : ""}\n`);
      }
    } finally {
      await target.close();
    }
  }
  if (json) fs.writeFileSync(json, JSON.stringify(rows, null, 2) + "\n");
  const width = Math.max(...rows.map((r) => r.clause.length));
  process.stdout.write(`${"clause".padEnd(width)}  ${ids.map((x) => x.padEnd(12)).join(" ")}\n`);
  for (const r of rows) {
    process.stdout.write(`${r.clause.padEnd(width)}  ${ids.map((id) => (r.results[id]?.status ?? "-").padEnd(12)).join(" ")}\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`verify-versions: ${(e as Error).message}\n`);
  process.exit(2);
});
