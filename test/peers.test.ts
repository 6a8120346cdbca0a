/**
 * scripts/peers.sh (`npm run peers`): its report-only mode (--check) runs
 * anywhere, installs nothing, and lists every peer with a status; its
 * arguments are checked. The installs themselves are not run here (they need
 * root and the registries): `npm run peers` does them.
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const SCRIPT = path.join(ROOT, "scripts", "peers.sh");
const PEERS = [
  "cpython-3.8", "cpython-3.9", "cpython-3.10", "cpython-3.11", "cpython-3.12", "cpython-3.13", "cpython-3.14",
  "debian-python3", "uvloop-deb", "uvloop-pip", "nest_asyncio-deb", "nest_asyncio-pip", "pypy3",
  "pyodide-0.27", "pyodide-0.29", "pyodide-314",
];

// An empty peers directory: --check must leave it empty.
const emptyPeers = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-peers-check-"));
afterAll(() => fs.rmSync(emptyPeers, { recursive: true, force: true }));

function peers(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync("bash", [SCRIPT, ...args], {
    encoding: "utf8",
    env: { ...process.env, AIOSPEC_PEERS_DIR: emptyPeers, ...env },
    timeout: 110_000,
  });
}

/** The final table: peer -> [status, rest of the line]. */
function table(stdout: string): Map<string, [string, string]> {
  const lines = stdout.split("\n");
  const start = lines.findIndex((l) => /^PEER\s+STATUS\s+VERSION/.test(l));
  expect(start, `a table headed PEER STATUS VERSION in:\n${stdout}`).toBeGreaterThanOrEqual(0);
  const rows = new Map<string, [string, string]>();
  for (const l of lines.slice(start + 1)) {
    const m = /^(\S+)\s+(found|installed|absent)\s+(.*)$/.exec(l);
    if (m) rows.set(m[1], [m[2], m[3]]);
  }
  return rows;
}

describe("npm run peers -- --check", () => {
  const r = peers(["--check"]);

  it("runs, exit code 0", () => {
    expect(r.error).toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
  });

  it("reports every peer, each found or absent, with where it lives or why it is absent", () => {
    const rows = table(r.stdout);
    expect([...rows.keys()]).toEqual(PEERS);
    for (const [peer, [status, rest]] of rows) {
      expect(["found", "absent"], `${peer} under --check`).toContain(status);
      if (status === "found") expect(rest, `${peer}: where it lives`).toMatch(/\//);
      else expect(rest.trim().length, `${peer}: why it is absent`).toBeGreaterThan(5);
    }
    // The peers directory is empty: the Pyodide lines are absent, and say what would be installed.
    for (const line of ["0.27", "0.29", "314"]) {
      expect(rows.get(`pyodide-${line}`)![0]).toBe("absent");
      expect(rows.get(`pyodide-${line}`)![1]).toMatch(/would npm install pyodide@[0-9]+\.[0-9]+\.[0-9]+ /);
    }
  });

  it("prints one step line per peer before the table", () => {
    const before = r.stdout.split(/\n\s*\nPEER/)[0];
    for (const peer of PEERS) expect(before, peer).toMatch(new RegExp(`^${peer.replace(/\./g, "\\.")}:`, "m"));
  });

  it("installs nothing", () => {
    expect(fs.readdirSync(emptyPeers)).toEqual([]);
    expect(r.stdout).not.toMatch(/apt-get update|npm install in|installing/);
  });

  it("with --cheap or --only still reports every peer, and installs nothing", () => {
    for (const args of [["--check", "--cheap"], ["--check", "--only", "pyodide,pypy"], ["--check", "--only=uvloop-pip"]]) {
      const x = peers(args);
      expect(x.status, `${args.join(" ")}: ${x.stderr}`).toBe(0);
      expect([...table(x.stdout).keys()], args.join(" ")).toEqual(PEERS);
    }
    expect(fs.readdirSync(emptyPeers)).toEqual([]);
  });
});

describe("npm run peers arguments", () => {
  it("--help prints the usage, exit code 0", () => {
    const r = peers(["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/usage: scripts\/peers\.sh/);
    expect(r.stdout).toContain("--check");
    expect(r.stdout).toContain("--only");
    expect(r.stdout).toContain("--cheap");
  });

  it("refuses an unknown argument or peer with one line on stderr, exit code 2", () => {
    for (const args of [["--frobnicate"], ["--only", "rloop"], ["--only"]]) {
      const r = peers(args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
    }
  });
});
