/**
 * asyncio.timeout(delay) / asyncio.timeout_at(when): a deadline for a block.
 *
 *     async with asyncio.timeout(10):
 *         await something()
 *
 * A timeout does not interrupt anything by itself: when the deadline comes,
 * a timer cancels the task that entered the block, like any other cancel().
 * The CancelledError travels up through whatever the block was awaiting;
 * when it reaches the end of the block, the timeout recognises its own
 * cancellation and turns it into TimeoutError (raised `from` the
 * CancelledError; without a cause before 3.11.3).
 *
 * "Its own" is decided by counting: on entry the timeout notes how many
 * cancel requests the task already has (task.cancelling()); on the way out
 * of an expired block it withdraws its own request (task.uncancel()). If the
 * count is back to what it was, nobody else asked for a cancellation and the
 * CancelledError is the timeout's to convert. If someone else cancelled the
 * task too, the CancelledError propagates: an outer timeout, or the caller
 * who cancelled, must see it.
 *
 * Life cycle: CREATED, then ENTERED ("active") on __aenter__; the timer
 * moves it to EXPIRING; __aexit__ ends it as EXPIRED (it fired) or EXITED
 * ("finished", it did not). Only an entered, not yet fired timeout can be
 * rescheduled. A deadline already past when it is set does not fire at once:
 * the timer is a call_soon, so it fires at the next loop iteration.
 */
import type { Coroutine, PyTimeout } from "../../harness/engine/api";
import { PyBaseException, RuntimeError, TimeoutError, isinstance } from "./exceptions";
import { holding, keptByTraceback } from "./gcrefs";
import type { Handle } from "./handles";
import type { Profile } from "./profile";
import { get_running_loop } from "./loop";
import { Task, current_task } from "./tasks";

/** The states, named as asyncio's _State; the values appear in error messages. */
const State = {
  CREATED: "created",
  ENTERED: "active",
  EXPIRING: "expiring",
  EXPIRED: "expired",
  EXITED: "finished",
} as const;
type State = (typeof State)[keyof typeof State];

export class Timeout implements PyTimeout {
  private state: State = State.CREATED;
  /** The timer (call_at) or, for a deadline already past, the call_soon handle. */
  private timeoutHandler: Handle | null = null;
  /** The task that entered the block: the one the deadline cancels. */
  private task: Task | null = null;
  /** task.cancelling() on entry: cancel requests that are not ours. */
  private cancellingOnEntry = 0;

  /** `whenValue` is a loop time (virtual), or null for no deadline. */
  constructor(private whenValue: number | null) {}

  /** The current deadline. */
  when(): number | null {
    return this.whenValue;
  }

  /** Move the deadline (null: none). Only while the block runs and before expiry. */
  reschedule(when: number | null): void {
    if (this.state !== State.ENTERED) {
      if (this.state === State.CREATED) throw RuntimeError("Timeout has not been entered");
      throw RuntimeError(`Cannot change state of ${this.state} Timeout`);
    }
    this.whenValue = when;
    if (this.timeoutHandler !== null) this.timeoutHandler.cancel();
    if (when === null) {
      this.timeoutHandler = null;
      return;
    }
    const loop = get_running_loop();
    // A deadline that has already passed fires at the next iteration, not now:
    // the block keeps running until it next awaits.
    this.timeoutHandler = when <= loop.time() ? loop.call_soon(this.onTimeout) : loop.call_at(when, this.onTimeout);
  }

  /** Did the deadline fire (whether or not the block has ended)? */
  expired(): boolean {
    return this.state === State.EXPIRING || this.state === State.EXPIRED;
  }

  *__aenter__(): Coroutine<Timeout> {
    if (this.state !== State.CREATED) throw RuntimeError("Timeout has already been entered");
    const task = current_task();
    if (task === null) throw RuntimeError("Timeout should be used inside a task");
    this.state = State.ENTERED;
    this.task = task;
    this.cancellingOnEntry = task.cancelling();
    this.reschedule(this.whenValue);
    return this;
  }

