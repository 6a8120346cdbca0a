/**
 * Clauses: tasks. (Being written.)
 */
import type { Clause } from "./clause";

export const CLAUSES: Clause[] = [];
