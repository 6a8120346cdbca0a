/**
 * fast-check arbitraries for aiospec scenarios (language v1).
 *
 * Generated scenarios are valid and terminating by construction:
 *   - coroutines[0] is "main", the others are "c1", "c2", ...;
 *   - coroutine i only names coroutines with a higher index (call,
 *     create_task, await {coro}, gather {coro}), so the call graph is acyclic;
 *   - every task handle a step names (await {task}, cancel, inspect, gather
 *     {task}) is bound by some create_task of the scenario. It may still be
 *     unbound when the step runs (an `unbound` event), which is allowed;
 *   - no task waits for itself, even through other tasks or gathers: code of
 *     coroutine k only awaits / gathers handles bound to coroutines > k (see
 *     Resolver). A wait cycle would deadlock, and cancelling a task in it
 *     recurses without end (RecursionError in CPython, a JS stack overflow
 *     in the reference). cancel and inspect may name any handle;
 *   - no loops, bodies of at most `maxSteps` steps, try nested at most
 *     `maxDepth` deep, gathers of at most 3 parts, sleeps of 0..3 ticks.
 *
 * How it is built, for shrinking: the arbitraries generate a *raw* scenario in
 * which every reference is an abstract number (a coroutine offset, an index
 * into "the handles created so far"), from fc.record / fc.array / fc.oneof
 * only, with no filter. One `.map` (`lowerScenario`) turns the raw scenario
 * into a concrete one: it resolves coroutine offsets against the coroutines
 * that exist, allocates handle names t0..t3 to create_task steps, resolves
 * handle references against the handles actually created (preferring those
 * created earlier in the same coroutine; a reference with nothing to name
 * becomes a log step), and numbers log labels. Because of that, fast-check's
 * own shrinking of arrays (dropping steps, coroutines, gather parts) and of
 * values always yields another valid scenario. Every step oneof cross-shrinks
 * to a plain log step, so a failing scenario usually shrinks to a handful of
 * steps.
 *
 * Everything is deterministic for a given fast-check seed.
 */
import fc from "fast-check";
import type {
  Awaitable, CatchableType, ExceptClause, ExceptionSpec, RaisableType, Scalar, Scenario, Step,
} from "./types";
import { OPS } from "./types";

export type PythonVersion = "3.11" | "3.12" | "3.13";

export interface ScenarioArbOptions {
  /**
   * The Python version the scenarios target. Every v1 operation means the
   * same on 3.11..3.13, so today this does not change what is generated; it
   * is where version-specific operations will be switched on.
   */
  version?: PythonVersion;
  /** Number of coroutines, main included: 1..maxCoroutines (default 4). */
  maxCoroutines?: number;
  /** Steps of one coroutine body (top level): 0..maxSteps (default 6). */
  maxSteps?: number;
  /** How deep try steps nest (default 2; 0 means no try at all). */
  maxDepth?: number;
}

// ---------------------------------------------------------------- kinds

/**
 * The operation kinds a generated scenario can contain: every op of the
 * scenario language, and the kind of each awaitable.
 */
export const OPERATION_KINDS = [
  ...OPS,
  "await:task",
  "await:coro",
  "await:sleep",
  "await:gather",
] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/**
 * Finer features the generator also guarantees to produce (the frequency
 * test checks these too): the variants of ops the brief asks for.
 */
export const FEATURE_KINDS = [
  "create_task:named",
  "create_task:unnamed",
  "cancel:msg",
  "cancel:no_msg",
  "await:gather:return_exceptions",
  "await:gather:no_return_exceptions",
  "await:gather:empty",
  "await:gather:nested",
  "raise:CancelledError:msg",
  "raise:CancelledError:no_msg",
  "try:except",
  "try:finally",
  "try:reraise",
  "try:nested",
  "return:value",
  "sleep:0",
  "sleep:>0",
] as const;
export type FeatureKind = (typeof FEATURE_KINDS)[number];

function awaitableKinds(a: Awaitable, out: Set<string>): void {
  if ("task" in a) out.add("await:task");
  else if ("coro" in a) out.add("await:coro");
  else if ("sleep" in a) out.add("await:sleep");
  else if ("gather" in a) {
    out.add("await:gather");
    for (const p of a.gather) awaitableKinds(p, out);
  }
}

function* allSteps(steps: Step[]): Generator<Step> {
  for (const s of steps) {
    yield s;
    if (s.op === "try") {
      yield* allSteps(s.body);
      for (const h of s.except ?? []) yield* allSteps(h.body ?? []);
      yield* allSteps(s.finally ?? []);
    }
  }
}

function* scenarioSteps(scenario: Scenario): Generator<Step> {
  for (const c of scenario.coroutines) yield* allSteps(c.body);
}

