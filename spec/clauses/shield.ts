/**
 * Clauses: asyncio.shield ("Shielding From Cancellation").
 *
 * The inner awaitable is a coroutine `inner` (which shield wraps in a
 * task), a task `t` main created (named "inner_task"), or a sleep. The
 * properties read the inner's fate off its coroutine's exit event.
 */
import fc from "fast-check";
import type { Awaitable, CallbackDef, CoroutineDef, ExceptionSpec, Scenario, Step } from "../scenario/types";
import type { Trace, TraceValue } from "../scenario/trace";
import { atLeast } from "../scenario/versions";
import type { PythonVersion } from "../scenario/versions";
import { ALL_VERSIONS, DOCS, clause } from "./clause";
import { mainRanToItsEnd } from "./evidence";
import type { Clause, Verdict } from "./clause";
import { awaitedBy, catching, enterOf, eventsOf, exitOf, isCancelled, outcomeOf, same, scenarioOf, show, shutdownIndex, valueError } from "./gather";

const SOURCE = { url: DOCS.tasks + "#asyncio.shield", section: "Shielding From Cancellation" };

/** How the inner is given to shield. */
type InnerKind = "coro" | "task";

interface Inner {
  kind: InnerKind;
  ticks: number;
  raises: boolean;
}

/** The inner coroutine: sleep, then return 42 or raise ValueError(7). */
function innerCoro(i: Inner): CoroutineDef {
  return {
    name: "inner",
    body: [{ op: "sleep", ticks: i.ticks }, i.raises ? { op: "raise", exc: valueError(7) } : { op: "return", value: 42 }],
  };
}

/** The awaitable shield gets, and what main must do first for it. */
function innerPart(i: Inner): { part: Awaitable; spawn: Step[] } {
  if (i.kind === "coro") return { part: { coro: "inner" }, spawn: [] };
  return { part: { task: "t" }, spawn: [{ op: "create_task", coro: "inner", task: "t", name: "inner_task" }] };
}

const innerArb = (minTicks: number, maxTicks: number, raises: boolean): fc.Arbitrary<Inner> =>
  fc.record({
    kind: fc.constantFrom<InnerKind>("coro", "task"),
    ticks: fc.integer({ min: minTicks, max: maxTicks }),
    raises: raises ? fc.boolean() : fc.constant(false),
  });

// ---- cancelling the outer

/**
 * main spawns "waiter", which awaits shield(inner); one tick later main
 * cancels the waiter, then sleeps until the inner is surely over.
 */
const outerCancelArb = innerArb(2, 4, true).map((i) => {
  const { part, spawn } = innerPart(i);
  const main: Step[] = [
    ...spawn,
    { op: "create_task", coro: "waiter", task: "w", name: "waiter" },
    { op: "sleep", ticks: 1 },
    { op: "cancel", task: "w" },
    { op: "sleep", ticks: i.ticks + 2 },
  ];
  return scenarioOf(main, [{ name: "waiter", body: [{ op: "await", on: { shield: part } }] }, innerCoro(i)]);
});

function checkOuterCancel(trace: Trace): Verdict {
  const cancel = trace.events.findIndex((e) => e.ev === "cancel" && e.ref === "w");
  if (cancel < 0) return "the waiter was never cancelled";
  const aw = awaitedBy(trace, "waiter", "shield")[0];
  if (!aw) return "the waiter's await of the shield never finished";
  if (!isCancelled(aw.e)) return `the cancelled waiter's await of the shield gave ${show(outcomeOf(aw.e))} instead of raising CancelledError`;
  const x = exitOf(trace, "inner");
  if (!x || x.i > shutdownIndex(trace)) return "the shielded inner did not run to its end";
  if (isCancelled(x.e)) return "the shielded inner was cancelled with the waiter";
  if (x.i < aw.i) return "the waiter's await of the shield ended only after the inner did: the cancellation waited for it";
  return true;
}

