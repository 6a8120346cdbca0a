/**
 * Runs a scenario on any TypeScript implementation of harness/engine/api.ts and
 * returns its trace.
 *
 * This is the TypeScript twin of the interpreter in
 * implementations/python/aiospec_driver.py: the two must give every step the
 * same meaning, event for event, so that a difference between traces is a
 * difference between implementations and never between interpreters. Each
 * op is one method, named as in the driver (op_log, op_await, ...).
 */
import {
  AsyncioImplementation, CompleteAsyncioImplementation, Coroutine, Deadlock, DoneCallback, FEATURE_FUNCTIONS, IterationLimit,
  PyAsCompleted, PyAsyncContextManager, PyEventLoop, PyFuture, PyHandle, PyTask, PyTaskGroup, PyTimeout,
} from "./api";
import { PyBaseException, isinstance, pyexc } from "./pyexc";
import type { Awaitable, ExceptionSpec, Scenario, Scalar, Step, TryStep } from "../../spec/scenario/types";
import type { ExceptionData, RunEnd, TaskOutcome, Trace, TraceEvent, TraceValue } from "../../spec/scenario/trace";
import { canonicalJson } from "../../spec/scenario/trace";
import { noteRaised, runTryStar } from "./exceptstar";
import { argsHeld, keptByError, pinnedThrowKeeps } from "./frames";
import { CATCHABLE, Return, ScenarioError, closeAgain, isCollectorClose } from "./flow";
import type { StepRunner } from "./flow";
import { GC_OPS } from "../../spec/scenario/types";
import { expandScenario } from "../../spec/scenario/repeat";
import { FEATURE_VERSIONS, SELF_HANDLES, scenarioFeatures } from "../../spec/scenario/validate";
import { compareVersions } from "../../spec/scenario/versions";

// Reprs of asyncio objects carry addresses; messages embedding one are
// compared with the repr elided (as the Python driver does).
const REPR_START = /<(?:Task|Future|_GatheringFuture|TaskGroup|coroutine|Handle|TimerHandle)\b/g;

/** Replace every asyncio repr in s, brackets nested to any depth, by <...>. */
export function normalizeMessage(s: string): string {
  let out = "";
  let i = 0;
  for (;;) {
    REPR_START.lastIndex = i;
    const m = REPR_START.exec(s);
    if (m === null) return out + s.slice(i);
    out += s.slice(i, m.index);
    let depth = 0;
    let j = m.index;
    for (; j < s.length; j++) {
      if (s[j] === "<") depth++;
      else if (s[j] === ">" && --depth === 0) break;
    }
    if (depth !== 0) return out + s.slice(m.index); // unbalanced: leave the rest as it is
    out += "<...>";
    i = j + 1;
  }
}

/** Exception-handler messages: the callback's repr is implementation detail. */
export function normalizeHandlerMessage(s: string): string {
  if (s.startsWith("Exception in callback")) return "Exception in callback";
  return normalizeMessage(s);
}


export class Encoder {
  /** Labels of the scenario's own futures (their handle at creation). */
  readonly futureLabels = new WeakMap<object, string>();

  taskName(task: PyTask | null): string | null {
    return task === null ? null : task.get_name();
  }

  exc(e: unknown): ExceptionData {
    // Anything else thrown is a defect of the implementation, not Python behaviour.
    if (!(e instanceof PyBaseException)) throw e;
    const out: ExceptionData = { type: e.type, args: [] };
    if (e.exceptions) {
      out.args = [this.value(e.args[0])];
      out.exceptions = e.exceptions.map((x) => this.exc(x));
    } else {
      out.args = e.args.map((a) => this.value(a));
    }
    if (e.cause) out.cause = this.exc(e.cause);
    return out;
  }

  value(v: unknown): TraceValue {
    if (v === null || v === undefined) return null;
    if (typeof v === "string") return normalizeMessage(v);
    if (typeof v === "boolean" || typeof v === "number") return v;
    if (Array.isArray(v)) return v.map((x) => this.value(x));
    if (v instanceof PyBaseException) return { exc: this.exc(v) };
    if (typeof v === "object" && typeof (v as PyTask).get_name === "function") {
      return { task: (v as PyTask).get_name() };
    }
    const label = typeof v === "object" ? this.futureLabels.get(v as object) : undefined;
    if (label !== undefined) return { future: label };
    return { repr: typeof v === "object" ? "Future" : typeof v };
  }

  /** A set of tasks / futures as a list, ordered by their encodings (as the driver orders them). */
  sorted<T>(objs: T[]): T[] {
    const keyed = objs.map((o) => ({ o, k: canonicalJson(this.value(o)) }));
    return keyed.sort((a, b) => cmp(a.k, b.k)).map((x) => x.o);
  }
}

