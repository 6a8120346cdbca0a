/**
 * Mutants for the task, cancellation and eager-task clauses
 * (spec/clauses/tasks.ts, cancellation.ts, eager.ts).
 *
 * A mutant is the reference with one behaviour broken: replace one function
 * of the implementation object (`{ ...makeReference(v), gather: ... }`), or
 * subclass a reference class and install it (loopClass, task factories).
 * Reference files are never edited for a mutant.
 *
 * How the Task mutants get in: `taskMutant` builds the reference on a loop
 * subclass whose default task factory (what loop.create_task uses when no
 * factory is set) makes the mutant's Task subclass, and installs the same
 * subclass, starting eagerly, as the eager task factory. Some mutants change
 * what the task's coroutine sees rather than the Task: they wrap the
 * coroutine in a generator that stands between the Task and the coroutine
 * (`relay`), which sees every resumption and every exception thrown in.
 * Mutant state lives in WeakMaps, not in fields: a Task subclass's fields
 * are set only after the base constructor, which may already run an eager
 * first step.
 */
import type { AsyncioImplementation, Coroutine, PyEventLoop } from "../../harness/engine/api";
import { EventLoop, Future, Task, makeReference } from "../reference";
import type { Profile, PythonVersion } from "../reference";
import type { TaskFactory } from "../reference/loop";
import { get_running_loop } from "../reference/loop";
import { CancelledError, PyBaseException, isinstance } from "../reference/exceptions";
import type { Mutant } from "./mutant";

type TaskClass = new (coro: Coroutine, loop: EventLoop, name: string | null, eagerStart?: boolean) => Task;
type LoopClass = new (profile: Profile, factory: TaskFactory) => EventLoop;

function mutant(name: string, description: string, make: (v: PythonVersion) => AsyncioImplementation): Mutant {
  return { name, description, make: (v) => ({ ...make(v), id: `mutant:${name}@${v}` }) };
}

/** The reference whose tasks (plain and eager) are made by TaskCls, on an optional loop subclass. */
function withTaskClass(v: PythonVersion, TaskCls: TaskClass, Base: LoopClass = EventLoop): AsyncioImplementation {
  class MutantLoop extends Base {
    constructor(profile: Profile, _factory: TaskFactory) {
      super(profile, (loop, coro, name) => new TaskCls(coro as Coroutine, loop, name));
    }
  }
  const base = makeReference(v, { loopClass: MutantLoop });
  if (base.use_eager_task_factory === undefined) return base;
  return {
    ...base,
    use_eager_task_factory: (loop: PyEventLoop) =>
      (loop as EventLoop).set_task_factory((l, coro, name) => new TaskCls(coro as Coroutine, l, name, true)),
  };
}

/** The reference on a loop whose profile has some flags changed. */
function withProfile(v: PythonVersion, change: (p: Profile) => Partial<Profile>): AsyncioImplementation {
  class ProfiledLoop extends EventLoop {
    constructor(profile: Profile, factory: TaskFactory) {
      super({ ...profile, ...change(profile) }, factory);
    }
  }
  return makeReference(v, { loopClass: ProfiledLoop });
}

/** What a relay hands the coroutine next. */
type Resume = { throw: false; value: unknown } | { throw: true; exc: unknown };

/**
 * A generator standing between a Task and its coroutine: `decide` sees each
 * resumption the Task makes and says what the coroutine gets instead
 * (default: the same), and `finish` sees the coroutine's return value.
 */
function* relay(
  coro: Coroutine,
  decide: (r: Resume, started: boolean) => Resume,
  finish: (value: unknown) => unknown = (x) => x,
): Coroutine {
  let resume: Resume = { throw: false, value: undefined };
  let started = false;
  for (;;) {
    resume = decide(resume, started);
    const r = resume.throw ? coro.throw(resume.exc) : coro.next(resume.value);
    started = true;
    if (r.done) return finish(r.value);
    try {
      resume = { throw: false, value: yield r.value };
    } catch (e) {
      resume = { throw: true, exc: e };
    }
  }
}

// ================================================================ Creating Tasks

/** Every task runs its first step inside create_task (as an eager task would, without a factory). */
class RunsNowLoop extends EventLoop {
  constructor(profile: Profile, _factory: TaskFactory) {
    super(profile, (loop, coro, name) => new Task(coro as Coroutine, loop, name, true));
  }
}

/** create_task puts the new task's first step at the front of the ready queue. */
class LifoCreateLoop extends EventLoop {
  create_task(coro: Generator, name: string | null = null): Task {
    const before = this.ready.length;
    const task = super.create_task(coro, name);
    if (this.ready.length === before + 1) this.ready.unshift(this.ready.pop()!);
    return task;
  }
}

