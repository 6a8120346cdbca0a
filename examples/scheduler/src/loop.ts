/**
 * The event loop, on a virtual clock.
 *
 * Written from the documentation of asyncio's event loop
 * (https://docs.python.org/3/library/asyncio-eventloop.html), Python 3.12
 * behaviour. Each iteration of the loop:
 *
 *   1. drops cancelled timers from the front of the timer heap;
 *   2. waits for I/O. There is none here, so "waiting" means moving the
 *      virtual clock to the earliest timer's deadline — or, when nothing is
 *      ready and no timer is scheduled, declaring a deadlock;
 *   3. moves every timer that is due onto the ready queue;
 *   4. runs the callbacks that were ready when the iteration began (FIFO);
 *      callbacks they schedule run in the next iteration.
 */
import { Deadlock, IterationLimit, MAX_LOOP_ITERATIONS } from "aiospec/api";
import type { Coroutine, ExceptionHandlerContext, PyEventLoop, PyFuture, PyHandle } from "aiospec/api";
import { PyBaseException, isinstance, pyexc } from "aiospec/pyexc";
import { Future, Task } from "./futures";
import { heapify, heappop, heappush } from "./heap";

/** A callback scheduled with call_soon. */
export class Handle implements PyHandle {
  cancelled = false;

  constructor(readonly callback: () => void) {}

  cancel(): void {
    this.cancelled = true;
  }
}

/** A callback scheduled with call_later / call_at. */
export class TimerHandle extends Handle {
  /** Still in the loop's timer heap. */
  scheduled = true;

  constructor(readonly when: number, callback: () => void, private readonly loop: EventLoop) {
    super(callback);
  }

  cancel(): void {
    if (!this.cancelled && this.scheduled) this.loop.timerCancelled();
    super.cancel();
  }
}

/** Timers are ordered by deadline only (ties: see heap.ts). */
const earlier = (a: TimerHandle, b: TimerHandle): boolean => a.when < b.when;

/** Like asyncio's: the heap is cleaned when over half of more than 100 timers are cancelled. */
const MIN_SCHEDULED_TIMERS_TO_CLEAN = 100;
/** A monotonic clock's resolution: timers due within it of now count as due. */
const CLOCK_RESOLUTION = 1e-9;
/** asyncio waits at most a day for I/O. */
const MAXIMUM_SELECT_TIMEOUT = 24 * 3600;

/** The loop that is running (asyncio.get_running_loop()). */
let runningLoop: EventLoop | null = null;

export function getRunningLoop(): EventLoop {
  if (runningLoop === null) throw pyexc("RuntimeError", "no running event loop");
  return runningLoop;
}

export class EventLoop implements PyEventLoop {
  private now = 0;
  private ready: Handle[] = [];
  private timers: TimerHandle[] = [];
  private cancelledTimers = 0;
  private stopping = false;
  private iterations = 0;
  private taskCounter = 0;
  private exceptionHandler: ((ctx: ExceptionHandlerContext) => void) | null = null;
  /** Every task made on this loop (all_tasks() keeps the pending ones). */
  readonly tasks = new Set<Task>();
  /** The task whose step is running (current_task()). */
  currentTask: Task | null = null;

  time(): number {
    return this.now;
  }

  create_future(): Future {
    return new Future(this);
  }

  create_task(coro: Coroutine, name: string | null = null): Task {
    return new Task(this, coro, name);
  }

  nextTaskName(): string {
    return `Task-${++this.taskCounter}`;
  }

  call_soon(callback: () => void): Handle {
    const handle = new Handle(callback);
    this.ready.push(handle);
    return handle;
  }

  call_later(delay: number, callback: () => void): TimerHandle {
    return this.call_at(this.now + delay, callback);
  }

  call_at(when: number, callback: () => void): TimerHandle {
    const timer = new TimerHandle(when, callback, this);
    heappush(this.timers, timer, earlier);
    return timer;
  }

