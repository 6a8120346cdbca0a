/**
 * The event loop, on a virtual clock.
 *
 * One iteration (`runOnce`) does what BaseEventLoop._run_once does: drop
 * cancelled timers (lazily from the head of the heap, or by rebuilding the
 * heap when more than half of over a hundred timers are cancelled), "poll"
 * — here: jump the clock to the next deadline —, move every timer due within
 * the clock resolution to the ready queue, then run exactly the callbacks
 * that were ready when the iteration began. Callbacks scheduled meanwhile
 * wait for the next iteration.
 */
import { Deadlock, ExceptionHandlerContext, IterationLimit, MAX_LOOP_ITERATIONS, PyFuture } from "../../harness/engine/api";
import { Callback, Handle, TimerHandle } from "./handles";
import { heapify, heappop, heappush } from "./heapq";
import { PyBaseException, RuntimeError, isinstance, pyexc } from "./exceptions";
import type { Profile } from "./profile";
import { Future } from "./futures";
import type { Task } from "./tasks";

/** time.get_clock_info('monotonic').resolution on Linux. */
const CLOCK_RESOLUTION = 1e-9;
/** asyncio's cap on one selector wait (one day). */
const MAXIMUM_SELECT_TIMEOUT = 24 * 3600;
const MIN_SCHEDULED_TIMER_HANDLES = 100;
const MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5;

let runningLoop: EventLoop | null = null;

/**
 * The task whose step is running, whose frames hold what an asyncio
 * coroutine it runs keeps (gcrefs.ts inFrame): the loop's, not
 * current_task()'s, which on 3.14 does not see a pure-Python task (profile.ts,
 * pyTaskUnseenByCurrentTask) although its frames hold as much. Only called
 * inside a task.
 */
export function runningTask(): Task {
  return get_running_loop().currentTask!;
}

export function get_running_loop(): EventLoop {
  // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent for every scenario, whose steps all run inside the loop's run (in tasks and callbacks), where a loop is running
  if (runningLoop === null) throw RuntimeError("no running event loop");
  return runningLoop;
}

/**
 * A task factory: (loop, coro, name) and, on 3.14, eager_start when the
 * caller gave it (undefined: not given; null: eager_start=None).
 */
export type TaskFactory = (loop: EventLoop, coro: Generator, name: string | null, eagerStart?: boolean | null) => Task;

export class EventLoop {
  private now = 0;
  private iterations = 0;
  private stopping = false;
  private closed = false;
  /** Callbacks ready to run, in FIFO order. */
  protected ready: Handle[] = [];
  private scheduled: TimerHandle[] = [];
  private timerCancelledCount = 0;
  private exceptionHandler: ((ctx: ExceptionHandlerContext) => void) | null = null;
  /** The task whose step is running (asyncio's _current_tasks[loop]). */
  currentTask: Task | null = null;

  /**
   * The task whose step is running, for the interpreter's gc modelling
   * (its frames hold what the coroutine holds): currentTask, which on 3.14
   * current_task() does not report for a pure-Python Task (runningTask).
   */
  steppingTask(): Task | null {
    return this.currentTask;
  }
  /**
   * The exceptions being handled by the frames now under the running code
   * that the scenario's own coroutines do not see: the pure-Python Task's
   * `__wakeup(future)` runs the step inside `except BaseException as exc:
   * self.__step(exc)` (tasks.ts wakeup), so what is raised during that step
   * gets `exc` as its __context__ (futures.ts result). The innermost last.
   */
  readonly handledUnderSteps: PyBaseException[] = [];

  /** The innermost of handledUnderSteps, or null. */
  handledUnderStep(): PyBaseException | null {
    const handled = this.handledUnderSteps;
    return handled.length === 0 ? null : handled[handled.length - 1];
  }
  /** The factory installed by set_task_factory; null: loop.create_task makes a plain Task. */
  private customTaskFactory: TaskFactory | null = null;
  /** The default-name counter (process-wide in CPython; per run here, which is what normalised traces show). */
  private taskNameCounter = 0;
  /**
   * Creation numbers of the objects made by create_task / create_future:
   * they are the objects' hashes (see pyset.ts and the driver's pinned classes).
   */
  private hashCounter = 0;
  /**
   * The tasks all_tasks() looks at, as asyncio registers them: a task is
   * registered when it is scheduled (a WeakSet in CPython; a set is enough
   * here, as done tasks are filtered out); an eagerly started task is an
   * "eager task" during its first step, and becomes a registered task after
   * it only if that step did not finish it.
   */
  readonly scheduledTasks = new Set<Task>();
  readonly eagerTasks = new Set<Task>();
  /** Every task and future made by create_task / create_future, in creation order: what gc.ts may collect. */
  readonly gcObjects: Future[] = [];
  /** The batch runOnce is running and the position of the running handle: the rest is still in CPython's _ready. */
  // Stryker disable next-line ArrayDeclaration: equivalent, runOnce sets it before any handle runs, and only a running handle can read it
  runningBatch: Handle[] = [];
  runningBatchPos = 0;

