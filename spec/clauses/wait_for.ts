/**
 * Clauses: asyncio.wait_for ("Timeouts").
 *
 * The awaitable is a coroutine `slow` (run inline on 3.12+, in a task of
 * its own on 3.11) or a task `t` main created (named "slow_task"); `slow`
 * sleeps some ticks and returns 42 or raises ValueError(7), and may need
 * time to clean up when cancelled (a `finally` that sleeps a tick). The
 * properties compare the `awaited` event on "wait_for" with the exit event
 * of `slow`.
 */
import fc from "fast-check";
import type { Awaitable, CoroutineDef, Scenario, Step } from "../scenario/types";
import type { Trace } from "../scenario/trace";
import { atLeast } from "../scenario/versions";
import type { PythonVersion } from "../scenario/versions";
import { ALL_VERSIONS, DOCS, clause, SINCE_3_9, SINCE_3_11 } from "./clause";
import { mainRanToItsEnd } from "./evidence";
import type { Clause, Verdict } from "./clause";
import { cancelledAtTimeoutArb, checkCancelledAtTimeout } from "./wait";
import { awaitedBy, catching, enterOf, eventsOf, exitOf, isCancelled, outcomeOf, same, scenarioOf, show, valueError } from "./gather";

const SOURCE = { url: DOCS.tasks + "#asyncio.wait_for", section: "Timeouts" };

interface Slow {
  kind: "coro" | "task";
  ticks: number;
  raises: boolean;
  /** A finally block that sleeps this many ticks (and logs) before the coroutine ends; null: none. */
  cleanup: number | null;
}

function slowCoro(s: Slow): CoroutineDef {
  const work: Step[] = [{ op: "sleep", ticks: s.ticks }, s.raises ? { op: "raise", exc: valueError(7) } : { op: "return", value: 42 }];
  if (s.cleanup === null) return { name: "slow", body: work };
  return { name: "slow", body: [{ op: "try", body: work, finally: [{ op: "sleep", ticks: s.cleanup }, { op: "log", label: "cleaned up" }] }] };
}

function slowPart(s: Slow): { part: Awaitable; spawn: Step[] } {
  if (s.kind === "coro") return { part: { coro: "slow" }, spawn: [] };
  return { part: { task: "t" }, spawn: [{ op: "create_task", coro: "slow", task: "t", name: "slow_task" }] };
}

/** main: wait_for(slow, timeout), catching what it raises, then sleep `after` ticks. */
function waitForScenario(s: Slow, timeout: number | null, after = 0) {
  const { part, spawn } = slowPart(s);
  const main: Step[] = [...spawn, catching("BaseException", [{ op: "await", on: { wait_for: part, timeout } }])];
  if (after > 0) main.push({ op: "sleep", ticks: after });
  return scenarioOf(main, [slowCoro(s)]);
}

const slowArb = (o: { minTicks: number; maxTicks: number; raises?: boolean; cleanup?: boolean }): fc.Arbitrary<Slow> =>
  fc.record({
    kind: fc.constantFrom<Slow["kind"]>("coro", "task"),
    ticks: fc.integer({ min: o.minTicks, max: o.maxTicks }),
    raises: o.raises ? fc.boolean() : fc.constant(false),
    cleanup: o.cleanup ? fc.option(fc.integer({ min: 0, max: 2 }), { nil: null }) : fc.constant(null),
  });

function theWaitFor(trace: Trace, task = "Task-1") {
  const aw = awaitedBy(trace, task, "wait_for")[0];
  return aw ?? `${task}'s await of wait_for never finished (${trace.end.kind})`;
}

// ---- the timeout expires

/** slow takes longer than the timeout (1..3 ticks), maybe with a cleanup. */
const expiresArb = fc
  .record({ slow: slowArb({ minTicks: 2, maxTicks: 8, cleanup: true }), timeout: fc.integer({ min: 1, max: 3 }) })
  .filter(({ slow, timeout }) => slow.ticks > timeout)
  .map(({ slow, timeout }) => waitForScenario(slow, timeout));

function checkExpires(trace: Trace): Verdict {
  const aw = theWaitFor(trace);
  if (typeof aw === "string") return aw;
  const x = exitOf(trace, "slow");
  if (!x) return "the awaitable never ended";
  if (!isCancelled(x.e)) return `the awaitable was not cancelled when the timeout expired: it ended with ${show(outcomeOf(x.e))}`;
  if (aw.e.exc?.type !== "TimeoutError") return `wait_for gave ${show(outcomeOf(aw.e))} when the timeout expired, not TimeoutError`;
  if (aw.i < x.i) return "wait_for raised TimeoutError before the cancelled awaitable had ended";
  return true;
}

// ---- a timeout of 0 or less, on a task that is done or ends otherwise

