/**
 * asyncio.TaskGroup: hand-written scenarios run on the reference and on
 * CPython (through the driver) for 3.11, 3.12 and 3.13; the traces must be
 * equal, event for event.
 *
 * The scenarios cover the implicit wait at the end of the block, a child's
 * failure cancelling its siblings and the body, several failures in one
 * ExceptionGroup, KeyboardInterrupt / SystemExit (in a child and in the
 * body), the body raising, the parent cancelled from outside (alone, and
 * colliding with a child's failure: what 3.13 changed), nested groups,
 * create_task on a group that is not entered / finished / shutting down,
 * children that finish before the exit or swallow their cancellation, and
 * many children cancelled at once (the order is CPython's set order).
 *
 * Each interpreter runs all scenarios in one driver process (one JSON line each).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { findCPython } from "../harness/targets";
import { DriverRun, runOnDriver } from "./helpers/driver";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import { canonicalJson } from "../spec/scenario/trace";
import type { Trace } from "../spec/scenario/trace";
import type { ExceptClause, ExceptionSpec, RaisableType, Scalar, Scenario, Step } from "../spec/scenario/types";
import { describeDifference } from "./helpers/difference";

// ---- a small vocabulary for writing scenarios

const log = (label: string): Step => ({ op: "log", label });
const sleep = (ticks: number): Step => ({ op: "sleep", ticks });
const ret = (value: Scalar = null): Step => ({ op: "return", value });
const call = (coro: string): Step => ({ op: "call", coro });
const tg = (group: string, ...body: Step[]): Step => ({ op: "taskgroup", group, body });
const newTg = (group: string): Step => ({ op: "new_taskgroup", group });
/** task = group.create_task(coro()) (or asyncio.create_task without a group). */
const spawn = (task: string, coro: string, group?: string, name?: string): Step => ({
  op: "create_task", task, coro, ...(group !== undefined ? { group } : {}), ...(name !== undefined ? { name } : {}),
});
const cancel = (task: string, msg?: string): Step => ({ op: "cancel", task, ...(msg !== undefined ? { msg } : {}) });
const uncancel = (task: string): Step => ({ op: "uncancel", task });
const inspect = (task: string): Step => ({ op: "inspect", task });
const awaitTask = (task: string): Step => ({ op: "await", on: { task } });
const awaitCoro = (coro: string): Step => ({ op: "await", on: { coro } });
const exc = (type: RaisableType, ...args: Scalar[]): ExceptionSpec => ({ type, args });
const raise = (type: RaisableType, ...args: Scalar[]): Step => ({ op: "raise", exc: exc(type, ...args) });
const future = (name: string): Step => ({ op: "create_future", future: name });
const handler = (type: ExceptClause["type"], body: Step[] = [], reraise = false): ExceptClause => ({
  type, body, ...(reraise ? { reraise } : {}),
});
const attempt = (body: Step[], excepts: ExceptClause[], fin?: Step[]): Step => ({
  op: "try", body, except: excepts, ...(fin ? { finally: fin } : {}),
});
/** try: body except CancelledError: log; (re-raise unless told otherwise) */
const onCancel = (label: string, body: Step[], after: Step[] = [], reraise = true): Step =>
  attempt(body, [handler("CancelledError", [log(label), ...after], reraise)]);
/** try: body except BaseException: (caught is recorded) */
const catchAll = (...body: Step[]): Step => attempt(body, [handler("BaseException")]);

function scenario(description: string, coroutines: Record<string, Step[]>): Scenario {
  return {
    aiospec: 1,
    description,
    coroutines: Object.entries(coroutines).map(([name, body]) => ({ name, body })),
  };
}

// Recurring children.
const sleeper = (ticks: number, value: Scalar = null): Step[] => [sleep(ticks), ret(value)];
const failer = (ticks: number, type: RaisableType = "ValueError", msg: Scalar = "boom"): Step[] => [sleep(ticks), raise(type, msg)];
/** Sleeps, logging when cancelled (and re-raising). */
const victim = (name: string, ticks = 10): Step[] => [onCancel(`${name} cancelled`, [sleep(ticks)]), ret(name)];

// ---- the scenarios

