/**
 * asyncio.TaskGroup: structured concurrency.
 *
 *     async with asyncio.TaskGroup() as group:
 *         group.create_task(work())
 *         ...
 *     # every task of the group is done here
 *
 * The group remembers the task that entered it (the parent). Leaving the
 * block waits for every child. When a child fails (an exception other than
 * CancelledError), the group aborts: it cancels the other children and the
 * parent too, so that the body stops at its next await; on the way out it
 * uncancels the parent (that cancellation was the group's own doing, not a
 * request from outside) and raises every failure together, in an
 * ExceptionGroup. KeyboardInterrupt and SystemExit are not grouped: the
 * first one is re-raised as it is.
 *
 * The children live in a Python set, and aborting cancels them in the
 * set's iteration order, which depends on their hashes: the order shows in
 * traces, so the set is a model of CPython's (pyset.ts).
 *
 * Versions (see profile.ts): 3.12 settles a child that is done as soon as
 * it is created (an eager task) on the spot; 3.13 names the task when it is
 * created instead of renaming it, closes the coroutine of a rejected
 * create_task, uncancels the parent only after the children are done, and
 * re-cancels a parent being cancelled from outside when it raises the group;
 * 3.14 drops 3.12's on-the-spot settling again (gh-128550): a child done at
 * creation joins the group and is settled by its done callback, like any.
 */
import type { Coroutine, PyTask, PyTaskGroup } from "../../harness/engine/api";
import { PyBaseException, RuntimeError, isinstance, pyexc, raisedWhileHandling } from "./exceptions";
import type { Future } from "./futures";
import { holding } from "./gcrefs";
import { EventLoop, get_running_loop } from "./loop";
import { PySet } from "./pyset";
import { Task, current_task } from "./tasks";

const GROUP_MESSAGE = "unhandled errors in a TaskGroup";

/** The exceptions a group never wraps: they end the program, not a task. (None is not one.) */
function isBaseError(exc: PyBaseException | null): exc is PyBaseException {
  return isinstance(exc, "KeyboardInterrupt") || isinstance(exc, "SystemExit");
}

/**
 * BaseExceptionGroup(message, excs): Python's constructor makes an
 * ExceptionGroup when every member is an Exception.
 */
function exceptionGroup(message: string, excs: PyBaseException[]): PyBaseException {
  const type = excs.every((e) => isinstance(e, "Exception")) ? "ExceptionGroup" : "BaseExceptionGroup";
  return new PyBaseException(type, [message], excs);
}

export class AsyncioTaskGroup implements PyTaskGroup {
  private entered = false;
  /** __aexit__ has begun: the group waits for its children. */
  private exiting = false;
  /** The children have been cancelled: no new ones are accepted. */
  private aborting = false;
  private loop: EventLoop | null = null;
  private parentTask: Task | null = null;
  /** The group cancelled its parent (because a child failed): it owes the parent an uncancel(). */
  private parentCancelRequested = false;
  /** Children not yet done. */
  private readonly tasks = new PySet<Task>();
  /** Children's failures (then the body's), in the order they happened; null once raised. */
  private errors: PyBaseException[] | null = [];
  /** The first KeyboardInterrupt / SystemExit, from a child or the body. */
  private baseError: PyBaseException | null = null;
  /** What __aexit__ waits on: set when the last child is done. */
  private onCompletedFut: Future | null = null;
  /** The done callback every child gets (one function object, as a bound method is in Python). */
  private readonly onTaskDone = holding((task: Future): void => this.taskDone(task as Task), this);

  /** What a TaskGroup holds (gc.ts): its parent task, its children, the future __aexit__ waits on, the errors. */
  gcReferents(): unknown[] {
    return [this.parentTask, [...this.tasks], this.onCompletedFut, this.errors, this.baseError];
  }

  *__aenter__(): Coroutine<this> {
    if (this.entered) throw RuntimeError(`TaskGroup ${this.repr()} has already been entered`);
    // Stryker disable next-line ConditionalExpression: equivalent, a scenario runs one loop, so setting it again sets the same loop
    if (this.loop === null) this.loop = get_running_loop();
    this.parentTask = current_task();
    if (this.parentTask === null) throw RuntimeError(`TaskGroup ${this.repr()} cannot determine the parent task`);
    this.entered = true;
    return this;
  }

