/**
 * Mutants for the clauses of this group. (Being written.)
 *
 * A mutant is the reference with one behaviour broken: replace one function
 * of the implementation object (`{ ...makeReference(v), gather: ... }`), or
 * subclass a reference class and install it (loopClass, task factories).
 * Reference files are never edited for a mutant.
 */
import type { Mutant } from "./mutant";

export const MUTANTS: Mutant[] = [];
