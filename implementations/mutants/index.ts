/**
 * Mutants: deliberately faulty variants of the reference. Each changes one
 * behaviour; a specification that passes them all would prove nothing, so
 * tests show which property catches which mutant.
 */
import type { AsyncioImplementation } from "../../harness/api";
import { makeReference, EventLoop, NEWEST } from "../reference";
import type { PythonVersion } from "../reference";
import type { Handle } from "../reference/handles";

/** The ready queue runs each iteration's callbacks last-in, first-out. */
class LifoLoop extends EventLoop {
  protected takeReadyBatch(): Handle[] {
    return super.takeReadyBatch().reverse();
  }
}

export interface Mutant {
  name: string;
  description: string;
  make(version: PythonVersion): AsyncioImplementation;
}

export const MUTANTS: Mutant[] = [
  {
    name: "lifo-ready",
    description: "the ready queue is LIFO: callbacks ready in the same iteration run newest first",
    make: (v) => ({ ...makeReference(v, { loopClass: LifoLoop }), id: `mutant:lifo-ready@${v}` }),
  },
];

export function findMutant(name: string): Mutant | undefined {
  return MUTANTS.find((m) => m.name === name);
}

export { NEWEST };