/** Default names stop counting after Task-2. */
class RepeatNamesLoop extends EventLoop {
  private made = 0;
  nextTaskName(): string {
    return `Task-${Math.min(++this.made, 2)}`;
  }
}

class SetNameIgnoredTask extends Task {
  set_name(): void {}
}

// ================================================================ Introspection

const creators = new WeakMap<Task, Task | null>();

/** Remembers which task created each task. */
class CreatorLoop extends EventLoop {
  create_task(coro: Generator, name: string | null = null): Task {
    const creator = this.currentTask;
    const task = super.create_task(coro, name);
    creators.set(task, creator);
    return task;
  }
}

const lastStepped = new WeakMap<EventLoop, Task>();

/** Remembers the last task whose step ran. */
class StaleLoop extends EventLoop {
  leaveTask(task: Task): void {
    super.leaveTask(task);
    lastStepped.set(this, task);
  }
}

const stepping = new WeakMap<EventLoop, Task | null>();

/** Tracks the task whose step the loop entered (an eager first step swaps the current task without entering). */
class SteppingLoop extends EventLoop {
  enterTask(task: Task): void {
    super.enterTask(task);
    stepping.set(this, task);
  }
  leaveTask(task: Task): void {
    super.leaveTask(task);
    stepping.set(this, null);
  }
}

// ================================================================ Task Object: results

class ResultBeforeDoneTask extends Task {
  result(): unknown {
    return this.done() ? super.result() : null;
  }
  exception(): PyBaseException | null {
    return this.done() ? super.exception() : null;
  }
}

class HidesExceptionTask extends Task {
  result(): unknown {
    if (this.done() && !this.cancelled() && this.exception() !== null) return null;
    return super.result();
  }
}

class CancelledReturnsTask extends Task {
  result(): unknown {
    return this.cancelled() ? null : super.result();
  }
  exception(): PyBaseException | null {
    return this.cancelled() ? CancelledError(this.cancelMessage) : super.exception();
  }
}

// ================================================================ Cancellation

class MarksCancelledTask extends Task {
  cancel(msg: string | null = null): boolean {
    const accepted = super.cancel(msg);
    if (accepted) Future.prototype.cancel.call(this, msg);
    return accepted;
  }
}

class DoneReturnsTrueTask extends Task {
  cancel(msg: string | null = null): boolean {
    return this.done() ? true : super.cancel(msg);
  }
}

/** cancel() of a done task returns False before it marks the exception retrieved. */
class CancelKeepsReportTask extends Task {
  cancel(msg: string | null = null): boolean {
    return this.done() ? false : super.cancel(msg);
  }
}

/** The Task's private state, for the mutants that read it. */
type TaskState = { futWaiter: Future | null; numCancelsRequested: number };
const stateOf = (t: Task): TaskState => t as unknown as TaskState;

/** cancel() while the awaited future is done (the wake-up queued) counts the request and does nothing else. */
class LateCancelLostTask extends Task {
  cancel(msg: string | null = null): boolean {
    const st = stateOf(this);
    if (!this.done() && st.futWaiter !== null && st.futWaiter.done()) {
      st.numCancelsRequested++;
      return true;
    }
    return super.cancel(msg);
  }
}

/** Every CancelledError thrown into the coroutine carries the message of the task's last cancel(). */
const lastMsg = new WeakMap<Task, string | null>();
class OwnMessageTask extends Task {
  constructor(coro: Coroutine, loop: EventLoop, name: string | null = null, eagerStart = false) {
    const box: { task?: Task } = {};
    super(
      relay(coro, (r) =>
        r.throw && isinstance(r.exc, "CancelledError") && box.task !== undefined && lastMsg.has(box.task)
          ? { throw: true, exc: CancelledError(lastMsg.get(box.task)!) }
          : r,
      ),
      loop,
      name,
      eagerStart,
    );
    box.task = this;
  }
  cancel(msg: string | null = null): boolean {
    const accepted = super.cancel(msg);
    if (accepted) lastMsg.set(this, msg);
    return accepted;
  }
}

/** A coroutine that returns while a cancel() of its own is pending ends the task with its value. */
class ReturnWinsTask extends Task {
  constructor(coro: Coroutine, loop: EventLoop, name: string | null = null, eagerStart = false) {
    const box: { task?: Task } = {};
    super(
      relay(coro, (r) => r, (value) => {
        if (box.task !== undefined) (box.task as unknown as { mustCancel: boolean }).mustCancel = false;
        return value;
      }),
      loop,
      name,
      eagerStart,
    );
    box.task = this;
  }
}

