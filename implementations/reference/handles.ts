/**
 * Handles: a callback scheduled on the loop (call_soon) or at a time
 * (call_at / call_later). Cancelling a handle makes the loop skip it.
 */
import type { EventLoop } from "./loop";
import { isinstance, PyBaseException } from "./exceptions";
import { keptByTraceback } from "./gcrefs";

export type Callback = (...args: any[]) => void;

export class Handle {
  cancelled = false;
  constructor(
    protected callback: Callback | null,
    protected args: unknown[],
    readonly loop: EventLoop,
  ) {}

  /** Mark it cancelled and let go of the callback and its arguments (cancelling again changes nothing). */
  cancel(): void {
    this.cancelled = true;
    this.callback = null;
    // Stryker disable next-line ArrayDeclaration: equivalent, a cancelled handle never runs and gcReferents gives nothing once the callback is gone
    this.args = [];
  }

  /**
   * Run the callback. KeyboardInterrupt and SystemExit escape from the loop;
   * any other exception goes to the loop's exception handler and the loop
   * goes on.
   */
  run(): void {
    const callback = this.callback!; // the callback may cancel its own handle
    try {
      callback(...this.args);
    } catch (e) {
      if (isinstance(e, "KeyboardInterrupt") || isinstance(e, "SystemExit")) {
        // It leaves through Handle._run's frame and _run_once's, whose
        // `self` and `handle` are this handle: its traceback keeps the
        // handle, and so its callback and arguments (a task's wake-up holds
        // the future that woke it), alive.
        keptByTraceback(e, this);
        this.loop.runOnceFrame.push(this);
        throw e;
      }
      // Stryker disable next-line ConditionalExpression: equivalent, a callback raises only Python exceptions (anything else is an interpreter bug)
      if (!(e instanceof PyBaseException)) throw e;
      // (CPython names the handle after "Exception in callback"; traces keep only these words.)
      this.loop.call_exception_handler({ message: `Exception in callback ${callback.name}`, exception: e });
    }
  }

  /** What this handle holds strongly, for gc.ts: its callback and arguments (nothing once cancelled: cancel() let go of both). */
  gcReferents(): unknown[] {
    return [this.callback, ...this.args];
  }
}

export class TimerHandle extends Handle {
  /** True while the handle sits in the loop's timer heap. */
  // Stryker disable next-line BooleanLiteral: equivalent, the loop makes a TimerHandle only in call_at, which pushes it on the heap and sets scheduled = true at once, before anything can read it
  scheduled = false;
  constructor(readonly when: number, callback: Callback, args: unknown[], loop: EventLoop) {
    super(callback, args, loop);
  }

  /** Timers are ordered by deadline alone, as TimerHandle.__lt__ does. */
  lt(other: TimerHandle): boolean {
    return this.when < other.when;
  }

  cancel(): void {
    if (!this.cancelled) this.loop.timerHandleCancelled(this);
    super.cancel();
  }
}
