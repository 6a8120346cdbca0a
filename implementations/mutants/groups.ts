/**
 * Mutants for the clauses of "Task Groups" and "Timeouts" (spec/clauses/taskgroup.ts,
 * spec/clauses/timeouts.ts).
 *
 * A mutant is the reference with one behaviour broken: replace one function
 * of the implementation object (`{ ...makeReference(v), TaskGroup: ... }`), or
 * subclass a reference class and install it (loopClass, task factories).
 * Reference files are never edited for a mutant.
 *
 * - TaskGroup mutants subclass the reference's AsyncioTaskGroup and override
 *   one method. The methods they override (abort, taskDone) and the state
 *   they read are private in the reference's TypeScript, so the subclass
 *   extends a typed view of the class (`GroupInternals`): the same class at
 *   run time, with its internals named.
 * - Two mutants swap the version behaviour of TaskGroup's cancellation
 *   bookkeeping (gh-116720) by running the reference on a loop whose profile
 *   has those two flags flipped.
 * - Timeout mutants replace asyncio.timeout / timeout_at with MutantTimeout,
 *   a transcription of the reference's Timeout (implementations/reference/
 *   timeouts.ts, through public task methods only) in which one flag breaks
 *   one behaviour.
 */
import type { AsyncioImplementation, Coroutine, PyTask, PyTaskGroup, PyTimeout } from "../../harness/engine/api";
import { EventLoop, makeReference } from "../reference";
import type { Profile, PythonVersion } from "../reference";
import { PyBaseException, RuntimeError, TimeoutError, isinstance } from "../reference/exceptions";
import type { Handle } from "../reference/handles";
import type { TaskFactory } from "../reference/loop";
import { get_running_loop } from "../reference/loop";
import type { PySet } from "../reference/pyset";
import { AsyncioTaskGroup } from "../reference/taskgroups";
import { Task as ReferenceTask, current_task } from "../reference/tasks";
import type { Task } from "../reference/tasks";
import type { Future } from "../reference/futures";
import type { Mutant } from "./mutant";

const GROUP_MESSAGE = "unhandled errors in a TaskGroup";

// ---------------------------------------------------------------- TaskGroup

/** The reference's AsyncioTaskGroup with the internals the mutants touch named. */
interface GroupInternals extends PyTaskGroup {
  entered: boolean;
  exiting: boolean;
  aborting: boolean;
  parentCancelRequested: boolean;
  parentTask: Task | null;
  tasks: PySet<Task>;
  errors: PyBaseException[] | null;
  baseError: PyBaseException | null;
  /** Cancel every child not yet done (sets `aborting`). */
  abort(): void;
  /** A child's done callback. */
  taskDone(task: Task): void;
  repr(): string;
}
const ReferenceGroup = AsyncioTaskGroup as unknown as new () => GroupInternals;

/** Is this child's end the group's first failure (what makes it cancel everything)? */
function isFirstFailure(g: GroupInternals, task: Task): boolean {
  return (
    !task.cancelled() && task.exception() !== null && g.errors !== null &&
    g.parentTask !== null && !g.parentTask.done() && !g.aborting && !g.parentCancelRequested
  );
}

function withGroup(v: PythonVersion, name: string, make: () => PyTaskGroup): AsyncioImplementation {
  return { ...makeReference(v), id: `mutant:${name}@${v}`, TaskGroup: make };
}

/** Leaving the block does not wait for the tasks when the body ended normally. */
class NoWaitGroup extends ReferenceGroup {
  *__aexit__(exc: PyBaseException | null): Coroutine<boolean | undefined | null> {
    if (exc === null) {
      this.exiting = true;
      return undefined;
    }
    return yield* super.__aexit__(exc);
  }
}

/** A child's failure cancels the body but not the other children. */
class NoCancelSiblingsGroup extends ReferenceGroup {
  private inTaskDone = false;
  taskDone(task: Task): void {
    this.inTaskDone = true;
    try {
      super.taskDone(task);
    } finally {
      this.inTaskDone = false;
    }
  }
  abort(): void {
    if (this.inTaskDone) this.aborting = true;
    else super.abort();
  }
}

