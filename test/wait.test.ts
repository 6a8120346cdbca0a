/**
 * asyncio.wait and asyncio.as_completed: hand-written scenarios, each run on
 * the reference (with the version's profile) and on CPython through the
 * driver; the traces must be equal, event for event.
 *
 * What they cover: every return_when, timeouts that fire and that do not,
 * members already done (several at once: their order is CPython's set order,
 * which follows the pinned hashes, i.e. creation numbers), cancelled and
 * failed members, the waiting task cancelled while it waits, duplicates,
 * wait's refusals (coroutines, an empty input), and as_completed's plain and
 * (3.13) async iteration. Several scenarios create futures *after* a wait or
 * an as_completed to check that those made exactly as many futures as
 * CPython (each takes a creation number, which later set orders expose).
 *
 * Each interpreter runs every scenario in one driver process.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { findCPython } from "../harness/targets";
import { DriverRun, runOnDriver } from "./helpers/driver";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import { canonicalJson } from "../spec/scenario/trace";
import type { Awaitable, CallbackDef, ExceptionSpec, ReturnWhen, Scalar, Scenario, Step } from "../spec/scenario/types";
import { describeDifference } from "./helpers/difference";

// ---------------------------------------------------------------- a small scenario vocabulary

const on = (ref: string): Awaitable => ({ task: ref });
const log = (label: string): Step => ({ op: "log", label });
const sleep = (ticks: number): Step => ({ op: "sleep", ticks });
const ret = (value: Scalar): Step => ({ op: "return", value });
const exc = (type: ExceptionSpec["type"], ...args: Scalar[]): ExceptionSpec => ({ type, args });
const raise = (type: ExceptionSpec["type"], ...args: Scalar[]): Step => ({ op: "raise", exc: exc(type, ...args) });
const task = (coro: string, ref: string): Step => ({ op: "create_task", coro, task: ref });
const future = (ref: string): Step => ({ op: "create_future", future: ref });
const futures = (...refs: string[]): Step[] => refs.map(future);
const setResult = (ref: string, value: Scalar = ref): Step => ({ op: "set_result", future: ref, value });
const setException = (ref: string, type: ExceptionSpec["type"], ...args: Scalar[]): Step => ({
  op: "set_exception", future: ref, exc: exc(type, ...args),
});
const cancel = (ref: string, msg?: string): Step => (msg === undefined ? { op: "cancel", task: ref } : { op: "cancel", task: ref, msg });
const inspect = (ref: string): Step => ({ op: "inspect", task: ref });
const awaitOn = (a: Awaitable): Step => ({ op: "await", on: a });
const callLater = (delay: number, callback: string): Step => ({ op: "call_later", delay, callback });
const addDoneCallback = (ref: string, callback: string): Step => ({ op: "add_done_callback", task: ref, callback });

interface WaitOptions { timeout?: number | null; return_when?: ReturnWhen }
const waitOn = (refs: Array<string | Awaitable>, o: WaitOptions = {}): Awaitable => ({
  wait: refs.map((r) => (typeof r === "string" ? on(r) : r)), ...o,
});
const wait = (refs: Array<string | Awaitable>, o: WaitOptions = {}): Step => awaitOn(waitOn(refs, o));

interface AsCompletedOptions { timeout?: number | null; mode?: "iter" | "async" }
const asCompleted = (refs: Array<string | Awaitable>, o: AsCompletedOptions = {}): Step => ({
  op: "as_completed", on: refs.map((r) => (typeof r === "string" ? on(r) : r)), ...o,
});

/** try: body except <types>: (record it and go on) */
const tryExcept = (body: Step[], ...types: Array<"Exception" | "BaseException" | ExceptionSpec["type"]>): Step => ({
  op: "try", body, except: types.map((type) => ({ type })),
});

