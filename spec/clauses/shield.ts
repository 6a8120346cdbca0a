/**
 * Clauses: asyncio.shield ("Shielding From Cancellation").
 *
 * The inner awaitable is a coroutine `inner` (which shield wraps in a
 * task), a task `t` main created (named "inner_task"), or a sleep. The
 * properties read the inner's fate off its coroutine's exit event.
 */
import fc from "fast-check";
import type { Awaitable, CallbackDef, CoroutineDef, Scenario, Step } from "../scenario/types";
import type { Trace } from "../scenario/trace";
import { ALL_VERSIONS, DOCS, clause } from "./clause";
import { mainRanToItsEnd } from "./evidence";
import type { Clause, Verdict } from "./clause";
import { awaitedBy, catching, enterOf, exitOf, isCancelled, outcomeOf, same, scenarioOf, show, shutdownIndex, valueError } from "./gather";

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

export const CLAUSES: Clause[] = [
  clause({
    id: "shield.outer_cancel_spares_inner",
    statement: "Cancelling the task that awaits shield(aw) makes that await raise CancelledError at once, while aw is not cancelled and runs to its end.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["shield", "coro", "task", "create_task", "sleep", "cancel", "raise"],
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
    needs: ["shield", "coro", "task", "create_task", "sleep", "cancel", "call_later", "raise", "try"],
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
    needs: ["shield", "coro", "task", "create_task", "sleep", "raise", "try"],
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
    needs: ["shield", "task", "create_task", "sleep", "cancel", "raise", "try"],
    brokenBy: ["mutant:shield-always-wraps"],
    evidence: [mainRanToItsEnd],
    scenarios: () => doneInnerArb,
    check: ({ trace }) => checkDoneInner(trace),
  }),
];