/** Only a child's failure cancels the children: not the body's exception, nor a cancellation of the parent. */
class OnlyFailureAbortsGroup extends ReferenceGroup {
  private inTaskDone = false;
  taskDone(task: Task): void {
    this.inTaskDone = true;
    try {
      super.taskDone(task);
    } finally {
      this.inTaskDone = false;
    }
  }
  abort(): void {
    if (this.inTaskDone) super.abort();
    else this.aborting = true;
  }
}

/** A child's failure cancels the other children but not the task running the body. */
class NoCancelBodyGroup extends ReferenceGroup {
  taskDone(task: Task): void {
    if (isFirstFailure(this, task)) {
      // Abort as the reference would, but mark the parent as handled so that
      // the reference's taskDone does not cancel it.
      this.abort();
      this.parentCancelRequested = true;
    }
    super.taskDone(task);
  }
}

/** The group raises its first error as it is instead of an ExceptionGroup. */
class FirstErrorBareGroup extends ReferenceGroup {
  *__aexit__(exc: PyBaseException | null): Coroutine<boolean | undefined | null> {
    try {
      return yield* super.__aexit__(exc);
    } catch (e) {
      if (e instanceof PyBaseException && e.args[0] === GROUP_MESSAGE && e.exceptions && e.exceptions.length > 0) {
        throw e.exceptions[0];
      }
      throw e;
    }
  }
}

/** KeyboardInterrupt and SystemExit come out wrapped in a BaseExceptionGroup. */
class GroupsBaseErrorGroup extends ReferenceGroup {
  *__aexit__(exc: PyBaseException | null): Coroutine<boolean | undefined | null> {
    try {
      return yield* super.__aexit__(exc);
    } catch (e) {
      if (isinstance(e, "KeyboardInterrupt") || isinstance(e, "SystemExit")) {
        throw new PyBaseException("BaseExceptionGroup", [GROUP_MESSAGE], [e]);
      }
      throw e;
    }
  }
}

/** create_task on a group that is not entered, finished or shutting down makes a plain task. */
class NeverRefusesGroup extends ReferenceGroup {
  create_task(coro: Coroutine, name: string | null = null): PyTask {
    const inactive = !this.entered || (this.exiting && this.tasks.size === 0) || this.aborting;
    if (inactive) return get_running_loop().create_task(coro, name);
    return super.create_task(coro, name);
  }
}

/** create_task is refused as soon as the block's end has begun, even while the group waits for its tasks. */
class ClosedAtExitGroup extends ReferenceGroup {
  create_task(coro: Coroutine, name: string | null = null): PyTask {
    if (this.exiting) throw RuntimeError(`TaskGroup ${this.repr()} is finished`);
    return super.create_task(coro, name);
  }
}

/** The group cancels its tasks in creation order, not in its set's order. */
class CreationOrderGroup extends ReferenceGroup {
  abort(): void {
    this.aborting = true;
    const children = [...this.tasks].sort((a, b) => (a.pyHash ?? 0) - (b.pyHash ?? 0));
    for (const t of children) if (!t.done()) t.cancel();
  }
}

/** A child that ends cancelled counts as the group's failure: the group cancels the others and the body. */
class CancelledChildAbortsGroup extends ReferenceGroup {
  taskDone(task: Task): void {
    const parent = this.parentTask;
    const first = task.cancelled() && parent !== null && !parent.done() && !this.aborting && !this.parentCancelRequested;
    super.taskDone(task);
    if (first) {
      this.abort();
      this.parentCancelRequested = true;
      parent!.cancel();
    }
  }
}

const isBaseError = (e: PyBaseException | null): e is PyBaseException =>
  e !== null && (isinstance(e, "KeyboardInterrupt") || isinstance(e, "SystemExit"));