const SCENARIOS: Record<string, Scenario> = {
  "implicit wait at exit": scenario("The block's end waits for every child.", {
    main: [
      tg("g", spawn("a", "a", "g"), spawn("b", "b", "g"), log("body done")),
      log("after group"),
      inspect("a"),
      inspect("b"),
    ],
    a: sleeper(1, "A"),
    b: sleeper(3, "B"),
  }),

  "empty group and body only": scenario("A group without children; then one whose body sleeps.", {
    main: [tg("g"), log("empty done"), tg("h", sleep(2), log("body slept")), log("end")],
  }),

  "children finish before exit": scenario("Children done before the body ends: no waiting at exit.", {
    main: [
      tg("g", spawn("a", "quick", "g"), spawn("b", "quick", "g"), spawn("c", "zero", "g"), sleep(3), inspect("a"), log("body end")),
      log("after"),
    ],
    quick: sleeper(1, 1),
    zero: [ret(0)],
  }),

  "body returns inside the group": scenario("return inside async with: the group still waits.", {
    main: [call("inner"), log("after inner")],
    inner: [tg("g", spawn("a", "a", "g"), ret("early")), log("unreached")],
    a: sleeper(2, "A"),
  }),

  "child failure cancels siblings and body": scenario("One child fails: siblings and the body are cancelled; ExceptionGroup.", {
    main: [
      attempt(
        [tg("g", spawn("f", "fail", "g"), spawn("s1", "slow1", "g"), spawn("s2", "slow2", "g"), onCancel("body cancelled", [sleep(10)]), log("unreached"))],
        [handler("ExceptionGroup", [log("caught group")])],
      ),
      inspect("s1"),
      inspect("s2"),
      log("main end"),
    ],
    fail: failer(1),
    slow1: victim("slow1"),
    slow2: victim("slow2"),
  }),

  "several failures in one group": scenario("Three children fail at the same tick, one later while cancelled.", {
    main: [
      catchAll(
        tg(
          "g",
          spawn("a", "fa", "g"),
          spawn("b", "fb", "g"),
          spawn("c", "fc", "g"),
          spawn("d", "late", "g"),
          sleep(5),
        ),
      ),
    ],
    fa: failer(1, "ValueError", "a"),
    fb: failer(1, "KeyError", "b"),
    fc: failer(1, "CustomError", "c"),
    late: [onCancel("late cancelled", [sleep(10)], [raise("RuntimeError", "in cleanup")], false)],
  }),

  "failure while exiting": scenario("The body is done; a child fails while __aexit__ waits.", {
    main: [
      catchAll(tg("g", spawn("a", "slowfail", "g"), spawn("b", "victim", "g"), log("body end"))),
      inspect("b"),
    ],
    slowfail: failer(2),
    victim: victim("b"),
  }),

  "body raises": scenario("The body raises: children cancelled, the body's error is last in the group.", {
    main: [
      catchAll(tg("g", spawn("a", "a", "g"), spawn("b", "b", "g"), sleep(1), raise("RuntimeError", "body"))),
    ],
    a: victim("a"),
    b: [onCancel("b cancelled", [sleep(10)], [raise("ValueError", "b cleanup")], false)],
  }),

  "body raises with no children": scenario("The body raises; no children: the error is grouped anyway.", {
    main: [catchAll(tg("g", raise("KeyError", "k"))), catchAll(tg("h", sleep(1), raise("CustomError", "x")))],
  }),

  "body raises CancelledError": scenario("The body raises CancelledError itself: it propagates, children cancelled.", {
    main: [catchAll(tg("g", spawn("a", "a", "g"), sleep(1), raise("CancelledError", "own"))), log("main goes on")],
    a: victim("a"),
  }),

  "body raises CancelledError while a child fails": scenario("CancelledError from the body and a failing child.", {
    main: [catchAll(tg("g", spawn("a", "fail", "g"), spawn("b", "b", "g"), sleep(1), raise("CancelledError"))), log("main goes on")],
    fail: failer(1),
    b: victim("b"),
  }),

  "body catches its cancellation": scenario("The body swallows the group's cancellation and goes on.", {
    main: [
      catchAll(
        tg(
          "g",
          spawn("f", "fail", "g"),
          spawn("v", "v", "g"),
          onCancel("body cancelled", [sleep(5)], [sleep(1), log("body goes on")], false),
          log("body end"),
        ),
      ),
      inspect("v"),
      sleep(1),
      log("main end"),
    ],
    fail: failer(1),
    v: victim("v"),
  }),

  "body awaits the failing child": scenario("The body awaits a child that fails: the group's cancel wins over the error.", {
    main: [catchAll(tg("g", spawn("f", "fail", "g"), spawn("v", "v", "g"), awaitTask("f"), log("unreached")))],
    fail: failer(1),
    v: victim("v"),
  }),

  "keyboard interrupt in a child": scenario("KeyboardInterrupt in a child escapes the loop; shutdown follows.", {
    main: [tg("g", spawn("k", "ki", "g"), spawn("v", "v", "g"), onCancel("body cancelled", [sleep(5)]))],
    ki: [sleep(1), raise("KeyboardInterrupt")],
    v: victim("v"),
  }),

  "system exit in a child": scenario("SystemExit in a child while the body waits in __aexit__.", {
    main: [tg("g", spawn("x", "sx", "g"), spawn("v", "v", "g"), log("body end")), log("unreached")],
    sx: [sleep(1), raise("SystemExit", 3)],
    v: victim("v"),
  }),

  "keyboard interrupt in the body": scenario("The body raises KeyboardInterrupt: children cancelled, then it is re-raised bare.", {
    main: [tg("g", spawn("a", "a", "g"), spawn("b", "b", "g"), sleep(1), raise("KeyboardInterrupt"))],
    a: victim("a"),
    b: [onCancel("b cancelled", [sleep(10)], [raise("ValueError", "cleanup")], false)],
  }),

  "system exit in the body of a worker": scenario("SystemExit from a group's body in a worker task.", {
    main: [spawn("w", "worker"), sleep(5), log("unreached")],
    worker: [tg("g", spawn("a", "a", "g"), sleep(1), raise("SystemExit", 0))],
    a: victim("a"),
  }),

  "child failure and keyboard interrupt": scenario("A child fails, then another raises KeyboardInterrupt while cancelled.", {
    main: [catchAll(tg("g", spawn("f", "fail", "g"), spawn("k", "k", "g"), sleep(5)))],
    fail: failer(1),
    k: [onCancel("k cancelled", [sleep(10)], [raise("KeyboardInterrupt")], false)],
  }),

  "parent cancelled from outside": scenario("The worker owning the group is cancelled while children run.", {
    main: [
      spawn("w", "worker"),
      sleep(1),
      cancel("w", "stop"),
      catchAll(awaitTask("w")),
      inspect("w"),
      inspect("a"),
      inspect("b"),
    ],
    worker: [tg("g", spawn("a", "a", "g"), spawn("b", "b", "g"), sleep(5)), log("unreached")],
    a: victim("a"),
    b: victim("b"),
  }),

  "parent cancelled while exiting": scenario("The worker is cancelled while __aexit__ waits for the children.", {
    main: [spawn("w", "worker"), sleep(2), cancel("w"), catchAll(awaitTask("w")), inspect("w")],
    worker: [tg("g", spawn("a", "a", "g"), log("body end")), log("unreached")],
    a: victim("a"),
  }),

  "parent cancelled twice from outside": scenario("Two outside cancellations while the group waits.", {
    main: [spawn("w", "worker"), sleep(1), cancel("w", "one"), sleep(0), cancel("w", "two"), catchAll(awaitTask("w")), inspect("w")],
    worker: [catchAll(tg("g", spawn("a", "a", "g"), sleep(5))), inspect("w"), sleep(1), log("worker end")],
    a: [onCancel("a cancelled", [sleep(10)], [sleep(2), log("a done cleaning")], true)],
  }),

  "outside cancel collides with a child failure (cancel first)": scenario(
    "The parent is cancelled from outside, then a child fails in the same tick (gh-116720).",
    {
      main: [spawn("w", "worker"), spawn("f", "fail"), sleep(1), cancel("w"), catchAll(awaitTask("w")), inspect("w")],
      worker: [
        catchAll(tg("g", spawn("a", "fail", "g"), spawn("b", "b", "g"), sleep(5))),
        inspect("w"),
        onCancel("worker cancelled at next await", [sleep(1)], [], true),
        log("worker end"),
      ],
      fail: failer(1),
      b: victim("b"),
    },
  ),

  "outside cancel collides with a child failure (failure first)": scenario(
    "A child fails, and the parent is cancelled from outside while the group aborts (gh-116720).",
    {
      main: [spawn("w", "worker"), sleep(1), sleep(0), cancel("w", "outside"), catchAll(awaitTask("w")), inspect("w")],
      worker: [
        catchAll(tg("g", spawn("a", "fail", "g"), spawn("b", "slowclean", "g"), sleep(5))),
        inspect("w"),
        onCancel("worker cancelled at next await", [sleep(1)], [], true),
        log("worker end"),
      ],
      fail: failer(1),
      slowclean: [onCancel("b cancelled", [sleep(10)], [sleep(2), log("b cleaned")], true)],
    },
  ),

  "outside cancel and failure, parent uncancels": scenario("The worker, cancelled from outside with a failing child, uncancels itself.", {
    main: [spawn("w", "worker"), sleep(1), cancel("w"), catchAll(awaitTask("w")), inspect("w")],
    worker: [
      catchAll(tg("g", spawn("a", "fail", "g"), spawn("b", "b", "g"), sleep(5))),
      inspect("w"),
      uncancel("w"),
      inspect("w"),
      sleep(1),
      log("worker end"),
    ],
    fail: failer(1),
    b: [onCancel("b cancelled", [sleep(10)], [sleep(1)], true)],
  }),

  "outside cancel after failure handled": scenario("A failure is being handled when an outside cancel arrives during cleanup.", {
    main: [spawn("w", "worker"), sleep(2), cancel("w"), catchAll(awaitTask("w")), inspect("w")],
    worker: [catchAll(tg("g", spawn("a", "fail", "g"), spawn("b", "b", "g"), sleep(5))), log("worker after group"), sleep(1), log("worker end")],
    fail: failer(1),
    b: [onCancel("b cancelled", [sleep(10)], [sleep(3), log("b cleaned")], true)],
  }),

  "nested groups": scenario("An inner group's failure fails the outer group's child.", {
    main: [catchAll(tg("outer", spawn("o1", "inner_owner", "outer"), spawn("o2", "o2", "outer"), sleep(5))), inspect("o1"), inspect("o2")],
    inner_owner: [tg("inner", spawn("i1", "fail", "inner"), spawn("i2", "i2", "inner"), sleep(5))],
    fail: failer(1),
    o2: victim("o2"),
    i2: victim("i2"),
  }),

  "nested groups in one body": scenario("A group inside another group's body; the inner body fails.", {
    main: [
      catchAll(
        tg(
          "outer",
          spawn("a", "a", "outer"),
          tg("inner", spawn("b", "b", "inner"), sleep(1), raise("ValueError", "inner body")),
          log("unreached"),
        ),
      ),
    ],
    a: victim("a"),
    b: victim("b"),
  }),

  "nested groups, outer child fails": scenario("The outer group aborts while the inner group's body waits.", {
    main: [
      catchAll(tg("outer", spawn("f", "fail", "outer"), tg("inner", spawn("b", "b", "inner"), spawn("c", "c", "inner"), sleep(5)), log("unreached"))),
    ],
    fail: failer(1),
    b: victim("b"),
    c: [onCancel("c cancelled", [sleep(10)], [raise("KeyError", "c")], false)],
  }),

  "create_task on a group not entered": scenario("RuntimeError: the group has not been entered.", {
    main: [newTg("g"), attempt([spawn("t", "a", "g")], [handler("RuntimeError", [log("refused")])]), sleep(1), log("end")],
    a: sleeper(1),
  }),

  "create_task on a finished group": scenario("RuntimeError: the group is finished.", {
    main: [
      tg("g", spawn("a", "a", "g")),
      attempt([spawn("t", "a", "g")], [handler("RuntimeError", [log("refused")])]),
      log("end"),
    ],
    a: sleeper(1),
  }),

  "create_task on a group that failed": scenario("After the group raised, create_task is refused.", {
    main: [
      catchAll(tg("g", spawn("f", "fail", "g"))),
      attempt([spawn("t", "fail", "g")], [handler("RuntimeError", [log("refused")])]),
      log("end"),
    ],
    fail: failer(1),
  }),

  "create_task on an aborting group": scenario("A cancelled child tries to add a task to its group: shutting down.", {
    main: [catchAll(tg("g", spawn("f", "fail", "g"), spawn("v", "v", "g"), sleep(5)))],
    fail: failer(1),
    v: [onCancel("v cancelled", [sleep(10)], [attempt([spawn("late", "fail", "g")], [handler("RuntimeError", [log("refused")])])], true)],
  }),

  "create_task from the cancelled body": scenario("The body, cancelled by the group, tries to add a child.", {
    main: [catchAll(tg("g", spawn("f", "fail", "g"), onCancel("body cancelled", [sleep(5)], [catchAll(spawn("late", "fail", "g"))], true)))],
    fail: failer(1),
  }),

  "create_task while exiting": scenario("A child adds a sibling while __aexit__ waits: allowed.", {
    main: [tg("g", spawn("a", "adder", "g"), log("body end")), log("after"), inspect("late")],
    adder: [sleep(1), spawn("late", "b", "g"), sleep(1), ret("adder")],
    b: sleeper(2, "B"),
  }),

  "create_task from another task": scenario("A task outside the group adds a child to it; that child fails.", {
    main: [spawn("x", "outsider"), catchAll(tg("g", spawn("a", "a", "g"), sleep(5))), catchAll(awaitTask("x"))],
    outsider: [sleep(1), spawn("c", "fail", "g"), ret("added")],
    fail: failer(1),
    a: victim("a"),
  }),

  "children that swallow cancellation": scenario("Cancelled children catch CancelledError, keep going and return.", {
    main: [
      catchAll(tg("g", spawn("f", "fail", "g"), spawn("a", "stubborn", "g"), spawn("b", "stubborn2", "g"), sleep(5))),
      inspect("a"),
      inspect("b"),
    ],
    fail: failer(1),
    stubborn: [onCancel("a cancelled", [sleep(10)], [sleep(2), log("a still going")], false), ret("a done")],
    stubborn2: [onCancel("b cancelled", [sleep(10)], [uncancel("b"), sleep(1), log("b uncancelled")], false), ret("b done")],
  }),

  "child raises CancelledError": scenario("A child raising CancelledError ends cancelled: not a failure.", {
    main: [tg("g", spawn("c", "selfcancel", "g"), spawn("a", "a", "g")), log("no error"), inspect("c")],
    selfcancel: [sleep(1), raise("CancelledError", "mine")],
    a: sleeper(2, "A"),
  }),

  "child cancelled by a sibling": scenario("One child cancels another: no failure, no abort.", {
    main: [tg("g", spawn("a", "a", "g"), spawn("b", "canceller", "g")), log("ok"), inspect("a")],
    a: victim("a"),
    canceller: [sleep(1), cancel("a")],
  }),

  "child raises an exception group": scenario("A child raises an ExceptionGroup: nested in the group's.", {
    main: [catchAll(tg("g", spawn("a", "eg", "g"), spawn("b", "beg", "g"), sleep(5)))],
    eg: [sleep(1), { op: "raise", exc: { type: "ExceptionGroup", args: ["inner"], exceptions: [exc("ValueError", 1), exc("KeyError", 2)] } }],
    beg: [
      onCancel(
        "b cancelled",
        [sleep(10)],
        [{ op: "raise", exc: { type: "BaseExceptionGroup", args: ["base"], exceptions: [exc("ValueError", 3), exc("KeyboardInterrupt")] } }],
        false,
      ),
    ],
  }),

  "named children": scenario("Named children: numbering of later default names per version.", {
    main: [
      tg("g", spawn("a", "a", "g", "alpha"), spawn("b", "a", "g"), spawn("c", "a", "g", "gamma"), spawn("d", "a", "g")),
      inspect("a"),
      inspect("d"),
    ],
    a: sleeper(1),
  }),

  "many children cancelled together": scenario("Twelve children, one fails: the others are cancelled in set order.", {
    main: [
      catchAll(
        tg(
          "g",
          // Two futures between children: hashes 3 apart, past the table's end.
          ...Array.from({ length: 11 }, (_, i) => [spawn(`c${i}`, `v${i}`, "g"), future(`x${i}`), future(`y${i}`)]).flat(),
          spawn("f", "fail", "g"),
          sleep(5),
        ),
      ),
    ],
    fail: failer(1),
    ...Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`v${i}`, victim(`c${i}`)])),
  }),

  "children with colliding hashes": scenario("Futures created between children space their hashes 8 apart.", {
    main: [
      catchAll(
        tg(
          "g",
          ...Array.from({ length: 6 }, (_, i) => [
            spawn(`c${i}`, `v${i}`, "g"),
            ...Array.from({ length: 7 }, (_, j) => future(`f${i}_${j}`)),
          ]).flat(),
          sleep(1),
          raise("ValueError", "body"),
        ),
      ),
    ],
    ...Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`v${i}`, victim(`c${i}`)])),
  }),

  "children after discarded ones": scenario("Children finish (dummies in the set), new ones join, then the group aborts.", {
    main: [
      catchAll(
        tg(
          "g",
          ...Array.from({ length: 5 }, (_, i) => spawn(`q${i}`, "quick", "g")),
          sleep(2),
          ...Array.from({ length: 7 }, (_, i) => [spawn(`c${i}`, `v${i}`, "g"), ...(i % 2 ? [future(`x${i}`)] : [])]).flat(),
          sleep(1),
          spawn("q5", "quick", "g"),
          future("x"),
          spawn("c7", "v7", "g"),
          spawn("f", "fail", "g"),
          sleep(5),
        ),
      ),
    ],
    quick: sleeper(1),
    fail: failer(1),
    ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`v${i}`, victim(`c${i}`)])),
  }),

  "four children cancelled by the outside": scenario("Four children, parent cancelled from outside: set order of cancellation.", {
    main: [spawn("w", "worker"), sleep(1), cancel("w"), catchAll(awaitTask("w"))],
    worker: [tg("g", ...Array.from({ length: 4 }, (_, i) => [future(`x${i}`), future(`y${i}`), spawn(`c${i}`, `v${i}`, "g")]).flat(), sleep(5))],
    ...Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`v${i}`, victim(`c${i}`)])),
  }),

  "nine children, gaps in hashes": scenario("Nine children created around sleeps (sleep futures take hashes too).", {
    main: [
      catchAll(
        tg(
          "g",
          ...Array.from({ length: 9 }, (_, i) => [
            spawn(`c${i}`, `v${i}`, "g"),
            ...(i % 3 === 0 ? [sleep(1), ...Array.from({ length: 4 + i }, (_, j) => future(`x${i}_${j}`))] : []),
          ]).flat(),
          spawn("f", "fail", "g"),
          sleep(10),
        ),
      ),
    ],
    fail: failer(0),
    ...Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`v${i}`, victim(`c${i}`, 20)])),
  }),

  "group in a task awaited by gather": scenario("Two workers with groups, gathered; one group fails.", {
    main: [catchAll({ op: "await", on: { gather: [{ coro: "w1" }, { coro: "w2" }] } }), log("end")],
    w1: [tg("g1", spawn("a", "fail", "g1"), spawn("b", "b", "g1"), sleep(5))],
    w2: [tg("g2", spawn("c", "c", "g2"), sleep(1))],
    fail: failer(1),
    b: victim("b"),
    c: sleeper(3, "C"),
  }),

  "await a coroutine holding a group": scenario("A coroutine awaited inline owns the group; main catches the group.", {
    main: [catchAll(awaitCoro("holder")), log("main end")],
    holder: [tg("g", spawn("a", "fail", "g"), spawn("b", "b", "g"), sleep(3))],
    fail: failer(1, "KeyError", "missing"),
    b: victim("b"),
  }),
};

