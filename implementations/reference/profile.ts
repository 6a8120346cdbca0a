/**
 * Version profiles: what differs between the Python versions the reference
 * models. Every behaviour that changed between versions is a named flag here,
 * with the change that introduced it, so the differences read as a list.
 */

import type { PythonVersion } from "../../spec/scenario/versions";
import {
  SET_EXCEPTION_WRAPS_STOP_ITERATION, TASKGROUP_DONE_CHILD_FAST_PATH_REMOVED, TASKGROUP_EXIT_FORGETS_PARENT, TIMEOUT_COUNTS_FROM_ENTRY_AND_CHAINS,
  atLeast, hasChange, releaseIn,
} from "../../spec/scenario/versions";
import { MODELLED_RELEASES } from "./releases";

export type { PythonVersion } from "../../spec/scenario/versions";
/** The versions the reference models (an implementation may claim others: spec/scenario/versions.ts). */
// Stryker disable next-line ArrayDeclaration,StringLiteral: not equivalent, but out of Stryker's reach: the clause suite reads the list when it is imported, before Stryker switches any mutant on; changed by hand, the suite refuses its profiles at import and every test fails (checked 2026-12-06)
export const VERSIONS: readonly PythonVersion[] = ["3.11", "3.12", "3.13", "3.14"];
// Stryker disable next-line StringLiteral: equivalent for the clauses, this is the profile an id that names none gets (`--impl reference`); the clause suite names every profile
export const NEWEST: PythonVersion = "3.13";

/** Does the reference model `v`? */
// Stryker disable next-line BlockStatement: not equivalent, but out of Stryker's reach, as VERSIONS above: the suite calls it at import to check its profiles; emptied by hand, the suite refuses them and every test fails (checked 2026-12-06)
export function isReferenceVersion(v: string): v is PythonVersion {
  return (VERSIONS as readonly string[]).includes(v);
}