// ---- the inner cancelled

/**
 * The inner ends cancelled, either because a call_later callback cancels
 * task t or because its coroutine raises CancelledError itself; main
 * awaits shield(inner), catching the CancelledError.
 */
const innerCancelledArb = fc
  .record({ kind: fc.constantFrom<InnerKind>("coro", "task"), how: fc.constantFrom("cancel", "raise"), ticks: fc.integer({ min: 1, max: 3 }) })
  .map(({ kind, how, ticks }) => {
    const i: Inner = { kind: how === "cancel" ? "task" : kind, ticks, raises: false };
    const { part, spawn } = innerPart(i);
    const inner = innerCoro(i);
    const callbacks: CallbackDef[] = [];
    const main: Step[] = [...spawn];
    if (how === "cancel") {
      callbacks.push({ name: "stop", body: [{ op: "cancel", task: "t" }] });
      main.push({ op: "call_later", delay: 1, callback: "stop" });
      inner.body[0] = { op: "sleep", ticks: ticks + 1 };
    } else inner.body[1] = { op: "raise", exc: { type: "CancelledError" } };
    main.push(catching("CancelledError", [{ op: "await", on: { shield: part } }]));
    return scenarioOf(main, [inner], callbacks);
  });

function checkInnerCancelled(trace: Trace): Verdict {
  const x = exitOf(trace, "inner");
  if (!x || !isCancelled(x.e)) return "the inner did not end cancelled";
  const aw = awaitedBy(trace, "Task-1", "shield")[0];
  if (!aw) return `the await of the shield never finished (${trace.end.kind})`;
  if (!isCancelled(aw.e)) return `the shield of a cancelled inner gave ${show(outcomeOf(aw.e))} instead of raising CancelledError`;
  return true;
}

// ---- the outcome passes through

const passThroughArb = fc
  .record({ inner: innerArb(0, 3, true), sleep: fc.boolean() })
  .map(({ inner, sleep }) => {
    if (sleep) return scenarioOf([catching("Exception", [{ op: "await", on: { shield: { sleep: inner.ticks, result: 42 } } }])], []);
    const { part, spawn } = innerPart(inner);
    return scenarioOf([...spawn, catching("Exception", [{ op: "await", on: { shield: part } }])], [innerCoro(inner)]);
  });

function checkPassThrough(scenario: Scenario, trace: Trace): Verdict {
  const aw = awaitedBy(trace, "Task-1", "shield")[0];
  if (!aw) return `the await of the shield never finished (${trace.end.kind})`;
  const x = exitOf(trace, "inner");
  const want = scenario.coroutines.length === 1 ? 42 : x ? outcomeOf(x.e) : undefined;
  if (!same(outcomeOf(aw.e), want)) return `the shield gave ${show(outcomeOf(aw.e))}; the inner's outcome was ${show(want)}`;
  return true;
}

// ---- an inner already done

/**
 * Task t finishes (returns, raises, or is cancelled) before main, after
 * spawning task x, awaits shield(t).
 */
const doneInnerArb = fc.constantFrom("return", "raise", "cancel").map((how) => {
    const inner: CoroutineDef = {
      name: "inner",
      body: how === "return" ? [{ op: "return", value: 42 }] : how === "raise" ? [{ op: "raise", exc: valueError(7) }] : [{ op: "sleep", ticks: 5 }],
    };
    const main: Step[] = [{ op: "create_task", coro: "inner", task: "t", name: "inner_task" }, { op: "sleep", ticks: 0 }];
    if (how === "cancel") main.push({ op: "cancel", task: "t" }, { op: "sleep", ticks: 0 });
    main.push(
      { op: "create_task", coro: "x", task: "x", name: "x" },
      catching("BaseException", [{ op: "await", on: { shield: { task: "t" } } }]),
    );
    return scenarioOf(main, [inner, { name: "x", body: [{ op: "log", label: "x runs" }] }]);
});