/*
 * wait_for(t, timeout <= 0) never waits for the timeout: a task already
 * done gives its outcome at once, without giving up the loop (a task x
 * created just before has not started when the await returns), a cancelled
 * one its CancelledError (not TimeoutError); a task that is running is
 * cancelled and waited for, and if it ends otherwise than cancelled (it
 * catches the CancelledError and raises ValueError(7) or returns 5), that
 * outcome is what wait_for gives.
 */
type ZeroCase = "returned" | "raised" | "cancelled" | "resists_raise" | "resists_return";

const zeroOutcomesArb = fc
  .record({
    how: fc.constantFrom<ZeroCase>("returned", "raised", "cancelled", "resists_raise", "resists_return"),
    timeout: fc.constantFrom(0, -1),
  })
  .map(({ how, timeout }) => {
    const resists = how === "resists_raise" || how === "resists_return";
    const body: Step[] =
      how === "returned" ? [{ op: "return", value: 42 }]
      : how === "raised" ? [{ op: "raise", exc: valueError(7) }]
      : how === "cancelled" ? [{ op: "sleep", ticks: 5 }]
      : [{
          op: "try",
          body: [{ op: "sleep", ticks: 5 }],
          except: [{ type: "CancelledError", body: [how === "resists_raise" ? { op: "raise", exc: valueError(7) } : { op: "return", value: 5 }] }],
        }];
    const main: Step[] = [{ op: "create_task", coro: "slow", task: "t", name: "slow_task" }, { op: "sleep", ticks: 0 }];
    if (how === "cancelled") main.push({ op: "cancel", task: "t" }, { op: "sleep", ticks: 0 });
    if (!resists) main.push({ op: "create_task", coro: "x", task: "x", name: "x" });
    main.push(catching("BaseException", [{ op: "await", on: { wait_for: { task: "t" }, timeout } }]));
    return scenarioOf(main, [{ name: "slow", body }, { name: "x", body: [{ op: "log", label: "x runs" }] }]);
  });

function checkZeroOutcomes(trace: Trace): Verdict {
  const aw = theWaitFor(trace);
  if (typeof aw === "string") return aw;
  const x = exitOf(trace, "slow");
  if (!x) return "the task never ended";
  const got = outcomeOf(aw.e);
  if (isCancelled(x.e)) {
    if (!isCancelled(aw.e)) return `wait_for(t, timeout <= 0) of a task already cancelled gave ${show(got)}, not its CancelledError`;
  } else if (!same(got, outcomeOf(x.e))) {
    return `wait_for(t, timeout <= 0) gave ${show(got)}; the task ended with ${show(outcomeOf(x.e))}${x.i < aw.i ? "" : " (after wait_for returned)"}`;
  }
  const started = enterOf(trace, "x");
  if (started && started.i < aw.i) return "task x, created just before, started before wait_for(t, timeout <= 0) of a finished task returned: it gave up the loop";
  return true;
}

// ---- what a task waiting in wait_for holds

/*
 * A task suspended in wait_for holds the awaitable (in 3.11 wait_for's
 * frame holds the task wrapping it; from 3.12 the task awaits it directly):
 * a task "slow" that waits on a future nobody holds, given to wait_for by a
 * task "waiting" that main holds, survives a collection after main drops
 * the future and its own handle on slow; when the timeout expires, wait_for
 * cancels slow, waits for it and raises TimeoutError.
 */
const holdsAwaitableArb = fc
  .record({ kind: fc.constantFrom<"coro" | "task">("coro", "task"), timeout: fc.integer({ min: 1, max: 3 }) })
  .map(({ kind, timeout }) => {
    const part: Awaitable = kind === "task" ? { task: "t" } : { coro: "slow" };
    const main: Step[] = [{ op: "create_future", future: "f" }];
    if (kind === "task") main.push({ op: "create_task", coro: "slow", task: "t", name: "slow_task" }, { op: "weakref", task: "t", ref: "r" });
    main.push(
      { op: "create_task", coro: "waiting", task: "w", name: "waiting" },
      { op: "sleep", ticks: 0 },
      { op: "sleep", ticks: 0 },
      { op: "drop", handle: "f" },
    );
    if (kind === "task") main.push({ op: "drop", handle: "t" });
    main.push({ op: "gc" });
    if (kind === "task") main.push({ op: "inspect_weakref", ref: "r" });
    main.push({ op: "log", label: "collected" }, { op: "await", on: { task: "w" } });
    return scenarioOf(main, [
      { name: "waiting", body: [catching("TimeoutError", [{ op: "await", on: { wait_for: part, timeout } }])] },
      { name: "slow", body: [{ op: "await", on: { task: "f" } }] },
    ]);
  });