/**
 * The operation kinds present in a scenario (each once, in OPERATION_KINDS
 * order), nested try bodies and gather children included.
 */
export function operationKinds(scenario: Scenario): OperationKind[] {
  const found = new Set<string>();
  for (const s of scenarioSteps(scenario)) {
    found.add(s.op);
    if (s.op === "await") awaitableKinds(s.on, found);
  }
  return OPERATION_KINDS.filter((k) => found.has(k));
}

/** The FEATURE_KINDS present in a scenario (each once, in FEATURE_KINDS order). */
export function featureKinds(scenario: Scenario): FeatureKind[] {
  const found = new Set<string>();
  const gathers = (a: Awaitable, nested: boolean): void => {
    if (!("gather" in a)) return;
    found.add(a.return_exceptions ? "await:gather:return_exceptions" : "await:gather:no_return_exceptions");
    if (a.gather.length === 0) found.add("await:gather:empty");
    if (nested) found.add("await:gather:nested");
    for (const p of a.gather) gathers(p, true);
  };
  const tries = (steps: Step[], depth: number): void => {
    for (const s of steps) {
      if (s.op !== "try") continue;
      if (depth > 0) found.add("try:nested");
      tries(s.body, depth + 1);
      for (const h of s.except ?? []) tries(h.body ?? [], depth + 1);
      tries(s.finally ?? [], depth + 1);
    }
  };
  for (const c of scenario.coroutines) tries(c.body, 0);
  for (const s of scenarioSteps(scenario)) {
    switch (s.op) {
      case "create_task":
        found.add(s.name !== undefined ? "create_task:named" : "create_task:unnamed");
        break;
      case "cancel":
        found.add(s.msg !== undefined ? "cancel:msg" : "cancel:no_msg");
        break;
      case "await":
        gathers(s.on, false);
        break;
      case "raise":
        if (s.exc.type === "CancelledError") {
          found.add((s.exc.args ?? []).length > 0 ? "raise:CancelledError:msg" : "raise:CancelledError:no_msg");
        }
        break;
      case "try":
        if ((s.except ?? []).length > 0) found.add("try:except");
        if (s.finally !== undefined) found.add("try:finally");
        if ((s.except ?? []).some((h) => h.reraise)) found.add("try:reraise");
        break;
      case "return":
        if (s.value !== undefined) found.add("return:value");
        break;
      case "sleep":
        found.add(s.ticks === 0 ? "sleep:0" : "sleep:>0");
        break;
    }
  }
  return FEATURE_KINDS.filter((k) => found.has(k));
}

// ---------------------------------------------------------------- raw scenarios

/** A reference to a task handle, resolved by lowerScenario. */
export interface RawRef {
  /** Prefer a handle created earlier in the same coroutine. */
  local: boolean;
  /** Which one: 0 is the most recent local handle, or the first handle of the scenario. */
  i: number;
}

export type RawAwaitable =
  | { k: "task"; ref: RawRef }
  | { k: "coro"; c: number }
  | { k: "sleep"; ticks: number; result?: Scalar }
  | { k: "gather"; parts: RawAwaitable[]; returnExceptions?: boolean };

export interface RawClause { type: CatchableType; body: RawStep[]; reraise: boolean }

export type RawStep =
  | { op: "log" }
  | { op: "sleep"; ticks: number }
  | { op: "call"; c: number }
  | { op: "await"; on: RawAwaitable }
  | { op: "create_task"; c: number; reuse?: number; name?: string }
  | { op: "cancel"; ref: RawRef; msg?: string }
  | { op: "inspect"; ref: RawRef }
  | { op: "raise"; exc: ExceptionSpec }
  | { op: "return"; value?: Scalar }
  | { op: "try"; body: RawStep[]; except: RawClause[]; finally?: RawStep[] }
  /**
   * spawn a task, then (each part optional) let it run, cancel it, and wait
   * for it: plain await, or in a try that catches the cancellation.
   */
  | {
      op: "spawn";
      c: number;
      name?: string;
      pause?: number;
      cancel?: { msg?: string };
      wait: "none" | "await" | "try" | "inspect";
      finallySleep: boolean;
    };

export interface RawScenario {
  main: RawStep[];
  others: RawStep[][];
  /** Rarely: turn one raise of the scenario into KeyboardInterrupt / SystemExit. */
  interrupt?: { type: "KeyboardInterrupt" | "SystemExit"; which: number };
}

// ---------------------------------------------------------------- leaf arbitraries

type Weighted<T> = { arbitrary: fc.Arbitrary<T>; weight: number };
const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>): Weighted<T> => ({ arbitrary, weight });

