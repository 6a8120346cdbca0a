/**
 * Clauses: Timeouts (asyncio.timeout, asyncio.timeout_at, asyncio.Timeout),
 * from the "Timeouts" section of "Coroutines and Tasks".
 *
 *     async with asyncio.timeout(10) as cm:     # or timeout_at(loop.time() + 10)
 *         await something()
 *     # TimeoutError here if the deadline came first
 *
 * Scenarios keep the timeout's handle as "t" (nested ones: "outer" and
 * "inner") and inspect it (`inspect_timeout`: when() and expired()). The
 * block usually starts with a log "in", so the time it was entered is in
 * the trace, and is guarded (`try: ... except BaseException: log "raised"`),
 * so what left it is the `caught` event before the "raised" log.
 */
import fc from "fast-check";
import type { Scenario, Step, TimeoutStep } from "../scenario/types";
import type { ExceptionData, Trace } from "../scenario/trace";
import { ALL_VERSIONS, DOCS, clause, releaseOf, SINCE_3_11 } from "./clause";
import { TIMEOUT_COUNTS_FROM_ENTRY_AND_CHAINS, hasChange } from "../scenario/versions";
import { mainRanToItsEnd } from "./evidence";
import type { Clause, Verdict } from "./clause";
import {
  attempt, awaitTask, cancel, caughtBefore, eventsOf, fmt, future, guarded, inspect, isCancelled, log, logEvent, logIndex,
  raise, ret, scenario, sleep, spawn, timeoutInspections, exc,
} from "./taskgroup";
import { canonicalJson } from "../scenario/trace";

// ================================================================ vocabulary

/** async with asyncio.timeout(delay) as cms[cm]: body  (timeout_at(delay) with `at`) */
const tmo = (delay: number | null, body: Step[], cm = "t", at = false): TimeoutStep => ({
  op: "timeout", cm, delay, ...(at ? { at: true } : {}), body,
});
/** cms[cm].reschedule(now + delay), or reschedule(delay) with `at` */
const resched = (cm: string, delay: number | null, at = false): Step => ({ op: "reschedule", cm, delay, ...(at ? { at: true } : {}) });
const look = (cm: string): Step => ({ op: "inspect_timeout", cm });

/** The first timeout step with handle `cm`. */
function timeoutStep(s: Scenario, cm: string): TimeoutStep {
  let found: TimeoutStep | null = null;
  const visit = (steps: Step[]): void => {
    for (const st of steps) {
      if (found) return;
      if (st.op === "timeout" && st.cm === cm) found = st;
      else if (st.op === "try") {
        visit(st.body);
        for (const h of st.except ?? []) visit(h.body ?? []);
      } else if (st.op === "taskgroup" || st.op === "timeout") visit(st.body);
    }
  };
  for (const c of s.coroutines) visit(c.body);
  if (!found) throw new Error(`aiospec clause: no timeout step "${cm}"`);
  return found;
}

/** The deadline a timeout step sets when entered at `entered` (null: none). */
function deadline(st: TimeoutStep, entered: number): number | null {
  if (st.delay === null) return null;
  return st.at ? st.delay : entered + st.delay;
}

/** The time a block was entered: the time of its first log (every block here starts with one). */
function enteredAt(trace: Trace, label: string): number | string {
  const e = logEvent(trace, label);
  return e ? e.time : `the block never started (no log "${label}")`;
}

const isTimeout = (x: ExceptionData | null): boolean => x?.type === "TimeoutError";

/**
 * The TimeoutError an expired block raises: caused by the CancelledError it
 * replaced (`raise TimeoutError from exc_val`), in the release the check
 * holds the implementation to (releaseOf) if it has gh-102780: 3.11.3 on,
 * and every 3.12+. 3.11.0-3.11.2 raise it with no cause (Debian's 3.11.2).
 */
function checkTimeoutError(x: ExceptionData | null, what: string, release: string): Verdict {
  if (!isTimeout(x)) return `${what} raised ${fmt(x)}, not TimeoutError`;
  if (!hasChange(release, TIMEOUT_COUNTS_FROM_ENTRY_AND_CHAINS)) {
    return x!.cause == null ? true : `${what}'s TimeoutError is caused by ${fmt(x!.cause)}; on ${release} (before gh-102780, 3.11.3) it has no cause`;
  }
  if (!isCancelled(x!.cause)) return `${what}'s TimeoutError is caused by ${fmt(x!.cause)}, not by the CancelledError`;
  return true;
}

/** A deadline: timeout(d) relative to the block's entry, or timeout_at(entry + d). */
const deadlineArb = (min: number, max: number) =>
  fc.record({ d: fc.integer({ min, max }), at: fc.boolean(), pre: fc.nat(2) });

