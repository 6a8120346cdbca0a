/**
 * The CPython release each reference profile was built and checked against.
 *
 * Patch releases change behaviour too (docs/findings.md: 3.11.2 raises
 * timeout()'s TimeoutError without a cause, 3.11.7 chains it; 3.13.2 names
 * eager tasks differently from 3.13.0): a run against another patch release
 * says so, next to its verdicts.
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
 * A sentence when `release` (an implementation's full version, e.g. "3.11.2")
 * is not the release the reference models for its minor version, else null.
 */
export function patchLevelNote(version: PythonVersion, release: string | undefined): string | null {
  const modelled = MODELLED_RELEASES[version];
  if (!modelled || !release) return null;
  // The release of this minor version named in the string: "3.11.2", or
  // the CPython inside "Pyodide 0.27.8 / 3.12.7".
  const plain = releaseIn(version, release);
  if (!plain || plain === modelled) return null;
  return `the clauses and the reference's ${version} profile describe CPython ${modelled}; this implementation is ${release}: a difference may be the patch release's (docs/findings.md lists the known ones)`;
}
