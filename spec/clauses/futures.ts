/**
 * Clauses: asyncio.Future (the "Futures" page, Future Object).
 *
 *   fut.result.pending     result() / exception() of a pending future raise InvalidStateError
 *   fut.result.value       ... of a finished one give its result / exception
 *   fut.cancelled.raises   ... of a cancelled one raise CancelledError
 *   fut.cancel.msg         ... carrying the message given to cancel(msg)
 *   fut.set.when_done      set_result / set_exception on a done future raise InvalidStateError and change nothing
 *   fut.done               done() and cancelled() through the life of a future
 *   fut.cancel             cancel(): True and cancelled when pending, False and nothing when done
 *   fut.await              awaiting a future suspends until it is done, then gives its outcome
 *
 * Not expressible in the scenario language: get_loop(), isfuture() and
 * wrap_future() (no op names them; the interpreters make futures with
 * loop.create_future only). ensure_future() is reached through gather(),
 * which passes every awaitable through it (fut.ensure_future.wraps).
 *
 * The futures' own story is read off the trace: every step that finishes
 * (or tries to finish) a future — set_result, set_exception, cancel — is
 * followed by a log `op:H:N`, so the property finds the step and its
 * arguments in the scenario and walks the trace with a model of the
 * documented states (pending, then exactly one of result, exception,
 * cancelled), checking each probe against the state the model gives.
 */
import fc from "fast-check";
import type { CallbackDef, CoroutineDef, ExceptionSpec, Scalar, Scenario, Step } from "../scenario/types";
import type { ExceptionData, Trace, TraceEvent, TraceValue } from "../scenario/trace";
import { SET_EXCEPTION_WRAPS_STOP_ITERATION, hasChange } from "../scenario/versions";
import { ALL_VERSIONS, Clause, DOCS, built, clause, releaseOf, SINCE_3_9 } from "./clause";
import { allLabels, callbacksRan, logged, mainRanToItsEnd, soonCallbacks, stepsIn } from "./evidence";
import { at, build, callbackRuns, eventsOf, log, same, show, sleep } from "./loop";

// ---------------------------------------------------------------- the model

export type FutureState =
  | { s: "pending" }
  | { s: "result"; value: TraceValue }
  | { s: "exception"; exc: ExceptionData }
  | { s: "cancelled"; msg: string | null };

export const excData = (e: ExceptionSpec): ExceptionData => ({ type: e.type, args: (e.args ?? []) as TraceValue[] });

/** The step right before each log, by label (the completing step an `op:` log follows). */
function stepsBeforeLogs(scenario: Scenario): Map<string, Step> {
  const out = new Map<string, Step>();
  const visit = (body: Step[]) => {
    for (let i = 1; i < body.length; i++) {
      const s = body[i];
      if (s.op === "log") out.set(s.label, body[i - 1]);
    }
  };
  for (const c of scenario.coroutines) visit(c.body);
  for (const c of scenario.callbacks ?? []) visit(c.body);
  return out;
}

export interface ModelledEvent {
  e: TraceEvent & { i: number };
  /** The state of the event's future just before the event (for a completing step: before the step). */
  before: FutureState;
  /** For a completing step: the step, and the state it leads to by the documentation. */
  step?: Step;
  after?: FutureState;
}

export interface FutureTimeline {
  events: ModelledEvent[];
  /** Index of the trace event (set_result, set_exception or cancel) that finished each future. */
  doneAt: Map<string, number>;
  state: Map<string, FutureState>;
}

/**
 * Walk the trace with the documented model of each future made by
 * create_future. A completing step counts when its `op:` log shows it ran;
 * the model decides whether it finished the future (only a pending future
 * can be finished), not the probe.
 */