/** Coroutines every scenario may use: jN sleeps N and returns "jN"; failN raises after N; now returns at once. */
const JOBS = [
  ...[1, 2, 3, 4, 5, 10].map((n) => ({ name: `j${n}`, body: [sleep(n), ret(`j${n}`)] })),
  { name: "fail1", body: [sleep(1), raise("ValueError", "fail1")] },
  { name: "fail2", body: [sleep(2), raise("CustomError", "fail2")] },
  { name: "fail3", body: [sleep(3), raise("KeyError", "fail3")] },
  { name: "now", body: [ret("now")] },
  { name: "nowfail", body: [raise("ValueError", "nowfail")] },
  // Catches its own cancellation once, then goes on for a while.
  { name: "stubborn", body: [tryExcept([sleep(5)], "CancelledError"), sleep(2), ret("stubborn")] },
];

interface Case {
  name: string;
  /** Versions to run it on (default: all). */
  versions?: PythonVersion[];
  scenario: Scenario;
  /**
   * The traces differ because of a defect outside the reference (in the
   * interpreter or the driver): run with it.fails, so that it turns red once
   * the defect is fixed.
   */
  harnessDefect?: string;
}

function scenario(main: Step[], more: Array<{ name: string; body: Step[] }> = [], callbacks: CallbackDef[] = []): Scenario {
  return { aiospec: 1, coroutines: [{ name: "main", body: main }, ...more, ...JOBS], callbacks };
}

/** The same scenario with asyncio.eager_task_factory installed (3.12+). */
const eager = (s: Scenario): Scenario => ({ ...s, eager: true });

const cases: Case[] = [];
function add(name: string, s: Scenario, versions?: PythonVersion[], harnessDefect?: string): void {
  cases.push({ name, scenario: s, versions, harnessDefect });
}

// ---------------------------------------------------------------- asyncio.wait

add("wait ALL_COMPLETED: two tasks", scenario([task("j1", "a"), task("j3", "b"), wait(["a", "b"]), log("after")]));

add("wait FIRST_COMPLETED returns at the first completion", scenario([
  task("j3", "a"), task("j1", "b"), task("j2", "c"),
  wait(["a", "b", "c"], { return_when: "FIRST_COMPLETED" }),
  inspect("a"), inspect("c"), wait(["a", "c"], { return_when: "FIRST_COMPLETED" }), awaitOn(on("a")),
]));

add("wait FIRST_EXCEPTION returns at the first failure", scenario([
  task("j1", "a"), task("fail2", "b"), task("j5", "c"),
  wait(["a", "b", "c"], { return_when: "FIRST_EXCEPTION" }), inspect("c"),
]));

add("wait FIRST_EXCEPTION without failures waits for all", scenario([
  task("j1", "a"), task("j3", "b"), wait(["a", "b"], { return_when: "FIRST_EXCEPTION" }),
]));

add("wait FIRST_EXCEPTION: a cancellation does not count as a failure", scenario([
  task("j5", "a"), task("fail3", "b"), task("j10", "c"), future("f"),
  task("canceller", "k"),
  wait(["a", "b", "c", "f"], { return_when: "FIRST_EXCEPTION" }),
  inspect("a"), inspect("f"), inspect("c"),
], [{ name: "canceller", body: [sleep(1), cancel("a"), sleep(1), cancel("f")] }]));

add("wait ALL_COMPLETED with failures does not raise", scenario([
  task("fail1", "a"), task("fail2", "b"), task("j3", "c"), wait(["a", "b", "c"]),
]));

add("wait with a timeout that fires", scenario([
  task("j1", "a"), task("j5", "b"), wait(["a", "b"], { timeout: 2 }), inspect("b"), log("after wait"),
  awaitOn(on("b")),
]));

add("wait with a timeout that does not fire", scenario([
  task("j1", "a"), task("j2", "b"), wait(["a", "b"], { timeout: 10 }), log("after wait"), sleep(20), log("end"),
]));

add("wait FIRST_COMPLETED with a timeout: the first completion wins", scenario([
  task("j3", "a"), task("j5", "b"), wait(["a", "b"], { timeout: 4, return_when: "FIRST_COMPLETED" }),
  wait(["b"], { timeout: 1, return_when: "FIRST_COMPLETED" }),
  wait(["b"], { timeout: 0 }), wait(["b"], { timeout: 1.5 }),
]));

add("wait with a timeout of zero and a negative one", scenario([
  task("j1", "a"), wait(["a"], { timeout: 0 }), wait(["a"], { timeout: -1 }), inspect("a"),
]));