  timerCancelled(): void {
    this.cancelledTimers++;
  }

  enterTask(task: Task): void {
    this.currentTask = task;
  }

  leaveTask(task: Task): void {
    if (this.currentTask === task) this.currentTask = null;
  }

  set_exception_handler(handler: (ctx: ExceptionHandlerContext) => void): void {
    this.exceptionHandler = handler;
  }

  call_exception_handler(ctx: ExceptionHandlerContext): void {
    if (this.exceptionHandler !== null) this.exceptionHandler(ctx);
    else console.error(ctx.message, ctx.exception ?? "");
  }

  close(): void {
    this.ready = [];
    this.timers = [];
  }

  /** Run until fut is done; give its result or raise its exception. */
  run_until_complete(fut: Future): unknown {
    // The loop stops after the iteration in which fut is done.
    const stop = (f: PyFuture): void => {
      const interrupted = !f.cancelled() && (isinstance(f.exception(), "KeyboardInterrupt") || isinstance(f.exception(), "SystemExit"));
      if (!interrupted) this.stopping = true; // those already stop the loop by propagating
    };
    fut.add_done_callback(stop);
    try {
      this.runForever();
    } finally {
      fut.remove_done_callback(stop);
    }
    if (!fut.done()) throw pyexc("RuntimeError", "Event loop stopped before Future completed.");
    return fut.result();
  }

  private runForever(): void {
    const previous = runningLoop;
    runningLoop = this;
    try {
      do this.runOnce();
      while (!this.stopping);
    } finally {
      this.stopping = false;
      runningLoop = previous;
    }
  }

  /** One iteration of the loop. */
  private runOnce(): void {
    this.dropCancelledTimers();
    this.waitForNextEvent();
    while (this.timers.length > 0 && this.timers[0].when < this.now + CLOCK_RESOLUTION) {
      const timer = heappop(this.timers, earlier);
      timer.scheduled = false;
      this.ready.push(timer);
    }
    // Only what was ready at the start: callbacks scheduled now wait for the next iteration.
    const count = this.ready.length;
    for (let i = 0; i < count; i++) {
      const handle = this.ready.shift()!;
      if (!handle.cancelled) this.runHandle(handle);
    }
  }

  private dropCancelledTimers(): void {
    const total = this.timers.length;
    if (total > MIN_SCHEDULED_TIMERS_TO_CLEAN && this.cancelledTimers / total > 0.5) {
      for (const t of this.timers) if (t.cancelled) t.scheduled = false;
      this.timers = this.timers.filter((t) => !t.cancelled);
      heapify(this.timers, earlier);
      this.cancelledTimers = 0;
      return;
    }
    while (this.timers.length > 0 && this.timers[0].cancelled) {
      this.cancelledTimers--;
      heappop(this.timers, earlier).scheduled = false;
    }
  }

  /** Where a real loop blocks in select(): advance the clock, or detect a deadlock. */
  private waitForNextEvent(): void {
    if (++this.iterations > MAX_LOOP_ITERATIONS) throw new IterationLimit();
    if (this.ready.length > 0 || this.stopping) return;
    if (this.timers.length === 0) throw new Deadlock(); // nothing could ever wake us
    const timeout = Math.min(Math.max(0, this.timers[0].when - this.now), MAXIMUM_SELECT_TIMEOUT);
    if (timeout > 0) this.now += timeout;
  }

  /** Errors in callbacks go to the exception handler; KeyboardInterrupt and SystemExit stop the loop. */
  private runHandle(handle: Handle): void {
    try {
      handle.callback();
    } catch (e) {
      if (!(e instanceof PyBaseException)) throw e;
      if (isinstance(e, "KeyboardInterrupt") || isinstance(e, "SystemExit")) throw e;
      this.call_exception_handler({ message: "Exception in callback", exception: e });
    }
  }
}
