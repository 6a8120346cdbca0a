/**
 * Clauses: asyncio.gather ("Running Tasks Concurrently").
 *
 * Every scenario here is built by a small dedicated generator: main (task
 * "Task-1") gathers "children" — coroutines c0, c1, ... (each wrapped in a
 * task by gather), tasks main created beforehand (handles t0, t1, ... named
 * w0, w1, ...), or sleeps — that sleep a few ticks and return 10 + i or
 * raise ValueError(i). A child's outcome is read off the trace (the exit
 * event of its coroutine), so each property compares what gather reported
 * with what its children really did.
 *
 * The end of this file holds the helpers the other function clauses
 * (shield, wait_for, wait, as_completed) share.
 */
import fc from "fast-check";
import type { Awaitable, CallbackDef, CoroutineDef, ExceptionSpec, Scenario, Step } from "../scenario/types";
import type { ExceptionData, Trace, TraceEvent, TraceValue } from "../scenario/trace";
import { canonicalJson } from "../scenario/trace";
import { ALL_VERSIONS, DOCS, built, clause, SINCE_3_9 } from "./clause";
import { mainRanToItsEnd } from "./evidence";
import type { Clause, Verdict } from "./clause";

const SOURCE = { url: DOCS.tasks + "#asyncio.gather", section: "Running Tasks Concurrently" };

// ---------------------------------------------------------------- children

/** One gathered child: what kind of awaitable it is, how long it takes, how it ends. */
export interface ChildSpec {
  kind: "coro" | "task" | "sleep";
  ticks: number;
  /** Raise ValueError(i) instead of returning 10 + i (never for a sleep). */
  raises: boolean;
}

/** The coroutine of child i: sleep, then return 10 + i or raise ValueError(i). */
export function childCoro(name: string, i: number, ticks: number, raises: boolean): CoroutineDef {
  const body: Step[] = [{ op: "sleep", ticks }];
  body.push(raises ? { op: "raise", exc: valueError(i) } : { op: "return", value: 10 + i });
  return { name, body };
}

export function valueError(i: number): ExceptionSpec {
  return { type: "ValueError", args: [i] };
}

/**
 * The children as awaitables, the create_task steps main runs first (for
 * task children) and the coroutines they need. Child i is coroutine `c{i}`,
 * task handle `t{i}` named `w{i}`.
 */
export function buildChildren(children: readonly ChildSpec[]): { parts: Awaitable[]; spawn: Step[]; coroutines: CoroutineDef[] } {
  const parts: Awaitable[] = [];
  const spawn: Step[] = [];
  const coroutines: CoroutineDef[] = [];
  children.forEach((c, i) => {
    if (c.kind === "sleep") {
      parts.push({ sleep: c.ticks, result: 10 + i });
      return;
    }
    coroutines.push(childCoro(`c${i}`, i, c.ticks, c.raises));
    if (c.kind === "coro") parts.push({ coro: `c${i}` });
    else {
      spawn.push({ op: "create_task", coro: `c${i}`, task: `t${i}`, name: `w${i}` });
      parts.push({ task: `t${i}` });
    }
  });
  return { parts, spawn, coroutines };
}

export function scenarioOf(main: Step[], coroutines: CoroutineDef[], callbacks: CallbackDef[] = []): Scenario {
  const s: Scenario = { aiospec: 1, coroutines: [{ name: "main", body: main }, ...coroutines] };
  if (callbacks.length > 0) s.callbacks = callbacks;
  return built(s);
}

export const childSpecArb = (opts: { kinds?: ChildSpec["kind"][]; minTicks?: number; maxTicks?: number; raises?: boolean } = {}): fc.Arbitrary<ChildSpec> =>
  fc
    .record({
      kind: fc.constantFrom(...(opts.kinds ?? (["coro", "task", "sleep"] as const))),
      ticks: fc.integer({ min: opts.minTicks ?? 0, max: opts.maxTicks ?? 3 }),
      raises: opts.raises ? fc.boolean() : fc.constant(false),
    })
    .map((c) => (c.kind === "sleep" ? { ...c, raises: false } : c));

// ---------------------------------------------------------------- trace helpers

export type EventOf<K extends TraceEvent["ev"]> = Extract<TraceEvent, { ev: K }>;

/** The events of one kind, with their indexes in the trace. */
export function eventsOf<K extends TraceEvent["ev"]>(trace: Trace, ev: K): Array<{ i: number; e: EventOf<K> }> {
  const out: Array<{ i: number; e: EventOf<K> }> = [];
  trace.events.forEach((e, i) => {
    if (e.ev === ev) out.push({ i, e: e as EventOf<K> });
  });
  return out;
}

/** The first `enter` / `exit` event of a coroutine. */
export function enterOf(trace: Trace, coro: string): { i: number; e: EventOf<"enter"> } | undefined {
  return eventsOf(trace, "enter").find((x) => x.e.coro === coro);
}
export function exitOf(trace: Trace, coro: string): { i: number; e: EventOf<"exit"> } | undefined {
  return eventsOf(trace, "exit").find((x) => x.e.coro === coro);
}

/** The `awaited` events on `on` recorded by task `task`. */
export function awaitedBy(trace: Trace, task: string, on: string): Array<{ i: number; e: EventOf<"awaited"> }> {
  return eventsOf(trace, "awaited").filter((x) => x.e.task === task && x.e.on === on);
}

/** The index of the shutdown event (or the length of the trace). */
export function shutdownIndex(trace: Trace): number {
  const i = trace.events.findIndex((e) => e.ev === "shutdown");
  return i < 0 ? trace.events.length : i;
}

