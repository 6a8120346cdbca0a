/**
 * asyncio.wait(aws, timeout=None, return_when=ALL_COMPLETED).
 *
 * Waits, without raising anything of theirs, until the tasks and futures are
 * done, or the first one is (FIRST_COMPLETED), or the first one fails
 * (FIRST_EXCEPTION: an exception; a cancellation does not count), or the
 * timeout passes; then answers (done, pending). A timeout is not an error:
 * what did not finish is simply pending. Nothing is cancelled.
 *
 * The input becomes a set first, so duplicates count once, and done
 * callbacks are registered in the set's iteration order (pyset.ts): for
 * members already done, that is the order their callbacks are scheduled in.
 * Coroutines are refused (since 3.11): wrapping them in tasks silently hid
 * the tasks from the caller.
 *
 * The waiting itself is one private future, the waiter, which every member's
 * completion callback may resolve; the waiting task sleeps on it alone. On
 * the way out, normal or cancelled, the timer and the callbacks are removed,
 * so a member finishing later does not touch this wait.
 */
import type { Coroutine, PyFuture, ReturnWhen } from "../../harness/engine/api";
import { isCoroutine } from "../../harness/engine/api";
import { pyexc } from "../../harness/engine/pyexc";
import type { Future } from "./futures";
import { future_add_to_awaited_by, future_discard_from_awaited_by } from "./futures";
import type { TimerHandle } from "./handles";
import { holding, inFrame } from "./gcrefs";
import { EventLoop, get_running_loop, runningTask } from "./loop";
import { PySet } from "./pyset";
import { current_task } from "./tasks";

const RETURN_WHEN: readonly string[] = ["FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED"];

export function* wait(
  aws: Array<Coroutine | PyFuture>,
  timeout: number | null,
  returnWhen: ReturnWhen,
): Coroutine<[PyFuture[], PyFuture[]]> {
  // Checked when the coroutine starts, in CPython's order.
  if (aws.length === 0) throw pyexc("ValueError", "Set of Tasks/Futures is empty.");
  if (!RETURN_WHEN.includes(returnWhen)) throw pyexc("ValueError", `Invalid return_when value: ${returnWhen}`);
  if (aws.some(isCoroutine)) throw pyexc("TypeError", "Passing coroutines is forbidden, use tasks explicitly.");
  const fs = new PySet<Future>(aws as Future[], setHash);
  return yield* waitOn(fs, timeout, returnWhen, get_running_loop());
}

/** asyncio.tasks._wait: the waiting, for a non-empty set of futures. */
function* waitOn(
  fs: PySet<Future>,
  timeout: number | null,
  returnWhen: ReturnWhen,
  loop: EventLoop,
): Coroutine<[Future[], Future[]]> {
  const waiter = loop.create_future();
  const timeoutHandle: TimerHandle | null = timeout === null ? null : loop.call_later(timeout, releaseWaiter, waiter);
  let counter = fs.size;
  // 3.14 (gh-91048) only: _wait's `cur_task = current_task()`, which
  // _on_completion's closure holds. 3.11-3.13's closure holds no task: a
  // completion callback still queued when the loop stops (a member finished
  // in the iteration that cancelled the waiting task) keeps nothing else
  // alive (CPython 3.11.7-3.13.0 collect the task there).
  const curTask = loop.profile.futureAwaitedBy ? current_task() : null;

  const onCompletion = (f: Future): void => {
    counter--;
    // Reading exception() also marks it as retrieved.
    const failed = (): boolean => !f.cancelled() && f.exception() !== null;
    if (counter <= 0 || returnWhen === "FIRST_COMPLETED" || (returnWhen === "FIRST_EXCEPTION" && failed())) {
      timeoutHandle?.cancel();
      if (!waiter.done()) waiter.set_result(null);
    }
    future_discard_from_awaited_by(f, curTask);
  };

  // _on_completion's closure holds the waiter, the timer and (3.14) the
  // waiting task; the frame holds the set of futures too.
  holding(onCompletion, waiter, timeoutHandle, curTask);
  for (const f of fs) {
    f.add_done_callback(onCompletion);
    // 3.14: a member still pending when the wait returns keeps curTask (futures.ts).
    future_add_to_awaited_by(f, curTask);
  }
  try {
    // Stryker disable next-line ArrayDeclaration: equivalent in the scenario language, whose wait step holds the same futures on the driver's frame and in an exception leaving it (interpreter keptOnError); the waiter is the task's fut_waiter while it waits and a plain future nobody reports on; the timer is held by the loop's heap until it fires or is cancelled
    yield* inFrame(runningTask(), [[...fs], waiter, timeoutHandle], waiter.__await__());
  } finally {
    timeoutHandle?.cancel();
    for (const f of fs) f.remove_done_callback(onCompletion);
  }

  const done: Future[] = [];
  const pending: Future[] = [];
  for (const f of fs) (f.done() ? done : pending).push(f);
  return [done, pending];
}

/**
 * The hash a task or future has in asyncio's sets: its creation number
 * (pyset.ts). A future made otherwise (gather's) hashes by its address in
 * CPython, so its place in the order is not reproducible; the model gives it
 * 0. For wait() the order cannot show anyway: the completion callbacks of
 * members already done run back to back and only count.
 */
export function setHash(f: Future): number {
  return f.pyHash ?? 0;
}

/** The timer's callback: wake the waiter unless something already did. */
function releaseWaiter(waiter: Future): void {
  if (!waiter.done()) waiter.set_result(null);
}
