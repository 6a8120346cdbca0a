/**
 * Clauses: asyncio.wait ("Waiting Primitives").
 *
 * The members waited for are tasks t0, t1, ... (named w0, w1, ..., running
 * coroutines c0, c1, ... that sleep and then return 10 + i or raise
 * ValueError(i)) and futures f0, f1, ... that a call_later callback resolves
 * the same way. A member's completion is read off the trace: its coroutine's
 * exit event, or the set_result / set_exception event of its callback. main
 * awaits the wait and then sleeps until every member is over, so the
 * properties can also see what happens to the members left pending.
 */
import fc from "fast-check";
import type { Awaitable, CallbackDef, CoroutineDef, ReturnWhen, Scenario, Step } from "../scenario/types";
import type { Trace, TraceValue } from "../scenario/trace";
import { canonicalJson } from "../scenario/trace";
import { ALL_VERSIONS, DOCS, clause, SINCE_3_11 } from "./clause";
import { mainRanToItsEnd } from "./evidence";
import type { Clause, Verdict } from "./clause";
import { awaitedBy, catching, childCoro, enterOf, eventsOf, exitOf, isCancelled, outcomeOf, scenarioOf, show, shutdownIndex, valueError } from "./gather";

const SOURCE = { url: DOCS.tasks + "#asyncio.wait", section: "Waiting Primitives" };

type WaitAw = Extract<Awaitable, { wait: Awaitable[] }>;

interface Member {
  kind: "task" | "future";
  ticks: number;
  raises: boolean;
}

interface WaitOptions {
  timeout?: number | null;
  returnWhen?: ReturnWhen;
}

/** main creates the members, awaits the wait (catching anything), then sleeps `after` ticks. */
function waitScenario(members: readonly Member[], o: WaitOptions, after: number): Scenario {
  const spawn: Step[] = [];
  const parts: Awaitable[] = [];
  const coroutines: CoroutineDef[] = [];
  const callbacks: CallbackDef[] = [];
  members.forEach((m, i) => {
    if (m.kind === "task") {
      coroutines.push(childCoro(`c${i}`, i, m.ticks, m.raises));
      spawn.push({ op: "create_task", coro: `c${i}`, task: `t${i}`, name: `w${i}` });
      parts.push({ task: `t${i}` });
    } else {
      spawn.push({ op: "create_future", future: `f${i}` }, { op: "call_later", delay: m.ticks, callback: `resolve${i}` });
      callbacks.push({
        name: `resolve${i}`,
        body: [m.raises ? { op: "set_exception", future: `f${i}`, exc: valueError(i) } : { op: "set_result", future: `f${i}`, value: 10 + i }],
      });
      parts.push({ task: `f${i}` });
    }
  });
  const w: WaitAw = { wait: parts };
  if (o.timeout !== undefined) w.timeout = o.timeout;
  if (o.returnWhen !== undefined) w.return_when = o.returnWhen;
  const main: Step[] = [...spawn, catching("BaseException", [{ op: "await", on: w }])];
  if (after > 0) main.push({ op: "sleep", ticks: after });
  return scenarioOf(main, coroutines, callbacks);
}

const memberArb = (raises: boolean): fc.Arbitrary<Member> =>
  fc.record({
    kind: fc.constantFrom<Member["kind"]>("task", "task", "future"),
    ticks: fc.integer({ min: 0, max: 4 }),
    raises: raises ? fc.boolean() : fc.constant(false),
  });

const membersArb = (raises: boolean) => fc.array(memberArb(raises), { minLength: 1, maxLength: 4 });

/** What the scenario waits for: member i's encoding in wait's sets, and how it completes in the trace. */
interface Completion {
  key: string;
  encoded: TraceValue;
  /** Index and time of its completion event; undefined when it never completed. */
  at?: { i: number; time: number; failed: boolean; cancelled: boolean };
}

