/**
 * Writes docs/spec.md, the specification as a document, from the clause
 * metadata (spec/clauses): for each documentation page and each of its
 * sections, in the page's order, the clauses that encode it (id,
 * statement, level, versions, source link), the sections that no clause
 * covers yet, and which implementations break which clause.
 *
 *     npx ts-node -T scripts/gen-spec-doc.ts
 *
 * test/spec-doc.test.ts fails when docs/spec.md is not what this script
 * writes, and (once every area has clauses) when a section of "Coroutines
 * and Tasks" or "Futures" has no clause.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CLAUSES } from "../spec/clauses";
import { DOCS } from "../spec/clauses/clause";
import type { Clause } from "../spec/clauses/clause";
import { MUTANTS } from "../implementations/mutants";

export const SPEC_DOC_PATH = path.resolve(__dirname, "..", "docs", "spec.md");
export const REGENERATE = "npx ts-node -T scripts/gen-spec-doc.ts";

export type PageKey = keyof typeof DOCS;

export interface SectionInfo {
  title: string;
  /** The section's anchor on its page, e.g. "#task-groups". */
  anchor: string;
  /** Why the section is out of the specification's reach, when it is. */
  notApplicable?: string;
}

export interface PageInfo {
  key: PageKey;
  title: string;
  /** The page's sections, in its order (Python 3.13 documentation); absent: taken from the clauses. */
  sections?: SectionInfo[];
}

const THREADS =
  "not applicable: scenarios run on one thread, on a virtual clock; the scenario language has no threads, so asyncio.to_thread and run_coroutine_threadsafe are out of its reach";

/** The documentation pages, in DOCS order, with the sections of the two pages the specification must cover (3.13 docs). */
export const PAGES: readonly PageInfo[] = [
  {
    key: "tasks",
    title: "Coroutines and Tasks",
    sections: [
      { title: "Coroutines", anchor: "#coroutines" },
      { title: "Awaitables", anchor: "#awaitables" },
      { title: "Creating Tasks", anchor: "#creating-tasks" },
      { title: "Task Cancellation", anchor: "#task-cancellation" },
      { title: "Task Groups", anchor: "#task-groups" },
      { title: "Terminating a Task Group", anchor: "#terminating-a-task-group" },
      { title: "Sleeping", anchor: "#sleeping" },
      { title: "Running Tasks Concurrently", anchor: "#running-tasks-concurrently" },
      { title: "Eager Task Factory", anchor: "#eager-task-factory" },
      { title: "Shielding From Cancellation", anchor: "#shielding-from-cancellation" },
      { title: "Timeouts", anchor: "#timeouts" },
      { title: "Waiting Primitives", anchor: "#waiting-primitives" },
      { title: "Running in Threads", anchor: "#running-in-threads", notApplicable: THREADS },
      { title: "Scheduling From Other Threads", anchor: "#scheduling-from-other-threads", notApplicable: THREADS },
      { title: "Introspection", anchor: "#introspection" },
      { title: "Task Object", anchor: "#task-object" },
    ],
  },
  {
    key: "futures",
    title: "Futures",
    sections: [
      { title: "Future Functions", anchor: "#future-functions" },
      { title: "Future Object", anchor: "#future-object" },
    ],
  },
  { key: "loop", title: "Event Loop" },
  { key: "exceptions", title: "Exceptions" },
];

/** The page a clause comes from: the DOCS page its source URL starts with (the longest, should pages nest). */
export function pageOf(c: Clause): PageKey | null {
  let best: PageKey | null = null;
  for (const key of Object.keys(DOCS) as PageKey[]) {
    if (c.source.url.startsWith(DOCS[key]) && (best === null || DOCS[key].length > DOCS[best].length)) best = key;
  }
  return best;
}

const norm = (s: string): string => s.trim().replace(/\s+/g, " ").toLowerCase();

