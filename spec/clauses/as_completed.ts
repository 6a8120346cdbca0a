/**
 * Clauses: asyncio.as_completed ("Waiting Primitives").
 *
 * main creates tasks t0, t1, ... (named w0, w1, ..., running coroutines
 * c0, c1, ... that sleep and return 10 + i or raise ValueError(i)) and
 * iterates as_completed over them in some order, catching what the loop
 * raises, then sleeps until every task is over. The properties compare the
 * `awaited` (and `as_completed`) events with the tasks' exit events.
 */
import fc from "fast-check";
import type { Awaitable, CoroutineDef, Scenario, Step } from "../scenario/types";
import type { Trace, TraceValue } from "../scenario/trace";
import { ALL_VERSIONS, DOCS, clause, SINCE_3_11 } from "./clause";
import { finished, mainRanToItsEnd, recorded, tasksCreated } from "./evidence";
import { atLeast } from "../scenario/versions";
import type { PythonVersion } from "../scenario/versions";
import type { Clause, Verdict } from "./clause";
import { awaitedBy, catching, childCoro, eventsOf, isCancelled, outcomeOf, same, scenarioOf, show, shutdownIndex, valueError } from "./gather";

const SOURCE = { url: DOCS.tasks + "#asyncio.as_completed", section: "Waiting Primitives" };

/** The clauses reason about the member tasks' ends and what as_completed handed out: the tasks were created and ended, and main went through the loop. */
const MEMBERS_RAN = [mainRanToItsEnd, tasksCreated(), finished((s) => s.coroutines.map((c) => c.name))];
const EVIDENCE = [...MEMBERS_RAN, recorded("awaited", "an outcome handed out by as_completed", () => 1, (e) => e.on === "as_completed")];
/** With a timeout, the loop may hand out nothing before it raises TimeoutError, which main catches. */
const TIMEOUT_EVIDENCE = [...MEMBERS_RAN, recorded("caught", "main catching what the loop over as_completed raised", () => 1, (e) => e.task === "Task-1")];

interface Member {
  ticks: number;
  raises: boolean;
}

function asCompletedScenario(members: readonly Member[], order: readonly number[], o: { timeout?: number | null; mode?: "iter" | "async" }, after: number): Scenario {
  const coroutines: CoroutineDef[] = [];
  const spawn: Step[] = [];
  members.forEach((m, i) => {
    coroutines.push(childCoro(`c${i}`, i, m.ticks, m.raises));
    spawn.push({ op: "create_task", coro: `c${i}`, task: `t${i}`, name: `w${i}` });
  });
  const on: Awaitable[] = order.map((i) => ({ task: `t${i}` }));
  const step: Step & { op: "as_completed" } = { op: "as_completed", on };
  if (o.timeout !== undefined) step.timeout = o.timeout;
  if (o.mode !== undefined) step.mode = o.mode;
  const main: Step[] = [...spawn, catching("BaseException", [step])];
  if (after > 0) main.push({ op: "sleep", ticks: after });
  return scenarioOf(main, coroutines);
}

/** Members, and a permutation of them (the argument order). */
const membersArb = (raises: boolean, maxTicks = 4) =>
  fc
    .array(fc.record({ ticks: fc.integer({ min: 0, max: maxTicks }), raises: raises ? fc.boolean() : fc.constant(false) }), { minLength: 1, maxLength: 4 })
    .chain((ms) => fc.shuffledSubarray(ms.map((_, i) => i), { minLength: ms.length, maxLength: ms.length }).map((order) => ({ ms, order })));

/** The tasks' exits, in the order they happened (completion order). */
interface Exit {
  i: number;
  coro: string;
  time: number;
  outcome: TraceValue;
  failed: boolean;
  cancelled: boolean;
}

function completionOrder(trace: Trace, n: number): Exit[] {
  const names = new Set(Array.from({ length: n }, (_, i) => `c${i}`));
  return eventsOf(trace, "exit")
    .filter((x) => names.has(x.e.coro))
    .map((x) => ({ i: x.i, coro: x.e.coro, time: x.e.time, outcome: outcomeOf(x.e), failed: x.e.exc !== undefined, cancelled: isCancelled(x.e) }));
}