function completions(scenario: Scenario, trace: Trace): Completion[] {
  const w = waitOf(scenario);
  return w.wait.map((p) => {
    const h = (p as { task: string }).task;
    if (h.startsWith("t")) {
      const i = h.slice(1);
      const x = eventsOf(trace, "exit").find((e) => e.e.coro === `c${i}`);
      const encoded = { task: `w${i}` };
      return {
        key: canonicalJson(encoded),
        encoded,
        at: x && { i: x.i, time: x.e.time, failed: x.e.exc !== undefined && !isCancelled(x.e), cancelled: isCancelled(x.e) },
      };
    }
    const encoded = { future: h };
    // The callback's probe succeeded: the future completed then (a probe that
    // raised found it done already, e.g. cancelled).
    const x = trace.events.findIndex((e) => (e.ev === "set_result" || e.ev === "set_exception") && e.ref === h && e.exc === undefined);
    const at = x < 0 ? undefined : { i: x, time: trace.events[x].time, failed: trace.events[x].ev === "set_exception", cancelled: false };
    return { key: canonicalJson(encoded), encoded, at };
  });
}

function waitOf(scenario: Scenario): WaitAw {
  for (const s of scenario.coroutines[0].body) {
    if (s.op === "try" && s.body[0].op === "await" && "wait" in s.body[0].on) return s.body[0].on;
  }
  throw new Error("no wait in main");
}

/** The wait's awaited event, which must have a value [done, pending]. */
function theWait(trace: Trace): { i: number; time: number; done: string[]; pending: string[] } | string {
  const aw = awaitedBy(trace, "Task-1", "wait")[0];
  if (!aw) return `the await of wait never finished (${trace.end.kind})`;
  if (aw.e.exc !== undefined) return `wait raised ${show(aw.e.exc)}`;
  const v = aw.e.value;
  if (!Array.isArray(v) || v.length !== 2 || !Array.isArray(v[0]) || !Array.isArray(v[1])) return `wait gave ${show(v)}, not (done, pending)`;
  return { i: aw.i, time: aw.e.time, done: (v[0] as TraceValue[]).map(canonicalJson), pending: (v[1] as TraceValue[]).map(canonicalJson) };
}

/**
 * The sets wait gives are right: every member is in exactly one of them,
 * done holding exactly the members that had completed when the wait
 * returned.
 */
function checkSets(cs: readonly Completion[], w: { i: number; done: string[]; pending: string[] }): Verdict {
  const all = new Set(cs.map((c) => c.key));
  for (const k of [...w.done, ...w.pending]) if (!all.has(k)) return `wait's sets hold ${k}, which was not waited for`;
  for (const c of cs) {
    const inDone = w.done.includes(c.key);
    const inPending = w.pending.includes(c.key);
    if (inDone === inPending) return `${c.key} is in ${inDone ? "both sets" : "neither set"}`;
    const finished = c.at !== undefined && c.at.i < w.i;
    if (finished && !inDone) return `${c.key} had completed when wait returned but is in pending`;
    if (!finished && inDone) return `${c.key} is in done but had not completed when wait returned`;
  }
  return true;
}

/** When wait should return: the time its return_when condition (or its timeout) is met. */
function expectedTime(cs: readonly Completion[], o: WaitOptions, start: number): number | string {
  const times = cs.map((c) => c.at?.time);
  if (times.some((t) => t === undefined)) return "a member never completed";
  const ts = times as number[];
  let when = Math.max(...ts);
  if (o.returnWhen === "FIRST_COMPLETED") when = Math.min(...ts);
  if (o.returnWhen === "FIRST_EXCEPTION") {
    const failed = cs.filter((c) => c.at!.failed).map((c) => c.at!.time);
    if (failed.length > 0) when = Math.min(when, ...failed);
  }
  if (o.timeout !== undefined && o.timeout !== null) when = Math.min(when, start + o.timeout);
  return when;
}