  /** `defaultTaskFactory` makes the plain Task that loop.create_task makes when no factory is installed. */
  constructor(readonly profile: Profile, private readonly defaultTaskFactory: TaskFactory) {}

  time(): number {
    return this.now;
  }

  nextTaskName(): string {
    return `Task-${++this.taskNameCounter}`;
  }

  nextHash(): number {
    return ++this.hashCounter;
  }

  // ---- scheduling

  call_soon(callback: Callback, ...args: unknown[]): Handle {
    const handle = new Handle(callback, args, this);
    this.ready.push(handle);
    return handle;
  }

  call_at(when: number, callback: Callback, ...args: unknown[]): TimerHandle {
    const timer = new TimerHandle(when, callback, args, this);
    heappush(this.scheduled, timer);
    timer.scheduled = true;
    return timer;
  }

  call_later(delay: number, callback: Callback, ...args: unknown[]): TimerHandle {
    return this.call_at(this.time() + delay, callback, ...args);
  }

  timerHandleCancelled(handle: TimerHandle): void {
    if (handle.scheduled) this.timerCancelledCount++;
  }

  create_future(): Future {
    const fut = new Future(this);
    fut.pyHash = this.nextHash();
    this.gcObjects.push(fut);
    return fut;
  }

  /**
   * loop.create_task(coro, name=None). eagerStart is 3.14's eager_start
   * keyword (gh-128307): undefined when not given (before 3.14 giving it
   * is a TypeError), otherwise passed on to the factory or the Task.
   */
  create_task(coro: Generator, name: string | null = null, eagerStart?: boolean | null): Task {
    if (eagerStart !== undefined && !this.profile.createTaskEagerStart) {
      throw pyexc("TypeError", "BaseEventLoop.create_task() got an unexpected keyword argument 'eager_start'");
    }
    // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent, nothing makes a task on a closed loop (see close())
    if (this.closed) throw RuntimeError("Event loop is closed");
    const factory = this.customTaskFactory;
    if (factory === null) return this.defaultTaskFactory(this, coro, name, eagerStart);
    // 3.14 passes its keyword arguments on to the factory (gh-128308): an
    // eager task runs its first step under its name, and nothing is
    // renamed afterwards.
    if (this.profile.taskFactoryGetsName) return factory(this, coro, name, eagerStart);
    // Before, a factory is called without the name (asyncio's "legacy API",
    // used when no context is given) and the task is named afterwards: an
    // eager task runs its first step under its default name.
    const task = factory(this, coro, null);
    if (name !== null) task.set_name(name);
    else if (this.profile.factoryTaskRenamedEvenUnnamed) task.set_name("None"); // set_name(None): str(None)
    return task;
  }

  set_task_factory(factory: TaskFactory | null): void {
    this.customTaskFactory = factory;
  }

  // Stryker disable next-line all: not reachable from the scenario language (no step reads the factory); a hand-written mutant uses it
  get_task_factory(): TaskFactory | null {
    return this.customTaskFactory;
  }

  is_running(): boolean {
    return runningLoop === this;
  }

  // ---- the current task (asyncio's _enter_task / _leave_task / _swap_current_task)

  enterTask(task: Task): void {
    // asyncio's guard against running one task's step inside another's; the
    // reference runs steps only from the loop (an eager first step swaps).
    // Stryker disable next-line ConditionalExpression,BlockStatement,StringLiteral: equivalent, the reference never enters a task while another is current
    if (this.currentTask !== null) {
      // Stryker disable next-line all: equivalent, unreachable (see above)
      throw RuntimeError(`Cannot enter into task ${task.repr()} while another task ${this.currentTask.repr()} is being executed.`);
    }
    this.currentTask = task;
  }

