/**
 * Runs a scenario on any TypeScript implementation of harness/api.ts and
 * returns its trace.
 *
 * This is the TypeScript twin of the interpreter in
 * implementations/python/aiospec_driver.py: the two must give every step the
 * same meaning, event for event, so that a difference between traces is a
 * difference between implementations and never between interpreters.
 */
import {
  AsyncioImplementation, Coroutine, Deadlock, IterationLimit, PyEventLoop, PyFuture, PyTask,
} from "./api";
import { PyBaseException, isinstance, pyexc } from "./pyexc";
import type { Awaitable, ExceptionSpec, Scenario, Scalar, Step, TryStep } from "../spec/scenario/types";
import type { ExceptionData, RunEnd, TaskOutcome, Trace, TraceEvent, TraceValue } from "../spec/scenario/trace";

// Reprs of asyncio objects carry addresses; messages embedding one are
// compared with the repr elided (same pattern as the Python driver).
const REPR = /<(?:Task|Future|_GatheringFuture|TaskGroup|coroutine|Handle|TimerHandle)\b[^<>]*(?:<[^<>]*>[^<>]*)*>/g;

export function normalizeMessage(s: string): string {
  return s.replace(REPR, "<...>");
}

class Return {
  constructor(readonly value: Scalar | undefined) {}
}

/** The scenario is malformed in a way the interpreter cannot run. */
export class ScenarioError extends Error {}

export function encodeException(e: PyBaseException, enc: Encoder): ExceptionData {
  const out: ExceptionData = { type: e.type, args: [] };
  if (e.exceptions) {
    out.args = [enc.value(e.args[0])];
    out.exceptions = e.exceptions.map((x) => encodeException(x, enc));
  } else {
    out.args = e.args.map((a) => enc.value(a));
  }
  return out;
}

class Encoder {
  taskName(task: PyTask | null): string | null {
    return task === null ? null : task.get_name();
  }
  exc(e: unknown): ExceptionData {
    if (e instanceof PyBaseException) return encodeException(e, this);
    // Anything else thrown is a defect of the implementation, not Python behaviour.
    throw e;
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
    return { repr: typeof v };
  }
}

function taskState(enc: Encoder, task: PyTask): TaskOutcome {
  if (!task.done()) return { state: "pending" };
  if (task.cancelled()) return { state: "cancelled" };
  const exc = task.exception();
  if (exc !== null) return { state: "exception", exc: enc.exc(exc) };
  return { state: "result", value: enc.value(task.result()) };
}

const CATCHABLE = new Set([
  "ValueError", "KeyError", "RuntimeError", "CustomError", "KeyboardInterrupt", "SystemExit",
  "CancelledError", "TimeoutError", "Exception", "BaseException",
]);

export class ScenarioRun {
  readonly events: TraceEvent[] = [];
  readonly handles = new Map<string, PyTask>();
  readonly created: PyTask[] = [];
  private readonly bodies = new Map<string, Step[]>();
  readonly enc = new Encoder();
  loop!: PyEventLoop;
  /** True while the loop runs (current_task() needs a running loop). */
  private running = false;

  constructor(readonly asyncio: AsyncioImplementation, scenario: Scenario) {
    for (const c of scenario.coroutines) this.bodies.set(c.name, c.body);
  }

  emit(ev: TraceEvent["ev"], fields: Record<string, unknown> = {}): void {
    const current = this.running ? this.asyncio.current_task() : null;
    this.events.push({ time: this.loop.time(), task: this.enc.taskName(current), ev, ...fields } as TraceEvent);
  }

  /** List every task the loop creates, in creation order. */
  watch(loop: PyEventLoop): void {
    this.loop = loop;
    const create = loop.create_task.bind(loop);
    loop.create_task = (coro, name) => {
      const task = create(coro, name);
      this.created.push(task);
      return task;
    };
  }