function memberCount(scenario: Scenario): number {
  return scenario.coroutines.length - 1;
}

/** What as_completed must hand out: the outcomes in completion order, up to the first exception. */
function expectedOutcomes(trace: Trace, n: number, before = Infinity) {
  const out: Exit[] = [];
  for (const c of completionOrder(trace, n)) {
    if (c.time >= before) break;
    out.push(c);
    if (c.failed) break;
  }
  return out;
}

function checkCompletionOrder(scenario: Scenario, trace: Trace): Verdict {
  const n = memberCount(scenario);
  const got = awaitedBy(trace, "Task-1", "as_completed").map((x) => outcomeOf(x.e));
  const want = expectedOutcomes(trace, n).map((c) => c.outcome);
  if (!same(got, want)) return `as_completed handed out ${show(got)}; in completion order (up to the first exception) the tasks gave ${show(want)}`;
  return true;
}

function checkTimeout(scenario: Scenario, trace: Trace): Verdict {
  const n = memberCount(scenario);
  const step = scenario.coroutines[0].body.find((s) => s.op === "try");
  const timeout = step?.op === "try" && step.body[0].op === "as_completed" ? step.body[0].timeout ?? null : null;
  if (timeout === null) return "no timeout";
  const got = awaitedBy(trace, "Task-1", "as_completed");
  const want = expectedOutcomes(trace, n, timeout);
  const before = got.slice(0, want.length).map((x) => outcomeOf(x.e));
  if (!same(before, want.map((c) => c.outcome))) {
    return `before the timeout, as_completed handed out ${show(got.map((x) => outcomeOf(x.e)))}; the tasks finished by then gave ${show(want.map((c) => c.outcome))}`;
  }
  const failedFirst = want.length > 0 && want[want.length - 1].failed;
  if (!failedFirst) {
    // Plain iteration raises it from an await (an `awaited` event); async
    // iteration from the iteration step itself. Either way main catches it.
    const caught = eventsOf(trace, "caught").find((x) => x.e.task === "Task-1");
    if (!caught) return `nothing was raised when the timeout (t=${timeout}) expired`;
    if (caught.e.exc.type !== "TimeoutError") return `after the tasks finished in time, the loop over as_completed raised ${show(caught.e.exc)}, not TimeoutError`;
    if (caught.e.time !== timeout) return `as_completed raised TimeoutError at t=${caught.e.time}, not at the timeout (t=${timeout})`;
    const extra = got.slice(want.length).filter((x) => x.e.exc?.type !== "TimeoutError");
    if (extra.length > 0) return `as_completed handed out ${show(extra.map((x) => outcomeOf(x.e)))} after the timeout`;
  }
  const end = shutdownIndex(trace);
  const exits = completionOrder(trace, n);
  if (exits.length < n || exits.some((x) => x.i > end)) return "a task did not run to its end after the timeout";
  const cancelled = exits.find((x) => x.cancelled);
  if (cancelled) return `task of ${cancelled.coro} was cancelled: as_completed's timeout cancels nothing`;
  return true;
}

function checkAsyncItems(scenario: Scenario, trace: Trace): Verdict {
  const n = memberCount(scenario);
  const want = expectedOutcomes(trace, n);
  const items = eventsOf(trace, "as_completed").filter((x) => x.e.task === "Task-1");
  const awaited = awaitedBy(trace, "Task-1", "as_completed");
  const wantItems = want.map((c) => ({ task: `w${c.coro.slice(1)}` }));
  const gotItems = items.map((x) => x.e.item);
  if (!same(gotItems, wantItems)) return `async iteration yielded ${show(gotItems)}; the tasks in completion order are ${show(wantItems)}`;
  const gotOutcomes = awaited.map((x) => outcomeOf(x.e));
  if (!same(gotOutcomes, want.map((c) => c.outcome))) return `awaiting the yielded tasks gave ${show(gotOutcomes)}, not ${show(want.map((c) => c.outcome))}`;
  return true;
}