function checkHoldsAwaitable(trace: Trace): Verdict {
  const heard = eventsOf(trace, "exception_handler");
  if (heard.length > 0) return `the exception handler heard ${show(heard[0].e)}: the collection destroyed the awaitable of a task waiting in wait_for`;
  const r = eventsOf(trace, "weakref")[0];
  if (r && !r.e.alive) return "the collection destroyed the task a task waiting in wait_for awaits";
  const aw = theWaitFor(trace, "waiting");
  if (typeof aw === "string") return aw;
  if (aw.e.exc?.type !== "TimeoutError") return `wait_for gave ${show(outcomeOf(aw.e))} when its timeout expired, not TimeoutError`;
  const x = exitOf(trace, "slow");
  if (!x || !isCancelled(x.e)) return "the awaitable did not end cancelled by the timeout";
  return true;
}

// ---- what wait_for's frame, and an exception leaving it, hold

/*
 * wait_for(t, 0) cancels t and waits until t has really ended; its frame
 * holds t (`fut = ensure_future(fut)`) meanwhile. Here t ("inner") swallows
 * the cancellation and goes on waiting on a future f2 nobody else holds, and
 * main drops its handles on t, f1 and f2: only the frame of the task
 * ("outer") suspended in wait_for reaches t. Then main cancels outer; the
 * CancelledError leaves wait_for's frame, and its traceback keeps that frame,
 * and so t, for as long as the exception lives: as the cancelled task's
 * exception (how "cancelled"), or as the __context__ of the exception outer
 * raises while handling it ("raise"). Caught and dropped ("return"), it
 * keeps nothing. Three collections (logged g1, g2, g3): after the drops,
 * after outer ended, after main dropped outer.
 */
type FrameEnd = "cancelled" | "raise" | "return";
const frameKeepsArb = fc
  .record({ how: fc.constantFrom<FrameEnd>("cancelled", "raise", "return"), twice: fc.boolean(), spin: fc.integer({ min: 0, max: 2 }) })
  .map(({ how, twice, spin }) => {
    const gc: Step = { op: "gc" };
    const main: Step[] = [
      { op: "create_future", future: "f1" },
      { op: "create_future", future: "f2" },
      { op: "create_task", coro: "inner", task: "t", name: "inner" },
      { op: "sleep", ticks: 0 },
      { op: "create_task", coro: "outer", task: "a", name: "outer" },
      { op: "weakref", task: "a", ref: "wa" },
      // outer cancels inner and waits; inner swallows it and waits on f2.
      { op: "sleep", ticks: 0 },
      { op: "sleep", ticks: 0 },
      ...Array.from({ length: spin }, (): Step => ({ op: "sleep", ticks: 0 })),
      { op: "drop", handle: "t" },
      { op: "drop", handle: "f1" },
      { op: "drop", handle: "f2" },
      gc,
      ...(twice ? [gc] : []),
      { op: "log", label: "g1" },
      { op: "cancel", task: "a" },
      { op: "sleep", ticks: 0 },
      { op: "sleep", ticks: 0 },
      gc,
      { op: "log", label: "g2" },
      { op: "drop", handle: "a" },
      gc,
      { op: "inspect_weakref", ref: "wa" },
      { op: "log", label: "g3" },
    ];
    const waitFor: Step = { op: "await", on: { wait_for: { task: "t" }, timeout: 0 } };
    const handler: Step[] = how === "raise" ? [{ op: "raise", exc: { type: "ValueError", args: ["after"] } }] : [{ op: "return", value: 1 }];
    const outer: Step[] = how === "cancelled" ? [waitFor] : [{ op: "try", body: [waitFor], except: [{ type: "CancelledError", body: handler }] }];
    return scenarioOf(main, [
      { name: "outer", body: outer },
      { name: "inner", body: [{ op: "try", body: [{ op: "await", on: { task: "f1" } }], except: [{ type: "CancelledError", body: [{ op: "log", label: "swallowed" }] }] }, { op: "await", on: { task: "f2" } }] },
    ]);
  });