  /**
   * Leave the block (exc: what the body raised, or null): wait for every
   * child, then raise what the group must raise. Returns nothing, so an
   * exception of the body that the group does not replace propagates.
   */
  *__aexit__(exc: PyBaseException | null): Coroutine<undefined> {
    try {
      return yield* this.aexit(exc);
    } finally {
      // 3.13.1+ (gh-124958): the group lets go of what it no longer needs,
      // so that a group still referenced after the block (`as g`) keeps
      // neither its parent task nor the exceptions alive.
      if (this.loop!.profile.taskGroupExitForgetsParent) {
        this.parentTask = null;
        this.errors = null;
        this.baseError = null;
      }
    }
  }

  private *aexit(exc: PyBaseException | null): Coroutine<undefined> {
    const loop = this.loop!;
    const parent = this.parentTask!;
    const profile = loop.profile;
    this.exiting = true;

    if (isBaseError(exc) && this.baseError === null) this.baseError = exc;

    const isCancellation = (e: PyBaseException): boolean =>
      profile.taskGroupMatchesCancelledErrorSubclasses ? isinstance(e, "CancelledError") : e.type === "CancelledError";

    // The body was cancelled: re-raise that, unless the group itself caused it.
    let propagateCancellationError: PyBaseException | null = exc !== null && isCancellation(exc) ? exc : null;
    const uncancelParent = (): void => {
      // The group cancelled the parent: take that request back. (CPython
      // also stops propagating the cancellation when this uncancel() leaves
      // none: `if self._parent_task.uncancel() == 0: propagate_cancellation_error
      // = None`. That never changes what the group raises: it cancels its
      // parent only for a child's failure, which is in the errors by then,
      // and the errors win over a cancellation below.)
      if (this.parentCancelRequested) parent.uncancel();
    };
    if (!profile.taskGroupUncancelsAfterWaiting) uncancelParent();

    // The body raised (or was cancelled): stop the children.
    if (exc !== null && !this.aborting) this.abort();

    // Wait for every child. The wait itself can be cancelled, even more than
    // once (the parent cancelled from outside): the first such cancellation
    // aborts the children, and the group waits on.
    while (this.tasks.size > 0) {
      // (CPython tests `_on_completed_fut is None` first; it always is here, reset below after every wait.)
      this.onCompletedFut = loop.create_future();
      try {
        yield* this.onCompletedFut.__await__();
      } catch (e) {
        // Stryker disable next-line ConditionalExpression: equivalent, the future is only ever given True or cancelled (the parent cancelled), so nothing but CancelledError comes out of awaiting it
        if (!isinstance(e, "CancelledError")) throw e;
        if (!this.aborting) {
          propagateCancellationError = e;
          this.abort();
        }
      }
      this.onCompletedFut = null;
    }

    // __aexit__ runs while the body's exception (exc) is being handled, so
    // what it raises from here on has exc as its __context__: the
    // ExceptionGroup's `from None` sets only __suppress_context__. That link
    // keeps exc, and the frames of its traceback, alive as long as the
    // raised exception lives (a wait_for(..., 0) the body was cancelled out
    // of keeps its inner task in its frame: gc mode sees it). Without one,
    // what the running step handles under the coroutine is (the pure-Python
    // Task steps it inside __wakeup's except block: a CancelledError thrown
    // in, which the body caught as wait_for's TimeoutError, keeps wait_for's
    // frame, and its inner task, through the group raised in the same
    // step; CPython 3.11.7, the driver walked with gc.get_referrers).
    const handling = exc ?? loop.handledUnderStep();
    if (this.baseError !== null) throw raisedWhileHandling(this.baseError, handling);

    if (profile.taskGroupUncancelsAfterWaiting) uncancelParent();

    const errors = this.errors!;
    // A cancellation propagates, unless there are failures: those win.
    if (propagateCancellationError !== null && errors.length === 0) throw raisedWhileHandling(propagateCancellationError, handling);

    if (exc !== null && !isCancellation(exc)) errors.push(exc);

    if (errors.length > 0) {
      if (profile.taskGroupRecancelsCancellingParent && parent.cancelling() > 0) {
        // The parent is being cancelled from outside as well: keep that
        // request, delivered again at the parent's next await.
        parent.uncancel();
        parent.cancel();
      }
      this.errors = null;
      // `raise ... from None`: no __cause__.
      throw raisedWhileHandling(exceptionGroup(GROUP_MESSAGE, errors), handling);
    }
    return undefined;
  }

