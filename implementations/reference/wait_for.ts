/**
 * asyncio.wait_for(aw, timeout): await aw, but give up after `timeout`.
 *
 * On timeout, aw is cancelled, wait_for waits until it has really ended
 * (it never leaves it running behind), and raises TimeoutError from the
 * CancelledError. If aw swallows the cancellation and returns a value, that
 * value is the result. Cancelling the caller cancels aw too.
 *
 * Two implementations, by version:
 *
 *   3.11  aw becomes a task of its own (a coroutine is wrapped with
 *         ensure_future), and the caller waits on a separate "waiter"
 *         future that either aw's end or a timer releases. The extra task
 *         and the hops through done callbacks cost loop iterations.
 *
 *   3.12+ `async with timeout(t): return await aw` (gh-96764): a coroutine
 *         runs inline, in the caller's own task; the deadline cancels the
 *         caller, and the timeout turns that into TimeoutError.
 *
 * Both share the special case timeout <= 0: aw is not given a chance to run.
 * It is wrapped, cancelled at once (unless already done) and waited for.
 */
import type { Coroutine, PyFuture } from "../../harness/engine/api";
import { PyBaseException, TimeoutError, isinstance } from "./exceptions";
import { Future } from "./futures";
import type { TimerHandle } from "./handles";
import { ensure_future } from "./gather";
import { EventLoop, get_running_loop, runningTask } from "./loop";
import { argsInFrame, holding, inFrame, keptByTraceback } from "./gcrefs";
import { timeout as timeoutCm } from "./timeouts";

export function wait_for(aw: Coroutine | PyFuture, timeout: number | null): Coroutine {
  // wait_for's frame holds `fut` (aw) and `timeout` from the call on: a task
  // cancelled before it ran wait_for keeps aw through its CancelledError's
  // traceback (CPython 3.11.7, gc.get_referrers: shield's outer future <-
  // frame wait_for (fut, timeout) <- tb <- the CancelledError, which the
  // cancelled task and gather's outer future keep).
  return argsInFrame([aw], waitForBody(aw, timeout));
}

function* waitForBody(aw: Coroutine | PyFuture, timeout: number | null): Coroutine {
  const loop = get_running_loop();
  if (loop.profile.waitForUsesTimeout) return yield* waitForWithTimeout(aw, timeout);
  return yield* waitForWithWaiter(aw, timeout, loop);
}

/** 3.12+: the timeout context manager does the work. */
function* waitForWithTimeout(aw: Coroutine | PyFuture, timeout: number | null): Coroutine {
  if (timeout !== null && timeout <= 0) return yield* expireAtOnce(aw, get_running_loop());
  // async with timeout(timeout): return await aw   (timeout None: a block with no deadline)
  const cm = timeoutCm(timeout);
  // wait_for's frame holds aw (its local `fut`) from the start, entering the
  // block included: when __aenter__ raises (3.14's pure-Python Task, which
  // current_task() does not see: "Timeout should be used inside a task"),
  // the exception's traceback keeps wait_for's frame, and so aw. The timeout
  // is no local: `async with` keeps only its __aexit__ on the frame's stack,
  // which an exception leaving the frame clears, so an exception that passes
  // through wait_for does not keep the timeout, nor the task it holds
  // (CPython 3.14.2: a task's ValueError raised through its wait_for kept
  // only fut). (A TimeoutError from the timeout's __aexit__ does, by its own
  // frame: timeouts.ts.) While it waits, the waiting task holds the future it
  // awaits and the timer holds the timeout.
  return yield* inFrame(runningTask(), [aw], awaitUnderTimeout(aw, cm));
}

function* awaitUnderTimeout(aw: Coroutine | PyFuture, cm: ReturnType<typeof timeoutCm>): Coroutine {
  yield* cm.__aenter__();
  let result: unknown;
  try {
    result = yield* awaitIt(aw);
  } catch (e) {
    // Stryker disable next-line ConditionalExpression: equivalent, only a bug of the interpreter or the reference throws a non-Python (JavaScript) error here; a scenario cannot
    if (!(e instanceof PyBaseException)) throw e;
    // e came out of `await fut` in wait_for's frame: its traceback has that
    // frame, which holds fut, whether e leaves wait_for or becomes the
    // __cause__ of the timeout's TimeoutError (see resultOrTimeout).
    keptByTraceback(e, aw);
    yield* cm.__aexit__(e); // raises TimeoutError when the deadline caused e; never suppresses
    throw e;
  }
  yield* cm.__aexit__(null);
  return result;
}

