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

/**
 * Whether `text` matches `pattern`, where `*` matches any run of characters
 * and (when `questionMark` is true) `?` matches one; every other character is
 * literal. The one glob matcher of aiospec: --clause / --exclude here, the
 * vitest integration's `clauses`, and baseline entries.
 *
 * It never builds a regular expression: `*****Z` as a backtracking regular
 * expression takes exponential time on a long id. This walks the text once,
 * remembering only the last `*` seen; on a mismatch it lets that `*` take one
 * more character. Earlier stars never need revisiting (the last one can absorb
 * whatever they would), so the cost is at most |pattern| x |text| steps.
 */
export function globMatch(pattern: string, text: string, questionMark = true): boolean {
  let p = 0;
  let t = 0;
  let star = -1; // index in pattern of the last * seen
  let resume = 0; // where in text that * currently stops
  while (t < text.length) {
    const c = pattern[p];
    if (p < pattern.length && c !== "*" && (c === text[t] || (questionMark && c === "?"))) {
      p++;
      t++;
    } else if (c === "*") {
      star = p++;
      resume = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}

function parts(glob: string, flag = "--clause"): Array<{ exclude: boolean; pattern: string; matches: (id: string) => boolean }> {
  const ps = glob.split(",").map((p) => p.trim());
  if (glob.trim() === "" || ps.some((p) => !PATTERN.test(p.startsWith("!") ? p.slice(1) : p))) {
    throw new UsageError(
      `bad ${flag} glob "${glob}": use clause ids with * and ? (letters, digits, _ - . only), several separated by commas`,
    );
  }
  return ps.map((p) => {
    const exclude = p.startsWith("!");
    const pattern = exclude ? p.slice(1) : p;
    return { exclude, pattern, matches: (id: string) => globMatch(pattern, id) };
  });
}

/** The glob as a predicate over ids; throws UsageError for a malformed glob. */
export function clauseMatcher(glob: string): (id: string) => boolean {
  const ps = parts(glob);
  const include = ps.filter((p) => !p.exclude);
  const exclude = ps.filter((p) => p.exclude);
  return (id) => (include.length === 0 || include.some((p) => p.matches(id))) && !exclude.some((p) => p.matches(id));
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
    if (p.exclude && !all.some((c) => p.matches(c.id))) throw new UsageError(`no clause matches the exclusion "${p.pattern}" (see \`aiospec list\`)`);
  }
  const match = clauseMatcher(glob);
  const selected = all.filter((c) => match(c.id));
  if (selected.length === 0) {
    const excluded = ps.some((p) => p.exclude);
    throw new UsageError(excluded ? `no clause is left: "${glob}" excludes every clause it selects` : `no clause matches "${glob}" (see \`aiospec list\`)`);
  }
  return selected;
}