/** An outcome as a trace value: the value, or {exc}. */
export function outcomeOf(e: { value?: TraceValue; exc?: ExceptionData }): TraceValue {
  return e.exc !== undefined ? { exc: e.exc } : e.value ?? null;
}

export const same = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);
export const show = (x: unknown): string => (x === undefined ? "nothing" : canonicalJson(x));
export const isCancelled = (e: { exc?: ExceptionData }): boolean => e.exc?.type === "CancelledError";

/** The coroutine a task handle is bound to by create_task steps of main. */
export function coroOfHandle(scenario: Scenario, handle: string): string | undefined {
  for (const c of scenario.coroutines) {
    for (const s of c.body) if (s.op === "create_task" && s.task === handle) return s.coro;
  }
  return undefined;
}

/** The coroutine behind a {coro} or {task} part; undefined for anything else. */
export function coroOfPart(scenario: Scenario, part: Awaitable): string | undefined {
  if ("coro" in part) return part.coro;
  if ("task" in part) return coroOfHandle(scenario, part.task);
  return undefined;
}

/**
 * What a child really did, read off the trace: its coroutine's exit
 * (value or exception), or a sleep's result. undefined when it never ended.
 */
export function childOutcome(scenario: Scenario, trace: Trace, part: Awaitable): TraceValue | undefined {
  if ("sleep" in part) return part.result ?? null;
  const coro = coroOfPart(scenario, part);
  const x = coro === undefined ? undefined : exitOf(trace, coro);
  return x === undefined ? undefined : outcomeOf(x.e);
}

/** The first `await` step of a coroutine whose awaitable has `key`, depth first. */
export function findAwait(steps: readonly Step[], key: string): Awaitable | undefined {
  for (const s of steps) {
    if (s.op === "await" && key in s.on) return s.on;
    if (s.op === "try") {
      const a = findAwait(s.body, key);
      if (a) return a;
    }
  }
  return undefined;
}

export function coroBody(scenario: Scenario, name: string): Step[] {
  return scenario.coroutines.find((c) => c.name === name)?.body ?? [];
}

type GatherAw = Extract<Awaitable, { gather: Awaitable[] }>;

/** The gather main awaits (or coroutine `who`), with its parts. */
function gatherOf(scenario: Scenario, who = "main"): GatherAw {
  const g = findAwait(coroBody(scenario, who), "gather");
  if (!g || !("gather" in g)) throw new Error(`no gather awaited by ${who}`);
  return g;
}

/** The single `awaited` event on "gather" by `task`, or a verdict saying it is missing. */
function theGatherEvent(trace: Trace, task = "Task-1"): { i: number; e: EventOf<"awaited"> } | string {
  const xs = awaitedBy(trace, task, "gather");
  if (xs.length === 0) return `${task}'s await of the gather never finished (${trace.end.kind})`;
  return xs[0];
}

/** try: body, except `type` (so that the coroutine goes on). */
export function catching(type: "Exception" | "BaseException" | "CancelledError" | "TimeoutError", body: Step[]): Step {
  return { op: "try", body, except: [{ type }] };
}

// ---------------------------------------------------------------- generators

/** main gathers the children; `after` ticks of sleep after the gather (in a try). */
function gatherScenario(children: readonly ChildSpec[], returnExceptions: boolean | undefined, after: number | null): Scenario {
  const { parts, spawn, coroutines } = buildChildren(children);
  const g: Awaitable = returnExceptions === undefined ? { gather: parts } : { gather: parts, return_exceptions: returnExceptions };
  const awaitStep: Step = { op: "await", on: g };
  const main: Step[] = [...spawn, after === null ? awaitStep : catching("Exception", [awaitStep])];
  if (after !== null && after > 0) main.push({ op: "sleep", ticks: after });
  return scenarioOf(main, coroutines);
}

const returnExceptionsArb = fc.constantFrom<boolean | undefined>(undefined, false, true);

/** Children that all return, some after the others. */
const orderArb = fc
  .record({ children: fc.array(childSpecArb(), { minLength: 1, maxLength: 4 }), re: returnExceptionsArb })
  .map(({ children, re }) => gatherScenario(children, re, null));

/** At least one child raises (never a sleep); without return_exceptions. */
const failingChildrenArb = (minLength: number) =>
  fc
    .record({
      children: fc.array(childSpecArb({ raises: true }), { minLength, maxLength: 4 }),
      which: fc.nat(),
      re: fc.constantFrom<boolean | undefined>(undefined, false),
    })
    .map(({ children, which, re }) => {
      const cs = children.map((c) => ({ ...c }));
      const k = which % cs.length;
      cs[k] = { kind: cs[k].kind === "sleep" ? "coro" : cs[k].kind, ticks: Math.min(cs[k].ticks, 1), raises: true };
      return { cs, k, re };
    });

/** As failingChildrenArb, and one child that does not raise finishes after the first failure. */
const othersKeepRunningArb = failingChildrenArb(2).map(({ cs, k, re }) => {
  const j = (k + 1) % cs.length;
  cs[j] = { ...cs[j], raises: false, ticks: Math.max(cs[j].ticks, 2) };
  return gatherScenario(cs, re, 5);
});

// ---------------------------------------------------------------- properties

function checkOrder(scenario: Scenario, trace: Trace): Verdict {
  const g = gatherOf(scenario);
  const ev = theGatherEvent(trace);
  if (typeof ev === "string") return ev;
  if (ev.e.exc !== undefined) return `the gather raised ${show(ev.e.exc)} although no child failed`;
  const want = g.gather.map((p) => childOutcome(scenario, trace, p));
  if (!same(ev.e.value, want)) return `the gather gave ${show(ev.e.value)}; its children's results in argument order are ${show(want)}`;
  return true;
}

