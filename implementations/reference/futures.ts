/**
 * Future: a result that will exist later.
 *
 * A future is pending, then exactly one of: finished with a result, finished
 * with an exception, or cancelled. Done callbacks are never called directly:
 * finishing the future schedules each one with call_soon, in registration
 * order, so they run on a later loop iteration after what is already queued.
 */
import type { Coroutine, PyFuture } from "../../harness/engine/api";
import { CancelledError, InvalidStateError, PyBaseException, RuntimeError, isinstance, pyexc, raisedWhileHandling } from "./exceptions";
import type { EventLoop } from "./loop";
import { get_running_loop } from "./loop";

export type FutureState = "PENDING" | "CANCELLED" | "FINISHED";
export type DoneCallback = (fut: Future) => void;

export class Future implements PyFuture {
  protected state: FutureState = "PENDING";
  protected resultValue: unknown = null;
  protected exceptionValue: PyBaseException | null = null;
  /**
   * The exception's traceback when it was set (_exception_tb, bpo-45924):
   * what the frames it had left by then hold (its gcRefs, gc.ts). result()
   * raises the exception with that traceback again, `raise
   * exc.with_traceback(self._exception_tb)`, so what an earlier raise of the
   * same exception went through (another awaiter's frames) is forgotten.
   * The C Future clears it once it has been used (future_get_result's
   * Py_CLEAR: a second result() raises with no traceback at all); the
   * pure-Python Future (futures._PyFuture, the base of the pure-Python
   * Task) keeps it for as long as it lives. The future holds it either way.
   */
  protected exceptionTb: unknown[] | null = null;
  protected callbacks: DoneCallback[] = [];
  /** The message given to cancel(msg). */
  cancelMessage: string | null = null;
  /**
   * The CancelledError that actually ended a task's coroutine, handed out
   * once by makeCancelledError (the first awaiter sees that very exception).
   */
  cancelledExc: PyBaseException | null = null;
  /** Set by __await__ just before yielding the future to the task. */
  // Stryker disable next-line BooleanLiteral: equivalent, __await__ sets it before every yield and the task clears it; only a future yielded bare (not awaited) reaches the task with its initial value, and a scenario can only await
  asyncioFutureBlocking = false;
  /**
   * The object's hash, for sets (pyset.ts): its creation number when made by
   * loop.create_future or loop.create_task, as the driver pins them; null
   * for futures made directly (they never go into a set).
   */
  pyHash: number | null = null;
  /**
   * Garbage collection (gc.ts): an exception was set and nobody has called
   * result() or exception() since (CPython's __log_traceback); when such a
   * future is destroyed the loop hears "... exception was never retrieved".
   */
  logTraceback = false;
  /** Collected by gc.ts: nothing can reach it any more. */
  collected = false;
  /**
   * 3.14: the tasks recorded as awaiting this future (`_asyncio_awaited_by`,
   * read by asyncio.capture_call_stack, gh-91048), held strongly; null until
   * the first is added. See future_add_to_awaited_by.
   */
  awaitedBy: Set<Future> | null = null;
  readonly loop: EventLoop;

  constructor(loop?: EventLoop) {
    this.loop = loop ?? get_running_loop();
  }

  done(): boolean {
    return this.state !== "PENDING";
  }

  cancelled(): boolean {
    return this.state === "CANCELLED";
  }

  cancel(msg: string | null = null): boolean {
    this.logTraceback = false; // even on a done future (CPython's cancel() clears __log_traceback first)
    if (this.state !== "PENDING") return false;
    this.state = "CANCELLED";
    this.cancelMessage = msg;
    this.scheduleCallbacks();
    return true;
  }

  /** The CancelledError to raise for a cancelled future. */
  makeCancelledError(): PyBaseException {
    if (this.cancelledExc !== null) {
      const exc = this.cancelledExc;
      this.cancelledExc = null;
      return exc;
    }
    return CancelledError(this.cancelMessage);
  }

  result(): unknown {
    if (this.state === "CANCELLED") throw this.raised(this.makeCancelledError());
    // The C Future's wording (futures.py says "Result is not ready.").
    if (this.state !== "FINISHED") throw InvalidStateError("Result is not set.");
    this.logTraceback = false;
    if (this.exceptionValue !== null) {
      // A traceback is a chain the frames an exception leaves are put in
      // front of: the raise starts a new one from the saved part (copied, so
      // the saved one stays as it was).
      (this.exceptionValue as { gcRefs?: unknown[] }).gcRefs = [...(this.exceptionTb ?? [])];
      if (!this.keepsExceptionTb()) this.exceptionTb = null;
      throw this.raised(this.exceptionValue);
    }
    return this.resultValue;
  }

  /**
   * e, raised by result(): raised while an exception is handled under the
   * running step (loop.handledUnderSteps: the pure-Python Task's __wakeup),
   * it gets that one as its __context__, as Python's raise sets it.
   */
  private raised(e: PyBaseException): PyBaseException {
    // Raised in the running task's coroutine, the exception has its frame
    // in its traceback from then on (the pure-Python Task: and the step
    // frames under it once it ends, tasks.ts raisedInCoroutine).
    this.loop.currentTask?.raisedInCoroutine(e);
    return raisedWhileHandling(e, this.loop.handledUnderStep());
  }