/** undefined (the shrink target) or a value, present with probability pct %. */
function maybe<T>(arb: fc.Arbitrary<T>, pct: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ withCrossShrink: true }, w(100 - pct, fc.constant(undefined)), w(pct, arb));
}

/**
 * An array of 0..maxLength items that is rarely empty: an optional first
 * item (present with probability leadPct %) and 0..maxLength-1 more.
 *
 * Why not fc.array with minLength: fast-check's array shrinker keeps
 * minLength for every suffix it shrinks, so with minLength 1 the last item of
 * [needed, unneeded] can never be dropped. Here both parts shrink to nothing.
 */
export function leadArray<T>(item: fc.Arbitrary<T>, maxLength: number, leadPct: number): fc.Arbitrary<T[]> {
  if (maxLength <= 0) return fc.constant([]);
  return fc
    .record({ lead: maybe(item, leadPct), rest: fc.array(item, { maxLength: maxLength - 1, size: "max" }) })
    .map(({ lead, rest }) => (lead === undefined ? [...rest] : [lead, ...rest]));
}

/** Sleep ticks: 0 most often (same-tick orderings matter most), else 1..3. */
export const ticksArb: fc.Arbitrary<number> = fc.oneof(
  { withCrossShrink: true },
  w(11, fc.constant(0)),
  w(5, fc.constant(1)),
  w(2, fc.constant(2)),
  w(1, fc.constant(3)),
);

/** Small values: null, small ints, short strings. */
export const scalarArb: fc.Arbitrary<Scalar> = fc.oneof(
  { withCrossShrink: true },
  w(1, fc.constant(null)),
  w(3, fc.integer({ min: 0, max: 9 })),
  w(1, fc.integer({ min: -3, max: -1 })),
  w(2, fc.constantFrom("ok", "x", "done", "")),
);

const taskNameArb = fc.constantFrom("n1", "n2", "n3");
const msgArb = fc.constantFrom("stop", "m", "bye");
const excArgArb: fc.Arbitrary<Scalar> = fc.oneof(
  { withCrossShrink: true },
  w(4, fc.constantFrom("boom", "e", "oops")),
  w(1, fc.integer({ min: 0, max: 9 })),
);

/** Exceptions a raise step throws (KeyboardInterrupt / SystemExit come from RawScenario.interrupt). */
export const exceptionArb: fc.Arbitrary<ExceptionSpec> = fc
  .record({
    type: fc.oneof(
      w(4, fc.constant<RaisableType>("ValueError")),
      w(2, fc.constant<RaisableType>("KeyError")),
      w(3, fc.constant<RaisableType>("CustomError")),
      w(2, fc.constant<RaisableType>("RuntimeError")),
      w(2, fc.constant<RaisableType>("TimeoutError")),
      w(4, fc.constant<RaisableType>("CancelledError")),
    ),
    arg: maybe(excArgArb, 55),
  })
  .map(({ type, arg }) => (arg === undefined ? { type } : { type, args: [arg] }));

/** Types an except clause names, cancellation and the broad classes often. */
export const catchableArb: fc.Arbitrary<CatchableType> = fc.oneof(
  w(10, fc.constant<CatchableType>("CancelledError")),
  w(8, fc.constant<CatchableType>("Exception")),
  w(4, fc.constant<CatchableType>("BaseException")),
  w(6, fc.constant<CatchableType>("ValueError")),
  w(4, fc.constant<CatchableType>("CustomError")),
  w(2, fc.constant<CatchableType>("KeyError")),
  w(2, fc.constant<CatchableType>("RuntimeError")),
  w(3, fc.constant<CatchableType>("TimeoutError")),
  w(1, fc.constant<CatchableType>("KeyboardInterrupt")),
  w(1, fc.constant<CatchableType>("SystemExit")),
);

const refArb: fc.Arbitrary<RawRef> = fc.record({
  local: fc.oneof({ withCrossShrink: true }, w(3, fc.constant(true)), w(2, fc.constant(false))),
  i: fc.nat(7),
});

/** Offset of a callee among the coroutines after the caller. */
const calleeArb = fc.nat(5);

// ---------------------------------------------------------------- awaitables

function gatherArb(part: fc.Arbitrary<RawAwaitable>): fc.Arbitrary<RawAwaitable> {
  return fc.record({
    k: fc.constant("gather" as const),
    parts: leadArray(part, 3, 85),
    returnExceptions: fc.oneof(
      { withCrossShrink: true },
      w(3, fc.constant(undefined)),
      w(4, fc.constant(true)),
      w(1, fc.constant(false)),
    ),
  }) as fc.Arbitrary<RawAwaitable>;
}