/** The children with coroutines, and their exits in trace order. */
function childExits(scenario: Scenario, trace: Trace, parts: readonly Awaitable[]) {
  const coros = new Set(parts.map((p) => coroOfPart(scenario, p)).filter((c): c is string => c !== undefined));
  return eventsOf(trace, "exit").filter((x) => coros.has(x.e.coro));
}

function checkFirstException(scenario: Scenario, trace: Trace): Verdict {
  const g = gatherOf(scenario);
  const ev = theGatherEvent(trace);
  if (typeof ev === "string") return ev;
  const first = childExits(scenario, trace, g.gather).find((x) => x.e.exc !== undefined);
  if (!first) return "no child failed";
  if (ev.e.exc === undefined) return `the gather gave ${show(ev.e.value)} although ${first.e.coro} raised ${show(first.e.exc)}`;
  if (!same(ev.e.exc, first.e.exc)) return `the gather raised ${show(ev.e.exc)}; the first child to fail (${first.e.coro}) raised ${show(first.e.exc)}`;
  if (ev.i < first.i) return "the gather raised before any child failed";
  if (ev.e.time !== first.e.time) return `the gather raised at t=${ev.e.time}, not when ${first.e.coro} failed (t=${first.e.time})`;
  return true;
}

function checkOthersKeepRunning(scenario: Scenario, trace: Trace): Verdict {
  const g = gatherOf(scenario);
  const end = shutdownIndex(trace);
  for (const p of g.gather) {
    const coro = coroOfPart(scenario, p);
    if (coro === undefined) continue;
    const x = exitOf(trace, coro);
    if (!x || x.i > end) return `child ${coro} did not finish while main waited after the gather failed`;
    if (isCancelled(x.e)) return `child ${coro} was cancelled (${show(x.e.exc)}) when another child failed`;
  }
  return true;
}

function checkReturnExceptions(scenario: Scenario, trace: Trace): Verdict {
  const g = gatherOf(scenario);
  const ev = theGatherEvent(trace);
  if (typeof ev === "string") return ev;
  if (ev.e.exc !== undefined) return `the gather raised ${show(ev.e.exc)} despite return_exceptions=True`;
  const want = g.gather.map((p) => childOutcome(scenario, trace, p));
  if (!same(ev.e.value, want)) return `the gather gave ${show(ev.e.value)}; the children's outcomes, exceptions included, in argument order are ${show(want)}`;
  return true;
}

// ---- cancelling the gather

/**
 * main spawns "waiter", which gathers the children (all still running a
 * tick later); main cancels waiter after one tick and then sleeps until
 * everything is over.
 */
const cancelGatherArb = fc
  .record({
    children: fc.array(childSpecArb({ minTicks: 2, maxTicks: 5 }), { minLength: 1, maxLength: 3 }),
    re: returnExceptionsArb,
    msg: fc.option(fc.constantFrom("stop", ""), { nil: undefined }),
  })
  .map(({ children, re, msg }) => {
    const { parts, spawn, coroutines } = buildChildren(children);
    const g: Awaitable = re === undefined ? { gather: parts } : { gather: parts, return_exceptions: re };
    const cancel: Step = msg === undefined ? { op: "cancel", task: "w" } : { op: "cancel", task: "w", msg };
    const main: Step[] = [
      ...spawn,
      { op: "create_task", coro: "waiter", task: "w", name: "waiter" },
      { op: "sleep", ticks: 1 },
      cancel,
      { op: "sleep", ticks: 6 },
    ];
    return scenarioOf(main, [{ name: "waiter", body: [{ op: "await", on: g }] }, ...coroutines]);
  });

function checkCancelChildren(scenario: Scenario, trace: Trace): Verdict {
  const g = gatherOf(scenario, "waiter");
  const cancel = eventsOf(trace, "cancel").find((x) => x.e.ref === "w");
  if (!cancel) return "main never cancelled the waiter";
  for (const p of g.gather) {
    const coro = coroOfPart(scenario, p);
    if (coro === undefined) continue;
    const x = exitOf(trace, coro);
    if (!x) return `child ${coro} never finished`;
    if (x.i < cancel.i) continue; // it had finished already: nothing to cancel
    if (!isCancelled(x.e)) return `child ${coro} ended with ${show(outcomeOf(x.e))} instead of being cancelled with the gather`;
  }
  const ev = theGatherEvent(trace, "waiter");
  if (typeof ev === "string") return ev;
  if (!isCancelled(ev.e)) return `the cancelled gather gave ${show(outcomeOf(ev.e))} instead of raising CancelledError`;
  return true;
}

// ---- a child cancelled from outside

/**
 * Tasks t0.. run children; a call_later callback cancels one of them after
 * a tick; main gathers the tasks (catching the CancelledError) and then
 * waits until the others are over.
 */
const cancelledChildArb = fc
  .record({
    ticks: fc.array(fc.integer({ min: 2, max: 4 }), { minLength: 1, maxLength: 3 }),
    which: fc.nat(),
    re: returnExceptionsArb,
    msg: fc.option(fc.constantFrom("stop", ""), { nil: undefined }),
  })
  .map(({ ticks, which, re, msg }) => {
    const children: ChildSpec[] = ticks.map((t) => ({ kind: "task", ticks: t, raises: false }));
    const { parts, spawn, coroutines } = buildChildren(children);
    const k = which % children.length;
    const g: Awaitable = re === undefined ? { gather: parts } : { gather: parts, return_exceptions: re };
    const cancel: Step = msg === undefined ? { op: "cancel", task: `t${k}` } : { op: "cancel", task: `t${k}`, msg };
    const main: Step[] = [
      ...spawn,
      { op: "call_later", delay: 1, callback: "stop" },
      catching("CancelledError", [{ op: "await", on: g }]),
      { op: "sleep", ticks: 5 },
    ];
    return scenarioOf(main, coroutines, [{ name: "stop", body: [cancel] }]);
  });