/** The common property: wait returned (never raised) at the right time, with the right sets. */
function checkWait(scenario: Scenario, trace: Trace): Verdict {
  const w = waitOf(scenario);
  const o: WaitOptions = { timeout: w.timeout, returnWhen: w.return_when };
  const got = theWait(trace);
  if (typeof got === "string") return got;
  const cs = completions(scenario, trace);
  const sets = checkSets(cs, got);
  if (sets !== true) return sets;
  const want = expectedTime(cs, o, 0);
  if (typeof want === "string") return want;
  if (got.time !== want) {
    return `wait(return_when=${o.returnWhen ?? "ALL_COMPLETED"}, timeout=${o.timeout ?? null}) returned at t=${got.time}, not t=${want}`;
  }
  return true;
}

// ---- generators

/** No timeout (or one that never matters); the given return_when. */
const conditionArb = (returnWhen: ReturnWhen | undefined, raises: boolean) =>
  fc
    .record({ members: membersArb(raises), timeout: fc.constantFrom<number | null | undefined>(undefined, null, 50) })
    .map(({ members, timeout }) => waitScenario(members, { timeout, returnWhen }, 5));

/** A timeout that expires while at least one member is still running. */
const timeoutArb = fc
  .record({
    members: membersArb(true),
    timeout: fc.integer({ min: 0, max: 3 }),
    returnWhen: fc.constantFrom<ReturnWhen | undefined>(undefined, "ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"),
    slow: fc.nat(),
  })
  .map(({ members, timeout, returnWhen, slow }) => {
    const ms = members.map((m) => ({ ...m }));
    const k = slow % ms.length;
    ms[k] = { ...ms[k], ticks: Math.max(ms[k].ticks, timeout + 1) };
    return waitScenario(ms, { timeout, returnWhen }, 6);
  });

/**
 * Which exceptions wait() marks as retrieved. Its completion callback
 * (asyncio.tasks._wait's _on_completion) decrements a counter first and
 * only then, with FIRST_EXCEPTION, calls f.exception() to see whether the
 * member failed: `if counter <= 0 or return_when == FIRST_COMPLETED or
 * return_when == FIRST_EXCEPTION and (not f.cancelled() and f.exception()
 * is not None)`. So a failed member's exception counts as retrieved exactly
 * when return_when is FIRST_EXCEPTION, its callback ran while the wait was
 * waiting (it ended before wait returned, or was the member that ended it),
 * and it was not the last of all the members to end (the counter reaching
 * 0 short-circuits the test). Otherwise, once nothing refers to the member,
 * the loop reports "... exception was never retrieved".
 *
 * Members end at distinct ticks (>= 1), the wait starts at a tick where no
 * member ends with one still running, and a timeout falls on no member's
 * tick: no two of these happen in one loop iteration, so the trace's times
 * order them.
 */
interface RetrievalCase {
  members: Member[];
  pre: number;
  timeout: number | null;
  returnWhen: ReturnWhen;
}

const retrievalArb: fc.Arbitrary<RetrievalCase> = fc
  .record({
    ticks: fc.shuffledSubarray([1, 2, 3, 4, 5, 6], { minLength: 1, maxLength: 4 }),
    kinds: fc.array(fc.constantFrom<Member["kind"]>("task", "future"), { minLength: 4, maxLength: 4 }),
    raises: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    pre: fc.integer({ min: 0, max: 6 }),
    timeout: fc.option(fc.integer({ min: 1, max: 6 }), { nil: null }),
    returnWhen: fc.constantFrom<ReturnWhen>("ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION", "FIRST_EXCEPTION"),
  })
  .map(({ ticks, kinds, raises, pre, timeout, returnWhen }) => {
    const members = ticks.map((t, i) => ({ kind: kinds[i], ticks: t, raises: raises[i] || i === 0 }));
    // One member at least runs past the start; none ends at the start or at the timeout.
    const last = Math.max(...ticks);
    let start = Math.min(pre, last - 1);
    while (start > 0 && ticks.includes(start)) start--;
    const t = timeout === null || ticks.includes(start + timeout) ? null : timeout;
    return { members, pre: start, timeout: t, returnWhen };
  });