function checkFrameKeeps(scenario: Scenario, trace: Trace): Verdict {
  const outer = scenario.coroutines.find((c) => c.name === "outer")!.body[0];
  const how: FrameEnd = outer.op !== "try" ? "cancelled" : JSON.stringify(outer).includes('"raise"') ? "raise" : "return";
  if (!eventsOf(trace, "log").some((l) => l.e.label === "swallowed")) return "inner never swallowed wait_for's cancellation";
  const marks = ["g1", "g2", "g3"].map((label) => eventsOf(trace, "log").find((l) => l.e.label === label)?.i ?? -1);
  if (marks.includes(-1)) return `main did not reach its three collections (${trace.end.kind})`;
  const heard = eventsOf(trace, "exception_handler").map(({ i, e }) => ({ stage: marks.findIndex((m) => i < m) + 1, message: e.message, of: e.of }));
  const destroyed = { message: "Task was destroyed but it is pending!", of: { task: "inner" } };
  const want =
    how === "return" ? [{ stage: 2, ...destroyed }]
    : how === "cancelled" ? [{ stage: 3, ...destroyed }]
    : [{ stage: 3, ...destroyed }, { stage: 3, message: "Task exception was never retrieved", of: { task: "outer" } }];
  if (!same(heard, want)) {
    return `the exception handler heard ${show(heard)} (stage n = at the n-th collection), expected ${show(want)}: ${
      how === "return" ? "inner lives while outer waits in wait_for, and dies once the caught CancelledError is gone" : "inner lives while outer waits in wait_for and while the exception that left wait_for lives"
    }`;
  }
  const wa = eventsOf(trace, "weakref").map((r) => r.e.alive);
  if (!same(wa, [false])) return `weak reference wa read ${show(wa)} after main dropped outer`;
  return true;
}

// ---- the awaitable cancelled by someone else

/*
 * A call_later callback cancels task t (or future f) that wait_for awaits,
 * before the timeout: wait_for raises the CancelledError (with the cancel's
 * message), not TimeoutError, when t ends, and the awaiting task itself was
 * not cancelled: it goes on after catching it.
 */
const cancelledElsewhereArb = fc
  .record({ kind: fc.constantFrom<"task" | "future">("task", "future"), at: fc.integer({ min: 0, max: 2 }), timeout: fc.integer({ min: 3, max: 4 }), msg: fc.boolean() })
  .map(({ kind, at, timeout, msg }) => {
    const h = kind === "task" ? "t" : "f";
    const main: Step[] = [
      kind === "task" ? { op: "create_task", coro: "slow", task: "t", name: "slow_task" } : { op: "create_future", future: "f" },
      { op: "call_later", delay: at, callback: "stop" },
      catching("BaseException", [{ op: "await", on: { wait_for: { task: h }, timeout } }]),
      { op: "log", label: "main goes on" },
    ];
    const cancel: Step = msg ? { op: "cancel", task: h, msg: "elsewhere" } : { op: "cancel", task: h };
    return scenarioOf(main, kind === "task" ? [{ name: "slow", body: [{ op: "sleep", ticks: 10 }] }] : [], [{ name: "stop", body: [cancel] }]);
  });

function checkCancelledElsewhere(scenario: Scenario, trace: Trace): Verdict {
  const aw = theWaitFor(trace);
  if (typeof aw === "string") return aw;
  if (!isCancelled(aw.e)) return `wait_for gave ${show(outcomeOf(aw.e))} when its awaitable was cancelled by a callback, not CancelledError`;
  const msg = JSON.stringify(scenario).includes('"elsewhere"');
  if (!same(aw.e.exc?.args ?? [], msg ? ["elsewhere"] : [])) return `the CancelledError carries ${show(aw.e.exc?.args)}, not the cancel's message`;
  const when = eventsOf(trace, "callback")[0];
  if (!when || aw.e.time !== when.e.time) return `wait_for raised at t=${aw.e.time}, not when its awaitable was cancelled (t=${when?.e.time})`;
  return true;
}

// ---- cancelled in the iteration the awaitable ends

/*
 * Task "waiting" awaits wait_for(t, 5); main cancels it at the very tick t
 * ends (main's timer and t's are due together; main wakes first). Up to
 * 3.11 wait_for waits on a waiter future, not on t: t still ends as it
 * would, and wait_for, finding it done when the CancelledError arrives,
 * gives its outcome, swallowing the cancellation (cancelling() stays 1).
 * From 3.12 the waiting task awaits t itself: the cancellation reaches t,
 * which ends cancelled, and wait_for raises CancelledError.
 */
const cancelAsEndsArb = fc
  .record({ ticks: fc.integer({ min: 1, max: 3 }), raises: fc.boolean() })
  .map(({ ticks, raises }) =>
    scenarioOf(
      [
        { op: "create_task", coro: "slow", task: "t", name: "slow_task" },
        { op: "create_task", coro: "waiting", task: "w", name: "waiting" },
        { op: "sleep", ticks },
        { op: "cancel", task: "w" },
        { op: "sleep", ticks: 1 },
      ],
      [
        { name: "waiting", body: [catching("BaseException", [{ op: "await", on: { wait_for: { task: "t" }, timeout: 5 } }])] },
        { name: "slow", body: [{ op: "sleep", ticks }, raises ? { op: "raise", exc: valueError(7) } : { op: "return", value: 42 }] },
      ],
    ),
  );