/** Of several KeyboardInterrupt / SystemExit, the group keeps the last to reach it instead of the first. */
class LastBaseErrorGroup extends ReferenceGroup {
  *__aexit__(exc: PyBaseException | null): Coroutine<boolean | undefined | null> {
    if (isBaseError(exc)) this.baseError = exc;
    return yield* super.__aexit__(exc);
  }
  taskDone(task: Task): void {
    super.taskDone(task);
    const exc = task.cancelled() ? null : task.exception();
    if (isBaseError(exc)) this.baseError = exc;
  }
}

/** Every refusal of create_task gives the other reason: "is finished" and "is shutting down" swapped. */
class RefusalReasonSwappedGroup extends ReferenceGroup {
  create_task(coro: Coroutine, name: string | null = null): PyTask {
    try {
      return super.create_task(coro, name);
    } catch (e) {
      if (e instanceof PyBaseException && isinstance(e, "RuntimeError") && typeof e.args[0] === "string") {
        const m = e.args[0];
        const swapped = m.endsWith(" is finished") ? m.replace(/is finished$/, "is shutting down") : m.replace(/is shutting down$/, "is finished");
        throw RuntimeError(swapped);
      }
      throw e;
    }
  }
}

/**
 * Every cancellation of the wait at the block's end cancels the children
 * again, not only the first. (The wait is the reference's private
 * onCompletedFut: each new one gets a cancel() that first re-cancels the
 * children when the group is already shutting down.)
 */
class AbortsAgainGroup extends ReferenceGroup {
  constructor() {
    super();
    let fut: Future | null = null;
    Object.defineProperty(this, "onCompletedFut", {
      get: () => fut,
      set: (f: Future | null) => {
        fut = f;
        if (f === null) return;
        const cancel = f.cancel.bind(f);
        f.cancel = (msg?: string | null): boolean => {
          if (this.aborting) for (const t of this.tasks) if (!t.done()) t.cancel();
          return cancel(msg);
        };
      },
    });
  }
}

/** The last child's end wakes the wait at the block's end even when that wait was cancelled already (InvalidStateError in the callback). */
class WakesCancelledWaitGroup extends ReferenceGroup {
  taskDone(task: Task): void {
    const fut = (this as unknown as { onCompletedFut: Future | null }).onCompletedFut;
    if (fut !== null && fut.done() && this.tasks.size === 1 && [...this.tasks].includes(task)) {
      this.tasks.discard(task);
      fut.set_result(true); // raises InvalidStateError: the rest of the callback is skipped, as it would be in CPython
    }
    super.taskDone(task);
  }
}

/** Every child's end wakes the wait at the block's end, not only the last one's (the group then waits again, on a new future). */
class WakesEarlyGroup extends ReferenceGroup {
  taskDone(task: Task): void {
    super.taskDone(task);
    const fut = (this as unknown as { onCompletedFut: Future | null }).onCompletedFut;
    if (fut !== null && !fut.done()) fut.set_result(true);
  }
}

/** What a FlawedSet gets wrong about CPython's set (Objects/setobject.c; all unset: pyset.ts's behaviour). */
interface SetFlaws {
  /** An add never takes over a dummy slot left by a discard: it takes the unused slot its search ends on. */
  noDummyReuse?: boolean;
  /** No linear probing: every step of a search is the perturbed jump (LINEAR_PROBES = 0). */
  noLinearProbes?: boolean;
  /** The table grows only once it is two thirds full of active keys (dummies not counted, fill*3 >= size*2). */
  lateResize?: boolean;
}

/**
 * A transcription of pyset.ts's PySet (add, discard, iteration: what a
 * TaskGroup uses) in which each flaw breaks one rule of CPython's table.
 */
class FlawedSet<T extends { pyHash: number | null }> {
  private keys: Array<T | "dummy" | null> = new Array(8).fill(null);
  private mask = 7;
  private fill = 0;
  private used = 0;
  constructor(private readonly flaws: SetFlaws) {}

  get size(): number {
    return this.used;
  }