add("wait: the timeout and a completion due at the same moment", scenario([
  future("f"), callLater(2, "resolve_f"), wait(["f"], { timeout: 2 }),
  future("g"), wait(["g"], { timeout: 2 }),
], [], [{ name: "resolve_f", body: [setResult("f", 1)] }]));

add("wait on members already done (several at once)", scenario([
  ...futures("f1", "f2", "f3"), task("now", "a"), task("nowfail", "b"), sleep(0),
  setResult("f3"), setException("f1", "ValueError", "f1"), setResult("f2"),
  wait(["f2", "a", "f3", "b", "f1"]), log("all done"),
  wait(["b", "f1"], { return_when: "FIRST_EXCEPTION" }),
  wait(["f3", "a"], { return_when: "FIRST_COMPLETED" }),
]));

add("wait FIRST_COMPLETED with some members already done", scenario([
  ...futures("f1", "f2", "f3"), setResult("f2"), task("j1", "a"),
  wait(["f1", "a", "f2", "f3"], { return_when: "FIRST_COMPLETED" }),
  wait(["f1", "a", "f3"], { return_when: "FIRST_COMPLETED" }),
]));

add("wait FIRST_EXCEPTION with a member that failed already", scenario([
  ...futures("f1", "f2"), setException("f2", "KeyError", "early"), task("j2", "a"),
  wait(["f1", "a", "f2"], { return_when: "FIRST_EXCEPTION" }), inspect("a"),
]));

add("wait with a cancelled member", scenario([
  ...futures("f1", "f2"), task("j2", "a"), cancel("f1", "stop"), task("canceller", "k"),
  wait(["f1", "f2", "a"]), inspect("f2"), inspect("a"),
], [{ name: "canceller", body: [sleep(1), cancel("a"), cancel("f2")] }]));

add("wait on a task that swallows its cancellation", scenario([
  task("stubborn", "s"), task("canceller", "k"), wait(["s"], { timeout: 3 }), inspect("s"), wait(["s"]),
], [{ name: "canceller", body: [sleep(1), cancel("s")] }]));

add("wait with a coroutine raises TypeError (the coroutine never runs)", scenario([
  tryExcept([wait([{ coro: "j1" }])], "Exception"),
  task("j1", "a"), tryExcept([wait(["a", { coro: "now" }])], "Exception"),
  tryExcept([wait([{ sleep: 1 }])], "Exception"),
  tryExcept([wait([{ wait: [on("a")] }])], "Exception"),
  log("after"), inspect("a"),
]));

add("wait on nothing raises ValueError", scenario([
  tryExcept([wait([])], "ValueError"), log("after"),
]));

add("wait with duplicates counts each member once", scenario([
  task("j1", "a"), task("j2", "b"), future("f"),
  wait(["a", "a", "b", "a"]), setResult("f"), wait(["f", "f", "f"]), wait(["f", "b", "f"], { return_when: "FIRST_COMPLETED" }),
]));

add("the waiting task is cancelled while it waits", scenario([
  task("j2", "a"), task("j5", "b"), task("waiter", "w"), sleep(1), cancel("w", "stop waiting"), sleep(0),
  inspect("w"), inspect("a"), awaitOn(on("b")), inspect("w"), sleep(1),
], [{ name: "waiter", body: [wait(["a", "b"], { timeout: 3 }), log("not reached")] }]));

add("the waiting task is cancelled just as a member completes", scenario([
  future("f"), task("waiter", "w"), sleep(0), setResult("f", 7), cancel("w"), sleep(0), inspect("w"), sleep(0), inspect("w"),
], [{ name: "waiter", body: [tryExcept([wait(["f"])], "CancelledError"), log("waiter goes on"), wait(["f"])] }]));

add("the waiting task catches its cancellation and waits again", scenario([
  task("j3", "a"), task("waiter", "w"), sleep(1), cancel("w"), awaitOn(on("w")),
], [{ name: "waiter", body: [tryExcept([wait(["a"])], "CancelledError"), wait(["a"]), ret("waited")] }]));