/** main: [sleep pre], guarded(block), looks, log after; with the timeout's delay made absolute for timeout_at. */
function mainWith(pre: number, block: (delayFor: (d: number) => number) => Step, after: Step[] = []): Step[] {
  return [...(pre > 0 ? [sleep(pre)] : []), guarded([block((d) => pre + d)]), ...after, log("after")];
}

const TIMEOUT = DOCS.tasks + "#asyncio.timeout";
const SECTION = "Timeouts";

// ================================================================ the clauses

const expires = clause({
  id: "timeout.expires",
  statement:
    "When the deadline of a timeout() or timeout_at() block passes while the block is still awaiting, the task is cancelled — inside the block the await raises CancelledError — and the block raises TimeoutError, caused by that CancelledError (from 3.11.3; 3.11.0-3.11.2 raise it without a cause), at the deadline.",
  source: { url: TIMEOUT, section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["timeout", "inspect_timeout", "log", "try"],
  brokenBy: ["mutant:timeout-raises-cancelled"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({ dl: deadlineArb(1, 3), on: fc.constantFrom<"sleep" | "task" | "future">("sleep", "task", "future") })
      .map(({ dl, on }) => {
        const target: Step = on === "sleep" ? sleep(10) : awaitTask(on === "task" ? "c" : "f");
        const setup: Step[] = on === "task" ? [spawn("c", "child")] : on === "future" ? [future("f")] : [];
        const body = [log("in"), attempt([target], ["CancelledError", [log("inner cancelled")], true]), log("never")];
        return scenario("A timeout block still awaiting at its deadline.", {
          main: [...setup, ...mainWith(dl.pre, (abs) => tmo(dl.at ? abs(dl.d) : dl.d, body, "t", dl.at), [look("t")])],
          ...(on === "task" ? { child: [sleep(20), ret("late")] } : {}),
        });
      }),
  check(ctx) {
    const { trace, scenario: s } = ctx;
    const entered = enteredAt(trace, "in");
    if (typeof entered === "string") return entered;
    const due = deadline(timeoutStep(s, "t"), entered)!;
    const inner = logEvent(trace, "inner cancelled");
    if (!inner) return `the block's await was not cancelled at the deadline t=${due}`;
    if (!isCancelled(caughtBefore(trace, "inner cancelled"))) return `inside the block the await raised ${fmt(caughtBefore(trace, "inner cancelled"))}, not CancelledError`;
    if (inner.time !== due) return `the block's await was cancelled at t=${inner.time}, not at the deadline t=${due}`;
    const v = checkTimeoutError(caughtBefore(trace, "raised"), "the block", releaseOf(ctx));
    if (v !== true) return v;
    if (logEvent(trace, "raised")!.time !== due) return `the TimeoutError came at t=${logEvent(trace, "raised")!.time}, not at the deadline t=${due}`;
    return true;
  },
});

const inTime = clause({
  id: "timeout.in_time",
  statement:
    "A timeout() or timeout_at() block that finishes before its deadline ends normally and leaves nothing behind: the deadline passing later cancels nothing, and expired() stays false.",
  source: { url: TIMEOUT, section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["timeout", "inspect_timeout", "log", "sleep", "try"],
  brokenBy: ["mutant:timeout-timer-outlives-block"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({ dl: deadlineArb(2, 5), body: fc.constantFrom<"none" | "sleep" | "task">("none", "sleep", "task"), k: fc.nat(4) })
      .map(({ dl, body, k }) => {
        const ticks = Math.min(k, dl.d - 1);
        const steps: Step[] = [log("in"), ...(body === "sleep" ? [sleep(ticks)] : body === "task" ? [awaitTask("c")] : []), log("block end")];
        return scenario("A timeout block that ends before its deadline; then the task sleeps past it.", {
          main: [
            ...(body === "task" ? [spawn("c", "child")] : []),
            ...mainWith(dl.pre, (abs) => tmo(dl.at ? abs(dl.d) : dl.d, steps, "t", dl.at), [sleep(dl.d + 1), log("slept past"), look("t")]),
          ],
          ...(body === "task" ? { child: [sleep(ticks), ret("done")] } : {}),
        });
      }),
  check({ trace, scenario: s }) {
    const raised = caughtBefore(trace, "raised");
    if (raised !== null) return `the block raised ${fmt(raised)}`;
    const end = logEvent(trace, "block end");
    const slept = logEvent(trace, "slept past");
    if (!end || !slept) return "the code after the block did not run to its end";
    const st = timeoutStep(s, "t");
    const main = s.coroutines[0].body;
    const pause = (main[main.findIndex((x) => x.op === "log" && x.label === "slept past") - 1] as { ticks: number }).ticks;
    if (slept.time !== end.time + pause) return `the sleep after the block ended at t=${slept.time}, not t=${end.time + pause}`;
    const [last] = timeoutInspections(trace, "t").slice(-1);
    if (!last) return "the timeout was never inspected";
    if (last.e.expired) return "expired() is true for a block that ended in time";
    const due = deadline(st, enteredAt(trace, "in") as number);
    if (last.e.when !== due) return `when() is ${JSON.stringify(last.e.when)}, not the deadline ${due}`;
    return true;
  },
});

const pastDeadline = clause({
  id: "timeout.past_deadline",
  statement:
    "A deadline that is already past when it is set (timeout(0), timeout_at() of a past time, reschedule() to a past time) does not interrupt the block at once: it fires at the next iteration of the event loop, so the block's next await raises and the block raises TimeoutError, while a block that never awaits again ends normally, not expired.",
  source: { url: DOCS.tasks + "#asyncio.Timeout", section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["timeout", "inspect_timeout", "log", "try"],
  brokenBy: ["mutant:timeout-past-deadline-ignored", "mutant:timeout-past-deadline-at-once", "mutant:timeout-reschedule-ignored"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        how: fc.constantFrom<"zero" | "at" | "resched" | "resched_at">("zero", "at", "resched", "resched_at"),
        pre: fc.nat(3),
        back: fc.nat(3),
        then: fc.constantFrom<"none" | "sleep0" | "sleep">("none", "sleep0", "sleep"),
      })
      .map(({ how, pre, back, then }) => {
        const tail: Step[] = [log("sync"), look("t"), ...(then === "sleep0" ? [sleep(0)] : then === "sleep" ? [sleep(2)] : []), log("block end")];
        let block: TimeoutStep;
        if (how === "zero") block = tmo(0, [log("in"), ...tail]);
        else if (how === "at") block = tmo(Math.max(0, pre - back), [log("in"), ...tail], "t", true);
        else if (how === "resched") block = tmo(10, [log("in"), sleep(1), resched("t", 0), ...tail]);
        else block = tmo(10, [log("in"), sleep(1), resched("t", Math.max(0, pre + 1 - back), true), ...tail]);
        return scenario("A timeout whose deadline is already past when set.", {
          main: [...(pre > 0 ? [sleep(pre)] : []), guarded([block]), look("t"), log("after")],
        });
      }),
  check(ctx) {
    const { trace, scenario: s } = ctx;
    const sync = logEvent(trace, "sync");
    if (!sync) return "the block did not run its synchronous steps";
    const looks = timeoutInspections(trace, "t");
    if (looks.length < 1 || looks[0].i < logIndex(trace, "sync")) return "the timeout was not inspected after the deadline was set";
    if (looks[0].e.expired) return "expired() is already true right after the past deadline was set, before the loop ran again";
    const awaits = timeoutStep(s, "t").body.some((x, i, all) => x.op === "sleep" && all.slice(0, i).some((y) => y.op === "log" && y.label === "sync"));
    const raised = caughtBefore(trace, "raised");
    if (awaits) {
      const v = checkTimeoutError(raised, "the block", releaseOf(ctx));
      if (v !== true) return `the block awaited after its deadline was set in the past: ${v}`;
      if (logEvent(trace, "raised")!.time !== sync.time) return `the TimeoutError came at t=${logEvent(trace, "raised")!.time}, not at the next iteration (t=${sync.time})`;
      if (logIndex(trace, "block end") >= 0) return "the block went on after its await";
      return true;
    }
    if (raised !== null) return `a block that never awaited again raised ${fmt(raised)}`;
    if (logIndex(trace, "after") < 0) return "the code after the block never ran";
    const last = looks[looks.length - 1];
    if (last.e.expired) return "a block that never awaited again is expired";
    return true;
  },
});

const when = clause({
  id: "timeout.when",
  statement:
    "Timeout.when() is the current deadline: the loop time at entry plus the delay for timeout(), the given time for timeout_at(), None for no deadline, and after reschedule() the new deadline.",
  source: { url: DOCS.tasks + "#asyncio.Timeout.when", section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["timeout", "inspect_timeout", "reschedule", "log", "try"],
  brokenBy: ["mutant:timeout-reschedule-ignored"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        dl: fc.record({ d: fc.integer({ min: 2, max: 5 }), kind: fc.constantFrom<"rel" | "at" | "none">("rel", "at", "none"), pre: fc.nat(2) }),
        k: fc.nat(1),
        to: fc.constantFrom<"keep" | "rel" | "at" | "none">("keep", "rel", "at", "none"),
        r: fc.integer({ min: 1, max: 5 }),
      })
      .map(({ dl, k, to, r }) => {
        const now = dl.pre + k; // the time of the reschedule: nothing else awaits in between
        const change = to === "keep" ? [] : [to === "rel" ? resched("t", r) : to === "at" ? resched("t", now + r, true) : resched("t", null)];
        const body = [log("in"), look("t"), ...(k > 0 ? [sleep(k)] : []), ...change, look("t")];
        const delay = dl.kind === "none" ? null : dl.kind === "at" ? dl.pre + dl.d : dl.d;
        return scenario("when() of a timeout, before and after reschedule().", {
          main: [...(dl.pre > 0 ? [sleep(dl.pre)] : []), guarded([tmo(delay, body, "t", dl.kind === "at")]), look("t"), log("after")],
        });
      }),
  check({ trace, scenario: s }) {
    const entered = enteredAt(trace, "in");
    if (typeof entered === "string") return entered;
    const st = timeoutStep(s, "t");
    const looks = timeoutInspections(trace, "t");
    if (looks.length !== 3) return `the timeout was inspected ${looks.length} times, not 3`;
    const initial = deadline(st, entered);
    if (looks[0].e.when !== initial) return `when() on entry is ${JSON.stringify(looks[0].e.when)}, not ${initial}`;
    const r = st.body.find((x): x is Step & { op: "reschedule" } => x.op === "reschedule");
    const moved = r === undefined ? initial : r.delay === null ? null : r.at ? r.delay : looks[1].e.time + r.delay;
    if (looks[1].e.when !== moved) return `when() after ${r ? `reschedule(${JSON.stringify(r.delay)}${r.at ? ", absolute" : ""})` : "no reschedule"} is ${JSON.stringify(looks[1].e.when)}, not ${moved}`;
    if (looks[2].e.when !== moved) return `when() after the block is ${JSON.stringify(looks[2].e.when)}, not ${moved}`;
    return true;
  },
});

const reschedule = clause({
  id: "timeout.reschedule",
  statement:
    "Timeout.reschedule() moves the deadline of an active timeout: the block then expires at the new deadline, earlier or later than the old one (at the next loop iteration if it is already past), and never once rescheduled to None.",
  source: { url: DOCS.tasks + "#asyncio.Timeout.reschedule", section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["timeout", "reschedule", "log", "sleep", "try"],
  brokenBy: ["mutant:timeout-reschedule-ignored", "mutant:timeout-past-deadline-ignored", "mutant:timeout-none-fires"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        pre: fc.nat(1),
        d: fc.integer({ min: 3, max: 6 }),
        a: fc.integer({ min: 1, max: 2 }),
        to: fc.oneof(
          fc.record({ kind: fc.constant("rel" as const), v: fc.nat(4) }),
          fc.record({ kind: fc.constant("at" as const), v: fc.nat(8) }),
          fc.record({ kind: fc.constant("none" as const), v: fc.constant(0) }),
        ),
      })
      .map(({ pre, d, a, to }) => {
        const change = to.kind === "none" ? resched("t", null) : resched("t", to.v, to.kind === "at");
        const body = [log("in"), sleep(a), change, log("rescheduled"), attempt([sleep(10)], ["CancelledError", [log("block cancelled")], true]), log("block end")];
        return scenario("A timeout rescheduled while its block runs.", {
          main: [...(pre > 0 ? [sleep(pre)] : []), guarded([tmo(d, body)]), log("after")],
        });
      }),
  check(ctx) {
    const { trace, scenario: s } = ctx;
    const moved = logEvent(trace, "rescheduled");
    if (!moved) return "the block did not get to reschedule";
    const r = timeoutStep(s, "t").body.find((x): x is Step & { op: "reschedule" } => x.op === "reschedule")!;
    const now = moved.time;
    const target = r.delay === null ? null : r.at ? r.delay : now + r.delay;
    const raised = caughtBefore(trace, "raised");
    if (target === null) {
      if (raised !== null) return `rescheduled to None, the block still raised ${fmt(raised)}`;
      if (logIndex(trace, "block end") < 0) return "rescheduled to None, the block did not run to its end";
      return true;
    }
    const due = Math.max(target, now);
    const v = checkTimeoutError(raised, `rescheduled to t=${target}, the block`, releaseOf(ctx));
    if (v !== true) return v;
    const at = logEvent(trace, "raised")!.time;
    if (at !== due) return `rescheduled at t=${now} to t=${target}, the block expired at t=${at}, not t=${due}`;
    return true;
  },
});

const rescheduleFinished = clause({
  id: "timeout.reschedule_finished",
  statement:
    "Timeout.reschedule() raises RuntimeError once the timeout is no longer active — after its block ended, or once its deadline has fired — and leaves when() as it was.",
  source: { url: DOCS.tasks + "#asyncio.Timeout.reschedule", section: SECTION },
  versions: SINCE_3_11,
  level: "exact",
  needs: ["timeout", "reschedule", "inspect_timeout", "log", "sleep", "try"],
  brokenBy: ["mutant:timeout-reschedule-anytime"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        state: fc.constantFrom<"ended" | "expired" | "expiring">("ended", "expired", "expiring"),
        d: fc.integer({ min: 1, max: 3 }),
        to: fc.oneof(fc.record({ v: fc.nat(5), at: fc.boolean() }), fc.constant(null)),
      })
      .map(({ state, d, to }) => {
        const change = to === null ? resched("t", null) : resched("t", to.v, to.at);
        const tryChange = attempt([change], ["RuntimeError", [log("refused")]]);
        let body: Step[];
        let after: Step[] = [];
        if (state === "ended") {
          body = [log("in"), sleep(d - 1)];
          after = [tryChange];
        } else if (state === "expired") {
          body = [log("in"), sleep(10)];
          after = [tryChange];
        } else body = [log("in"), attempt([sleep(10)], ["CancelledError", [tryChange], true])];
        return scenario("reschedule() on a timeout that is no longer active.", {
          main: [guarded([tmo(d, body)]), ...after, look("t"), log("after")],
        });
      }),
  check({ trace, scenario: s }) {
    if (logIndex(trace, "refused") < 0) return "reschedule() on the inactive timeout did not raise RuntimeError";
    const caught = caughtBefore(trace, "refused");
    if (caught?.type !== "RuntimeError") return `reschedule() raised ${fmt(caught)}, not RuntimeError`;
    const [last] = timeoutInspections(trace, "t").slice(-1);
    const due = deadline(timeoutStep(s, "t"), enteredAt(trace, "in") as number);
    if (!last || last.e.when !== due) return `when() is ${JSON.stringify(last?.e.when)} after the refused reschedule, not ${due}`;
    return true;
  },
});

const expired = clause({
  id: "timeout.expired",
  statement:
    "Timeout.expired() is false until the deadline fires and true from then on — already inside the block while the CancelledError travels, and after the block — and stays false for a block that ends in time.",
  source: { url: DOCS.tasks + "#asyncio.Timeout.expired", section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["timeout", "inspect_timeout", "log", "sleep", "try"],
  brokenBy: ["mutant:timeout-expired-after-exit"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({ d: fc.constantFrom(2, 4, 6), l: fc.constantFrom(1, 3, 5), at: fc.boolean(), pre: fc.nat(1) })
      .map(({ d, l, at, pre }) => {
        const body = [log("in"), look("t"), attempt([sleep(l)], ["CancelledError", [look("t")], true]), look("t")];
        return scenario("expired() before, during and after a timeout block.", {
          main: [...(pre > 0 ? [sleep(pre)] : []), guarded([tmo(at ? pre + d : d, body, "t", at)]), look("t"), log("after")],
        });
      }),
  check({ trace, scenario: s }) {
    const entered = enteredAt(trace, "in");
    if (typeof entered === "string") return entered;
    const due = deadline(timeoutStep(s, "t"), entered)!;
    const looks = timeoutInspections(trace, "t");
    if (looks.length !== 3) return `the timeout was inspected ${looks.length} times, not 3`;
    const fired = isTimeout(caughtBefore(trace, "raised"));
    const sleepEnds = entered + (timeoutStep(s, "t").body[2] as Step & { op: "try" }).body.reduce((n, x) => n + (x.op === "sleep" ? x.ticks : 0), 0);
    const shouldFire = due < sleepEnds;
    if (fired !== shouldFire) return `the deadline t=${due} ${shouldFire ? "came" : "did not come"} before the block's sleep ended (t=${sleepEnds}), yet the block ${fired ? "raised TimeoutError" : "did not time out"}`;
    const want = [false, shouldFire, shouldFire];
    const got = looks.map((l) => l.e.expired);
    const where = ["on entry", shouldFire ? "in the handler of the CancelledError" : "at the end of the block", "after the block"];
    for (let k = 0; k < 3; k++) if (got[k] !== want[k]) return `expired() ${where[k]} (t=${looks[k].e.time}, deadline t=${due}) is ${got[k]}, not ${want[k]}`;
    return true;
  },
});

/**
 * The deadline passed, but the block ends with something else than the
 * CancelledError: the body answered the cancellation by raising another
 * exception (in the handler, or later after swallowing it). The timeout
 * converts only its own CancelledError: the other exception leaves the
 * block as it is (3.11-3.12 compare the type with CancelledError exactly,
 * 3.13 accepts its subclasses; neither takes a ValueError or a group).
 * 3.13 also slips a TimeoutError into that exception's __context__ chain,
 * which a trace does not record.
 */
const expiredOtherException = clause({
  id: "timeout.expired_other_exception",
  statement:
    "When a timeout's deadline has passed but its block ends with another exception than the CancelledError (raised while handling it, or after swallowing it), that exception leaves the block unchanged (not turned into TimeoutError), and expired() is true.",
  source: { url: TIMEOUT, section: SECTION },
  versions: SINCE_3_11,
  level: "exact",
  note: "CPython Lib/asyncio/timeouts.py __aexit__: `if self._task.uncancel() <= self._cancelling and exc_type is not None: if issubclass(exc_type, exceptions.CancelledError): raise TimeoutError from exc_val` (3.11/3.12: `exc_type is exceptions.CancelledError`); checked on CPython 3.11-3.13 and 3.14.2 (Pyodide)",
  needs: ["timeout", "inspect_timeout", "raise", "try", "log", "sleep"],
  brokenBy: ["mutant:timeout-converts-any-exception"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        d: fc.integer({ min: 1, max: 3 }),
        at: fc.boolean(),
        pre: fc.nat(1),
        swallow: fc.boolean(),
        later: fc.nat(2),
        error: fc.constantFrom(
          exc("ValueError", "other"), exc("KeyError", "k"), exc("CustomError", "c"), exc("RuntimeError", "r"),
          exc("TimeoutError", "mine"), { type: "ExceptionGroup" as const, args: ["eg"], exceptions: [exc("ValueError", "v")] },
        ),
      })
      .map(({ d, at, pre, swallow, later, error }) => {
        const answer: Step[] = [...(later > 0 ? [sleep(later)] : []), raise(error)];
        const body = swallow
          ? [log("in"), attempt([sleep(10)], ["CancelledError", [log("inner cancelled")]]), ...answer]
          : [log("in"), attempt([sleep(10)], ["CancelledError", [log("inner cancelled"), ...answer]])];
        return scenario("The body of an expired timeout block answers the cancellation with another exception.", {
          main: [...(pre > 0 ? [sleep(pre)] : []), guarded([tmo(at ? pre + d : d, body, "t", at)]), look("t"), log("after")],
        });
      }),
  check({ trace, scenario: s }) {
    if (logIndex(trace, "inner cancelled") < 0) return "the deadline did not cancel the block's sleep";
    const st = timeoutStep(s, "t");
    const find = (steps: Step[]): Step | undefined => {
      for (const x of steps) {
        if (x.op === "raise") return x;
        if (x.op === "try") {
          const r = find(x.except![0].body ?? []);
          if (r) return r;
        }
      }
      return undefined;
    };
    const answer = (find(st.body) as Step & { op: "raise" }).exc;
    const want: ExceptionData = {
      type: answer.type, args: answer.args ?? [],
      ...(answer.exceptions ? { exceptions: answer.exceptions.map((e) => ({ type: e.type, args: e.args ?? [] })) } : {}),
    };
    const got = caughtBefore(trace, "raised");
    if (canonicalJson(got) !== canonicalJson(want)) return `the expired block raised ${fmt(got)}${got?.cause ? ` (caused by ${fmt(got.cause)})` : ""}, not the body's ${fmt(want)} unchanged`;
    const looks = timeoutInspections(trace, "t");
    if (looks.length !== 1 || looks[0].e.expired !== true) return `expired() after the block is ${looks[0]?.e.expired}, not true`;
    return true;
  },
});

const none = clause({
  id: "timeout.none",
  statement:
    "A timeout(None) or timeout_at(None) block has no deadline: it never expires however long it awaits, when() is None and expired() false.",
  source: { url: TIMEOUT, section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["timeout", "inspect_timeout", "log", "sleep", "try"],
  brokenBy: ["mutant:timeout-none-fires"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({ at: fc.boolean(), l: fc.integer({ min: 0, max: 6 }), pre: fc.nat(2) })
      .map(({ at, l, pre }) =>
        scenario("A timeout block without a deadline.", {
          main: [...(pre > 0 ? [sleep(pre)] : []), guarded([tmo(null, [log("in"), look("t"), sleep(l), log("slept"), look("t")], "t", at)]), look("t"), log("after")],
        }),
      ),
  check({ trace }) {
    const raised = caughtBefore(trace, "raised");
    if (raised !== null) return `the block raised ${fmt(raised)}`;
    if (logIndex(trace, "slept") < 0) return "the block did not run to its end";
    for (const l of timeoutInspections(trace, "t")) {
      if (l.e.when !== null) return `when() is ${JSON.stringify(l.e.when)} at t=${l.e.time}, not None`;
      if (l.e.expired) return `expired() is true at t=${l.e.time}`;
    }
    return true;
  },
});

const nestedInner = clause({
  id: "timeout.nested_inner",
  statement:
    "Timeouts nest: when the inner block's deadline comes first, the inner block raises TimeoutError, which the outer block's code can catch and go on, and the outer timeout still expires at its own deadline.",
  source: { url: DOCS.tasks + "#asyncio.Timeout", section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["timeout", "inspect_timeout", "log", "sleep", "try"],
  brokenBy: ["mutant:timeout-raises-cancelled", "mutant:timeout-no-uncancel"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({ d2: fc.integer({ min: 1, max: 3 }), gap: fc.integer({ min: 1, max: 4 }), k: fc.nat(5), innerAt: fc.boolean() })
      .map(({ d2, gap, k, innerAt }) => {
        const d1 = d2 + gap;
        const pause = d2 + k === d1 ? k + 1 : k; // no tie between the outer deadline and the sleep's end
        // main enters the outer block at t=0, so timeout_at(d2) is d2 after entry too.
        const inner = tmo(d2, [log("inner in"), sleep(20)], "inner", innerAt);
        const outer = tmo(d1, [log("in"), attempt([inner], ["TimeoutError", [log("inner timed out")]]), sleep(pause), log("outer goes on")], "outer");
        return scenario("Nested timeouts: the inner one expires first.", {
          main: [guarded([outer]), look("inner"), look("outer"), log("after")],
        });
      }),
  check(ctx) {
    const { trace, scenario: s } = ctx;
    const entered = enteredAt(trace, "in");
    if (typeof entered === "string") return entered;
    const innerDue = deadline(timeoutStep(s, "inner"), entered)!;
    const outerDue = deadline(timeoutStep(s, "outer"), entered)!;
    const caughtInner = logEvent(trace, "inner timed out");
    if (!caughtInner) return `the inner block (deadline t=${innerDue}) did not raise TimeoutError into the outer block (it raised ${fmt(caughtBefore(trace, "raised"))})`;
    const v = checkTimeoutError(caughtBefore(trace, "inner timed out"), "the inner block", releaseOf(ctx));
    if (v !== true) return v;
    if (caughtInner.time !== innerDue) return `the inner block timed out at t=${caughtInner.time}, not t=${innerDue}`;
    const outerBody = timeoutStep(s, "outer").body;
    const pause = (outerBody[2] as { ticks: number }).ticks;
    const outerFires = innerDue + pause > outerDue;
    const raised = caughtBefore(trace, "raised");
    const [innerLook, outerLook] = [timeoutInspections(trace, "inner")[0], timeoutInspections(trace, "outer")[0]];
    if (!innerLook?.e.expired) return "the inner timeout is not expired after the block";
    if (outerFires) {
      const w = checkTimeoutError(raised, "the outer block", releaseOf(ctx));
      if (w !== true) return `the outer deadline t=${outerDue} came while the outer block slept: ${w}`;
      if (logEvent(trace, "raised")!.time !== outerDue) return `the outer block timed out at t=${logEvent(trace, "raised")!.time}, not t=${outerDue}`;
      if (!outerLook?.e.expired) return "the outer timeout is not expired after it fired";
    } else {
      if (raised !== null) return `the outer block, which ended before its deadline t=${outerDue}, raised ${fmt(raised)}`;
      if (logIndex(trace, "outer goes on") < 0) return "the outer block did not go on after catching the inner TimeoutError";
      if (outerLook?.e.expired) return "the outer timeout is expired though its block ended in time";
    }
    return true;
  },
});

const nestedOuter = clause({
  id: "timeout.nested_outer",
  statement:
    "Timeouts nest: when the outer block's deadline comes first while the inner block runs, the inner timeout lets the CancelledError through untouched (it did not expire) and the outer block raises TimeoutError.",
  source: { url: DOCS.tasks + "#asyncio.Timeout", section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["timeout", "inspect_timeout", "log", "sleep", "try"],
  brokenBy: ["mutant:timeout-converts-foreign"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({ d1: fc.integer({ min: 1, max: 3 }), gap: fc.integer({ min: 1, max: 3 }), innerAt: fc.boolean(), catchInner: fc.boolean() })
      .map(({ d1, gap, innerAt, catchInner }) => {
        const innerBody = [log("inner in"), attempt([sleep(20)], ["CancelledError", [log("inner body cancelled")], true])];
        const inner = tmo(d1 + gap, innerBody, "inner", innerAt);
        const wrapped: Step = catchInner ? attempt([inner], ["TimeoutError", [log("caught inside outer")]]) : inner;
        return scenario("Nested timeouts: the outer one expires first.", {
          main: [guarded([tmo(d1, [log("in"), wrapped, log("outer body end")], "outer")]), look("inner"), look("outer"), log("after")],
        });
      }),
  check(ctx) {
    const { trace, scenario: s } = ctx;
    const entered = enteredAt(trace, "in");
    if (typeof entered === "string") return entered;
    const outerDue = deadline(timeoutStep(s, "outer"), entered)!;
    const cancelledIn = logEvent(trace, "inner body cancelled");
    if (!cancelledIn || cancelledIn.time !== outerDue) return `the inner block's await was not cancelled at the outer deadline t=${outerDue}`;
    if (logIndex(trace, "caught inside outer") >= 0) return `the inner block raised ${fmt(caughtBefore(trace, "caught inside outer"))} into the outer block instead of letting the CancelledError through`;
    if (logIndex(trace, "outer body end") >= 0) return "the outer block went on after its deadline";
    const v = checkTimeoutError(caughtBefore(trace, "raised"), "the outer block", releaseOf(ctx));
    if (v !== true) return v;
    const [innerLook, outerLook] = [timeoutInspections(trace, "inner")[0], timeoutInspections(trace, "outer")[0]];
    if (innerLook?.e.expired) return "the inner timeout says it expired, though its deadline never came";
    if (!outerLook?.e.expired) return "the outer timeout is not expired";
    return true;
  },
});

const foreign = clause({
  id: "timeout.foreign_cancel",
  statement:
    "A timeout block turns only its own cancellation into TimeoutError: when the task is cancelled from elsewhere while the block runs, even at the moment of the deadline, CancelledError leaves the block.",
  source: { url: TIMEOUT, section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["timeout", "cancel", "await", "create_task", "inspect_timeout", "log", "sleep", "task", "try"],
  brokenBy: ["mutant:timeout-converts-foreign"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({ d: fc.integer({ min: 1, max: 4 }), c: fc.integer({ min: 1, max: 4 }), yields: fc.nat(2), at: fc.boolean(), cleanup: fc.nat(1) })
      .map(({ d, c, yields, at, cleanup }) => {
        const when = Math.min(c, d);
        const body = [log("in"), attempt([sleep(10)], ["CancelledError", [log("block cancelled"), ...(cleanup > 0 ? [sleep(cleanup)] : [])], true])];
        return scenario("A task is cancelled from outside while its timeout block runs.", {
          main: [spawn("w", "worker"), sleep(when), ...Array.from({ length: yields }, () => sleep(0)), cancel("w"), guarded([awaitTask("w")], "worker raised")],
          worker: [guarded([tmo(d, body, "t", at)]), look("t"), log("after")],
        });
      }),
  check({ trace }) {
    const raisedAt = logIndex(trace, "raised");
    if (raisedAt < 0) return "nothing left the worker's timeout block";
    const outside = eventsOf(trace, "cancel").some(({ i, e }) => e.ref === "w" && e.returned && i < raisedAt);
    if (!outside) return true; // the block had already timed out when the cancel came
    const raised = caughtBefore(trace, "raised");
    if (!isCancelled(raised)) return `the worker was cancelled from outside while its block ran, yet the block raised ${fmt(raised)}`;
    return true;
  },
});

const cancellingRestored = clause({
  id: "timeout.cancelling_restored",
  statement:
    "A timeout block leaves the task's cancellation count as it found it: after the block, expired or not, cancelling() is what it was on entry.",
  source: { url: TIMEOUT, section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["timeout", "inspect", "await", "create_task", "log", "sleep", "task", "try"],
  brokenBy: ["mutant:timeout-no-uncancel"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({ d: fc.constantFrom(1, 3), l: fc.constantFrom(2, 4), swallow: fc.boolean(), prior: fc.boolean() })
      .map(({ d, l, swallow, prior }) => {
        const body = swallow ? [attempt([sleep(l)], ["CancelledError", [log("swallowed")]]), sleep(0)] : [sleep(l)];
        return scenario("A task's cancelling() before and after a timeout block.", {
          main: prior ? [spawn("w", "worker"), sleep(0), cancel("w"), awaitTask("w")] : [spawn("w", "worker"), awaitTask("w")],
          worker: [
            ...(prior ? [attempt([sleep(1)], ["CancelledError", [log("first cancel swallowed")]])] : []),
            inspect("w"),
            guarded([tmo(d, [log("in"), ...body])]),
            inspect("w"),
          ],
        });
      }),
  check({ trace }) {
    const seen = eventsOf(trace, "inspect").filter(({ e }) => e.ref === "w" && e.task === "w");
    if (seen.length !== 2) return `the worker inspected itself ${seen.length} times, not twice`;
    const [before, after] = [seen[0].e.cancelling, seen[1].e.cancelling];
    if (before !== after) return `cancelling() was ${before} on entering the timeout block and ${after} after it (the block ${caughtBefore(trace, "raised") ? `raised ${fmt(caughtBefore(trace, "raised"))}` : "ended normally"})`;
    return true;
  },
});

export const CLAUSES: Clause[] = [
  expires,
  inTime,
  pastDeadline,
  when,
  reschedule,
  rescheduleFinished,
  expired,
  expiredOtherException,
  none,
  nestedInner,
  nestedOuter,
  foreign,
  cancellingRestored,
];
