/**
 * asyncio.Future and asyncio.Task.
 *
 * Written from the documentation of asyncio's Future and Task
 * (https://docs.python.org/3/library/asyncio-future.html,
 * https://docs.python.org/3/library/asyncio-task.html#task-object),
 * Python 3.12 behaviour.
 *
 * Coroutines are generators: a coroutine waits for a future by yielding it
 * (`yield* fut.__await__()`), and gives up the loop for one iteration by
 * yielding null (`await asyncio.sleep(0)`). A Task drives its coroutine with
 * next() / throw(), as CPython's Task drives one with send() / throw().
 */
import type { Coroutine, DoneCallback, PyFuture, PyTask } from "aiospec/api";
import { PyBaseException, isinstance, pyexc } from "aiospec/pyexc";
import type { EventLoop } from "./loop";

type State = "PENDING" | "CANCELLED" | "FINISHED";

export class Future implements PyFuture {
  protected state: State = "PENDING";
  private value: unknown = null;
  private error: PyBaseException | null = null;
  private callbacks: DoneCallback[] = [];
  /** The message cancel() was given, for the CancelledError that result() raises. */
  protected cancelMessage: string | null = null;
  /** A CancelledError the coroutine raised itself: result() re-raises it once. */
  protected cancelledError: PyBaseException | null = null;
  /** Set while a Task is about to wait for this future (Python's _asyncio_future_blocking). */
  blocking = false;

  constructor(readonly loop: EventLoop) {}

  done(): boolean {
    return this.state !== "PENDING";
  }

  cancelled(): boolean {
    return this.state === "CANCELLED";
  }

  result(): unknown {
    if (this.state === "CANCELLED") throw this.makeCancelledError();
    if (this.state === "PENDING") throw pyexc("InvalidStateError", "Result is not set.");
    if (this.error !== null) throw this.error;
    return this.value;
  }

  exception(): PyBaseException | null {
    if (this.state === "CANCELLED") throw this.makeCancelledError();
    if (this.state === "PENDING") throw pyexc("InvalidStateError", "Exception is not set.");
    return this.error;
  }

  cancel(msg: string | null = null): boolean {
    if (this.state !== "PENDING") return false;
    this.state = "CANCELLED";
    this.cancelMessage = msg;
    this.scheduleCallbacks();
    return true;
  }

  set_result(value: unknown): void {
    if (this.state !== "PENDING") throw pyexc("InvalidStateError", "invalid state");
    this.value = value;
    this.state = "FINISHED";
    this.scheduleCallbacks();
  }

  set_exception(exc: PyBaseException): void {
    if (this.state !== "PENDING") throw pyexc("InvalidStateError", "invalid state");
    // A StopIteration raised into a coroutine would read as its return, so
    // Python 3.12 refuses to store one (3.13 stores a RuntimeError instead).
    if (isinstance(exc, "StopIteration")) {
      throw pyexc("TypeError", "StopIteration interacts badly with generators and cannot be raised into a Future");
    }
    this.error = exc;
    this.state = "FINISHED";
    this.scheduleCallbacks();
  }

  /** A callback added to a done future is scheduled at once, with call_soon. */
  add_done_callback(fn: DoneCallback): void {
    if (this.done()) this.loop.call_soon(() => fn(this));
    else this.callbacks.push(fn);
  }

  remove_done_callback(fn: DoneCallback): number {
    const kept = this.callbacks.filter((f) => f !== fn);
    const removed = this.callbacks.length - kept.length;
    this.callbacks = kept;
    return removed;
  }

  /** `await fut`: suspend the awaiting task until the future is done, then give its result. */
  *__await__(): Coroutine {
    if (!this.done()) {
      this.blocking = true;
      yield this;
    }
    if (!this.done()) throw pyexc("RuntimeError", "await wasn't used with future");
    return this.result();
  }

  /** The CancelledError that result() raises: the coroutine's own one (once), else a new one. */
  makeCancelledError(): PyBaseException {
    const saved = this.cancelledError;
    this.cancelledError = null;
    if (saved !== null) return saved;
    return this.cancelMessage === null ? pyexc("CancelledError") : pyexc("CancelledError", this.cancelMessage);
  }

  /** The message cancel() recorded (null: none). */
  get cancel_message(): string | null {
    return this.cancelMessage;
  }

  /** Done callbacks run in the order they were added, each in its own loop callback. */
  private scheduleCallbacks(): void {
    const callbacks = this.callbacks;
    this.callbacks = [];
    for (const fn of callbacks) this.loop.call_soon(() => fn(this));
  }

  toString(): string {
    return `<Future ${this.state.toLowerCase()}>`;
  }
}