add("futures resolved by other tasks and callbacks while waiting", scenario([
  ...futures("f1", "f2", "f3"), task("resolver", "r"), callLater(1.5, "cb"),
  wait(["f1", "f2", "f3"], { return_when: "FIRST_EXCEPTION" }), inspect("f2"), wait(["f2", "f3"]),
], [{ name: "resolver", body: [sleep(1), setResult("f1", 1), sleep(2), setException("f2", "CustomError", "late")] }],
[{ name: "cb", body: [setException("f3", "ValueError", "from a callback")] }]));

add("a member's own callbacks and wait's completion callback interleave", scenario([
  future("f"), addDoneCallback("f", "before"), task("setter", "s"),
  wait(["f"]), log("wait returned"), addDoneCallback("f", "after"), sleep(0),
], [{ name: "setter", body: [sleep(1), setResult("f", 1), log("set")] }],
[{ name: "before", body: [log("before callback")] }, { name: "after", body: [log("after callback")] }]));

add("wait inside gather", scenario([
  task("j1", "a"), task("j2", "b"),
  awaitOn({ gather: [waitOn(["a"]), waitOn(["b"], { return_when: "FIRST_COMPLETED" })] }),
  task("j1", "c"), awaitOn({ gather: [waitOn(["c"]), { sleep: 2, result: "s" }] }),
]));

add("a gather inside wait", scenario([
  task("j1", "c"), wait([{ gather: [on("c"), { sleep: 2, result: "s" }] }]),
  task("j1", "d"), wait([{ gather: [on("d")] }, "d"], { return_when: "FIRST_COMPLETED" }),
]));

add("a task waiting on itself: only a timeout ends it", scenario([
  task("selfwait", "w"), awaitOn(on("w")), task("j1", "a"), wait(["a"], { return_when: "FIRST_COMPLETED" }),
], [{ name: "selfwait", body: [wait(["w"], { timeout: 1 }), wait(["w"], { timeout: 1, return_when: "FIRST_COMPLETED" }), ret("gave up")] }]));

add("wait on a future nobody resolves deadlocks", scenario([
  future("f"), task("j1", "a"), wait(["f", "a"]), log("not reached"),
]));

add("wait, eager tasks: members that finish at creation are already done", eager(scenario([
  task("now", "a"), task("j1", "b"), task("nowfail", "c"), inspect("a"),
  wait(["a", "b", "c"], { return_when: "FIRST_COMPLETED" }), wait(["b", "c"], { return_when: "FIRST_EXCEPTION" }),
  task("waiter", "w"), inspect("w"), wait(["w", "b"]),
], [{ name: "waiter", body: [wait(["b"]), ret("waited")] }])), ["3.12", "3.13"]);

add("two waits on the same tasks at once", scenario([
  task("j1", "a"), task("j3", "b"), task("waiter", "w"),
  wait(["a", "b"], { return_when: "FIRST_COMPLETED" }), awaitOn(on("w")),
], [{ name: "waiter", body: [wait(["b", "a"]), ret("second")] }]));

add("wait makes one future (a creation number) per call: later set orders show it", scenario([
  task("j1", "a"), wait(["a"]), wait(["a"]),
  ...futures("p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10"),
  setResult("p9"), setResult("p3"), setResult("p10"), setResult("p1"),
  asCompleted(["p10", "p9", "p3", "p1"]),
]));

add("wait on many members, most already done", scenario([
  ...futures("p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10", "p11", "p12"),
  setResult("p11"), setResult("p2"), setException("p7", "ValueError", "p7"), setResult("p12"), setResult("p5"),
  task("resolver", "r"),
  wait(["p12", "p11", "p7", "p5", "p2", "p3", "p9"], { return_when: "FIRST_EXCEPTION" }),
  wait(["p12", "p11", "p5", "p2", "p3", "p9"], { timeout: 0.5 }),
  wait(["p12", "p11", "p5", "p2", "p3", "p9"]),
], [{ name: "resolver", body: [sleep(1), setResult("p9"), setResult("p3")] }]));

// ---------------------------------------------------------------- asyncio.as_completed, plain iteration