/** main creates the members, sleeps `pre`, waits, sleeps past every member's end, drops them all and collects. */
function retrievalScenario(c: RetrievalCase): Scenario {
  const s = waitScenario(c.members, { timeout: c.timeout, returnWhen: c.returnWhen }, 8);
  const main = s.coroutines[0].body;
  const at = main.findIndex((x) => x.op === "try");
  if (c.pre > 0) main.splice(at, 0, { op: "sleep", ticks: c.pre });
  main.push(...c.members.map((m, i): Step => ({ op: "drop", handle: m.kind === "task" ? `t${i}` : `f${i}` })), { op: "gc" });
  return s;
}

function checkRetrieval(scenario: Scenario, trace: Trace): Verdict {
  const w = waitOf(scenario);
  const got = theWait(trace);
  if (typeof got === "string") return got;
  const cs = completions(scenario, trace);
  if (cs.some((c) => c.at === undefined)) return "a member never completed";
  const n = cs.length;
  const ends = cs.map((c) => c.at!.time).sort((a, b) => a - b);
  const heard = eventsOf(trace, "exception_handler");
  const reports = heard.filter((x) => /exception was never retrieved/.test(x.e.message));
  // Members done before the wait all have their callbacks run at once: the
  // ones after the first that releases the waiter find it done and leave it.
  const other = heard.find((x) => !/exception was never retrieved/.test(x.e.message));
  if (other) return `the loop's exception handler heard ${show(other.e.message)} (${show(other.e.exc)}): wait's completion callbacks must raise nothing`;
  for (const c of cs) {
    const reported = reports.some((x) => canonicalJson(x.e.of) === c.key);
    if (!c.at!.failed) {
      if (reported) return `${c.key} did not fail, yet the loop reported its exception never retrieved`;
      continue;
    }
    const ranInWait = c.at!.time <= got.time;
    const lastToEnd = c.at!.time === ends[n - 1];
    const read = w.return_when === "FIRST_EXCEPTION" && ranInWait && !lastToEnd;
    if (read && reported) {
      return `${c.key} failed at t=${c.at!.time}, while wait(FIRST_EXCEPTION) waited (it returned at t=${got.time}), not last of the ${n}: wait read its exception, yet it was reported never retrieved`;
    }
    if (!read && !reported) {
      const why =
        w.return_when !== "FIRST_EXCEPTION"
          ? `wait(${w.return_when}) never reads exceptions`
          : !ranInWait
            ? `it ended at t=${c.at!.time}, after wait returned (t=${got.time})`
            : "it was the last member to end (the counter reached 0 first)";
      return `${c.key} failed and nothing read its exception (${why}), but collecting it reported nothing`;
    }
  }
  return true;
}

// ---- cancelled at the instant the timeout expires

/*
 * A task waits in wait(members, timeout=T); a call_later(T) callback,
 * scheduled before the wait's timer and so run first in the same loop
 * iteration, cancels it. The cancellation wins: the await raises
 * CancelledError at t=T; the wait's timer, running next, finds its waiter
 * already done (cancelled) and leaves it alone: nothing reaches the
 * exception handler.
 */