export function futureTimeline(scenario: Scenario, trace: Trace): FutureTimeline {
  const before = stepsBeforeLogs(scenario);
  const state = new Map<string, FutureState>();
  const doneAt = new Map<string, number>();
  const events: ModelledEvent[] = [];
  trace.events.forEach((e, i) => {
    // An event is copied with its index only when it is kept: most are not.
    if (e.ev === "create_future") {
      state.set(e.ref, { s: "pending" });
      return;
    }
    if (e.ev === "log" && e.label.startsWith("op:")) {
      const step = before.get(e.label);
      const probe = trace.events[i - 1];
      if (step === undefined || probe === undefined) return;
      const ref = step.op === "cancel" ? step.task : step.op === "set_result" || step.op === "set_exception" ? step.future : null;
      if (ref === null || !state.has(ref)) return;
      if (probe.ev === "unbound") return;
      const was = state.get(ref)!;
      let after = was;
      if (was.s === "pending") {
        if (step.op === "set_result") after = { s: "result", value: (step.value ?? null) as TraceValue };
        else if (step.op === "set_exception") after = { s: "exception", exc: excData(step.exc) };
        else if (step.op === "cancel") after = { s: "cancelled", msg: step.msg ?? null };
      }
      events.push({ e: { ...probe, i: i - 1 }, before: was, step, after });
      if (after !== was) {
        state.set(ref, after);
        doneAt.set(ref, i - 1);
      }
      return;
    }
    if ("ref" in e && typeof e.ref === "string" && state.has(e.ref)) events.push({ e: { ...e, i }, before: state.get(e.ref)! });
    else if (e.ev === "awaited" && state.has(e.on)) events.push({ e: { ...e, i }, before: state.get(e.on)! });
  });
  return { events, doneAt, state };
}

const describeState = (st: FutureState): string =>
  st.s === "pending" ? "pending" : st.s === "result" ? `finished with result ${show(st.value)}` : st.s === "exception" ? `finished with exception ${show(st.exc)}` : `cancelled${st.msg === null ? "" : ` (msg ${show(st.msg)})`}`;

const outcome = (e: { value?: TraceValue; exc?: ExceptionData }): string => (e.exc !== undefined ? `raised ${show(e.exc)}` : `returned ${show(e.value)}`);

/** What result() should give in a done state (documented): the value, or raise the exception / a CancelledError. */
function resultMatches(st: FutureState, e: { value?: TraceValue; exc?: ExceptionData }): boolean {
  if (st.s === "result") return e.exc === undefined && same(e.value, st.value);
  if (st.s === "exception") return e.exc !== undefined && same(e.exc, st.exc);
  if (st.s === "cancelled") return e.exc?.type === "CancelledError";
  return e.exc?.type === "InvalidStateError";
}

/** What exception() should give: None, the exception, or raise a CancelledError / InvalidStateError. */
function exceptionMatches(st: FutureState, e: { value?: TraceValue; exc?: ExceptionData }): boolean {
  if (st.s === "result") return e.exc === undefined && e.value === null;
  if (st.s === "exception") return e.exc === undefined && same(e.value, { exc: st.exc });
  if (st.s === "cancelled") return e.exc?.type === "CancelledError";
  return e.exc?.type === "InvalidStateError";
}

// ---------------------------------------------------------------- the scenarios

type FutOp =
  | { op: "set_result"; f: number; value: Scalar }
  | { op: "set_exception"; f: number; exc: ExceptionSpec }
  | { op: "cancel"; f: number; msg?: string }
  | { op: "result" | "exception" | "inspect"; f: number }
  | { op: "add"; f: number }
  | { op: "sleep0" };

const scalarArb: fc.Arbitrary<Scalar> = fc.oneof(fc.integer({ min: -3, max: 50 }), fc.constantFrom("x", "done", ""), fc.boolean(), fc.constant(null));
const excSpecArb = (cancelled: boolean): fc.Arbitrary<ExceptionSpec> =>
  fc.record({
    type: cancelled
      ? fc.constantFrom("ValueError" as const, "KeyError" as const, "CustomError" as const, "CancelledError" as const)
      : fc.constantFrom("ValueError" as const, "KeyError" as const, "CustomError" as const),
    args: fc.array(fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constantFrom("boom", "m")), { maxLength: 2 }),
  });
const msgArb = fc.option(fc.constantFrom("stop", "why", ""), { nil: undefined });

const futIdx = fc.nat(2);
const completeArb = (cancelledExc: boolean): fc.Arbitrary<FutOp> =>
  fc.oneof(
    fc.record({ op: fc.constant("set_result" as const), f: futIdx, value: scalarArb }),
    fc.record({ op: fc.constant("set_exception" as const), f: futIdx, exc: excSpecArb(cancelledExc) }),
    fc.record({ op: fc.constant("cancel" as const), f: futIdx, msg: msgArb }, { requiredKeys: ["op", "f"] }),
  );
const probeArb: fc.Arbitrary<FutOp> = fc.record({ op: fc.constantFrom("result" as const, "exception" as const, "inspect" as const), f: futIdx });
const opArb = (cancelledExc: boolean): fc.Arbitrary<FutOp> =>
  fc.oneof(
    { weight: 3, arbitrary: completeArb(cancelledExc) },
    { weight: 4, arbitrary: probeArb },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("add" as const), f: futIdx }) },
    { weight: 1, arbitrary: fc.constant<FutOp>({ op: "sleep0" }) },
  );