  /**
   * group.create_task(coro, name=None): a child task. eagerStart: 3.14's
   * eager_start keyword, passed on to loop.create_task (undefined: not
   * given; before 3.14 giving it is a TypeError).
   */
  create_task(coro: Coroutine, name: string | null = null, eagerStart?: boolean | null): PyTask {
    const profile = (this.loop ?? get_running_loop()).profile;
    if (eagerStart !== undefined && !profile.createTaskEagerStart) {
      throw pyexc("TypeError", "TaskGroup.create_task() got an unexpected keyword argument 'eager_start'");
    }
    const reject = (why: string): never => {
      const error = RuntimeError(`TaskGroup ${this.repr()} ${why}`);
      if (profile.taskGroupClosesRejectedCoroutine) coro.return(undefined); // coro.close()
      throw error;
    };
    if (!this.entered) reject("has not been entered");
    if (this.exiting && this.tasks.size === 0) reject("is finished");
    if (this.aborting) reject("is shutting down");

    const loop = this.loop!;
    // This frame holds the group (self) while an eager child's first step
    // runs inside loop.create_task: a child failing there keeps it through
    // its traceback (tasks.ts), and so the group's parent task.
    const task = loop.inCallerFrame([this], (): Task => {
      if (!profile.taskGroupRenamesNewTask) return loop.create_task(coro, name, eagerStart);
      const t = loop.create_task(coro); // takes a default name (and its number) ...
      if (name !== null) t.set_name(name); // ... then is renamed
      return t;
    });

    if (profile.taskGroupDoneTaskFastPath && task.done()) {
      this.taskDone(task); // finished already (eagerly): never joins the group
    } else {
      this.tasks.add(task);
      task.add_done_callback(this.onTaskDone);
    }
    return task;
  }

  /** Cancel every child not yet done, in the set's order. */
  private abort(): void {
    this.aborting = true;
    // Stryker disable next-line ConditionalExpression: equivalent, cancel() on a done task returns False and changes nothing but its log-traceback flag, which the group's done callback (task.exception()) clears anyway
    for (const t of this.tasks) if (!t.done()) t.cancel();
  }

  /** A child is done: forget it, wake __aexit__ after the last one, and react to a failure. */
  private taskDone(task: Task): void {
    this.tasks.discard(task);

    if (this.onCompletedFut !== null && this.tasks.size === 0 && !this.onCompletedFut.done()) {
      // Stryker disable next-line BooleanLiteral: equivalent, __aexit__ awaits this future only to be woken; its result is never read
      this.onCompletedFut.set_result(true);
    }

    if (task.cancelled()) return;
    const exc = task.exception();
    if (exc === null) return;

    if (this.errors === null) {
      // (The group has raised already; Python fails on `None.append` here.)
      throw new PyBaseException("AttributeError", ["'NoneType' object has no attribute 'append'"]);
    }
    this.errors.push(exc);
    if (isBaseError(exc) && this.baseError === null) this.baseError = exc;

    const parent = this.parentTask!;
    if (parent.done()) {
      this.loop!.call_exception_handler({
        message: `Task ${task.repr()} has errored out but its parent task ${parent.repr()} is already completed`,
        exception: exc,
      });
      return;
    }

    if (!this.aborting && !this.parentCancelRequested) {
      // The first failure: stop the children, and the body too, by
      // cancelling the parent (uncancelled again in __aexit__).
      this.abort();
      this.parentCancelRequested = true;
      parent.cancel();
    }
  }

  /** Python's repr, e.g. <TaskGroup tasks=2 errors=1 cancelling>. */
  repr(): string {
    // What it says between the angle brackets never reaches a trace: every string recorded has each
    // <TaskGroup ...> replaced by <...> (harness/engine/interpreter.ts, normalizeMessage), as for tasks.
    // Stryker disable all: equivalent, the details are inside the angle brackets a trace erases
    const info = [""];
    if (this.tasks.size > 0) info.push(`tasks=${this.tasks.size}`);
    if (this.errors !== null && this.errors.length > 0) info.push(`errors=${this.errors.length}`);
    if (this.aborting) info.push("cancelling");
    else if (this.entered) info.push("entered");
    const details = info.join(" ");
    // Stryker restore all
    return `<TaskGroup${details}>`;
  }
}

/** asyncio.TaskGroup() */
export function TaskGroup(): PyTaskGroup {
  return new AsyncioTaskGroup();
}