add("as_completed gives results in completion order", scenario([
  task("j3", "a"), task("j1", "b"), task("j2", "c"), asCompleted(["a", "b", "c"]), log("end"),
]));

add("as_completed with members already done: set order, not argument or completion order", scenario([
  ...futures("f1", "f2", "f3"), setResult("f3"), setResult("f1"), setResult("f2"),
  asCompleted(["f2", "f3", "f1"]),
]));

add("as_completed: set order with colliding hashes (the set is built twice)", scenario([
  ...futures("p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10"),
  setResult("p10"), setResult("p2"), setResult("p7"), setResult("p9"),
  asCompleted(["p10", "p2", "p7", "p9"]),
]));

add("as_completed: set order of a larger set (the table grows)", scenario([
  ...futures(...Array.from({ length: 40 }, (_, i) => `p${i + 1}`)),
  ...[34, 2, 11, 39, 6, 18, 26, 31].map((i) => setResult(`p${i}`, i)),
  asCompleted(["p34", "p2", "p11", "p39", "p6", "p18", "p26", "p31"]),
]));

add("as_completed with some members done and some pending", scenario([
  ...futures("f1", "f2"), task("j2", "a"), task("j1", "b"), setResult("f2"), setResult("f1"),
  asCompleted(["a", "f1", "b", "f2"]),
]));

add("as_completed: an exception ends the loop (the rest keep running)", scenario([
  task("j1", "a"), task("fail2", "b"), task("j3", "c"),
  tryExcept([asCompleted(["a", "b", "c"])], "Exception"), inspect("c"), sleep(5), inspect("c"),
]));

add("as_completed: a cancelled member raises CancelledError", scenario([
  future("f"), task("j2", "a"), task("canceller", "k"),
  tryExcept([asCompleted(["a", "f"])], "CancelledError"), log("after"), inspect("a"),
], [{ name: "canceller", body: [sleep(1), cancel("f", "gone")] }]));

add("as_completed with a timeout that fires mid-way", scenario([
  task("j1", "a"), task("j2", "b"), task("j5", "c"), task("j10", "d"),
  tryExcept([asCompleted(["a", "b", "c", "d"], { timeout: 2.5 })], "TimeoutError"),
  inspect("c"), log("after"), awaitOn(on("c")),
]));

add("as_completed with a timeout that does not fire", scenario([
  task("j1", "a"), task("j2", "b"), asCompleted(["a", "b"], { timeout: 10 }), log("after"), sleep(20), log("end"),
]));

add("as_completed: timeout and completions due at the same moment", scenario([
  task("j2", "a"), task("j2", "b"), task("j3", "c"),
  tryExcept([asCompleted(["a", "b", "c"], { timeout: 2 })], "TimeoutError"),
  future("f"), callLater(1, "resolve_f"), tryExcept([asCompleted(["f"], { timeout: 1 })], "TimeoutError"),
], [], [{ name: "resolve_f", body: [setResult("f", 1)] }]));

add("as_completed: a timeout of zero", scenario([
  task("j1", "a"), tryExcept([asCompleted(["a"], { timeout: 0 })], "TimeoutError"),
  future("f"), setResult("f"), tryExcept([asCompleted(["f"], { timeout: 0 })], "TimeoutError"),
]));

add("as_completed with duplicates", scenario([
  task("j2", "a"), task("j1", "b"), asCompleted(["a", "b", "a", "a"]),
]));

add("as_completed of nothing", scenario([asCompleted([]), log("after")]));

add("as_completed wraps a single coroutine in a task", scenario([
  asCompleted([{ coro: "j1" }]), asCompleted([{ sleep: 2, result: "slept" }]), log("after"),
]));

add("as_completed: the iterating task is cancelled while it waits", scenario([
  task("j2", "a"), task("j5", "b"), task("consumer", "w"), sleep(3), cancel("w"), sleep(0),
  inspect("w"), inspect("b"), awaitOn(on("b")),
], [{ name: "consumer", body: [asCompleted(["a", "b"], { timeout: 4 }), log("not reached")] }]));