  private *probe(hash: number): Generator<number, never> {
    const size = this.mask + 1;
    const linearProbes = this.flaws.noLinearProbes ? 0 : 9;
    let perturb = hash;
    let i = hash % size;
    for (;;) {
      const linear = i + linearProbes <= this.mask ? linearProbes : 0;
      for (let j = 0; j <= linear; j++) yield i + j;
      perturb = Math.floor(perturb / 32);
      i = (i * 5 + 1 + (perturb % size)) % size;
    }
  }

  add(key: T): void {
    let freeslot = -1;
    for (const i of this.probe(key.pyHash ?? 0)) {
      const k = this.keys[i];
      if (k === key) return;
      if (k === "dummy") {
        if (!this.flaws.noDummyReuse) freeslot = i;
      } else if (k === null) {
        this.used++;
        if (freeslot >= 0) {
          this.keys[freeslot] = key;
          return;
        }
        this.keys[i] = key;
        this.fill++;
        const full = this.flaws.lateResize ? this.used * 3 >= (this.mask + 1) * 2 : this.fill * 5 >= this.mask * 3;
        if (full) this.resize(this.used * 4);
        return;
      }
    }
  }

  discard(key: T): boolean {
    for (const i of this.probe(key.pyHash ?? 0)) {
      const k = this.keys[i];
      if (k === null) return false;
      if (k === key) {
        this.keys[i] = "dummy";
        this.used--;
        return true;
      }
    }
    return false; // (the probe sequence is endless: not reached)
  }

  *[Symbol.iterator](): Generator<T> {
    for (const k of this.keys) if (k !== null && k !== "dummy") yield k;
  }

  private resize(minused: number): void {
    let size = 8;
    while (size <= minused) size *= 2;
    const old = this.keys;
    this.keys = new Array(size).fill(null);
    this.mask = size - 1;
    this.fill = this.used;
    for (const k of old) {
      if (k === null || k === "dummy") continue;
      for (const i of this.probe(k.pyHash ?? 0)) {
        if (this.keys[i] === null) {
          this.keys[i] = k;
          break;
        }
      }
    }
  }
}

/** A TaskGroup whose set of tasks is a FlawedSet. */
function flawedSetGroup(flaws: SetFlaws): () => PyTaskGroup {
  return () => {
    const g = new ReferenceGroup();
    (g as unknown as { tasks: unknown }).tasks = new FlawedSet<Task>(flaws);
    return g;
  };
}

/** The reference on a loop whose profile has TaskGroup's gh-116720 flags set to `on`. */
function withGroupFlags(v: PythonVersion, name: string, on: boolean): AsyncioImplementation {
  class FlaggedLoop extends EventLoop {
    constructor(profile: Profile, factory: TaskFactory) {
      super({ ...profile, taskGroupUncancelsAfterWaiting: on, taskGroupRecancelsCancellingParent: on }, factory);
    }
  }
  return { ...makeReference(v, { loopClass: FlaggedLoop }), id: `mutant:${name}@${v}` };
}