  exception(): PyBaseException | null {
    if (this.state === "CANCELLED") throw this.makeCancelledError();
    if (this.state !== "FINISHED") throw InvalidStateError("Exception is not set.");
    this.logTraceback = false;
    return this.exceptionValue;
  }

  add_done_callback(fn: DoneCallback): void {
    if (this.state !== "PENDING") this.loop.call_soon(fn, this);
    else this.callbacks.push(fn);
  }

  /** Remove every registration of fn; return how many there were. */
  remove_done_callback(fn: DoneCallback): number {
    const kept = this.callbacks.filter((cb) => cb !== fn);
    const removed = this.callbacks.length - kept.length;
    this.callbacks = kept;
    return removed;
  }

  set_result(result: unknown): void {
    // The C Future's wording (futures.py says "<state>: <repr>").
    if (this.state !== "PENDING") throw InvalidStateError("invalid state");
    this.resultValue = result;
    this.state = "FINISHED";
    this.scheduleCallbacks();
  }

  set_exception(exception: PyBaseException): void {
    if (this.state !== "PENDING") throw InvalidStateError("invalid state");
    if (isinstance(exception, "StopIteration")) {
      // A StopIteration thrown into a coroutine would end it as if it
      // returned: futures refuse it, or (3.13) store a RuntimeError instead.
      const message = "StopIteration interacts badly with generators and cannot be raised into a Future";
      if (!this.loop.profile.setExceptionWrapsStopIteration) throw pyexc("TypeError", message);
      const wrapped = RuntimeError(message);
      wrapped.cause = exception;
      wrapped.context = exception;
      exception = wrapped;
    }
    this.exceptionValue = exception;
    this.exceptionTb = [...((exception as { gcRefs?: unknown[] }).gcRefs ?? [])];
    this.logTraceback = true;
    this.state = "FINISHED";
    this.scheduleCallbacks();
  }

  /** What this future holds strongly, for gc.ts: its done callbacks. */
  gcReferents(): unknown[] {
    // Its result and exception too: an exception's traceback holds the
    // frames it left, and their locals (gc.ts).
    // And the tasks recorded as awaiting it (3.14).
    return [...this.callbacks, this.resultValue, this.exceptionValue, this.exceptionTb, this.cancelledExc, ...(this.awaitedBy ?? [])];
  }

  /** Is this the pure-Python Future, which keeps _exception_tb after result() used it? (The C Future: no.) */
  protected keepsExceptionTb(): boolean {
    return false;
  }

  protected scheduleCallbacks(): void {
    const callbacks = this.callbacks;
    // Stryker disable next-line ArrayDeclaration: equivalent, a done future never reads its list again (add_done_callback schedules at once, remove_done_callback finds no equal callback in it, gc.ts finds nothing a string could hold)
    this.callbacks = [];
    for (const cb of callbacks) this.loop.call_soon(cb, this);
  }

  /** `await future`: hand the future to the task and come back when it is done. */
  *__await__(): Coroutine {
    if (!this.done()) {
      this.asyncioFutureBlocking = true;
      yield this;
    }
    // A task resumes its coroutine only once the future it waits on is
    // done: the check fails only for a future yielded bare, by hand.
    // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent, unreachable by awaiting (the only way a scenario waits)
    if (!this.done()) throw RuntimeError("await wasn't used with future");
    return this.result();
  }

  // A future's repr appears only in the messages of misuse errors (a future
  // of another loop, a bare yield) that a scenario cannot cause.
  // Stryker disable BlockStatement,StringLiteral,MethodExpression: equivalent, no trace shows a future's repr
  repr(): string {
    return `<Future ${this.state.toLowerCase()}>`;
  }
  // Stryker restore BlockStatement,StringLiteral,MethodExpression
}

/**
 * asyncio.futures.future_add_to_awaited_by(fut, waiter) (3.14, gh-91048):
 * record that the task `waiter` awaits `fut`, in a set that `fut` holds
 * strongly, until future_discard_from_awaited_by takes it out. It does
 * nothing when either is not an asyncio Future (`waiter` None: with the
 * pure-Python Task, current_task() is None on 3.14).
 *
 * asyncio pairs the two calls everywhere, the discard in a done callback of
 * `fut` that holds `waiter` as well (a task's wake-up, gather's and
 * TaskGroup's done callbacks, shield's), so the set keeps nothing alive that
 * `fut` did not already keep; except in asyncio.wait, which removes its done
 * callbacks when it returns but leaves the entries of the futures still
 * pending: each of those then keeps the task that waited alive, for as long
 * as it lives itself (CPython 3.14.2, walked with gc.get_referrers: the task
 * <- set <- the future). What the done callbacks hold is new in 3.14 for
 * gather (its _done_callback's default argument cur_task) and shield (its
 * _clear_awaited_by_callback's cell): a pending child keeps the caller even
 * after the caller has finished. The reference records it for wait(),
 * gather() and shield(); a task's wake-up and a TaskGroup's callback held
 * the waiter before 3.14 already.
 */
export function future_add_to_awaited_by(fut: Future, waiter: Future | null): void {
  if (waiter === null || !fut.loop.profile.futureAwaitedBy) return;
  (fut.awaitedBy ??= new Set()).add(waiter);
}

/** asyncio.futures.future_discard_from_awaited_by(fut, waiter) (3.14). */
export function future_discard_from_awaited_by(fut: Future, waiter: Future | null): void {
  if (waiter !== null) fut.awaitedBy?.delete(waiter);
}