/**
 * With asyncio.eager_task_factory (3.12+), a child can finish inside
 * create_task: 3.12 settles it on the spot (gh-104144). Run where the
 * reference has eager tasks; skipped while it does not.
 */
const EAGER_SCENARIOS: Record<string, Scenario> = {
  "eager children finish inside create_task": {
    ...scenario("Children that never suspend are done when create_task returns.", {
      main: [
        tg("g", spawn("a", "instant", "g"), inspect("a"), spawn("b", "slow", "g", "bee"), spawn("c", "instant", "g", "sea"), inspect("c"), log("body end")),
        inspect("b"),
        // A group whose children are all done already exits without waiting:
        // "after group" comes before the ticker's "tick".
        spawn("t", "ticker"),
        tg("h", spawn("d", "instant", "h")),
        log("after group"),
      ],
      instant: [log("instant runs"), ret("now")],
      slow: sleeper(1, "later"),
      ticker: [sleep(0), log("tick")],
    }),
    eager: true,
  },
  "eager child fails inside create_task": {
    ...scenario("A child fails before create_task returns: the group aborts at once.", {
      main: [catchAll(tg("g", spawn("v", "v", "g"), spawn("f", "instantfail", "g"), inspect("v"), log("body goes on"), sleep(1), log("unreached")))],
      instantfail: [raise("ValueError", "at once")],
      v: victim("v"),
    }),
    eager: true,
  },
};