/** Python's string order (code points). */
function cmp(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function taskState(enc: Encoder, task: PyTask): TaskOutcome {
  if (!task.done()) return { state: "pending" };
  if (task.cancelled()) return { state: "cancelled" };
  const exc = task.exception();
  if (exc !== null) return { state: "exception", exc: enc.exc(exc) };
  return { state: "result", value: enc.value(task.result()) };
}


type Aw = Coroutine | PyFuture;
type StepResult = Return | undefined;

export { CATCHABLE, Return, ScenarioError } from "./flow";

export class ScenarioRun implements StepRunner {
  readonly events: TraceEvent[] = [];
  readonly handles = new Map<string, PyFuture>(); // tasks and futures
  readonly groups = new Map<string, PyTaskGroup>();
  readonly cms = new Map<string, PyTimeout>();
  readonly timers = new Map<string, PyHandle>();
  readonly created: PyTask[] = [];
  private readonly bodies = new Map<string, Step[]>();
  private readonly callbackBodies = new Map<string, Step[]>();
  private readonly callbackFns = new Map<string, DoneCallback & (() => void)>();
  readonly enc = new Encoder();
  loop!: PyEventLoop;
  /** The main task, for the "$main" handle. */
  mainTask: PyTask | null = null;
  /** True while the loop runs (current_task() needs a running loop). */
  private running = false;
  /** gc mode (the scenario uses gc / drop / weakref steps): weak references, by name. */
  gcMode = false;
  /**
   * gc mode, Python 3.12+: a driver frame in an exception's traceback links,
   * once it returns, to the frame that called it (f_back), and that one in
   * turn: the exception keeps the frames of the statements around the one it
   * was raised in (steps).
   */
  framesLinkBack = false;
  /** gc mode: coroutines of unawaited steps not yet destroyed (each records never_awaited at the next collection). */
  private readonly neverAwaited: string[] = [];
  readonly weakrefs = new Map<string, PyFuture>();
  /** What the scenario holds besides its handle tables (the main task): gc roots. */
  readonly gcRoots: unknown[] = [];

  /**
   * The implementation. Functions of features it declares unsupported may be
   * missing: runScenario refuses a scenario that would call one (the runner
   * skips such scenarios before they get here).
   */
  readonly asyncio: CompleteAsyncioImplementation;
  /** The CPython release whose statements (except*) the run follows; undefined: the modelled one. */
  readonly pythonRelease: string | undefined;

  constructor(asyncio: AsyncioImplementation, scenario: Scenario) {
    this.asyncio = asyncio as CompleteAsyncioImplementation;
    this.pythonRelease = asyncio.pythonRelease;
    for (const c of scenario.coroutines) this.bodies.set(c.name, c.body);
    for (const c of scenario.callbacks ?? []) this.callbackBodies.set(c.name, c.body);
  }

  /** List every task the loop creates, in creation order. */
  watch(loop: PyEventLoop): void {
    this.loop = loop;
    const create = loop.create_task.bind(loop);
    loop.create_task = (coro, name, eagerStart) => {
      // eager_start only when given: a loop of before 3.14 refuses the keyword.
      const task = eagerStart === undefined ? create(coro, name) : create(coro, name, eagerStart);
      this.created.push(task);
      return task;
    };
  }

  emit(ev: TraceEvent["ev"], fields: Record<string, unknown> = {}): void {
    // While the collector runs, the coroutines it closes record nothing; its reports are recorded.
    if (this.collecting && ev !== "exception_handler") return;
    const current = this.running ? this.asyncio.current_task() : null;
    this.events.push({ time: this.loop.time(), task: this.enc.taskName(current), ev, ...fields } as TraceEvent);
  }

  // ---- coroutines and callbacks

  *coroutine(name: string): Coroutine<Scalar | undefined> {
    const body = this.bodies.get(name);
    if (body === undefined) throw new ScenarioError(`no coroutine named ${JSON.stringify(name)}`);
    this.emit("enter", { coro: name });
    let r: StepResult;
    try {
      r = yield* this.steps(body);
    } catch (e) {
      this.emit("exit", { coro: name, exc: this.enc.exc(e) });
      throw e;
    }
    const value = r instanceof Return ? r.value : null;
    this.emit("exit", { coro: name, value: this.enc.value(value) });
    return value;
  }

  /** The function object for a scenario callback (one per name, so it can be removed). */
  private callback(name: string): DoneCallback & (() => void) {
    let fn = this.callbackFns.get(name);
    if (fn === undefined) {
      const body = this.callbackBodies.get(name);
      if (body === undefined) throw new ScenarioError(`no callback named ${JSON.stringify(name)}`);
      fn = (...args: unknown[]) => {
        const fields: Record<string, unknown> = { callback: name };
        if (args.length > 0) fields.arg = this.enc.value(args[0]);
        this.emit("callback", fields);
        runSync(this.steps(body));
      };
      this.callbackFns.set(name, fn);
    }
    return fn;
  }

  private lookup<T>(ref: string, table: Map<string, T>): T | null {
    if ((table as Map<string, unknown>) === this.handles && SELF_HANDLES.includes(ref)) {
      // "$current": asyncio.current_task() (null in a callback); "$main": the main task.
      const task = ref === "$main" ? this.mainTask : this.running ? this.asyncio.current_task() : null;
      if (task !== null) return task as unknown as T;
    }
    const obj = table.get(ref);
    if (obj === undefined) {
      this.emit("unbound", { ref });
      return null;
    }
    return obj;
  }

  // ---- awaitables

  /** Build what an `on` spec describes; null when a handle is unbound. */
  private awaitable(spec: Awaitable): Aw | null {
    const a = this.asyncio;
    if ("task" in spec) return this.lookup(spec.task, this.handles);
    if ("coro" in spec) return this.coroutine(spec.coro);
    if ("sleep" in spec) return a.sleep(spec.sleep, spec.result ?? null);
    if ("gather" in spec) return a.gather(this.awaitables(spec.gather), spec.return_exceptions ?? false);
    if ("shield" in spec) {
      const inner = this.awaitable(spec.shield);
      return inner === null ? null : a.shield(inner);
    }
    if ("wait_for" in spec) {
      const inner = this.awaitable(spec.wait_for);
      return inner === null ? null : a.wait_for(inner, spec.timeout);
    }
    if ("wait" in spec) {
      const parts = this.awaitables(spec.wait);
      const coro = this.wait(parts, spec.timeout ?? null, spec.return_when ?? "ALL_COMPLETED");
      // The driver's wait coroutine holds `parts` from the call on (a task
      // ensure_future made for it keeps them before it runs).
      return this.gcMode ? argsHeld([parts], coro) : coro;
    }
    throw new ScenarioError(`unknown awaitable ${JSON.stringify(spec)}`);
  }

  private awaitables(specs: Awaitable[]): Aw[] {
    return specs.map((p) => this.awaitable(p)).filter((p): p is Aw => p !== null);
  }

  /** asyncio.wait, its two sets given back as lists in a stable order (as the driver sorts them). */
  private *wait(parts: Aw[], timeout: number | null, returnWhen: "FIRST_COMPLETED" | "FIRST_EXCEPTION" | "ALL_COMPLETED"): Coroutine {
    const [done, pending] = yield* this.keptOnError([parts], this.asyncio.wait(parts, timeout, returnWhen));
    return [this.enc.sorted(done), this.enc.sorted(pending)];
  }

  private static describe(spec: Awaitable): string {
    if ("task" in spec) return spec.task;
    if ("coro" in spec) return `${spec.coro}()`;
    for (const key of ["sleep", "gather", "shield", "wait_for", "wait"]) if (key in spec) return key;
    return "?";
  }

  /**
   * gc mode: while `body` runs, the task running it holds `held` (what a
   * driver method keeps on its frame's value stack, such as a for loop's
   * iterator); unlike keptOnError, which adds that, an exception does not keep it.
   */
  private onStack<T>(held: unknown[], body: Coroutine<T>): Coroutine<T> {
    // Out of gc mode there is nothing to hold: the body itself, without a
    // generator around it that every resumption of the body would go through.
    return this.gcMode ? this.onStackGc(held, body) : body;
  }

  /**
   * gc mode: the task whose step runs the coroutine now, whose frames hold
   * what the coroutine holds: the loop's `steppingTask()` when it has one
   * (the reference's: on 3.14, current_task() does not see the pure-Python
   * Task, whose frames hold as much), else current_task().
   */
  private steppingTask(): unknown {
    if (!this.running) return null;
    const loop = this.loop as { steppingTask?: () => unknown };
    return typeof loop.steppingTask === "function" ? loop.steppingTask() : this.asyncio.current_task();
  }

  private *onStackGc<T>(held: unknown[], body: Coroutine<T>): Coroutine<T> {
    const task = this.steppingTask();
    const frames = (task as { frameRefs?: unknown[][] } | null)?.frameRefs;
    frames?.push(held);
    try {
      return yield* body;
    } finally {
      const i = frames?.lastIndexOf(held) ?? -1;
      if (i >= 0) frames!.splice(i, 1);
    }
  }

  /**
   * gc mode: what a driver method's frame holds (a TaskGroup or a timeout,
   * which hold their task; as_completed's and wait's parts) is held by the
   * task running it while the method is suspended — for implementations
   * whose tasks list their frames' objects in `frameRefs`, as the
   * reference's do (implementations/reference/gcrefs.ts) — and by an
   * exception leaving it, whose traceback keeps the frame, for as long as
   * the exception lives.
   */
  private keptOnError<T>(held: unknown[], body: Coroutine<T>): Coroutine<T> {
    return this.gcMode ? this.keptOnErrorGc(held, body) : body;
  }

  private *keptOnErrorGc<T>(held: unknown[], body: Coroutine<T>): Coroutine<T> {
    try {
      return yield* this.onStackGc(held, body);
    } catch (e) {
      if (e instanceof PyBaseException) keptByError(e, held);
      throw e;
    }
  }

  /**
   * gc mode: a `raise` step's exception, raised while the implementation's
   * own frames under the running coroutine handle an exception (the
   * pure-Python Task steps its coroutine inside __wakeup's except block),
   * gets that one as its __context__, as Python's raise sets it; an except
   * block of the scenario around the raise sets its own at exit
   * (whileHandling). For implementations whose tasks say so through
   * `handledUnderStep()`, as the reference's do.
   */
  private raisedUnderStep(e: PyBaseException): PyBaseException {
    if (!this.gcMode || !this.running) return e;
    const task = this.steppingTask() as { handledUnderStep?: () => PyBaseException | null } | null;
    const handled = task?.handledUnderStep?.() ?? null;
    if (handled !== null && handled !== e) setContext(e, handled);
    return e;
  }

  /**
   * gc mode: e, if the implementation raised it fresh (it has no
   * __context__ yet), chained as raisedUnderStep chains a `raise` step's.
   */
  private raisedFresh(e: unknown): void {
    if (e instanceof PyBaseException && e.context === null) this.raisedUnderStep(e);
  }

  /**
   * gc mode: an exception raised while `handled` is being handled (in an
   * except clause's body, or a finally block it passes through) gets it as
   * its __context__, as Python's raise does — and so keeps it alive.
   * Meanwhile the frame holds `handled` (the `except ... as e` variable, the
   * exception a finally block keeps on the frame's stack to re-raise it, the
   * coroutine's exc_info): a task suspended in such a block keeps it alive,
   * with what its traceback's frames hold.
   */
  whileHandling<T>(handled: unknown, body: Coroutine<T>): Coroutine<T> {
    return this.gcMode ? this.whileHandlingGc(handled, body) : body;
  }

  private *whileHandlingGc<T>(handled: unknown, body: Coroutine<T>): Coroutine<T> {
    try {
      return yield* (handled instanceof PyBaseException ? this.onStackGc([handled], body) : body);
    } catch (e) {
      if (e instanceof PyBaseException && handled instanceof PyBaseException && e !== handled) {
        setContext(e, handled);
      }
      throw e;
    }
  }

  private *awaitStep(on: Awaitable, frame: unknown[]): Coroutine<void> {
    const aw = this.awaitable(on);
    if (aw === null) return;
    frame.push(aw);
    // awaitRecorded, written out here: one generator fewer for every resumption of what is awaited.
    const desc = ScenarioRun.describe(on);
    let value: unknown;
    try {
      value = yield* ("__await__" in aw ? aw.__await__() : aw);
    } catch (e) {
      // gc mode: what asyncio's own code raises fresh here (wait([])'s
      // ValueError, ...) is raised while the step's handled exception is
      // on the stack (raisedUnderStep). Not what the scenario's code run
      // inline raises (a coroutine, wait_for's on 3.12+): chained where it
      // is raised, or, in flight through a finally block that suspended,
      // not chained again.
      if (this.gcMode && !runsCodeInline(on)) this.raisedFresh(e);
      this.awaitFailed(desc, aw, e);
      throw e;
    }
    this.emit("awaited", { on: desc, value: this.enc.value(value) });
    frame.push(value);
  }

  private *awaitRecorded(on: string, aw: Aw): Coroutine {
    let value: unknown;
    try {
      value = yield* ("__await__" in aw ? aw.__await__() : aw);
    } catch (e) {
      this.awaitFailed(on, aw, e);
      throw e;
    }
    this.emit("awaited", { on, value: this.enc.value(value) });
    return value;
  }

  /** Record an await that raised `e`. */
  private awaitFailed(on: string, aw: Aw, e: unknown): void {
    // The exception has a new traceback now: a part except* derived from it
    // before is no longer a re-raise of it (exceptstar.ts noteRaised).
    if (e instanceof PyBaseException) noteRaised(e);
    this.emit("awaited", { on, exc: this.enc.exc(e) });
    // gc mode: the exception's traceback keeps this frame, and so what it awaited (the driver's `aw`).
    if (this.gcMode && e instanceof PyBaseException) {
      const tb = e as PyBaseException & { gcRefs?: unknown[] };
      (tb.gcRefs ??= []).push(aw);
    }
  }

  makeException(spec: ExceptionSpec): PyBaseException {
    if ((spec.type as string) === "Exception" || (spec.type as string) === "BaseException") {
      throw new ScenarioError(`cannot raise ${spec.type}`);
    }
    if (spec.type === "ExceptionGroup" || spec.type === "BaseExceptionGroup") {
      const args = spec.args ?? [];
      const children = (spec.exceptions ?? []).map((x) => this.makeException(x));
      const allExceptions = children.every((x) => isinstance(x, "Exception"));
      if (spec.type === "ExceptionGroup" && !allExceptions) {
        throw pyexc("TypeError", "Cannot nest BaseExceptions in an ExceptionGroup"); // raised by the constructor
      }
      // BaseExceptionGroup(msg, excs) makes an ExceptionGroup when every member is an Exception.
      return new PyBaseException(allExceptions ? "ExceptionGroup" : "BaseExceptionGroup", [args.length ? args[0] : ""], children);
    }
    return pyexc(spec.type, ...(spec.args ?? []));
  }

  // ---- steps

  /**
   * Run a body's statements. gc mode on 3.12+ (framesLinkBack): an
   * exception raised in a statement has the driver's frame of that
   * statement in its traceback. When a frame object outlives its call,
   * CPython 3.12+ links it, as it returns, to the frame object of its caller
   * (f_back; 3.11 clears a finished coroutine frame's link to its caller
   * first), and so on down the calls: the exception keeps the frames of the
   * statements around the one it left — a timeout or a TaskGroup around it
   * (which hold their task), an as_completed, an await of a coroutine —
   * each with what it holds when it returns, for as long as the exception
   * lives, even when a `try` inside them caught it. CPython 3.12.1, the
   * driver walked with gc.get_referrers at the final collection: a finished
   * task <- Timeout <- frame op_timeout (cm) <- frame steps <- frame step <-
   * frame op_try <- tb <- a TimeoutError caught in the timeout's body, kept
   * by the gather whose child raised it (`diff reference@3.12 cpython-3.12
   * --size large --seed 611`; 3.13 alike, 3.11 not).
   */
  *steps(steps: Step[]): Coroutine<StepResult> {
    try {
      for (const s of steps) {
        const r = ASYNC_OPS.has(s.op) ? yield* this.step(s) : this.syncStep(s);
        if (r instanceof Return) return r;
      }
      return undefined;
    } catch (e) {
      if (this.framesLinkBack && e instanceof PyBaseException) this.keptByCallers(e);
      throw e;
    }
  }

  /**
   * 3.12+ gc mode: `e`, raised in a frame of the task stepping now, keeps
   * the frames its frame was called from (steps): what the
   * task's frames hold (frameRefs) now, and later, until they return.
   */
  private keptByCallers(e: PyBaseException): void {
    const frames = (this.steppingTask() as { frameRefs?: unknown[][] } | null)?.frameRefs;
    if (frames !== undefined && frames.length > 0) keptByError(e, frames.slice());
  }

  /**
   * Record what a synchronous method call of `target` returns or raises;
   * never propagate. gc mode: what the call raises has the driver's probe
   * frame in its traceback, and that frame holds the call (`fut.result`, a
   * bound method, or a lambda over the op's frame), so `target`: an
   * exception kept elsewhere keeps it alive (CPython 3.11.7, the reproducer
   * walked with gc.get_referrers: the task t0 <- its bound result method <-
   * frame probe <- traceback <- the ValueError a shield's outer future
   * holds; `diff reference@3.11 cpython-3.11 --size large --seed 630`).
   */
  private probe(ev: TraceEvent["ev"], ref: string, target: unknown, call: () => unknown): void {
    let value: unknown;
    try {
      value = call();
    } catch (e) {
      // (A future's result() gives its exception a traceback: except*, exceptstar.ts noteRaised.)
      if (e instanceof PyBaseException) noteRaised(e);
      if (this.gcMode && e instanceof PyBaseException) keptByError(e, [target]);
      if (this.framesLinkBack && e instanceof PyBaseException) this.keptByCallers(e);
      this.emit(ev, { ref, exc: this.enc.exc(e) });
      return;
    }
    this.emit(ev, { ref, value: this.enc.value(value) });
  }

  /**
   * A step that may suspend (await something); every other step runs in
   * syncStep, without a generator of its own: most steps are synchronous,
   * and a generator made and resumed for each was a good part of a run.
   */
  private *step(s: Step): Coroutine<StepResult> {
    const a = this.asyncio;
    switch (s.op) {
      case "sleep":
        yield* a.sleep(s.ticks);
        return;
      case "call":
        yield* this.coroutine(s.coro);
        return;
      case "await": {
        // gc mode: the driver's op_await frame holds `aw`, and the value it
        // gets, until it returns; a frame object keeps them after (an
        // eager task failing in its first step, inside this awaitable,
        // keeps the calling frames through its traceback: tasks.ts).
        const frame: unknown[] = [];
        yield* this.onStack([frame], this.awaitStep(s.on, frame));
        return;
      }
      case "try":
        return s.star ? yield* runTryStar(this, s) : yield* this.tryStep(s);
      case "taskgroup": {
        const group = a.TaskGroup();
        this.groups.set(s.group, group);
        return yield* this.keptOnError([group], this.asyncWith(group, s.body));
      }
      case "timeout": {
        const cm = s.at ? a.timeout_at(s.delay) : a.timeout(s.delay);
        if (s.cm !== undefined) this.cms.set(s.cm, cm);
        return yield* this.keptOnError([cm], this.asyncWith(cm, s.body));
      }
      case "as_completed": {
        // Coroutines get a pinned hash, as the driver's PinnedCoroutine: as_completed
        // wraps its inputs in tasks in the order of a set.
        const parts: Aw[] = [];
        for (const spec of s.on) {
          let p = this.awaitable(spec);
          if (p === null) continue;
          if ("coro" in spec) {
            if (this.gcMode) p = pinnedThrowKeeps(p as Coroutine);
            this.pinHash(p);
          }
          parts.push(p);
        }
        // The driver's frame: its locals `parts` and (async mode) `fut`, the item in hand.
        const locals: unknown[] = [parts];
        yield* this.keptOnError(locals, this.asCompleted(parts, s.timeout ?? null, s.mode ?? "iter", locals));
        return;
      }
      default:
        return this.syncStep(s);
    }
  }

  /**
   * A step that never suspends (ASYNC_OPS lists the others). gc mode: what
   * the implementation raises there fresh (a TaskGroup's RuntimeError, an
   * AttributeError of the driver's) is raised while the step's handled
   * exception is on the stack, and gets it as its __context__
   * (raisedUnderStep), as a `raise` step's does.
   */
  private syncStep(s: Step): StepResult {
    if (!this.gcMode) return this.syncStepBody(s);
    try {
      return this.syncStepBody(s);
    } catch (e) {
      this.raisedFresh(e);
      throw e;
    }
  }

  private syncStepBody(s: Step): StepResult {
    const a = this.asyncio;
    switch (s.op) {
      case "log":
        this.emit("log", { label: s.label });
        return;
      case "create_task": {
        let task: PyTask;
        if (s.group !== undefined) {
          const group = this.lookup(s.group, this.groups);
          if (group === null) return;
          try {
            task = s.eager_start === undefined
              ? group.create_task(this.coroutine(s.coro), s.name ?? null)
              : group.create_task(this.coroutine(s.coro), s.name ?? null, s.eager_start);
          } catch (e) {
            // gc mode: an exception leaving create_task (a finished or
            // shutting-down group's RuntimeError) has in its traceback the
            // driver's op_create_task frame (local group) and TaskGroup.
            // create_task's (self): it keeps the group, which holds its
            // parent task (3.11-3.13.0). CPython 3.13.0, the reproducer
            // walked with gc.get_referrers at the final collection: a done
            // task <- TaskGroup <- frames group_task (group), create_task
            // (self) <- the RuntimeError's traceback <- the task it ended.
            if (this.gcMode && e instanceof PyBaseException) keptByError(e, [group]);
            throw e;
          }
        } else {
          task = s.eager_start === undefined
            ? a.create_task(this.coroutine(s.coro), s.name ?? null)
            : a.create_task(this.coroutine(s.coro), s.name ?? null, s.eager_start);
        }
        this.handles.set(s.task, task);
        this.emit("create_task", { ref: s.task, name: task.get_name() });
        return;
      }
      case "cancel": {
        const fut = this.lookup(s.task, this.handles);
        if (fut !== null) this.emit("cancel", { ref: s.task, returned: s.msg !== undefined ? fut.cancel(s.msg) : fut.cancel() });
        return;
      }
      case "inspect": {
        const fut = this.lookup(s.task, this.handles);
        if (fut === null) return;
        const fields: Record<string, unknown> = { ref: s.task, done: fut.done(), cancelled: fut.cancelled() };
        if (isTask(fut)) {
          fields.cancelling = fut.cancelling();
          fields.name = fut.get_name();
        }
        this.emit("inspect", fields);
        return;
      }
      case "raise":
        throw this.raisedUnderStep(this.makeException(s.exc));
      case "return":
        return new Return(s.value ?? null);
      case "unawaited":
        // A coroutine object made and dropped: destroyed at once by reference
        // counting, or in gc mode at the next collection (gcCollect).
        this.coroutine(s.coro);
        if (this.gcMode) this.neverAwaited.push(s.coro);
        else this.emit("never_awaited", { coro: s.coro });
        return;
      case "ensure_future": {
        // asyncio.ensure_future: a future stays itself (gather's, shield's,
        // a handle's); a coroutine becomes a task of loop.create_task.
        const aw = this.awaitable(s.on);
        if (aw === null) return;
        const fut = "__await__" in aw ? aw : this.loop.create_task(aw);
        this.handles.set(s.future, fut);
        this.emit("ensure_future", { ref: s.future, future: this.enc.value(fut) });
        return;
      }
      case "create_future": {
        const fut = this.loop.create_future();
        this.enc.futureLabels.set(fut, s.future);
        this.handles.set(s.future, fut);
        this.emit("create_future", { ref: s.future });
        return;
      }
      case "set_result": {
        const fut = this.lookup(s.future, this.handles);
        if (fut !== null) this.probe("set_result", s.future, fut, () => fut.set_result(s.value ?? null));
        return;
      }
      case "set_exception": {
        const fut = this.lookup(s.future, this.handles);
        if (fut !== null) {
          const exc = this.makeException(s.exc);
          this.probe("set_exception", s.future, fut, () => fut.set_exception(exc));
        }
        return;
      }
      case "result": {
        const fut = this.lookup(s.task, this.handles);
        if (fut !== null) this.probe("result", s.task, fut, () => fut.result());
        return;
      }
      case "exception": {
        const fut = this.lookup(s.task, this.handles);
        if (fut !== null) this.probe("exception", s.task, fut, () => fut.exception());
        return;
      }
      case "uncancel": {
        const task = this.lookup(s.task, this.handles);
        if (task !== null) this.probe("uncancel", s.task, task, () => asTask(task, "uncancel").uncancel());
        return;
      }
      case "set_name": {
        const task = this.lookup(s.task, this.handles);
        if (task !== null) asTask(task, "set_name").set_name(s.name);
        return;
      }
      case "current_task":
        this.emit("current_task", { name: this.enc.taskName(a.current_task()) });
        return;
      case "all_tasks":
        this.emit("all_tasks", { names: a.all_tasks().map((t) => t.get_name()).sort(cmp) });
        return;
      case "add_done_callback": {
        const fut = this.lookup(s.task, this.handles);
        if (fut !== null) fut.add_done_callback(this.callback(s.callback));
        return;
      }
      case "remove_done_callback": {
        const fut = this.lookup(s.task, this.handles);
        if (fut !== null) {
          const returned = fut.remove_done_callback(this.callback(s.callback));
          this.emit("remove_done_callback", { ref: s.task, callback: s.callback, returned });
        }
        return;
      }
      case "call_soon":
        this.bindTimer(s.handle, this.loop.call_soon(this.callback(s.callback)));
        return;
      case "call_later":
        this.bindTimer(s.handle, this.loop.call_later(s.delay, this.callback(s.callback)));
        return;
      case "call_at":
        this.bindTimer(s.handle, this.loop.call_at(s.when, this.callback(s.callback)));
        return;
      case "cancel_handle": {
        const h = this.lookup(s.handle, this.timers);
        if (h !== null) h.cancel();
        return;
      }
      case "new_taskgroup":
        this.groups.set(s.group, a.TaskGroup());
        return;
      case "reschedule": {
        const cm = this.lookup(s.cm, this.cms);
        if (cm === null) return;
        try {
          cm.reschedule(s.delay === null || s.at ? s.delay : this.loop.time() + s.delay);
        } catch (e) {
          // gc mode: the RuntimeError of a finished (or expiring) timeout has
          // in its traceback Timeout.reschedule's frame (self) and the
          // driver's op_reschedule (cm): it keeps the timeout, which holds the
          // task that entered it. CPython 3.12.1, the reproducer walked with
          // gc.get_referrers at the final collection: a finished task <-
          // Timeout <- frame reschedule (self) <- tb <- the RuntimeError <-
          // the task it ended.
          if (this.gcMode && e instanceof PyBaseException) keptByError(e, [cm]);
          throw e;
        }
        return;
      }
      case "inspect_timeout": {
        const cm = this.lookup(s.cm, this.cms);
        if (cm !== null) this.emit("inspect_timeout", { ref: s.cm, when: this.enc.value(cm.when()), expired: cm.expired() });
        return;
      }
      // gc mode: weak references and garbage collection (see gcCollect)
      case "gc":
        this.gcCollect();
        return;
      case "drop":
        if (this.lookup(s.handle, this.handles) !== null) this.handles.delete(s.handle);
        return;
      case "weakref": {
        const obj = this.lookup(s.task, this.handles);
        if (obj !== null) this.weakrefs.set(s.ref, obj);
        return;
      }
      case "inspect_weakref": {
        const obj = this.lookup(s.ref, this.weakrefs);
        if (obj !== null) this.emit("weakref", { ref: s.ref, alive: this.asyncio.gc_alive!(obj) });
        return;
      }
      default:
        throw new ScenarioError(`unknown op ${JSON.stringify((s as { op: unknown }).op)}`);
    }
  }

  /**
   * gc.collect(), as the driver's GcState defines it: everything the
   * scenario no longer holds (its handle tables, the main task) and the
   * loop cannot reach is destroyed; the reports reach the exception
   * handler in creation order. (Weak references are not roots.)
   */
  gcCollect(): void {
    // The coroutines of unawaited steps go first: the driver releases its
    // limbo before gc.collect() and records them before the reports.
    for (const name of this.neverAwaited.splice(0)) this.emit("never_awaited", { coro: name });
    const roots: unknown[] = [...this.gcRoots, ...this.handles.values(), ...this.groups.values(), ...this.cms.values(), ...this.timers.values()];
    this.collecting = true;
    try {
      this.asyncio.gc_collect!(this.loop, roots);
    } finally {
      this.collecting = false;
    }
  }

  /** gc.collect() is running (gcCollect): what the coroutines it closes would emit is not recorded, as by the driver. */
  collecting = false;

  /** Give a coroutine object the next hash of the loop's counter (implementations that pin hashes have loop.nextHash). */
  private pinHash(coro: Aw): void {
    const next = (this.loop as { nextHash?: () => number }).nextHash;
    if (next !== undefined) (coro as { pyHash?: number }).pyHash = next.call(this.loop);
  }

  private bindTimer(name: string | undefined, handle: PyHandle): void {
    if (name !== undefined) this.timers.set(name, handle);
  }

  /** async with cm: body — Python's protocol: __aexit__ sees the exception and may suppress it. */
  private *asyncWith(cm: PyAsyncContextManager, body: Step[]): Coroutine<StepResult> {
    yield* cm.__aenter__();
    let r: StepResult;
    try {
      r = yield* this.steps(body);
    } catch (e) {
      if (!(e instanceof PyBaseException)) throw e;
      // gc mode: the body's exception has passed through the driver's frame
      // of the `async with` (its traceback has an entry for it, made before
      // __aexit__ is called), and that frame's locals hold the context
      // manager: a TaskGroup (3.11-3.13.0: its parent task), a timeout (its
      // task). CPython 3.13.0, the driver walked with gc.get_referrers: a
      // dropped task <- TaskGroup <- frame op_taskgroup <- tb <- a ValueError
      // raised in the group's body, kept by the task that raised it.
      if (this.gcMode) keptByError(e, [cm]);
      if (!(yield* cm.__aexit__(e))) throw e;
      return undefined;
    }
    yield* cm.__aexit__(null);
    return r;
  }

  private *asCompleted(parts: Aw[], timeout: number | null, mode: "iter" | "async", locals: unknown[]): Coroutine {
    const it = this.asyncio.as_completed(parts, timeout);
    // gc mode: the for loop's iterator is on the frame's value stack, held
    // while the loop runs; an exception leaving the frame takes it off (a
    // traceback keeps a frame's locals, not its stack).
    return yield* this.onStack([it], this.iterate(it, mode, locals));
  }

  /**
   * The loop over as_completed. `locals` is the driver frame's (held while
   * it runs, and by an exception leaving it): `async for fut in ...` binds
   * each item to the local `fut`, which keeps the last one after the loop
   * has moved on to wait for the next.
   */
  private *iterate(it: PyAsCompleted, mode: "iter" | "async", locals: unknown[]): Coroutine {
    if (mode === "async") {
      // Before 3.13 as_completed returns a plain generator, which `async for` rejects.
      if (!it.__anext__) throw pyexc("TypeError", "'async for' requires an object with __aiter__ method, got generator");
      for (;;) {
        let fut: PyFuture;
        try {
          fut = (yield* it.__anext__()) as PyFuture;
        } catch (e) {
          if (isinstance(e, "StopAsyncIteration")) return;
          throw e;
        }
        locals[1] = fut;
        this.emit("as_completed", { item: this.enc.value(fut) });
        yield* this.awaitRecorded("as_completed", fut);
      }
    }
    for (let aw = it.__next__(); aw !== undefined; aw = it.__next__()) {
      yield* this.awaitRecorded("as_completed", aw);
    }
  }

  /** try / except / finally, as Python runs it (a return in finally wins). */
  private *tryStep(s: TryStep): Coroutine<StepResult> {
    let result: StepResult;
    let leaving: unknown = null; // the exception leaving the try statement, which `finally` runs under
    let closed = false; // the collector's GeneratorExit came in (isCollectorClose)
    try {
      try {
        result = yield* this.steps(s.body ?? []);
      } catch (e) {
        if (!(e instanceof PyBaseException)) throw e;
        closed = isCollectorClose(this, e);
        const handler = (s.except ?? []).find((h) => {
          if (!CATCHABLE.has(h.type)) throw new ScenarioError(`unknown exception type ${h.type}`);
          return isinstance(e, h.type);
        });
        if (handler === undefined) throw e;
        this.emit("caught", { exc: this.enc.exc(e) });
        result = yield* this.whileHandling(e, this.steps(handler.body ?? []));
        if (handler.reraise && !(result instanceof Return)) throw e;
      }
    } catch (e) {
      leaving = e;
      throw e;
    } finally {
      const final = yield* this.whileHandling(leaving, this.steps(s.finally ?? []));
      // Ending normally after the collector's GeneratorExit: the caller's coroutine is closed next.
      // eslint-disable-next-line no-unsafe-finally
      if (final instanceof Return) return closed ? closeAgain() : final;
    }
    return closed ? closeAgain() : result;
  }

  /** Run the loop until fut is done and say how the run ended. */
  runLoop(fut: PyFuture): RunEnd {
    this.running = true;
    try {
      this.loop.run_until_complete(fut);
      return { kind: "complete" };
    } catch (e) {
      if (e instanceof Deadlock) return { kind: "deadlock" };
      if (e instanceof IterationLimit) return { kind: "iteration_limit" };
      if (isinstance(e, "KeyboardInterrupt") || isinstance(e, "SystemExit")) {
        return { kind: "interrupted", exc: this.enc.exc(e) };
      }
      if (e instanceof PyBaseException) {
        // run_until_complete re-raises the main task's exception: that is
        // the main task's outcome, recorded separately.
        if (fut.done()) return { kind: "complete" };
        return { kind: "error", exc: this.enc.exc(e) };
      }
      throw e;
    } finally {
      this.running = false;
    }
  }
}

/** Whether awaiting `on` runs a scenario coroutine in the awaiting task's own step (not wrapped in a task). */
function runsCodeInline(on: Awaitable): boolean {
  return "coro" in on || ("wait_for" in on && runsCodeInline(on.wait_for));
}

/**
 * exc.__context__ = handled, as Python's raise sets it: first cutting the
 * link that would make the chain a cycle (handled's chain already reaching
 * exc).
 */
function setContext(exc: PyBaseException, handled: PyBaseException): void {
  const seen = new Set<PyBaseException>();
  for (let o: PyBaseException | null | undefined = handled; o != null && !seen.has(o); o = o.context) {
    seen.add(o);
    if (o.context === exc) {
      o.context = null;
      break;
    }
  }
  exc.context = handled;
}

function isTask(f: PyFuture): f is PyTask {
  return typeof (f as PyTask).get_name === "function";
}

function asTask(f: PyFuture, attribute: string): PyTask {
  // A Future has no uncancel / set_name: the call fails as it does in Python.
  if (!isTask(f)) throw pyexc("AttributeError", `'Future' object has no attribute '${attribute}'`);
  return f;
}

/** Run a generator that never suspends (a callback body) to completion. */
function runSync(gen: Coroutine<StepResult>): void {
  const r = gen.next();
  if (!r.done) {
    gen.return(undefined);
    throw new ScenarioError("a callback body awaited");
  }
}

/** The ops whose step may suspend (ScenarioRun.step); the others run in ScenarioRun.syncStep. */
const ASYNC_OPS: ReadonlySet<string> = new Set(["sleep", "call", "await", "try", "taskgroup", "timeout", "as_completed"]);

/** The features (ops) that put a scenario in gc mode: spec/scenario/types.ts usesGc. */
const GC_FEATURES: ReadonlySet<string> = new Set(GC_OPS);

/**
 * Run one scenario on an implementation and return the trace.
 *
 * Every task the implementation creates must go through `loop.create_task`
 * (as CPython's asyncio.create_task, ensure_future and gather do): the
 * interpreter wraps that method on the loop to list tasks in creation order,
 * as the Python driver overrides it in its loop subclass.
 */
export function runScenario(impl: AsyncioImplementation, written: Scenario): Trace {
  let scenario: Scenario;
  try {
    scenario = expandScenario(written); // repeat steps written out (spec/scenario/repeat.ts)
  } catch (e) {
    throw new ScenarioError((e as Error).message);
  }
  // A feature newer than the modelled Python is refused before the run, in
  // the Python driver's words ("unsupported feature eager on Python 3.11").
  const features = scenarioFeatures(scenario);
  const tooNew = features.find((f) => FEATURE_VERSIONS[f] !== undefined && compareVersions(FEATURE_VERSIONS[f], impl.pythonVersion) > 0);
  if (tooNew !== undefined) throw new ScenarioError(`unsupported feature ${tooNew} on Python ${impl.pythonVersion}`);
  if (!scenario.coroutines.some((c) => c.name === "main")) throw new ScenarioError("no coroutine named 'main'");
  const lacking = lackingFunction(impl, scenario);
  if (lacking !== null) throw new ScenarioError(lacking);
  const run = new ScenarioRun(impl, scenario);
  const loop = impl.new_event_loop();
  run.watch(loop);
  run.gcMode = features.some((f) => GC_FEATURES.has(f)); // usesGc(scenario), from the features already found
  run.framesLinkBack = run.gcMode && compareVersions(impl.pythonVersion, "3.12") >= 0;
  if (run.gcMode && (!impl.gc_collect || !impl.gc_alive)) throw new ScenarioError("gc steps are not supported by this implementation");
  if (scenario.eager) {
    if (!impl.use_eager_task_factory) throw new ScenarioError("eager tasks are not supported by this implementation");
    impl.use_eager_task_factory(loop);
  }
  loop.set_exception_handler((ctx) => {
    const message = String(ctx.message);
    // Reports made when an object is destroyed depend on garbage collection
    // timing; the driver leaves them out too.
    // In gc mode they are recorded at gc steps (gcCollect), naming the object.
    const destroyed = message.includes("never retrieved") || message.includes("destroyed but it is pending");
    if (destroyed && !run.gcMode) return;
    const fields: Record<string, unknown> = { message: destroyed ? message : normalizeHandlerMessage(message) };
    if (ctx.exception) fields.exc = run.enc.exc(ctx.exception);
    if (destroyed) fields.of = run.enc.value(ctx.task ?? ctx.future);
    run.emit("exception_handler", fields);
  });
  try {
    const main = loop.create_task(run.coroutine("main"));
    run.mainTask = main;
    run.gcRoots.push(main);
    const end = run.runLoop(main);
    if (run.gcMode) {
      // The end of the main run is a gc point too (no task is running), and
      // collected tasks leave the list (the driver's list is weak).
      run.gcCollect();
      const alive = run.created.filter((t) => impl.gc_alive!(t));
      run.created.length = 0;
      run.created.push(...alive);
    }
    const names = handleNames(run);
  const tasks = run.created.map((t) => ({ name: t.get_name(), ref: names.get(t) ?? null, ...taskState(run.enc, t) }));
    const mainState = taskState(run.enc, main);
    const trace: Trace = { events: run.events, end, main: mainState, tasks };
    // Shut down as asyncio.run does, deterministically: cancel what is left
    // in creation order and wait for it.
    const pending = run.created.filter((t) => !t.done());
    if (pending.length > 0 && (end.kind === "complete" || end.kind === "interrupted")) {
      run.emit("shutdown");
      for (const t of pending) t.cancel();
      trace.shutdown = run.runLoop(gatherAtShutdown(impl, loop, pending));
    }
    trace.events = [...run.events];
    return trace;
  } finally {
    loop.set_exception_handler(() => {});
    loop.close();
  }
}

/**
 * The first handle (in the scenario's order) naming each object: one pass
 * over the handles, not one per task (quadratic at 10,000 tasks).
 */
function handleNames(run: ScenarioRun): Map<unknown, string> {
  const names = new Map<unknown, string>();
  for (const [ref, obj] of run.handles) if (!names.has(obj)) names.set(obj, ref);
  return names;
}

const FEATURE_FUNCTION_ENTRIES: ReadonlyArray<readonly [string, readonly string[]]> = Object.entries(FEATURE_FUNCTIONS);

/** Why the scenario cannot run: it uses a feature whose function the implementation left out; null when it can. */
function lackingFunction(impl: AsyncioImplementation, scenario: Scenario): string | null {
  let features: string[] | null = null;
  for (const [name, needs] of FEATURE_FUNCTION_ENTRIES) {
    // Whether the function is there first: it nearly always is, and then what the scenario uses does not matter.
    if (typeof (impl as unknown as Record<string, unknown>)[name] === "function") continue;
    features ??= scenarioFeatures(scenario);
    const used = needs.filter((f) => features!.includes(f));
    if (used.length > 0) {
      return `the scenario uses ${used.join(", ")}, and ${impl.id} has no ${name} (declared unsupported)`;
    }
  }
  return null;
}

/**
 * What the shutdown waits for: asyncio.gather(*pending, return_exceptions=True),
 * as asyncio.run (and the Python driver) does. An implementation without
 * gather gets the same wait from its loop's own futures: one done callback
 * per task, added in creation order as gather adds them, so that the loop
 * runs the same callbacks in the same order.
 */
function gatherAtShutdown(impl: AsyncioImplementation, loop: PyEventLoop, pending: PyTask[]): PyFuture {
  if (impl.gather !== undefined && !(impl.unsupported ?? []).includes("gather")) return impl.gather(pending, true);
  const allDone = loop.create_future();
  let left = pending.length;
  for (const task of pending) {
    task.add_done_callback(() => {
      if (--left === 0) allDone.set_result(null);
    });
  }
  return allDone;
}