const taskAwArb: fc.Arbitrary<RawAwaitable> = fc.record({ k: fc.constant("task" as const), ref: refArb });
const coroAwArb: fc.Arbitrary<RawAwaitable> = fc.record({ k: fc.constant("coro" as const), c: calleeArb });
const sleepAwArb: fc.Arbitrary<RawAwaitable> = fc
  .record({ ticks: ticksArb, result: maybe(scalarArb, 40) })
  .map(({ ticks, result }) => (result === undefined ? { k: "sleep" as const, ticks } : { k: "sleep" as const, ticks, result }));

const innerPartArb: fc.Arbitrary<RawAwaitable> = fc.oneof(
  { withCrossShrink: true },
  w(1, sleepAwArb),
  w(3, taskAwArb),
  w(3, coroAwArb),
);
const partArb: fc.Arbitrary<RawAwaitable> = fc.oneof(
  { withCrossShrink: true },
  w(1, sleepAwArb),
  w(4, taskAwArb),
  w(4, coroAwArb),
  w(1, gatherArb(innerPartArb)),
);

/** What an await step awaits. */
export const awaitableArb: fc.Arbitrary<RawAwaitable> = fc.oneof(
  { withCrossShrink: true },
  w(2, sleepAwArb),
  w(6, taskAwArb),
  w(3, coroAwArb),
  w(4, gatherArb(partArb)),
);

// ---------------------------------------------------------------- steps

type Context = "main" | "other" | "tryBody" | "handler" | "finally";

/** Weights of each step kind per context ([log, sleep, call, await, create_task, spawn, cancel, inspect, raise, return, try]). */
const WEIGHTS: Record<Context, number[]> = {
  //          log sleep call await create spawn cancel inspect raise return try
  main:     [  2,   4,   2,   6,    7,    10,    5,     2,     2,    1,    4],
  other:    [  3,   5,   3,   5,    3,     1,    5,     2,     4,    3,    5],
  tryBody:  [  2,   4,   2,   6,    2,     0,    3,     1,    6,    2,    2],
  handler:  [  3,   4,   1,   2,    1,     0,    3,     2,    2,    2,    1],
  finally:  [  3,   8,   0,   2,    0,     0,    2,     2,    1,    1,    0],
};

const logArb: fc.Arbitrary<RawStep> = fc.constant({ op: "log" as const });

const simpleArbs = {
  sleep: fc.record({ op: fc.constant("sleep" as const), ticks: ticksArb }) as fc.Arbitrary<RawStep>,
  call: fc.record({ op: fc.constant("call" as const), c: calleeArb }) as fc.Arbitrary<RawStep>,
  await: fc.record({ op: fc.constant("await" as const), on: awaitableArb }) as fc.Arbitrary<RawStep>,
  create: fc
    .record({ c: calleeArb, reuse: maybe(fc.nat(3), 12), name: maybe(taskNameArb, 30) })
    .map(({ c, reuse, name }) => {
      const s: RawStep = { op: "create_task", c };
      if (reuse !== undefined) s.reuse = reuse;
      if (name !== undefined) s.name = name;
      return s;
    }),
  spawn: fc
    .record({
      c: calleeArb,
      name: maybe(taskNameArb, 25),
      pause: maybe(ticksArb, 50),
      cancel: maybe(fc.record({ msg: maybe(msgArb, 35) }), 70),
      wait: fc.oneof(
        { withCrossShrink: true },
        w(1, fc.constant("none" as const)),
        w(3, fc.constant("await" as const)),
        w(4, fc.constant("try" as const)),
        w(1, fc.constant("inspect" as const)),
      ),
      finallySleep: fc.boolean(),
    })
    .map((r) => {
      const s: RawStep & { op: "spawn" } = { op: "spawn", c: r.c, wait: r.wait, finallySleep: r.finallySleep };
      if (r.name !== undefined) s.name = r.name;
      if (r.pause !== undefined) s.pause = r.pause;
      if (r.cancel !== undefined) s.cancel = r.cancel.msg === undefined ? {} : { msg: r.cancel.msg };
      return s as RawStep;
    }),
  cancel: fc
    .record({ ref: refArb, msg: maybe(msgArb, 40) })
    .map(({ ref, msg }) => (msg === undefined ? { op: "cancel" as const, ref } : { op: "cancel" as const, ref, msg })),
  inspect: fc.record({ op: fc.constant("inspect" as const), ref: refArb }) as fc.Arbitrary<RawStep>,
  raise: fc.record({ op: fc.constant("raise" as const), exc: exceptionArb }) as fc.Arbitrary<RawStep>,
  return: maybe(scalarArb, 90).map((value): RawStep => (value === undefined ? { op: "return" } : { op: "return", value })),
};

/**
 * Arbitraries of raw steps, per context and try depth (depth = how many try
 * steps enclose the step). Built once per options and cached.
 */
