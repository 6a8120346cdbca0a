/**
 * Clause selection: `--clause GLOB`. A glob is one or more comma-separated
 * patterns over clause ids; `*` matches any run of characters (dots
 * included), `?` one character. Anything else than letters, digits, `_`,
 * `-`, `.`, `*`, `?` and `,` is a usage error, and so is a glob that selects
 * no clause.
 */
import type { Clause } from "../spec/clauses/clause";
import { UsageError } from "./targets";

const PATTERN = /^[A-Za-z0-9_.*?-]+$/;

/** The glob as a predicate over ids; throws UsageError for a malformed glob. */
export function clauseMatcher(glob: string): (id: string) => boolean {
  const parts = glob.split(",").map((p) => p.trim());
  if (glob.trim() === "" || parts.some((p) => !PATTERN.test(p))) {
    throw new UsageError(
      `bad --clause glob "${glob}": use clause ids with * and ? (letters, digits, _ - . only), several separated by commas`,
    );
  }
  const res = parts.map(
    (p) => new RegExp("^" + p.replace(/[.+^${}()|[\]\\-]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$"),
  );
  return (id) => res.some((re) => re.test(id));
}

/** The clauses a glob selects, in specification order (all of them without a glob). */
export function selectClauses(all: readonly Clause[], glob: string | undefined): Clause[] {
  if (glob === undefined) return [...all];
  const match = clauseMatcher(glob);
  const selected = all.filter((c) => match(c.id));
  if (selected.length === 0) throw new UsageError(`no clause matches "${glob}" (see \`aiospec list\`)`);
  return selected;
}
