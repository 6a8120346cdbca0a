/**
 * Every clause of the specification, area by area.
 */
import type { Clause } from "./clause";
import { differential } from "./differential";

export const CLAUSES: readonly Clause[] = [differential];

export function findClauses(glob: string | undefined): Clause[] {
  if (!glob) return [...CLAUSES];
  const re = new RegExp(
    "^" + glob.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$",
  );
  return CLAUSES.filter((c) => re.test(c.id));
}