/**
 * Main makes futures f0..f2 and runs `focus` (the ops the clause is about,
 * on f0) mixed into random ones; completing steps may also run in a
 * callback queued with call_soon (`inCallback`). Done callbacks (`add`)
 * are named d0..d2 after their future.
 */
function futureOpsScenario(focus: FutOp[], rest: FutOp[], inCallback: number[]): Scenario {
  let n = 0;
  const callbacks: CallbackDef[] = [];
  const used = new Set<number>();
  const stepsOf = (o: FutOp): Step[] => {
    if (o.op === "sleep0") return [sleep(0)];
    const h = `f${o.f}`;
    used.add(o.f);
    switch (o.op) {
      case "set_result":
        return [{ op: "set_result", future: h, value: o.value }, log(`op:${h}:${n++}`)];
      case "set_exception":
        return [{ op: "set_exception", future: h, exc: o.exc }, log(`op:${h}:${n++}`)];
      case "cancel":
        return [o.msg === undefined ? { op: "cancel", task: h } : { op: "cancel", task: h, msg: o.msg }, log(`op:${h}:${n++}`)];
      case "add":
        return [{ op: "add_done_callback", task: h, callback: `d${o.f}` }, log(`add:${h}:d${o.f}:${n++}`)];
      default:
        return [{ op: o.op, task: h }];
    }
  };
  // Spread the focus ops through the random ones, in order.
  const ops: FutOp[] = [];
  const step = Math.max(1, Math.ceil((rest.length + 1) / (focus.length + 1)));
  let fi = 0;
  rest.forEach((o, k) => {
    if (k % step === 0 && fi < focus.length) ops.push(focus[fi++]);
    ops.push(o);
  });
  while (fi < focus.length) ops.push(focus[fi++]);
  const body: Step[] = [];
  ops.forEach((o, k) => {
    const isCompletion = o.op === "set_result" || o.op === "set_exception" || o.op === "cancel";
    if (isCompletion && inCallback.includes(k)) {
      const name = `s${k}`;
      callbacks.push({ name, body: stepsOf(o) });
      body.push({ op: "call_soon", callback: name });
    } else body.push(...stepsOf(o));
  });
  const main: Step[] = [0, 1, 2].filter((f) => used.has(f)).map((f): Step => ({ op: "create_future", future: `f${f}` }));
  main.push(...body, sleep(1));
  for (const f of [0, 1, 2]) if (body.some((s) => s.op === "add_done_callback" && s.callback === `d${f}`)) callbacks.push({ name: `d${f}`, body: [] });
  return build(main, callbacks);
}

const futureOpsArb = (focus: fc.Arbitrary<FutOp[]>, opts: { cancelledExc?: boolean } = {}) =>
  fc
    .record({ focus, rest: fc.array(opArb(opts.cancelledExc ?? false), { maxLength: 10 }), inCallback: fc.array(fc.nat(12), { maxLength: 3 }) })
    .map(({ focus, rest, inCallback }) => futureOpsScenario(focus, rest, inCallback));

const probe0 = (op: "result" | "exception" | "inspect"): FutOp => ({ op, f: 0 });
const complete0 = (cancelledExc = false) => completeArb(cancelledExc).map((o) => ({ ...o, f: 0 }) as FutOp);

// ---------------------------------------------------------------- result() and exception()