/**
 * Members already finished when as_completed starts. Its input becomes a set
 * (`todo = {ensure_future(f) for f in set(fs)}`) and each member gets a done
 * callback in the set's order; for a member already done, add_done_callback
 * schedules that callback at once. So the members done before the call are
 * handed out first, in the set's iteration order, not in the order they
 * finished nor in argument order, and a member given twice counts once.
 * The set's order follows the hashes; the driver pins a task's hash to its
 * creation number (as the reference does), and for the few tasks created
 * one after another at the start here that order is creation order. The
 * members still running come after, in the order they finish.
 */
const doneFirstArb = fc
  .record({
    ticks: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 4 }),
    raises: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    pre: fc.integer({ min: 1, max: 5 }),
    picks: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
    mode: fc.constantFrom<"iter" | undefined>(undefined, "iter"),
  })
  .map(({ ticks, raises, pre, picks, mode }) => {
    // No member ends at the tick main starts as_completed (which comes first would be a tie).
    const ms = ticks.map((t, i) => ({ ticks: t === pre ? t + 1 : t, raises: raises[i] }));
    // Every member at least once, some twice, in a shuffled order.
    const order = [...ms.map((_, i) => i), ...picks.slice(0, 2).map((k) => k % ms.length)];
    for (let i = order.length - 1; i > 0; i--) {
      const j = picks[i % picks.length] % (i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    const s = asCompletedScenario(ms, order, { mode }, 7);
    const main = s.coroutines[0].body;
    main.splice(ms.length, 0, { op: "sleep", ticks: pre });
    return s;
  });

function checkDoneFirst(scenario: Scenario, trace: Trace): Verdict {
  const n = memberCount(scenario);
  const pre = (scenario.coroutines[0].body[n] as { ticks: number }).ticks;
  const exits = completionOrder(trace, n);
  if (exits.length < n) return "a member task did not run to its end";
  const byIndex = (a: Exit, b: Exit) => Number(a.coro.slice(1)) - Number(b.coro.slice(1));
  const before = exits.filter((x) => x.time < pre).sort(byIndex);
  const after = exits.filter((x) => x.time > pre);
  const want: TraceValue[] = [];
  for (const c of [...before, ...after]) {
    want.push(c.outcome);
    if (c.failed) break;
  }
  const got = awaitedBy(trace, "Task-1", "as_completed").map((x) => outcomeOf(x.e));
  if (!same(got, want)) {
    return `as_completed (started at t=${pre}) handed out ${show(got)}; the members done by then in creation (set) order, each once, then the others as they finished, give ${show(want)}`;
  }
  return true;
}

// ---- what a task iterating as_completed holds

/*
 * as_completed wraps coroutines in tasks that only its state holds (its
 * set of unfinished members; the program has the coroutines, not the
 * tasks). Members "stuck0".. wait on a future f nobody else holds once a
 * task "collector" drops it; "quick" finishes first (while a member runs
 * or sleeps, its done callback holds the state, as a timeout's timer would:
 * there is none). The collector's collection, while main is suspended in
 * the loop, destroys nothing; then it cancels main, which leaves the loop
 * with CancelledError and catches it. Each stuck task is destroyed later,
 * reported "Task was destroyed but it is pending!" once, in creation order:
 * at main's collection or at the end of the run (which one is not
 * claimed here: what still holds the iterator after the loop is left
 * differs between versions, 3.13's driver frame keeps the last
 * `_wait_for_one()`, whose `self` is the iterator; and main's collection
 * runs in the step that caught the CancelledError, which still holds it,
 * and its traceback the driver's argument list: CPython 3.11-3.13 report
 * the members at the end of the run, tasks.ts `thrownIn`). These pending
 * members alone do not tell mutant as-completed-holds-nothing apart: the
 * driver's argument list keeps their coroutines, whose frames keep the
 * future they await (the finished members below do).
 */
const holdsMembersArb = (version: PythonVersion) =>
  fc
    .record({
      stuck: fc.integer({ min: 1, max: 2 }),
      quick: fc.boolean(),
      at: fc.integer({ min: 0, max: 2 }),
      twice: fc.boolean(),
      mode: atLeast(version, "3.13") ? fc.constantFrom<"iter" | "async">("iter", "async") : fc.constant<"iter">("iter"),
    })
    .map(({ stuck, quick, at, twice, mode }) => {
      const coroutines: CoroutineDef[] = [];
      const on: Awaitable[] = [];
      for (let i = 0; i < stuck; i++) {
        coroutines.push({ name: `stuck${i}`, body: [{ op: "await", on: { task: "f" } }] });
        on.push({ coro: `stuck${i}` });
      }
      if (quick) {
        coroutines.push({ name: "quick", body: [{ op: "sleep", ticks: 1 }, { op: "return", value: 7 }] });
        on.push({ coro: "quick" });
      }
      const gc: Step = { op: "gc" };
      const collector: Step[] = [{ op: "sleep", ticks: quick ? 2 + at : at }, { op: "drop", handle: "f" }, gc, ...(twice ? [gc] : []), { op: "log", label: "g1" }, { op: "cancel", task: "$main" }];
      coroutines.push({ name: "collector", body: collector });
      const step: Step = mode === "iter" ? { op: "as_completed", on } : { op: "as_completed", on, mode };
      const main: Step[] = [
        { op: "create_future", future: "f" },
        { op: "create_task", coro: "collector", task: "c", name: "collector" },
        catching("CancelledError", [step]),
        gc,
        { op: "log", label: "g2" },
      ];
      return scenarioOf(main, coroutines);
    });

function checkHoldsMembers(scenario: Scenario, trace: Trace): Verdict {
  const marks = ["g1", "g2"].map((label) => eventsOf(trace, "log").find((l) => l.e.label === label)?.i ?? -1);
  if (marks.includes(-1)) return `the collector or main did not reach its collection (${trace.end.kind})`;
  if (!eventsOf(trace, "caught").some((c) => c.e.task === "Task-1" && c.e.exc?.type === "CancelledError")) return "main was not cancelled out of the loop over as_completed";
  const stuck = scenario.coroutines.filter((c) => c.name.startsWith("stuck")).map((c) => eventsOf(trace, "enter").find((x) => x.e.coro === c.name)?.e.task);
  if (stuck.includes(undefined)) return "a stuck member never started";
  const heard = eventsOf(trace, "exception_handler").map(({ i, e }) => ({ early: i < marks[0], message: e.message, of: e.of }));
  const want = stuck.map((task) => ({ early: false, message: "Task was destroyed but it is pending!", of: { task } }));
  if (!same(heard, want)) {
    return `the exception handler heard ${show(heard)} (early: at the collection while main iterates), expected ${show(want)}: the tasks as_completed made live while the loop over it waits, and are destroyed, pending, once`;
  }
  return true;
}

/*
 * The finished members not handed out yet. A member that finishes goes,
 * through its done callback, onto as_completed's queue of completions,
 * where the loop takes it at its next await: until then only as_completed
 * holds that task (the program has the coroutine, whose frame is cleared
 * once it returns or raises). Members c0.. (coroutines: as_completed wraps
 * them in tasks) yield j times (sleep(0)) and then raise ValueError(i) or
 * return 10 + i; one of those that finish first raises. A task "collector",
 * created first (so its step comes first in each loop iteration), yields
 * 2 + jmin times and collects: that is the iteration after the first
 * completion callbacks ran, in which main's wake-up is queued but has not
 * run. So the collection comes while a failed member waits on the queue,
 * and it destroys nothing ("Task exception was never retrieved" would say
 * it did); main then takes it and leaves the loop with its exception.
 * This is what as_completed's own state holds: the pending members are
 * also held by their coroutines, which the driver's argument list keeps
 * (a suspended coroutine's frame holds the future it awaits, whose
 * wake-up holds the task), so those alone cannot tell.
 */
const holdsFinishedArb = (version: PythonVersion) =>
  fc
    .record({
      js: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 3 }),
      raises: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
      firstRaises: fc.nat(),
      mode: atLeast(version, "3.13") ? fc.constantFrom<"iter" | "async">("iter", "async") : fc.constant<"iter">("iter"),
    })
    .map(({ js, raises, firstRaises, mode }) => {
      const jmin = Math.min(...js);
      const first = js.flatMap((j, i) => (j === jmin ? [i] : []));
      const fails = js.map((_, i) => raises[i]);
      fails[first[firstRaises % first.length]] = true;
      const yields = (n: number): Step[] => Array.from({ length: n }, () => ({ op: "sleep", ticks: 0 }) as Step);
      const coroutines: CoroutineDef[] = js.map((j, i) => ({
        name: `c${i}`,
        body: [...yields(j), fails[i] ? { op: "raise", exc: valueError(i) } : { op: "return", value: 10 + i }],
      }));
      coroutines.push({ name: "collector", body: [...yields(2 + jmin), { op: "log", label: "g1" }, { op: "gc" }] });
      const on: Awaitable[] = js.map((_, i) => ({ coro: `c${i}` }));
      const step: Step = mode === "iter" ? { op: "as_completed", on } : { op: "as_completed", on, mode };
      const main: Step[] = [{ op: "create_task", coro: "collector", task: "c", name: "collector" }, catching("Exception", [step]), { op: "sleep", ticks: 1 }];
      return scenarioOf(main, coroutines);
    });