/**
 * A cancel request found no future to cancel when it was made (the task was
 * running), so it waits in _must_cancel; when the coroutine then yields a
 * future, the Task cancels that future, and here forgets to clear the flag:
 * the request is spent twice, the task's next step throws CancelledError in
 * again whatever the awaited future gave.
 */
class SpentTwiceTask extends Task {
  constructor(coro: Coroutine, loop: EventLoop, name: string | null = null, eagerStart = false) {
    const box: { task?: Task; again: boolean } = { again: false };
    const state = (t: Task) => t as unknown as { mustCancel: boolean; cancelMessage: string | null };
    function* spend(): Coroutine {
      let resume: Resume = { throw: false, value: undefined };
      for (;;) {
        if (box.again && !(resume.throw && isinstance(resume.exc, "CancelledError"))) {
          resume = { throw: true, exc: CancelledError(state(box.task!).cancelMessage) };
        }
        box.again = false;
        const r: IteratorResult<unknown, unknown> = resume.throw ? coro.throw(resume.exc) : coro.next(resume.value);
        if (r.done) return r.value;
        // The Task is about to pass its pending request on to this future.
        if (r.value instanceof Future && box.task !== undefined && state(box.task).mustCancel) box.again = true;
        try {
          resume = { throw: false, value: yield r.value };
        } catch (e) {
          resume = { throw: true, exc: e };
        }
      }
    }
    super(spend(), loop, name, eagerStart);
    box.task = this;
  }
}

class DropsMsgTask extends Task {
  cancel(): boolean {
    return super.cancel(null);
  }
}

class CancellingFlagTask extends Task {
  cancelling(): number {
    return Math.min(1, super.cancelling());
  }
}

class UncancelNoopTask extends Task {
  uncancel(): number {
    return this.cancelling();
  }
}

/**
 * cancel() only records the request: the awaited future is left alone, and
 * CancelledError is thrown in at the next resumption, whenever that comes.
 */
interface Deferred {
  requests: number;
  pending: { msg: string | null } | null;
}
const deferred = new WeakMap<Task, Deferred>();
const deferredOf = (t: Task): Deferred => {
  let d = deferred.get(t);
  if (d === undefined) deferred.set(t, (d = { requests: 0, pending: null }));
  return d;
};

class DeferredCancelTask extends Task {
  constructor(coro: Coroutine, loop: EventLoop, name: string | null = null, eagerStart = false) {
    const box: { task?: Task } = {};
    super(
      relay(coro, (r) => {
        const d = box.task && deferredOf(box.task);
        if (d?.pending && !r.throw) {
          const msg = d.pending.msg;
          d.pending = null;
          return { throw: true, exc: CancelledError(msg) };
        }
        return r;
      }),
      loop,
      name,
      eagerStart,
    );
    box.task = this;
  }
  cancel(msg: string | null = null): boolean {
    if (this.done()) return false;
    const d = deferredOf(this);
    d.requests++;
    d.pending = { msg };
    return true;
  }
  cancelling(): number {
    return deferredOf(this).requests;
  }
  uncancel(): number {
    const d = deferredOf(this);
    if (d.requests > 0) d.requests--;
    return d.requests;
  }
}

/** A coroutine that received CancelledError ends its task cancelled, even when it caught it and returned. */
class UncatchableTask extends Task {
  constructor(coro: Coroutine, loop: EventLoop, name: string | null = null, eagerStart = false) {
    let hit: PyBaseException | null = null;
    super(
      relay(
        coro,
        (r) => {
          if (r.throw && isinstance(r.exc, "CancelledError")) hit = r.exc;
          return r;
        },
        (value) => {
          if (hit !== null) throw CancelledError(hit.args[0] as string | null);
          return value;
        },
      ),
      loop,
      name,
      eagerStart,
    );
  }
}

/**
 * A CancelledError for a coroutine that has not started yet starts it
 * first (running it up to its first suspension) and is thrown in there, as
 * an implementation that cannot throw into an unstarted coroutine might do.
 */