const resultPending = clause({
  id: "fut.result.pending",
  statement: "result() and exception() of a future that is not done yet raise InvalidStateError.",
  source: { url: DOCS.futures + "#asyncio.Future.result", section: "Future Object" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["add_done_callback", "call_soon", "cancel", "create_future", "exception", "inspect", "log", "result", "set_exception", "set_result", "sleep"],
  brokenBy: ["mutant:result-pending-none"],
  evidence: [mainRanToItsEnd, callbacksRan(soonCallbacks), logged(allLabels)],
  scenarios: () => futureOpsArb(fc.tuple(fc.constantFrom(probe0("result"), probe0("exception")), complete0(), fc.constantFrom(probe0("result"), probe0("exception"))).map((x) => x as FutOp[])),
  check({ scenario, trace }) {
    for (const { e, before } of futureTimeline(scenario, trace).events) {
      if ((e.ev === "result" || e.ev === "exception") && before.s === "pending" && e.exc?.type !== "InvalidStateError") {
        return `${e.ev}() of pending future ${e.ref} at ${at(e)} ${outcome(e)} instead of raising InvalidStateError`;
      }
    }
    return true;
  },
});

const resultValue = clause({
  id: "fut.result.value",
  statement:
    "Once set_result(value) has finished a future, result() returns value and exception() returns None; once " +
    "set_exception(exc) has, result() raises exc and exception() returns it — every time they are called.",
  source: { url: DOCS.futures + "#asyncio.Future.exception", section: "Future Object" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["add_done_callback", "call_soon", "cancel", "create_future", "exception", "inspect", "log", "result", "set_exception", "set_result", "sleep"],
  brokenBy: ["mutant:exception-raises", "mutant:result-consumed"],
  evidence: [mainRanToItsEnd, callbacksRan(soonCallbacks), logged(allLabels)],
  scenarios: () =>
    futureOpsArb(
      fc.tuple(
        fc.oneof(
          fc.record({ op: fc.constant("set_result" as const), f: fc.constant(0), value: scalarArb }),
          fc.record({ op: fc.constant("set_exception" as const), f: fc.constant(0), exc: excSpecArb(true) }),
        ),
        fc.constantFrom(probe0("result"), probe0("exception")),
        fc.constantFrom(probe0("result"), probe0("exception")),
      ).map((x) => x as FutOp[]),
      { cancelledExc: true },
    ),
  check({ scenario, trace }) {
    for (const { e, before } of futureTimeline(scenario, trace).events) {
      if (before.s !== "result" && before.s !== "exception") continue;
      if (e.ev === "result" && !resultMatches(before, e)) return `result() of future ${e.ref}, ${describeState(before)}, ${outcome(e)} at ${at(e)}`;
      if (e.ev === "exception" && !exceptionMatches(before, e)) return `exception() of future ${e.ref}, ${describeState(before)}, ${outcome(e)} at ${at(e)}`;
    }
    return true;
  },
});

const cancelledRaises = clause({
  id: "fut.cancelled.raises",
  statement: "result() and exception() of a cancelled future raise CancelledError.",
  source: { url: DOCS.futures + "#asyncio.Future.result", section: "Future Object" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["add_done_callback", "call_soon", "cancel", "create_future", "exception", "inspect", "log", "result", "set_exception", "set_result", "sleep"],
  brokenBy: ["mutant:exception-cancelled-none"],
  evidence: [mainRanToItsEnd, callbacksRan(soonCallbacks), logged(allLabels)],
  scenarios: () =>
    futureOpsArb(
      fc.tuple(fc.record({ op: fc.constant("cancel" as const), f: fc.constant(0), msg: msgArb }, { requiredKeys: ["op", "f"] }), fc.constantFrom(probe0("result"), probe0("exception")), fc.constant(probe0("exception"))).map((x) => x as FutOp[]),
    ),
  check({ scenario, trace }) {
    for (const { e, before } of futureTimeline(scenario, trace).events) {
      if ((e.ev === "result" || e.ev === "exception") && before.s === "cancelled" && e.exc?.type !== "CancelledError") {
        return `${e.ev}() of cancelled future ${e.ref} at ${at(e)} ${outcome(e)} instead of raising CancelledError`;
      }
    }
    return true;
  },
});

const cancelMsg = clause({
  id: "fut.cancel.msg",
  statement:
    "The CancelledError that result(), exception() or an await raise for a future cancelled with cancel(msg) carries msg " +
    "as its argument; without msg it has no arguments.",
  source: { url: DOCS.futures + "#asyncio.Future.cancel", section: "Future Object" },
  versions: SINCE_3_9,
  level: "exact",
  needs: ["cancel:msg", "add_done_callback", "await", "call_soon", "cancel", "create_future", "exception", "inspect", "log", "result", "set_exception", "set_result", "sleep", "task", "try"],
  brokenBy: ["mutant:cancel-msg-dropped"],
  evidence: [mainRanToItsEnd, callbacksRan(soonCallbacks), logged(allLabels)],
  scenarios: () =>
    futureOpsArb(
      fc.tuple(fc.record({ op: fc.constant("cancel" as const), f: fc.constant(0), msg: fc.constantFrom("stop", "why", "") }), fc.constantFrom(probe0("result"), probe0("exception"))).map((x) => x as FutOp[]),
    ).map((s) => {
      // ...and main awaits f0 (which the focus ops finish) at the end.
      const main = s.coroutines[0].body;
      main.splice(main.length - 1, 0, { op: "try", body: [{ op: "await", on: { task: "f0" } }], except: [{ type: "BaseException" }] });
      return s;
    }),
  check({ scenario, trace }) {
    for (const { e, before } of futureTimeline(scenario, trace).events) {
      if (before.s !== "cancelled") continue;
      if (e.ev !== "result" && e.ev !== "exception" && e.ev !== "awaited") continue;
      const want = before.msg === null ? [] : [before.msg];
      const name = e.ev === "awaited" ? `await ${e.on}` : `${e.ev}() of ${e.ref}`;
      if (e.exc?.type !== "CancelledError" || !same(e.exc.args, want)) {
        return `${name} at ${at(e)} ${outcome(e)}, but the future was cancelled ${before.msg === null ? "without a message" : `with msg ${show(before.msg)}`}`;
      }
    }
    return true;
  },
});

// ---------------------------------------------------------------- set_result / set_exception

const setWhenDone = clause({
  id: "fut.set.when_done",
  statement:
    "set_result() and set_exception() on a future that is already done (with a result, an exception, or cancelled) raise " +
    "InvalidStateError and leave it as it was.",
  source: { url: DOCS.futures + "#asyncio.Future.set_result", section: "Future Object" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["add_done_callback", "call_soon", "cancel", "create_future", "exception", "inspect", "log", "result", "set_exception", "set_result", "sleep"],
  brokenBy: ["mutant:set-when-done-ignored"],
  evidence: [mainRanToItsEnd, callbacksRan(soonCallbacks), logged(allLabels)],
  scenarios: () =>
    futureOpsArb(
      fc.tuple(
        complete0(),
        fc.oneof(
          fc.record({ op: fc.constant("set_result" as const), f: fc.constant(0), value: scalarArb }),
          fc.record({ op: fc.constant("set_exception" as const), f: fc.constant(0), exc: excSpecArb(false) }),
        ),
        fc.constantFrom(probe0("result"), probe0("exception"), probe0("inspect")),
      ).map((x) => x as FutOp[]),
    ),
  check({ scenario, trace }) {
    for (const { e, before } of futureTimeline(scenario, trace).events) {
      if (before.s === "pending") continue;
      if ((e.ev === "set_result" || e.ev === "set_exception") && e.exc?.type !== "InvalidStateError") {
        return `${e.ev}() on future ${e.ref}, ${describeState(before)}, ${outcome(e)} at ${at(e)} instead of raising InvalidStateError`;
      }
      if (e.ev === "result" && !resultMatches(before, e)) return `result() of future ${e.ref}, ${describeState(before)}, ${outcome(e)} at ${at(e)}`;
      if (e.ev === "exception" && !exceptionMatches(before, e)) return `exception() of future ${e.ref}, ${describeState(before)}, ${outcome(e)} at ${at(e)}`;
    }
    return true;
  },
});

// ---------------------------------------------------------------- set_exception(StopIteration)

/*
 * A StopIteration thrown into a coroutine would end it as if it returned,
 * so futures do not hold one: set_exception(StopIteration()) raises
 * TypeError and leaves the future pending, or, since gh-112182 (PR #113220),
 * stores a RuntimeError with the same message whose __cause__ is the
 * StopIteration. The change was made for 3.13.0 and backported to 3.12.6
 * (SET_EXCEPTION_WRAPS_STOP_ITERATION): CPython 3.12.1 raises TypeError,
 * Pyodide 0.27's 3.12.7 wraps. So the check asks which release it holds the
 * implementation to (releaseOf: the one it reports, else the one the
 * reference models, 3.12.1 for "3.12"), not only which minor version.
 * main sets it (or a call_soon callback does), inspects the future, then
 * calls set_result (which succeeds only on a future left pending) and
 * exception().
 */
const STOP_MESSAGE = "StopIteration interacts badly with generators and cannot be raised into a Future";

const stopIterationArb = fc
  .record({ args: fc.constantFrom<Scalar[] | undefined>(undefined, [5], ["stop"]), inCallback: fc.boolean() })
  .map(({ args, inCallback }): Scenario => {
    const exc: ExceptionSpec = args === undefined ? { type: "StopIteration" } : { type: "StopIteration", args };
    const set: Step = { op: "set_exception", future: "f", exc };
    const main: Step[] = [{ op: "create_future", future: "f" }];
    const callbacks: CallbackDef[] = [];
    if (inCallback) {
      callbacks.push({ name: "setter", body: [set] });
      main.push({ op: "call_soon", callback: "setter" }, sleep(0));
    } else main.push(set);
    main.push({ op: "inspect", task: "f" }, { op: "set_result", future: "f", value: 1 }, { op: "exception", task: "f" }, log("end"));
    const s: Scenario = { aiospec: 1, coroutines: [{ name: "main", body: main }] };
    if (callbacks.length > 0) s.callbacks = callbacks;
    return built(s);
  });

const setExceptionStopIteration = clause({
  id: "fut.set_exception.stop_iteration",
  statement:
    "A future never holds a StopIteration: set_exception(StopIteration()) raises TypeError and leaves the future pending " +
    "(up to 3.12.5), or, from 3.12.6 and 3.13.0, finishes it with a RuntimeError of the same message whose __cause__ is the StopIteration.",
  source: { url: DOCS.futures + "#asyncio.Future.set_exception", section: "Future Object" },
  versions: ALL_VERSIONS,
  level: "exact",
  needs: ["call_soon", "create_future", "exception", "inspect", "log", "set_exception", "set_result", "sleep"],
  brokenBy: ["mutant:stop-iteration-stored", "mutant:stop-iteration-version-flipped"],
  evidence: [mainRanToItsEnd],
  scenarios: () => stopIterationArb,
  check(ctx) {
    const { scenario, trace } = ctx;
    const release = releaseOf(ctx);
    const set = scenario.coroutines[0].body.find((s) => s.op === "set_exception") ?? scenario.callbacks?.[0].body[0];
    const given = (set as Step & { op: "set_exception" }).exc;
    const stop = { type: "StopIteration", args: given.args ?? [] };
    type Probe = { value?: TraceValue; exc?: ExceptionData };
    const ev = (k: string): Probe | undefined => trace.events.find((e) => e.ev === k && (e as { ref?: string }).ref === "f") as Probe | undefined;
    const setEv = ev("set_exception");
    const inspected = ev("inspect") as { done: boolean; cancelled: boolean } | undefined;
    const setResult = ev("set_result");
    const exception = ev("exception");
    if (!setEv || !inspected || !setResult || !exception) return "the trace lacks one of the probes of future f";
    if (!hasChange(release, SET_EXCEPTION_WRAPS_STOP_ITERATION)) {
      if (!same(setEv.exc, { type: "TypeError", args: [STOP_MESSAGE] })) return `set_exception(${show(stop)}) ${outcome(setEv)}; on ${release} expected TypeError(${show(STOP_MESSAGE)})`;
      if (inspected.done) return "the future refused a StopIteration but is done";
      if (setResult.exc !== undefined) return `set_result on the future left pending ${outcome(setResult)}`;
      return exception.exc === undefined && exception.value === null ? true : `exception() after set_result ${outcome(exception)}, expected None`;
    }
    if (setEv.exc !== undefined) return `set_exception(${show(stop)}) ${outcome(setEv)}; on ${release} (from 3.12.6 and 3.13.0) it stores a RuntimeError`;
    if (!inspected.done || inspected.cancelled) return `the future is ${inspected.done ? "cancelled" : "still pending"} after set_exception`;
    if (setResult.exc?.type !== "InvalidStateError") return `set_result on the finished future ${outcome(setResult)} instead of raising InvalidStateError`;
    const want = { exc: { type: "RuntimeError", args: [STOP_MESSAGE], cause: stop } };
    return same(exception.value, want) ? true : `exception() ${outcome(exception)}; expected ${show(want)}`;
  },
});

// ---------------------------------------------------------------- done() and cancelled()

const doneState = clause({
  id: "fut.done",
  statement:
    "done() is False while a future is pending and True once it has a result or an exception or was cancelled; cancelled() " +
    "is True only for a cancelled future (not for one finished with a CancelledError exception).",
  source: { url: DOCS.futures + "#asyncio.Future.done", section: "Future Object" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["add_done_callback", "call_soon", "cancel", "create_future", "exception", "inspect", "log", "result", "set_exception", "set_result", "sleep"],
  brokenBy: ["mutant:cancelled-by-exception"],
  evidence: [mainRanToItsEnd, callbacksRan(soonCallbacks), logged(allLabels)],
  scenarios: () =>
    futureOpsArb(
      fc
        .tuple(
          fc.oneof(
            complete0(true),
            fc.record({ op: fc.constant("set_exception" as const), f: fc.constant(0), exc: fc.record({ type: fc.constant("CancelledError" as const), args: fc.array(fc.constantFrom("m", 1), { maxLength: 1 }) }) }),
          ),
        )
        .map(([c]) => [probe0("inspect"), c, probe0("inspect")] as FutOp[]),
      { cancelledExc: true },
    ),
  check({ scenario, trace }) {
    for (const { e, before } of futureTimeline(scenario, trace).events) {
      if (e.ev !== "inspect") continue;
      const done = before.s !== "pending";
      const cancelled = before.s === "cancelled";
      if (e.done !== done || e.cancelled !== cancelled) {
        return `future ${e.ref}, ${describeState(before)}, reports done()=${e.done} cancelled()=${e.cancelled} at ${at(e)}`;
      }
    }
    return true;
  },
});

// ---------------------------------------------------------------- cancel()

const cancel = clause({
  id: "fut.cancel",
  statement:
    "cancel() on a pending future returns True, makes it cancelled and schedules its done callbacks; on a future that is " +
    "already done it returns False and changes nothing.",
  source: { url: DOCS.futures + "#asyncio.Future.cancel", section: "Future Object" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["add_done_callback", "call_soon", "cancel", "create_future", "exception", "inspect", "log", "result", "set_exception", "set_result", "sleep"],
  brokenBy: ["mutant:cancel-done-true", "mutant:cancel-skips-callbacks"],
  evidence: [mainRanToItsEnd, callbacksRan(soonCallbacks), logged(allLabels)],
  scenarios: () =>
    futureOpsArb(
      fc
        .tuple(fc.boolean(), complete0(), fc.record({ op: fc.constant("cancel" as const), f: fc.constant(0), msg: msgArb }, { requiredKeys: ["op", "f"] }))
        .map(([first, c, k]) => (first ? [{ op: "add", f: 0 }, k, probe0("inspect"), c, probe0("result")] : [{ op: "add", f: 0 }, c, k, probe0("inspect"), probe0("result")]) as FutOp[]),
    ),
  check({ scenario, trace }) {
    const tl = futureTimeline(scenario, trace);
    for (const { e, before } of tl.events) {
      if (e.ev === "cancel" && e.returned !== (before.s === "pending")) {
        return `cancel() of future ${e.ref}, ${describeState(before)}, returned ${e.returned} at ${at(e)}`;
      }
      if (e.ev === "inspect" && before.s !== "pending" && (e.done !== true || e.cancelled !== (before.s === "cancelled"))) {
        return `future ${e.ref}, ${describeState(before)}, reports done()=${e.done} cancelled()=${e.cancelled} at ${at(e)}`;
      }
      if (e.ev === "result" && before.s !== "pending" && !resultMatches(before, e)) return `result() of future ${e.ref}, ${describeState(before)}, ${outcome(e)} at ${at(e)}`;
    }
    // Done callbacks of a cancelled future run.
    const runs = callbackRuns(trace);
    for (const [ref, st] of tl.state) {
      if (st.s !== "cancelled") continue;
      const added = eventsOf(trace, "log").filter((l) => l.label.startsWith(`add:${ref}:`)).length;
      const ran = runs.filter((r) => same(r.arg, { future: ref })).length;
      if (ran !== added) return `future ${ref} was cancelled with ${added} done callback(s) registered, but ${ran} ran`;
    }
    return true;
  },
});

// ---------------------------------------------------------------- await

type Completer = "main" | "timer" | "task";

const awaitFuture = clause({
  id: "fut.await",
  statement:
    "Awaiting a future suspends the awaiting task until the future is done, then gives its result or raises its exception " +
    "(CancelledError if it was cancelled); every awaiter gets the same outcome.",
  source: { url: DOCS.futures + "#asyncio.Future", section: "Future Object" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["await", "call_later", "cancel", "create_future", "create_task", "log", "set_exception", "set_result", "sleep", "task", "try"],
  brokenBy: ["mutant:result-consumed"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .array(
        fc.record({
          end: completeArb(true).map((o) => ({ ...o, f: 0 }) as FutOp),
          by: fc.constantFrom<Completer>("main", "timer", "task"),
          delay: fc.integer({ min: 1, max: 2 }),
          awaiters: fc.integer({ min: 0, max: 2 }),
          mainAwaits: fc.boolean(),
        }),
        { minLength: 1, maxLength: 2 },
      )
      .map((futs) => {
        const main: Step[] = [];
        const callbacks: CallbackDef[] = [];
        const coroutines: CoroutineDef[] = [];
        const awaitIt = (h: string): Step => ({ op: "try", body: [{ op: "await", on: { task: h } }], except: [{ type: "BaseException" }] });
        const late: Step[] = [];
        let tasks = 0;
        futs.forEach((f, k) => {
          const h = `f${k}`;
          const end = f.end;
          const op: Step =
            end.op === "set_result"
              ? { op: "set_result", future: h, value: end.value }
              : end.op === "set_exception"
                ? { op: "set_exception", future: h, exc: end.exc }
                : end.op === "cancel" && end.msg !== undefined
                  ? { op: "cancel", task: h, msg: end.msg }
                  : { op: "cancel", task: h };
          const finish: Step[] = [op, log(`op:${h}:${k}`)];
          main.push({ op: "create_future", future: h });
          for (let a = 0; a < f.awaiters; a++) {
            coroutines.push({ name: `w${k}_${a}`, body: [awaitIt(h)] });
            main.push({ op: "create_task", coro: `w${k}_${a}`, task: `t${tasks++}` });
          }
          if (f.by === "timer") {
            main.push({ op: "call_later", delay: f.delay, callback: `s${k}` });
            callbacks.push({ name: `s${k}`, body: finish });
          } else if (f.by === "task") {
            coroutines.push({ name: `s${k}`, body: [sleep(f.delay), ...finish] });
            main.push({ op: "create_task", coro: `s${k}`, task: `t${tasks++}` });
          } else late.push(sleep(f.delay), ...finish);
          if (f.mainAwaits) late.push(awaitIt(h));
        });
        main.push(...late, sleep(3), awaitIt("f0"));
        return build(main, callbacks, coroutines);
      }),
  check({ scenario, trace }) {
    const tl = futureTimeline(scenario, trace);
    for (const { e, before } of tl.events) {
      if (e.ev !== "awaited") continue;
      if (before.s === "pending") return `await ${e.on} ${outcome(e)} at ${at(e)} while the future was still pending`;
      if (!resultMatches(before, e)) return `await ${e.on}, ${describeState(before)}, ${outcome(e)} at ${at(e)}`;
    }
    // Every awaiter got to the end of its await (the future was set in every scenario).
    const awaiting = new Set<string>();
    for (const { step } of stepsIn(scenario)) if (step.op === "await" && "task" in step.on) awaiting.add(step.on.task);
    for (const h of awaiting) if (!tl.doneAt.has(h)) return `future ${h} was never finished`;
    return true;
  },
});

// ---------------------------------------------------------------- Future Functions: ensure_future

/**
 * gather() passes each awaitable through ensure_future: the scenario makes n
 * tasks, then gathers some of them (repeats allowed) and k coroutines.
 */
const ensureFutureScenario = fc
  .record({
    tasks: fc.integer({ min: 0, max: 3 }),
    parts: fc.array(fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 5 }),
  })
  .map(({ tasks, parts }): Scenario => {
    const body: Step[] = [];
    for (let i = 0; i < tasks; i++) body.push({ op: "create_task", coro: "w", task: `t${i}` });
    const gathered = parts.map((p) => (p >= 0 && p < tasks ? { task: `t${p}` } : { coro: "w" }));
    body.push({ op: "await", on: { gather: gathered } });
    return built({ aiospec: 1, coroutines: [{ name: "main", body }, { name: "w", body: [{ op: "sleep", ticks: 0 }, { op: "return", value: 1 }] }] });
  });

const ensureFutureWraps = clause({
  id: "fut.ensure_future.wraps",
  statement:
    "ensure_future() — which gather() applies to each awaitable — wraps a coroutine in a new Task that runs it, " +
    "and returns a Task or Future unchanged.",
  source: { url: DOCS.futures + "#asyncio.ensure_future", section: "Future Functions" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["await", "coro", "create_task", "gather", "return", "sleep", "task"],
  brokenBy: ["mutant:ensure-future-wraps-tasks"],
  evidence: [mainRanToItsEnd],
  scenarios: () => ensureFutureScenario,
  check({ scenario, trace }) {
    const main = scenario.coroutines[0].body;
    const explicit = main.filter((s) => s.op === "create_task").length;
    const last = main[main.length - 1];
    const parts = last.op === "await" && "gather" in last.on ? last.on.gather : [];
    const coros = parts.filter((p) => "coro" in p).length;
    const expected = 1 + explicit + coros;
    if (trace.tasks.length !== expected) {
      return `${trace.tasks.length} tasks were created; main, ${explicit} create_task and ${coros} gathered coroutine(s) make ${expected}`;
    }
    const mainName = trace.tasks[0]?.name;
    const inMain = trace.events.find((e) => e.ev === "enter" && e.coro === "w" && e.task === mainName);
    if (inMain) return `a gathered coroutine ran inline in the main task at t=${inMain.time} instead of in a task of its own`;
    return true;
  },
});

export const CLAUSES: Clause[] = [ensureFutureWraps, resultPending, resultValue, cancelledRaises, cancelMsg, setWhenDone, setExceptionStopIteration, doneState, cancel, awaitFuture];