  leaveTask(task: Task): void {
    // Stryker disable next-line ConditionalExpression,BlockStatement,StringLiteral,OptionalChaining,LogicalOperator: equivalent, the reference leaves only the task it entered
    if (this.currentTask !== task) {
      // Stryker disable next-line all: equivalent, unreachable (see above)
      throw RuntimeError(`Leaving task ${task.repr()} does not match the current task ${this.currentTask?.repr() ?? "None"}.`);
    }
    this.currentTask = null;
  }

  /** Tasks set aside by swapCurrentTask while an eager first step runs (their steps are still on the stack: gc.ts roots). */
  readonly swappedOutTasks: Task[] = [];
  /**
   * gc mode: what the frames of asyncio functions running now hold (pushed
   * by a function around a call that may run an eager task's first step:
   * as_completed's set-up). An eager task failing in that step keeps them
   * through its traceback (tasks.ts).
   */
  readonly callerFrames: unknown[][] = [];
  /**
   * Where the running step's callerFrames begin: an eager first step sets
   * it to the frames already there, which are under the calling task's
   * coroutine frame, not between that frame and the create_task the step
   * runs in (tasks.ts eagerStart).
   */
  callerBase = 0;

  /**
   * gc mode: what the frame of the running iteration (_run_once) holds once
   * it is gone: its `handle`, the handle it last ran, which it clears only
   * when it returns. A KeyboardInterrupt or SystemExit that leaves the loop
   * from a handle leaves that handle there (handles.ts). A fresh list each
   * iteration: the pure-Python Task's step frames are linked on to it
   * (f_back) once they return, so an exception whose traceback holds them
   * keeps it (tasks.ts stepFrames). Made when first asked for in an
   * iteration, so that an iteration nobody asks about allocates nothing.
   */
  get runOnceFrame(): unknown[] {
    return (this.iterationFrame ??= []);
  }

  private iterationFrame: unknown[] | null = null;

  /** Run fn with `frame` among callerFrames (a call that may run an eager task's first step). */
  inCallerFrame<T>(frame: unknown[], fn: () => T): T {
    this.callerFrames.push(frame);
    try {
      return fn();
    } finally {
      this.callerFrames.splice(this.callerFrames.lastIndexOf(frame), 1);
    }
  }

  /** Make task the current one, whatever was current; return what was. (An eager first step runs inside another task's step.) */
  swapCurrentTask(task: Task | null): Task | null {
    const previous = this.currentTask;
    this.currentTask = task;
    return previous;
  }

  // ---- errors

  set_exception_handler(handler: ((ctx: ExceptionHandlerContext) => void) | null): void {
    this.exceptionHandler = handler;
  }

  call_exception_handler(ctx: ExceptionHandlerContext): void {
    // Stryker disable next-line ConditionalExpression: equivalent for every scenario: the interpreter installs a handler before the main task exists and keeps one until the loop is closed
    if (this.exceptionHandler) this.exceptionHandler(ctx);
  }

  // ---- running

  run_until_complete(future: PyFuture): unknown {
    const fut = future as Future;
    const stopWhenDone = (f: Future) => {
      // KeyboardInterrupt / SystemExit are already escaping the loop.
      if (!f.cancelled()) {
        const exc = f.exception();
        if (isinstance(exc, "KeyboardInterrupt") || isinstance(exc, "SystemExit")) return;
      }
      this.stop();
    };
    fut.add_done_callback(stopWhenDone);
    try {
      this.run_forever();
    } finally {
      fut.remove_done_callback(stopWhenDone);
    }
    // Stryker disable next-line ConditionalExpression: equivalent for every scenario: only the done callback above stops the loop, so the future is done here; a run whose future is done counts as complete whatever this raises (the interpreter takes the main task's outcome from the task)
    if (!fut.done()) throw RuntimeError("Event loop stopped before Future completed.");
    return fut.result();
  }

  run_forever(): void {
    // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent, a scenario runs one loop, and never from inside it
    if (runningLoop !== null) throw RuntimeError("Cannot run the event loop while another loop is running");
    runningLoop = this;
    try {
      for (;;) {
        this.runOnce();
        if (this.stopping) break;
      }
    } finally {
      this.stopping = false;
      runningLoop = null;
    }
  }

  stop(): void {
    this.stopping = true;
  }

