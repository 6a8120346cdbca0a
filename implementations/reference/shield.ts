/**
 * asyncio.shield(aw): await aw without letting a cancellation reach it.
 *
 * shield returns a new "outer" future that mirrors the "inner" one (aw,
 * wrapped into a task if it is a coroutine). Cancelling the outer future —
 * which is what cancelling a task awaiting `shield(aw)` does — cancels only
 * the outer: the awaiting task gets its CancelledError while the inner keeps
 * running, and its eventual outcome is dropped (marked retrieved; 3.14
 * reports an exception it ends with to the exception handler instead). The other
 * way round there is no shield: an inner that ends cancelled cancels the
 * outer, and its result or exception is passed on.
 *
 * An inner that is already done is returned as it is: there is nothing left
 * to protect.
 */
import type { Coroutine, PyFuture } from "../../harness/engine/api";
import { Future, future_add_to_awaited_by, future_discard_from_awaited_by } from "./futures";
import { ensure_future } from "./gather";
import { holding } from "./gcrefs";
import { current_task } from "./tasks";

/**
 * tasks._log_on_exception (3.14): the done callback a cancelled shield
 * leaves on its inner future. A module-level function, so that every
 * shield of the same inner adds and removes the same callback.
 */
function logOnException(fut: Future): void {
  if (fut.cancelled()) return;
  const exc = fut.exception();
  if (exc === null) return;
  fut.loop.call_exception_handler({ message: `${exc.type} exception in shielded future`, exception: exc });
}

export function shield(arg: Coroutine | PyFuture): Future {
  const inner = ensure_future(arg, null);
  if (inner.done()) return inner;
  const outer = inner.loop.create_future();

  const innerDone = (inner: Future): void => {
    if (outer.cancelled()) {
      // Nobody waits for the outcome any more; reading it marks it
      // retrieved (before 3.14; 3.14 reports it instead: outerDone).
      if (!inner.cancelled() && !inner.loop.profile.shieldReportsLateException) inner.exception();
      return;
    }
    if (inner.cancelled()) {
      outer.cancel();
      return;
    }
    const exc = inner.exception();
    if (exc !== null) outer.set_exception(exc);
    else outer.set_result(inner.result());
  };

  // The outer ended first (it was cancelled): stop mirroring the inner.
  // 3.14 (gh-86802) reports an exception the inner ends with to the loop's
  // exception handler instead: one reporting callback per inner, however
  // many shields were cancelled (it is removed and added again).
  const outerDone = (): void => {
    if (!inner.done()) {
      inner.remove_done_callback(innerDone);
      if (inner.loop.profile.shieldReportsLateException) {
        inner.remove_done_callback(logOnException);
        inner.add_done_callback(logOnException);
      }
    }
  };

  // 3.14: the calling task is recorded as awaiting the inner (futures.ts
  // future_add_to_awaited_by), and a done callback of the inner, which holds
  // that task too, takes it out: until the inner is done, it keeps the task
  // that called shield alive (CPython 3.14.2, gc.get_referrers: the task <-
  // cell cur_task <- _clear_awaited_by_callback <- the inner's callbacks, and
  // <- the inner's awaited-by set).
  const curTask = inner.loop.profile.futureAwaitedBy ? current_task() : null;
  if (curTask !== null) {
    future_add_to_awaited_by(inner, curTask);
    inner.add_done_callback(holding((f: Future) => future_discard_from_awaited_by(f, curTask), curTask));
  }

  // The closures hold what they name: the inner callback the outer future,
  // the outer callback the inner future and the inner callback.
  holding(innerDone, outer);
  holding(outerDone, inner, innerDone);
  inner.add_done_callback(innerDone);
  outer.add_done_callback(outerDone);
  return outer;
}
