/**
 * Every clause of the specification, area by area, in the order of the
 * "Coroutines and Tasks" and "Futures" pages.
 */
import type { Clause } from "./clause";
import { differential } from "./differential";
import { CLAUSES as loop } from "./loop";
import { CLAUSES as coroutines } from "./coroutines";
import { CLAUSES as callbacks } from "./callbacks";
import { CLAUSES as futures } from "./futures";
import { CLAUSES as tasks } from "./tasks";
import { CLAUSES as cancellation } from "./cancellation";
import { CLAUSES as eager } from "./eager";
import { CLAUSES as gather } from "./gather";
import { CLAUSES as wait } from "./wait";
import { CLAUSES as wait_for } from "./wait_for";
import { CLAUSES as as_completed } from "./as_completed";
import { CLAUSES as shield } from "./shield";
import { CLAUSES as timeouts } from "./timeouts";
import { CLAUSES as taskgroup } from "./taskgroup";
import { CLAUSES as weakrefs } from "./weakrefs";
import { CLAUSES as futuresHandles } from "./futures-handles";

export const CLAUSES: readonly Clause[] = [
  ...loop, ...coroutines, ...callbacks, ...futures, ...tasks, ...cancellation, ...eager, ...gather, ...wait, ...wait_for, ...as_completed, ...shield, ...timeouts, ...taskgroup, ...weakrefs, ...futuresHandles,
  differential,
];

export function findClauses(glob: string | undefined): Clause[] {
  if (!glob) return [...CLAUSES];
  const re = new RegExp(
    "^" + glob.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$",
  );
  return CLAUSES.filter((c) => re.test(c.id));
}
