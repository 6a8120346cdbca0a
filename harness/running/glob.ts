/**
 * Clause selection: `--clause GLOB` and `--exclude GLOB`. A glob is one or
 * more comma-separated patterns over clause ids; `*` matches any run of
 * characters (dots included), `?` one character. A pattern starting with `!`
 * excludes what it matches (`--exclude G` is `!G` added to the selection);
 * a selection of exclusions only starts from every clause. Anything else
 * than letters, digits, `_`, `-`, `.`, `*`, `?`, `,` and a leading `!` is a
 * usage error, and so is a glob (or an exclusion) that matches no clause, or
 * a selection that leaves no clause.
 */
import type { Clause } from "../../spec/clauses/clause";
import { UsageError } from "../targets/errors";

const PATTERN = /^[A-Za-z0-9_.*?-]+$/;

/** One pattern (`*`, `?`, the rest literal) as a regular expression over the whole string. */
export function globRegExp(pattern: string): RegExp {
  return new RegExp("^" + pattern.replace(/[.+^${}()|[\]\\/-]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$");
}

function parts(glob: string, flag = "--clause"): Array<{ exclude: boolean; pattern: string; re: RegExp }> {
  const ps = glob.split(",").map((p) => p.trim());
  if (glob.trim() === "" || ps.some((p) => !PATTERN.test(p.startsWith("!") ? p.slice(1) : p))) {
    throw new UsageError(
      `bad ${flag} glob "${glob}": use clause ids with * and ? (letters, digits, _ - . only), several separated by commas`,
    );
  }
  return ps.map((p) => {
    const exclude = p.startsWith("!");
    const pattern = exclude ? p.slice(1) : p;
    return { exclude, pattern, re: globRegExp(pattern) };
  });
}

/** The glob as a predicate over ids; throws UsageError for a malformed glob. */
export function clauseMatcher(glob: string): (id: string) => boolean {
  const ps = parts(glob);
  const include = ps.filter((p) => !p.exclude);
  const exclude = ps.filter((p) => p.exclude);
  return (id) => (include.length === 0 || include.some((p) => p.re.test(id))) && !exclude.some((p) => p.re.test(id));
}

/**
 * The glob --clause and --exclude make together: the exclusions appended as
 * `!PATTERN` (undefined when neither is given). Each exclusion is checked on
 * its own (`--exclude` globs have the same syntax as --clause).
 */
export function combineSelection(clause: string | undefined, exclude: readonly string[] | undefined): string | undefined {
  if (!exclude || exclude.length === 0) return clause;
  const nots: string[] = [];
  for (const e of exclude) {
    for (const p of parts(e, "--exclude")) {
      if (p.exclude) throw new UsageError(`bad --exclude glob "${e}": write the pattern without "!"`);
      nots.push("!" + p.pattern);
    }
  }
  return [...(clause !== undefined ? [clause] : []), ...nots].join(",");
}

/** The clauses a glob selects, in specification order (all of them without a glob). */
export function selectClauses(all: readonly Clause[], glob: string | undefined): Clause[] {
  if (glob === undefined) return [...all];
  const ps = parts(glob);
  for (const p of ps) {
    if (p.exclude && !all.some((c) => p.re.test(c.id))) throw new UsageError(`no clause matches the exclusion "${p.pattern}" (see \`aiospec list\`)`);
  }
  const match = clauseMatcher(glob);
  const selected = all.filter((c) => match(c.id));
  if (selected.length === 0) {
    const excluded = ps.some((p) => p.exclude);
    throw new UsageError(excluded ? `no clause is left: "${glob}" excludes every clause it selects` : `no clause matches "${glob}" (see \`aiospec list\`)`);
  }
  return selected;
}