export interface SectionCoverage {
  page: PageInfo;
  title: string;
  anchor?: string;
  notApplicable?: string;
  /** Is this a section of the page's documented list (false: named by clauses only)? */
  listed: boolean;
  /** A clause about the page as a whole (its section names the page, e.g. "Coroutines and Tasks (all of it)"). */
  wholePage: boolean;
  clauses: Clause[];
}

/** Every page's sections, in order, each with its clauses (in CLAUSES order). */
export function coverage(clauses: readonly Clause[] = CLAUSES): SectionCoverage[] {
  const out: SectionCoverage[] = [];
  const pages = [...PAGES];
  for (const key of Object.keys(DOCS) as PageKey[]) if (!pages.some((p) => p.key === key)) pages.push({ key, title: key });
  for (const page of pages) {
    const mine = clauses.filter((c) => pageOf(c) === page.key);
    const sections: SectionCoverage[] = (page.sections ?? []).map((s) => ({
      page, title: s.title, anchor: s.anchor, notApplicable: s.notApplicable, listed: true, wholePage: false, clauses: [],
    }));
    const extra: SectionCoverage[] = [];
    const whole: SectionCoverage[] = [];
    for (const c of mine) {
      let s = sections.find((x) => norm(x.title) === norm(c.source.section)) ?? [...whole, ...extra].find((x) => norm(x.title) === norm(c.source.section));
      if (!s) {
        const isWhole = norm(c.source.section).startsWith(norm(page.title));
        s = { page, title: c.source.section.trim(), listed: false, wholePage: isWhole, clauses: [] };
        (isWhole ? whole : extra).push(s);
      }
      s.clauses.push(c);
    }
    out.push(...whole, ...sections, ...extra);
  }
  return out;
}

/** The sections of the listed pages that must have a clause and have none, as "Page: Section". */
export function uncoveredSections(clauses: readonly Clause[] = CLAUSES): string[] {
  return coverage(clauses)
    .filter((s) => s.listed && !s.notApplicable && s.clauses.length === 0)
    .map((s) => `${s.page.title}: ${s.title}`);
}

// ---------------------------------------------------------------- rendering

const cell = (s: string): string => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

function sourceLink(c: Clause, page: PageInfo): string {
  const hash = c.source.url.indexOf("#");
  const label = hash >= 0 ? c.source.url.slice(hash + 1) : page.title;
  return `[${cell(label)}](${c.source.url})`;
}

function clauseTable(cs: Clause[], page: PageInfo): string[] {
  const lines = ["| Clause | Statement | Level | Versions | Source |", "| --- | --- | --- | --- | --- |"];
  for (const c of cs) {
    const versions = c.versions.join(", ") + (c.note ? ` (${cell(c.note)})` : "");
    lines.push(`| \`${c.id}\` | ${cell(c.statement)} | ${c.level} | ${versions} | ${sourceLink(c, page)} |`);
  }
  return lines;
}

