/**
 * asyncio.timeout / timeout_at, wait_for and shield: hand-written scenarios,
 * each run on the reference and on CPython (through the driver) for every
 * version, compared event for event.
 *
 * The scenarios aim at the corners where the versions and the
 * implementations differ: a deadline already past (it fires at the next
 * iteration), deadlines that tie with a sleep, reschedule in every state,
 * nested timeouts, cancellations from outside counted against the
 * timeout's own, 3.11's wait_for (a task of its own and a waiter future)
 * against 3.12+'s (a timeout block in the caller's task), and shield's two
 * futures.
 *
 * CPython 3.11 is `python3`; 3.12 and 3.13 run when an interpreter is found.
 * Each interpreter runs every scenario in one driver process.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { findCPython } from "../harness/targets";
import { DriverRun, runOnDriver } from "./helpers/driver";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import { EventLoop } from "../implementations/reference/loop";
import { profileFor } from "../implementations/reference/profile";
import { taskFactory } from "../implementations/reference/tasks";
import { timeout, timeout_at } from "../implementations/reference/timeouts";
import { PyBaseException } from "../harness/engine/pyexc";
import { canonicalJson } from "../spec/scenario/trace";
import type { Awaitable, CatchableType, ExceptClause, ExceptionSpec, Scalar, Scenario, Step } from "../spec/scenario/types";
import { describeDifference } from "./helpers/difference";

// ---------------------------------------------------------------- a small vocabulary for scenarios

function scenario(coroutines: Record<string, Step[]>, callbacks: Record<string, Step[]> = {}): Scenario {
  const s: Scenario = { aiospec: 1, coroutines: Object.entries(coroutines).map(([name, body]) => ({ name, body })) };
  const cbs = Object.entries(callbacks);
  if (cbs.length > 0) s.callbacks = cbs.map(([name, body]) => ({ name, body }));
  return s;
}
const log = (label: string): Step => ({ op: "log", label });
const sleep = (ticks: number): Step => ({ op: "sleep", ticks });
const ret = (value: Scalar = null): Step => ({ op: "return", value });
const raise = (type: ExceptionSpec["type"], ...args: Scalar[]): Step => ({ op: "raise", exc: { type, args } });
const spawn = (task: string, coro: string): Step => ({ op: "create_task", task, coro });
const aw = (on: Awaitable): Step => ({ op: "await", on });
const awTask = (task: string): Step => aw({ task });
const cancel = (task: string, msg?: string): Step => (msg === undefined ? { op: "cancel", task } : { op: "cancel", task, msg });
const inspect = (task: string): Step => ({ op: "inspect", task });
const uncancel = (task: string): Step => ({ op: "uncancel", task });
const tmo = (delay: number | null, body: Step[], cm?: string, at?: boolean): Step => ({
  op: "timeout", delay, body, ...(cm !== undefined ? { cm } : {}), ...(at ? { at } : {}),
});
const resched = (cm: string, delay: number | null, at?: boolean): Step => ({ op: "reschedule", cm, delay, ...(at ? { at } : {}) });
const look = (cm: string): Step => ({ op: "inspect_timeout", cm });
const on = (type: CatchableType, body: Step[] = [], reraise = false): ExceptClause => ({ type, body, ...(reraise ? { reraise } : {}) });
const attempt = (body: Step[], handlers: ExceptClause[], fin?: Step[]): Step => ({
  op: "try", body, except: handlers, ...(fin ? { finally: fin } : {}),
});
/** try: body  except Exception and BaseException: record it (the trace's `caught` event). */
const catchAll = (body: Step[]): Step => attempt(body, [on("BaseException")]);
const waitFor = (inner: Awaitable, timeout: number | null): Step => aw({ wait_for: inner, timeout });
const shield = (inner: Awaitable): Step => aw({ shield: inner });

interface Case {
  name: string;
  scenario: Scenario;
}

const cases: Case[] = [];
function add(name: string, s: Scenario): void {
  cases.push({ name, scenario: { ...s, description: name } });
}

// ---------------------------------------------------------------- timeout()

add("timeout expires inside a sleep: TimeoutError from CancelledError", scenario({
  main: [
    catchAll([tmo(3, [log("in"), sleep(10), log("never")], "t")]),
    look("t"),
    log("after"),
  ],
}));

add("timeout does not expire: block ends, state finished", scenario({
  main: [tmo(5, [look("t"), sleep(2), look("t")], "t"), look("t"), sleep(10), log("after")],
}));

add("timeout with no deadline (None)", scenario({
  main: [tmo(null, [look("t"), sleep(50)], "t"), look("t")],
}));

