/**
 * Mutants: deliberately faulty variants of the reference. Each changes one
 * behaviour; a specification that passes them all would prove nothing, so
 * every clause names the mutants that break it (Clause.brokenBy) and
 * test/clauses.test.ts shows each one failing.
 */
import { makeReference, EventLoop, NEWEST } from "../reference";
import type { Handle } from "../reference/handles";
import type { Mutant } from "./mutant";
import { MUTANTS as loopFutures } from "./loop_futures";
import { MUTANTS as tasks } from "./tasks";
import { MUTANTS as functions } from "./functions";
import { MUTANTS as groups } from "./groups";
import { MUTANTS as gc } from "./gc";

export type { Mutant } from "./mutant";

/** The ready queue runs each iteration's callbacks last-in, first-out. */
class LifoLoop extends EventLoop {
  protected takeReadyBatch(): Handle[] {
    return super.takeReadyBatch().reverse();
  }
}

const lifoReady: Mutant = {
  name: "lifo-ready",
  description: "the ready queue is LIFO: callbacks ready in the same iteration run newest first",
  make: (v) => ({ ...makeReference(v, { loopClass: LifoLoop }), id: `mutant:lifo-ready@${v}` }),
};

export const MUTANTS: Mutant[] = [lifoReady, ...loopFutures, ...tasks, ...functions, ...groups, ...gc];

export function findMutant(name: string): Mutant | undefined {
  return MUTANTS.find((m) => m.name === name);
}

export { NEWEST };