function checkCancelledChild(scenario: Scenario, trace: Trace): Verdict {
  const g = gatherOf(scenario);
  const ev = theGatherEvent(trace);
  if (typeof ev === "string") return ev;
  const outcomes = g.gather.map((p) => {
    const coro = coroOfPart(scenario, p)!;
    return { coro, x: exitOf(trace, coro) };
  });
  const cancelled = outcomes.filter((o) => o.x && isCancelled(o.x.e));
  if (cancelled.length === 0) return "no child was cancelled";
  if (g.return_exceptions) {
    if (ev.e.exc !== undefined) return `the gather raised ${show(ev.e.exc)} despite return_exceptions=True`;
    const got = ev.e.value as TraceValue[];
    for (let i = 0; i < outcomes.length; i++) {
      const o = outcomes[i];
      if (!o.x) return `child ${o.coro} never finished`;
      const item = Array.isArray(got) ? got[i] : undefined;
      if (isCancelled(o.x.e)) {
        const isCe = typeof item === "object" && item !== null && "exc" in item && (item as { exc: ExceptionData }).exc.type === "CancelledError";
        if (!isCe) return `the cancelled child ${o.coro} gave ${show(item)} in the gather's results instead of a CancelledError`;
      } else if (!same(item, outcomeOf(o.x.e))) return `child ${o.coro} gave ${show(item)} in the gather's results; it returned ${show(outcomeOf(o.x.e))}`;
    }
    return true;
  }
  if (!isCancelled(ev.e)) return `the gather gave ${show(outcomeOf(ev.e))} although child ${cancelled[0].coro} was cancelled`;
  for (const o of outcomes) {
    if (!o.x || o.x.i > shutdownIndex(trace)) return `child ${o.coro} did not finish while main waited`;
    if (o.coro !== cancelled[0].coro && isCancelled(o.x.e)) return `child ${o.coro} was cancelled too when its sibling ${cancelled[0].coro} was`;
  }
  return true;
}

// ---- the message of a cancelled child's entry

/**
 * Children: tasks cancelled by a callback (with or without a message) or
 * whose coroutine raises CancelledError(msg) itself, futures cancelled by
 * the callback (with or without a message), and tasks and futures that
 * simply finish; main gathers them with return_exceptions=True.
 */