add("timeout expires inside an awaited task: the task is cancelled too", scenario({
  main: [spawn("c", "child"), catchAll([tmo(2, [awTask("c")], "t")]), inspect("c"), look("t")],
  child: [log("child start"), sleep(10), ret("child done")],
}));

add("timeout expires inside an awaited coroutine", scenario({
  main: [catchAll([tmo(2, [{ op: "call", coro: "child" }])])],
  child: [attempt([sleep(10)], [on("CancelledError", [log("child sees cancel")], true)])],
}));

add("timeout expires inside a shield: the inner task keeps running", scenario({
  main: [
    spawn("c", "child"),
    catchAll([tmo(2, [shield({ task: "c" })])]),
    inspect("c"),
    awTask("c"),
  ],
  child: [sleep(5), log("child finishes"), ret(7)],
}));

add("timeout expires while awaiting a future: the future is cancelled", scenario({
  main: [{ op: "create_future", future: "f" }, catchAll([tmo(1, [awTask("f")])]), inspect("f")],
}));

add("timeout(0): fires at the next iteration, not at once", scenario({
  main: [catchAll([tmo(0, [log("still running"), look("t"), sleep(0), log("never")], "t")]), look("t")],
}));

add("timeout(0) around a block that never awaits: no expiry", scenario({
  main: [tmo(0, [log("sync body")], "t"), look("t"), sleep(1), log("after")],
}));

add("negative timeout", scenario({
  main: [catchAll([tmo(-5, [sleep(1), log("never")], "t")]), look("t")],
}));

add("timeout_at an absolute time, and in the past", scenario({
  main: [
    sleep(2),
    catchAll([tmo(5, [sleep(10)], "a", true)]),
    look("a"),
    catchAll([tmo(1, [sleep(10)], "b", true)]),
    look("b"),
  ],
}));

add("timeout_at(None)", scenario({
  main: [tmo(null, [sleep(3)], "a", true), look("a")],
}));

add("deadline ties with the end of a sleep: the timeout still wins", scenario({
  main: [catchAll([tmo(5, [sleep(5), log("after sleep")], "t")]), look("t")],
}));

add("sleep started before the timeout, same deadline", scenario({
  main: [spawn("w", "work"), sleep(1), log("main"), awTask("w")],
  work: [catchAll([tmo(4, [sleep(4), log("slept")], "t")]), look("t")],
}));

add("reschedule earlier", scenario({
  main: [catchAll([tmo(10, [resched("t", 2), look("t"), sleep(5)], "t")]), look("t")],
}));

add("reschedule later: no expiry", scenario({
  main: [tmo(2, [resched("t", 10), look("t"), sleep(5), log("done")], "t"), look("t")],
}));

add("reschedule to None: no expiry", scenario({
  main: [tmo(2, [sleep(1), resched("t", null), look("t"), sleep(5), log("done")], "t"), look("t")],
}));

add("reschedule to a past time: fires at the next iteration", scenario({
  main: [catchAll([tmo(10, [sleep(3), resched("t", 1, true), log("still"), sleep(0), log("never")], "t")]), look("t")],
}));

add("reschedule while expiring, after expiry, after a normal exit", scenario({
  main: [
    catchAll([
      tmo(1, [
        attempt([sleep(5)], [on("CancelledError", [look("t"), catchAll([resched("t", 3)])], true)]),
      ], "t"),
    ]),
    catchAll([resched("t", 3)]),
    tmo(5, [], "u"),
    catchAll([resched("u", 3)]),
    catchAll([resched("u", null)]),
  ],
}));

add("reschedule from another task", scenario({
  main: [spawn("r", "rescheduler"), catchAll([tmo(100, [sleep(50)], "t")]), look("t")],
  rescheduler: [sleep(2), resched("t", 3), look("t")],
}));

add("reschedule by an unbound handle, before the block", scenario({
  main: [resched("t", 3), look("t"), tmo(1, [], "t"), look("t")],
}));

add("nested timeouts: the outer expires first", scenario({
  main: [catchAll([tmo(2, [catchAll([tmo(5, [sleep(10)], "inner")]), log("inner handled")], "outer")]), look("inner"), look("outer")],
}));

add("nested timeouts: the outer expires first, the inner does not catch", scenario({
  main: [catchAll([tmo(2, [tmo(5, [sleep(10)], "inner"), log("never")], "outer")]), look("inner"), look("outer")],
}));

add("nested timeouts: the inner expires first, the outer goes on", scenario({
  main: [tmo(8, [catchAll([tmo(2, [sleep(10)], "inner")]), sleep(1), log("outer body continues")], "outer"), look("inner"), look("outer")],
}));

add("nested timeouts: the inner's TimeoutError escapes the outer", scenario({
  main: [catchAll([tmo(8, [tmo(2, [sleep(10)], "inner")], "outer")]), look("inner"), look("outer")],
}));