  *coroutine(name: string): Coroutine<Scalar | undefined> {
    const body = this.bodies.get(name);
    if (body === undefined) throw new ScenarioError(`no coroutine named ${JSON.stringify(name)}`);
    this.emit("enter", { coro: name });
    let r: Return | undefined;
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

  private lookup(ref: string): PyTask | null {
    const task = this.handles.get(ref);
    if (task === undefined) {
      this.emit("unbound", { ref });
      return null;
    }
    return task;
  }

  /** Build what an `on` spec describes; null when a handle is unbound. */
  private awaitable(spec: Awaitable): Coroutine | PyFuture | null {
    if ("task" in spec) return this.lookup(spec.task);
    if ("coro" in spec) return this.coroutine(spec.coro);
    if ("sleep" in spec) return this.asyncio.sleep(spec.sleep, spec.result ?? null);
    if ("gather" in spec) {
      const parts = spec.gather.map((p) => this.awaitable(p)).filter((p): p is Coroutine | PyFuture => p !== null);
      return this.asyncio.gather(parts, spec.return_exceptions ?? false);
    }
    throw new ScenarioError(`unknown awaitable ${JSON.stringify(spec)}`);
  }

  private static describe(spec: Awaitable): string {
    if ("task" in spec) return spec.task;
    if ("coro" in spec) return `${spec.coro}()`;
    if ("sleep" in spec) return "sleep";
    return "gather";
  }

  private *await(aw: Coroutine | PyFuture): Coroutine {
    return yield* ("__await__" in aw ? aw.__await__() : aw);
  }

  private makeException(spec: ExceptionSpec): PyBaseException {
    if (spec.type === ("Exception" as string) || spec.type === ("BaseException" as string)) {
      throw new ScenarioError(`cannot raise ${spec.type}`);
    }
    return pyexc(spec.type, ...(spec.args ?? []));
  }

  *steps(steps: Step[]): Coroutine<Return | undefined> {
    for (const s of steps) {
      const r = yield* this.step(s);
      if (r instanceof Return) return r;
    }
    return undefined;
  }

  private *step(s: Step): Coroutine<Return | undefined> {
    switch (s.op) {
      case "log":
        this.emit("log", { label: s.label });
        break;
      case "sleep":
        yield* this.asyncio.sleep(s.ticks);
        break;
      case "call":
        yield* this.coroutine(s.coro);
        break;
      case "await": {
        const aw = this.awaitable(s.on);
        if (aw === null) break;
        const on = ScenarioRun.describe(s.on);
        let value: unknown;
        try {
          value = yield* this.await(aw);
        } catch (e) {
          this.emit("awaited", { on, exc: this.enc.exc(e) });
          throw e;
        }
        this.emit("awaited", { on, value: this.enc.value(value) });
        break;
      }
      case "create_task": {
        const task = this.asyncio.create_task(this.coroutine(s.coro), s.name ?? null);
        this.handles.set(s.task, task);
        this.emit("create_task", { ref: s.task, name: task.get_name() });
        break;
      }
      case "cancel": {
        const task = this.lookup(s.task);
        if (task !== null) {
          const returned = s.msg !== undefined ? task.cancel(s.msg) : task.cancel();
          this.emit("cancel", { ref: s.task, returned });
        }
        break;
      }
      case "inspect": {
        const task = this.lookup(s.task);
        if (task !== null) {
          this.emit("inspect", {
            ref: s.task, done: task.done(), cancelled: task.cancelled(), cancelling: task.cancelling(),
          });
        }
        break;
      }
      case "raise":
        throw this.makeException(s.exc);
      case "return":
        return new Return(s.value ?? null);
      case "try":
        return yield* this.tryStep(s);
      default:
        throw new ScenarioError(`unknown op ${JSON.stringify((s as { op: unknown }).op)}`);
    }
    return undefined;
  }

  private *tryStep(s: TryStep): Coroutine<Return | undefined> {
    let result: Return | undefined;
    try {
      try {
        result = yield* this.steps(s.body ?? []);
      } catch (e) {
        if (!(e instanceof PyBaseException)) throw e;
        let handler = undefined;
        for (const h of s.except ?? []) {
          if (!CATCHABLE.has(h.type)) throw new ScenarioError(`unknown exception type ${h.type}`);
          if (isinstance(e, h.type)) {
            handler = h;
            break;
          }
        }
        if (handler === undefined) throw e;
        this.emit("caught", { exc: this.enc.exc(e) });
        result = yield* this.steps(handler.body ?? []);
        if (handler.reraise && !(result instanceof Return)) throw e;
      }
    } finally {
      const final = yield* this.steps(s.finally ?? []);
      // eslint-disable-next-line no-unsafe-finally
      if (final instanceof Return) return final; // a return in finally wins, as in Python
    }
    return result;
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

/**
 * Run one scenario on an implementation and return the trace.
 *
 * Every task the implementation creates must go through `loop.create_task`
 * (as CPython's asyncio.create_task, ensure_future and gather do): the
 * interpreter wraps that method on the loop to list tasks in creation order,
 * as the Python driver overrides it in its loop subclass.
 */
export function runScenario(impl: AsyncioImplementation, scenario: Scenario): Trace {
  if (!scenario.coroutines.some((c) => c.name === "main")) throw new ScenarioError("no coroutine named 'main'");
  const run = new ScenarioRun(impl, scenario);
  const loop = impl.new_event_loop();
  run.watch(loop);
  loop.set_exception_handler((ctx) => {
    const fields: Record<string, unknown> = { message: normalizeMessage(String(ctx.message)) };
    if (ctx.exception) fields.exc = run.enc.exc(ctx.exception);
    run.emit("exception_handler", fields);
  });
  try {
    const main = loop.create_task(run.coroutine("main"));
    const end = run.runLoop(main);
    const tasks = run.created.map((t) => ({
      name: t.get_name(),
      ref: refOf(run, t),
      ...taskState(run.enc, t),
    }));
    const mainState = taskState(run.enc, main);
    const trace: Trace = { events: run.events, end, main: mainState, tasks };
    // Shut down as asyncio.run does, deterministically: cancel what is left
    // in creation order and wait for it.
    const pending = run.created.filter((t) => !t.done());
    if (pending.length > 0 && (end.kind === "complete" || end.kind === "interrupted")) {
      run.emit("shutdown");
      for (const t of pending) t.cancel();
      trace.shutdown = run.runLoop(impl.gather(pending, true));
    }
    return trace;
  } finally {
    loop.set_exception_handler(() => {});
    loop.close();
  }
}

function refOf(run: ScenarioRun, task: PyTask): string | null {
  for (const [ref, t] of run.handles) if (t === task) return ref;
  return null;
}