function checkDoneInner(trace: Trace): Verdict {
  const aw = awaitedBy(trace, "Task-1", "shield")[0];
  if (!aw) return `the await of the shield never finished (${trace.end.kind})`;
  const x = exitOf(trace, "inner");
  if (!x || x.i > aw.i) return "the inner was not done before the shield";
  if (!same(outcomeOf(aw.e), outcomeOf(x.e)) && !(isCancelled(aw.e) && isCancelled(x.e))) {
    return `the shield of a finished inner gave ${show(outcomeOf(aw.e))}; the inner's outcome was ${show(outcomeOf(x.e))}`;
  }
  const started = enterOf(trace, "x");
  if (started && started.i < aw.i) return "task x, created just before, started before the await of the shield of a finished inner returned: the await gave up the loop";
  return true;
}

// ---- the outer cancelled, then the inner ends

/*
 * What happens to the inner's outcome once nobody waits for it. shield puts
 * a done callback on each future: the inner's passes the outcome on to the
 * outer, the outer's (run when the outer is cancelled) takes the inner's
 * callback off again if the inner is still pending. Which of the two runs
 * first decides whether anything reads the inner's outcome:
 *
 * - the inner ends later (the usual case): its callback is gone, nothing
 *   reads an exception it ends with, and collecting it reports "Task
 *   exception was never retrieved" (3.14 instead puts a reporting callback
 *   on the inner and tells the exception handler "<type> exception in
 *   shielded future" as soon as the inner ends);
 * - the inner ends in the loop iteration of the cancellation, before the
 *   outer's callback has run: the inner's callback still runs, finds the
 *   outer cancelled, leaves it so, and (before 3.14) reads the exception,
 *   which marks it retrieved: collecting the inner reports nothing.
 *
 * The scenario: the inner (a coroutine shield wraps in a task, a task main
 * made, or a future a call_later callback settles) ends `ticks` ticks in,
 * logging "inner ends" just before; `lag` ticks earlier main cancels the
 * outer, either by cancelling the task "waiter" that awaits the shield or
 * by cancelling the outer future itself, held by ensure_future. Right after
 * the cancel main queues a callback that logs "outer callback ran": the
 * cancellation has queued the outer's callback just before, so that log
 * comes right after it. Then main sleeps until everything is over and
 * drops every handle; the collection at the end of the run (gc mode) finds
 * the inner unreachable.
 */

type EndKind = "coro" | "task" | "future";
type Ending = "return" | "raise" | "cancel";

interface CancelCase {
  inner: EndKind;
  ends: Ending;
  exc: ExceptionSpec;
  /** When the inner ends, in ticks. */
  ticks: number;
  /** How many ticks before the inner ends the outer is cancelled: 0 is the same loop iteration. */
  lag: number;
  /** Cancel the task awaiting the shield, or the outer future held in a handle. */
  via: "waiter" | "handle";
}

const INNER_ENDS = "inner ends";
const OUTER_CALLBACK_RAN = "outer callback ran";
const LATE_EXCEPTIONS: readonly ExceptionSpec[] = [valueError(7), { type: "KeyError", args: ["k"] }, { type: "CustomError", args: ["lost"] }];