function checkHoldsFinished(scenario: Scenario, trace: Trace): Verdict {
  const n = scenario.coroutines.filter((c) => /^c\d+$/.test(c.name)).length;
  const mark = eventsOf(trace, "log").find((l) => l.e.label === "g1")?.i;
  if (mark === undefined) return `the collector did not reach its collection (${trace.end.kind})`;
  const exits = completionOrder(trace, n);
  const handed = awaitedBy(trace, "Task-1", "as_completed");
  const waiting = exits.filter((x) => x.i < mark && x.failed).filter((x) => !handed.some((h) => h.i < mark && same(outcomeOf(h.e), x.outcome)));
  if (waiting.length === 0) {
    return `no failed member had finished and was waiting to be handed out when the collector collected (finished before: ${show(exits.filter((x) => x.i < mark).map((x) => x.coro))}, handed out before: ${show(handed.filter((h) => h.i < mark).map((h) => outcomeOf(h.e)))}): the collector's step comes first in each loop iteration, after 2 + jmin yields in the one where main's wake-up waits`;
  }
  const left = eventsOf(trace, "caught").find((c) => c.e.task === "Task-1")?.i ?? trace.events.length;
  const heard = eventsOf(trace, "exception_handler").filter((x) => x.i > mark && x.i < left);
  if (heard.length > 0) {
    return `the collection while ${show(waiting.map((x) => x.coro))} waited on as_completed's queue was followed by ${show(heard.map((x) => x.e))} before main left the loop: as_completed holds the members it has not handed out`;
  }
  const want = expectedOutcomes(trace, n).map((c) => c.outcome);
  const got = handed.map((h) => outcomeOf(h.e));
  if (!same(got, want)) return `after the collection the loop handed out ${show(got)}; the members in completion order (up to the first exception) gave ${show(want)}`;
  return true;
}