add("nested timeouts with the same deadline: the outer one converts", scenario({
  main: [spawn("w", "work"), awTask("w")],
  work: [catchAll([tmo(3, [catchAll([tmo(3, [sleep(10)], "inner")]), log("between"), inspect("w")], "outer")]), inspect("w"), look("inner"), look("outer")],
}));

add("another exception escapes an expired block: it propagates, unconverted", scenario({
  main: [spawn("w", "work"), awTask("w")],
  work: [
    catchAll([tmo(2, [attempt([sleep(10)], [on("CancelledError", [inspect("w"), raise("ValueError", "cleanup failed")])])], "t")]),
    inspect("w"),
    look("t"),
  ],
}));

add("an exception group escapes an expired block", scenario({
  main: [
    catchAll([tmo(1, [attempt([sleep(10)], [on("CancelledError", [
      { op: "raise", exc: { type: "ExceptionGroup", args: ["eg"], exceptions: [{ type: "ValueError", args: ["v"] }] } },
    ])])], "t")]),
    look("t"),
  ],
}));

add("the block catches the CancelledError itself and ends normally", scenario({
  main: [spawn("w", "work"), awTask("w")],
  work: [
    tmo(2, [attempt([sleep(10)], [on("CancelledError", [log("swallowed"), inspect("w")])]), look("t"), sleep(1), log("body goes on")], "t"),
    inspect("w"),
    look("t"),
    sleep(1),
    log("after"),
  ],
}));

add("the block catches the CancelledError and returns from inside the block", scenario({
  main: [spawn("w", "work"), awTask("w")],
  work: [tmo(1, [attempt([sleep(10)], [on("CancelledError", [ret("from block")])])], "t"), log("never")],
}));

add("the block swallows the cancellation and uncancels: later awaits are not cancelled", scenario({
  main: [spawn("w", "work"), awTask("w"), inspect("w")],
  work: [
    tmo(1, [attempt([sleep(10)], [on("CancelledError", [uncancel("w")])]), sleep(2), log("slept in block")], "t"),
    inspect("w"),
    sleep(1),
    ret("ok"),
  ],
}));

add("uncancel inside the handler, then re-raise: still a TimeoutError", scenario({
  main: [spawn("w", "work"), awTask("w")],
  work: [catchAll([tmo(1, [attempt([sleep(10)], [on("CancelledError", [uncancel("w"), inspect("w")], true)])], "t")]), inspect("w")],
}));

add("a ValueError inside the block before the deadline", scenario({
  main: [catchAll([tmo(5, [sleep(1), raise("ValueError", "early")], "t")]), look("t"), sleep(10), log("after")],
}));

add("raising CancelledError by hand in an unexpired block", scenario({
  main: [spawn("w", "work"), awTask("w")],
  work: [tmo(5, [raise("CancelledError", "by hand")], "t")],
}));

add("raising CancelledError by hand after expiry, in the handler", scenario({
  main: [catchAll([tmo(1, [attempt([sleep(5)], [on("CancelledError", [raise("CancelledError", "mine")])])], "t")]), look("t")],
}));

add("cancelled from outside while a timeout is pending", scenario({
  main: [spawn("w", "work"), sleep(2), cancel("w"), inspect("w"), awTask("w")],
  work: [tmo(10, [sleep(20)], "t"), log("never")],
  }));

add("cancelled from outside, with a message, the block handles it", scenario({
  main: [spawn("w", "work"), sleep(2), cancel("w", "stop"), sleep(1), inspect("w"), awTask("w")],
  work: [tmo(10, [catchAll([sleep(20)]), sleep(1)], "t"), look("t"), inspect("w"), ret("w done")],
}));

add("outside cancel at the same moment as the deadline: CancelledError wins", scenario({
  main: [spawn("w", "work"), sleep(3), cancel("w"), inspect("w"), awTask("w")],
  work: [tmo(3, [sleep(10)], "t"), log("never")],
}));

add("deadline passes after an outside cancel was delivered and swallowed", scenario({
  main: [spawn("w", "work"), sleep(1), cancel("w"), sleep(5), inspect("w"), awTask("w")],
  work: [catchAll([tmo(3, [catchAll([sleep(2)]), inspect("w"), sleep(5)], "t")]), inspect("w"), look("t")],
}));

add("a timeout entered in a task that already has a cancel request pending", scenario({
  main: [spawn("w", "work"), sleep(0), cancel("w"), sleep(10), inspect("w"), awTask("w")],
  work: [log("w runs"), catchAll([tmo(2, [sleep(10)], "t")]), inspect("w"), look("t")],
}));