// ---- CPython



const targets: Array<{ version: PythonVersion; python: string }> = [
  { version: "3.11", python: "python3" },
  ...(["3.12", "3.13"] as const).map((v) => ({ version: v, python: findCPython(v).path })).filter((t) => t.python !== ""),
];

/** The reference's trace, or null when it does not have eager tasks yet. */
function referenceTrace(version: PythonVersion, s: Scenario): Trace | null {
  try {
    return runScenario(makeReference(version), s);
  } catch (e) {
    if (s.eager && String(e).includes("not implemented")) return null;
    throw e;
  }
}

describe.each(targets)("TaskGroup on CPython $version ($python) vs reference@$version", ({ version, python }) => {
  const cases = Object.entries(SCENARIOS).concat(version >= "3.12" ? Object.entries(EAGER_SCENARIOS) : []);
  let run: DriverRun;

  beforeAll(() => {
    run = runOnDriver(python, cases.map(([, s]) => s));
  });

  it("runs on the expected Python version", () => {
    expect(run.hello.version).toBe(version);
  });

  cases.forEach(([name, s], id) => {
    it(name, (ctx) => {
      expect(run.errors.get(id), "the driver ran the scenario").toBeUndefined();
      const cpython = run.traces.get(id)!;
      expect(cpython, "the driver returned a trace").toBeDefined();
      const reference = referenceTrace(version, s);
      if (reference === null) return ctx.skip("the reference has no eager tasks yet");
      expect(canonicalJson(reference), describeDifference(reference, cpython)).toBe(canonicalJson(cpython));
    });
  });
});