const GROUP_MUTANTS: Mutant[] = [
  {
    name: "tg-name-counter-flipped",
    description: "TaskGroup.create_task with a name names the task at creation on 3.11 / 3.12 and creates it unnamed, then renames it, on 3.13+ (the versions' behaviours swapped)",
    make: (v) => {
      class FlippedLoop extends EventLoop {
        constructor(profile: Profile, factory: TaskFactory) {
          super({ ...profile, taskGroupRenamesNewTask: !profile.taskGroupRenamesNewTask }, factory);
        }
      }
      return { ...makeReference(v, { loopClass: FlippedLoop }), id: `mutant:tg-name-counter-flipped@${v}` };
    },
  },
  {
    name: "tg-no-wait",
    description: "a TaskGroup's block ends without waiting for its tasks when the body ends normally",
    make: (v) => withGroup(v, "tg-no-wait", () => new NoWaitGroup()),
  },
  {
    name: "tg-no-cancel-siblings",
    description: "a failing task of a TaskGroup does not make it cancel the other tasks (the body is still cancelled)",
    make: (v) => withGroup(v, "tg-no-cancel-siblings", () => new NoCancelSiblingsGroup()),
  },
  {
    name: "tg-only-failure-aborts",
    description: "a TaskGroup cancels its tasks only when one fails: not when the body raises or the task running it is cancelled",
    make: (v) => withGroup(v, "tg-only-failure-aborts", () => new OnlyFailureAbortsGroup()),
  },
  {
    name: "tg-no-cancel-body",
    description: "a failing task of a TaskGroup cancels the other tasks but not the task running the body",
    make: (v) => withGroup(v, "tg-no-cancel-body", () => new NoCancelBodyGroup()),
  },
  {
    name: "tg-first-error-bare",
    description: "a TaskGroup raises its first error as it is instead of an ExceptionGroup of all of them",
    make: (v) => withGroup(v, "tg-first-error-bare", () => new FirstErrorBareGroup()),
  },
  {
    name: "tg-groups-base-error",
    description: "a TaskGroup wraps KeyboardInterrupt / SystemExit in a BaseExceptionGroup instead of re-raising it bare",
    make: (v) => withGroup(v, "tg-groups-base-error", () => new GroupsBaseErrorGroup()),
  },
  {
    name: "tg-never-refuses",
    description: "TaskGroup.create_task on a group not entered, finished or shutting down makes a plain task instead of raising RuntimeError",
    make: (v) => withGroup(v, "tg-never-refuses", () => new NeverRefusesGroup()),
  },
  {
    name: "tg-closed-at-exit",
    description: "TaskGroup.create_task is refused as soon as the block's end begins, even while the group still waits for its tasks",
    make: (v) => withGroup(v, "tg-closed-at-exit", () => new ClosedAtExitGroup()),
  },
  {
    name: "tg-cancel-creation-order",
    description: "a TaskGroup cancels its tasks in creation order instead of the iteration order of its set",
    make: (v) => withGroup(v, "tg-cancel-creation-order", () => new CreationOrderGroup()),
  },
  {
    name: "tg-cancelled-child-aborts",
    description: "a TaskGroup treats a task that ends cancelled like a failure: it cancels the other tasks and the body",
    make: (v) => withGroup(v, "tg-cancelled-child-aborts", () => new CancelledChildAbortsGroup()),
  },
  {
    name: "tg-uncancel-before-wait",
    description: "TaskGroup uncancels its parent before waiting and never re-cancels it, as before 3.13 (gh-116720 undone)",
    make: (v) => withGroupFlags(v, "tg-uncancel-before-wait", false),
  },
  {
    name: "tg-uncancel-after-wait",
    description: "TaskGroup uncancels its parent after waiting and re-cancels a parent cancelled from outside, as 3.13 does (gh-116720 backported)",
    make: (v) => withGroupFlags(v, "tg-uncancel-after-wait", true),
  },
  {
    name: "tg-last-base-error",
    description: "of several KeyboardInterrupt / SystemExit reaching a TaskGroup, the group re-raises the last instead of the first",
    make: (v) => withGroup(v, "tg-last-base-error", () => new LastBaseErrorGroup()),
  },
  {
    name: "tg-refusal-reason-swapped",
    description: "TaskGroup.create_task refused says \"is shutting down\" of a finished group and \"is finished\" of one shutting down",
    make: (v) => withGroup(v, "tg-refusal-reason-swapped", () => new RefusalReasonSwappedGroup()),
  },
  {
    name: "tg-aborts-again",
    description: "a TaskGroup cancels its tasks again each time the task running the block is cancelled while it waits for them, not only the first time",
    make: (v) => withGroup(v, "tg-aborts-again", () => new AbortsAgainGroup()),
  },
  {
    name: "tg-wakes-cancelled-wait",
    description: "the last task of a TaskGroup to end sets the result of the group's wait even when that wait was cancelled in the same iteration (InvalidStateError reaches the exception handler)",
    make: (v) => withGroup(v, "tg-wakes-cancelled-wait", () => new WakesCancelledWaitGroup()),
  },
  {
    name: "tg-done-child-fast-path-flipped",
    description: "TaskGroup.create_task settles a child already done at creation on the spot on 3.11 and 3.14, and through its done callback on 3.12 / 3.13 (gh-104144's fast path flipped)",
    make: (v) => {
      class FlippedLoop extends EventLoop {
        constructor(profile: Profile, factory: TaskFactory) {
          super({ ...profile, taskGroupDoneTaskFastPath: !profile.taskGroupDoneTaskFastPath }, factory);
        }
      }
      return { ...makeReference(v, { loopClass: FlippedLoop }), id: `mutant:tg-done-child-fast-path-flipped@${v}` };
    },
  },
  {
    name: "tg-wakes-early",
    description: "every task of a TaskGroup that ends wakes the block's wait, not only the last (the block waits again on a new future, which takes a hash)",
    make: (v) => withGroup(v, "tg-wakes-early", () => new WakesEarlyGroup()),
  },
  {
    name: "pyset-no-dummy-reuse",
    description: "a TaskGroup's set of tasks never reuses the slot a finished task left (CPython's set puts a new key into the last dummy slot its search passed)",
    make: (v) => withGroup(v, "pyset-no-dummy-reuse", flawedSetGroup({ noDummyReuse: true })),
  },
  {
    name: "pyset-no-linear-probes",
    description: "a TaskGroup's set of tasks probes without CPython's linear probing (LINEAR_PROBES = 0): every collision jumps",
    make: (v) => withGroup(v, "pyset-no-linear-probes", flawedSetGroup({ noLinearProbes: true })),
  },
  {
    name: "pyset-late-resize",
    description: "a TaskGroup's set of tasks grows when two thirds of its slots hold tasks, not when active and dummy slots reach three fifths",
    make: (v) => withGroup(v, "pyset-late-resize", flawedSetGroup({ lateResize: true })),
  },
];