add("timeout inside a task awaited by another, which is cancelled", scenario({
  main: [spawn("o", "outer"), spawn("k", "killer"), catchAll([awTask("o")]), inspect("w"), look("t")],
  outer: [spawn("w", "work"), catchAll([awTask("w")]), inspect("w"), inspect("o")],
  work: [tmo(5, [sleep(10)], "t")],
  killer: [sleep(1), cancel("o")],
}));

add("two tasks, two timeouts", scenario({
  main: [spawn("a", "a"), spawn("b", "b"), catchAll([awTask("a")]), catchAll([awTask("b")])],
  a: [tmo(2, [sleep(5)], "ta")],
  b: [tmo(3, [sleep(1), ret("b ok")], "tb")],
}));

add("timeout around a gather", scenario({
  main: [
    catchAll([tmo(2, [aw({ gather: [{ coro: "slow" }, { coro: "fast" }] })], "t")]),
    sleep(10),
    log("after"),
  ],
  slow: [sleep(5), ret("slow")],
  fast: [sleep(1), ret("fast")],
}));

add("timeout around a TaskGroup-free wait()", scenario({
  main: [catchAll([tmo(2, [aw({ wait: [{ coro: "slow" }], timeout: 10 })], "t")]), sleep(10)],
  slow: [sleep(5), ret("slow")],
}));

add("a fractional delay: virtual times are floats", scenario({
  main: [catchAll([tmo(2.5, [sleep(10)], "t")]), look("t"), sleep(1), log("at 3.5"), catchAll([tmo(0.25, [sleep(1)], "u")]), look("u")],
}));

add("reschedule to now (relative 0) and several times over", scenario({
  main: [
    catchAll([tmo(10, [resched("t", 20), resched("t", 5), resched("t", null), resched("t", 0), look("t"), log("still running"), sleep(3)], "t")]),
    look("t"),
  ],
}));

add("inspect and reschedule a timeout from another task after its block ended", scenario({
  main: [spawn("w", "work"), awTask("w"), look("t"), catchAll([resched("t", 1)]), sleep(5)],
  work: [catchAll([tmo(1, [sleep(3)], "t")])],
}));

add("cancelled from outside while the expired block is still cleaning up", scenario({
  main: [spawn("w", "work"), sleep(2), cancel("w"), inspect("w"), catchAll([awTask("w")]), inspect("w")],
  work: [tmo(1, [attempt([sleep(10)], [on("CancelledError", [log("cleanup"), sleep(5), log("never")], true)])], "t")],
}));

add("a finally clause awaits after expiry, then the block ends", scenario({
  main: [catchAll([tmo(1, [attempt([sleep(10)], [], [log("finally"), sleep(2), log("finally done")])], "t")]), look("t")],
}));

add("KeyboardInterrupt escapes an expired block", scenario({
  main: [tmo(1, [attempt([sleep(10)], [on("CancelledError", [raise("KeyboardInterrupt")])])], "t")],
}));

add("timeout expires, the awaited task swallows the cancellation and returns", scenario({
  main: [spawn("c", "child"), tmo(2, [awTask("c"), log("got the value"), sleep(1)], "t"), look("t"), inspect("c"), log("no TimeoutError")],
  child: [attempt([sleep(10)], [on("CancelledError", [log("child swallows")])]), ret("child value")],
}));

add("two timeouts one after the other in one task", scenario({
  main: [spawn("w", "work"), awTask("w")],
  work: [catchAll([tmo(1, [sleep(5)], "a")]), inspect("w"), catchAll([tmo(2, [sleep(5)], "b")]), inspect("w"), tmo(3, [sleep(1)], "c"), look("a"), look("b"), look("c")],
}));

add("a timeout becomes past while the block runs synchronously", scenario({
  main: [spawn("r", "rescheduler"), catchAll([tmo(10, [sleep(1), resched("t", 0), look("t"), log("sync"), look("t"), sleep(1), log("never")], "t")]), look("t")],
  rescheduler: [sleep(1), look("t")],
}));

// ---------------------------------------------------------------- wait_for()

add("wait_for: a coroutine finishes in time", scenario({
  main: [waitFor({ coro: "c" }, 10), log("after")],
  c: [sleep(2), ret("x")],
}));

add("wait_for: a coroutine times out", scenario({
  main: [catchAll([waitFor({ coro: "c" }, 3)]), log("after"), sleep(10)],
  c: [log("c runs"), sleep(10), ret("x")],
}));

add("wait_for: a task times out and is cancelled", scenario({
  main: [spawn("t", "c"), catchAll([waitFor({ task: "t" }, 3)]), inspect("t")],
  c: [sleep(10), ret("x")],
}));