add("as_completed: cancelled after a completion woke it, before it resumed", scenario([
  ...futures("f1", "f2"), task("consumer", "w"), sleep(0),
  setResult("f2", 2), sleep(0), cancel("w"), sleep(0), sleep(0), inspect("w"),
  ...futures("q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8"),
  setResult("q8"), setResult("q1"), setResult("q5"), setResult("q4"), setResult("f1", 1),
  asCompleted(["q1", "q4", "q5", "q8", "f1"]),
], [{ name: "consumer", body: [asCompleted(["f1", "f2"])] }]));

add("as_completed: completions in one step come in the order they were set", scenario([
  ...futures("f1", "f2", "f3"), task("resolver", "r"), asCompleted(["f1", "f2", "f3"]),
], [{ name: "resolver", body: [sleep(1), setResult("f3"), setException("f1", "ValueError", "f1"), setResult("f2")] }]));

add("as_completed: the queue's getters take creation numbers (later set orders show it)", scenario([
  task("j1", "a"), task("j3", "b"), future("f"), setResult("f"), asCompleted(["a", "b", "f"]),
  ...futures("p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"),
  setResult("p9"), setResult("p2"), setResult("p6"), setResult("p5"), setResult("p1"),
  asCompleted(["p9", "p6", "p5", "p2", "p1"]),
  wait(["p9", "p6"]),
  ...futures("q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8"),
  ...["q8", "q1", "q3", "q7"].map((q) => setResult(q)),
  asCompleted(["q1", "q3", "q7", "q8"]),
]));

add("as_completed: two consumers of the same tasks", scenario([
  task("j1", "a"), task("j2", "b"), task("consumer", "w"), asCompleted(["b", "a"]), awaitOn(on("w")),
], [{ name: "consumer", body: [asCompleted(["a", "b"]), ret("consumed")] }]));

add("as_completed: a task iterating over itself gets TimeoutError", scenario([
  task("selfiter", "w"), awaitOn(on("w")),
], [{ name: "selfiter", body: [tryExcept([asCompleted(["w"], { timeout: 1 })], "TimeoutError"), ret("timed out")] }]));

add("as_completed on a future nobody resolves deadlocks", scenario([
  future("f"), future("g"), setResult("g"), asCompleted(["f", "g"]), log("not reached"),
]));

add("as_completed, eager tasks: members that finish at creation come first", eager(scenario([
  task("j2", "a"), task("now", "b"), task("j1", "c"), task("nowfail", "d"),
  tryExcept([asCompleted(["a", "b", "c", "d"])], "ValueError"), asCompleted(["a", "c"]),
  asCompleted([{ coro: "now" }]), asCompleted([{ sleep: 1, result: "slept" }]),
])), ["3.12", "3.13"]);

add("as_completed: a member's callback and the completion interleave", scenario([
  future("f"), addDoneCallback("f", "cb"), task("setter", "s"), asCompleted(["f"]), log("after"),
], [{ name: "setter", body: [sleep(1), setResult("f", 1), log("set")] }], [{ name: "cb", body: [log("member callback")] }]));

// ---------------------------------------------------------------- as_completed, async iteration (3.13)

const V313: PythonVersion[] = ["3.13"];

add("async as_completed yields the tasks themselves, in completion order", scenario([
  task("j3", "a"), task("j1", "b"), task("j2", "c"), asCompleted(["a", "b", "c"], { mode: "async" }), log("end"),
]), V313);

add("async as_completed with members already done: set order", scenario([
  ...futures("p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10"),
  setResult("p10"), setResult("p2"), setResult("p7"), setResult("p9"), task("j1", "a"),
  asCompleted(["a", "p10", "p2", "p7", "p9"], { mode: "async" }),
]), V313);

add("async as_completed: a failed member raises when awaited", scenario([
  task("j1", "a"), task("fail2", "b"), task("j3", "c"),
  tryExcept([asCompleted(["a", "b", "c"], { mode: "async" })], "Exception"), inspect("c"),
]), V313);

add("async as_completed with a timeout that fires mid-way", scenario([
  task("j1", "a"), task("j5", "b"), future("f"), setResult("f", "done"),
  tryExcept([asCompleted(["a", "b", "f"], { mode: "async", timeout: 2 })], "TimeoutError"), inspect("b"),
]), V313);

