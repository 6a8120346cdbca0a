// A run against another patch release than the one the clauses were checked
// on says so (patch releases change behaviour: docs/findings.md).
import { describe, expect, it } from "vitest";
import { patchLevelNote } from "../implementations/reference/releases";
import { releaseNote, runPlan } from "../harness/cli/commands";
import type { Target } from "../harness/targets";

const target = (over: Partial<Target>): Target => ({ id: "cpython-3.11", version: "3.11", description: "CPython", ...over }) as Target;

describe("patch releases", () => {
  it("names the modelled release and the implementation's", () => {
    expect(patchLevelNote("3.11", "3.11.2")).toMatch(/^this implementation is 3\.11\.2: the clauses and the reference were run at 3\.11\.2, which differs from 3\.11\.7 /);
    expect(patchLevelNote("3.12", "Pyodide 0.27.8 / 3.12.7")).toMatch(/is Pyodide 0\.27\.8 \/ 3\.12\.7: the clauses and the reference were run at 3\.12\.7, which differs from 3\.12\.1 /);
    expect(patchLevelNote("3.12", "3.12.10")).not.toBeNull();
  });

  it("is silent on the modelled release, on versions it does not model, and without a release", () => {
    expect(patchLevelNote("3.11", "3.11.7")).toBeNull();
    expect(patchLevelNote("3.13", "Pyodide 0.27.8 / 3.13.0")).toBeNull();
    expect(patchLevelNote("3.9", "3.9.16")).toBeNull();
    expect(patchLevelNote("3.11", undefined)).toBeNull();
  });

  it("reaches the run's notes (terminal and reports) for a real Python only", () => {
    expect(runPlan(target({ fullVersion: "3.11.2" }), [], {}).notes.join("\n")).toMatch(/^cpython-3\.11: .*3\.11\.2/);
    expect(runPlan(target({ fullVersion: "3.11.7" }), [], {}).notes).toEqual([]);
    expect(runPlan(target({ id: "reference@3.11" }), [], {}).notes).toEqual([]);
    expect(releaseNote(target({ id: "pypy-3.9", version: "3.9", fullVersion: "3.9.16" }))).toBeNull();
  });
});
