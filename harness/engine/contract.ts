/**
 * The implementation contract of api.ts, checked. Every way an
 * implementation comes in — a module the CLI loads
 * (targets/isolation/load.ts), an object given to aiospec/vitest, an object
 * given to tsTarget — goes through contractViolation, so all of them accept
 * and refuse the same objects, with the same one-line reasons.
 */
import { CORE_FUNCTIONS, FEATURE_FUNCTIONS } from "./api";
import { FEATURES, FEATURE_VERSIONS } from "../../spec/scenario/validate";
import { PYTHON_VERSIONS, compareVersions, isPythonVersion, releaseIn } from "../../spec/scenario/versions";

/** Why `impl` does not meet the contract, in one line naming it `who`; null when it does. */
export function contractViolation(impl: unknown, who: string): string | null {
  if (typeof impl !== "object" || impl === null) {
    return `${who} is ${impl === null ? "null" : typeof impl}, not an AsyncioImplementation object`;
  }
  const x = impl as Record<string, unknown>;
  const lacking = CORE_FUNCTIONS.filter((f) => typeof x[f] !== "function");
  if (lacking.length > 0) {
    return `${who} lacks ${lacking.join(", ")} (every implementation provides ${CORE_FUNCTIONS.join(", ")}: see AsyncioImplementation in aiospec/api)`;
  }
  const version = x.pythonVersion;
  if (typeof version !== "string" || !isPythonVersion(version)) {
    return `${who} claims pythonVersion ${JSON.stringify(version)}; aiospec knows ${PYTHON_VERSIONS.join(", ")}`;
  }
  const release = x.pythonRelease;
  if (release !== undefined && (typeof release !== "string" || releaseIn(version, release) !== release)) {
    return `${who} claims pythonRelease ${JSON.stringify(release)}: expected a release of Python ${version}, such as "${version}.0", or no pythonRelease`;
  }
  const unsupported = x.unsupported ?? [];
  if (!Array.isArray(unsupported) || !unsupported.every((f) => typeof f === "string")) {
    return `${who}.unsupported must be a list of feature names`;
  }
  const unknown = unsupported.filter((f) => !FEATURES.includes(f));
  if (unknown.length > 0) {
    return `${who} declares unknown feature(s) unsupported: ${unknown.join(", ")} (features: ${FEATURES.join(", ")})`;
  }
  // A function may be missing when no scenario it runs can reach it: its
  // features are declared unsupported, or newer than the Python claimed.
  const newer = (f: string) => {
    const since = FEATURE_VERSIONS[f];
    return since !== undefined && compareVersions(since, version) > 0;
  };
  const unavailable = (f: string) => unsupported.includes(f) || newer(f);
  const missing = Object.entries(FEATURE_FUNCTIONS).filter(([name, features]) => typeof x[name] !== "function" && !features.every(unavailable));
  if (missing.length > 0) {
    const features = [...new Set(missing.flatMap(([, fs]) => fs.filter((f) => !unavailable(f))))];
    return `${who} lacks ${missing.map(([name]) => name).join(", ")}: provide ${missing.length > 1 ? "them" : "it"}, or declare ${features.map((f) => JSON.stringify(f)).join(", ")} unsupported`;
  }
  return null;
}