add("wait_for: a task finishes in time", scenario({
  main: [spawn("t", "c"), waitFor({ task: "t" }, 3), inspect("t")],
  c: [sleep(1), ret("x")],
}));

add("wait_for: a future set by a callback in time", scenario({
  main: [{ op: "create_future", future: "f" }, { op: "call_later", delay: 2, callback: "resolve" }, waitFor({ task: "f" }, 5), log("after")],
}, {
  resolve: [{ op: "set_result", future: "f", value: "v" }],
}));

add("wait_for: a future times out and is cancelled", scenario({
  main: [{ op: "create_future", future: "f" }, catchAll([waitFor({ task: "f" }, 2)]), inspect("f")],
}));

add("wait_for: timeout 0 with a coroutine: it never runs", scenario({
  main: [catchAll([waitFor({ coro: "c" }, 0)]), log("after")],
  c: [log("never"), ret("x")],
}));

add("wait_for: negative timeout with a pending future", scenario({
  main: [{ op: "create_future", future: "f" }, catchAll([waitFor({ task: "f" }, -1)]), inspect("f")],
}));

add("wait_for: timeout 0 with a done task returns its result at once", scenario({
  main: [spawn("t", "c"), sleep(1), inspect("t"), waitFor({ task: "t" }, 0), log("after")],
  c: [ret("done already")],
}));

add("wait_for: timeout 0 with a task that failed", scenario({
  main: [spawn("t", "c"), sleep(1), catchAll([waitFor({ task: "t" }, 0)])],
  c: [raise("ValueError", "bad")],
}));

add("wait_for: timeout 0 with a pending task that ignores the cancellation", scenario({
  main: [spawn("t", "c"), sleep(0), waitFor({ task: "t" }, 0), inspect("t")],
  c: [attempt([sleep(10)], [on("CancelledError", [log("ignored")])]), ret("ignored it")],
}));

add("wait_for: timeout None", scenario({
  main: [waitFor({ coro: "c" }, null), spawn("t", "c"), waitFor({ task: "t" }, null)],
  c: [sleep(3), ret("x")],
}));

add("wait_for: the inner ignores the cancellation and returns a value", scenario({
  main: [catchAll([waitFor({ coro: "c" }, 2)]), log("after")],
  c: [attempt([sleep(10)], [on("CancelledError", [log("ignoring")])]), ret("late value")],
}));

add("wait_for: the inner raises ValueError on cancellation", scenario({
  main: [catchAll([waitFor({ coro: "c" }, 2)]), log("after")],
  c: [attempt([sleep(10)], [on("CancelledError", [raise("ValueError", "in cleanup")])])],
}));

add("wait_for: the inner takes time to clean up", scenario({
  main: [catchAll([waitFor({ coro: "c" }, 2)]), log("after")],
  c: [attempt([sleep(10)], [on("CancelledError", [sleep(3), log("cleaned up")], true)])],
}));

add("wait_for: the inner fails before the deadline", scenario({
  main: [catchAll([waitFor({ coro: "c" }, 5)]), log("after")],
  c: [sleep(1), raise("KeyError", "k")],
}));

add("wait_for: the inner is cancelled by someone else", scenario({
  main: [spawn("t", "c"), spawn("k", "killer"), catchAll([waitFor({ task: "t" }, 5)]), log("after")],
  c: [sleep(10)],
  killer: [sleep(1), cancel("t")],
}));

add("wait_for: deadline ties with the inner's sleep", scenario({
  main: [catchAll([waitFor({ sleep: 5, result: "slept" }, 5)]), log("after")],
}));

add("wait_for: a coroutine that finishes without awaiting", scenario({
  main: [waitFor({ coro: "c" }, 5), log("after")],
  c: [ret("quick")],
}));

add("wait_for: being cancelled while waiting", scenario({
  main: [spawn("w", "work"), sleep(2), cancel("w"), inspect("w"), catchAll([awTask("w")]), inspect("w"), log("after")],
  work: [waitFor({ coro: "c" }, 5), log("never")],
  c: [log("c runs"), sleep(10), ret("x")],
}));

add("wait_for: being cancelled while waiting on a task", scenario({
  main: [spawn("t", "c"), spawn("w", "work"), sleep(2), cancel("w"), catchAll([awTask("w")]), inspect("t")],
  work: [waitFor({ task: "t" }, 5), log("never")],
  c: [sleep(10), ret("x")],
}));

add("wait_for: cancelled while waiting, the inner ignores cancellation", scenario({
  main: [spawn("w", "work"), sleep(2), cancel("w"), catchAll([awTask("w")]), inspect("w")],
  work: [waitFor({ coro: "c" }, 5), log("work goes on"), ret("w")],
  c: [attempt([sleep(10)], [on("CancelledError", [log("c ignores")])]), ret("c value")],
}));