// ---------------------------------------------------------------- cancellation (spec/clauses/cancellation.ts)

/** A task's CancelledError for a cancel() without a message is CancelledError(None), not CancelledError(). */
class NoneArgTask extends ReferenceTask {
  makeCancelledError(): PyBaseException {
    const own = this as unknown as { cancelledExc: PyBaseException | null; cancelMessage: string | null };
    if (own.cancelledExc === null && own.cancelMessage === null) return new PyBaseException("CancelledError", [null]);
    return super.makeCancelledError();
  }
}

/** asyncio.sleep without its `finally: h.cancel()`: a sleep cancelled early leaves its timer armed (it fires later, to no effect). */
function* sleepLeavingTimer(delay: number, result: unknown = null): Coroutine {
  if (delay <= 0) {
    yield null;
    return result;
  }
  const loop = get_running_loop();
  const future = loop.create_future();
  loop.call_later(delay, (fut: Future, value: unknown) => {
    if (!fut.cancelled()) fut.set_result(value);
  }, future, result);
  return yield* future.__await__();
}

const CANCELLATION_MUTANTS: Mutant[] = [
  {
    name: "sleep-timer-left-armed",
    description: "asyncio.sleep cancelled early does not cancel its timer (no `finally: h.cancel()`), so those timers never count towards the loop's heap rebuild",
    make: (v) => ({ ...makeReference(v), id: `mutant:sleep-timer-left-armed@${v}`, sleep: (delay: number, result?: unknown) => sleepLeavingTimer(delay, result) }),
  },
  {
    name: "cancelled-error-none-arg",
    description: "a task cancelled without a message raises CancelledError(None) instead of CancelledError() with no arguments",
    make: (v) => {
      class NoneArgLoop extends EventLoop {
        constructor(profile: Profile, _factory: TaskFactory) {
          super(profile, (loop, coro, name) => new NoneArgTask(coro as Coroutine, loop, name));
        }
      }
      return { ...makeReference(v, { loopClass: NoneArgLoop }), id: `mutant:cancelled-error-none-arg@${v}` };
    },
  },
];