class StepArbs {
  private cache = new Map<string, fc.Arbitrary<RawStep>>();
  constructor(readonly maxDepth: number) {}

  step(ctx: Context, depth: number): fc.Arbitrary<RawStep> {
    const key = `${ctx}/${depth}`;
    let arb = this.cache.get(key);
    if (arb === undefined) {
      arb = this.build(ctx, depth);
      this.cache.set(key, arb);
    }
    return arb;
  }

  /** 0..max steps; leadPct: how likely a first step is (see leadArray). */
  body(ctx: Context, depth: number, max: number, leadPct: number): fc.Arbitrary<RawStep[]> {
    return leadArray(this.step(ctx, depth), max, leadPct);
  }

  private build(ctx: Context, depth: number): fc.Arbitrary<RawStep> {
    const [log, sleep, call, aw, create, spawn, cancel, inspect, raise, ret, tr] = WEIGHTS[ctx];
    const options: Weighted<RawStep>[] = [
      w(log, logArb),
      w(sleep, simpleArbs.sleep),
      w(call, simpleArbs.call),
      w(aw, simpleArbs.await),
      w(create, simpleArbs.create),
      w(cancel, simpleArbs.cancel),
      w(inspect, simpleArbs.inspect),
      w(raise, simpleArbs.raise),
      w(ret, simpleArbs.return),
    ];
    if (depth === 0 && spawn > 0) options.push(w(spawn, simpleArbs.spawn));
    if (depth < this.maxDepth && tr > 0) options.push(w(tr, this.tryArb(depth + 1)));
    return fc.oneof({ withCrossShrink: true }, ...options.filter((o) => o.weight > 0));
  }

  /** A try step whose own body is at `depth`. */
  private tryArb(depth: number): fc.Arbitrary<RawStep> {
    const clause: fc.Arbitrary<RawClause> = fc.record({
      type: catchableArb,
      body: fc.array(this.step("handler", depth), { maxLength: 2, size: "max" }),
      reraise: fc.oneof({ withCrossShrink: true }, w(2, fc.constant(false)), w(1, fc.constant(true))),
    });
    return fc
      .record({
        body: this.body("tryBody", depth, 3, 95),
        except: fc.array(clause, { maxLength: 2, size: "max" }),
        finally: maybe(this.body("finally", depth, 2, 90), 50),
      })
      .map((r): RawStep => {
        const s: RawStep & { op: "try" } = { op: "try", body: r.body, except: r.except };
        if (r.finally !== undefined) s.finally = r.finally;
        return s;
      });
  }
}

// ---------------------------------------------------------------- lowering

type MidRef = RawRef | string; // a string is an already-known handle
type MidAwaitable =
  | { task: MidRef }
  | { coro: string }
  | { sleep: number; result?: Scalar }
  | { gather: MidAwaitable[]; return_exceptions?: boolean };
type MidStep =
  | Exclude<Step, { op: "await" } | { op: "cancel" } | { op: "inspect" } | { op: "try" }>
  | { op: "await"; on: MidAwaitable }
  | { op: "cancel"; task: MidRef; msg?: string }
  | { op: "inspect"; task: MidRef }
  | { op: "try"; body: MidStep[]; except?: Array<{ type: CatchableType; body?: MidStep[]; reraise?: boolean }>; finally?: MidStep[] };

const HANDLE_POOL = 4;

function coroName(i: number): string {
  return i === 0 ? "main" : `c${i}`;
}

/** Pass 1: expand spawn steps, truncate bodies, resolve callees, allocate handles. */
class Lowerer {
  /** Handles allocated, in allocation order (distinct). */
  readonly handles: string[] = [];
  /** Per handle, the lowest index of a coroutine some create_task binds it to. */
  readonly lowestCallee = new Map<string, number>();
  private fresh = 0;

  constructor(readonly n: number, readonly maxSteps: number, readonly maxDepth: number) {}

  calleeIndex(from: number, c: number): number | null {
    const above = this.n - from - 1;
    return above > 0 ? from + 1 + (c % above) : null;
  }

  callee(from: number, c: number): string | null {
    const i = this.calleeIndex(from, c);
    return i === null ? null : coroName(i);
  }

  allocate(reuse: number | undefined, callee: number): string {
    let h: string;
    if (reuse !== undefined && this.handles.length > 0) h = this.handles[reuse % this.handles.length];
    else {
      h = `t${this.fresh++ % HANDLE_POOL}`;
      if (!this.handles.includes(h)) this.handles.push(h);
    }
    this.lowestCallee.set(h, Math.min(callee, this.lowestCallee.get(h) ?? Infinity));
    return h;
  }

