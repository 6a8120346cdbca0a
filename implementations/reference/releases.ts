/**
 * The CPython release each reference profile was built and checked against.
 *
 * Patch releases change behaviour too (docs/findings.md: 3.11.2 raises
 * timeout()'s TimeoutError without a cause, 3.11.7 chains it; 3.13.2's
 * TaskGroup lets go of its parent task, 3.13.0's does not). The changes
 * aiospec knows are written once in spec/scenario/versions.ts (Backport),
 * and a profile can be made at any release of its version (profile.ts
 * profileFor, reference@3.13.2): the clauses hold an implementation to the
 * release it reports and compare it with the reference at that release. A
 * run against another release than the one checked says so, next to its
 * verdicts: a change aiospec does not know may show as a difference.
 */
// Stryker disable all: not asyncio behaviour. Which CPython release each profile was checked against feeds the CLI's patch-level note (harness/cli/commands.ts, tested by test/releases.test.ts), the profiles' `release` and the release a patch-level clause holds an implementation that names none to (spec/clauses/clause.ts releaseOf), both tested by test/patch-releases.test.ts.
import type { PythonVersion } from "./profile";
import { releaseIn } from "../../spec/scenario/versions";

export const MODELLED_RELEASES: Readonly<Partial<Record<PythonVersion, string>>> = {
  "3.11": "3.11.7",
  "3.12": "3.12.1",
  "3.13": "3.13.0",
  "3.14": "3.14.2",
};

/**
 * A sentence when `release` (an implementation's full version, e.g. "3.11.2",
 * "Pyodide 0.29.3 / 3.13.2") is not the release the reference was checked
 * against for its minor version, else null. It says the release the clauses
 * and the reference were run at: the one named in `release`.
 */
export function patchLevelNote(version: PythonVersion, release: string | undefined): string | null {
  const modelled = MODELLED_RELEASES[version];
  if (!modelled || !release) return null;
  // The release of this minor version named in the string: "3.11.2", or
  // the CPython inside "Pyodide 0.27.8 / 3.12.7".
  const plain = releaseIn(version, release);
  if (!plain || plain === modelled) return null;
  return (
    `this implementation is ${release}: the clauses and the reference were run at ${plain}, ` +
    `which differs from ${modelled} (the release the reference's ${version} profile was checked against) by the patch-release changes aiospec knows (spec/scenario/versions.ts); ` +
    `a difference may come from one it does not know (docs/findings.md lists those found)`
  );
}