export function generateSpecDoc(clauses: readonly Clause[] = CLAUSES): string {
  const cov = coverage(clauses);
  const out: string[] = [];
  const documented = clauses.filter((c) => c.level === "documented").length;
  out.push(
    "# The specification, section by section",
    "",
    `<!-- Generated from the clause metadata (spec/clauses) by scripts/gen-spec-doc.ts: do not edit by hand; run \`${REGENERATE}\`. -->`,
    "",
    `${clauses.length} clauses (${documented} documented, ${clauses.length - documented} exact), each a property checked on`,
    "generated scenarios (see docs/dev/writing-clauses.md). For every page of the",
    "asyncio documentation and every section of it, in the page's order: the",
    "clauses that encode it, and the sections no clause covers yet. Levels:",
    "*documented* is what the documentation guarantees (orders it leaves open are",
    "free); *exact* is CPython's observed behaviour. Versions are the Python",
    "versions a clause holds for, checked on CPython.",
    "",
  );

  // Coverage summary.
  out.push("## Coverage", "", "| Page | Sections | Covered | Not applicable | Uncovered | Clauses |", "| --- | --- | --- | --- | --- | --- |");
  for (const page of PAGES) {
    const secs = cov.filter((s) => s.page.key === page.key);
    const listed = secs.filter((s) => s.listed);
    const na = listed.filter((s) => s.notApplicable);
    const covered = listed.filter((s) => !s.notApplicable && s.clauses.length > 0);
    const uncovered = listed.filter((s) => !s.notApplicable && s.clauses.length === 0);
    const count = secs.reduce((n, s) => n + s.clauses.length, 0);
    const total = page.sections ? String(listed.length) : "—";
    const uncoveredText = page.sections ? (uncovered.length ? uncovered.map((s) => s.title).join(", ") : "none") : "—";
    out.push(`| [${page.title}](${DOCS[page.key]}) | ${total} | ${page.sections ? covered.length : secs.length} | ${page.sections ? na.length : "—"} | ${cell(uncoveredText)} | ${count} |`);
  }
  out.push("");
  const missing = uncoveredSections(clauses);
  out.push(missing.length ? `Uncovered sections: ${missing.join("; ")}.` : "Every section of “Coroutines and Tasks” and “Futures” has a clause, except those marked not applicable.", "");

  // Page by page.
  const pageKeys = [...new Set(cov.map((s) => s.page.key))];
  for (const key of pageKeys) {
    const secs = cov.filter((s) => s.page.key === key);
    const page = secs[0].page;
    if (!page.sections && secs.every((s) => s.clauses.length === 0)) continue;
    out.push(`## ${page.title}`, "", `${DOCS[page.key]}`, "");
    for (const s of secs) {
      out.push(`### ${s.title}`, "");
      if (s.anchor) out.push(`Documentation: ${DOCS[page.key]}${s.anchor}`, "");
      if (!s.listed && !s.wholePage && page.sections) out.push("*(Not a section title of the page as this document lists it.)*", "");
      if (s.notApplicable) {
        out.push(`Not applicable: ${s.notApplicable.replace(/^not applicable: /, "")}.`, "");
        if (s.clauses.length === 0) continue;
      }
      if (s.clauses.length === 0) {
        out.push("**Uncovered**: no clause yet.", "");
        continue;
      }
      out.push(...clauseTable(s.clauses, page), "");
    }
  }

  // Breakers.
  out.push(
    "## Clauses and the implementations that break them",
    "",
    "Every clause names implementations on which it fails (`brokenBy`), the proof",
    "that it can fail; test/clauses.test.ts checks each one. `mutant:NAME` is the",
    "reference with one behaviour broken (implementations/mutants).",
    "",
    "| Clause | Broken by |",
    "| --- | --- |",
  );
  for (const c of clauses) out.push(`| \`${c.id}\` | ${c.brokenBy.length ? c.brokenBy.map((b) => `\`${b}\``).join(", ") : "**nothing**"} |`);
  out.push("", "### Mutants", "", "| Mutant | What it breaks | Clauses that catch it |", "| --- | --- | --- |");
  for (const m of MUTANTS) {
    const catching = clauses.filter((c) => c.brokenBy.includes(`mutant:${m.name}`)).map((c) => `\`${c.id}\``);
    out.push(`| \`mutant:${m.name}\` | ${cell(m.description)} | ${catching.length ? catching.join(", ") : "none"} |`);
  }
  out.push("");
  return out.join("\n");
}

if (require.main === module) {
  fs.writeFileSync(SPEC_DOC_PATH, generateSpecDoc());
  const missing = uncoveredSections();
  process.stdout.write(`wrote ${path.relative(process.cwd(), SPEC_DOC_PATH)}: ${CLAUSES.length} clauses; ${missing.length ? `uncovered: ${missing.join("; ")}` : "every section covered"}\n`);
}
