/**
 * asyncio.gather(*aws, return_exceptions=False).
 *
 * Coroutines are wrapped in tasks (in argument order, so they start in that
 * order); the same awaitable given twice is awaited once. The result lists
 * the outcomes in argument order, whatever order they finished in.
 *
 * Without return_exceptions, the first child to fail (or be cancelled)
 * fails the gather at once and the other children keep running. With it,
 * exceptions are results, and a cancelled child contributes a
 * CancelledError. Cancelling the gather cancels every child; the gather then
 * ends with CancelledError once they are all done.
 */
import type { Coroutine, PyFuture } from "../../harness/engine/api";
import { isCoroutine } from "../../harness/engine/api";
import { CancelledError, PyBaseException } from "./exceptions";
import { Future, future_add_to_awaited_by, future_discard_from_awaited_by } from "./futures";
import { holding } from "./gcrefs";
import { EventLoop, get_running_loop } from "./loop";
import { current_task } from "./tasks";

export class GatheringFuture extends Future {
  /** Set when cancel() reached at least one child: the gather ends cancelled. */
  cancelRequested = false;
  constructor(readonly children: Future[], loop: EventLoop) {
    super(loop);
  }

  cancel(msg: string | null = null): boolean {
    if (this.done()) return false;
    let ret = false;
    for (const child of this.children) {
      if (child.cancel(msg)) ret = true;
    }
    if (ret) this.cancelRequested = true;
    return ret;
  }

  /** The outer future holds its children (gc.ts). */
  gcReferents(): unknown[] {
    return [...super.gcReferents(), ...this.children];
  }

  repr(): string {
    return `<_GatheringFuture ${this.state.toLowerCase()}>`;
  }
}

/** asyncio.ensure_future: a future stays itself, a coroutine becomes a task. */
export function ensure_future(aw: Coroutine | PyFuture, loop: EventLoop | null): Future {
  if (aw instanceof Future) return aw;
  if (isCoroutine(aw)) return (loop ?? get_running_loop()).create_task(aw);
  throw new PyBaseException("TypeError", ["An asyncio.Future, a coroutine or an awaitable is required"]);
}

/** asyncio.events._get_running_loop(): the running loop, or null. */
function runningLoopOrNull(): EventLoop | null {
  try {
    return get_running_loop();
  } catch {
    return null;
  }
}

export function gather(aws: Array<Coroutine | PyFuture>, returnExceptions = false): Future {
  if (aws.length === 0) {
    const outer = get_running_loop().create_future();
    outer.set_result([]);
    return outer;
  }

  const children: Future[] = [];
  let nfuts = 0;
  let nfinished = 0;
  let outer: GatheringFuture | null = null;
  // 3.14 (gh-91048): the task that calls gather is recorded as awaiting each
  // pending child (futures.ts future_add_to_awaited_by), and _done_callback
  // takes it out; that callback holds the task as a default argument
  // (`def _done_callback(fut, cur_task=cur_task)`). So until a child is
  // done, it keeps the task that called gather alive, even after that task
  // has finished (CPython 3.14.2 in Pyodide: a sleeping child of a gather
  // kept its cancelled caller to the end).
  // (No running loop, as when the runner gathers the tasks left at shutdown:
  // no current task.)
  const running = runningLoopOrNull();
  const curTask = running?.profile.futureAwaitedBy === true ? current_task() : null;

  const childDone = (fut: Future): void => {
    nfinished++;
    future_discard_from_awaited_by(fut, curTask);
    if (outer === null || outer.done()) {
      if (!fut.cancelled()) fut.exception(); // mark the exception as retrieved
      return;
    }
    if (!returnExceptions) {
      if (fut.cancelled()) {
        outer.set_exception(fut.makeCancelledError());
        return;
      }
      const exc = fut.exception();
      if (exc !== null) {
        outer.set_exception(exc);
        return;
      }
    }
    if (nfinished === nfuts) {
      const results = children.map((child) => {
        if (child.cancelled()) return CancelledError(child.cancelMessage ?? "");
        return child.exception() ?? child.result();
      });
      // CPython takes the CancelledError from the *last child in argument
      // order* here (its loop variable), not from the child that just finished.
      if (outer.cancelRequested) outer.set_exception(children[children.length - 1].makeCancelledError());
      else outer.set_result(results);
    }
  };

  const argToFut = new Map<unknown, Future>();
  const doneFuts: Future[] = [];
  let loop: EventLoop | null = null;
  // gather's own frame: live while an eager child's first step runs inside
  // ensure_future, and kept after by the traceback of an exception that
  // step ends with (tasks.ts), holding its locals as they are when gather
  // returns: the awaitables, the children, the outer future, and, 3.14,
  // cur_task. (Pyodide 3.14.2, gc.get_referrers from the reproducer: the
  // calling task <- frame gather <- ... <- frame wait_for <- traceback <-
  // the eager child's RuntimeError <- the outer future.)
  const frame: unknown[] = [curTask, aws, children, argToFut, doneFuts];
  const inFrame = (fn: () => void): void => (running === null ? fn() : running.inCallerFrame(frame, fn));
  inFrame(() => {
    for (const arg of aws) {
      let fut = argToFut.get(arg);
      if (fut === undefined) {
        fut = ensure_future(arg, loop);
        if (loop === null) loop = fut.loop;
        // A task gather made itself for a coroutine: its caller cannot reach
        // it, so gather turns off its "Task was destroyed but it is
        // pending!" report (`fut._log_destroy_pending = False`).
        if ((fut as unknown) !== arg) (fut as { logDestroyPending?: boolean }).logDestroyPending = false;
        nfuts++;
        argToFut.set(arg, fut);
        if (fut.loop.profile.gatherEagerDoneChildren && fut.done()) doneFuts.push(fut);
        else {
          future_add_to_awaited_by(fut, curTask);
          fut.add_done_callback(childDone);
        }
      }
      children.push(fut);
    }
  });
  outer = new GatheringFuture(children, loop!);
  frame.push(outer);
  // The _done_callback closure holds the outer future and the children, and
  // (3.14) its default argument cur_task.
  holding(childDone, outer, children, curTask);
  // 3.12+: children already done are accounted for now, not a loop iteration later.
  for (const fut of doneFuts) childDone(fut);
  return outer;
}