function checkCancelAsEnds(scenario: Scenario, trace: Trace, version: PythonVersion): Verdict {
  const aw = theWaitFor(trace, "waiting");
  if (typeof aw === "string") return aw;
  const x = exitOf(trace, "slow");
  if (!x) return "the awaitable never ended";
  // The race is at the awaitable's own deadline: its sleep's ticks, when main cancels.
  const slowSleep = scenario.coroutines.find((c) => c.name === "slow")?.body[0] as { ticks?: number } | undefined;
  if (slowSleep?.ticks !== undefined && x.e.time !== slowSleep.ticks) {
    return `the awaitable ended at t=${x.e.time}, not at t=${slowSleep.ticks}, the iteration of the cancellation`;
  }
  if (atLeast(version, "3.12")) {
    if (!isCancelled(x.e)) return `the awaitable, pending when the task awaiting wait_for was cancelled, ended with ${show(outcomeOf(x.e))} instead of being cancelled`;
    if (!isCancelled(aw.e)) return `wait_for gave ${show(outcomeOf(aw.e))} to a cancelled task, not CancelledError`;
    return true;
  }
  if (isCancelled(x.e)) return "the awaitable was cancelled, though it ended in the iteration of the cancellation (up to 3.11 wait_for cancels it only after the waiter wakes)";
  if (!same(outcomeOf(aw.e), outcomeOf(x.e))) return `wait_for gave ${show(outcomeOf(aw.e))}; the awaitable, done when the cancellation arrived, ended with ${show(outcomeOf(x.e))}`;
  return true;
}

