/**
 * Clauses: task cancellation — "Task Cancellation" and Task.cancel /
 * cancelled / cancelling / uncancel of the "Coroutines and Tasks" page.
 *
 * The scenarios come from ./tasks.ts's generators (the lifecycle of one or
 * two children under a script of cancel / uncancel / inspect steps) or from
 * small dedicated ones below. Child coroutines are spawned once each, so a
 * child's `enter` / `exit` events are its task's, and the events a child
 * task records carry its name (nothing renames tasks here).
 */
import fc from "fast-check";
import type { Scalar, Scenario, Step } from "../scenario/types";
import type { Trace, TraceEvent } from "../scenario/trace";
import { canonicalJson } from "../scenario/trace";
import { ALL_VERSIONS, DOCS, clause, SINCE_3_11 } from "./clause";
import { mainRanToItsEnd } from "./evidence";
import type { Clause } from "./clause";
import type { LifecycleOptions } from "./tasks";
import {
  MSG_POOL, VALUE_POOL, beforeShutdown, cancel, catchCancelled, createSteps, createdName, enterIndex,
  excType, exitIndex, findFrom, inspect, is, lifecycleArb, lifecycleNeeds, log, msgArb, pairs, ret, scenarioOf, sleep, spawn, uncancel,
} from "./tasks";

const show = (x: unknown): string => canonicalJson(x);

/** Events carrying a CancelledError: caught, exit and awaited with one. */
function isCancelledErrorEvent(e: TraceEvent): boolean {
  return (is(e, "caught") || is(e, "exit") || is(e, "awaited")) && e.exc?.type === "CancelledError";
}

/** The outcome the trace lists for a handle's task. */
function outcomeOf(trace: Trace, ref: string) {
  return trace.tasks.find((t) => t.ref === ref);
}

// ================================================================ cancel() and its return value

const RETURNS: LifecycleOptions = { ops: ["inspectCancel", "sleep", "probe"], must: ["inspectCancel"], finalCancel: true };