export const cancelledAtTimeoutArb = (on: "wait" | "wait_for") =>
  fc
    .record({ timeout: fc.integer({ min: 1, max: 3 }), n: fc.integer({ min: 1, max: 2 }), swallow: fc.boolean(), at: fc.boolean(), returnWhen: fc.constantFrom<ReturnWhen | undefined>(undefined, "FIRST_COMPLETED", "FIRST_EXCEPTION") })
    .map(({ timeout, n, swallow, at, returnWhen }) => {
      const futures = Array.from({ length: on === "wait" ? n : 1 }, (_, i) => `f${i}`);
      const aw: Awaitable =
        on === "wait_for" ? { wait_for: { task: "f0" }, timeout }
        : returnWhen === undefined ? { wait: futures.map((task) => ({ task })), timeout }
        : { wait: futures.map((task) => ({ task })), timeout, return_when: returnWhen };
      const main: Step[] = [
        ...futures.map((future): Step => ({ op: "create_future", future })),
        at ? { op: "call_at", when: timeout, callback: "stop" } : { op: "call_later", delay: timeout, callback: "stop" },
        { op: "create_task", coro: "waiting", task: "w", name: "waiting" },
        { op: "sleep", ticks: timeout + 1 },
      ];
      const handler = swallow ? { type: "CancelledError" as const, body: [{ op: "log", label: "cancelled" } as Step] } : { type: "CancelledError" as const, body: [{ op: "log", label: "cancelled" } as Step], reraise: true };
      return scenarioOf(main, [{ name: "waiting", body: [{ op: "try", body: [{ op: "await", on: aw }], except: [handler] }] }], [{ name: "stop", body: [{ op: "cancel", task: "w" }] }]);
    });

export function checkCancelledAtTimeout(scenario: Scenario, trace: Trace, on: "wait" | "wait_for"): Verdict {
  const body = JSON.stringify(scenario.coroutines.find((c) => c.name === "waiting")?.body ?? []);
  const timeout = Number(/"timeout":(\d+)/.exec(body)?.[1]);
  const reraises = body.includes('"reraise":true');
  const heard = eventsOf(trace, "exception_handler");
  if (heard.length > 0) return `the exception handler heard ${show(heard[0].e)}: the timer touched a waiter the cancellation had already finished`;
  const aw = awaitedBy(trace, "waiting", on)[0];
  if (!aw) return `the waiting task's await of ${on} never finished (${trace.end.kind})`;
  if (!isCancelled(aw.e)) return `${on} gave ${show(outcomeOf(aw.e))} when its task was cancelled at the instant its timeout expired, not CancelledError`;
  const cb = eventsOf(trace, "callback")[0];
  if (!cb || cb.e.callback !== "stop" || aw.e.time !== cb.e.time) return `${on} raised at t=${aw.e.time}, not when it was cancelled (t=${cb?.e.time})`;
  if (aw.e.time !== timeout) return `the task was cancelled at t=${aw.e.time}, not at the instant its timeout expired (t=${timeout})`;
  const x = exitOf(trace, "waiting");
  if (!x || isCancelled(x.e) !== reraises) return `the waiting task ended with ${show(x ? outcomeOf(x.e) : null)}, though it ${reraises ? "re-raised" : "swallowed"} the CancelledError`;
  return true;
}