export const CLAUSES: Clause[] = [
  clause({
    id: "wait_for.timeout_cancels_and_waits",
    statement: "When the timeout expires, wait_for cancels the awaitable, waits until it has really ended, and then raises TimeoutError.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["wait_for", "coro", "task", "create_task", "sleep", "try", "await", "return"],
    brokenBy: ["mutant:wait_for-never-times-out", "mutant:wait_for-no-wait", "mutant:wait_for-not-cancelling"],
    evidence: [mainRanToItsEnd],
    scenarios: () => expiresArb,
    check: ({ trace }) => checkExpires(trace),
  }),
  clause({
    id: "wait_for.timeout_cause",
    statement: "The TimeoutError raised when wait_for's timeout expires has the awaitable's CancelledError as its cause.",
    source: SOURCE,
    versions: SINCE_3_9,
    level: "exact",
    needs: ["wait_for", "coro", "task", "create_task", "sleep", "try", "await", "return"],
    brokenBy: ["mutant:wait_for-no-wait"],
    evidence: [mainRanToItsEnd],
    scenarios: () => expiresArb,
    check: ({ trace }) => {
      const aw = theWaitFor(trace);
      if (typeof aw === "string") return aw;
      if (aw.e.exc?.type !== "TimeoutError") return `wait_for gave ${show(outcomeOf(aw.e))} when the timeout expired, not TimeoutError`;
      if (aw.e.exc.cause?.type !== "CancelledError") return `the TimeoutError's cause is ${show(aw.e.exc.cause)}, not a CancelledError`;
      return true;
    },
  }),
  clause({
    id: "wait_for.swallowed_cancellation",
    statement: "If the awaitable catches the cancellation wait_for's timeout sends it and returns a value, wait_for returns that value instead of raising TimeoutError.",
    source: SOURCE,
    versions: SINCE_3_9,
    level: "exact",
    needs: ["wait_for", "coro", "task", "create_task", "sleep", "try", "await", "return"],
    brokenBy: ["mutant:wait_for-no-wait"],
    evidence: [mainRanToItsEnd],
    scenarios: () =>
      fc
        .record({ kind: fc.constantFrom<Slow["kind"]>("coro", "task"), ticks: fc.integer({ min: 2, max: 6 }), timeout: fc.integer({ min: 1, max: 3 }), extra: fc.integer({ min: 0, max: 2 }) })
        .filter(({ ticks, timeout }) => ticks > timeout)
        .map(({ kind, ticks, timeout, extra }) => {
          const { part, spawn } = slowPart({ kind, ticks, raises: false, cleanup: null });
          const slow: CoroutineDef = {
            name: "slow",
            body: [
              { op: "try", body: [{ op: "sleep", ticks }], except: [{ type: "CancelledError", body: [{ op: "sleep", ticks: extra }] }] },
              { op: "return", value: 42 },
            ],
          };
          return scenarioOf([...spawn, catching("BaseException", [{ op: "await", on: { wait_for: part, timeout } }])], [slow]);
        }),
    check: ({ trace }) => {
      const aw = theWaitFor(trace);
      if (typeof aw === "string") return aw;
      const x = exitOf(trace, "slow");
      if (!x || !same(outcomeOf(x.e), 42)) return "the awaitable did not return 42 after catching the cancellation";
      if (!same(outcomeOf(aw.e), 42)) return `wait_for gave ${show(outcomeOf(aw.e))}; the awaitable swallowed the cancellation and returned 42`;
      return true;
    },
  }),
  clause({
    id: "wait_for.no_timeout",
    statement: "With timeout=None, wait_for waits for the awaitable however long it takes and gives its result or raises its exception.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["wait_for", "coro", "task", "create_task", "sleep", "raise", "try", "await"],
    brokenBy: ["mutant:wait_for-none-is-zero"],
    evidence: [mainRanToItsEnd],
    virtualTimeOnly: "its scenarios wait up to 1 000 ticks (30 s a scenario at 30 ms a tick)",
    scenarios: () =>
      slowArb({ minTicks: 0, maxTicks: 1000, raises: true }).map((s) => waitForScenario(s, null)),
    check: ({ trace }) => checkInTime(trace),
  }),
  clause({
    id: "wait_for.in_time",
    statement: "When the awaitable ends before the timeout, wait_for gives its result or raises its exception, when it ends, without cancelling anything.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["wait_for", "coro", "task", "create_task", "sleep", "raise", "try", "await"],
    brokenBy: ["mutant:wait_for-result-dropped"],
    evidence: [mainRanToItsEnd],
    scenarios: () =>
      fc
        .record({ slow: slowArb({ minTicks: 0, maxTicks: 5, raises: true }), margin: fc.integer({ min: 1, max: 5 }) })
        .map(({ slow, margin }) => waitForScenario(slow, slow.ticks + margin)),
    check: ({ trace }) => checkInTime(trace),
  }),
  clause({
    id: "wait_for.zero_timeout",
    statement: "With a timeout of 0, wait_for cancels the awaitable before it can start: a coroutine (or a task that has not started) never runs, and wait_for raises TimeoutError; a task already done gives its result.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "exact",
    needs: ["wait_for", "coro", "task", "create_task", "sleep", "try", "await", "return"],
    brokenBy: ["mutant:wait_for-zero-runs"],
    evidence: [mainRanToItsEnd],
    scenarios: () =>
      fc
        .record({ kind: fc.constantFrom("coro", "task", "done_task"), ticks: fc.integer({ min: 0, max: 2 }) })
        .map(({ kind, ticks }) => {
          const slow: Slow = { kind: kind === "coro" ? "coro" : "task", ticks, raises: false, cleanup: null };
          const { part, spawn } = slowPart(slow);
          const body = kind === "done_task" ? [{ op: "return", value: 42 } as Step] : slowCoro(slow).body;
          const wait: Step[] = kind === "done_task" ? [{ op: "sleep", ticks: 0 }] : [];
          return scenarioOf([...spawn, ...wait, catching("BaseException", [{ op: "await", on: { wait_for: part, timeout: 0 } }])], [{ name: "slow", body }]);
        }),
    check: ({ scenario, trace }) => {
      const aw = theWaitFor(trace);
      if (typeof aw === "string") return aw;
      const done = scenario.coroutines[0].body.some((s) => s.op === "sleep");
      const entered = enterOf(trace, "slow");
      if (done) {
        if (!same(outcomeOf(aw.e), 42)) return `wait_for(task already done, 0) gave ${show(outcomeOf(aw.e))}, not the task's result 42`;
        return true;
      }
      if (entered) return "the awaitable started running although the timeout was 0";
      if (aw.e.exc?.type !== "TimeoutError") return `wait_for(aw, 0) gave ${show(outcomeOf(aw.e))}, not TimeoutError`;
      return true;
    },
  }),
  clause({
    id: "wait_for.zero_timeout_outcomes",
    statement:
      "With a timeout of 0 or less, wait_for of a task already done gives its outcome at once without giving up the loop (a cancelled task's CancelledError, not TimeoutError), and a running task that, cancelled, raises another exception or returns makes wait_for raise that exception or return that value rather than TimeoutError.",
    source: SOURCE,
    versions: SINCE_3_9,
    note: "3.8 raises TimeoutError even when the cancelled task ends otherwise (bpo-40607, fixed in 3.9)",
    level: "exact",
    needs: ["wait_for", "task", "create_task", "sleep", "cancel", "raise", "try", "log", "await"],
    brokenBy: ["mutant:wait_for-zero-waits-done", "mutant:wait_for-zero-masks-exception"],
    evidence: [mainRanToItsEnd],
    scenarios: () => zeroOutcomesArb,
    check: ({ trace }) => checkZeroOutcomes(trace),
  }),
  clause({
    id: "wait_for.holds_awaitable",
    statement:
      "A task suspended in wait_for holds the awaitable: a task waiting on a future nobody holds, given to wait_for and referred to by nothing else, survives a collection, and the timeout still cancels it and waits for it before raising TimeoutError.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "exact",
    needs: ["wait_for", "coro", "task", "create_task", "create_future", "sleep", "try", "weakref", "inspect_weakref", "drop", "gc", "log", "await"],
    brokenBy: ["mutant:wait_for-frame-holds-nothing"],
    evidence: [mainRanToItsEnd],
    scenarios: () => holdsAwaitableArb,
    check: ({ trace }) => checkHoldsAwaitable(trace),
  }),
  clause({
    id: "wait_for.frame_and_traceback_keep_awaitable",
    statement:
      "wait_for(t, 0) holds t in its frame until t has really ended: a task t that swallows the cancellation and waits on a future nobody holds survives collections while the caller waits, and after the caller is cancelled out of wait_for, for as long as that CancelledError lives (the caller's exception, or the __context__ of one it raised while handling it), whose traceback keeps wait_for's frame; once the CancelledError is caught and gone, or the caller is dropped, the next collection destroys t, reported \"Task was destroyed but it is pending!\".",
    // CPython Lib/asyncio/tasks.py wait_for: `fut = ensure_future(fut)` ... `await _cancel_and_wait(fut)`
    // (the same in 3.8-3.14); a traceback keeps its frames (https://docs.python.org/3/reference/datamodel.html#traceback-objects).
    source: SOURCE,
    versions: SINCE_3_9,
    note: "3.8's cancelled task keeps no CancelledError (Task._cancelled_exc is 3.9's, with cancel(msg)): there t dies as soon as the caller is cancelled",
    level: "exact",
    needs: ["wait_for", "task", "create_task", "create_future", "sleep", "cancel", "raise", "return", "try", "weakref", "inspect_weakref", "drop", "gc", "log", "await"],
    brokenBy: ["mutant:wait_for-frame-holds-nothing", "mutant:traceback-keeps-no-asyncio-frame"],
    evidence: [mainRanToItsEnd],
    scenarios: () => frameKeepsArb,
    check: ({ scenario, trace }) => checkFrameKeeps(scenario, trace),
  }),
  clause({
    id: "wait_for.cancelled_as_timeout_expires",
    statement:
      "A task cancelled in the loop iteration in which its wait_for()'s timeout expires, by a callback that runs before wait_for's timer, gets CancelledError, not TimeoutError; the timer then finds the wait already over and does nothing: the exception handler hears nothing.",
    source: SOURCE, // CPython Lib/asyncio/tasks.py: 3.11's _release_waiter checks `if not waiter.done()`; 3.12+'s Timeout leaves a CancelledError it did not cause alone
    versions: ALL_VERSIONS,
    level: "exact",
    needs: ["wait_for", "create_task", "create_future", "call_later", "call_at", "cancel", "sleep", "task", "try", "log", "await"],
    brokenBy: ["mutant:timer-releases-done-waiter"],
    evidence: [mainRanToItsEnd],
    scenarios: () => cancelledAtTimeoutArb("wait_for"),
    check: ({ scenario, trace }) => checkCancelledAtTimeout(scenario, trace, "wait_for"),
  }),
  clause({
    id: "wait_for.awaitable_cancelled_elsewhere",
    statement:
      "When the awaitable (a task or a future) is cancelled by someone else before the timeout, wait_for raises its CancelledError, with the cancel's message, as soon as it ends, not TimeoutError; the awaiting task can catch it and go on.",
    source: SOURCE,
    versions: SINCE_3_11,
    level: "exact",
    needs: ["wait_for", "task", "create_task", "create_future", "sleep", "cancel", "call_later", "try", "log", "await"],
    brokenBy: ["mutant:wait_for-cancel-is-timeout"],
    evidence: [mainRanToItsEnd],
    scenarios: () => cancelledElsewhereArb,
    check: ({ scenario, trace }) => checkCancelledElsewhere(scenario, trace),
  }),
  clause({
    id: "wait_for.cancel_as_awaitable_ends",
    statement:
      "When the task awaiting wait_for is cancelled in the loop iteration in which the awaitable ends: up to 3.11 the awaitable ends as it would and wait_for gives its outcome, swallowing the cancellation; from 3.12 the cancellation reaches the awaitable, which ends cancelled, and wait_for raises CancelledError.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "exact",
    needs: ["wait_for", "task", "create_task", "sleep", "cancel", "raise", "try", "await"],
    brokenBy: ["mutant:wait_for-cancel-race-raises"],
    evidence: [mainRanToItsEnd],
    scenarios: () => cancelAsEndsArb,
    check: ({ scenario, trace, version }) => checkCancelAsEnds(scenario, trace, version),
  }),
  clause({
    id: "wait_for.cancel_cancels_awaitable",
    statement: "Cancelling the task that awaits wait_for cancels the awaitable too, and the await raises CancelledError (not TimeoutError).",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["wait_for", "coro", "task", "create_task", "sleep", "cancel", "try", "await", "return"],
    brokenBy: ["mutant:wait_for-not-cancelling"],
    evidence: [mainRanToItsEnd],
    scenarios: () =>
      fc
        .record({ slow: slowArb({ minTicks: 3, maxTicks: 6, cleanup: true }), timeout: fc.option(fc.integer({ min: 8, max: 20 }), { nil: null }) })
        .map(({ slow, timeout }) => {
          const { part, spawn } = slowPart(slow);
          const main: Step[] = [
            ...spawn,
            { op: "create_task", coro: "waiter", task: "w", name: "waiter" },
            { op: "sleep", ticks: 1 },
            { op: "cancel", task: "w" },
            { op: "sleep", ticks: 10 },
          ];
          return scenarioOf(main, [{ name: "waiter", body: [{ op: "await", on: { wait_for: part, timeout } }] }, slowCoro(slow)]);
        }),
    check: ({ trace }) => {
      const aw = theWaitFor(trace, "waiter");
      if (typeof aw === "string") return aw;
      const x = exitOf(trace, "slow");
      if (!x) return "the awaitable never ended";
      if (!isCancelled(x.e)) return `the awaitable ended with ${show(outcomeOf(x.e))}: cancelling wait_for did not cancel it`;
      if (!isCancelled(aw.e)) return `the cancelled wait_for gave ${show(outcomeOf(aw.e))} instead of raising CancelledError`;
      return true;
    },
  }),
  clause({
    id: "wait_for.coroutine_in_new_task",
    statement: "On 3.11, wait_for with a timeout wraps a coroutine in a new task: the coroutine does not run in the awaiting task.",
    source: SOURCE,
    versions: ["3.11"],
    level: "exact",
    note: "3.12 reimplemented wait_for on top of asyncio.timeout (gh-96764): the coroutine runs in the caller's task",
    needs: ["wait_for", "coro", "sleep", "raise", "try", "await"],
    brokenBy: ["mutant:wait_for-version-flipped"],
    evidence: [mainRanToItsEnd],
    scenarios: () => inlineArb,
    check: ({ trace }) => {
      const e = enterOf(trace, "slow");
      if (!e) return "the coroutine never ran";
      if (e.e.task === "Task-1") return "the coroutine ran in the awaiting task, not in a task of its own";
      return true;
    },
  }),
  clause({
    id: "wait_for.coroutine_in_caller_task",
    statement: "Since 3.12, wait_for runs a coroutine in the awaiting task itself (under asyncio.timeout), without creating a task.",
    source: SOURCE,
    versions: ["3.12", "3.13", "3.14"],
    level: "exact",
    note: "gh-96764; 3.11 wraps the coroutine in a new task",
    needs: ["wait_for", "coro", "sleep", "raise", "try", "await"],
    brokenBy: ["mutant:wait_for-version-flipped"],
    evidence: [mainRanToItsEnd],
    scenarios: () => inlineArb,
    check: ({ trace }) => {
      const e = enterOf(trace, "slow");
      if (!e) return "the coroutine never ran";
      if (e.e.task !== "Task-1") return `the coroutine ran in task ${e.e.task}, not in the awaiting task`;
      if (trace.tasks.length !== 1) return `wait_for created ${trace.tasks.length - 1} task(s)`;
      return true;
    },
  }),
];

/** A coroutine under wait_for with a positive timeout, in time or not. */
const inlineArb = fc
  .record({ ticks: fc.integer({ min: 0, max: 4 }), raises: fc.boolean(), timeout: fc.integer({ min: 1, max: 5 }) })
  .map(({ ticks, raises, timeout }) => waitForScenario({ kind: "coro", ticks, raises, cleanup: null }, timeout));

function checkInTime(trace: Trace): Verdict {
  const aw = theWaitFor(trace);
  if (typeof aw === "string") return aw;
  const x = exitOf(trace, "slow");
  if (!x) return `the awaitable never ended (wait_for gave ${show(outcomeOf(aw.e))})`;
  if (isCancelled(x.e)) return "the awaitable was cancelled although it finished in time";
  if (!same(outcomeOf(aw.e), outcomeOf(x.e))) return `wait_for gave ${show(outcomeOf(aw.e))}; the awaitable's outcome was ${show(outcomeOf(x.e))}`;
  if (aw.e.time !== x.e.time) return `wait_for returned at t=${aw.e.time}, not when the awaitable ended (t=${x.e.time})`;
  return true;
}
