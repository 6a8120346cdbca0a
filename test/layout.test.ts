/**
 * The layout of harness/ (docs/dev/layout.md): one folder per stage, and
 * imports only point down the stages,
 *
 *   cli/, vitest.ts, index.ts  →  reporting/  →  reproducing/  →  running/  →  targets/  →  engine/
 *
 * (a stage may import itself and anything below it, and spec/ and
 * implementations/, which are outside harness/). Among harness modules there
 * is no import cycle, type-only imports included: a cycle there is a module
 * that should be split. The import statements are read with a regular
 * expression over the source, which is enough for this code base's plain
 * `import ... from "..."`, `export ... from "..."`, `require("...")` and
 * `import("...")`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const HARNESS = path.resolve(__dirname, "..", "harness");

/** The stages, lowest first: a module may import modules of its own stage or of a lower one. */
const STAGES = ["engine", "targets", "running", "reproducing", "reporting", "entry"] as const;
type Stage = (typeof STAGES)[number];

/** The top-level entry points, above every stage. */
const ENTRY_FILES = new Set(["index.ts", "vitest.ts"]);

/** The stage of a file (a path relative to harness/), or null for a file in no stage. */
function stageOf(rel: string): Stage | null {
  const parts = rel.split("/");
  if (parts.length === 1) return ENTRY_FILES.has(parts[0]) ? "entry" : null;
  if (parts[0] === "cli") return "entry";
  return (STAGES as readonly string[]).includes(parts[0]) && parts[0] !== "entry" ? (parts[0] as Stage) : null;
}

const IMPORT = /\b(?:from|import|require)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;

/** The relative specifiers a source text imports. */
function specifiers(source: string): string[] {
  const noComments = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return [...noComments.matchAll(IMPORT)].map((m) => m[1]);
}

/** The file (relative to harness/) a specifier in `fromRel` names, or null when it is outside harness/. */
function resolveIn(fromRel: string, spec: string): string | null {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(fromRel), spec));
  if (base.startsWith("../")) return null;
  for (const c of [base, `${base}.ts`, `${base}.js`, `${base}/index.ts`, `${base}/index.js`]) {
    const abs = path.join(HARNESS, c);
    if (fs.existsSync(abs) && fs.statSync(abs).isFile()) return c;
  }
  throw new Error(`harness/${fromRel} imports ${spec}, which names no file`);
}

function sourceFiles(dir = HARNESS): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const abs = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(abs);
    return /\.(ts|js)$/.test(e.name) ? [path.relative(HARNESS, abs).split(path.sep).join("/")] : [];
  });
}

/** harness/'s import graph: file -> the harness files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles()) {
    const source = fs.readFileSync(path.join(HARNESS, file), "utf8");
    const targets = specifiers(source).map((s) => resolveIn(file, s)).filter((t): t is string => t !== null);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** The imports that point up the stages, as "from -> to" lines. */
function upwardImports(graph: Map<string, string[]>): string[] {
  const bad: string[] = [];
  for (const [from, tos] of graph) {
    for (const to of tos) {
      const a = stageOf(from);
      const b = stageOf(to);
      if (a !== null && b !== null && STAGES.indexOf(b) > STAGES.indexOf(a)) bad.push(`${from} (${a}) -> ${to} (${b})`);
    }
  }
  return bad;
}

/** One import cycle of the graph as a path a -> b -> ... -> a, or null when there is none. */
function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") return [...stack.slice(stack.indexOf(next)), next];
      if (state.get(next) === undefined) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, "done");
    return null;
  };
  for (const node of graph.keys()) {
    if (state.get(node) === undefined) {
      const found = visit(node);
      if (found) return found;
    }
  }
  return null;
}

describe("harness layout", () => {
  const graph = importGraph();

  it("reads the imports of every harness module", () => {
    // The regular expression must see the imports that are there: a few known edges.
    expect(graph.get("running/memo.ts")).toContain("engine/interpreter.ts");
    expect(graph.get("targets/isolation/load.ts")).toContain("engine/api.ts");
    expect(graph.get("running/pool-worker.js")).toContain("targets/isolation/ts-loader.js");
    expect(graph.size).toBeGreaterThan(40);
  });

  it("puts every module in a stage", () => {
    expect([...graph.keys()].filter((f) => stageOf(f) === null)).toEqual([]);
  });

  it("has imports that only point down the stages", () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  it("has no import cycle", () => {
    expect(findCycle(graph)).toBeNull();
  });

  it("would notice an upward import and a cycle", () => {
    const bad = new Map(graph);
    bad.set("engine/pyexc.ts", [...(graph.get("engine/pyexc.ts") ?? []), "running/runner.ts"]);
    expect(upwardImports(bad)).toEqual(["engine/pyexc.ts (engine) -> running/runner.ts (running)"]);
    // runner imports the interpreter, which imports pyexc: with pyexc -> runner, that is a loop.
    expect(findCycle(bad)).not.toBeNull();
  });

  it("sees imports, re-exports and requires, not comments", () => {
    const src = [
      'import { a } from "./a";',
      'import type { B } from "../b";',
      'export { c } from "./c";',
      'import "./d";',
      'const e = require("./e") as typeof import("./f");',
      '// import { g } from "./g";',
      '/* require("./h") */',
      'import * as fs from "node:fs";',
    ].join("\n");
    expect(specifiers(src)).toEqual(["./a", "../b", "./c", "./d", "./e", "./f"]);
  });
});