  awaitable(from: number, a: RawAwaitable): MidAwaitable {
    switch (a.k) {
      case "task":
        return { task: a.ref };
      case "coro": {
        const callee = this.callee(from, a.c);
        return callee !== null ? { coro: callee } : { sleep: 0 };
      }
      case "sleep":
        return a.result === undefined ? { sleep: a.ticks } : { sleep: a.ticks, result: a.result };
      case "gather": {
        const parts: MidAwaitable[] = [];
        for (const p of a.parts) {
          if (p.k === "coro" && this.callee(from, p.c) === null) continue; // nothing to call: drop the part
          parts.push(this.awaitable(from, p));
        }
        return a.returnExceptions === undefined ? { gather: parts } : { gather: parts, return_exceptions: a.returnExceptions };
      }
    }
  }

  steps(from: number, raw: RawStep[], depth: number): MidStep[] {
    const out: MidStep[] = [];
    for (const s of raw) out.push(...this.step(from, s, depth));
    return out;
  }

  topBody(from: number, raw: RawStep[]): MidStep[] {
    // Expand spawn motifs first, then keep the body within maxSteps; only
    // then allocate handles, so that cut-off steps allocate none.
    const expanded: RawStep[] = [];
    for (const s of raw) {
      if (s.op === "spawn") expanded.push(...this.expandSpawn(s));
      else expanded.push(s);
    }
    return this.steps(from, expanded.slice(0, this.maxSteps), 0);
  }

  /** Spawn as plain raw steps; the handle is fixed later via a marker. */
  private expandSpawn(s: RawStep & { op: "spawn" }): RawStep[] {
    const marker: RawStep = { op: "create_task", c: s.c };
    if (s.name !== undefined) marker.name = s.name;
    const ref: SpawnRef = { local: true, i: 0, spawned: true };
    const out: RawStep[] = [marker];
    if (s.pause !== undefined) out.push({ op: "sleep", ticks: s.pause });
    if (s.cancel !== undefined) {
      out.push(s.cancel.msg === undefined ? { op: "cancel", ref } : { op: "cancel", ref, msg: s.cancel.msg });
    }
    if (s.wait === "await") out.push({ op: "await", on: { k: "task", ref } });
    else if (s.wait === "inspect") out.push({ op: "inspect", ref });
    else if (s.wait === "try") {
      if (this.maxDepth >= 1) {
        const t: RawStep & { op: "try" } = {
          op: "try",
          body: [{ op: "await", on: { k: "task", ref } }],
          except: [{ type: "CancelledError", body: [], reraise: false }],
        };
        if (s.finallySleep) t.finally = [{ op: "sleep", ticks: 0 }];
        out.push(t);
      } else {
        out.push({ op: "await", on: { k: "task", ref } });
      }
    }
    return out;
  }

  step(from: number, s: RawStep, depth: number): MidStep[] {
    switch (s.op) {
      case "log":
        return [{ op: "log", label: "" }];
      case "sleep":
        return [{ op: "sleep", ticks: s.ticks }];
      case "call": {
        const callee = this.callee(from, s.c);
        return [callee !== null ? { op: "call", coro: callee } : { op: "log", label: "" }];
      }
      case "await":
        return [{ op: "await", on: this.awaitable(from, s.on) }];
      case "create_task": {
        const callee = this.calleeIndex(from, s.c);
        if (callee === null) return [{ op: "log", label: "" }];
        const out: MidStep = { op: "create_task", coro: coroName(callee), task: this.allocate(s.reuse, callee) };
        if (s.name !== undefined) out.name = s.name;
        return [out];
      }
      case "cancel":
        return [s.msg === undefined ? { op: "cancel", task: s.ref } : { op: "cancel", task: s.ref, msg: s.msg }];
      case "inspect":
        return [{ op: "inspect", task: s.ref }];
      case "raise":
        return [{ op: "raise", exc: s.exc.args ? { type: s.exc.type, args: [...s.exc.args] } : { type: s.exc.type } }];
      case "return":
        return [s.value === undefined ? { op: "return" } : { op: "return", value: s.value }];
      case "try": {
        if (depth >= this.maxDepth) return [{ op: "log", label: "" }]; // cannot happen with StepArbs
        const out: MidStep & { op: "try" } = { op: "try", body: this.steps(from, s.body, depth + 1) };
        if (s.except.length > 0) {
          out.except = s.except.map((h) => {
            const c: { type: CatchableType; body?: MidStep[]; reraise?: boolean } = { type: h.type };
            const body = this.steps(from, h.body, depth + 1);
            if (body.length > 0) c.body = body;
            if (h.reraise) c.reraise = true;
            return c;
          });
        }
        if (s.finally !== undefined) out.finally = this.steps(from, s.finally, depth + 1);
        else if (s.except.length === 0) out.finally = []; // try: ... finally: pass
        return [out];
      }
      case "spawn":
        // Only at top level (topBody expands them); elsewhere treat as its create_task.
        return this.steps(from, this.expandSpawn(s).slice(0, 1), depth);
    }
  }
}