// ---------------------------------------------------------------- timeout / timeout_at

/** What a MutantTimeout gets wrong (all false: the reference's behaviour). */
interface TimeoutFlaws {
  /** The expired block raises the CancelledError itself instead of TimeoutError. */
  raisesCancelled?: boolean;
  /** Any CancelledError leaving the block becomes TimeoutError, whoever cancelled (no counting, expired or not). */
  convertsForeign?: boolean;
  /** Whatever exception leaves an expired block (not only its CancelledError) becomes TimeoutError. */
  convertsAnyException?: boolean;
  /** reschedule() does nothing. */
  rescheduleIgnored?: boolean;
  /** reschedule() of a finished or expired timeout just sets when() instead of raising RuntimeError. */
  rescheduleAnytime?: boolean;
  /** expired() is true only once the block has ended expired (false while the CancelledError travels). */
  expiredOnlyAfterExit?: boolean;
  /** A deadline at or before now never fires. */
  pastIgnored?: boolean;
  /** A deadline at or before now cancels the task at once, synchronously. */
  pastAtOnce?: boolean;
  /** A None deadline fires at the next iteration (when() still says None). */
  noneFires?: boolean;
  /** The timer is not cancelled when the block ends before its deadline: it cancels the task later. */
  timerOutlivesBlock?: boolean;
  /** The timeout never withdraws its cancel request (no uncancel()); it still recognises its own. */
  noUncancel?: boolean;
}

type TimeoutState = "created" | "active" | "expiring" | "expired" | "finished";

/**
 * asyncio.Timeout as the reference has it (implementations/reference/timeouts.ts),
 * with flaws. Only what traces can show is transcribed (not the 3.13
 * __context__ insertion, which no trace records).
 */
class MutantTimeout implements PyTimeout {
  private state: TimeoutState = "created";
  private handle: Handle | null = null;
  private task: Task | null = null;
  private cancellingOnEntry = 0;

  constructor(private whenValue: number | null, private readonly flaws: TimeoutFlaws) {}

  when(): number | null {
    return this.whenValue;
  }

  reschedule(when: number | null): void {
    if (this.flaws.rescheduleIgnored && this.state === "active") return;
    if (this.state !== "active") {
      if (this.state === "created") throw RuntimeError("Timeout has not been entered");
      if (this.flaws.rescheduleAnytime) {
        this.whenValue = when;
        return;
      }
      throw RuntimeError(`Cannot change state of ${this.state} Timeout`);
    }
    this.whenValue = when;
    this.arm(when);
  }

  private arm(when: number | null): void {
    if (this.handle !== null) this.handle.cancel();
    this.handle = null;
    const loop = get_running_loop();
    if (when === null) {
      if (this.flaws.noneFires) this.handle = loop.call_soon(this.onTimeout);
      return;
    }
    if (when <= loop.time()) {
      if (this.flaws.pastIgnored) return;
      if (this.flaws.pastAtOnce) {
        this.onTimeout();
        return;
      }
      this.handle = loop.call_soon(this.onTimeout);
    } else {
      this.handle = loop.call_at(when, this.onTimeout);
    }
  }

  expired(): boolean {
    if (this.flaws.expiredOnlyAfterExit) return this.state === "expired";
    return this.state === "expiring" || this.state === "expired";
  }

  *__aenter__(): Coroutine<MutantTimeout> {
    if (this.state !== "created") throw RuntimeError("Timeout has already been entered");
    const task = current_task();
    if (task === null) throw RuntimeError("Timeout should be used inside a task");
    this.state = "active";
    this.task = task;
    this.cancellingOnEntry = task.cancelling();
    this.arm(this.whenValue);
    return this;
  }