/** 3.11: aw runs as its own task; a waiter future is released by its end or by a timer. */
function* waitForWithWaiter(aw: Coroutine | PyFuture, timeout: number | null, loop: EventLoop): Coroutine {
  if (timeout === null) return yield* awaitIt(aw);
  if (timeout <= 0) return yield* expireAtOnce(aw, loop);

  const waiter = loop.create_future();
  const timeoutHandle = loop.call_later(timeout, releaseWaiter, waiter);
  const cb = holding(() => releaseWaiter(waiter), waiter); // functools.partial(_release_waiter, waiter)
  const fut = ensure_future(aw, loop);
  fut.add_done_callback(cb);
  const frame = [fut, waiter, timeoutHandle];
  return yield* inFrame(runningTask(), frame, waitOnWaiter(fut, waiter, timeoutHandle, cb, loop, frame));
}

function* waitOnWaiter(fut: Future, waiter: Future, timeoutHandle: TimerHandle, cb: () => void, loop: EventLoop, frame: unknown[]): Coroutine {
  try {
    try {
      yield* waiter.__await__();
    } catch (e) {
      // Stryker disable next-line ConditionalExpression: equivalent, the waiter is a plain future only ever given a result or cancelled, so awaiting it raises nothing but CancelledError
      if (!isinstance(e, "CancelledError")) throw e;
      // Caught in wait_for's frame, e has it in its traceback, and so its
      // locals (fut, the task wrapping aw), even when wait_for returns: the
      // pure-Python Task's step woken by the waiter runs under e (its
      // __wakeup's except block), and what the coroutine raises later in
      // that step keeps e as __context__. CPython 3.11.7, _PyTask, walked
      // with gc.get_referents: ValueError -> CancelledError -> traceback ->
      // frame wait_for -> the task wrapping aw.
      keptByTraceback(e as object, ...frame);
      // wait_for itself was cancelled: aw ends first, then the cancellation
      // goes on (unless aw finished meanwhile: then its outcome wins).
      if (fut.done()) return fut.result();
      fut.remove_done_callback(cb);
      // Never return while aw still runs (bpo-32751).
      yield* cancel_and_wait(fut, loop);
      throw e;
    }
    if (fut.done()) return fut.result();
    // The timer released the waiter: time is up.
    fut.remove_done_callback(cb);
    yield* cancel_and_wait(fut, loop);
    // aw may have ended otherwise than cancelled: its outcome wins (bpo-40607).
    return resultOrTimeout(fut, frame);
  } finally {
    timeoutHandle.cancel();
  }
}

/** The timeout <= 0 case: cancel aw before it runs (unless it is already done). */
function* expireAtOnce(aw: Coroutine | PyFuture, loop: EventLoop): Coroutine {
  const fut = ensure_future(aw, loop);
  const frame = [fut];
  return yield* inFrame(runningTask(), frame, cancelAndResult(fut, loop, frame));
}

function* cancelAndResult(fut: Future, loop: EventLoop, frame: unknown[]): Coroutine {
  if (fut.done()) return fut.result();
  yield* cancel_and_wait(fut, loop);
  return resultOrTimeout(fut, frame);
}

/**
 * fut's result; a cancellation becomes TimeoutError (raised from the
 * CancelledError). `frame`: what wait_for's frame holds.
 */
function resultOrTimeout(fut: Future, frame: unknown[]): unknown {
  try {
    return fut.result();
  } catch (e) {
    if (!isinstance(e, "CancelledError")) throw e;
    // `except CancelledError as exc: raise TimeoutError from exc`: exc was
    // raised in wait_for's frame, so its traceback keeps that frame and its
    // locals (fut, the task wrapping aw) for as long as the TimeoutError
    // keeps it as __cause__, even once the TimeoutError's own traceback is
    // gone (the C Future's result() gives it none the second time: futures.ts).
    // CPython 3.12.1, gc.get_referrers: the task <- frame wait_for (fut) <- tb
    // <- the CancelledError <- the TimeoutError (__cause__) <- the task it ended.
    keptByTraceback(e as object, ...frame);
    const te = TimeoutError();
    te.cause = e;
    te.context = e;
    throw te;
  }
}

/** The callback that wakes the waiter (from the timer or from aw's end); idempotent. */
function releaseWaiter(waiter: Future): void {
  if (!waiter.done()) waiter.set_result(null);
}

/**
 * Cancel fut and wait until it is done. It waits on a waiter future, not on
 * fut itself, so that cancelling the waiting task cancels only the wait,
 * not fut a second time.
 */
function* cancel_and_wait(fut: Future, loop: EventLoop): Coroutine<void> {
  const waiter = loop.create_future();
  const cb = holding(() => releaseWaiter(waiter), waiter); // functools.partial(_release_waiter, waiter)
  fut.add_done_callback(cb);
  try {
    fut.cancel();
    yield* waiter.__await__();
  // Stryker disable next-line BlockStatement: equivalent, the callback left on the awaitable only runs once the waiter is done (the task was cancelled out of this wait) and then does nothing; it holds only that waiter, which nothing else can reach
  } finally {
    fut.remove_done_callback(cb);
  }
}

/** `await aw`: a future through its __await__, a coroutine inline. */
function* awaitIt(aw: Coroutine | PyFuture): Coroutine {
  return yield* ("__await__" in aw ? aw.__await__() : aw);
}