interface SpawnRef extends RawRef {
  /** Names the handle of the create_task just before (a spawn motif). */
  spawned: true;
}

/**
 * Pass 2: resolve handle references, number log labels.
 *
 * Awaiting is restricted so that no task can (transitively) wait for itself:
 * code of coroutine k awaits (or gathers) only handles that every create_task
 * binds to coroutines of index > k. A task runs its root coroutine r and,
 * inline, coroutines of index >= r, so every task waits only for tasks of a
 * higher root: the wait-for graph is acyclic. Without that, task A awaiting
 * B while B awaits A deadlocks, and cancelling either recurses for ever
 * (Task.cancel cancels the future it waits on), in CPython as anywhere.
 * cancel and inspect may name any handle, the running task's own included.
 */
class Resolver {
  private label = 0;
  constructor(readonly all: string[], readonly lowestCallee: Map<string, number>) {}

  nextLabel(): string {
    const k = this.label++;
    const letter = String.fromCharCode(97 + (k % 26));
    return k < 26 ? letter : `${letter}${Math.floor(k / 26)}`;
  }

  /** Resolve a reference from code of coroutine `from`; `await` restricts it to awaitable handles. */
  ref(r: MidRef, local: string[], from: number, forAwait: boolean): string | null {
    if (typeof r === "string") return r;
    const ok = (h: string): boolean => !forAwait || (this.lowestCallee.get(h) ?? -1) > from;
    if ((r as SpawnRef).spawned) {
      const h = local.length > 0 ? local[local.length - 1] : null;
      return h !== null && ok(h) ? h : null;
    }
    const mine = forAwait ? local.filter(ok) : local;
    if (r.local && mine.length > 0) return mine[mine.length - 1 - (r.i % mine.length)];
    const all = forAwait ? this.all.filter(ok) : this.all;
    if (all.length > 0) return all[r.i % all.length];
    return null;
  }

  awaitable(a: MidAwaitable, local: string[], from: number): Awaitable | null {
    if ("task" in a) {
      const t = this.ref(a.task, local, from, true);
      return t === null ? null : { task: t };
    }
    if ("gather" in a) {
      const parts: Awaitable[] = [];
      for (const p of a.gather) {
        const q = this.awaitable(p, local, from);
        if (q !== null) parts.push(q);
      }
      return a.return_exceptions === undefined ? { gather: parts } : { gather: parts, return_exceptions: a.return_exceptions };
    }
    return a;
  }

  steps(steps: MidStep[], local: string[], from: number): Step[] {
    return steps.map((s) => this.step(s, local, from));
  }

  step(s: MidStep, local: string[], from: number): Step {
    switch (s.op) {
      case "log":
        return { op: "log", label: this.nextLabel() };
      case "create_task":
        local.push(s.task);
        return s;
      case "await": {
        const on = this.awaitable(s.on, local, from);
        return on === null ? { op: "log", label: this.nextLabel() } : { op: "await", on };
      }
      case "cancel": {
        const t = this.ref(s.task, local, from, false);
        if (t === null) return { op: "log", label: this.nextLabel() };
        return s.msg === undefined ? { op: "cancel", task: t } : { op: "cancel", task: t, msg: s.msg };
      }
      case "inspect": {
        const t = this.ref(s.task, local, from, false);
        return t === null ? { op: "log", label: this.nextLabel() } : { op: "inspect", task: t };
      }
      case "try": {
        const out: Step & { op: "try" } = { op: "try", body: this.steps(s.body, local, from) };
        if (s.except !== undefined) {
          out.except = s.except.map((h) => {
            const c: ExceptClause = { type: h.type };
            if (h.body !== undefined) c.body = this.steps(h.body, local, from);
            if (h.reraise) c.reraise = true;
            return c;
          });
        }
        if (s.finally !== undefined) out.finally = this.steps(s.finally, local, from);
        return out;
      }
      default:
        return s;
    }
  }
}

export interface LowerOptions {
  maxSteps: number;
  maxDepth: number;
  /** Handles to treat as bound (to tasks nobody in the scenario waits for), besides those created. */
  assumeHandles?: string[];
}