export const CLAUSES: Clause[] = [
  clause({
    id: "wait.cancelled_as_timeout_expires",
    statement:
      "A task cancelled in the loop iteration in which its wait()'s timeout expires, by a callback that runs before the wait's timer, gets CancelledError from the wait (not (done, pending)); the timer then finds the wait already over and does nothing: the exception handler hears nothing.",
    source: SOURCE, // CPython Lib/asyncio/tasks.py: _release_waiter checks `if not waiter.done()`
    versions: ALL_VERSIONS,
    level: "exact",
    needs: ["wait", "create_task", "create_future", "call_later", "call_at", "cancel", "sleep", "task", "try", "log", "await"],
    brokenBy: ["mutant:timer-releases-done-waiter"],
    evidence: [mainRanToItsEnd],
    scenarios: () => cancelledAtTimeoutArb("wait"),
    check: ({ scenario, trace }) => checkCancelledAtTimeout(scenario, trace, "wait"),
  }),
  clause({
    id: "wait.all_completed",
    statement: "wait() with return_when=ALL_COMPLETED (the default) returns (done, pending) when every awaitable is done, with all of them in done; it raises none of their exceptions.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["wait", "task", "create_task", "create_future", "call_later", "set_result", "set_exception", "sleep", "raise", "try", "await"],
    brokenBy: ["mutant:wait-all-completed-returns-early"],
    evidence: [mainRanToItsEnd],
    scenarios: () =>
      fc.oneof(conditionArb(undefined, true), conditionArb("ALL_COMPLETED", true)),
    check: ({ scenario, trace }) => {
      const r = checkWait(scenario, trace);
      if (r !== true) return r;
      const got = theWait(trace) as Exclude<ReturnType<typeof theWait>, string>;
      return got.pending.length === 0 ? true : `wait(ALL_COMPLETED) left ${got.pending.join(", ")} pending`;
    },
  }),
  clause({
    id: "wait.first_completed",
    statement: "wait() with return_when=FIRST_COMPLETED returns as soon as any awaitable is done, with the ones done by then in done and the others in pending.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["wait", "task", "create_task", "create_future", "call_later", "set_result", "set_exception", "sleep", "raise", "try", "await"],
    brokenBy: ["mutant:wait-first-completed-waits-all"],
    evidence: [mainRanToItsEnd],
    scenarios: () => conditionArb("FIRST_COMPLETED", true),
    check: ({ scenario, trace }) => checkWait(scenario, trace),
  }),
  clause({
    id: "wait.first_exception",
    statement: "wait() with return_when=FIRST_EXCEPTION returns as soon as any awaitable ends with an exception, or when all are done if none does.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["wait", "task", "create_task", "create_future", "call_later", "set_result", "set_exception", "sleep", "raise", "try", "await"],
    brokenBy: ["mutant:wait-first-exception-waits-all"],
    evidence: [mainRanToItsEnd],
    scenarios: () => conditionArb("FIRST_EXCEPTION", true),
    check: ({ scenario, trace }) => checkWait(scenario, trace),
  }),
  clause({
    id: "wait.timeout_returns",
    statement: "When wait()'s timeout expires first, it returns (done, pending) at that moment, with the unfinished awaitables in pending: it does not raise TimeoutError.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["wait", "task", "create_task", "create_future", "call_later", "set_result", "set_exception", "sleep", "raise", "try", "await"],
    brokenBy: ["mutant:wait-raises-timeout", "mutant:wait-ignores-timeout"],
    evidence: [mainRanToItsEnd],
    scenarios: () => timeoutArb,
    check: ({ scenario, trace }) => checkWait(scenario, trace),
  }),
  clause({
    id: "wait.no_cancel",
    statement: "wait() does not cancel the awaitables still pending when it returns (after a timeout or a FIRST_* condition): they run on to their own end.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["wait", "task", "create_task", "create_future", "call_later", "set_result", "set_exception", "sleep", "raise", "try", "await"],
    brokenBy: ["mutant:wait-cancels-pending"],
    evidence: [mainRanToItsEnd],
    scenarios: () => fc.oneof(timeoutArb, conditionArb("FIRST_COMPLETED", true), conditionArb("FIRST_EXCEPTION", true)),
    check: ({ scenario, trace }) => {
      const end = shutdownIndex(trace);
      for (const c of completions(scenario, trace)) {
        if (c.at === undefined || c.at.i > end) return `${c.key} did not run to its end after wait returned`;
        if (c.at.cancelled) return `${c.key} was cancelled`;
      }
      return true;
    },
  }),
  clause({
    id: "wait.empty",
    statement: "wait() of an empty collection raises ValueError.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["wait", "sleep", "try", "await"],
    brokenBy: ["mutant:wait-empty-ok"],
    evidence: [mainRanToItsEnd],
    scenarios: () =>
      fc
        .record({
          timeout: fc.constantFrom<number | null | undefined>(undefined, null, 0, 3),
          returnWhen: fc.constantFrom<ReturnWhen | undefined>(undefined, "ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"),
          before: fc.integer({ min: 0, max: 2 }),
        })
        .map(({ timeout, returnWhen, before }) => {
          const w: WaitAw = { wait: [] };
          if (timeout !== undefined) w.timeout = timeout;
          if (returnWhen !== undefined) w.return_when = returnWhen;
          return scenarioOf([{ op: "sleep", ticks: before }, catching("BaseException", [{ op: "await", on: w }])], []);
        }),
    check: ({ trace }) => {
      const aw = awaitedBy(trace, "Task-1", "wait")[0];
      if (!aw) return `the await of wait() never finished (${trace.end.kind})`;
      if (aw.e.exc?.type !== "ValueError") return `wait() of nothing gave ${show(outcomeOf(aw.e))}, not ValueError`;
      return true;
    },
  }),
  clause({
    id: "wait.retrieves_exceptions",
    statement:
      "wait(return_when=FIRST_EXCEPTION) marks as retrieved the exception of every member that fails while it waits, except the last of all its members to end; wait with ALL_COMPLETED or FIRST_COMPLETED, and any wait for a member failing after it returned, reads nothing: collecting such a member reports its exception never retrieved. Its completion callbacks raise nothing, also when several members were done before the call (the ones after the first that ends the wait leave the waiter alone).",
    source: SOURCE, // CPython: Lib/asyncio/tasks.py, _wait's _on_completion
    versions: SINCE_3_11,
    level: "exact",
    needs: ["wait", "task", "create_task", "create_future", "call_later", "set_result", "set_exception", "sleep", "raise", "try", "drop", "gc", "await"],
    brokenBy: ["mutant:wait-reads-every-exception", "mutant:wait-leaves-exceptions-unread"],
    evidence: [mainRanToItsEnd],
    scenarios: () => retrievalArb.map(retrievalScenario),
    check: ({ scenario, trace }) => checkRetrieval(scenario, trace),
  }),
  clause({
    id: "wait.coroutine_rejected",
    statement: "wait() refuses bare coroutines (since 3.11): it raises TypeError, and the coroutine never runs.",
    source: SOURCE,
    versions: SINCE_3_11,
    level: "documented",
    needs: ["wait", "coro", "task", "create_task", "sleep", "try", "await", "log", "return"],
    brokenBy: ["mutant:wait-wraps-coroutines"],
    evidence: [mainRanToItsEnd],
    scenarios: () =>
      fc
        .record({ tasks: fc.integer({ min: 0, max: 2 }), at: fc.nat(), returnWhen: fc.constantFrom<ReturnWhen | undefined>(undefined, "FIRST_COMPLETED") })
        .map(({ tasks, at, returnWhen }) => {
          const coroutines: CoroutineDef[] = [{ name: "bare", body: [{ op: "log", label: "bare runs" }, { op: "return", value: 1 }] }];
          const spawn: Step[] = [];
          const parts: Awaitable[] = [];
          for (let i = 0; i < tasks; i++) {
            coroutines.push(childCoro(`c${i}`, i, 1, false));
            spawn.push({ op: "create_task", coro: `c${i}`, task: `t${i}`, name: `w${i}` });
            parts.push({ task: `t${i}` });
          }
          parts.splice(at % (parts.length + 1), 0, { coro: "bare" });
          const w: WaitAw = { wait: parts };
          if (returnWhen !== undefined) w.return_when = returnWhen;
          return scenarioOf([...spawn, catching("BaseException", [{ op: "await", on: w }]), { op: "sleep", ticks: 2 }], coroutines);
        }),
    check: ({ trace }) => {
      const aw = awaitedBy(trace, "Task-1", "wait")[0];
      if (!aw) return `the await of wait never finished (${trace.end.kind})`;
      if (aw.e.exc?.type !== "TypeError") return `wait() of a coroutine gave ${show(outcomeOf(aw.e))}, not TypeError`;
      if (enterOf(trace, "bare")) return "the coroutine passed to wait() ran";
      return true;
    },
  }),
];
