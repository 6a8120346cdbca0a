/** aiospec list: the implementations aiospec can run here (and how to install the absent ones), and the clauses. */
import { loadClauses } from "../running/clauseset";
import { PEERS_COMMAND, listInterpreters } from "../targets/discovery";
import { MUTANTS } from "../../implementations/mutants";
import { VERSIONS } from "../../implementations/reference";
import { MODELLED_RELEASES } from "../../implementations/reference/releases";
import { printableLines } from "../reporting/terminal";

export async function cmdList(opts: { json?: boolean }): Promise<number> {
  interface Row {
    id: string;
    kind: "reference" | "cpython" | "pypy" | "pyodide" | "mutant";
    status: "found" | "absent";
    available: boolean;
    version: string | null;
    fullVersion: string | null;
    path: string | null;
    package: { name: string; version: string } | null;
    description: string;
    why: string | null;
    install: string | null;
  }
  const rows: Row[] = [];
  const inProcess = (id: string, kind: Row["kind"], version: string | null, description: string): Row =>
    ({ id, kind, status: "found", available: true, version, fullVersion: null, path: null, package: null, description, why: null, install: null });
  // Each profile models one release; reference@3.X.Y runs it at another release of the same version.
  for (const v of VERSIONS) {
    rows.push(inProcess(`reference@${v}`, "reference", v, `TypeScript reference, Python ${v} profile (CPython ${MODELLED_RELEASES[v]}; reference@${v}.N: at release ${v}.N)`));
  }
  for (const l of await listInterpreters()) {
    const found = l.status === "found";
    const description = found
      ? [l.path ?? "", l.package ? `${l.package.name} ${l.package.version}` : ""].filter(Boolean).join(", ")
      : `absent: ${l.why}; install: ${l.install}`;
    const { family, ...rest } = l;
    rows.push({ ...rest, kind: family, available: found, description });
  }
  for (const m of MUTANTS) rows.push(inProcess(`mutant:${m.name}`, "mutant", null, m.description));
  const clauses = loadClauses().map((c) => ({ id: c.id, level: c.level, versions: [...c.versions], statement: c.statement }));
  const peers = `${PEERS_COMMAND} (scripts/peers.sh, as in the README) installs the missing uvloop, nest_asyncio, PyPy and Pyodide peers; CPythons come from pyenv`;
  if (opts.json) {
    process.stdout.write(JSON.stringify({ implementations: rows, peers: PEERS_COMMAND, clauses }, null, 2) + "\n");
  } else {
    // Descriptions quote paths and package metadata found on this machine: escaped (terminal.ts).
    const lines = ["Implementations (- = absent here, with the command that installs it):"];
    const width = Math.max(...rows.filter((r) => r.kind !== "mutant").map((r) => r.id.length)) + 1;
    for (const r of rows) {
      const version = r.fullVersion ?? r.version ?? "";
      lines.push(`${r.available ? " " : "-"} ${r.id.padEnd(width)} ${version.padEnd(15)} ${r.description}`);
    }
    lines.push("", `${peers}.`, "", `Clauses (${clauses.length}):`);
    for (const c of clauses) lines.push(`  ${c.id.padEnd(40)} ${c.level.padEnd(10)} ${c.versions.join(",").padEnd(15)} ${c.statement}`);
    process.stdout.write(printableLines(lines.join("\n")) + "\n");
  }
  return 0;
}