export interface Profile {
  version: PythonVersion;
  /**
   * The CPython release the profile models: by default the one the reference
   * was built and checked against for its minor version ("3.12.1";
   * releases.ts), or another release of that version asked for
   * (reference@3.13.2). Every behaviour that changed in a patch release is a
   * flag below that reads `hasChange(release, CHANGE)` (spec/scenario/versions.ts),
   * so the profile is that release's, and the clauses hold the reference to
   * it (spec/clauses/clause.ts releaseOf).
   */
  release: string;
  /**
   * Model asyncio.tasks._PyTask, the pure-Python Task, instead of the C Task
   * CPython uses by default. The two differ in wording: a pending
   * task's result() raises InvalidStateError("Result is not ready.") (the
   * Python Future's words) instead of "Result is not set." (the C Future's);
   * and in gc mode, in what the pure-Python Task's own frames (__wakeup,
   * __step, __eager_start) keep alive from a traceback (tasks.ts).
   */
  pyTask: boolean;
  /**
   * asyncio.create_task(coro, name=...) creates the task unnamed and renames
   * it afterwards, so a named task still takes a number from the default-name
   * counter (3.11, 3.12). 3.13 passes the name through to the loop.
   */
  namedCreateTaskTakesCounter: boolean;
  /**
   * gather() handles children that are already done right away, after
   * creating the outer future, instead of through done callbacks (3.12+,
   * gh-97696's fast paths): a gather of finished tasks is done before it is
   * awaited.
   */
  gatherEagerDoneChildren: boolean;
  /**
   * uncancel() down to zero withdraws a cancellation not yet delivered
   * (3.13, gh-116720).
   */
  uncancelClearsMustCancel: boolean;
  /**
   * loop.create_task with a task factory installed renames the factory's
   * task with task.set_name(name) even when name is None, so an unnamed task
   * ends up named "None" (3.13.0: base_events.py calls set_name
   * unconditionally once _set_task_name is gone; gh-130033, and later 3.13
   * releases pass the name to the factory instead, gh-128308).
   * Before, only a given name is set (tasks._set_task_name).
   */
  factoryTaskRenamedEvenUnnamed: boolean;
  /**
   * Future.set_exception(StopIteration()) stores a RuntimeError caused by it
   * (gh-112182: 3.13.0, and 3.12.6 on; the 3.12 profile's 3.12.1 predates it).
   * Before, it raises TypeError and the future stays pending.
   */
  setExceptionWrapsStopIteration: boolean;
  /**
   * TaskGroup.create_task(coro, name=...) creates the task unnamed and
   * renames it, so a named child takes a default-name number (3.11, 3.12);
   * 3.13 passes the name to loop.create_task (gh-112622).
   */
  taskGroupRenamesNewTask: boolean;
  /**
   * TaskGroup.create_task handles a task that is already done (an eager
   * task that finished) at once: not added to the group, no done callback
   * scheduled (3.12.0, gh-104144; removed by gh-128550 in 3.14.0, 3.13.2
   * and 3.12.9).
   */
  taskGroupDoneTaskFastPath: boolean;
  /**
   * TaskGroup.__aexit__ calls the parent's uncancel() (owed for the
   * cancel() it made when a child failed) after waiting for the children,
   * not before (3.13, gh-116720): a cancellation of the parent from outside
   * that arrives while the group waits is then still counted.
   */
  taskGroupUncancelsAfterWaiting: boolean;
  /**
   * When TaskGroup.__aexit__ raises its ExceptionGroup while the parent task
   * is being cancelled from outside (cancelling() > 0), it uncancels and
   * re-cancels the parent, so the outer cancellation is delivered again at
   * the parent's next await (3.13, gh-116720).
   */
  taskGroupRecancelsCancellingParent: boolean;
  /**
   * TaskGroup.__aexit__ recognises the body's CancelledError with
   * issubclass instead of `is` (3.13, gh-113848).
   */
  taskGroupMatchesCancelledErrorSubclasses: boolean;
  /**
   * TaskGroup.create_task on a group that is not entered, finished or
   * shutting down closes the coroutine before raising RuntimeError (3.13,
   * gh-115957); earlier versions leave it never awaited.
   */
  taskGroupClosesRejectedCoroutine: boolean;
  /**
   * wait_for(aw, timeout) is `async with timeout(timeout): return await aw`,
   * in the caller's own task (3.12+, gh-96764). Before, it wraps aw in a new
   * task and waits on a waiter future released by a timer or by aw's end.
   */
  waitForUsesTimeout: boolean;
  /**
   * An expired timeout() block left by an exception other than
   * CancelledError inserts a TimeoutError into that exception's __context__
   * chain, just above the CancelledError (3.13, gh-96037).
   */
  timeoutInsertsTimeoutError: boolean;
  /**
   * An expired timeout() block converts the CancelledError when the task's
   * cancel requests, its own withdrawn, are back to what they were when the
   * block was entered (`uncancel() <= self._cancelling`); before, only when
   * they are back to 0, so inside a task already being cancelled (a
   * CancelledError caught and not uncancelled) the deadline's CancelledError
   * leaves the block unconverted. gh-102780: 3.12.0, and 3.11.3 on (3.11.2
   * has neither this nor timeoutChainsCancelledError).
   */
  timeoutCountsFromEntry: boolean;
  /**
   * The TimeoutError of an expired block is raised `from` the CancelledError
   * it replaces (its __cause__); before, with no cause. gh-102780, the same
   * change as timeoutCountsFromEntry: 3.12.0, and 3.11.3 on.
   */
  timeoutChainsCancelledError: boolean;
  /**
   * An expired timeout() block converts subclasses of CancelledError too,
   * not only CancelledError itself (3.13, gh-113848).
   */
  timeoutMatchesCancelledErrorSubclasses: boolean;
  /**
   * as_completed() returns an _AsCompletedIterator, set up when it is
   * called, that also supports `async for` (yielding the finished tasks and
   * futures themselves) (3.13, gh-77714). Before, it is a generator that
   * sets up at the first next() and only supports plain iteration.
   */
  asCompletedIterator: boolean;
  /**
   * loop.create_task passes its keyword arguments (name, eager_start, ...)
   * on to an installed task factory, and asyncio.eager_task_factory hands
   * them to the Task it makes (3.14, gh-128308 and gh-128307). The task is
   * not renamed afterwards: an eager task runs its first step under its
   * given name, and an unnamed one keeps its default name. Before, the
   * factory is called without the name and the task renamed after its
   * first step (see factoryTaskRenamedEvenUnnamed).
   */
  taskFactoryGetsName: boolean;
  /**
   * create_task(coro, eager_start=True/False) (asyncio.create_task,
   * loop.create_task, TaskGroup.create_task) starts that one task eagerly,
   * or not, whatever the task factory (3.14, gh-128307).
   */
  createTaskEagerStart: boolean;
  /**
   * asyncio.shield: when the outer future is cancelled while the inner is
   * still running, a done callback is added to the inner that reports an
   * exception it ends with to the loop's exception handler ("<Type>
   * exception in shielded future"), instead of silently marking it
   * retrieved (3.14, gh-86802).
   */
  shieldReportsLateException: boolean;
  /**
   * TaskGroup.__aexit__ forgets, on its way out however it leaves, the
   * parent task, the errors and the KeyboardInterrupt / SystemExit it kept
   * (`finally: self._parent_task = None; self._errors = None;
   * self._base_error = None`; gh-124958: 3.14.0, 3.13.1 and 3.12.8; the 3.12
   * and 3.13 profiles model 3.12.1 and 3.13.0, which predate it, and
   * reference@3.13.2 has it). Before, a group that is still referenced (its
   * `async with ... as g` variable) keeps its parent task alive after the
   * block, however long that task has been finished.
   */
  taskGroupExitForgetsParent: boolean;
  /**
   * A future records the tasks awaiting it, in a set it holds strongly
   * (`_asyncio_awaited_by`, for asyncio.capture_call_stack; 3.14, gh-91048).
   * asyncio.wait leaves a task in the set of every future still pending
   * when it returns, which then keeps that task alive (futures.ts
   * future_add_to_awaited_by).
   */
  futureAwaitedBy: boolean;
  /**
   * Only with pyTask: asyncio.current_task() and asyncio.all_tasks() are
   * the C module's, which read the C Task's own bookkeeping (the running
   * task kept in the thread state, gh-129898; a per-thread list of tasks,
   * gh-128002), while the pure-Python Task records itself only in
   * tasks.py's _current_tasks / _scheduled_tasks / _eager_tasks -- which
   * 3.13 imported from the C module, shared, and 3.14 no longer does. So
   * with _PyTask, current_task() is None and all_tasks() is empty, and
   * TaskGroup and timeout() (which need the current task) raise
   * RuntimeError (3.14).
   */
  pyTaskUnseenByCurrentTask: boolean;
  /**
   * Only with pyTask, in gc mode: the frame of the pure-Python Task's
   * __step keeps the exception it threw into the coroutine (its `exc`
   * parameter) when the coroutine ends with another one. 3.12+: __step
   * passes `exc` on to __step_run_and_handle_result, whose `except ... as
   * exc` unbinds only its own name. In 3.11 __step runs the coroutine
   * itself, and its `except BaseException as exc` unbinds the parameter.
   */
  pyTaskStepKeepsThrownExc: boolean;
  /**
   * Only with pyTask, in gc mode: when the coroutine ends, its finished
   * frames link on to the step frames under them (f_back), so an exception
   * still alive with the coroutine's frames in its traceback (one the task
   * threw in and the coroutine caught) keeps what those step frames hold.
   * 3.12+; 3.11 sets a finished coroutine frame's `previous` to NULL before
   * clearing it, so no f_back is made (tasks.ts linkStackBelow).
   */
  pyTaskFinishedFramesLinkBelow: boolean;
  /**
   * gc mode, the C Task: a coroutine that ends with an exception has its
   * frame in that exception's traceback, and the frame, finished, is linked
   * on (f_back) to the Python frame that called the C step: Handle._run's,
   * and that to _run_once's, whose `handle` a KeyboardInterrupt leaves there
   * (loop.runOnceFrame; CPython 3.12.1 and 3.13.0, large seed 750). 3.12+,
   * as pyTaskFinishedFramesLinkBelow.
   */
  cTaskEndedFrameLinksToLoop: boolean;
}