function checkHoldsItsTasks(scenario: Scenario, trace: Trace): Verdict {
  return scenario.coroutines.some((c) => c.name === "c0") ? checkHoldsFinished(scenario, trace) : checkHoldsMembers(scenario, trace);
}

// ---- cancelled as a member completes

/*
 * main iterates as_completed over futures f0.. that call_later callbacks
 * resolve; at the same deadline another callback cancels main. When the
 * member's completion comes first, its done callback (queued before main's
 * wake-up) puts the member on as_completed's queue while main's consumer
 * is already cancelled: the queue skips the cancelled getter and wakes
 * nobody. Either way main leaves the loop with CancelledError at that
 * deadline, having handed out nothing then, and nothing reaches the
 * exception handler.
 */
const cancelledAsCompletesArb = (version: PythonVersion) =>
  fc
    .record({
      n: fc.integer({ min: 1, max: 2 }),
      at: fc.integer({ min: 1, max: 3 }),
      completionFirst: fc.boolean(),
      mode: atLeast(version, "3.13") ? fc.constantFrom<"iter" | "async">("iter", "async") : fc.constant<"iter">("iter"),
    })
    .map(({ n, at, completionFirst, mode }) => {
      const futures = Array.from({ length: n }, (_, i) => `f${i}`);
      const on: Awaitable[] = futures.map((task) => ({ task }));
      const resolve: Step = { op: "call_later", delay: at, callback: "resolve" };
      const stop: Step = { op: "call_later", delay: at, callback: "stop" };
      const step: Step = mode === "iter" ? { op: "as_completed", on } : { op: "as_completed", on, mode };
      const main: Step[] = [
        ...futures.map((future): Step => ({ op: "create_future", future })),
        ...(completionFirst ? [resolve, stop] : [stop, resolve]),
        { op: "try", body: [step], except: [{ type: "CancelledError", body: [{ op: "log", label: "left" }] }] },
        { op: "sleep", ticks: 1 },
      ];
      return scenarioOf(main, [], [
        { name: "resolve", body: [{ op: "set_result", future: "f0", value: 1 }] },
        { name: "stop", body: [{ op: "cancel", task: "$main" }] },
      ]);
    });

