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