class StartsCoroutineTask extends Task {
  constructor(coro: Coroutine, loop: EventLoop, name: string | null = null, eagerStart = false) {
    function* starting(): Coroutine {
      try {
        yield null; // parked here before the Task's first step, which resumes or throws in
      } catch (e) {
        // Thrown in before the coroutine started: start it, then throw the
        // exception in at its first suspension, in the same step.
        const r = coro.next();
        if (r.done) return r.value;
        return yield* relay(coro, (x, started) => (started ? x : { throw: true, exc: e }));
      }
      return yield* relay(coro, (x) => x);
    }
    const gen = starting();
    gen.next(); // park at the first yield, so the Task's first step is the resumption
    super(gen, loop, name, eagerStart);
  }
}

// ================================================================ the list

export const MUTANTS: Mutant[] = [
  // Creating Tasks
  mutant("create-task-runs-now", "create_task runs the coroutine's first step at once, inside create_task, without an eager task factory", (v) =>
    makeReference(v, { loopClass: RunsNowLoop }),
  ),
  mutant("create-task-lifo", "a new task's first step goes to the front of the ready queue: tasks created together start newest first", (v) =>
    makeReference(v, { loopClass: LifoCreateLoop }),
  ),
  mutant("create-task-ignores-name", "asyncio.create_task drops its name argument: every task gets a default name", (v) => {
    const base = makeReference(v);
    return { ...base, create_task: (coro: Coroutine) => base.create_task(coro, null) };
  }),
  mutant("default-names-repeat", "default task names stop counting after Task-2", (v) => makeReference(v, { loopClass: RepeatNamesLoop })),
  mutant(
    "name-counter-flipped",
    "named create_task takes a default-name number on 3.13 and does not on 3.11 / 3.12 (the versions' behaviours swapped)",
    (v) => withProfile(v, (p) => ({ namedCreateTaskTakesCounter: !p.namedCreateTaskTakesCounter })),
  ),
  mutant("set-name-ignored", "Task.set_name does nothing", (v) => withTaskClass(v, SetNameIgnoredTask)),
  // Introspection
  mutant("current-task-is-creator", "current_task() inside a task returns the task that created it", (v) => {
    const base = makeReference(v, { loopClass: CreatorLoop });
    return {
      ...base,
      current_task: () => {
        const current = get_running_loop().currentTask;
        if (current === null) return null;
        return creators.get(current) ?? current;
      },
    };
  }),
  mutant("current-task-stale", "current_task() outside any task (in a callback) returns the last task that ran instead of None", (v) => {
    const base = makeReference(v, { loopClass: StaleLoop });
    return {
      ...base,
      current_task: () => {
        const loop = get_running_loop();
        return loop.currentTask ?? lastStepped.get(loop) ?? null;
      },
    };
  }),
  mutant("current-task-ignores-eager", "current_task() during an eager first step returns the creating task", (v) => {
    const base = makeReference(v, { loopClass: SteppingLoop });
    return { ...base, current_task: () => stepping.get(get_running_loop()) ?? null };
  }),
  mutant("all-tasks-keeps-done", "all_tasks() also lists tasks that are done", (v) => {
    const base = makeReference(v);
    return {
      ...base,
      all_tasks: () => {
        const loop = get_running_loop();
        return [...new Set([...loop.scheduledTasks, ...loop.eagerTasks])];
      },
    };
  }),
  mutant("all-tasks-omits-eager", "all_tasks() leaves out a task running its eager first step", (v) => {
    const base = makeReference(v);
    return { ...base, all_tasks: () => [...get_running_loop().scheduledTasks].filter((t) => !t.done()) };
  }),
  // Task Object
  mutant("task-result-before-done", "result() and exception() of a pending task return None instead of raising InvalidStateError", (v) =>
    withTaskClass(v, ResultBeforeDoneTask),
  ),
  mutant("task-result-hides-exception", "result() of a task that failed returns None instead of raising the exception", (v) =>
    withTaskClass(v, HidesExceptionTask),
  ),
  mutant("cancelled-exception-returned", "result() and exception() of a cancelled task return (None, the CancelledError) instead of raising", (v) =>
    withTaskClass(v, CancelledReturnsTask),
  ),
  // Task Cancellation
  mutant("cancel-marks-cancelled", "cancel() marks the task cancelled at once, before the coroutine has seen CancelledError", (v) =>
    withTaskClass(v, MarksCancelledTask),
  ),
  mutant("cancel-done-returns-true", "cancel() of a task that is already done returns True", (v) => withTaskClass(v, DoneReturnsTrueTask)),
  mutant(
    "cancel-done-keeps-report",
    "cancel() of a task that is already done leaves its exception unretrieved: a failed task someone tried to cancel is still reported when destroyed",
    (v) => withTaskClass(v, CancelKeepsReportTask),
  ),
  mutant(
    "cancel-late-lost",
    "cancel() of a task whose awaited future has just ended (its wake-up queued) is counted but never delivered: the task resumes with the future's outcome",
    (v) => withTaskClass(v, LateCancelLostTask),
  ),
  mutant(
    "cancel-late-own-message",
    "a task cancelled as its awaited future is cancelled by someone else gets its own cancel message instead of the future's",
    (v) => withTaskClass(v, OwnMessageTask),
  ),
  mutant(
    "self-cancel-return-wins",
    "a coroutine that cancels its own task and returns before any await ends the task with its value: the pending cancellation is forgotten",
    (v) => withTaskClass(v, ReturnWinsTask),
  ),
  mutant(
    "cancel-spent-twice",
    "a cancel request passed on to the future the task awaits is not cleared: the task's next step throws CancelledError in again, even when the awaited task swallowed it and returned",
    (v) => withTaskClass(v, SpentTwiceTask),
  ),
  mutant("cancel-drops-msg", "cancel(msg) forgets the message: CancelledError has no arguments", (v) => withTaskClass(v, DropsMsgTask)),
  mutant("cancel-deferred", "cancel() leaves the awaited future alone: CancelledError arrives only when the task resumes by itself", (v) =>
    withTaskClass(v, DeferredCancelTask),
  ),
  mutant("cancel-uncatchable", "a task whose coroutine received CancelledError ends cancelled even if the coroutine caught it", (v) =>
    withTaskClass(v, UncatchableTask),
  ),
  mutant("cancel-starts-coroutine", "a task cancelled before it started runs its coroutine up to the first await before CancelledError", (v) =>
    withTaskClass(v, StartsCoroutineTask),
  ),
  mutant("cancelling-flag", "cancelling() says 1 however many cancel requests are pending", (v) => withTaskClass(v, CancellingFlagTask)),
  mutant("uncancel-noop", "uncancel() does not decrement the count of cancel requests", (v) => withTaskClass(v, UncancelNoopTask)),
  mutant(
    "uncancel-flag-flipped",
    "uncancel() down to zero withdraws a pending cancellation on 3.11 / 3.12 and not on 3.13 (the versions' behaviours swapped)",
    (v) => withProfile(v, (p) => ({ uncancelClearsMustCancel: !p.uncancelClearsMustCancel })),
  ),
  // 3.14's eager_start keyword
  mutant(
    "eager-start-before-3-14",
    "create_task and TaskGroup.create_task take eager_start on every version, as 3.14 does, instead of raising TypeError before 3.14",
    (v) => withProfile(v, () => ({ createTaskEagerStart: true })),
  ),
  mutant("eager-start-ignored", "asyncio.create_task accepts eager_start and ignores it: the task factory alone decides", (v) => {
    const base = makeReference(v);
    return { ...base, create_task: (coro: Coroutine, name?: string | null) => base.create_task(coro, name) };
  }),
  // Eager Task Factory
  mutant("eager-factory-lazy", "the eager task factory makes ordinary tasks: the first step is scheduled, not run in create_task", (v) => {
    const base = makeReference(v);
    if (base.use_eager_task_factory === undefined) return base;
    return {
      ...base,
      use_eager_task_factory: (loop: PyEventLoop) =>
        (loop as EventLoop).set_task_factory((l, coro, name) => new Task(coro as Coroutine, l, name, false)),
    };
  }),
  mutant(
    "factory-rename-flipped",
    "with a task factory, an unnamed task is renamed \"None\" on 3.11 / 3.12 and keeps its default name on 3.13 (the versions' behaviours swapped)",
    (v) => withProfile(v, (p) => ({ factoryTaskRenamedEvenUnnamed: !p.factoryTaskRenamedEvenUnnamed })),
  ),
  mutant(
    "factory-name-flipped",
    "with a task factory, loop.create_task passes the name to the factory before 3.14 (seen on 3.13, where asyncio.create_task hands the name to the loop) and, on 3.14, calls it without the name and renames the task after its first step (the versions' behaviours swapped)",
    (v) => withProfile(v, (p) => ({ taskFactoryGetsName: !p.taskFactoryGetsName })),
  ),
  mutant("eager-factory-gets-name", "loop.create_task passes the name to the task factory and does not rename the task after", (v) => {
    class NamingLoop extends EventLoop {
      create_task(coro: Generator, name: string | null = null): Task {
        const factory = this.get_task_factory();
        return factory === null ? super.create_task(coro, name) : factory(this, coro, name);
      }
    }
    return makeReference(v, { loopClass: NamingLoop });
  }),
];
