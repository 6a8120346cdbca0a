/**
 * One-line errors quote the user's files (issue 14.8): control characters
 * from a malformed scenario or baseline reach stderr escaped, never raw, so
 * they cannot recolour, clear or retitle the terminal.
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "bin", "aiospec.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-escapes-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** ESC (colour, OSC title ended by BEL), CR, DEL and a C1 CSI. */
const HOSTILE = "\x1b[31mRED\x1b]0;pwned\x07\r\x7f\u009b2J";
// Any C0 control but the final newline, DEL or C1 control.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

function aiospec(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync("node", [CLI, ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stderr: r.stderr };
}

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

describe("control characters in a one-line error are escaped", () => {
  it("from a malformed scenario (replay)", () => {
    const file = write("scenario.json", `{"aiospec": 1, "coroutines": ${HOSTILE}}`);
    const r = aiospec(["replay", file, "--impl", "reference"]);
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).not.toMatch(CONTROL);
    expect(r.stderr).toContain("\\x1b[31mRED\\x1b]");
  });

  it("from a scenario that parses but names a hostile coroutine (replay)", () => {
    const scenario = { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "call", coro: HOSTILE }] }] };
    const file = write("named.json", JSON.stringify(scenario));
    const r = aiospec(["replay", file, "--impl", "reference"]);
    expect(r.status).toBe(2);
    expect(r.stderr).not.toMatch(CONTROL);
    // the validator's message JSON-quotes the name, which leaves DEL and C1 raw
    expect(r.stderr).toContain("\\x7f\\x9b2J");
  });

  it("from a malformed baseline (run --baseline)", () => {
    const file = write("baseline.json", `{"knownFailures": [${HOSTILE}]}`);
    const r = aiospec(["run", "--impl", "reference", "--baseline", file]);
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("invalid baseline");
    expect(r.stderr).not.toMatch(CONTROL);
  });
});

describe("control characters an implementation sends are escaped on every line aiospec prints", () => {
  // Its id (hence its description) holds HOSTILE; every sleep prints HOSTILE and exits.
  const impl = path.join(ROOT, "test", "fixtures", "hostile", "escapes.ts");

  function everything(args: string[]): { status: number | null; text: string } {
    const r = spawnSync("node", [CLI, ...args], { cwd: ROOT, encoding: "utf8", timeout: 300_000 });
    return { status: r.status, text: r.stdout + r.stderr };
  }

  it("run: the header, the per-clause lines, the failure and the restart warning", () => {
    const r = everything(["run", "--impl", impl, "--clause", "sleep.result", "--runs", "3", "--seed", "1", "--json", path.join(tmp, "escapes.json")]);
    expect(r.status).toBe(1);
    expect(r.text).not.toMatch(CONTROL);
    // the description (header), the child's output quoted by the crash and by the warning
    expect(r.text).toMatch(/aiospec run: .*escapes\\x1b\[31mRED\\x1b\]0;pwned\\x07\\x0d\\x7f\\x9b2J@3\.13/);
    expect(r.text).toMatch(/crash: .*its output: \\x1b\[31mRED/);
    expect(r.text).toMatch(/warning: .*restarted after: .*\\x1b\[31mRED/);
  }, 320_000);

  it("replay: the trace's heading names the implementation", () => {
    const file = write("no-sleep.json", JSON.stringify({ aiospec: 1, coroutines: [{ name: "main", body: [{ op: "log", label: "x" }] }] }));
    const r = everything(["replay", file, "--impl", impl]);
    expect(r.status).toBe(0);
    expect(r.text).not.toMatch(CONTROL);
    expect(r.text).toContain("escapes\\x1b[31mRED");
  }, 320_000);

  it("a baseline's implementation pattern, quoted in the warning about an entry that matches no clause", () => {
    const baseline = { format: "aiospec-baseline", schemaVersion: 1, knownFailures: [{ implementation: `x${HOSTILE}`, clause: "nomatch.*", reason: "r" }] };
    const file = write("hostile-baseline.json", JSON.stringify(baseline));
    const r = everything(["run", "--impl", "reference", "--clause", "sleep.result", "--runs", "1", "--seed", "1", "--baseline", file]);
    expect(r.status).toBe(0);
    expect(r.text).toContain('no clause matches "nomatch.*" (x\\x1b[31mRED');
    expect(r.text).not.toMatch(CONTROL);
  }, 320_000);
});

describe("the vitest integration's errors (vitest prints their messages on the terminal)", () => {
  it("a usage error and a conformance failure quoting control characters carry them escaped", async () => {
    const { ConformanceFailure, ConformanceUsageError } = await import("../harness/vitest");
    const usage = new ConformanceUsageError(`no clause matches "${HOSTILE}"`);
    expect(usage.message).not.toMatch(CONTROL);
    expect(usage.message).toContain("\\x1b[31mRED");
    const failure = new ConformanceFailure("sleep.result", {} as never, `expected 1, got ${HOSTILE}\nline two`);
    expect(failure.message).not.toMatch(CONTROL);
    expect(failure.message).toContain("\\x1b]0;pwned\\x07\\x0d\\x7f\\x9b2J\nline two");
  });
});

describe("printableLines", () => {
  it("keeps newlines and printable text, escapes the rest", async () => {
    const { printableLines } = await import("../harness/reporting/terminal");
    expect(printableLines("a\nb")).toBe("a\nb");
    expect(printableLines("é ✓ \x1b[2J\t\r")).toBe("é ✓ \\x1b[2J\\x09\\x0d");
  });
});

// The progress bar is drawn only on a terminal: `script` gives the command one.
const script = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;

describe.runIf(script && process.platform === "linux")("on a terminal (through script)", () => {
  it("report: the progress bar's label, an implementation id holding ESC sequences, is escaped", () => {
    // A module whose very path holds an OSC title sequence: the id the bar is labelled with.
    const dir = fs.mkdtempSync(path.join(tmp, "tty-"));
    const file = path.join(dir, "x\x1b]0;pwned\x07.ts");
    fs.writeFileSync(file, `export { default } from ${JSON.stringify(path.join(ROOT, "test", "fixtures", "hostile", "escapes"))};\n`);
    const command = ["node", CLI, "report", "--impl", file, "--clause", "sleep.result,gather.order", "--runs", "2", "--out", path.join(dir, "out")]
      .map((w) => `'${w.replace(/'/g, `'\\''`)}'`)
      .join(" ");
    const env = { ...process.env };
    delete env.CI;
    const r = spawnSync("script", ["-qec", command, "/dev/null"], { cwd: ROOT, encoding: "utf8", env, timeout: 300_000 });
    expect(r.status).toBe(0);
    // The bar was drawn (it moves the cursor with its own CSI sequences, which are fine)...
    const bar = r.stdout.split(/[\r\n]/).find((l) => l.includes("clauses |"));
    expect(bar, r.stdout).toBeDefined();
    expect(bar).toContain("x\\x1b]0;pwned\\x07.ts@3.13");
    // ...and nothing of the hostile id or output is raw: no OSC, BEL, C1 CSI or colour.
    expect(r.stdout).not.toMatch(/\x1b\]|\x07|\u009b|\x1b\[31m/);
  }, 320_000);
});