function checkCancelledAsCompletes(scenario: Scenario, trace: Trace): Verdict {
  const heard = eventsOf(trace, "exception_handler");
  if (heard.length > 0) return `the exception handler heard ${show(heard[0].e)}: the completion touched the cancelled consumer's getter`;
  const stop = eventsOf(trace, "callback").find((c) => c.e.callback === "stop");
  if (!stop) return "the callback that cancels main never ran";
  const at = (scenario.coroutines[0].body.find((x) => x.op === "call_later") as { delay: number }).delay;
  if (stop.e.time !== at) return `main was cancelled at t=${stop.e.time}, not at t=${at}`;
  // Plain iteration records the await that raised; `async for` raises in __anext__, before any item.
  const handed = awaitedBy(trace, "Task-1", "as_completed");
  if (handed.some((h) => !isCancelled(h.e))) return `the loop over as_completed gave ${show(handed.map((h) => outcomeOf(h.e)))}, expected nothing but CancelledError`;
  const caught = eventsOf(trace, "caught").find((c) => c.e.task === "Task-1");
  if (!caught || caught.e.exc?.type !== "CancelledError") return `main caught ${show(caught?.e.exc ?? null)} from the loop, not CancelledError`;
  if (caught.e.time !== at) return `main left the loop at t=${caught.e.time}, not when it was cancelled (t=${at})`;
  if (!eventsOf(trace, "log").some((l) => l.e.label === "left" && l.e.task === "Task-1")) return "main did not go on after catching the CancelledError";
  return true;
}