add("wait_for: cancelled at the same moment as its deadline", scenario({
  main: [spawn("w", "work"), sleep(3), cancel("w"), catchAll([awTask("w")]), inspect("w")],
  work: [waitFor({ coro: "c" }, 3), log("never")],
  c: [sleep(10)],
}));

add("wait_for: the inner finishes at the moment wait_for is cancelled", scenario({
  main: [spawn("w", "work"), sleep(3), cancel("w"), catchAll([awTask("w")]), inspect("w")],
  work: [waitFor({ coro: "c" }, 10), log("work goes on")],
  c: [sleep(3), ret("c")],
}));

add("wait_for: shielded inner survives the timeout", scenario({
  main: [spawn("t", "c"), catchAll([waitFor({ shield: { task: "t" } }, 2)]), inspect("t"), awTask("t")],
  c: [sleep(5), ret("shielded")],
}));

add("wait_for inside a timeout that expires first", scenario({
  main: [catchAll([tmo(2, [waitFor({ coro: "c" }, 5)], "t")]), look("t"), sleep(10)],
  c: [sleep(10)],
}));

add("a timeout inside wait_for's coroutine expires first", scenario({
  main: [catchAll([waitFor({ coro: "c" }, 5)]), sleep(10)],
  c: [catchAll([tmo(2, [sleep(10)], "t")]), sleep(1), ret("c ok")],
}));

add("wait_for of a gather", scenario({
  main: [catchAll([waitFor({ gather: [{ coro: "a" }, { coro: "b" }] }, 3)]), sleep(5)],
  a: [sleep(1), ret("a")],
  b: [sleep(5), ret("b")],
}));

add("wait_for: cancelling count of the caller", scenario({
  main: [spawn("w", "work"), awTask("w")],
  work: [catchAll([waitFor({ coro: "c" }, 1)]), inspect("w")],
  c: [inspect("w"), sleep(5)],
}));

add("wait_for: a done task with a positive timeout", scenario({
  main: [spawn("t", "c"), sleep(1), waitFor({ task: "t" }, 5), log("after")],
  c: [ret("done")],
}));

add("wait_for: a future failing in time", scenario({
  main: [{ op: "create_future", future: "f" }, { op: "call_later", delay: 1, callback: "fail" }, catchAll([waitFor({ task: "f" }, 5)])],
}, {
  fail: [{ op: "set_exception", future: "f", exc: { type: "RuntimeError", args: ["failed"] } }],
}));

add("wait_for: timeout None, and the caller is cancelled", scenario({
  main: [spawn("w", "work"), sleep(1), cancel("w", "bye"), catchAll([awTask("w")])],
  work: [waitFor({ coro: "c" }, null)],
  c: [sleep(5)],
}));

add("wait_for: being cancelled with a message", scenario({
  main: [spawn("w", "work"), sleep(1), cancel("w", "stop it"), catchAll([awTask("w")])],
  work: [catchAll([waitFor({ coro: "c" }, 5)]), ret("w")],
  c: [sleep(10)],
}));

add("wait_for: the inner re-raises its own CancelledError with a message", scenario({
  main: [catchAll([waitFor({ coro: "c" }, 2)])],
  c: [attempt([sleep(10)], [on("CancelledError", [raise("CancelledError", "inner msg")])])],
}));

add("wait_for: cancelled twice while the inner cleans up slowly", scenario({
  main: [spawn("w", "work"), sleep(1), cancel("w"), sleep(1), cancel("w"), catchAll([awTask("w")]), inspect("w"), sleep(10), log("end")],
  work: [waitFor({ coro: "c" }, 5)],
  c: [attempt([sleep(10)], [on("CancelledError", [sleep(3), log("c cleaned")], true)])],
}));

add("wait_for: timeout 0 on a shield: only the outer is cancelled", scenario({
  main: [spawn("t", "c"), catchAll([waitFor({ shield: { task: "t" } }, 0)]), inspect("t"), awTask("t")],
  c: [sleep(2), ret("inner")],
}));

add("wait_for: a timeout outside expires, the inner swallows the cancellation", scenario({
  main: [catchAll([tmo(2, [waitFor({ coro: "c" }, 10), log("block goes on")], "t")]), look("t"), log("after")],
  c: [attempt([sleep(10)], [on("CancelledError", [log("c swallows")])]), ret("c value")],
}));

add("wait_for of wait()", scenario({
  main: [catchAll([waitFor({ wait: [{ coro: "a" }, { coro: "b" }], return_when: "FIRST_COMPLETED" }, 3)]), sleep(5)],
  a: [sleep(1), ret("a")],
  b: [sleep(5), ret("b")],
}));