  // The interpreter closes the loop after it has taken the trace: nothing
  // runs on it, nor makes a task, afterwards.
  // Stryker disable BlockStatement,BooleanLiteral,ArrayDeclaration: equivalent, nothing uses a closed loop
  close(): void {
    this.closed = true;
    this.ready = [];
    this.scheduled = [];
  }
  // Stryker restore BlockStatement,BooleanLiteral,ArrayDeclaration

  /**
   * Take the callbacks this iteration runs: all that are ready now, in the
   * order they became ready. (A mutant overrides this to break the order.)
   */
  protected takeReadyBatch(): Handle[] {
    const batch = this.ready;
    this.ready = [];
    return batch;
  }

  /**
   * Whether the heap is rebuilt without its cancelled timers: only when it is
   * big and mostly cancelled, else cancelled timers leave it from its head.
   * (Mutants override this to move the thresholds.)
   */
  protected rebuildsTimerHeap(count: number, cancelled: number): boolean {
    return count > MIN_SCHEDULED_TIMER_HANDLES && cancelled / count > MIN_CANCELLED_TIMER_HANDLES_FRACTION;
  }

  private dropCancelledTimers(): void {
    const count = this.scheduled.length;
    if (this.rebuildsTimerHeap(count, this.timerCancelledCount)) {
      const kept: TimerHandle[] = [];
      for (const h of this.scheduled) {
        // Stryker disable next-line BooleanLiteral: equivalent, the flag of a cancelled timer is never read again (cancel() counts a timer only the first time)
        if (h.cancelled) h.scheduled = false;
        else kept.push(h);
      }
      heapify(kept);
      this.scheduled = kept;
      this.timerCancelledCount = 0;
    } else {
      while (this.scheduled.length > 0 && this.scheduled[0].cancelled) {
        this.timerCancelledCount--;
        // Stryker disable next-line BooleanLiteral: equivalent, as in the rebuild above: the timer popped here is cancelled, and its flag is never read again
        heappop(this.scheduled).scheduled = false;
      }
    }
  }

  /** The selector's wait, on a virtual clock: advance time instead of blocking. */
  private poll(timeout: number | null): void {
    // Stryker disable next-line ConditionalExpression,EqualityOperator,UpdateOperator: equivalent for the clauses: a guard against a runaway program, not asyncio behaviour; no clause's programs come near the limit
    if (++this.iterations > MAX_LOOP_ITERATIONS) throw new IterationLimit();
    if (timeout === null) throw new Deadlock();
    this.now += timeout;
  }

  runOnce(): void {
    this.iterationFrame = null;
    this.dropCancelledTimers();

    let timeout: number | null = null;
    // stop() set before run_forever would make it one zero-timeout iteration;
    // stop() is only called from a callback, and run_forever clears the flag.
    // Stryker disable next-line ConditionalExpression: equivalent, an iteration never starts with the loop stopping
    if (this.ready.length > 0 || this.stopping) timeout = 0;
    else if (this.scheduled.length > 0) {
      timeout = Math.min(Math.max(0, this.scheduled[0].when - this.time()), MAXIMUM_SELECT_TIMEOUT);
    }
    this.poll(timeout);

    const endTime = this.time() + CLOCK_RESOLUTION;
    while (this.scheduled.length > 0) {
      // Stryker disable next-line EqualityOperator: equivalent, deadlines are whole ticks and endTime never is one
      if (this.scheduled[0].when >= endTime) break;
      const handle = heappop(this.scheduled);
      handle.scheduled = false;
      this.ready.push(handle);
    }

    const batch = this.takeReadyBatch();
    let i = 0;
    this.runningBatch = batch;
    try {
      for (; i < batch.length; i++) {
        this.runningBatchPos = i;
        const handle = batch[i];
        if (!handle.cancelled) handle.run();
      }
    } finally {
      // A KeyboardInterrupt escaping mid-batch leaves the rest of the batch
      // queued, ahead of anything scheduled meanwhile, as asyncio's deque does.
      // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, after a whole batch the slice is empty (the test only saves building a copy)
      if (i < batch.length) this.ready = batch.slice(i + 1).concat(this.ready);
      // Stryker disable next-line ArrayDeclaration: equivalent, what gc.ts reads of it is the handles still to run; a string in their place is not an object it could keep alive
      this.runningBatch = [];
    }
  }
}