function cancelScenario(c: CancelCase): Scenario {
  const main: Step[] = [];
  const coroutines: CoroutineDef[] = [];
  const callbacks: CallbackDef[] = [];
  const end: Step = c.ends === "return" ? { op: "return", value: 42 } : { op: "raise", exc: c.ends === "raise" ? c.exc : { type: "CancelledError" } };
  let part: Awaitable;
  if (c.inner === "future") {
    const settle: Step =
      c.ends === "return" ? { op: "set_result", future: "f", value: 42 }
      : c.ends === "raise" ? { op: "set_exception", future: "f", exc: c.exc }
      : { op: "cancel", task: "f" };
    // A timer callback settling f would end it an iteration before main,
    // woken by its own timer of the same tick, runs again: settle from a
    // callback the timer queues, as a task's wake-up is queued.
    callbacks.push({ name: "due", body: [{ op: "call_soon", callback: "settle" }] });
    callbacks.push({ name: "settle", body: [{ op: "log", label: INNER_ENDS }, settle] });
    main.push({ op: "create_future", future: "f" }, { op: "call_later", delay: c.ticks, callback: "due" });
    part = { task: "f" };
  } else {
    coroutines.push({ name: "inner", body: [{ op: "sleep", ticks: c.ticks }, { op: "log", label: INNER_ENDS }, end] });
    if (c.inner === "task") main.push({ op: "create_task", coro: "inner", task: "t", name: "inner_task" });
    part = c.inner === "task" ? { task: "t" } : { coro: "inner" };
  }
  const outer = c.via === "waiter" ? "w" : "s";
  if (c.via === "waiter") {
    main.push({ op: "create_task", coro: "waiter", task: "w", name: "waiter" });
    coroutines.unshift({ name: "waiter", body: [{ op: "await", on: { shield: part } }] });
  } else {
    main.push({ op: "ensure_future", on: { shield: part }, future: "s" });
  }
  callbacks.push({ name: "mark", body: [{ op: "log", label: OUTER_CALLBACK_RAN }] });
  main.push(
    { op: "sleep", ticks: c.ticks - c.lag },
    { op: "cancel", task: outer },
    { op: "call_soon", callback: "mark" },
    { op: "sleep", ticks: c.lag + 2 },
    { op: "drop", handle: outer },
  );
  if (c.inner !== "coro") main.push({ op: "drop", handle: c.inner === "task" ? "t" : "f" });
  // No gc step: gc mode collects once more when main has ended.
  return scenarioOf(main, coroutines, callbacks);
}

/** late: the outer is cancelled 1..ticks ticks before the inner ends; else in the tick it ends. */
const cancelCaseArb = (late: boolean): fc.Arbitrary<Scenario> =>
  fc
    .record({
      inner: fc.constantFrom<EndKind>("coro", "task", "future"),
      ends: fc.constantFrom<Ending>("raise", "return", "cancel"),
      exc: fc.constantFrom(...LATE_EXCEPTIONS),
      ticks: fc.integer({ min: 1, max: 3 }),
      lag: fc.integer({ min: 1, max: 3 }),
      via: fc.constantFrom<CancelCase["via"]>("waiter", "handle"),
    })
    .map((c) => cancelScenario({ ...c, lag: late ? Math.min(c.lag, c.ticks) : 0 }));

/** What the scenario was built with, read back from it. */
function caseOf(scenario: Scenario): { ends: Ending; exc?: ExceptionSpec; via: CancelCase["via"]; inner: EndKind } {
  const steps = [...scenario.coroutines.flatMap((c) => c.body), ...(scenario.callbacks ?? []).flatMap((c) => c.body)];
  const raised = steps.find((s) => (s.op === "raise" && s.exc.type !== "CancelledError") || s.op === "set_exception") as { exc: ExceptionSpec } | undefined;
  const cancelled = steps.some((s) => (s.op === "raise" && s.exc.type === "CancelledError") || (s.op === "cancel" && s.task === "f"));
  const via = scenario.coroutines.some((c) => c.name === "waiter") ? "waiter" : "handle";
  const inner: EndKind = steps.some((s) => s.op === "create_future") ? "future" : steps.some((s) => s.op === "create_task" && s.coro === "inner") ? "task" : "coro";
  return { ends: raised ? "raise" : cancelled ? "cancel" : "return", exc: raised?.exc, via, inner };
}

/** A report the exception handler must hear: its message, exception and, for a destruction report, the object. */
interface Report { message: string; exc: ExceptionSpec; of?: TraceValue }