add("async as_completed with duplicates and nothing", scenario([
  task("j2", "a"), task("j1", "b"), asCompleted(["a", "b", "b"], { mode: "async" }), asCompleted([], { mode: "async" }),
  log("end"),
]), V313);

add("async as_completed: the iterating task is cancelled while it waits", scenario([
  task("j2", "a"), task("j5", "b"), task("consumer", "w"), sleep(3), cancel("w", "enough"), sleep(0),
  inspect("w"), awaitOn(on("b")),
  ...futures("q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8"),
  ...["q8", "q2", "q6", "q5"].map((q) => setResult(q)),
  asCompleted(["q2", "q5", "q6", "q8"], { mode: "async" }),
], [{ name: "consumer", body: [asCompleted(["a", "b"], { mode: "async" }), log("not reached")] }]), V313);

add("async as_completed, eager tasks", eager(scenario([
  task("j2", "a"), task("now", "b"), task("j1", "c"), asCompleted(["a", "b", "c"], { mode: "async" }),
  asCompleted([{ coro: "now" }], { mode: "async" }),
])), V313);

add("async as_completed: a cancelled member", scenario([
  future("f"), task("j2", "a"), task("canceller", "k"),
  tryExcept([asCompleted(["a", "f"], { mode: "async" })], "CancelledError"), inspect("a"),
], [{ name: "canceller", body: [sleep(1), cancel("f")] }]), V313);

// ---------------------------------------------------------------- running them



const targets: Array<{ version: PythonVersion; python: string }> = [
  { version: "3.11", python: "python3" },
  ...(["3.12", "3.13"] as const)
    .map((v) => ({ version: v, python: findCPython(v).path }))
    .filter((t) => t.python !== ""),
];

it("scenario names are unique", () => {
  expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
});

describe.each(targets)("wait / as_completed on CPython $version vs reference@$version", ({ version, python }) => {
  const selected = cases.filter((c) => c.versions === undefined || c.versions.includes(version));
  let run: DriverRun;

  beforeAll(() => {
    run = runOnDriver(python, selected.map((c) => c.scenario));
  });

  it("runs on the expected Python version", () => {
    expect(run.hello.version).toBe(version);
  });

  selected.forEach((c, id) => {
    (c.harnessDefect !== undefined ? it.fails : it)(c.name, () => {
      expect(run.errors.get(id), "the driver ran the scenario").toBeUndefined();
      const cpython = run.traces.get(id);
      expect(cpython, "the driver returned a trace").toBeDefined();
      const reference = runScenario(makeReference(version), c.scenario);
      expect(canonicalJson(reference), describeDifference(reference, cpython!)).toBe(canonicalJson(cpython));
    });
  });
});

// ---------------------------------------------------------------- what no scenario can express

describe("reference-only checks", () => {
  it("wait refuses an unknown return_when, after the emptiness check", () => {
    const ref = makeReference("3.13");
    const loop = ref.new_event_loop();
    const outcome = (aws: unknown[], rw: string) => {
      const main = loop.create_task((function* () {
        try {
          yield* ref.wait(aws as never, null, rw as ReturnWhen);
          return "returned";
        } catch (e) {
          return `${(e as { type: string }).type}: ${(e as { args: unknown[] }).args[0]}`;
        }
      })());
      loop.run_until_complete(main);
      return main.result();
    };
    expect(outcome([], "BOGUS")).toBe("ValueError: Set of Tasks/Futures is empty.");
    expect(outcome([loop.create_future()], "BOGUS")).toBe("ValueError: Invalid return_when value: BOGUS");
    loop.close();
  });

  it("as_completed is async-iterable from 3.13 on only", () => {
    for (const version of ["3.11", "3.12", "3.13"] as const) {
      const ref = makeReference(version);
      const loop = ref.new_event_loop();
      const main = loop.create_task((function* () {
        return typeof ref.as_completed([], null).__anext__ === "function";
      })());
      loop.run_until_complete(main);
      expect(main.result(), version).toBe(version === "3.13");
      loop.close();
    }
  });
});