add("wait_for of a sleep with a result", scenario({
  main: [waitFor({ sleep: 2, result: "r" }, 3), catchAll([waitFor({ sleep: 4, result: "r" }, 3)])],
}));

// ---------------------------------------------------------------- shield()

add("shield: the outer is cancelled, the inner runs on", scenario({
  main: [spawn("t", "c"), spawn("w", "work"), sleep(1), cancel("w"), catchAll([awTask("w")]), inspect("t"), awTask("t")],
  work: [shield({ task: "t" }), log("never")],
  c: [sleep(4), log("inner done"), ret("inner")],
}));

add("shield: the inner is cancelled, so is the outer", scenario({
  main: [spawn("t", "c"), spawn("k", "killer"), catchAll([shield({ task: "t" })]), inspect("t")],
  c: [sleep(4), ret("inner")],
  killer: [sleep(1), cancel("t", "msg")],
}));

add("shield: the inner raises", scenario({
  main: [catchAll([shield({ coro: "c" })]), log("after")],
  c: [sleep(1), raise("ValueError", "inner failed")],
}));

add("shield: a coroutine becomes a task", scenario({
  main: [shield({ coro: "c" }), { op: "all_tasks" }],
  c: [sleep(1), ret("from coro")],
}));

add("shield: an inner already done is returned as it is", scenario({
  main: [spawn("t", "c"), sleep(1), shield({ task: "t" }), log("after")],
  c: [ret("early")],
}));

add("shield: an inner that already failed", scenario({
  main: [spawn("t", "c"), sleep(1), catchAll([shield({ task: "t" })])],
  c: [raise("KeyError", "gone")],
}));

add("shield: a future resolved later", scenario({
  main: [{ op: "create_future", future: "f" }, { op: "call_later", delay: 2, callback: "resolve" }, shield({ task: "f" }), inspect("f")],
}, {
  resolve: [{ op: "set_result", future: "f", value: 3 }],
}));

add("shield: the outer is cancelled, then the inner fails", scenario({
  main: [spawn("t", "c"), spawn("w", "work"), sleep(1), cancel("w"), catchAll([awTask("w")]), sleep(5), inspect("t"), catchAll([awTask("t")])],
  work: [shield({ task: "t" })],
  c: [sleep(3), raise("ValueError", "late failure")],
}));

add("shield: the outer is cancelled, then the inner is cancelled", scenario({
  main: [spawn("t", "c"), spawn("w", "work"), sleep(1), cancel("w"), catchAll([awTask("w")]), cancel("t"), catchAll([awTask("t")])],
  work: [shield({ task: "t" })],
  c: [sleep(3)],
}));

add("shield: the awaiting task swallows the cancellation and awaits the inner again", scenario({
  main: [spawn("t", "c"), spawn("w", "work"), sleep(1), cancel("w"), awTask("w")],
  work: [catchAll([shield({ task: "t" })]), awTask("t")],
  c: [sleep(3), ret("inner value")],
}));

add("shield: two shields of one task", scenario({
  main: [spawn("t", "c"), spawn("w1", "work"), spawn("w2", "work"), sleep(1), cancel("w1"), catchAll([awTask("w1")]), awTask("w2")],
  work: [shield({ task: "t" })],
  c: [sleep(3), ret("shared")],
}));

add("shield inside a timeout inside wait_for", scenario({
  main: [spawn("t", "c"), catchAll([waitFor({ coro: "outer" }, 10)]), awTask("t")],
  outer: [tmo(2, [shield({ task: "t" })], "x")],
  c: [sleep(4), ret("inner")],
}));

add("shield of a gather, the outer cancelled", scenario({
  main: [spawn("w", "work"), sleep(1), cancel("w"), catchAll([awTask("w")]), sleep(5), log("end")],
  work: [shield({ gather: [{ coro: "a" }, { coro: "b" }] })],
  a: [sleep(2), log("a done"), ret("a")],
  b: [sleep(3), log("b done"), ret("b")],
}));

add("shield: cancelling the outer from a callback, then inspecting the inner", scenario({
  main: [{ op: "create_future", future: "f" }, spawn("w", "work"), sleep(1), cancel("w"), catchAll([awTask("w")]), inspect("f"), { op: "set_result", future: "f", value: 1 }, sleep(0), awTask("f")],
  work: [shield({ task: "f" })],
}));

// ---------------------------------------------------------------- with TaskGroup

/** A TaskGroup child that logs when it is cancelled. */
const patient = (label: string): Step[] => [attempt([sleep(10)], [on("CancelledError", [log(`${label} cancelled`)], true)])];
const groupTask = (group: string, task: string, coro: string): Step => ({ op: "create_task", group, task, coro });

