/**
 * docs/spec.md is generated from the clause metadata (scripts/gen-spec-doc.ts):
 *  - it must be what the script writes now (regenerate after changing clauses);
 *  - every section of "Coroutines and Tasks" and "Futures" must have a clause,
 *    except the ones marked not applicable. That check waits until every area
 *    of spec/clauses has clauses (while some are still being written it is
 *    skipped, naming the empty areas and the sections uncovered so far).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { Clause } from "../spec/clauses/clause";
import { CLAUSES } from "../spec/clauses";
import { PAGES, REGENERATE, SPEC_DOC_PATH, coverage, generateSpecDoc, uncoveredSections } from "../scripts/gen-spec-doc";

const CLAUSE_DIR = path.resolve(__dirname, "..", "spec", "clauses");
/** Files of spec/clauses that are not areas. */
const NOT_AREAS = new Set(["clause.ts", "index.ts", "differential.ts"]);

/** The areas (spec/clauses/<area>.ts exporting CLAUSES) that have no clause yet. */
async function emptyAreas(): Promise<string[]> {
  const empty: string[] = [];
  for (const file of fs.readdirSync(CLAUSE_DIR).sort()) {
    if (!file.endsWith(".ts") || NOT_AREAS.has(file)) continue;
    const mod = (await import(path.join(CLAUSE_DIR, file))) as { CLAUSES?: readonly Clause[] };
    if (mod.CLAUSES !== undefined && mod.CLAUSES.length === 0) empty.push(file.replace(/\.ts$/, ""));
  }
  return empty;
}

describe("docs/spec.md", () => {
  it("is what scripts/gen-spec-doc.ts generates from the clauses", () => {
    const want = generateSpecDoc();
    const have = fs.existsSync(SPEC_DOC_PATH) ? fs.readFileSync(SPEC_DOC_PATH, "utf8") : "";
    if (have === want) return;
    const a = have.split("\n");
    const b = want.split("\n");
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    expect.fail(
      `docs/spec.md is out of date with the clauses: run \`${REGENERATE}\`\n` +
        `first difference at line ${i + 1}:\n  docs/spec.md: ${a[i] ?? "(end of file)"}\n  generated:    ${b[i] ?? "(end of file)"}`,
    );
  });

  it("lists every clause once, under its page and section", () => {
    const listed = coverage().flatMap((s) => s.clauses.map((c) => c.id));
    expect(listed.slice().sort()).toEqual(CLAUSES.map((c) => c.id).sort());
    expect(new Set(listed).size).toBe(listed.length);
  });

  it("keeps the section lists of the two pages it must cover", () => {
    const titles = (key: string) => PAGES.find((p) => p.key === key)?.sections?.map((s) => s.title) ?? [];
    expect(titles("tasks")).toHaveLength(16);
    expect(titles("futures")).toEqual(["Future Functions", "Future Object"]);
    const na = PAGES.flatMap((p) => p.sections ?? []).filter((s) => s.notApplicable).map((s) => s.title);
    expect(na).toEqual(["Running in Threads", "Scheduling From Other Threads"]);
  });

  it("every section of Coroutines and Tasks and Futures has a clause (once every area has clauses)", async (ctx) => {
    const uncovered = uncoveredSections();
    const empty = await emptyAreas();
    if (empty.length > 0) {
      ctx.skip(`areas still without clauses: ${empty.join(", ")}; uncovered so far: ${uncovered.join("; ") || "none"}`);
      return;
    }
    expect(uncovered, `sections without a clause: ${uncovered.join("; ")}`).toEqual([]);
  });
});