/** Turn a raw scenario into a concrete, valid one (pure: does not modify `raw`). */
export function lowerScenario(raw: RawScenario, opts: LowerOptions = { maxSteps: 6, maxDepth: 2 }): Scenario {
  const bodies = [raw.main, ...raw.others];
  const lowerer = new Lowerer(bodies.length, opts.maxSteps, opts.maxDepth);
  const mid = bodies.map((b, i) => lowerer.topBody(i, b));
  for (const h of opts.assumeHandles ?? []) {
    if (!lowerer.handles.includes(h)) lowerer.handles.push(h);
    if (!lowerer.lowestCallee.has(h)) lowerer.lowestCallee.set(h, Infinity);
  }
  const resolver = new Resolver(lowerer.handles, lowerer.lowestCallee);
  const coroutines = mid.map((b, i) => ({ name: coroName(i), body: resolver.steps(b, [], i) }));
  const scenario: Scenario = { aiospec: 1, coroutines };
  if (raw.interrupt !== undefined) {
    // Every step object here was built by pass 1 or 2 (never shared with
    // `raw`), so changing one in place does not touch the raw value.
    const raises: Array<Step & { op: "raise" }> = [];
    for (const s of scenarioSteps(scenario)) if (s.op === "raise") raises.push(s);
    if (raises.length > 0) {
      const r = raises[raw.interrupt.which % raises.length];
      r.exc = { type: raw.interrupt.type };
    }
  }
  return scenario;
}

// ---------------------------------------------------------------- public arbitraries

function normalise(opts: ScenarioArbOptions): Required<ScenarioArbOptions> {
  const int = (v: number | undefined, dflt: number, min: number): number =>
    v === undefined ? dflt : Math.max(min, Math.floor(v));
  return {
    version: opts.version ?? "3.13",
    maxCoroutines: int(opts.maxCoroutines, 4, 1),
    maxSteps: int(opts.maxSteps, 6, 0),
    maxDepth: int(opts.maxDepth, 2, 0),
  };
}

/** Raw steps in a given context (main body, other bodies, try bodies, ...), at try depth `depth`. */
export function rawStepArb(context: Context = "other", depth = 0, maxDepth = 2): fc.Arbitrary<RawStep> {
  return new StepArbs(maxDepth).step(context, depth);
}

/** The raw scenario arbitrary (before lowering); shrinks the same way as scenarioArb. */
export function rawScenarioArb(opts: ScenarioArbOptions = {}): fc.Arbitrary<RawScenario> {
  const o = normalise(opts);
  const arbs = new StepArbs(o.maxDepth);
  return fc
    .record({
      // Main mostly starts by spawning a task (the interesting part of most
      // scenarios); that lead step shrinks away like any other.
      main: fc
        .record({
          lead: maybe(simpleArbs.spawn, 60),
          rest: arbs.body("main", 0, o.maxSteps, 85),
        })
        .map(({ lead, rest }) => (lead === undefined ? rest : [lead, ...rest])),
      // Mostly 2..maxCoroutines coroutines (tasks need somewhere to run);
      // main alone is the shrink target.
      others: leadArray(arbs.body("other", 0, o.maxSteps, 85), o.maxCoroutines - 1, 90),
      interrupt: fc.oneof(
        { withCrossShrink: true },
        w(80, fc.constant(undefined)),
        w(
          2,
          fc.record({
            type: fc.constantFrom("KeyboardInterrupt" as const, "SystemExit" as const),
            which: fc.nat(3),
          }),
        ),
      ),
    })
    .map((r) => {
      const out: RawScenario = { main: r.main, others: r.others };
      if (r.interrupt !== undefined) out.interrupt = r.interrupt;
      return out;
    });
}

/** Valid, terminating, small scenarios using every operation. */
export function scenarioArb(opts: ScenarioArbOptions = {}): fc.Arbitrary<Scenario> {
  const o = normalise(opts);
  return rawScenarioArb(o).map((raw) => lowerScenario(raw, { maxSteps: o.maxSteps, maxDepth: o.maxDepth }));
}

/**
 * One concrete step of main, standalone: callees are "c1".."c{maxCoroutines-1}",
 * and handle references name handles the step creates or one of
 * `handles` (default t0, t1), which the caller must bind (to tasks of
 * coroutines other than main, to keep waits acyclic). A spawn motif yields
 * its create_task only. For tests and examples; properties should use
 * scenarioArb, which keeps whole scenarios valid.
 */
export function stepArb(opts: ScenarioArbOptions & { handles?: string[] } = {}): fc.Arbitrary<Step> {
  const o = normalise(opts);
  const handles = opts.handles ?? ["t0", "t1"];
  const others: RawStep[][] = Array.from({ length: o.maxCoroutines - 1 }, () => []);
  return rawStepArb("main", 0, o.maxDepth).map((raw) => {
    const s = lowerScenario({ main: [raw], others }, { maxSteps: 1, maxDepth: o.maxDepth, assumeHandles: handles });
    return s.coroutines[0].body[0];
  });
}