/**
 * The profile of `version` at `release` (a release of that version, "3.13.2";
 * default: the one the reference models for it, MODELLED_RELEASES).
 */
export function profileFor(version: PythonVersion, pyTask = false, release: string = MODELLED_RELEASES[version]!): Profile {
  // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent, a guard: the harness refuses an id naming a version the reference does not model before it makes one (harness/targets/reference.ts)
  if (!isReferenceVersion(version)) throw new Error(`the reference does not model Python ${version}; it models ${VERSIONS.join(", ")}`);
  // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent, a guard: the harness refuses a malformed release or one of another version before it makes one (harness/targets/reference.ts parseReferenceSuffix)
  if (releaseIn(version, release) !== release) throw new Error(`${release} is not a CPython ${version} release (3.X.Y)`);
  const from = (min: PythonVersion): boolean => atLeast(version, min);
  return {
    version,
    release,
    pyTask,
    namedCreateTaskTakesCounter: !from("3.13"),
    gatherEagerDoneChildren: from("3.12"),
    uncancelClearsMustCancel: from("3.13"),
    // 3.13.0 only among the modelled versions: 3.14 hands the name to the factory.
    factoryTaskRenamedEvenUnnamed: from("3.13") && !from("3.14"),
    setExceptionWrapsStopIteration: hasChange(release, SET_EXCEPTION_WRAPS_STOP_ITERATION),
    taskGroupRenamesNewTask: !from("3.13"),
    // Removed again by gh-128550 (3.14.0; backported to 3.13.2 -- Pyodide
    // 0.29's CPython has it -- and 3.12.9; the 3.12 and 3.13 profiles model
    // 3.12.1 and 3.13.0, which predate it).
    taskGroupDoneTaskFastPath: from("3.12") && !hasChange(release, TASKGROUP_DONE_CHILD_FAST_PATH_REMOVED),
    taskGroupUncancelsAfterWaiting: from("3.13"),
    taskGroupRecancelsCancellingParent: from("3.13"),
    taskGroupMatchesCancelledErrorSubclasses: from("3.13"),
    taskGroupClosesRejectedCoroutine: from("3.13"),
    waitForUsesTimeout: from("3.12"),
    timeoutInsertsTimeoutError: from("3.13"),
    timeoutCountsFromEntry: hasChange(release, TIMEOUT_COUNTS_FROM_ENTRY_AND_CHAINS),
    timeoutChainsCancelledError: hasChange(release, TIMEOUT_COUNTS_FROM_ENTRY_AND_CHAINS),
    timeoutMatchesCancelledErrorSubclasses: from("3.13"),
    asCompletedIterator: from("3.13"),
    taskFactoryGetsName: from("3.14"),
    createTaskEagerStart: from("3.14"),
    shieldReportsLateException: from("3.14"),
    taskGroupExitForgetsParent: hasChange(release, TASKGROUP_EXIT_FORGETS_PARENT),
    futureAwaitedBy: from("3.14"),
    pyTaskUnseenByCurrentTask: pyTask && from("3.14"),
    pyTaskStepKeepsThrownExc: pyTask && from("3.12"),
    pyTaskFinishedFramesLinkBelow: pyTask && from("3.12"),
    cTaskEndedFrameLinksToLoop: !pyTask && from("3.12"),
  };
}