export const CLAUSES: Clause[] = [
  clause({
    id: "as_completed.completion_order",
    statement: "Iterating over as_completed() gives awaitables whose outcomes come in the order the tasks finish, not in argument order; the first exception ends the loop.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["as_completed", "task", "create_task", "sleep", "raise", "try"],
    brokenBy: ["mutant:as-completed-argument-order"],
    evidence: EVIDENCE,
    scenarios: () =>
      fc
        .record({ m: membersArb(true), mode: fc.constantFrom<"iter" | undefined>(undefined, "iter"), timeout: fc.constantFrom<number | null | undefined>(undefined, null, 50) })
        .map(({ m, mode, timeout }) => asCompletedScenario(m.ms, m.order, { mode, timeout }, 0)),
    check: ({ scenario, trace }) => checkCompletionOrder(scenario, trace),
  }),
  clause({
    id: "as_completed.timeout",
    statement: "When as_completed()'s timeout expires, the next await raises TimeoutError, after the outcomes of the tasks that finished in time; the unfinished tasks are not cancelled.",
    source: SOURCE,
    versions: SINCE_3_11,
    level: "documented",
    needs: ["as_completed", "as_completed:async", "task", "create_task", "sleep", "raise", "try"],
    brokenBy: ["mutant:as-completed-ignores-timeout"],
    evidence: TIMEOUT_EVIDENCE,
    scenarios: (version) =>
      fc
        .record({
          m: membersArb(true, 5),
          timeout: fc.integer({ min: 1, max: 4 }),
          slow: fc.nat(),
          mode: atLeast(version, "3.13") ? fc.constantFrom<"iter" | "async" | undefined>(undefined, "iter", "async") : fc.constant(undefined),
        })
        .map(({ m, timeout, slow, mode }) => {
          // No task ends exactly at the timeout (which comes first is a tie); one ends after it.
          const ms = m.ms.map((x) => ({ ...x, ticks: x.ticks === timeout ? timeout + 1 : x.ticks }));
          const k = slow % ms.length;
          ms[k] = { ...ms[k], ticks: Math.max(ms[k].ticks, timeout + 1) };
          return asCompletedScenario(ms, m.order, { timeout, mode }, 7);
        }),
    check: ({ scenario, trace }) => checkTimeout(scenario, trace),
  }),
  clause({
    id: "as_completed.holds_its_tasks",
    statement:
      "as_completed() holds the tasks it wraps the given coroutines in while the loop over it waits, those that finished and wait to be handed out included: a collection between a member's completion and the loop taking it destroys nothing (a failed one is not reported \"never retrieved\"), and the loop then hands out its outcome; a member waiting on a future nobody holds survives a collection meanwhile; it is destroyed once everything lets go of it (the iterating task cancelled out of the loop), reported \"Task was destroyed but it is pending!\" once, by a later collection.",
    source: SOURCE, // CPython: Lib/asyncio/tasks.py, as_completed (`todo = {ensure_future(f) for f in set(fs)}`; 3.13: _AsCompletedIterator._todo)
    versions: SINCE_3_11,
    level: "exact",
    needs: ["as_completed", "as_completed:async", "coro", "create_task", "create_future", "sleep", "return", "raise", "task", "try", "cancel", "drop", "gc", "log"],
    brokenBy: ["mutant:as-completed-holds-nothing"],
    evidence: [mainRanToItsEnd],
    scenarios: (version) => fc.oneof(holdsMembersArb(version), holdsFinishedArb(version)),
    check: ({ scenario, trace }) => checkHoldsItsTasks(scenario, trace),
  }),
  clause({
    id: "as_completed.cancelled_as_member_completes",
    statement:
      "A task cancelled while its loop over as_completed() waits, in the loop iteration in which a member completes (its completion queued before or after the cancellation), leaves the loop with CancelledError; the completion finds the waiting consumer cancelled and wakes nobody: nothing reaches the exception handler.",
    source: SOURCE, // CPython Lib/asyncio/queues.py: Queue.get's except branch and _wakeup_next, which skips done getters
    versions: SINCE_3_11,
    level: "exact",
    needs: ["as_completed", "as_completed:async", "create_future", "call_later", "set_result", "cancel", "sleep", "task", "try", "log"],
    brokenBy: ["mutant:queue-wakes-done-getter"],
    evidence: [mainRanToItsEnd],
    scenarios: (version) => cancelledAsCompletesArb(version),
    check: ({ scenario, trace }) => checkCancelledAsCompletes(scenario, trace),
  }),
  clause({
    id: "as_completed.done_members_first",
    statement:
      "as_completed() hands out the members already done when it starts first, each distinct member once however often it was given, in the order of the set it makes of them (for tasks created one after another: creation order, not the order they finished nor argument order); the members still running follow in the order they finish; the first exception ends the loop.",
    source: SOURCE, // CPython: Lib/asyncio/tasks.py, as_completed (3.13: _AsCompletedIterator)
    versions: SINCE_3_11,
    level: "exact",
    needs: ["as_completed", "task", "create_task", "sleep", "raise", "try"],
    brokenBy: ["mutant:as-completed-argument-order", "mutant:as-completed-done-in-argument-order"],
    evidence: EVIDENCE,
    scenarios: () => doneFirstArb,
    check: ({ scenario, trace }) => checkDoneFirst(scenario, trace),
  }),
  clause({
    id: "as_completed.async_yields_tasks",
    statement: "Since 3.13, `async for` over as_completed() yields the original tasks themselves, in the order they finish.",
    source: SOURCE,
    versions: ["3.13", "3.14"],
    level: "documented",
    note: "async iteration of as_completed is new in 3.13 (gh-77714)",
    needs: ["as_completed", "as_completed:async", "task", "create_task", "sleep", "raise", "try"],
    brokenBy: ["mutant:as-completed-async-new-futures", "mutant:as-completed-argument-order"],
    evidence: EVIDENCE,
    scenarios: () => membersArb(true).map((m) => asCompletedScenario(m.ms, m.order, { mode: "async" }, 0)),
    check: ({ scenario, trace }) => checkAsyncItems(scenario, trace),
  }),
];