const returnsFalseWhenDone = clause({
  id: "cancellation.returns_false_when_done",
  statement: "cancel() returns False when the task is already done (finished, failed or cancelled), and True otherwise.",
  source: { url: DOCS.tasks + "#asyncio.Task.cancel", section: "Task Cancellation" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: lifecycleNeeds(RETURNS),
  brokenBy: ["mutant:cancel-done-returns-true"],
  evidence: [mainRanToItsEnd],
  scenarios: () => lifecycleArb(RETURNS),
  check({ trace }) {
    let checked = 0;
    for (const { i, a, b } of pairs(trace.events, "inspect", "cancel")) {
      checked++;
      if (b.returned !== !a.done) return `cancel() of ${a.ref} returned ${b.returned} when done() was ${a.done} (event ${i + 1})`;
    }
    return checked > 0 || "no cancel() followed an inspect";
  },
});

// ================================================================ delivery

/**
 * c1 waits (sleep N, an await of sleep N, an await of a future nobody
 * resolves, or a bare sleep(0) main cancels it during), maybe inside a try
 * that catches CancelledError (and maybe re-raises it); main cancels it
 * while it waits, or c1 cancels itself just before waiting. Marker logs:
 * "c1:after" right after the wait.
 */
function deliveryArb(): fc.Arbitrary<Scenario> {
  return fc
    .record({
      wait: fc.constantFrom("sleep", "await-sleep", "future", "yield"),
      n: fc.integer({ min: 2, max: 5 }),
      a: fc.nat(4),
      wrap: fc.constantFrom("none", "swallow", "reraise"),
      self: fc.boolean(),
      msg: msgArb,
    })
    .map(({ wait, n, a, wrap, self, msg }) => {
      const w: Step =
        wait === "sleep" ? sleep(n)
        : wait === "await-sleep" ? { op: "await", on: { sleep: n } }
        : wait === "future" ? { op: "await", on: { task: "f1" } }
        : sleep(0);
      const guarded = wrap === "none" ? w : catchCancelled([w], [log("c1:handled")], wrap === "reraise");
      const child: Step[] = [log("c1:start")];
      if (self) child.push(cancel("t1", msg), log("c1:mid"));
      child.push(guarded, log("c1:after"), ret(1));
      const main: Step[] = [];
      if (wait === "future") main.push({ op: "create_future", future: "f1" });
      main.push(spawn("c1", "t1"));
      if (!self) main.push(sleep(wait === "yield" ? 0 : Math.min(a, n - 1)), cancel("t1", msg));
      main.push(sleep(n + 3));
      return scenarioOf([["main", main], ["c1", child]]);
    });
}

const deliveredAtNextResumption = clause({
  id: "cancellation.delivered_at_next_resumption",
  statement:
    "cancel() throws CancelledError into the coroutine where it next resumes, on the next loop iteration: a task waiting on a sleep or a future stops waiting at once, and a task that cancels itself goes on until its next await.",
  source: { url: DOCS.tasks + "#task-cancellation", section: "Task Cancellation" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["await", "cancel", "create_future", "create_task", "log", "return", "sleep", "task", "try"],
  brokenBy: ["mutant:cancel-deferred"],
  evidence: [mainRanToItsEnd],
  scenarios: () => deliveryArb(),
  check({ trace }) {
    const ev = beforeShutdown(trace);
    const name = createdName(ev, "t1");
    const c = ev.findIndex((e) => is(e, "cancel") && e.ref === "t1" && e.returned);
    if (name === null || c === -1) return "the scenario did not cancel t1";
    const delivered = findFrom(ev, c, (e) => e.task === name && isCancelledErrorEvent(e));
    if (delivered === -1) return `the CancelledError of the cancel at event ${c} never reached the coroutine`;
    if (ev[delivered].time !== ev[c].time) {
      return `the cancel at time ${ev[c].time} reached the coroutine at time ${ev[delivered].time} (event ${delivered})`;
    }
    const after = ev.findIndex((e) => is(e, "log") && e.label === "c1:after");
    if (after !== -1 && after < delivered) return `the coroutine went past its await (event ${after}) before CancelledError arrived`;
    if (ev[c].task !== name) {
      const next = findFrom(ev, c + 1, (e) => e.task === name);
      if (next !== delivered) return `after the cancel, the task's next event is ${ev[next]?.ev} (event ${next}), not the CancelledError`;
    }
    return true;
  },
});

const PROPAGATED: LifecycleOptions = {
  ops: ["cancelInspect", "inspectCancel", "doubleCancel", "sleep", "probe"],
  must: ["cancelInspect"],
  templates: ["sleeper", "catcher", "catcher", "raiser", "instant", "selfcancel", "cancelraise"],
  startFirst: true,
  finalProbes: true,
};

const cancelledOnlyWhenPropagated = clause({
  id: "cancellation.cancelled_when_propagated",
  statement:
    "A task is done only once its coroutine has ended, and cancelled() only if a CancelledError propagated out of it; a coroutine that catches the CancelledError leaves its task not cancelled.",
  source: { url: DOCS.tasks + "#asyncio.Task.cancelled", section: "Task Cancellation" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: lifecycleNeeds(PROPAGATED),
  brokenBy: ["mutant:cancel-marks-cancelled", "mutant:cancel-uncatchable"],
  evidence: [mainRanToItsEnd],
  scenarios: () => lifecycleArb(PROPAGATED),
  check({ scenario, trace }) {
    const ev = trace.events;
    for (const s of createSteps(scenario)) {
      const x = exitIndex(ev, s.coro);
      const end = x === -1 ? null : (ev[x] as TraceEvent & { ev: "exit" });
      const viaCancel = end !== null && excType(end) === "CancelledError";
      for (const [j, e] of ev.entries()) {
        if (!is(e, "inspect") || e.ref !== s.task) continue;
        const ended = x !== -1 && x < j;
        if (e.done !== ended) return `${s.task} has done()=${e.done} at event ${j}, its coroutine ${ended ? "ended" : "has not ended"}`;
        if (e.cancelled !== (ended && viaCancel)) {
          return `${s.task} has cancelled()=${e.cancelled} at event ${j}; its coroutine ${ended ? `ended with ${show(end!.exc ?? end!.value)}` : "has not ended"}`;
        }
      }
      const out = outcomeOf(trace, s.task);
      if (out !== undefined && end !== null && (out.state === "cancelled") !== viaCancel) {
        return `${s.task} ended ${out.state}, but its coroutine ended with ${show(end.exc ?? end.value)}`;
      }
    }
    return true;
  },
});

/**
 * c1 catches CancelledError around a wait (sleep N, sleep 0, an await of a
 * future nobody resolves), logs, maybe sleeps, and returns a value; main
 * cancels it while it waits, then awaits it and probes it.
 */
function catchArb(): fc.Arbitrary<Scenario> {
  return fc
    .record({
      wait: fc.constantFrom("sleep", "yield", "future"),
      n: fc.integer({ min: 1, max: 4 }),
      a: fc.nat(3),
      later: fc.option(fc.nat(1)),
      value: fc.constantFrom(...VALUE_POOL),
      msg: msgArb,
    })
    .map(({ wait, n, a, later, value, msg }) => {
      const w: Step = wait === "sleep" ? sleep(n) : wait === "future" ? { op: "await", on: { task: "f1" } } : sleep(0);
      const child: Step[] = [log("c1:start"), catchCancelled([w], [log("c1:handled")]), log("c1:after")];
      if (later !== null) child.push(sleep(later));
      child.push(ret(value));
      const main: Step[] = [];
      if (wait === "future") main.push({ op: "create_future", future: "f1" });
      main.push(spawn("c1", "t1"), sleep(wait === "sleep" ? Math.min(a, n - 1) : 0), cancel("t1", msg));
      main.push(catchCancelled([{ op: "await", on: { task: "t1" } }]), inspect("t1"), { op: "result", task: "t1" });
      return scenarioOf([["main", main], ["c1", child]]);
    });
}

const mayBeCaught = clause({
  id: "cancellation.may_be_caught",
  statement:
    "The coroutine may catch the CancelledError and carry on: the steps after its except clause run, and the task ends with what the coroutine returns, not cancelled.",
  source: { url: DOCS.tasks + "#task-cancellation", section: "Task Cancellation" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["await", "cancel", "create_future", "create_task", "inspect", "log", "result", "return", "sleep", "task", "try"],
  brokenBy: ["mutant:cancel-uncatchable"],
  evidence: [mainRanToItsEnd],
  scenarios: () => catchArb(),
  check({ scenario, trace }) {
    const ev = trace.events;
    const name = createdName(ev, "t1");
    const caught = ev.findIndex((e) => e.task === name && is(e, "caught") && e.exc.type === "CancelledError");
    if (caught === -1) return "c1 never caught a CancelledError";
    const c1 = scenario.coroutines.find((c) => c.name === "c1")!;
    const value = (c1.body[c1.body.length - 1] as { value?: Scalar }).value ?? null;
    const after = findFrom(ev, caught, (e) => is(e, "log") && e.label === "c1:after");
    if (after === -1) return "c1 caught the CancelledError but did not go on after its except clause";
    const x = exitIndex(ev, "c1");
    const end = ev[x];
    if (!is(end, "exit") || end.exc !== undefined || show(end.value) !== show(value)) return `c1 did not return ${show(value)} after catching`;
    const awaited = ev.find((e) => is(e, "awaited") && e.on === "t1");
    if (!is(awaited, "awaited") || awaited.exc !== undefined || show(awaited.value) !== show(value)) {
      return `awaiting t1 gave ${show(awaited && is(awaited, "awaited") ? awaited.exc ?? awaited.value : null)}, not ${show(value)}`;
    }
    const out = outcomeOf(trace, "t1");
    if (out?.state !== "result") return `t1 ended ${out?.state}, not with its coroutine's result`;
    return true;
  },
});

/**
 * main cancels t1 with a message (before it starts, while it sleeps, while
 * it is ready after a sleep(0)), or c1 cancels itself with one; c1 maybe
 * catches the CancelledError and re-raises it; main awaits t1.
 */
function messageArb(): fc.Arbitrary<Scenario> {
  return fc
    .record({
      timing: fc.constantFrom("before-start", "sleeping", "ready", "self"),
      // null: cancel() without a message
      msg: fc.option(fc.constantFrom(...MSG_POOL), { freq: 4 }),
      n: fc.integer({ min: 1, max: 3 }),
      reraise: fc.boolean(),
    })
    .map(({ timing, msg, n, reraise }) => {
      const w = timing === "ready" ? sleep(0) : sleep(n);
      const child: Step[] = [log("c1:start")];
      if (timing === "self") child.push(cancel("t1", msg));
      child.push(reraise ? catchCancelled([w], [log("c1:handled")], true) : w, ret(1));
      const main: Step[] = [spawn("c1", "t1")];
      if (timing === "sleeping" || timing === "ready") main.push(sleep(0));
      if (timing !== "self") main.push(cancel("t1", msg));
      main.push(catchCancelled([{ op: "await", on: { task: "t1" } }]), sleep(1));
      return scenarioOf([["main", main], ["c1", child]]);
    });
}

/*
 * Only the first retrieval carries the message, on every version checked:
 * a task keeps the very CancelledError its coroutine ended with and hands it
 * out once (to the first awaiter, or the first result() / exception() call);
 * later retrievals get a fresh CancelledError() without arguments, since
 * the task was marked cancelled by Future.cancel() with no message. So the
 * scenarios below have exactly one awaiter and no probes.
 */
const message = clause({
  id: "cancellation.message",
  statement:
    "cancel(msg) puts msg in the CancelledError: the coroutine sees CancelledError(msg), and so does the task awaiting the cancelled task; cancel() without a message gives CancelledError() with no arguments (not CancelledError(None)).",
  source: { url: DOCS.tasks + "#asyncio.Task.cancel", section: "Task Cancellation" },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["cancel:msg", "await", "cancel", "create_task", "log", "return", "sleep", "task", "try"],
  brokenBy: ["mutant:cancel-drops-msg", "mutant:cancelled-error-none-arg"],
  evidence: [mainRanToItsEnd],
  scenarios: () => messageArb(),
  check({ scenario, trace }) {
    const step = scenario.coroutines.flatMap((c) => c.body).find((s) => s.op === "cancel") as { msg?: string };
    const want = step.msg === undefined ? [] : [step.msg];
    let seen = 0;
    for (const [i, e] of trace.events.entries()) {
      if (!isCancelledErrorEvent(e)) continue;
      if (is(e, "awaited") && e.on !== "t1") continue;
      seen++;
      const exc = (e as { exc: { args: unknown[] } }).exc;
      if (show(exc.args) !== show(want)) return `cancel(${step.msg === undefined ? "" : show(step.msg)}) gave CancelledError${show(exc.args)}, not CancelledError${show(want)} (the "${e.ev}" event, ${i})`;
    }
    return seen > 0 || "no CancelledError was seen";
  },
});

// ================================================================ a cancelled sleep cancels its timer

/**
 * asyncio.sleep's `finally: h.cancel()`: a sleep cancelled early cancels its
 * timer, and a cancelled timer counts towards the loop's heap rebuild (more
 * than 100 scheduled timers, more than half of them cancelled: the next
 * iteration heapifies the live ones, which reorders timers with equal
 * deadlines). So after 101-130 tasks are cancelled in their sleep, the
 * callbacks registered next, with equal deadlines, run in the rebuilt
 * heap's order; with the sleeps' timers left armed there is no rebuild.
 */
const sleepCancelsTimer = clause({
  id: "cancellation.sleep_cancels_timer",
  statement:
    "A task cancelled in asyncio.sleep cancels the sleep's timer: once more than 100 such timers make up more than half of the loop's timers, the next iteration drops them and rebuilds the heap, which shows in the order of the callbacks due at the same time.",
  source: { url: DOCS.tasks + "#asyncio.sleep", section: "Sleeping" },
  versions: SINCE_3_11,
  level: "exact",
  note: "CPython Lib/asyncio/tasks.py sleep: `try: return await future finally: h.cancel()`; base_events.py _run_once: the rebuild when _timer_cancelled_count > 100 and more than half the heap; checked on CPython 3.11-3.13 and 3.14.2 (Pyodide)",
  needs: ["call_later", "cancel", "create_task", "log", "sleep"],
  brokenBy: ["mutant:sleep-timer-left-armed"],
  evidence: [mainRanToItsEnd],
  virtualTimeOnly: "more than 100 timers and callbacks due at the same tick: on a real clock the order is the clock's",
  scenarios: () =>
    fc
      .record({
        sleepers: fc.integer({ min: 101, max: 130 }),
        delays: fc.array(fc.integer({ min: 4, max: 5 }), { minLength: 8, maxLength: 30 }),
      })
      .map(({ sleepers, delays }) => {
        const main: Step[] = [];
        for (let k = 0; k < sleepers; k++) main.push(spawn("sleeper", `s${k}`));
        main.push(sleep(1));
        for (let k = 0; k < sleepers; k++) main.push(cancel(`s${k}`));
        main.push(sleep(0)); // the sleepers see their CancelledError: each sleep cancels its timer
        delays.forEach((d, k) => main.push({ op: "call_later", delay: d, callback: `e${k}`, handle: `h${k}` }));
        main.push(sleep(10));
        return scenarioOf([["main", main], ["sleeper", [sleep(50)]]], {
          callbacks: delays.map((_, k): [string, Step[]] => [`e${k}`, [log(`e${k}`)]]),
          description: "Many tasks are cancelled in their sleep; then callbacks due at the same times.",
        });
      }),
  check({ trace, expected }) {
    const order = (t: Trace) => t.events.filter((e) => is(e, "log") && /^e[0-9]+$/.test((e as { label: string }).label)).map((e) => (e as { label: string }).label);
    const got = order(trace);
    const want = order(expected());
    if (show(got) !== show(want)) return `the callbacks ran in the order ${got.join(", ")}; after the heap's rebuild CPython runs ${want.join(", ")}`;
    return true;
  },
});

// ================================================================ cancelling() and uncancel()

const COUNTS: LifecycleOptions = {
  ops: ["cancelInspect", "inspectCancel", "doubleCancel", "uncancelTriple", "uncancel", "sleep"],
  must: ["doubleCancel", "uncancelTriple"],
};

const cancellingCounts = clause({
  id: "cancellation.cancelling_counts",
  statement:
    "cancelling() is the number of cancel() calls on the task that returned True, less the uncancel() calls (never below zero); the cancellation being delivered does not reset it.",
  source: { url: DOCS.tasks + "#asyncio.Task.cancelling", section: "Task Cancellation" },
  versions: SINCE_3_11,
  level: "documented",
  needs: lifecycleNeeds(COUNTS),
  brokenBy: ["mutant:cancelling-flag", "mutant:uncancel-noop"],
  evidence: [mainRanToItsEnd],
  scenarios: () => lifecycleArb(COUNTS),
  check({ trace }) {
    const count = new Map<string, number>();
    for (const [i, e] of beforeShutdown(trace).entries()) {
      if (is(e, "cancel") && e.returned) count.set(e.ref, (count.get(e.ref) ?? 0) + 1);
      else if (is(e, "uncancel")) {
        const n = Math.max(0, (count.get(e.ref) ?? 0) - 1);
        count.set(e.ref, n);
        if (e.value !== n) return `uncancel() of ${e.ref} returned ${show(e.value ?? e.exc)}; ${n} requests are left (event ${i})`;
      } else if (is(e, "inspect") && e.cancelling !== undefined && e.cancelling !== (count.get(e.ref) ?? 0)) {
        return `cancelling() of ${e.ref} is ${e.cancelling} at event ${i}; ${count.get(e.ref) ?? 0} requests were made and not withdrawn`;
      }
    }
    return true;
  },
});

const UNCANCEL: LifecycleOptions = { ops: ["uncancelTriple", "cancelInspect", "doubleCancel", "sleep"], must: ["cancelInspect", "uncancelTriple"] };

const uncancelDecrements = clause({
  id: "cancellation.uncancel",
  statement: "uncancel() withdraws one cancel request: it returns the number left, one less than cancelling() was, and at zero it stays at zero.",
  source: { url: DOCS.tasks + "#asyncio.Task.uncancel", section: "Task Cancellation" },
  versions: SINCE_3_11,
  level: "documented",
  needs: lifecycleNeeds(UNCANCEL),
  brokenBy: ["mutant:uncancel-noop"],
  evidence: [mainRanToItsEnd],
  scenarios: () => lifecycleArb(UNCANCEL),
  check({ trace }) {
    let checked = 0;
    for (const { i, a, b } of pairs(trace.events, "inspect", "uncancel")) {
      checked++;
      const want = Math.max(0, (a.cancelling ?? 0) - 1);
      if (b.value !== want) return `uncancel() of ${a.ref} with cancelling()=${a.cancelling} returned ${show(b.value ?? b.exc)}, not ${want} (event ${i + 1})`;
    }
    for (const { i, a, b } of pairs(trace.events, "uncancel", "inspect")) {
      if (b.cancelling !== a.value) return `after uncancel() returned ${show(a.value)}, cancelling() of ${a.ref} is ${b.cancelling} (event ${i + 1})`;
    }
    return checked > 0 || "no uncancel() followed an inspect";
  },
});

/**
 * A cancellation not yet delivered to an awaited future: main cancels t1
 * (n = 1..2 times) before it starts, or while it is ready to resume after a
 * sleep(0), or c1 cancels itself; then the same task calls uncancel() at
 * least n times, at once. c1 logs "c1:resumed" after its sleep(0).
 */
function withdrawArb(): fc.Arbitrary<Scenario> {
  return fc
    .record({
      timing: fc.constantFrom("before-start", "ready", "self"),
      n: fc.integer({ min: 1, max: 2 }),
      extra: fc.nat(1),
      msg: msgArb,
      ticks: fc.nat(1),
      value: fc.constantFrom(...VALUE_POOL),
    })
    .map(({ timing, n, extra, msg, ticks, value }) => {
      const requests: Step[] = [];
      for (let k = 0; k < n; k++) requests.push(cancel("t1", msg));
      for (let k = 0; k < n + extra; k++) requests.push(uncancel("t1"));
      const child: Step[] = [log("c1:start")];
      if (timing === "self") child.push(...requests, sleep(ticks));
      else child.push(sleep(0));
      child.push(log("c1:resumed"), sleep(1), ret(value));
      const main: Step[] = [spawn("c1", "t1")];
      if (timing === "ready") main.push(sleep(0));
      if (timing !== "self") main.push(...requests);
      main.push(sleep(4), inspect("t1"));
      return scenarioOf([["main", main], ["c1", child]]);
    });
}

/*
 * "Pending" is narrower than it sounds: a cancel() made while the task
 * awaits a future is passed on to that future at once (the future is
 * cancelled), and uncancel() cannot take that back — on 3.13 too, the task
 * still gets CancelledError when the future wakes it. Only a cancellation
 * kept for the task's next step (before it starts, while it is ready to
 * resume, or when it cancels itself) can be withdrawn; withdrawArb makes
 * exactly those.
 */
const WITHDRAW_NEEDS = ["cancel", "create_task", "inspect", "log", "return", "sleep", "uncancel"];

const uncancelWithdraws = clause({
  id: "cancellation.uncancel_withdraws_pending",
  statement:
    "When uncancel() brings the count of requests to zero, a cancellation not yet delivered is withdrawn: the task goes on without ever seeing CancelledError.",
  source: { url: DOCS.tasks + "#asyncio.Task.uncancel", section: "Task Cancellation" },
  versions: ["3.13", "3.14"],
  level: "documented",
  needs: WITHDRAW_NEEDS,
  note: "changed in 3.13 (gh-116720); 3.11 and 3.12 deliver the cancellation anyway",
  brokenBy: ["mutant:uncancel-flag-flipped"],
  evidence: [mainRanToItsEnd],
  scenarios: () => withdrawArb(),
  check({ trace }) {
    const name = createdName(trace.events, "t1");
    const hit = trace.events.findIndex((e) => e.task === name && isCancelledErrorEvent(e));
    if (hit !== -1) return `c1 saw CancelledError (event ${hit}) although every request was withdrawn`;
    if (!trace.events.some((e) => is(e, "log") && e.label === "c1:resumed")) return "c1 never resumed";
    const out = outcomeOf(trace, "t1");
    if (out?.state !== "result") return `t1 ended ${out?.state}, not with its coroutine's result`;
    return true;
  },
});

const uncancelKeepsPending = clause({
  id: "cancellation.uncancel_keeps_pending",
  statement:
    "uncancel() only lowers the count: a cancellation not yet delivered is still delivered at the task's next resumption, even when the count is back to zero.",
  source: { url: DOCS.tasks + "#asyncio.Task.uncancel", section: "Task Cancellation" },
  versions: ["3.11", "3.12"],
  level: "exact",
  needs: WITHDRAW_NEEDS,
  note: "3.13 withdraws the pending cancellation when the count reaches zero (gh-116720)",
  brokenBy: ["mutant:uncancel-flag-flipped"],
  evidence: [mainRanToItsEnd],
  scenarios: () => withdrawArb(),
  check({ trace }) {
    const resumed = trace.events.findIndex((e) => is(e, "log") && e.label === "c1:resumed");
    if (resumed !== -1) return `c1 resumed normally (event ${resumed}) although it was cancelled`;
    const out = outcomeOf(trace, "t1");
    if (out?.state !== "cancelled") return `t1 ended ${out?.state}, not cancelled`;
    return true;
  },
});

// ================================================================ before the first step

/** main spawns c1..cK (K = 1..3), cancels some of them at once, and lets them run. */
function beforeStartArb(): fc.Arbitrary<Scenario> {
  return fc
    .record({
      children: fc.array(fc.record({ cancelled: fc.boolean(), msg: msgArb, inspect: fc.boolean() }), { minLength: 1, maxLength: 3 }),
      forced: fc.nat(2),
      ticks: fc.nat(1),
    })
    .map(({ children, forced, ticks }) => {
      children[forced % children.length] = { ...children[forced % children.length], cancelled: true };
      const main: Step[] = children.map((_, k) => spawn(`c${k + 1}`, `t${k + 1}`));
      children.forEach((c, k) => {
        if (c.cancelled) main.push(cancel(`t${k + 1}`, c.msg));
        if (c.inspect) main.push(inspect(`t${k + 1}`));
      });
      main.push(sleep(ticks), ...children.map((_, k) => inspect(`t${k + 1}`)), sleep(2));
      const coros: Array<[string, Step[]]> = [["main", main]];
      children.forEach((_, k) => coros.push([`c${k + 1}`, [log(`c${k + 1}:start`), sleep(0), ret(k)]]));
      return scenarioOf(coros);
    });
}

const beforeStart = clause({
  id: "cancellation.before_start",
  statement: "A task cancelled before its first step never runs its coroutine at all: the CancelledError is thrown in before the first line, and the task ends cancelled.",
  source: { url: DOCS.tasks + "#asyncio.Task.cancel", section: "Task Cancellation" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["cancel", "create_task", "inspect", "log", "return", "sleep"],
  brokenBy: ["mutant:cancel-starts-coroutine"],
  evidence: [mainRanToItsEnd],
  scenarios: () => beforeStartArb(),
  check({ scenario, trace }) {
    const ev = trace.events;
    let checked = 0;
    for (const s of createSteps(scenario)) {
      const c = ev.findIndex((e) => is(e, "cancel") && e.ref === s.task && e.returned);
      const e = enterIndex(ev, s.coro);
      if (c === -1 || (e !== -1 && e < c)) continue;
      checked++;
      if (e !== -1) return `${s.task} was cancelled (event ${c}) before it started, yet ${s.coro} ran (event ${e})`;
      const out = outcomeOf(trace, s.task);
      if (out?.state !== "cancelled") return `${s.task}, cancelled before it started, ended ${out?.state}`;
    }
    return checked > 0 || "no task was cancelled before it started";
  },
});

// ================================================================ cancel() of a task that failed

/**
 * c1 raises at once (an exception of EXC_POOL); main lets it fail, maybe
 * inspects it, then calls cancel(msg?) on the failed task (or not, for the
 * control), drops its handle and collects: the report "Task exception was
 * never retrieved" is heard only when nobody called cancel().
 */
const FAILURES = [
  { type: "ValueError", args: ["boom"] },
  { type: "KeyError", args: ["k"] },
] as const;

function cancelFailedArb(): fc.Arbitrary<Scenario> {
  return fc
    .record({ exc: fc.constantFrom(...FAILURES), cancels: fc.nat(2), msg: msgArb, look: fc.boolean(), ticks: fc.nat(1) })
    .map(({ exc, cancels, msg, look, ticks }) => {
      const main: Step[] = [spawn("c1", "t1", "c1"), sleep(ticks)];
      if (look) main.push(inspect("t1"));
      for (let k = 0; k < cancels; k++) main.push(cancel("t1", msg));
      main.push({ op: "weakref", task: "t1", ref: "w1" }, { op: "drop", handle: "t1" }, { op: "gc" }, { op: "inspect_weakref", ref: "w1" }, log("end"));
      return scenarioOf([["main", main], ["c1", [{ op: "raise", exc: { type: exc.type, args: [...exc.args] } }]]]);
    });
}

const cancelFailedSilences = clause({
  id: "cancellation.cancel_done_marks_retrieved",
  statement:
    "cancel() of a task that is already done returns False, yet it marks the task's exception as retrieved: a failed task that someone tried to cancel is destroyed without the \"Task exception was never retrieved\" report, one nobody cancelled is reported.",
  source: { url: DOCS.tasks + "#asyncio.Task.cancel", section: "Task Cancellation" },
  versions: ALL_VERSIONS,
  level: "exact",
  note: "CPython's Future.cancel() and Task.cancel() clear _log_traceback before they look at the state (Lib/asyncio/futures.py, tasks.py, and the C _asyncio alike); checked on CPython 3.11-3.13, 3.12 pure-Python Task, 3.14.2 (Pyodide)",
  needs: ["cancel", "cancel:msg", "create_task", "drop", "gc", "inspect", "inspect_weakref", "log", "raise", "sleep", "weakref"],
  brokenBy: ["mutant:cancel-done-keeps-report"],
  evidence: [mainRanToItsEnd],
  scenarios: () => cancelFailedArb(),
  check({ trace }) {
    const cancels = trace.events.filter((e) => is(e, "cancel") && e.ref === "t1");
    const wrong = cancels.find((e) => is(e, "cancel") && e.returned);
    if (wrong !== undefined) return "cancel() of the failed task returned True";
    const heard = trace.events.filter((e) => is(e, "exception_handler") && e.message === "Task exception was never retrieved");
    const dead = trace.events.filter((e) => is(e, "weakref") && e.ref === "w1").map((e) => (e as { alive: boolean }).alive);
    if (show(dead) !== show([false])) return `weak reference w1 read ${show(dead)} after the gc, expected [false]`;
    if (cancels.length > 0 && heard.length > 0) return `cancel() was called on the failed task ${cancels.length} time(s), yet its destruction was reported: ${show(heard[0])}`;
    if (cancels.length === 0 && heard.length !== 1) return `nobody cancelled or read the failed task, and ${heard.length} reports were heard, expected 1`;
    return true;
  },
});

// ================================================================ cancel() as the awaited future ends

/**
 * c1 awaits a future f (inside a try that catches CancelledError, maybe
 * re-raising it); main lets it park, then in one step settles f (a result,
 * an exception, or f.cancel(msgA)) and cancels t1 once or twice
 * (cancel(msgB)): t1's wake-up is queued already, so there is no future
 * left to cancel, and the request waits for that wake-up.
 */
type Settle = "result" | "exception" | "cancel";

function lateCancelArb(): fc.Arbitrary<Scenario> {
  return fc
    .record({ settle: fc.constantFrom<Settle>("result", "exception", "cancel"), msgA: msgArb, msgB: msgArb, n: fc.integer({ min: 1, max: 2 }), reraise: fc.boolean() })
    .map(({ settle, msgA, msgB, n, reraise }) => {
      const child: Step[] = [catchCancelled([{ op: "await", on: { task: "f" } }], [log("c1:handled")], reraise), log("c1:after"), ret(1)];
      const main: Step[] = [{ op: "create_future", future: "f" }, spawn("c1", "t1", "c1"), sleep(0)];
      if (settle === "result") main.push({ op: "set_result", future: "f", value: "v" });
      else if (settle === "exception") main.push({ op: "set_exception", future: "f", exc: { type: "ValueError", args: ["f failed"] } });
      else main.push(cancel("f", msgA));
      for (let k = 0; k < n; k++) main.push(cancel("t1", msgB));
      main.push(inspect("t1"), catchCancelled([{ op: "await", on: { task: "t1" } }]), inspect("t1"));
      return scenarioOf([["main", main], ["c1", child]]);
    });
}

/*
 * CPython: Task.cancel() finds _fut_waiter done (its cancel() returns
 * False) and sets _must_cancel; __step then throws CancelledError into the
 * coroutine instead of the future's result or exception — but a
 * CancelledError the future itself delivers is kept as it is (`if not
 * isinstance(exc, CancelledError): exc = self._make_cancelled_error()`), so
 * the message is the future's, not the task's.
 */
const cancelAsAwaitedEnds = clause({
  id: "cancellation.cancel_as_awaited_ends",
  statement:
    "A task cancelled in the loop iteration its awaited future ends, before the task has resumed, still gets CancelledError, not the future's outcome: with its own message when the future had a result or an exception (which is dropped), with the future's message when the future was cancelled itself; cancel() returns True each time and counts in cancelling().",
  source: { url: DOCS.tasks + "#asyncio.Task.cancel", section: "Task Cancellation" },
  versions: ALL_VERSIONS,
  level: "exact",
  note: "CPython Lib/asyncio/tasks.py, Task.cancel() and __step (_must_cancel); checked on CPython 3.11-3.13 and 3.14.2 (Pyodide)",
  needs: ["await", "cancel", "cancel:msg", "create_future", "create_task", "inspect", "log", "return", "set_exception", "set_result", "sleep", "task", "try"],
  brokenBy: ["mutant:cancel-late-lost", "mutant:cancel-late-own-message"],
  evidence: [mainRanToItsEnd],
  scenarios: () => lateCancelArb(),
  check({ scenario, trace }) {
    const steps = scenario.coroutines[0].body;
    const fCancel = steps.find((s) => s.op === "cancel" && s.task === "f") as { msg?: string } | undefined;
    const tCancel = steps.find((s) => s.op === "cancel" && s.task === "t1") as { msg?: string };
    const n = steps.filter((s) => s.op === "cancel" && s.task === "t1").length;
    const ev = trace.events;
    const returned = ev.filter((e) => is(e, "cancel") && e.ref === "t1").map((e) => (e as { returned: boolean }).returned);
    if (show(returned) !== show(Array(n).fill(true))) return `cancel() of t1 returned ${show(returned)}`;
    const first = ev.find((e) => is(e, "inspect") && e.ref === "t1") as { cancelling?: number } | undefined;
    if (first?.cancelling !== undefined && first.cancelling !== n) return `cancelling() of t1 is ${first.cancelling} after ${n} cancel() calls`;
    const awaited = ev.find((e) => is(e, "awaited") && e.on === "f" && e.task === "c1");
    if (!is(awaited, "awaited")) return "c1 never resumed from its await of f";
    if (awaited.exc?.type !== "CancelledError") return `c1's await of f gave ${show(awaited.exc ?? awaited.value)}, not CancelledError`;
    const msg = fCancel !== undefined ? fCancel.msg : tCancel.msg;
    const want = msg === undefined ? [] : [msg];
    if (show(awaited.exc.args) !== show(want)) return `c1 got CancelledError${show(awaited.exc.args)}, expected CancelledError${show(want)} (${fCancel !== undefined ? "the future's message" : "the task's message"})`;
    const out = outcomeOf(trace, "t1");
    const reraise = ev.some((e) => is(e, "log") && e.label === "c1:after") === false;
    if (out?.state !== (reraise ? "cancelled" : "result")) return `t1 ended ${out?.state}`;
    return true;
  },
});

// ================================================================ a task that cancels itself and returns

/**
 * c1 cancels itself (cancel("$current"), n = 1..2 times, maybe with a
 * message), maybe uncancels itself m = 0..n times, and returns without
 * awaiting anything: the request is still pending when the coroutine ends.
 * From 3.12, maybe as an eager task, so all of it happens inside
 * create_task. main awaits t1 and inspects it.
 */
function selfCancelReturnArb(version: string): fc.Arbitrary<Scenario> {
  return fc
    .record({ n: fc.integer({ min: 1, max: 2 }), m: fc.nat(2), msg: msgArb, value: fc.constantFrom(...VALUE_POOL), eager: fc.boolean() })
    .map(({ n, m, msg, value, eager }) => {
      const child: Step[] = [log("c1:start")];
      for (let k = 0; k < n; k++) child.push(cancel("$current", msg));
      for (let k = 0; k < Math.min(m, n); k++) child.push(uncancel("$current"));
      child.push(log("c1:end"), ret(value));
      const main: Step[] = [spawn("c1", "t1", "c1"), inspect("t1"), catchCancelled([{ op: "await", on: { task: "t1" } }]), inspect("t1")];
      return scenarioOf([["main", main], ["c1", child]], { eager: eager && version !== "3.11" });
    });
}

const selfCancelThenReturn = clause({
  id: "cancellation.self_cancel_then_return",
  statement:
    "A coroutine that cancels its own task and then returns without awaiting anything never sees CancelledError, yet its task ends cancelled, with the cancel message, instead of with the returned value — unless uncancel() withdrew the request first (3.13+, the count back to zero); an eager task that does this in its first step is done, cancelled, when create_task returns.",
  source: { url: DOCS.tasks + "#asyncio.Task.cancel", section: "Task Cancellation" },
  versions: ALL_VERSIONS,
  level: "exact",
  note: "CPython Lib/asyncio/tasks.py __step: StopIteration with _must_cancel set calls super().cancel(msg=self._cancel_message); checked on CPython 3.11-3.13 (eager on 3.12, 3.13) and 3.14.2 (Pyodide)",
  needs: ["await", "cancel", "cancel:msg", "create_task", "eager", "inspect", "log", "return", "task", "try", "uncancel"],
  brokenBy: ["mutant:self-cancel-return-wins"],
  evidence: [mainRanToItsEnd],
  scenarios: (version) => selfCancelReturnArb(version),
  check({ scenario, trace, version }) {
    const body = scenario.coroutines[1].body;
    const n = body.filter((s) => s.op === "cancel").length;
    const m = body.filter((s) => s.op === "uncancel").length;
    const msg = (body.find((s) => s.op === "cancel") as { msg?: string }).msg;
    const value = (body[body.length - 1] as { value?: Scalar }).value ?? null;
    const withdrawn = n === m && version !== "3.11" && version !== "3.12";
    const ev = trace.events;
    const seen = ev.findIndex((e) => e.task === "c1" && isCancelledErrorEvent(e));
    if (seen !== -1) return `c1 saw a CancelledError (event ${seen}) although it never awaited after cancelling itself`;
    if (!ev.some((e) => is(e, "log") && e.label === "c1:end")) return "c1 did not run to its return";
    const awaited = ev.find((e) => is(e, "awaited") && e.on === "t1");
    if (!is(awaited, "awaited")) return "main never awaited t1";
    if (withdrawn) {
      if (awaited.exc !== undefined || show(awaited.value) !== show(value)) return `every request was withdrawn, yet awaiting t1 gave ${show(awaited.exc ?? awaited.value)}, not ${show(value)}`;
    } else {
      const want = msg === undefined ? [] : [msg];
      if (awaited.exc?.type !== "CancelledError" || show(awaited.exc.args) !== show(want)) {
        return `t1 cancelled itself ${n} time(s) and uncancelled ${m}, then returned: awaiting it gave ${show(awaited.exc ?? awaited.value)}, expected CancelledError${show(want)}`;
      }
    }
    const last = ev.filter((e) => is(e, "inspect") && e.ref === "t1").pop() as { cancelled?: boolean } | undefined;
    if (last?.cancelled !== !withdrawn) return `t1 has cancelled()=${last?.cancelled} at the end`;
    if (scenario.eager === true) {
      const first = ev.find((e) => is(e, "inspect") && e.ref === "t1") as { done?: boolean; cancelled?: boolean };
      if (first.done !== true || first.cancelled !== !withdrawn) return `the eager t1 right after create_task has done()=${first.done}, cancelled()=${first.cancelled}`;
    }
    return true;
  },
});

export const CLAUSES: Clause[] = [
  returnsFalseWhenDone,
  deliveredAtNextResumption,
  cancelledOnlyWhenPropagated,
  mayBeCaught,
  message,
  cancellingCounts,
  uncancelDecrements,
  uncancelWithdraws,
  uncancelKeepsPending,
  beforeStart,
  cancelFailedSilences,
  cancelAsAwaitedEnds,
  selfCancelThenReturn,
  sleepCancelsTimer,
];