export class Task extends Future implements PyTask {
  private name: string;
  private cancelRequests = 0;
  /** cancel() was called while the task was not waiting: throw CancelledError at the next step. */
  private mustCancel = false;
  /** The future the coroutine is waiting for. */
  private waitingOn: Future | null = null;

  constructor(loop: EventLoop, private readonly coro: Coroutine, name: string | null) {
    super(loop);
    // Every new task takes a number, named or not (CPython 3.12's counter).
    const defaultName = loop.nextTaskName();
    this.name = name ?? defaultName;
    // The first step runs in a later loop iteration, never inside create_task.
    loop.call_soon(() => this.step(null));
    loop.tasks.add(this);
  }

  get_name(): string {
    return this.name;
  }

  set_name(name: string): void {
    this.name = String(name);
  }

  cancelling(): number {
    return this.cancelRequests;
  }

  uncancel(): number {
    if (this.cancelRequests > 0) this.cancelRequests--;
    return this.cancelRequests;
  }

  set_result(): void {
    throw pyexc("RuntimeError", "Task does not support set_result operation");
  }

  set_exception(): void {
    throw pyexc("RuntimeError", "Task does not support set_exception operation");
  }

  /**
   * Request cancellation: the future the task waits for is cancelled (which
   * wakes the task with CancelledError), or, when there is none, the next
   * step throws CancelledError into the coroutine.
   */
  cancel(msg: string | null = null): boolean {
    if (this.done()) return false;
    this.cancelRequests++;
    if (this.waitingOn !== null && this.waitingOn.cancel(msg)) return true;
    this.mustCancel = true;
    this.cancelMessage = msg;
    return true;
  }

  /** Run the coroutine until it yields, returns or raises. */
  private step(exc: PyBaseException | null): void {
    if (this.mustCancel) {
      if (!isinstance(exc, "CancelledError")) exc = this.makeCancelledError();
      this.mustCancel = false;
    }
    this.waitingOn = null;
    this.loop.enterTask(this);
    try {
      this.advance(exc);
    } finally {
      this.loop.leaveTask(this);
    }
  }

  private advance(exc: PyBaseException | null): void {
    let r: IteratorResult<unknown, unknown>;
    try {
      r = exc === null ? this.coro.next() : this.coro.throw(exc);
    } catch (e) {
      // Anything that is not a Python exception is a bug: let it through to the harness.
      if (!(e instanceof PyBaseException)) throw e;
      this.finishWithException(e);
      return;
    }
    if (r.done) this.finishWithResult(r.value);
    else this.handleYield(r.value);
  }

  private finishWithResult(value: unknown): void {
    if (this.mustCancel) {
      // cancel() came while the coroutine ran its last step: the task ends cancelled.
      this.mustCancel = false;
      super.cancel(this.cancelMessage);
    } else {
      super.set_result(value);
    }
  }

  private finishWithException(e: PyBaseException): void {
    if (isinstance(e, "CancelledError")) {
      this.cancelledError = e; // result() re-raises this very exception
      super.cancel();
    } else {
      super.set_exception(e);
      // KeyboardInterrupt and SystemExit stop the event loop too.
      if (isinstance(e, "KeyboardInterrupt") || isinstance(e, "SystemExit")) throw e;
    }
  }

  /** The coroutine yielded: null gives up one iteration; a future is waited for. */
  private handleYield(yielded: unknown): void {
    if (yielded === null || yielded === undefined) {
      this.loop.call_soon(() => this.step(null));
      return;
    }
    let problem: string;
    if (!(yielded instanceof Future)) problem = `Task got bad yield: ${String(yielded)}`;
    else if (yielded.loop !== this.loop) problem = `Task ${this} got Future ${yielded} attached to a different loop`;
    else if (!yielded.blocking) problem = `yield was used instead of yield from in task ${this} with ${yielded}`;
    else if (yielded === this) problem = `Task cannot await on itself: ${this}`;
    else {
      yielded.blocking = false;
      yielded.add_done_callback(this.wakeup);
      this.waitingOn = yielded;
      if (this.mustCancel && yielded.cancel(this.cancelMessage)) this.mustCancel = false;
      return;
    }
    const error = pyexc("RuntimeError", problem);
    this.loop.call_soon(() => this.step(error));
  }

  /** The awaited future is done: resume with its result, or throw its exception in. */
  private readonly wakeup = (fut: PyFuture): void => {
    try {
      fut.result();
    } catch (e) {
      if (!(e instanceof PyBaseException)) throw e;
      this.step(e);
      return;
    }
    this.step(null);
  };

  toString(): string {
    return `<Task ${this.state.toLowerCase()} name='${this.name}'>`;
  }
}