/**
 * The common part of both properties: the cancellation took, the inner ran
 * to its end and the two marks are there. Returns the marks' indexes and
 * the inner as a report names it, or a verdict.
 */
function cancelledOuter(scenario: Scenario, trace: Trace): { end: number; mark: number; of: TraceValue } | string {
  const { via, inner } = caseOf(scenario);
  if (via === "waiter") {
    const aw = awaitedBy(trace, "waiter", "shield")[0];
    if (!aw) return "the waiter's await of the shield never finished";
    if (!isCancelled(aw.e)) return `the cancelled waiter's await of the shield gave ${show(outcomeOf(aw.e))} instead of raising CancelledError`;
  } else {
    const c = eventsOf(trace, "cancel").find((x) => x.e.ref === "s");
    if (!c) return "the outer future was never cancelled";
    if (!c.e.returned) return "cancel() of the outer future, while its inner still ran, returned False";
  }
  const end = trace.events.findIndex((e) => e.ev === "log" && e.label === INNER_ENDS);
  if (end < 0) return "the shielded inner did not run to its end";
  const mark = trace.events.findIndex((e) => e.ev === "log" && e.label === OUTER_CALLBACK_RAN);
  if (mark < 0) return `the callback queued right after the cancellation never ran (${trace.end.kind})`;
  const of: TraceValue = inner === "future" ? { future: "f" } : { task: trace.events[end].task };
  return { end, mark, of };
}

/** The exception handler heard exactly `want`, in that order. */
function heardExactly(trace: Trace, want: readonly Report[]): Verdict {
  const got = eventsOf(trace, "exception_handler");
  const shown = (r: { message: string; exc?: unknown; of?: unknown }): string => show({ message: r.message, exc: r.exc, of: r.of });
  const wanted = want.map((r) => ({ message: r.message, exc: { type: r.exc.type, args: r.exc.args ?? [] }, of: r.of }));
  if (got.length !== want.length || got.some((g, k) => shown(g.e) !== shown(wanted[k]))) {
    return `the exception handler heard ${got.length === 0 ? "nothing" : got.map((g) => shown(g.e)).join(", ")}; expected ${wanted.length === 0 ? "nothing" : wanted.map(shown).join(", ")}`;
  }
  return true;
}

const neverRetrieved = (inner: EndKind, exc: ExceptionSpec, of: TraceValue): Report => ({
  message: `${inner === "future" ? "Future" : "Task"} exception was never retrieved`,
  exc,
  of,
});

function checkLateEnd(scenario: Scenario, trace: Trace, version: PythonVersion): Verdict {
  const r = cancelledOuter(scenario, trace);
  if (typeof r === "string") return r;
  if (r.end < r.mark) return "the inner ended before the outer's callback ran, though it ends ticks after the cancellation";
  const { ends, exc, inner } = caseOf(scenario);
  if (ends !== "raise" || exc === undefined) return heardExactly(trace, []);
  if (atLeast(version, "3.14")) {
    const heard = heardExactly(trace, [{ message: `${exc.type} exception in shielded future`, exc }]);
    if (heard !== true) return heard;
    const report = eventsOf(trace, "exception_handler")[0];
    return report.i > r.end ? true : "the late exception was reported before the inner ended";
  }
  return heardExactly(trace, [neverRetrieved(inner, exc, r.of)]);
}

function checkSameIteration(scenario: Scenario, trace: Trace, version: PythonVersion): Verdict {
  const r = cancelledOuter(scenario, trace);
  if (typeof r === "string") return r;
  if (r.end > r.mark) return "the inner, which ends at the tick of the cancellation, ended only after the outer's callback ran";
  const { ends, exc, inner } = caseOf(scenario);
  if (ends === "raise" && exc !== undefined && atLeast(version, "3.14")) return heardExactly(trace, [neverRetrieved(inner, exc, r.of)]);
  return heardExactly(trace, []);
}