  *__aexit__(exc: PyBaseException | null): Coroutine<boolean | undefined | null> {
    if (this.handle !== null && !(this.flaws.timerOutlivesBlock && this.state === "active")) this.handle.cancel();
    this.handle = null;
    const cancelled = exc !== null && isinstance(exc, "CancelledError");
    if (this.state === "active") {
      this.state = "finished";
      if (this.flaws.convertsForeign && cancelled) throw this.timeoutError(exc!);
      return null;
    }
    if (this.state !== "expiring") return null; // (a flawed timer fired after the block: nothing to do)
    this.state = "expired";
    const task = this.task!;
    const left = this.flaws.noUncancel ? task.cancelling() - 1 : task.uncancel();
    if (this.flaws.convertsForeign && cancelled) throw this.timeoutError(exc!);
    if (this.flaws.convertsAnyException && left <= this.cancellingOnEntry && exc !== null) throw this.timeoutError(exc);
    if (left <= this.cancellingOnEntry && cancelled) {
      if (this.flaws.raisesCancelled) throw exc!;
      throw this.timeoutError(exc!);
    }
    return null;
  }

  private timeoutError(exc: PyBaseException): PyBaseException {
    const te = TimeoutError();
    te.cause = exc;
    te.context = exc;
    return te;
  }

  private readonly onTimeout = (): void => {
    this.handle = null;
    if (this.state === "active") {
      this.task!.cancel();
      this.state = "expiring";
    } else if (this.state === "finished") {
      this.task!.cancel(); // a flawed timer that outlived its block
    }
  };
}

function withTimeout(v: PythonVersion, name: string, flaws: TimeoutFlaws): AsyncioImplementation {
  return {
    ...makeReference(v),
    id: `mutant:${name}@${v}`,
    timeout: (delay) => new MutantTimeout(delay === null ? null : get_running_loop().time() + delay, flaws),
    timeout_at: (when) => new MutantTimeout(when, flaws),
  };
}

function timeoutMutant(name: string, description: string, flaws: TimeoutFlaws): Mutant {
  return { name, description, make: (v) => withTimeout(v, name, flaws) };
}

const TIMEOUT_MUTANTS: Mutant[] = [
  timeoutMutant("timeout-raises-cancelled", "an expired timeout block raises CancelledError instead of TimeoutError", { raisesCancelled: true }),
  timeoutMutant(
    "timeout-converts-foreign",
    "a timeout block turns every CancelledError leaving it into TimeoutError, whoever cancelled the task",
    { convertsForeign: true },
  ),
  timeoutMutant("timeout-reschedule-ignored", "Timeout.reschedule() does nothing", { rescheduleIgnored: true }),
  timeoutMutant(
    "timeout-reschedule-anytime",
    "Timeout.reschedule() of a finished or expired timeout changes when() instead of raising RuntimeError",
    { rescheduleAnytime: true },
  ),
  timeoutMutant(
    "timeout-expired-after-exit",
    "Timeout.expired() is false until the expired block has ended (wrong while the cancellation travels)",
    { expiredOnlyAfterExit: true },
  ),
  timeoutMutant("timeout-past-deadline-ignored", "a timeout whose deadline is already past never fires", { pastIgnored: true }),
  timeoutMutant(
    "timeout-past-deadline-at-once",
    "a timeout whose deadline is already past cancels the task at once instead of at the next loop iteration",
    { pastAtOnce: true },
  ),
  timeoutMutant("timeout-none-fires", "a timeout with no deadline (None) fires at the next loop iteration", { noneFires: true }),
  timeoutMutant(
    "timeout-timer-outlives-block",
    "a timeout block that ends in time leaves its timer running: the task is cancelled at the deadline anyway",
    { timerOutlivesBlock: true },
  ),
  timeoutMutant(
    "timeout-converts-any-exception",
    "an expired timeout turns whatever exception leaves its block into TimeoutError, not only the CancelledError it caused",
    { convertsAnyException: true },
  ),
  timeoutMutant(
    "timeout-no-uncancel",
    "an expired timeout never withdraws its cancel request: the task's cancelling() stays one higher",
    { noUncancel: true },
  ),
];

export const MUTANTS: Mutant[] = [...GROUP_MUTANTS, ...TIMEOUT_MUTANTS, ...CANCELLATION_MUTANTS];
