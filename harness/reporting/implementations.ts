/**
 * The implementations of the committed matrix (`aiospec report` without
 * --impl): the reference at every version it models, and every real asyncio
 * the discovery (harness/targets/discovery.ts) knows, found here or not — an absent
 * one becomes a row that says so, with the command that installs it, never
 * a dropped column.
 *
 *   reference@3.11 .. @3.13
 *   cpython-3.8 .. cpython-3.14, each with +pytask, and every other release
 *     of that version found here (cpython-3.11.2: Debian's, beside pyenv's 3.11.7)
 *   cpython-3.X+realtime: asyncio's own loop on the real clock, for the
 *     versions that have uvloop here (the calibration of the uvloop rows)
 *   +uvloop, +nest_asyncio: for every interpreter that has the package
 *     (the default ones as absent rows when none has it)
 *   pypy-3.9, pyodide-3.12, -3.13, -3.14
 *   pyodide-3.14+webloop: Pyodide's own loop, on the newest Pyodide line only
 *     (a real-clock row: about 4 minutes for 3.14, 7 for 3.12 or 3.13;
 *     docs/findings.md has all three)
 *   (--mutants) every mutant
 */
import { VERSIONS } from "../../implementations/reference";
import { MUTANTS } from "../../implementations/mutants";
import { ListedInterpreter, PYODIDE_LINES, listInterpreters } from "../targets/discovery";

export interface MatrixEntry {
  id: string;
  status: "found" | "absent";
  /** What it is (found) or what it would be (absent). */
  description: string;
  /** Absent: why, and the command that installs it. */
  why?: string;
  install?: string;
}

function describe(l: ListedInterpreter): string {
  const what = [l.fullVersion ?? (l.version ? `Python ${l.version}` : ""), l.package ? `${l.package.name} ${l.package.version}` : ""].filter(Boolean).join(", ");
  return `${l.id}${what ? ` (${what})` : ""}${l.path ? ` at ${l.path}` : ""}`;
}

/** Order of the columns: references, CPythons by version (default release, other releases, +pytask), real-clock and patched loops, PyPy, Pyodide. */
function rank(id: string): [number, string] {
  const v = /(\d+)\.(\d+)/.exec(id);
  const minor = v ? Number(v[2]) : 0;
  const key = (n: number) => [n * 100 + minor, id] as [number, string];
  if (id.startsWith("reference")) return key(0);
  if (/^cpython-3\.\d+(\.\d+)?(\+pytask)?$/.test(id)) return key(1);
  if (id.includes("+realtime")) return key(2);
  if (id.includes("+uvloop")) return key(3);
  if (id.includes("nest_asyncio")) return key(4);
  if (id.startsWith("pypy")) return key(5);
  if (id.startsWith("pyodide")) return key(6);
  return key(7);
}

function byRank(a: MatrixEntry, b: MatrixEntry): number {
  const [ra, ia] = rank(a.id);
  const [rb, ib] = rank(b.id);
  if (ra !== rb) return ra - rb;
  // Within a version: cpython-3.11, cpython-3.11.2, cpython-3.11+pytask.
  const plain = (s: string) => (s.includes("+pytask") ? 2 : /\d+\.\d+\.\d+/.test(s) ? 1 : 0);
  return plain(ia) - plain(ib) || ia.localeCompare(ib);
}

/** Pick the matrix's ids out of everything the discovery lists. */
export function selectMatrix(listed: readonly ListedInterpreter[]): MatrixEntry[] {
  const entry = (l: ListedInterpreter): MatrixEntry =>
    l.status === "found"
      ? { id: l.id, status: "found", description: describe(l) }
      : { id: l.id, status: "absent", description: describe(l), ...(l.why ? { why: l.why } : {}), ...(l.install ? { install: l.install } : {}) };
  const byId = new Map(listed.map((l) => [l.id, l]));
  const out: MatrixEntry[] = [];
  const add = (l: ListedInterpreter | undefined) => {
    if (l && !out.some((e) => e.id === l.id)) out.push(entry(l));
  };
  // The default release of a version, to tell the other releases apart.
  const defaultRelease = new Map<string, string | null>();
  for (const l of listed) {
    const m = /^cpython-(3\.\d+)$/.exec(l.id);
    if (m) defaultRelease.set(m[1], l.status === "found" ? l.fullVersion : null);
  }
  for (const l of listed) {
    if (/^cpython-3\.\d+(\+pytask)?$/.test(l.id)) add(l);
    const r = /^cpython-(3\.\d+)\.\d+$/.exec(l.id);
    if (r && l.status === "found" && defaultRelease.get(r[1]) !== l.fullVersion) add(l);
  }
  const uvloop = listed.filter((l) => /\+uvloop$/.test(l.id) && l.status === "found");
  for (const l of uvloop) add(l);
  if (uvloop.length === 0) add(listed.find((l) => /^cpython-3\.\d+\+uvloop$/.test(l.id) && l.install));
  // Calibration: asyncio's own loop on the real clock, for each version that has uvloop.
  for (const l of uvloop) {
    const m = /^cpython-(3\.\d+)/.exec(l.id);
    if (m) add(byId.get(`cpython-${m[1]}+realtime`));
  }
  const nest = listed.filter((l) => /\+nest_asyncio$/.test(l.id) && l.status === "found");
  for (const l of nest) add(l);
  if (nest.length === 0) add(byId.get("nest_asyncio"));
  add(byId.get("pypy-3.9"));
  for (const l of listed) if (/^pyodide-3\.\d+$/.test(l.id)) add(l);
  // Pyodide's WebLoop (real clock, minutes a row): the newest Pyodide line's.
  add(byId.get(`pyodide-${Object.keys(PYODIDE_LINES).pop()}+webloop`));
  // A release's row (cpython-3.11.7+uvloop) only when it is not the version's default one (cpython-3.11+uvloop).
  return out.filter((e) => !(/^cpython-3\.\d+\.\d+\+/.test(e.id) && sameRelease(byId, e.id))).sort(byRank);
}

/** cpython-3.11.7+uvloop and cpython-3.11+uvloop name the same interpreter: keep one. */
function sameRelease(byId: Map<string, ListedInterpreter>, releaseId: string): boolean {
  const release = byId.get(releaseId);
  const plain = byId.get(releaseId.replace(/(3\.\d+)\.\d+\+/, "$1+"));
  return !!release && !!plain && plain.status === "found" && release.path === plain.path;
}

/** The matrix's implementations on this machine. */
export async function matrixEntries(opts: { mutants?: boolean } = {}): Promise<MatrixEntry[]> {
  const refs: MatrixEntry[] = VERSIONS.map((v) => ({ id: `reference@${v}`, status: "found", description: `TypeScript reference, Python ${v} profile` }));
  const real = selectMatrix(await listInterpreters());
  const mutants: MatrixEntry[] = opts.mutants ? MUTANTS.map((m) => ({ id: `mutant:${m.name}`, status: "found", description: m.description })) : [];
  return [...refs, ...real, ...mutants];
}