describe("TaskGroup scenarios show what they are about", () => {
  // Guard against scenarios that silently stop exercising their subject.
  const ref = (v: PythonVersion, name: string) => runScenario(makeReference(v), SCENARIOS[name]);
  const labels = (t: Trace) => t.events.filter((e) => e.ev === "log").map((e) => (e as { label: string }).label);

  it("children are cancelled in set order, which is not creation order", () => {
    const scenarios = [
      "many children cancelled together",
      "children with colliding hashes",
      "children after discarded ones",
      "four children cancelled by the outside",
      "nine children, gaps in hashes",
    ];
    for (const name of scenarios) {
      const order = labels(ref("3.13", name))
        .filter((l) => /^c\d+ cancelled$/.test(l))
        .map((l) => Number(l.slice(1, -" cancelled".length)));
      expect(order.length, name).toBeGreaterThanOrEqual(4);
      expect(order, name).not.toEqual([...order].sort((a, b) => a - b));
    }
  });

  it("the refusals are recorded", () => {
    for (const name of ["create_task on a group not entered", "create_task on a finished group", "create_task on an aborting group"]) {
      expect(labels(ref("3.12", name)), name).toContain("refused");
    }
  });

  it("3.13 differs from 3.12 when an outside cancel collides with a child failure", () => {
    const name = "outside cancel collides with a child failure (cancel first)";
    expect(canonicalJson(ref("3.12", name))).not.toBe(canonicalJson(ref("3.13", name)));
  });
});
