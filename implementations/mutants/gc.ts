/**
 * Mutants for the weak-reference and garbage-collection clauses
 * (spec/clauses/weakrefs.ts). Each is the reference with one thing wrong in
 * what holds what (implementations/reference/gc.ts) or in what a destroyed
 * object reports; the reference's files are not edited for them: each
 * replaces the implementation's gc_collect.
 */
import type { AsyncioImplementation, PyEventLoop } from "../../harness/engine/api";
import { EventLoop, Task, makeReference } from "../reference";
import type { PythonVersion } from "../reference";
import { collect, loopRoots } from "../reference/gc";
import type { Mutant } from "./mutant";
import type { PyBaseException } from "../../harness/engine/pyexc";

function mutant(name: string, description: string, make: (v: PythonVersion) => AsyncioImplementation): Mutant {
  return { name, description, make: (v) => ({ ...make(v), id: `mutant:${name}@${v}` }) };
}

/** The reference whose gc step runs `gcCollect` instead. */
function withCollect(v: PythonVersion, gcCollect: (loop: EventLoop, roots: unknown[]) => void): AsyncioImplementation {
  return { ...makeReference(v), gc_collect: (loop: PyEventLoop, roots: unknown[]) => gcCollect(loop as EventLoop, roots) };
}

/** The loop's private queues, as gc.ts reads them. */
function queues(loop: EventLoop): { ready: unknown[]; scheduled: unknown[] } {
  return loop as unknown as { ready: unknown[]; scheduled: unknown[] };
}

export const MUTANTS: Mutant[] = [
  mutant("strong-task-registry", "the loop's task registry (what all_tasks reads) holds its tasks strongly, not weakly", (v) =>
    withCollect(v, (loop, roots) => collect(loop, roots, [...loopRoots(loop), ...loop.scheduledTasks]))),
  mutant("gc-ignores-timers", "the timer heap does not keep its handles' callbacks alive: a sleeping task nobody holds is collected", (v) =>
    withCollect(v, (loop, roots) => {
      const timers = new Set(queues(loop).scheduled);
      collect(loop, roots, loopRoots(loop).filter((r) => !timers.has(r)));
    })),
  mutant("gc-ignores-ready", "the ready queue does not keep its handles alive: a task whose wake-up is queued can be collected", (v) =>
    withCollect(v, (loop, roots) => {
      const ready = new Set([...queues(loop).ready, ...loop.runningBatch]);
      collect(loop, roots, loopRoots(loop).filter((r) => !ready.has(r)));
    })),
  mutant("gc-ignores-task-below-eager-step", "a task whose step is running below an eager child's first step (set aside while the child is the current task) is not a root — neither the handle running its step nor the set-aside list holds it: a collection in that first step destroys it if nothing else holds it", (v) =>
    withCollect(v, (loop, roots) => {
      const aside = new Set<unknown>([...loop.swappedOutTasks, loop.runningBatch[loop.runningBatchPos]]);
      collect(loop, roots, loopRoots(loop).filter((r) => !aside.has(r)));
    })),
  mutant("gc-ignores-program-references", "what the program holds (its handles) does not keep objects alive, as if every reference were weak", (v) =>
    withCollect(v, (loop, _roots) => collect(loop, [], loopRoots(loop)))),
  mutant("destroyed-pending-silent", "a pending task that is destroyed is not reported to the exception handler", (v) =>
    withCollect(v, (loop, roots) => {
      for (const o of loop.gcObjects) if (o instanceof Task) o.logDestroyPending = false;
      collect(loop, roots);
    })),
  mutant("never-retrieved-silent", "an exception nobody retrieved is not reported when its task or future is destroyed", (v) =>
    withCollect(v, (loop, roots) => {
      for (const o of loop.gcObjects) o.logTraceback = false;
      collect(loop, roots);
    })),
  mutant("gc-ignores-exception-context", "the collector does not follow an exception's __context__: what only the exception being handled when it was raised keeps is collected", (v) =>
    withCollect(v, (loop, roots) => {
      // Cut the context of every exception a task or future holds, for the collection only.
      const cut: Array<[PyBaseException, PyBaseException]> = [];
      for (const o of loop.gcObjects) {
        const exc = (o as unknown as { exceptionValue: PyBaseException | null }).exceptionValue;
        if (exc !== null && exc.context !== null) cut.push([exc, exc.context]);
      }
      for (const [exc] of cut) exc.context = null;
      try {
        collect(loop, roots);
      } finally {
        for (const [exc, context] of cut) exc.context = context;
      }
    })),
  mutant("retrieval-not-noted", "result(), exception() and await do not mark an exception as retrieved: it is reported all the same", (v) =>
    withCollect(v, (loop, roots) => {
      for (const o of loop.gcObjects) {
        if (o.done() && !o.cancelled() && o.exception() !== null) o.logTraceback = true;
      }
      collect(loop, roots);
    })),
];