const cancelledEntryArb = fc
  .array(
    fc.record({
      kind: fc.constantFrom("task", "future"),
      how: fc.constantFrom("cancel", "raise", "finish"),
      msg: fc.option(fc.constantFrom("stop", "why"), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((cs) => {
    const main: Step[] = [];
    const coroutines: CoroutineDef[] = [];
    const stop: Step[] = [];
    const parts: Awaitable[] = [];
    cs.forEach((c, i) => {
      if (c.kind === "task") {
        const raise: Step = { op: "raise", exc: c.msg === undefined ? { type: "CancelledError" } : { type: "CancelledError", args: [c.msg] } };
        coroutines.push({ name: `c${i}`, body: [{ op: "sleep", ticks: c.how === "raise" ? 1 : 2 }, c.how === "raise" ? raise : { op: "return", value: 10 + i }] });
        main.push({ op: "create_task", coro: `c${i}`, task: `t${i}`, name: `w${i}` });
        parts.push({ task: `t${i}` });
        if (c.how === "cancel") stop.push(c.msg === undefined ? { op: "cancel", task: `t${i}` } : { op: "cancel", task: `t${i}`, msg: c.msg });
      } else {
        main.push({ op: "create_future", future: `f${i}` });
        parts.push({ task: `f${i}` });
        if (c.how === "finish") stop.push({ op: "set_result", future: `f${i}`, value: 10 + i });
        else stop.push(c.msg === undefined ? { op: "cancel", task: `f${i}` } : { op: "cancel", task: `f${i}`, msg: c.msg });
      }
    });
    main.push({ op: "call_later", delay: 1, callback: "stop" }, { op: "await", on: { gather: parts, return_exceptions: true } });
    return scenarioOf(main, coroutines, [{ name: "stop", body: stop.length > 0 ? stop : [{ op: "log", label: "nothing to stop" }] }]);
  });

function checkCancelledEntry(scenario: Scenario, trace: Trace): Verdict {
  const g = gatherOf(scenario);
  const ev = theGatherEvent(trace);
  if (typeof ev === "string") return ev;
  if (!Array.isArray(ev.e.value)) return `the gather gave ${show(outcomeOf(ev.e))}, not a list`;
  const stop = scenario.callbacks?.find((c) => c.name === "stop")?.body ?? [];
  for (let i = 0; i < g.gather.length; i++) {
    const h = (g.gather[i] as { task: string }).task;
    const item = ev.e.value[i] as { exc?: ExceptionData } | undefined;
    if (item?.exc?.type !== "CancelledError") continue;
    const cancel = stop.find((s) => s.op === "cancel" && s.task === h) as { msg?: string } | undefined;
    const want = h.startsWith("f") ? [cancel?.msg ?? ""] : [""];
    if (!same(item.exc.args, want)) {
      return `the entry of cancelled ${h.startsWith("f") ? "future" : "task"} ${h} is CancelledError${show(item.exc.args)}, not CancelledError${show(want)}`;
    }
  }
  return true;
}

// ---- gather() of nothing

const emptyArb = fc
  .record({ re: returnExceptionsArb, before: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }), inTask: fc.boolean() })
  .map(({ re, before, inTask }) => {
    const g: Awaitable = re === undefined ? { gather: [] } : { gather: [], return_exceptions: re };
    const body: Step[] = [];
    if (before !== undefined) body.push({ op: "sleep", ticks: before });
    body.push({ op: "await", on: g });
    if (!inTask) return scenarioOf(body, []);
    return scenarioOf(
      [{ op: "create_task", coro: "c0", task: "t0", name: "w0" }, { op: "await", on: { task: "t0" } }],
      [{ name: "c0", body }],
    );
  });

function checkEmpty(_scenario: Scenario, trace: Trace): Verdict {
  const xs = eventsOf(trace, "awaited").filter((x) => x.e.on === "gather");
  if (xs.length === 0) return `the await of gather() never finished (${trace.end.kind})`;
  for (const x of xs) if (!same(outcomeOf(x.e), [])) return `gather() gave ${show(outcomeOf(x.e))} instead of []`;
  return true;
}

// ---- the same task twice

const duplicateArb = fc
  .record({
    children: fc.array(childSpecArb({ kinds: ["task"], raises: true }), { minLength: 1, maxLength: 3 }),
    picks: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
    dup: fc.nat(),
    where: fc.nat(),
    re: fc.boolean(),
  })
  .map(({ children, picks, dup, where, re }) => {
    const cs = children.map((c) => ({ ...c, raises: re && c.raises }));
    const { spawn, coroutines } = buildChildren(cs);
    const idx = picks.map((p) => p % cs.length);
    const again = idx[dup % idx.length];
    idx.splice(where % (idx.length + 1), 0, again);
    const parts: Awaitable[] = idx.map((i) => ({ task: `t${i}` }));
    return scenarioOf([...spawn, { op: "await", on: { gather: parts, return_exceptions: re } }], coroutines);
  });

// ---- children already done: 3.12's fast path

/**
 * Tasks that finish at once; main sleeps so that they are done, spawns
 * "x" and gathers the finished tasks (catching their exception, if any).
 */
const doneChildrenArb = fc
  .record({
    raises: fc.array(fc.boolean(), { minLength: 1, maxLength: 3 }),
    picks: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
    before: fc.integer({ min: 0, max: 1 }),
    re: returnExceptionsArb,
  })
  .map(({ raises, picks, before, re }) => {
    const cs: ChildSpec[] = raises.map((r) => ({ kind: "task", ticks: 0, raises: r }));
    const { spawn, coroutines } = buildChildren(cs);
    coroutines.forEach((c) => c.body.shift()); // no sleep: done in their first step
    const parts: Awaitable[] = picks.map((p) => ({ task: `t${p % cs.length}` }));
    const g: Awaitable = re === undefined ? { gather: parts } : { gather: parts, return_exceptions: re };
    const main: Step[] = [
      ...spawn,
      { op: "sleep", ticks: before },
      { op: "create_task", coro: "x", task: "x", name: "x" },
      catching("Exception", [{ op: "await", on: g }]),
    ];
    return scenarioOf(main, [...coroutines, { name: "x", body: [{ op: "log", label: "x runs" }] }]);
  });

function doneChildrenOrder(trace: Trace): { gatherAt: number; xAt: number } | string {
  const ev = theGatherEvent(trace);
  if (typeof ev === "string") return ev;
  const x = enterOf(trace, "x");
  if (!x) return "task x never started";
  return { gatherAt: ev.i, xAt: x.i };
}

// ---------------------------------------------------------------- after the gather has ended

/*
 * Without return_exceptions a gather ends with its first failure while the
 * other children run on. What happens to them is asyncio's own business,
 * which CPython fixes: each later child's outcome reaches gather's done
 * callback, which finds the gather done and only reads the child's
 * exception (marking it retrieved); and cancel() on the ended gather
 * returns False and touches no child.
 */

/** How a child that ends after the gather failed ends. */
type LateEnd = "return" | "raise" | "cancelled";

/** Child 0 raises ValueError(0) at tick 1, failing the gather; child i > 0 ends at tick 2 or 3. */
function lateChildrenScenario(kinds: readonly ("coro" | "task")[], ends: readonly LateEnd[], ticks: readonly number[]): Scenario {
  const children: ChildSpec[] = kinds.map((kind, i) => ({ kind, ticks: i === 0 ? 1 : ticks[i - 1], raises: i === 0 || ends[i - 1] === "raise" }));
  const { parts, spawn, coroutines } = buildChildren(children);
  ends.forEach((end, k) => {
    if (end === "cancelled") coroutines[k + 1].body[1] = { op: "raise", exc: { type: "CancelledError" } };
  });
  const main: Step[] = [
    ...spawn,
    catching("Exception", [{ op: "await", on: { gather: parts } }]),
    { op: "sleep", ticks: 4 },
    ...spawn.map((st): Step => ({ op: "drop", handle: (st as Step & { op: "create_task" }).task })),
    { op: "gc" },
  ];
  return scenarioOf(main, coroutines);
}

const lateChildrenArb = fc
  .integer({ min: 2, max: 4 })
  .chain((n) =>
    fc.record({
      kinds: fc.array(fc.constantFrom<"coro" | "task">("coro", "task"), { minLength: n, maxLength: n }),
      ends: fc.array(fc.constantFrom<LateEnd>("raise", "return", "cancelled"), { minLength: n - 1, maxLength: n - 1 }),
      ticks: fc.array(fc.integer({ min: 2, max: 3 }), { minLength: n - 1, maxLength: n - 1 }),
    }),
  )
  .map(({ kinds, ends, ticks }) => lateChildrenScenario(kinds, ends, ticks));

function checkLateChildren(scenario: Scenario, trace: Trace): Verdict {
  const g = gatherOf(scenario);
  const ev = theGatherEvent(trace);
  if (typeof ev === "string") return ev;
  if (!same(ev.e.exc, valueError(0))) return `the gather gave ${show(outcomeOf(ev.e))}; its first child raised ValueError(0) first`;
  for (const part of g.gather.slice(1)) {
    const coro = coroOfPart(scenario, part)!;
    const x = exitOf(trace, coro);
    if (!x || x.i < ev.i) return `${coro} did not run to its end after the gather failed`;
  }
  const heard = eventsOf(trace, "exception_handler");
  if (heard.length > 0) return `the exception handler heard ${show(heard[0].e)}: the outcome of a child that ended after the gather failed was not dropped silently`;
  return true;
}

/**
 * cancel() on a gather held by ensure_future, once it cannot cancel
 * anything: "failed" — child 0 raised at tick 1, child 1 still sleeps
 * until tick 3, the cancel comes at tick 2; "finished" — every child has
 * returned (they do not sleep) but their done callbacks have not run yet,
 * the cancel comes right after one sleep(0).
 */
const cancelEndedArb = fc
  .record({ mode: fc.constantFrom("failed" as const, "finished" as const), n: fc.integer({ min: 1, max: 3 }), kind: fc.constantFrom<"coro" | "task">("coro", "task"), msg: fc.boolean() })
  .map(({ mode, n, kind, msg }) => {
    const failed = mode === "failed";
    const children: ChildSpec[] = Array.from({ length: failed ? Math.max(n, 2) : n }, (_, i) => ({ kind, ticks: failed ? (i === 0 ? 1 : 3) : 0, raises: failed && i === 0 }));
    const { parts, spawn, coroutines } = buildChildren(children);
    if (!failed) for (const c of coroutines) c.body.shift(); // return at once
    const cancel: Step = msg ? { op: "cancel", task: "g", msg: "late" } : { op: "cancel", task: "g" };
    const main: Step[] = [
      ...spawn,
      { op: "ensure_future", on: { gather: parts }, future: "g" },
      { op: "sleep", ticks: failed ? 2 : 0 },
      cancel,
      { op: "sleep", ticks: failed ? 2 : 0 },
      catching("BaseException", [{ op: "await", on: { task: "g" } }]),
    ];
    return scenarioOf(main, coroutines);
  });

function checkCancelEnded(scenario: Scenario, trace: Trace): Verdict {
  const cancel = eventsOf(trace, "cancel").find((x) => x.e.ref === "g");
  if (!cancel) return "the gather was never cancelled";
  if (cancel.e.returned) return "cancel() of a gather that could cancel no child (it had failed, or every child had finished) returned True";
  const failed = scenario.coroutines.some((c) => c.body.some((st) => st.op === "raise"));
  const aw = eventsOf(trace, "awaited").find((x) => x.e.on === "g" || x.e.on === "task");
  const outcome = aw ? outcomeOf(aw.e) : undefined;
  const parts = (scenario.coroutines[0].body.find((st) => st.op === "ensure_future") as Step & { op: "ensure_future" }).on as GatherAw;
  const exits = parts.gather.map((p) => exitOf(trace, coroOfPart(scenario, p)!));
  if (exits.some((x) => x === undefined || isCancelled(x.e))) return "a child of the gather was cancelled (or never ended) though cancel() came when it could cancel nothing";
  const want: TraceValue = failed ? { exc: { type: "ValueError", args: [0] } } : exits.map((x) => outcomeOf(x!.e));
  if (!same(outcome, want)) return `awaiting the gather after the cancel gave ${show(outcome)}; expected ${show(want)}: the cancel changed nothing`;
  return true;
}

// ---------------------------------------------------------------- what the gather future holds

/*
 * gather's future holds its children (_GatheringFuture._children): tasks
 * that wait on a future nobody else holds stay alive while the program
 * holds the gather, and are destroyed (pending) once it lets go of it too.
 * main makes n tasks awaiting future f, gathers them into handle g (through
 * ensure_future), takes weak references, lets them start, drops f and the
 * task handles, collects, then drops g and collects again (gc mode).
 */
const holdsChildrenArb = fc.record({ n: fc.integer({ min: 1, max: 3 }), re: fc.boolean() }).map(({ n, re }) => {
  const tasks = Array.from({ length: n }, (_, i) => `t${i}`);
  const parts: Awaitable[] = tasks.map((t) => ({ task: t }));
  const main: Step[] = [
    { op: "create_future", future: "f" },
    ...tasks.map((t, i): Step => ({ op: "create_task", coro: "waiter", task: t, name: `w${i}` })),
    { op: "ensure_future", on: re ? { gather: parts, return_exceptions: true } : { gather: parts }, future: "g" },
    ...tasks.map((t, i): Step => ({ op: "weakref", task: t, ref: `r${i}` })),
    { op: "sleep", ticks: 0 },
    { op: "drop", handle: "f" },
    ...tasks.map((t): Step => ({ op: "drop", handle: t })),
    { op: "gc" },
    ...tasks.map((_, i): Step => ({ op: "inspect_weakref", ref: `r${i}` })),
    { op: "log", label: "gather dropped" },
    { op: "drop", handle: "g" },
    { op: "gc" },
    ...tasks.map((_, i): Step => ({ op: "inspect_weakref", ref: `r${i}` })),
  ];
  return scenarioOf(main, [{ name: "waiter", body: [{ op: "await", on: { task: "f" } }] }]);
});

function checkHoldsChildren(scenario: Scenario, trace: Trace): Verdict {
  const n = scenario.coroutines[0].body.filter((st) => st.op === "create_task").length;
  const split = trace.events.findIndex((e) => e.ev === "log" && e.label === "gather dropped");
  if (split < 0) return "main did not get to drop the gather";
  const readings = (from: number, to: number) => trace.events.slice(from, to).filter((e): e is EventOf<"weakref"> => e.ev === "weakref");
  const reports = (from: number, to: number) => trace.events.slice(from, to).filter((e): e is EventOf<"exception_handler"> => e.ev === "exception_handler");
  const before = readings(0, split);
  if (before.length !== n || before.some((r) => !r.alive)) return `while the program held the gather, a collection destroyed a child it holds (weak references read ${show(before.map((r) => r.alive))})`;
  if (reports(0, split).length > 0) return `while the program held the gather, the exception handler heard ${show(reports(0, split)[0])}`;
  const after = readings(split, trace.events.length);
  if (after.length !== n || after.some((r) => r.alive)) return `once the gather was dropped too, the collection left a pending child alive (weak references read ${show(after.map((r) => r.alive))})`;
  const heard = reports(split, trace.events.length).map((r) => ({ message: r.message, of: r.of }));
  const want = Array.from({ length: n }, (_, i) => ({ message: "Task was destroyed but it is pending!", of: { task: `w${i}` } }));
  if (!same(heard, want)) return `once the gather was dropped, the exception handler heard ${show(heard)}; expected ${show(want)}`;
  return true;
}

// ---------------------------------------------------------------- clauses

export const CLAUSES: Clause[] = [
  clause({
    id: "gather.order",
    statement: "gather's result lists its awaitables' results in the order the awaitables were passed, whatever order they finished in.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["gather", "coro", "task", "sleep", "create_task", "await"],
    brokenBy: ["mutant:gather-completion-order"],
    evidence: [mainRanToItsEnd],
    scenarios: () => orderArb,
    check: ({ scenario, trace }) => checkOrder(scenario, trace),
  }),
  clause({
    id: "gather.first_exception",
    statement: "Without return_exceptions, the first exception a child raises propagates at once: awaiting the gather raises it when that child fails.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["gather", "coro", "task", "sleep", "create_task", "raise", "await"],
    brokenBy: ["mutant:gather-waits-for-all-on-error"],
    evidence: [mainRanToItsEnd],
    scenarios: () => failingChildrenArb(1).map(({ cs, re }) => gatherScenario(cs, re, null)),
    check: ({ scenario, trace }) => checkFirstException(scenario, trace),
  }),
  clause({
    id: "gather.others_keep_running",
    statement: "When a child's exception propagates out of the gather, the other children are not cancelled: they keep running to their own end.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["gather", "coro", "task", "sleep", "create_task", "raise", "try", "await"],
    brokenBy: ["mutant:gather-cancels-on-error"],
    evidence: [mainRanToItsEnd],
    scenarios: () => othersKeepRunningArb,
    check: ({ scenario, trace }) => checkOthersKeepRunning(scenario, trace),
  }),
  clause({
    id: "gather.return_exceptions",
    statement: "With return_exceptions=True, exceptions are not raised but take their child's place in the result list, which lists every outcome in argument order.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["gather", "coro", "task", "sleep", "create_task", "raise", "await"],
    brokenBy: ["mutant:gather-ignores-return-exceptions"],
    evidence: [mainRanToItsEnd],
    scenarios: () =>
      fc
        .array(childSpecArb({ raises: true }), { minLength: 1, maxLength: 4 })
        .map((cs) => gatherScenario(cs, true, null)),
    check: ({ scenario, trace }) => checkReturnExceptions(scenario, trace),
  }),
  clause({
    id: "gather.cancel_cancels_children",
    statement: "Cancelling a gather (by cancelling the task awaiting it) cancels every child that has not finished, and the await raises CancelledError, with or without return_exceptions.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["gather", "coro", "task", "sleep", "create_task", "cancel", "await"],
    brokenBy: ["mutant:gather-cancel-not-propagated"],
    evidence: [mainRanToItsEnd],
    scenarios: () => cancelGatherArb,
    check: ({ scenario, trace }) => checkCancelChildren(scenario, trace),
  }),
  clause({
    id: "gather.cancelled_child",
    statement: "A child cancelled on its own counts as a child that raised CancelledError: with return_exceptions=True a CancelledError takes its place in the results; without, the gather raises CancelledError and the other children keep running.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["gather", "task", "create_task", "sleep", "cancel", "call_later", "try", "await", "return"],
    brokenBy: ["mutant:gather-child-cancel-cancels-all", "mutant:gather-ignores-return-exceptions"],
    evidence: [mainRanToItsEnd],
    scenarios: () => cancelledChildArb,
    check: ({ scenario, trace }) => checkCancelledChild(scenario, trace),
  }),
  clause({
    id: "gather.cancelled_entry_message",
    statement: "With return_exceptions=True, a cancelled child's entry is a new CancelledError with the message its cancel() recorded: a future's message is kept, but a task's entry is always CancelledError('') (the message that cancelled it, even one its coroutine raised itself, is dropped).",
    source: SOURCE,
    versions: SINCE_3_9,
    level: "exact",
    needs: ["cancel:msg", "gather", "task", "create_task", "create_future", "set_result", "sleep", "cancel", "call_later", "raise", "await"],
    brokenBy: ["mutant:gather-cancelled-entry-keeps-message"],
    evidence: [mainRanToItsEnd],
    scenarios: () => cancelledEntryArb,
    check: ({ scenario, trace }) => checkCancelledEntry(scenario, trace),
  }),
  clause({
    id: "gather.empty",
    statement: "gather() with no awaitables gives an empty list.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "documented",
    needs: ["gather", "task", "create_task", "sleep", "await"],
    brokenBy: ["mutant:gather-empty-hangs"],
    evidence: [mainRanToItsEnd],
    scenarios: () => emptyArb,
    check: ({ scenario, trace }) => checkEmpty(scenario, trace),
  }),
  clause({
    id: "gather.duplicate",
    statement: "An awaitable passed to gather more than once is awaited once, and its outcome fills every position it was passed in.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "exact",
    needs: ["gather", "task", "create_task", "sleep", "raise", "await"],
    brokenBy: ["mutant:gather-dedup-collapses"],
    evidence: [mainRanToItsEnd],
    scenarios: () => duplicateArb,
    check: ({ scenario, trace }) => checkReturnExceptionsOrOrder(scenario, trace),
  }),
  clause({
    id: "gather.done_children_immediate",
    statement: "Since 3.12, a gather whose children are all done already is itself done when created: awaiting it does not give up the loop (a task created just before has not started yet).",
    source: SOURCE,
    versions: ["3.12", "3.13", "3.14"],
    level: "exact",
    note: "gh-97696's fast paths: 3.11 handles finished children through done callbacks, a loop iteration later",
    needs: ["gather", "task", "create_task", "sleep", "raise", "try", "await", "log"],
    brokenBy: ["mutant:gather-fast-path-flipped"],
    evidence: [mainRanToItsEnd],
    scenarios: () => doneChildrenArb,
    check: ({ trace }) => {
      const o = doneChildrenOrder(trace);
      if (typeof o === "string") return o;
      if (o.xAt < o.gatherAt) return "task x started before the await of a gather of finished children returned: the await gave up the loop";
      return true;
    },
  }),
  clause({
    id: "gather.done_children_next_iteration",
    statement: "On 3.11, a gather of children that are all done already completes through their done callbacks: awaiting it gives up the loop once (a task created just before starts first).",
    source: SOURCE,
    versions: ["3.11"],
    level: "exact",
    note: "3.12 added a fast path for finished children (gh-97696)",
    needs: ["gather", "task", "create_task", "sleep", "raise", "try", "await", "log"],
    brokenBy: ["mutant:gather-fast-path-flipped"],
    evidence: [mainRanToItsEnd],
    scenarios: () => doneChildrenArb,
    check: ({ trace }) => {
      const o = doneChildrenOrder(trace);
      if (typeof o === "string") return o;
      if (o.gatherAt < o.xAt) return "the await of a gather of finished children returned before task x, created just before, started";
      return true;
    },
  }),  clause({
    id: "gather.late_children_dropped",
    statement:
      "Once a gather without return_exceptions has failed, the children still running are neither cancelled nor heard from: whatever they end with (a result, an exception, a cancellation) is dropped silently, nothing reaches the exception handler, and an exception counts as retrieved, so collecting the child reports nothing.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "exact",
    needs: ["gather", "coro", "task", "sleep", "create_task", "raise", "try", "drop", "gc", "await"],
    brokenBy: ["mutant:gather-late-child-unread"],
    evidence: [mainRanToItsEnd],
    scenarios: () => lateChildrenArb,
    check: ({ scenario, trace }) => checkLateChildren(scenario, trace),
  }),
  clause({
    id: "gather.cancel_after_end",
    statement:
      "cancel() of a gather that can cancel none of its children returns False and changes nothing: after the gather has failed the children still running go on, and when every child has finished (their results not yet collected) the gather still gives their results.",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "exact",
    needs: ["gather", "coro", "task", "sleep", "create_task", "raise", "try", "ensure_future", "cancel", "await", "return"],
    brokenBy: ["mutant:gather-cancel-after-done", "mutant:gather-cancel-requested-always"],
    evidence: [mainRanToItsEnd],
    scenarios: () => cancelEndedArb,
    check: ({ scenario, trace }) => checkCancelEnded(scenario, trace),
  }),  clause({
    id: "gather.holds_children",
    statement:
      "The future gather returns holds its children: pending tasks that nothing else refers to survive a collection while the program holds the gather, and once it drops the gather too, the next collection destroys them, each reported \"Task was destroyed but it is pending!\".",
    source: SOURCE,
    versions: ALL_VERSIONS,
    level: "exact",
    needs: ["gather", "task", "create_task", "create_future", "sleep", "ensure_future", "weakref", "inspect_weakref", "drop", "gc", "log", "await"],
    brokenBy: ["mutant:gather-holds-nothing"],
    evidence: [mainRanToItsEnd],
    scenarios: () => holdsChildrenArb,
    check: ({ scenario, trace }) => checkHoldsChildren(scenario, trace),
  }),
];

/** With return_exceptions the results (exceptions included) in argument order; without, the order or the first exception. */
function checkReturnExceptionsOrOrder(scenario: Scenario, trace: Trace): Verdict {
  const g = gatherOf(scenario);
  if (g.return_exceptions) return checkReturnExceptions(scenario, trace);
  return checkOrder(scenario, trace);
}
