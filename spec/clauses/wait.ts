/**
 * Clauses: wait. (Being written.)
 */
import type { Clause } from "./clause";

export const CLAUSES: Clause[] = [];