add("timeout expires around a TaskGroup: children cancelled, TimeoutError", scenario({
  main: [
    catchAll([tmo(2, [{ op: "taskgroup", group: "g", body: [groupTask("g", "a", "a"), groupTask("g", "b", "b"), sleep(10)] }], "t")]),
    inspect("a"),
    inspect("b"),
    look("t"),
  ],
  a: patient("a"),
  b: patient("b"),
}));

add("a timeout inside a TaskGroup child", scenario({
  main: [catchAll([{ op: "taskgroup", group: "g", body: [groupTask("g", "a", "a"), groupTask("g", "b", "b")] }])],
  a: [tmo(1, [sleep(5)], "t")],
  b: patient("b"),
}));

/**
 * A TaskGroup cancels its children in the order of its set, which follows
 * their hashes (creation numbers) modulo the table size (8 for up to four
 * children). The futures and tasks wait_for and shield make take numbers too
 * (3.11's wait_for: a waiter future and a task; shield: an outer future), so
 * `extra` scenario futures are added to land the children across a multiple
 * of 8, where the set order is no longer the creation order: with 1 or 2
 * extra on 3.11, with 6 on 3.12+.
 */
for (const extra of [1, 2, 6]) {
  add(`hashes taken by wait_for and shield show in a TaskGroup's cancel order (${extra} extra)`, scenario({
    main: [
      waitFor({ coro: "quick" }, 5),
      catchAll([waitFor({ coro: "slow" }, 1)]),
      shield({ coro: "quick" }),
      ...Array.from({ length: extra }, (_, i): Step => ({ op: "create_future", future: `f${i}` })),
      catchAll([{
        op: "taskgroup", group: "g", body: [
          groupTask("g", "t0", "fail"), groupTask("g", "t1", "p1"), groupTask("g", "t2", "p2"), groupTask("g", "t3", "p3"),
        ],
      }]),
    ],
    quick: [sleep(1), ret("q")],
    slow: [sleep(5)],
    p1: patient("p1"), p2: patient("p2"), p3: patient("p3"),
    fail: [sleep(1), raise("ValueError", "boom")],
  }));
}

// ---------------------------------------------------------------- running them



const targets: Array<{ version: PythonVersion; python: string }> = [
  { version: "3.11", python: "python3" },
  ...(["3.12", "3.13"] as const)
    .map((v) => ({ version: v, python: findCPython(v).path }))
    .filter((t) => t.python !== ""),
];

it("has distinct scenario names", () => {
  expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
});

describe.each(targets)("timeouts, wait_for, shield on CPython $version ($python) vs reference@$version", ({ version, python }) => {
  let run: DriverRun;

  beforeAll(() => {
    run = runOnDriver(python, cases.map((c) => c.scenario));
  });

  it("runs on the expected Python version", () => {
    expect(run.hello.version).toBe(version);
  });

  cases.forEach((c, id) => {
    it(c.name, () => {
      expect(run.errors.get(id), "the driver ran the scenario").toBeUndefined();
      const cpython = run.traces.get(id);
      expect(cpython, "the driver returned a trace").toBeDefined();
      const reference = runScenario(makeReference(version), c.scenario);
      expect(canonicalJson(reference), describeDifference(reference, cpython!)).toBe(canonicalJson(cpython));
    });
  });
});

// ---------------------------------------------------------------- what scenarios cannot reach

describe("Timeout outside the scenario language", () => {
  /** Run fn as the body of a task on a fresh reference loop. */
  function inTask(fn: () => Generator<unknown, unknown, unknown>): unknown {
    const loop = new EventLoop(profileFor("3.13"), taskFactory);
    return loop.run_until_complete(loop.create_task(fn()));
  }

  it("reschedule before entering raises RuntimeError('Timeout has not been entered')", () => {
    const out = inTask(function* () {
      yield null;
      const cm = timeout(5);
      try {
        cm.reschedule(3);
      } catch (e) {
        return (e as PyBaseException).args[0];
      }
      return "no error";
    });
    expect(out).toBe("Timeout has not been entered");
  });

  it("entering twice raises RuntimeError('Timeout has already been entered')", () => {
    const out = inTask(function* () {
      const cm = timeout_at(null);
      yield* cm.__aenter__();
      yield* cm.__aexit__(null);
      try {
        yield* cm.__aenter__();
      } catch (e) {
        return (e as PyBaseException).args[0];
      }
      return "no error";
    });
    expect(out).toBe("Timeout has already been entered");
  });

  it("when() is the virtual loop time plus the delay", () => {
    const out = inTask(function* () {
      yield null;
      return timeout(2.5).when();
    });
    expect(out).toBe(2.5);
  });
});
