/**
 * Baselines: the known failures a CI run accepts (docs/reports.md).
 *
 *   {
 *     "format": "aiospec-baseline",
 *     "schemaVersion": 1,
 *     "knownFailures": [
 *       { "implementation": "cpython-3.12", "clause": "gather.order", "reason": "bpo-12345" }
 *     ]
 *   }
 *
 * `implementation` matches the id given to --impl or the id it resolves to
 * (reference -> reference@3.13); both fields take `*` wildcards. A clause
 * that fails and is listed is a known failure; one that fails and is not
 * listed is a new failure (exit 1); one that is listed and passes is an
 * unexpected pass (reported; exit 1 only with --strict). A flaky clause (real
 * clock: it failed, then passed when run again) is none of these: it is
 * listed apart, fails nothing, and --update-baseline leaves its entry, if
 * any, as it is. So is an inconclusive clause (it checked too few cases to
 * be called a pass): never an unexpected pass, its entry kept.
 */
import * as fs from "node:fs";
import type Ajv2020 from "ajv/dist/2020";
import { UsageError } from "../targets";
import { writeFileAtomic } from "./atomic";
import { jsonPath, loadAjv } from "./schemas";
import baselineSchema from "./baseline.schema.json";
import type { BaselineMark, BaselineOutcome, ClauseReport, ImplementationInfo } from "./model";
import { globMatch } from "../running/glob";

export type { BaselineOutcome } from "./model";

export const BASELINE_FORMAT = "aiospec-baseline";

export interface BaselineEntry {
  implementation: string;
  clause: string;
  reason: string;
}

export interface Baseline {
  format: typeof BASELINE_FORMAT;
  schemaVersion: 1;
  knownFailures: BaselineEntry[];
}


let validator: ReturnType<Ajv2020["compile"]> | undefined;

function validate(data: unknown): string | null {
  validator ??= new (loadAjv())({ allErrors: false, strict: true }).compile(baselineSchema);
  if (validator(data)) return null;
  const e = validator.errors![0];
  const where = jsonPath(e.instancePath);
  const extra = e.keyword === "additionalProperties" ? ` (${(e.params as { additionalProperty: string }).additionalProperty})` : "";
  return `${where}: ${e.message}${extra}`;
}

export function emptyBaseline(): Baseline {
  return { format: BASELINE_FORMAT, schemaVersion: 1, knownFailures: [] };
}

/**
 * Read and validate a baseline. A missing file is an error, unless
 * `allowMissing` (--update-baseline creates it). Errors are one line.
 */
export function loadBaseline(file: string, allowMissing = false): Baseline {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && allowMissing) return emptyBaseline();
    throw new UsageError(`cannot read baseline ${file}: ${code ?? (e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`invalid baseline ${file}: malformed JSON: ${(e as Error).message.split("\n")[0]}`);
  }
  const problem = validate(data);
  if (problem) throw new UsageError(`invalid baseline ${file}: ${problem}`);
  const b = data as Baseline;
  const seen = new Set<string>();
  b.knownFailures.forEach((e, i) => {
    const key = `${e.implementation}\u0000${e.clause}`;
    if (seen.has(key)) {
      throw new UsageError(`invalid baseline ${file}: $.knownFailures[${i}]: ${e.implementation} / ${e.clause} is listed twice`);
    }
    seen.add(key);
  });
  return b;
}

/** A baseline pattern: `*` any run of characters, everything else literal (`?` too). */
function wildcard(pattern: string): { test: (s: string) => boolean } {
  return { test: (s) => globMatch(pattern, s, false) };
}

function entriesFor(b: Baseline, impl: ImplementationInfo): BaselineEntry[] {
  return b.knownFailures.filter((e) => {
    const re = wildcard(e.implementation);
    return re.test(impl.requested) || re.test(impl.id);
  });
}

function entryFor(entries: BaselineEntry[], clause: string): BaselineEntry | undefined {
  return entries.find((e) => wildcard(e.clause).test(clause));
}

/** Mark each result against the baseline and say what differs from it. */
export function applyBaseline(
  results: ClauseReport[],
  b: Baseline,
  file: string,
  impl: ImplementationInfo,
  strict: boolean,
): BaselineOutcome {
  const mine = entriesFor(b, impl);
  const out: BaselineOutcome = { file, strict, knownFailures: [], newFailures: [], unexpectedPasses: [] };
  const flaky = results.filter((r) => r.status === "flaky").map((r) => r.id);
  if (flaky.length) out.flaky = flaky;
  for (const r of results) {
    const e = entryFor(mine, r.id);
    let mark: BaselineMark | null = null;
    if (r.status === "fail") {
      mark = e ? "known-failure" : "new-failure";
      (e ? out.knownFailures : out.newFailures).push(r.id);
    } else if (r.status === "pass" && e) {
      mark = "unexpected-pass";
      out.unexpectedPasses.push(r.id);
    }
    if (mark) r.baseline = { status: mark, ...(e ? { reason: e.reason } : {}) };
  }
  return out;
}

/** Entries whose clause pattern names no clause at all (stale after a rename). */
export function staleEntries(b: Baseline, clauseIds: readonly string[]): BaselineEntry[] {
  return b.knownFailures.filter((e) => !clauseIds.some((id) => wildcard(e.clause).test(id)));
}

/**
 * The baseline after this run. Entries about other implementations stay,
 * and so do wildcard entries and entries about clauses this run did not
 * check; for each clause it checked, an exact entry is kept only if the
 * clause failed (with its reason), and each failure no entry covers gets a
 * new entry (reason: the failure's message, to be edited).
 */
export function updateBaseline(old: Baseline, impl: ImplementationInfo, results: readonly ClauseReport[]): Baseline {
  const mine = new Set(entriesFor(old, impl));
  const byId = new Map(results.map((r) => [r.id, r]));
  const keep = old.knownFailures.filter((e) => {
    if (!mine.has(e) || e.clause.includes("*") || e.implementation.includes("*")) return true;
    const r = byId.get(e.clause);
    return r === undefined || r.status === "skip" || r.status === "error" || r.status === "fail" || r.status === "flaky" || r.status === "inconclusive";
  });
  const kept = entriesFor({ ...old, knownFailures: keep }, impl);
  const added: BaselineEntry[] = [];
  for (const r of results) {
    if (r.status !== "fail" || entryFor(kept, r.id)) continue;
    added.push({ implementation: impl.requested, clause: r.id, reason: r.failure ? r.failure.message.split("\n")[0] : "fails" });
  }
  const knownFailures = [...keep, ...added].sort(
    (a, b) => a.implementation.localeCompare(b.implementation) || a.clause.localeCompare(b.clause),
  );
  return { format: BASELINE_FORMAT, schemaVersion: 1, knownFailures };
}

export function writeBaseline(file: string, b: Baseline): void {
  writeFileAtomic(file, JSON.stringify(b, null, 2) + "\n");
}