  *__aexit__(exc: PyBaseException | null): Coroutine<boolean | undefined | null> {
    // CPython: assert self._state in (_State.ENTERED, _State.EXPIRING). `async with` calls
    // __aexit__ once, after __aenter__ succeeded, and only __aexit__ leaves those two states.
    // Stryker disable next-line ConditionalExpression,BlockStatement: equivalent, an assertion no program can break: the state is always ENTERED or EXPIRING here
    if (this.state !== State.ENTERED && this.state !== State.EXPIRING) {
      // Stryker disable next-line StringLiteral: equivalent, the message of that assertion (never raised)
      throw new Error(`aiospec reference: Timeout.__aexit__ in state ${this.state}`);
    }
    if (this.timeoutHandler !== null) {
      this.timeoutHandler.cancel();
      this.timeoutHandler = null;
    }
    if (this.state === State.ENTERED) {
      this.state = State.EXITED;
      return null;
    }
    this.state = State.EXPIRED;
    const task = this.task!;
    const profile = task.loop.profile;
    // Withdraw our cancel request first, whatever ends the block: it was
    // ours, and must not count against the task later. 3.11.2 (before
    // gh-102780) compares with 0, not with the requests the task had on
    // entry: inside a task already being cancelled it never converts.
    const others = profile.timeoutCountsFromEntry ? this.cancellingOnEntry : 0;
    if (task.uncancel() <= others && exc !== null) {
      // No cancel request but ours: the cancellation is the deadline's.
      if (isOurCancellation(exc, profile)) {
        const te = TimeoutError();
        // raise TimeoutError from exc (3.11.2, before gh-102780: a bare raise TimeoutError)
        if (profile.timeoutChainsCancelledError) te.cause = exc;
        te.context = exc; // raised while exc is being handled
        // Raised in __aexit__, whose frame holds self and exc_val (and
        // exc_tb): the TimeoutError keeps the CancelledError it replaces
        // even without a __cause__ (3.11.2: `diff reference cpython-3.11.2
        // --size large --seed 701`, a pending task kept through that
        // CancelledError's traceback).
        keptByTraceback(te, this, exc);
        throw te;
      }
      if (profile.timeoutInsertsTimeoutError) {
        // Something else escaped the expired block (e.g. an exception raised
        // while handling the CancelledError): it propagates, and a
        // TimeoutError is slipped into its context chain so a traceback still
        // tells that the deadline passed.
        insertTimeoutError(exc);
        if (isinstance(exc, "ExceptionGroup")) for (const sub of exc.exceptions ?? []) insertTimeoutError(sub);
      }
    }
    return null;
  }

  /** The deadline has come: cancel the task; the block ends with CancelledError. */
  /** What a Timeout holds (gc.ts): the task it would cancel and its timer. */
  gcReferents(): unknown[] {
    return [this.task, this.timeoutHandler];
  }

  private readonly onTimeout = holding((): void => {
    // CPython: assert self._state is _State.ENTERED. The timer is cancelled or replaced whenever
    // the state leaves ENTERED (here, by reschedule, in __aexit__), so it only ever fires there.
    // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent, an assertion no program can break (see above)
    if (this.state !== State.ENTERED) throw new Error(`aiospec reference: Timeout fired in state ${this.state}`);
    this.task!.cancel();
    this.state = State.EXPIRING;
    this.timeoutHandler = null;
  }, this);
}

/**
 * Is exc the CancelledError the timeout converts? 3.11 and 3.12 compare the
 * exception's type with CancelledError exactly; 3.13 accepts subclasses.
 */
function isOurCancellation(exc: PyBaseException, profile: Profile): boolean {
  if (profile.timeoutMatchesCancelledErrorSubclasses) return isinstance(exc, "CancelledError");
  return exc.type === "CancelledError";
}

/**
 * Walk exc's __context__ chain to the first CancelledError and put a
 * TimeoutError (itself caused by that CancelledError) just above it.
 * Only __context__ links change, so a trace (which records __cause__) does not.
 */
function insertTimeoutError(exc: PyBaseException): void {
  for (let e = exc; e.context !== null; e = e.context) {
    if (isinstance(e.context, "CancelledError")) {
      const te = TimeoutError();
      te.context = te.cause = e.context;
      e.context = te;
      return;
    }
  }
}

/** asyncio.timeout(delay): a deadline `delay` from now (null: none). */
export function timeout(delay: number | null): Timeout {
  const loop = get_running_loop();
  return new Timeout(delay !== null ? loop.time() + delay : null);
}

/** asyncio.timeout_at(when): a deadline at loop time `when` (null: none). */
export function timeout_at(when: number | null): Timeout {
  return new Timeout(when);
}