const SHIELD_CANCEL_NEEDS = [
  "shield", "coro", "task", "create_task", "create_future", "sleep", "cancel", "raise", "set_result", "set_exception",
  "call_later", "call_soon", "ensure_future", "drop", "log",
];

export const CLAUSES: Clause[] = [
  clause({
    id: "shield.outer_cancel_spares_inner",
    statement: "Cancelling the task that awaits shield(aw) makes that await raise CancelledError at once, while aw is not cancelled and runs to its end.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["shield", "coro", "task", "create_task", "sleep", "cancel", "raise", "await"],
    brokenBy: ["mutant:shield-cancels-inner"],
    evidence: [mainRanToItsEnd],
    scenarios: () => outerCancelArb,
    check: ({ trace }) => checkOuterCancel(trace),
  }),
  clause({
    id: "shield.inner_cancelled",
    statement: "If the shielded awaitable itself is cancelled, awaiting the shield raises CancelledError.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["shield", "coro", "task", "create_task", "sleep", "cancel", "call_later", "raise", "try", "await"],
    brokenBy: ["mutant:shield-ignores-inner-cancel"],
    evidence: [mainRanToItsEnd],
    scenarios: () => innerCancelledArb,
    check: ({ trace }) => checkInnerCancelled(trace),
  }),
  clause({
    id: "shield.result_passes",
    statement: "When nothing is cancelled, awaiting shield(aw) gives aw's result or raises aw's exception.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["shield", "coro", "task", "create_task", "sleep", "raise", "try", "await"],
    brokenBy: ["mutant:shield-swallows-exception"],
    evidence: [mainRanToItsEnd],
    scenarios: () => passThroughArb,
    check: ({ scenario, trace }) => checkPassThrough(scenario, trace),
  }),
  clause({
    id: "shield.done_inner",
    statement: "shield of an awaitable that is already done gives its outcome (result, exception or cancellation) without giving up the loop: a task created just before has not started yet.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "exact",
    needs: ["shield", "task", "create_task", "sleep", "cancel", "raise", "try", "await", "log"],
    brokenBy: ["mutant:shield-always-wraps"],
    evidence: [mainRanToItsEnd],
    scenarios: () => doneInnerArb,
    check: ({ trace }) => checkDoneInner(trace),
  }),
  clause({
    id: "shield.cancelled_outer_late_exception",
    statement:
      "Once the outer future of shield(aw) is cancelled, an exception aw ends with later reaches nobody: before 3.14 nothing retrieves it, so collecting aw reports it as never retrieved; from 3.14 the exception handler hears \"<type> exception in shielded future\" with it as soon as aw ends. A result or a cancellation of aw is dropped silently.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "exact",
    needs: SHIELD_CANCEL_NEEDS,
    brokenBy: ["mutant:shield-keeps-inner-callback"],
    evidence: [mainRanToItsEnd],
    scenarios: () => cancelCaseArb(true),
    check: ({ scenario, trace, version }) => checkLateEnd(scenario, trace, version),
  }),
  clause({
    id: "shield.cancel_same_iteration",
    statement:
      "When aw ends in the loop iteration in which the outer future of shield(aw) is cancelled, before the outer's done callback runs, shield's callback on aw still runs, finds the outer cancelled and leaves it so (no InvalidStateError reaches the exception handler); before 3.14 it reads aw's exception, which marks it retrieved, so collecting aw reports nothing; 3.14 no longer reads it, and collecting aw reports it as never retrieved.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "exact",
    needs: SHIELD_CANCEL_NEEDS,
    brokenBy: ["mutant:shield-sets-cancelled-outer", "mutant:shield-forgets-late-outcome"],
    evidence: [mainRanToItsEnd],
    scenarios: () => cancelCaseArb(false),
    check: ({ scenario, trace, version }) => checkSameIteration(scenario, trace, version),
  }),
];
