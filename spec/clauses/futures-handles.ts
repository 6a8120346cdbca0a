/**
 * Clauses on the futures combinators return, held in a handle by the
 * `ensure_future` step (docs/scenario-language.md, "Tasks"): the program
 * keeps `fut = asyncio.gather(...)` and later calls `fut.cancel()` itself,
 * as the documentation of gather describes: "If gather() is cancelled, all
 * submitted awaitables (that have not completed yet) are also cancelled."
 */
import fc from "fast-check";
import type { Awaitable, Scenario, Step } from "../scenario/types";
import type { Trace, TraceEvent } from "../scenario/trace";
import { canonicalJson } from "../scenario/trace";
import { DOCS, clause } from "./clause";
import type { Clause, Verdict } from "./clause";
import { mainRanToItsEnd } from "./evidence";
import { is, log, scenarioOf, sleep, spawn } from "./tasks";

const SOURCE = { url: DOCS.tasks + "#asyncio.gather", section: "Running Tasks Concurrently" };
const show = (x: unknown): string => canonicalJson(x);

interface Child {
  /** Done before the cancel (returns at once), or still sleeping when it comes. */
  quick: boolean;
  /** Submitted as a task handle (create_task) rather than as a coroutine. */
  asTask: boolean;
}

/**
 * main makes children (quick ones return at once, slow ones sleep and log
 * their cancellation), holds `g = ensure_future(gather(...))`, sleeps a
 * tick, cancels g (with a message or not), awaits g catching
 * CancelledError, and reads g.
 */
const gatherCancelArb: fc.Arbitrary<Scenario> = fc
  .record({
    children: fc.array(fc.record({ quick: fc.boolean(), asTask: fc.boolean() }), { minLength: 1, maxLength: 4 }),
    slowTicks: fc.integer({ min: 2, max: 4 }),
    returnExceptions: fc.boolean(),
    msg: fc.option(fc.constantFrom("enough", "stop"), { nil: undefined }),
  })
  .filter(({ children }) => children.some((c) => !c.quick))
  .map(({ children, slowTicks, returnExceptions, msg }) => {
    const coros: Array<[string, Step[]]> = [];
    const main: Step[] = [];
    const parts: Awaitable[] = [];
    children.forEach((c: Child, i) => {
      const name = `child${i}`;
      coros.push([
        name,
        c.quick
          ? [{ op: "return", value: i }]
          : [{ op: "try", body: [sleep(slowTicks)], except: [{ type: "CancelledError", body: [log(`${name} cancelled`)], reraise: true }] }],
      ]);
      if (c.asTask) {
        main.push(spawn(name, `t${i}`));
        parts.push({ task: `t${i}` });
      } else parts.push({ coro: name });
    });
    const cancel: Step = msg === undefined ? { op: "cancel", task: "g" } : { op: "cancel", task: "g", msg };
    main.push(
      { op: "ensure_future", on: { gather: parts, return_exceptions: returnExceptions }, future: "g" },
      sleep(1),
      cancel,
      { op: "try", body: [{ op: "await", on: { task: "g" } }], except: [{ type: "CancelledError", body: [log("gather cancelled")] }] },
      { op: "inspect", task: "g" },
    );
    return scenarioOf([["main", main], ...coros], {
      description: "main holds the future gather() returns and cancels it while some of the submitted awaitables still run.",
    });
  });

const exitOf = (trace: Trace, coro: string): { i: number; e: TraceEvent & { ev: "exit" } } | undefined => {
  const i = trace.events.findIndex((e) => is(e, "exit") && e.coro === coro);
  return i < 0 ? undefined : { i, e: trace.events[i] as TraceEvent & { ev: "exit" } };
};

function checkGatherCancel(scenario: Scenario, trace: Trace): Verdict {
  const main = scenario.coroutines[0].body;
  const cancelStep = main.find((s) => s.op === "cancel") as Step & { op: "cancel" };
  const msgArgs = cancelStep.msg === undefined ? [] : [cancelStep.msg];
  const at = trace.events.findIndex((e) => is(e, "cancel") && e.ref === "g");
  if (at < 0) return "main never cancelled the gather future";
  if ((trace.events[at] as { returned: boolean }).returned !== true) return "cancel() on the gather future returned false while children still ran";
  for (const c of scenario.coroutines.slice(1)) {
    const x = exitOf(trace, c.name);
    if (x === undefined) return `${c.name} never finished`;
    if (x.i < at) {
      if (x.e.exc !== undefined) return `${c.name}, done before the cancel, ended with ${show(x.e.exc)}`;
      continue; // already done: nothing to cancel, it keeps its result
    }
    if (x.e.exc?.type !== "CancelledError") return `${c.name}, still running at the cancel, ended with ${show(x.e.exc ?? x.e.value)} instead of being cancelled`;
    if (show(x.e.exc.args) !== show(msgArgs)) return `${c.name} was cancelled with ${show(x.e.exc.args)}, not the gather's ${show(msgArgs)}`;
  }
  const awaited = trace.events.find((e) => is(e, "awaited") && e.on === "g") as (TraceEvent & { ev: "awaited" }) | undefined;
  if (awaited === undefined) return "awaiting the cancelled gather future never finished";
  if (awaited.exc?.type !== "CancelledError") return `awaiting the cancelled gather future gave ${show(awaited.exc ?? awaited.value)} instead of raising CancelledError`;
  const after = trace.events.filter((e) => is(e, "inspect") && e.ref === "g").pop() as { done: boolean } | undefined;
  if (after?.done !== true) return "the gather future is not done once awaiting it has raised";
  return true;
}

const gatherFutureCancel = clause({
  id: "gather.future_cancel_cancels_children",
  statement:
    "Cancelling the future gather() returns (fut.cancel(), with or without a message) cancels every submitted awaitable that has not completed yet, with the same message, and returns True; awaitables already done keep their results; awaiting the future then raises CancelledError.",
  source: SOURCE,
  versions: ["3.11", "3.12", "3.13"],
  level: "documented",
  needs: ["await", "cancel", "cancel:msg", "coro", "create_task", "ensure_future", "gather", "inspect", "log", "return", "sleep", "task", "try"],
  brokenBy: ["mutant:gather-cancel-not-propagated"],
  evidence: [mainRanToItsEnd],
  scenarios: () => gatherCancelArb,
  check: ({ scenario, trace }) => checkGatherCancel(scenario, trace),
});

export const CLAUSES: Clause[] = [gatherFutureCancel];
