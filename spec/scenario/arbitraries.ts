/**
 * fast-check arbitraries for aiospec scenarios (language v1, the whole task API).
 *
 * Generated scenarios are valid and terminating by construction:
 *   - coroutines[0] is "main", the others are "c1", "c2", ...; coroutine i
 *     only names coroutines with a higher index (call, create_task, {coro}
 *     awaitables, anywhere), so the call/spawn graph is acyclic;
 *   - callbacks ("cb0", "cb1", ...) have sync-only bodies (log, cancel,
 *     inspect, set_result / set_exception, result / exception, uncancel,
 *     set_name, current_task, all_tasks, cancel_handle, rarely raise) and
 *     only schedule (call_soon) or register (add_done_callback) callbacks
 *     defined after them, so the callback graph is acyclic too; callbacks
 *     never create tasks, so coroutines and callbacks cannot feed each other
 *     for ever;
 *   - handles live in pools per namespace: tasks t0..t3 (create_task),
 *     futures f0..f1 (create_future), TaskGroups g0..g2 (taskgroup,
 *     new_taskgroup), timeout context managers m0..m1 (timeout) and timer
 *     handles h0..h1 (call_soon / call_later / call_at). Every handle a step
 *     names is bound by some step of the scenario (it may still be unbound
 *     when the step runs: an `unbound` event, which is allowed);
 *   - no task waits for itself, even through other tasks: code of coroutine
 *     k only awaits task handles bound to coroutines > k, in every awaitable
 *     (await, gather, shield, wait_for, wait, as_completed). A wait cycle
 *     would deadlock, and cancelling a task in it recurses without end
 *     (RecursionError in CPython). Futures wait for nothing, so any future
 *     handle may be awaited; cancel / inspect / ... may name any handle;
 *   - version-aware: `eager` only for 3.12+, as_completed mode "async" only
 *     for 3.13+;
 *   - except* (`star`) tries have 1..3 clauses, never name ExceptionGroup /
 *     BaseExceptionGroup (a TypeError in Python), and have no `return`
 *     anywhere in their handler bodies (a SyntaxError in Python); an
 *     ExceptionGroup only groups Exception subclasses;
 *   - as_completed gets task / future handles and sometimes coroutines
 *     (which it wraps in tasks); wait gets handles and, rarely, a coroutine
 *     or nothing at all (the versions differ there);
 *   - after lowering, some scenarios get more (each a field of the raw
 *     scenario, so it shrinks away): gc and drop steps (gc mode, about one
 *     scenario in six), steps naming "$current" / "$main" instead of a task
 *     handle, and a top-level step wrapped in a short repeat; a scenario
 *     whose child would name its own handle in its eager first step (the
 *     validator refuses that) runs without the eager factory;
 *   - no loops, top-level bodies of at most `maxSteps` steps, blocks (try,
 *     taskgroup, timeout) nested at most `maxDepth` deep, small numbers.
 *
 * How it is built, for shrinking: the arbitraries generate a *raw* scenario
 * in which every reference is an abstract number (a coroutine or callback
 * offset, an index into "the handles created so far"), from fc.record /
 * fc.array / fc.oneof only, with no filter. One `.map` (`lowerScenario`)
 * turns it into a concrete scenario in two passes: pass 1 expands motifs,
 * truncates bodies, resolves coroutine offsets (counted from the last
 * coroutine, so that shrinking away a coroutine in between keeps a reference
 * on its target) and callback offsets, allocates handle
 * names and resolves references to lexically enclosing TaskGroups and
 * timeouts; pass 2 resolves the remaining handle references against the
 * handles actually created (preferring those created earlier in the same
 * coroutine, and respecting the waits-for rule, which needs every binding of
 * the scenario), numbers log labels and drops callbacks nothing refers to;
 * it visits, in place, only the steps pass 1 listed as needing it. A
 * reference with nothing to name becomes a log step (or, inside a list of
 * awaitables, is left out). So fast-check's own shrinking of arrays and
 * values always yields another valid scenario, and every step oneof
 * cross-shrinks to a plain log step: a failing scenario usually shrinks to
 * a handful of steps.
 *
 * Motifs (expanded in pass 1) make the interesting interleavings likely:
 *   - spawn: create a task, let it run, cancel it (directly, or from a
 *     call_later callback), then await / inspect it;
 *   - promise: create a future, arrange for it to be resolved (a call_later /
 *     call_soon callback that sets its result or exception or cancels it, or
 *     a task), then await it plainly or through wait_for / shield / wait /
 *     a timeout block / a try;
 *   - shielded: hold shield(inner) in a handle (ensure_future), sleep a
 *     little, cancel the outer future, then inspect it, so that
 *     the inner (a coroutine, a task, a future a timer settles) ends after
 *     the cancellation or in its loop iteration, with whatever outcome it
 *     has; or, instead of inspecting, drop the inner's handle (or collect),
 *     so that the scenario runs in gc mode and the collection sees what
 *     became of an exception nobody waits for.
 * Motif callbacks are synthesised and appended after the generated ones.
 *
 * Everything is deterministic for a given fast-check seed.
 */
import fc from "fast-check";
import type {
  Awaitable, CallbackDef, CatchableType, ExceptClause, ExceptionSpec, RaisableType, ReturnWhen, Scalar, Scenario,
  Step, TimeoutStep,
} from "./types";
import { OPS, forEachStep, walkSteps } from "./types";

import { atLeast } from "./versions";
import { downgradeScenario, withoutFeatures } from "./downgrade";
import { eagerSelfUseErrors } from "./validate";
import { expandScenario, knownRepeatFree } from "./repeat";
import type { PythonVersion } from "./versions";

export type { PythonVersion } from "./versions";
/** The versions the generators are written for (older ones generate what 3.11 would, less what they lack). */
export const PYTHON_VERSIONS: readonly PythonVersion[] = ["3.11", "3.12", "3.13"];

export interface ScenarioArbOptions {
  /**
   * The Python version the scenarios target: only what it supports is
   * generated (eager task factory: 3.12+; as_completed async iteration:
   * 3.13+). Default "3.13".
   */
  version?: PythonVersion;
  /** Number of coroutines, main included: 1..maxCoroutines (default 4). */
  maxCoroutines?: number;
  /** Steps of one coroutine body (top level): 0..maxSteps (default 6). */
  maxSteps?: number;
  /** How deep blocks (try, taskgroup, timeout) nest (default 2; 0 means none at all). */
  maxDepth?: number;
  /** Number of generated callbacks: 0..maxCallbacks (default 3; motifs may add more). */
  maxCallbacks?: number;
}

/** scenarioArb's options: the generators', and what to leave out. */
export interface ScenarioOptions extends ScenarioArbOptions {
  /**
   * Features (spec/scenario/validate.ts FEATURES) no scenario may use: an
   * implementation's unsupported ones. Scenarios are rewritten without them
   * (spec/scenario/downgrade.ts withoutFeatures). Default none, which gives
   * exactly the scenarios of the same seed without this option.
   */
  exclude?: readonly string[];
}

/** Does `version` have asyncio.eager_task_factory? */
export function supportsEager(version: PythonVersion): boolean {
  return atLeast(version, "3.12");
}

/** Can `version` iterate asyncio.as_completed asynchronously (async for)? */
export function supportsAsyncAsCompleted(version: PythonVersion): boolean {
  return atLeast(version, "3.13");
}

// ---------------------------------------------------------------- kinds

/**
 * The operation kinds a generated scenario can contain: every op of the
 * scenario language, the kind of each awaitable (also inside gathers,
 * waits, shields, wait_fors and as_completed), except* tries, the eager
 * task factory and async as_completed.
 */
export const OPERATION_KINDS = [
  // Of gc mode's ops, gc and drop are generated (in one scenario in six);
  // weak references come from spec/clauses/weakrefs.ts
  // (weakrefs.random_programs_match).
  ...OPS.filter((op) => !["weakref", "inspect_weakref"].includes(op)),
  "repeat",
  "handle:$current",
  "handle:$main",
  "as_completed:coro",
  "await:task",
  "await:coro",
  "await:sleep",
  "await:gather",
  "await:shield",
  "await:wait_for",
  "await:wait",
  "try:star",
  "eager",
  "as_completed:async",
] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/** The operation kinds `version` supports (what scenarioArb({ version }) can produce). */
export function operationKindsFor(version: PythonVersion): OperationKind[] {
  return OPERATION_KINDS.filter(
    (k) => (k !== "eager" || supportsEager(version)) && (k !== "as_completed:async" || supportsAsyncAsCompleted(version)),
  );
}

/**
 * Finer features the generator also guarantees to produce, in every version
 * (the frequency test checks these too): the variants of ops, and the
 * situations the generator aims at. "cancel:target:X" means some cancel step
 * names a task whose coroutine has await point X (so that cancellation can
 * arrive there).
 */
export const FEATURE_KINDS = [
  "create_task:named",
  "create_task:unnamed",
  "create_task:group",
  "create_task:group_outside",
  "create_task:new_taskgroup",
  "cancel:msg",
  "cancel:no_msg",
  "cancel:future",
  "cancel:in_finally",
  "cancel:in_handler",
  "cancel:in_callback",
  "cancel:target:sleep",
  "cancel:target:future",
  "cancel:target:taskgroup",
  "cancel:target:timeout",
  "cancel:target:wait_for",
  "cancel:target:shield",
  "cancel:target:gather",
  "cancel:target:wait",
  "cancel:target:as_completed",
  "await:future",
  "await:gather:return_exceptions",
  "await:gather:no_return_exceptions",
  "await:gather:empty",
  "await:gather:nested",
  "raise:CancelledError:msg",
  "raise:CancelledError:no_msg",
  "raise:ExceptionGroup",
  "raise:BaseExceptionGroup",
  "raise:group_nested",
  "raise:in_cancel_handler",
  "raise:in_taskgroup_body",
  "taskgroup:child_raises",
  "taskgroup:nested",
  "try:except",
  "try:finally",
  "try:reraise",
  "try:nested",
  "try:star:reraise",
  "try:star:finally",
  "try:star:multi",
  "except:group",
  "finally:await_point",
  "return:value",
  "sleep:0",
  "sleep:>0",
  "sleep:result",
  "timeout:cm",
  "timeout:at",
  "timeout:null",
  "timeout:0",
  "timeout:at:0",
  "timeout:nested",
  "reschedule:null",
  "reschedule:at",
  "reschedule:inner",
  "reschedule:outside",
  "wait:FIRST_COMPLETED",
  "wait:FIRST_EXCEPTION",
  "wait:ALL_COMPLETED",
  "wait:timeout",
  "wait:future",
  "wait:coro",
  "wait:empty",
  "wait_for:coro",
  "wait_for:task",
  "wait_for:future",
  "wait_for:shield",
  "wait_for:timeout:0",
  "wait_for:timeout:negative",
  "wait_for:timeout:null",
  "wait_for:timeout:positive",
  "shield:task",
  "shield:future",
  "shield:coro",
  "shield:outer_cancelled",
  "as_completed:timeout",
  "as_completed:task",
  "as_completed:future",
  "callback:done",
  "callback:timer",
  "callback:handle",
  "callback:chain",
  "callback:set_result",
  "callback:raise",
  "callback:uncancel",
  "callback:inspect",
  "interrupt",
] as const;
export type FeatureKind = (typeof FEATURE_KINDS)[number];

function* nestedAwaitables(a: Awaitable): Generator<Awaitable> {
  yield a;
  if ("gather" in a) for (const p of a.gather) yield* nestedAwaitables(p);
  else if ("wait" in a) for (const p of a.wait) yield* nestedAwaitables(p);
  else if ("shield" in a) yield* nestedAwaitables(a.shield);
  else if ("wait_for" in a) yield* nestedAwaitables(a.wait_for);
}

function awaitableKind(a: Awaitable): string {
  for (const k of ["task", "coro", "sleep", "gather", "shield", "wait_for", "wait"]) if (k in a) return k;
  return "?";
}

/** The awaitables a step holds directly (an await's `on`, an as_completed's parts). */
function stepAwaitables(s: Step): Awaitable[] {
  if (s.op === "await") return [s.on];
  if (s.op === "as_completed") return s.on;
  return [];
}

/**
 * The operation kinds present in a scenario (each once, in OPERATION_KINDS
 * order): nested bodies (try, taskgroup, timeout), callbacks and nested
 * awaitables included.
 */
export function operationKinds(scenario: Scenario): OperationKind[] {
  const found = new Set<string>();
  if (scenario.eager) found.add("eager");
  for (const { step } of walkSteps(scenario)) {
    found.add(step.op);
    const named = (step as { task?: unknown }).task;
    if (named === "$current" || named === "$main") found.add(`handle:${named}`);
    if (step.op === "as_completed" && step.on.some((a) => "coro" in a)) found.add("as_completed:coro");
    if (step.op === "try" && step.star) found.add("try:star");
    if (step.op === "as_completed" && step.mode === "async") found.add("as_completed:async");
    for (const a of stepAwaitables(step)) for (const x of nestedAwaitables(a)) found.add(`await:${awaitableKind(x)}`);
  }
  return OPERATION_KINDS.filter((k) => found.has(k));
}

/** Where a step sits, for featureKinds. */
interface Place {
  coro: string | null; // null in a callback
  inFinally: boolean;
  handler: CatchableType | null; // the innermost enclosing except clause
  groups: string[]; // enclosing taskgroups
  cms: string[]; // enclosing timeouts' cm handles
  taskgroups: number;
  timeouts: number;
  tries: number;
}

/** The FEATURE_KINDS present in a scenario (each once, in FEATURE_KINDS order). */
export function featureKinds(scenario: Scenario): FeatureKind[] {
  const found = new Set<string>();
  const futures = new Set<string>();
  const newGroups = new Set<string>();
  const boundTo = new Map<string, Set<string>>();
  /** Handles ensure_future binds to a shield's outer future. */
  const shieldOuters = new Set<string>();
  const bodies = new Map(scenario.coroutines.map((c) => [c.name, c.body]));
  for (const { step } of walkSteps(scenario)) {
    if (step.op === "create_future") futures.add(step.future);
    if (step.op === "ensure_future" && "shield" in step.on) shieldOuters.add(step.future);
    if (step.op === "new_taskgroup") newGroups.add(step.group);
    if (step.op === "create_task") {
      if (!boundTo.has(step.task)) boundTo.set(step.task, new Set());
      boundTo.get(step.task)!.add(step.coro);
    }
  }

  // Await points of each coroutine, inline calls included (the call graph is acyclic).
  const points = new Map<string, Set<string>>();
  const awaitPoints = (name: string, seen: Set<string> = new Set()): Set<string> => {
    const known = points.get(name);
    if (known !== undefined) return known;
    const out = new Set<string>();
    if (seen.has(name)) return out;
    seen.add(name);
    const visit = (steps: Step[]): void => {
      for (const s of steps) {
        if (s.op === "sleep" && s.ticks > 0) out.add("sleep");
        if (s.op === "taskgroup") out.add("taskgroup");
        if (s.op === "timeout") out.add("timeout");
        if (s.op === "as_completed") out.add("as_completed");
        if (s.op === "call") for (const p of awaitPoints(s.coro, seen)) out.add(p);
        for (const a of stepAwaitables(s)) {
          for (const x of nestedAwaitables(a)) {
            if ("task" in x && futures.has(x.task)) out.add("future");
            else if ("sleep" in x && x.sleep > 0) out.add("sleep");
            else if ("coro" in x) for (const p of awaitPoints(x.coro, seen)) out.add(p);
            else if (!("task" in x) && !("sleep" in x)) out.add(awaitableKind(x));
          }
        }
        if (s.op === "try") {
          visit(s.body);
          for (const h of s.except ?? []) visit(h.body ?? []);
          visit(s.finally ?? []);
        } else if (s.op === "taskgroup" || s.op === "timeout") visit(s.body);
      }
    };
    visit(bodies.get(name) ?? []);
    points.set(name, out);
    return out;
  };

  const hasRaise = (steps: Step[]): boolean => steps.some((s) => s.op === "raise");
  const raisesNonCancel = (steps: Step[]): boolean =>
    steps.some(
      (s) =>
        (s.op === "raise" && s.exc.type !== "CancelledError") ||
        (s.op === "try" && (raisesNonCancel(s.body) || raisesNonCancel(s.finally ?? []))),
    );

  const awaitable = (a: Awaitable, place: Place, nested: boolean): void => {
    if ("task" in a) {
      if (futures.has(a.task)) found.add("await:future");
    } else if ("sleep" in a) {
      if (a.result !== undefined) found.add("sleep:result");
    } else if ("gather" in a) {
      found.add(a.return_exceptions ? "await:gather:return_exceptions" : "await:gather:no_return_exceptions");
      if (a.gather.length === 0) found.add("await:gather:empty");
      if (nested) found.add("await:gather:nested");
      for (const p of a.gather) awaitable(p, place, true);
    } else if ("shield" in a) {
      const inner = a.shield;
      if ("task" in inner) found.add(futures.has(inner.task) ? "shield:future" : "shield:task");
      if ("coro" in inner) found.add("shield:coro");
      awaitable(inner, place, true);
    } else if ("wait_for" in a) {
      const inner = a.wait_for;
      if ("task" in inner) found.add(futures.has(inner.task) ? "wait_for:future" : "wait_for:task");
      if ("coro" in inner) found.add("wait_for:coro");
      if ("shield" in inner) found.add("wait_for:shield");
      if (a.timeout === null) found.add("wait_for:timeout:null");
      else if (a.timeout === 0) found.add("wait_for:timeout:0");
      else if (a.timeout < 0) found.add("wait_for:timeout:negative");
      else found.add("wait_for:timeout:positive");
      awaitable(inner, place, true);
    } else if ("wait" in a) {
      if (a.return_when !== undefined) found.add(`wait:${a.return_when}`);
      if (a.timeout !== undefined && a.timeout !== null) found.add("wait:timeout");
      if (a.wait.length === 0) found.add("wait:empty");
      for (const p of a.wait) {
        if ("task" in p && futures.has(p.task)) found.add("wait:future");
        if ("coro" in p) found.add("wait:coro");
        awaitable(p, place, true);
      }
    }
  };

  const visit = (steps: Step[], place: Place): void => {
    for (const s of steps) {
      const inCallback = place.coro === null;
      switch (s.op) {
        case "create_task":
          found.add(s.name !== undefined ? "create_task:named" : "create_task:unnamed");
          if (s.group !== undefined) {
            found.add(place.groups.includes(s.group) ? "create_task:group" : "create_task:group_outside");
            if (newGroups.has(s.group)) found.add("create_task:new_taskgroup");
            if (hasRaise(bodies.get(s.coro) ?? [])) found.add("taskgroup:child_raises");
          }
          break;
        case "cancel":
          found.add(s.msg !== undefined ? "cancel:msg" : "cancel:no_msg");
          if (futures.has(s.task)) found.add("cancel:future");
          if (place.inFinally) found.add("cancel:in_finally");
          if (place.handler !== null) found.add("cancel:in_handler");
          if (inCallback) found.add("cancel:in_callback");
          if (shieldOuters.has(s.task)) found.add("shield:outer_cancelled");
          for (const c of boundTo.get(s.task) ?? []) for (const p of awaitPoints(c)) found.add(`cancel:target:${p}`);
          break;
        case "raise":
          if (s.exc.type === "CancelledError") {
            found.add((s.exc.args ?? []).length > 0 ? "raise:CancelledError:msg" : "raise:CancelledError:no_msg");
          }
          if (s.exc.type === "ExceptionGroup" || s.exc.type === "BaseExceptionGroup") {
            found.add(`raise:${s.exc.type}`);
            if ((s.exc.exceptions ?? []).some((x) => x.exceptions !== undefined)) found.add("raise:group_nested");
          }
          if (s.exc.type === "KeyboardInterrupt" || s.exc.type === "SystemExit") found.add("interrupt");
          if (place.taskgroups > 0) found.add("raise:in_taskgroup_body");
          if (inCallback) found.add("callback:raise");
          break;
        case "try": {
          if (place.tries > 0) found.add("try:nested");
          const clauses = s.except ?? [];
          if (s.star) {
            if (clauses.some((h) => h.reraise)) found.add("try:star:reraise");
            if (s.finally !== undefined) found.add("try:star:finally");
            if (clauses.length >= 2) found.add("try:star:multi");
          } else {
            if (clauses.length > 0) found.add("try:except");
            if (s.finally !== undefined) found.add("try:finally");
            if (clauses.some((h) => h.reraise)) found.add("try:reraise");
            if (clauses.some((h) => h.type === "ExceptionGroup" || h.type === "BaseExceptionGroup")) found.add("except:group");
          }
          for (const h of clauses) {
            if ((h.type === "CancelledError" || h.type === "BaseException") && raisesNonCancel(h.body ?? [])) {
              found.add("raise:in_cancel_handler");
            }
          }
          const inner = { ...place, tries: place.tries + 1 };
          visit(s.body, inner);
          for (const h of clauses) visit(h.body ?? [], { ...inner, handler: h.type });
          if (s.finally !== undefined) {
            if (s.finally.some((x) => ["sleep", "await", "taskgroup", "timeout", "as_completed", "call"].includes(x.op))) {
              found.add("finally:await_point");
            }
            visit(s.finally, { ...inner, inFinally: true });
          }
          break;
        }
        case "return":
          if (s.value !== undefined) found.add("return:value");
          break;
        case "sleep":
          found.add(s.ticks === 0 ? "sleep:0" : "sleep:>0");
          break;
        case "taskgroup":
          if (place.taskgroups > 0) found.add("taskgroup:nested");
          visit(s.body, { ...place, groups: [...place.groups, s.group], taskgroups: place.taskgroups + 1 });
          break;
        case "timeout":
          if (s.cm !== undefined) found.add("timeout:cm");
          if (s.at) found.add("timeout:at");
          if (s.delay === null) found.add("timeout:null");
          else if (s.delay === 0 && !s.at) found.add("timeout:0");
          if (s.at && s.delay === 0) found.add("timeout:at:0");
          if (place.timeouts > 0) found.add("timeout:nested");
          visit(s.body, { ...place, cms: s.cm !== undefined ? [...place.cms, s.cm] : place.cms, timeouts: place.timeouts + 1 });
          break;
        case "reschedule":
          if (s.delay === null) found.add("reschedule:null");
          if (s.at) found.add("reschedule:at");
          found.add(place.cms.includes(s.cm) ? "reschedule:inner" : "reschedule:outside");
          break;
        case "as_completed":
          if (s.timeout !== undefined && s.timeout !== null) found.add("as_completed:timeout");
          for (const p of s.on) if ("task" in p) found.add(futures.has(p.task) ? "as_completed:future" : "as_completed:task");
          break;
        case "set_result":
          if (inCallback) found.add("callback:set_result");
          break;
        case "set_exception":
          if (inCallback) found.add("callback:set_result");
          break;
        case "uncancel":
          if (inCallback) found.add("callback:uncancel");
          break;
        case "inspect":
          if (inCallback) found.add("callback:inspect");
          break;
        case "add_done_callback":
          found.add("callback:done");
          break;
        case "call_soon":
        case "call_later":
        case "call_at":
          if (s.op !== "call_soon") found.add("callback:timer");
          if (s.handle !== undefined) found.add("callback:handle");
          if (inCallback) found.add("callback:chain");
          break;
      }
      for (const a of stepAwaitables(s)) awaitable(a, place, false);
    }
  };
  const top: Place = { coro: null, inFinally: false, handler: null, groups: [], cms: [], taskgroups: 0, timeouts: 0, tries: 0 };
  for (const c of scenario.coroutines) visit(c.body, { ...top, coro: c.name });
  for (const c of scenario.callbacks ?? []) visit(c.body, top);
  return FEATURE_KINDS.filter((k) => found.has(k));
}

// ---------------------------------------------------------------- raw scenarios

/**
 * A reference to a task or future handle, resolved by lowerScenario: an
 * index into the handles created so far, or the handle a motif just made.
 */
export type RawRef =
  | {
      /** Prefer a handle created earlier in the same coroutine. */
      local: boolean;
      /** Which one: 0 is the most recent local handle, or the first handle of the scenario. */
      i: number;
      /** Prefer a future handle (else a task handle); the other kind if there is none. */
      fut?: boolean;
    }
  /** The task / future the current motif made, or the outer future of its shield ("held"). */
  | { motif: "task" | "future" | "held" };

/** A reference to a TaskGroup or a timeout context manager. */
export interface RawScopeRef {
  /** The i-th enclosing block (innermost first), or, when false or there is none, any handle of the scenario. */
  inner: boolean;
  i: number;
}

export type RawAwaitable =
  | { k: "task"; ref: RawRef }
  | { k: "coro"; c: number }
  | { k: "sleep"; ticks: number; result?: Scalar }
  | { k: "gather"; parts: RawAwaitable[]; returnExceptions?: boolean }
  | { k: "shield"; inner: RawAwaitable }
  | { k: "wait_for"; inner: RawAwaitable; timeout: number | null }
  | { k: "wait"; parts: RawAwaitable[]; timeout?: number | null; returnWhen?: ReturnWhen };

/** The body of a callback a motif synthesises, acting on the motif's task or future. */
export type Synth =
  | { kind: "set_result"; value?: Scalar }
  | { kind: "set_exception"; exc: ExceptionSpec }
  | { kind: "cancel_future"; msg?: string }
  | { kind: "cancel_task"; msg?: string };

export interface RawClause { type: CatchableType; body: RawStep[]; reraise: boolean }

export interface SpawnMotif {
  op: "spawn";
  c: number;
  name?: string;
  pause?: number;
  /** Cancel it with a cancel step (after the pause), or from a call_later(pause) callback. */
  cancel?: { msg?: string; via: "step" | "timer" };
  wait: "none" | "await" | "try" | "inspect";
  finallySleep: boolean;
}

export interface PromiseMotif {
  op: "promise";
  /** Who resolves the future: a call_later / call_soon callback, a task (maybe), or nobody here. */
  resolver: "timer" | "soon" | "task" | "none";
  delay: number;
  settle: Synth;
  c: number;
  wrap: "await" | "wait_for" | "shield" | "timeout" | "try" | "wait" | "none";
  timeout: number | null;
  catchType: CatchableType;
}

/**
 * A shield whose outer future is held (ensure_future) and cancelled while
 * its inner may still run, so that the inner ends after the cancellation,
 * or in its very loop iteration (issue 11: what shield then does with the
 * inner's outcome was never generated).
 */
export interface ShieldedMotif {
  op: "shielded";
  /** A coroutine (shield wraps it in a task), a task of it made first, or a future a call_later callback settles. */
  inner: "coro" | "task" | "future";
  c: number;
  /** How the future inner is settled, and when. */
  settle: Synth;
  delay: number;
  /** Ticks of sleep between holding the outer and cancelling it; none: at once. */
  pause?: number;
  /**
   * After the cancel: inspect the outer (done, cancelled), or run in gc
   * mode so that the inner is collected once done: drop the inner's handle
   * (a task or future), or, for a coroutine, collect at once (in main
   * only). Never an await of the outer: its handle may be bound elsewhere
   * to a shield of a task of this very coroutine, and the validator refuses
   * a possible cycle of awaits (awaiting a cancelled outer only raises
   * CancelledError at once anyway).
   */
  then: "inspect" | "gc";
}

export type RawStep =
  | { op: "log" }
  | { op: "sleep"; ticks: number }
  | { op: "call"; c: number }
  | { op: "await"; on: RawAwaitable }
  /** group "motif": the TaskGroup the new_taskgroup just before made. */
  | { op: "create_task"; c: number; reuse?: number; name?: string; group?: RawScopeRef | "motif"; motif?: true }
  | { op: "cancel"; ref: RawRef; msg?: string }
  | { op: "inspect"; ref: RawRef }
  | { op: "raise"; exc: ExceptionSpec }
  | { op: "return"; value?: Scalar }
  | { op: "try"; body: RawStep[]; except: RawClause[]; finally?: RawStep[]; star?: true }
  | { op: "create_future"; reuse?: number; motif?: true }
  | { op: "set_result"; ref: RawRef; value?: Scalar }
  | { op: "set_exception"; ref: RawRef; exc: ExceptionSpec }
  | { op: "result"; ref: RawRef }
  | { op: "exception"; ref: RawRef }
  | { op: "uncancel"; ref: RawRef }
  | { op: "set_name"; ref: RawRef; name: string }
  | { op: "current_task" }
  | { op: "all_tasks" }
  | { op: "add_done_callback"; ref: RawRef; cb: number }
  | { op: "remove_done_callback"; ref: RawRef; cb: number }
  | { op: "call_soon"; cb: number; bind: boolean; synth?: Synth }
  | { op: "call_later"; cb: number; delay: number; bind: boolean; synth?: Synth }
  | { op: "call_at"; cb: number; when: number; bind: boolean }
  | { op: "cancel_handle"; ref: RawRef }
  | { op: "taskgroup"; body: RawStep[] }
  /** group = TaskGroup(), never entered; at top level mostly followed by group.create_task (RuntimeError). */
  | { op: "new_taskgroup"; spawn?: { c: number; name?: string } }
  | { op: "timeout"; delay: number | null; at: boolean; cm: boolean; body: RawStep[] }
  | { op: "reschedule"; cm: RawScopeRef; delay: number | null; at: boolean }
  | { op: "inspect_timeout"; cm: RawScopeRef }
  | { op: "as_completed"; refs: RawRef[]; coros?: number[]; timeout?: number | null; mode?: "iter" | "async" }
  /** Only from the shielded motif: hold what `on` returns in a handle of its own, drop the motif's handle, collect. */
  | { op: "ensure_future"; on: RawAwaitable }
  | { op: "drop"; ref: RawRef }
  | { op: "gc" }
  | SpawnMotif
  | PromiseMotif
  | ShieldedMotif;

export interface RawScenario {
  main: RawStep[];
  others: RawStep[][];
  /** Bodies of the generated callbacks (sync steps only). */
  callbacks?: RawStep[][];
  /** Install the eager task factory (only generated for 3.12+). */
  eager?: boolean;
  /** Rarely: turn one raise of a coroutine into KeyboardInterrupt / SystemExit. */
  interrupt?: { type: "KeyboardInterrupt" | "SystemExit"; which: number };
  /** Sometimes: gc mode — gc and drop steps put at top-level places of the bodies (see insertGcSteps). */
  gc?: RawGcStep[];
  /** Sometimes: steps that name a task handle made to name "$current" or "$main" instead (see useSelfHandles). */
  selfRefs?: RawSelfRef[];
  /** Sometimes: top-level steps wrapped in a short `repeat` (see wrapInRepeat). */
  repeats?: RawRepeat[];
  /** Sometimes: awaits of a combinator held in a handle first, maybe cancelled (see holdFutures). */
  holds?: RawHold[];
  /** Sometimes: coroutine objects made and never awaited (see insertUnawaited). */
  unawaited?: RawUnawaited[];
}

/** The `which`-th await of a gather / shield / wait_for / wait becomes ensure_future + (cancel) + await of the handle. */
export interface RawHold {
  which: number;
  cancel: boolean;
}

/** An unawaited step of coroutine `c` (any), before the `at`-th top-level step of body `body`. */
export interface RawUnawaited {
  body: number;
  at: number;
  c: number;
}

/** The `which`-th step (in walk order) that can name a task handle gets "$main" (`main`) or "$current". */
export interface RawSelfRef {
  which: number;
  main: boolean;
}

/** Wrap the `at`-th top-level step of body `body` (coroutines, then callbacks) in a repeat of `times`. */
export interface RawRepeat {
  body: number;
  at: number;
  times: number;
}

/**
 * A gc or drop step to insert after lowering: into body `body` (the
 * coroutines, then the callbacks, counted modulo their number) before its
 * `at`-th top-level step; a drop names the `which`-th task or future handle
 * the scenario binds (a gc step when it binds none).
 */
export interface RawGcStep {
  body: number;
  at: number;
  drop: boolean;
  which: number;
}

// ---------------------------------------------------------------- leaf arbitraries

type Weighted<T> = { arbitrary: fc.Arbitrary<T>; weight: number };
const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>): Weighted<T> => ({ arbitrary, weight });

/** A weighted choice that shrinks towards its first option. */
function pick<T>(...options: Weighted<T>[]): fc.Arbitrary<T> {
  return fc.oneof({ withCrossShrink: true }, ...options.filter((o) => o.weight > 0));
}

/** undefined (the shrink target) or a value, present with probability pct %. */
function maybe<T>(arb: fc.Arbitrary<T>, pct: number): fc.Arbitrary<T | undefined> {
  return pick(w(100 - pct, fc.constant(undefined)), w(pct, arb));
}

/** false (the shrink target) or true with probability pct %. */
function flag(pct: number): fc.Arbitrary<boolean> {
  return pick(w(100 - pct, fc.constant(false)), w(pct, fc.constant(true)));
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
export const ticksArb: fc.Arbitrary<number> = pick(
  w(11, fc.constant(0)),
  w(5, fc.constant(1)),
  w(2, fc.constant(2)),
  w(1, fc.constant(3)),
);

/** Small values: null, small ints, short strings. */
export const scalarArb: fc.Arbitrary<Scalar> = pick<Scalar>(
  w(1, fc.constant(null)),
  w(3, fc.integer({ min: 0, max: 9 })),
  w(1, fc.integer({ min: -3, max: -1 })),
  w(2, fc.constantFrom("ok", "x", "done", "")),
);

/** Timeouts of wait_for: none, zero, negative (both time out at once), or a few ticks. */
const waitForTimeoutArb: fc.Arbitrary<number | null> = pick<number | null>(
  w(3, fc.constant(1)),
  w(2, fc.constant(null)),
  w(2, fc.constant(0)),
  w(1, fc.constant(-1)),
  w(2, fc.constant(2)),
  w(1, fc.constant(4)),
);
/**
 * Deadlines of timeout blocks: none, zero, or a few ticks (relative), or an
 * absolute time (timeout_at) which is often already past by then.
 */
const deadlineArb: fc.Arbitrary<number | null> = pick<number | null>(
  w(3, fc.constant(1)),
  w(2, fc.constant(null)),
  w(2, fc.constant(0)),
  w(2, fc.constant(2)),
  w(1, fc.constant(4)),
);
/** Timeouts of wait, as_completed: none, zero, or a few ticks. */
const waitTimeoutArb: fc.Arbitrary<number | null> = pick<number | null>(
  w(3, fc.constant(1)),
  w(2, fc.constant(null)),
  w(2, fc.constant(0)),
  w(2, fc.constant(2)),
);
/** Absolute virtual times (call_at, timeout_at): 0 is at once (or already past). */
const whenArb = fc.integer({ min: 0, max: 4 });

const taskNameArb = fc.constantFrom("n1", "n2", "n3");
const msgArb = fc.constantFrom("stop", "m", "bye");
const excArgArb: fc.Arbitrary<Scalar> = pick<Scalar>(w(4, fc.constantFrom("boom", "e", "oops")), w(1, fc.integer({ min: 0, max: 9 })));

/** Exception subclasses a raise, a set_exception or an ExceptionGroup uses. */
const plainTypeArb: fc.Arbitrary<RaisableType> = pick<RaisableType>(
  w(4, fc.constant("ValueError")),
  w(2, fc.constant("KeyError")),
  w(3, fc.constant("CustomError")),
  w(2, fc.constant("RuntimeError")),
  w(2, fc.constant("TimeoutError")),
);

const withArg = (type: RaisableType, arg: Scalar | undefined): ExceptionSpec => (arg === undefined ? { type } : { type, args: [arg] });

const plainExceptionArb: fc.Arbitrary<ExceptionSpec> = fc
  .record({ type: plainTypeArb, arg: maybe(excArgArb, 55) })
  .map(({ type, arg }) => withArg(type, arg));

/** Exceptions of a raise: Exception subclasses and CancelledError (KeyboardInterrupt / SystemExit come from RawScenario.interrupt). */
export const simpleExceptionArb: fc.Arbitrary<ExceptionSpec> = fc
  .record({
    type: pick<RaisableType>(w(13, plainTypeArb), w(4, fc.constant("CancelledError"))),
    arg: maybe(excArgArb, 55),
  })
  .map(({ type, arg }) => withArg(type, arg));

/**
 * ExceptionGroup (of Exception subclasses, sometimes one nested group) or
 * BaseExceptionGroup (mostly holding a CancelledError; rarely only
 * Exception subclasses, which Python turns into an ExceptionGroup).
 */
export const exceptionGroupArb: fc.Arbitrary<ExceptionSpec> = fc
  .record({
    base: flag(35),
    msg: fc.constantFrom("eg", "grp"),
    first: plainExceptionArb,
    rest: fc.array(plainExceptionArb, { maxLength: 1 }),
    nested: maybe(plainExceptionArb, 12),
    cancelled: maybe(fc.record({ msg: maybe(msgArb, 40) }), 85),
  })
  .map(({ base, msg, first, rest, nested, cancelled }): ExceptionSpec => {
    const exceptions: ExceptionSpec[] = [first, ...rest];
    if (nested !== undefined) exceptions.push({ type: "ExceptionGroup", args: ["inner"], exceptions: [nested] });
    if (base && cancelled !== undefined) {
      exceptions.unshift(cancelled.msg === undefined ? { type: "CancelledError" } : { type: "CancelledError", args: [cancelled.msg] });
    }
    return { type: base ? "BaseExceptionGroup" : "ExceptionGroup", args: [msg], exceptions };
  });

/** Exceptions a raise step throws. */
export const exceptionArb: fc.Arbitrary<ExceptionSpec> = pick(w(16, simpleExceptionArb), w(2, exceptionGroupArb));

/** Types an except clause names, cancellation and the broad classes often. */
export const catchableArb: fc.Arbitrary<CatchableType> = pick<CatchableType>(
  w(10, fc.constant("CancelledError")),
  w(8, fc.constant("Exception")),
  w(4, fc.constant("BaseException")),
  w(6, fc.constant("ValueError")),
  w(4, fc.constant("CustomError")),
  w(2, fc.constant("KeyError")),
  w(2, fc.constant("RuntimeError")),
  w(3, fc.constant("TimeoutError")),
  w(2, fc.constant("ExceptionGroup")),
  w(1, fc.constant("BaseExceptionGroup")),
  w(1, fc.constant("KeyboardInterrupt")),
  w(1, fc.constant("SystemExit")),
);

/** Types an except* clause names: never an exception group type (TypeError in Python). */
export const starCatchableArb: fc.Arbitrary<CatchableType> = pick<CatchableType>(
  w(8, fc.constant("CancelledError")),
  w(8, fc.constant("Exception")),
  w(3, fc.constant("BaseException")),
  w(7, fc.constant("ValueError")),
  w(4, fc.constant("CustomError")),
  w(2, fc.constant("KeyError")),
  w(2, fc.constant("RuntimeError")),
  w(3, fc.constant("TimeoutError")),
);

/** A task / future reference; futPct: how often it prefers a future. */
function refArb(futPct: number): fc.Arbitrary<RawRef> {
  return fc
    .record({ local: pick(w(3, fc.constant(true)), w(2, fc.constant(false))), i: fc.nat(7), fut: flag(futPct) })
    .map(({ local, i, fut }) => (fut ? { local, i, fut } : { local, i }));
}

/** A TaskGroup / timeout reference: the enclosing block mostly. */
function scopeRefArb(outsidePct: number): fc.Arbitrary<RawScopeRef> {
  return fc.record({ inner: pick(w(100 - outsidePct, fc.constant(true)), w(outsidePct, fc.constant(false))), i: fc.nat(3) });
}

/** Offset of a callee among the coroutines after the caller. */
const calleeArb = fc.nat(5);
/** Which callback (an offset among those a caller may name). */
const callbackArb = fc.nat(3);

// ---------------------------------------------------------------- awaitables

function gatherArb(part: fc.Arbitrary<RawAwaitable>): fc.Arbitrary<RawAwaitable> {
  return fc.record({
    k: fc.constant("gather" as const),
    parts: leadArray(part, 3, 85),
    returnExceptions: pick<boolean | undefined>(w(3, fc.constant(undefined)), w(4, fc.constant(true)), w(1, fc.constant(false))),
  }) as fc.Arbitrary<RawAwaitable>;
}

const taskAwArb = (futPct: number): fc.Arbitrary<RawAwaitable> => fc.record({ k: fc.constant("task" as const), ref: refArb(futPct) });
const coroAwArb: fc.Arbitrary<RawAwaitable> = fc.record({ k: fc.constant("coro" as const), c: calleeArb });
const sleepAwArb: fc.Arbitrary<RawAwaitable> = fc
  .record({ ticks: ticksArb, result: maybe(scalarArb, 40) })
  .map(({ ticks, result }) => (result === undefined ? { k: "sleep" as const, ticks } : { k: "sleep" as const, ticks, result }));

const shieldArb: fc.Arbitrary<RawAwaitable> = fc.record({
  k: fc.constant("shield" as const),
  inner: pick(w(1, sleepAwArb), w(4, taskAwArb(25)), w(3, coroAwArb)),
});

const waitForArb: fc.Arbitrary<RawAwaitable> = fc.record({
  k: fc.constant("wait_for" as const),
  inner: pick(w(1, sleepAwArb), w(3, coroAwArb), w(3, taskAwArb(30)), w(1, shieldArb)),
  timeout: waitForTimeoutArb,
});

const returnWhenArb = fc.constantFrom<ReturnWhen>("FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED");

/** asyncio.wait: task / future handles; rarely a coroutine too (TypeError), or nothing at all (ValueError). */
const waitArb: fc.Arbitrary<RawAwaitable> = fc
  .record({
    parts: leadArray(taskAwArb(30), 3, 90),
    coro: maybe(coroAwArb, 9),
    timeout: maybe(waitTimeoutArb, 45),
    returnWhen: maybe(returnWhenArb, 65),
  })
  .map(({ parts, coro, timeout, returnWhen }) => {
    const a: RawAwaitable & { k: "wait" } = { k: "wait", parts: coro === undefined ? parts : [...parts, coro] };
    if (timeout !== undefined) a.timeout = timeout;
    if (returnWhen !== undefined) a.returnWhen = returnWhen;
    return a as RawAwaitable;
  });

const innerPartArb: fc.Arbitrary<RawAwaitable> = pick(w(1, sleepAwArb), w(3, taskAwArb(15)), w(3, coroAwArb));
const partArb: fc.Arbitrary<RawAwaitable> = pick(
  w(2, sleepAwArb),
  w(8, taskAwArb(15)),
  w(8, coroAwArb),
  w(2, gatherArb(innerPartArb)),
  w(1, shieldArb),
  w(1, waitForArb),
);

/** What an await step awaits. */
export const awaitableArb: fc.Arbitrary<RawAwaitable> = pick(
  w(2, sleepAwArb),
  w(6, taskAwArb(25)),
  w(3, coroAwArb),
  w(4, gatherArb(partArb)),
  w(2, shieldArb),
  w(3, waitForArb),
  w(3, waitArb),
);

// ---------------------------------------------------------------- steps

/** Where a step is generated: each context has its own mix of steps. */
export type Context = "main" | "other" | "tryBody" | "handler" | "finally" | "tgBody" | "toBody" | "callback";

const KINDS = [
  "log", "sleep", "call", "await", "create", "spawn", "promise", "cancel", "inspect", "raise", "return", "try", "star",
  "future", "setres", "setexc", "result", "exception", "uncancel", "setname", "current", "alltasks", "adddone",
  "rmdone", "soon", "later", "at", "cancelh", "tg", "newtg", "timeout", "resched", "inspto", "ascompl", "shielded",
] as const;
type Kind = (typeof KINDS)[number];

/** Weights of each step kind per context (absent: 0). Blocks only below maxDepth, motifs only at top level. */
const WEIGHTS: Record<Context, Partial<Record<Kind, number>>> = {
  main: {
    log: 2, sleep: 6, call: 2, await: 12, create: 5, spawn: 16, promise: 8, cancel: 5, inspect: 2, raise: 2, return: 2,
    try: 6, star: 2, future: 2, setres: 2, setexc: 1, result: 1, exception: 1, uncancel: 1, setname: 1, current: 1,
    alltasks: 1, adddone: 3, rmdone: 1, soon: 2, later: 2, at: 1, cancelh: 2, tg: 7, newtg: 2, timeout: 6, resched: 1,
    inspto: 1, ascompl: 3, shielded: 4,
  },
  other: {
    log: 3, sleep: 8, call: 3, await: 9, create: 3, spawn: 2, promise: 2, cancel: 6, inspect: 2, raise: 5, return: 3,
    try: 6, star: 2, future: 1, setres: 5, setexc: 2, result: 1, exception: 1, uncancel: 2, setname: 1, current: 1,
    alltasks: 1, adddone: 1, rmdone: 1, soon: 1, later: 2, at: 1, cancelh: 1, tg: 5, timeout: 5, resched: 2, inspto: 1,
    ascompl: 2, shielded: 1,
  },
  tryBody: {
    log: 2, sleep: 6, call: 2, await: 9, create: 2, cancel: 3, inspect: 1, raise: 8, return: 2, try: 2, star: 1,
    setres: 1, uncancel: 1, current: 1, tg: 3, timeout: 3, resched: 1, ascompl: 1,
  },
  handler: {
    log: 3, sleep: 4, call: 1, await: 2, create: 1, cancel: 3, inspect: 2, raise: 4, return: 2, try: 1, setres: 1,
    uncancel: 3, current: 1, resched: 1, inspto: 1,
  },
  finally: {
    log: 3, sleep: 8, await: 3, cancel: 3, inspect: 2, raise: 1, return: 1, setres: 2, uncancel: 1, current: 1,
    alltasks: 1, tg: 1, timeout: 1, cancelh: 1,
  },
  tgBody: {
    log: 1, sleep: 5, await: 3, create: 14, cancel: 3, inspect: 1, raise: 3, return: 1, try: 2, setres: 1, tg: 2,
    timeout: 1,
  },
  toBody: {
    log: 1, sleep: 8, await: 8, create: 1, cancel: 1, raise: 2, return: 1, try: 2, setres: 1, tg: 2, timeout: 2,
    resched: 4, inspto: 3, ascompl: 1,
  },
  callback: {
    log: 3, cancel: 6, inspect: 2, raise: 1, setres: 6, setexc: 2, result: 1, exception: 1, uncancel: 2, setname: 1,
    current: 1, alltasks: 1, adddone: 1, rmdone: 1, soon: 5, cancelh: 2,
  },
};

const BLOCKS: readonly Kind[] = ["try", "star", "tg", "timeout"];
const MOTIFS: readonly Kind[] = ["spawn", "promise", "shielded"];

const logArb: fc.Arbitrary<RawStep> = fc.constant({ op: "log" as const });

const synthArb = (task: boolean): fc.Arbitrary<Synth> =>
  task
    ? maybe(msgArb, 35).map((msg): Synth => (msg === undefined ? { kind: "cancel_task" } : { kind: "cancel_task", msg }))
    : pick<Synth>(
        w(5, maybe(scalarArb, 80).map((value): Synth => (value === undefined ? { kind: "set_result" } : { kind: "set_result", value }))),
        w(2, simpleExceptionArb.map((exc): Synth => ({ kind: "set_exception", exc }))),
        w(1, maybe(msgArb, 40).map((msg): Synth => (msg === undefined ? { kind: "cancel_future" } : { kind: "cancel_future", msg }))),
      );

/** Arbitraries of steps that do not depend on the context. */
const simpleArbs = {
  sleep: fc.record({ op: fc.constant("sleep" as const), ticks: ticksArb }) as fc.Arbitrary<RawStep>,
  call: fc.record({ op: fc.constant("call" as const), c: calleeArb }) as fc.Arbitrary<RawStep>,
  await: fc.record({ op: fc.constant("await" as const), on: awaitableArb }) as fc.Arbitrary<RawStep>,
  spawn: fc
    .record({
      c: calleeArb,
      name: maybe(taskNameArb, 25),
      pause: maybe(ticksArb, 50),
      cancel: maybe(fc.record({ msg: maybe(msgArb, 35), via: pick(w(4, fc.constant("step" as const)), w(1, fc.constant("timer" as const))) }), 70),
      wait: pick(
        w(1, fc.constant("none" as const)),
        w(3, fc.constant("await" as const)),
        w(4, fc.constant("try" as const)),
        w(1, fc.constant("inspect" as const)),
      ),
      finallySleep: fc.boolean(),
    })
    .map((r): RawStep => {
      const s: SpawnMotif = { op: "spawn", c: r.c, wait: r.wait, finallySleep: r.finallySleep };
      if (r.name !== undefined) s.name = r.name;
      if (r.pause !== undefined) s.pause = r.pause;
      if (r.cancel !== undefined) s.cancel = r.cancel.msg === undefined ? { via: r.cancel.via } : { msg: r.cancel.msg, via: r.cancel.via };
      return s;
    }),
  promise: fc
    .record({
      resolver: pick(
        w(1, fc.constant("none" as const)),
        w(5, fc.constant("timer" as const)),
        w(2, fc.constant("soon" as const)),
        w(3, fc.constant("task" as const)),
      ),
      delay: ticksArb,
      settle: synthArb(false),
      c: calleeArb,
      wrap: pick(
        w(1, fc.constant("none" as const)),
        w(5, fc.constant("await" as const)),
        w(3, fc.constant("wait_for" as const)),
        w(2, fc.constant("shield" as const)),
        w(3, fc.constant("timeout" as const)),
        w(3, fc.constant("try" as const)),
        w(2, fc.constant("wait" as const)),
      ),
      timeout: waitForTimeoutArb,
      catchType: pick<CatchableType>(
        w(3, fc.constant("CancelledError")),
        w(2, fc.constant("Exception")),
        w(2, fc.constant("TimeoutError")),
        w(1, fc.constant("BaseException")),
      ),
    })
    .map((r): RawStep => ({ op: "promise", ...r })),
  shielded: fc
    .record({
      inner: pick(w(3, fc.constant("coro" as const)), w(2, fc.constant("task" as const)), w(2, fc.constant("future" as const))),
      c: calleeArb,
      settle: synthArb(false),
      delay: ticksArb,
      // Mostly a pause, so that the inner is running (or just ending) when the outer is cancelled.
      pause: maybe(ticksArb, 75),
      then: pick(w(1, fc.constant("inspect" as const)), w(1, fc.constant("gc" as const))),
    })
    .map((r): RawStep => {
      const m: ShieldedMotif = { op: "shielded", inner: r.inner, c: r.c, settle: r.settle, delay: r.delay, then: r.then };
      if (r.pause !== undefined) m.pause = r.pause;
      return m;
    }),
  cancel: fc
    .record({ ref: refArb(15), msg: maybe(msgArb, 40) })
    .map(({ ref, msg }): RawStep => (msg === undefined ? { op: "cancel", ref } : { op: "cancel", ref, msg })),
  inspect: fc.record({ op: fc.constant("inspect" as const), ref: refArb(25) }) as fc.Arbitrary<RawStep>,
  raise: fc.record({ op: fc.constant("raise" as const), exc: exceptionArb }) as fc.Arbitrary<RawStep>,
  return: maybe(scalarArb, 90).map((value): RawStep => (value === undefined ? { op: "return" } : { op: "return", value })),
  future: maybe(fc.nat(3), 10).map((reuse): RawStep => (reuse === undefined ? { op: "create_future" } : { op: "create_future", reuse })),
  setres: fc
    .record({ ref: refArb(100), value: maybe(scalarArb, 80) })
    .map(({ ref, value }): RawStep => (value === undefined ? { op: "set_result", ref } : { op: "set_result", ref, value })),
  setexc: fc.record({ op: fc.constant("set_exception" as const), ref: refArb(100), exc: exceptionArb }) as fc.Arbitrary<RawStep>,
  result: fc.record({ op: fc.constant("result" as const), ref: refArb(50) }) as fc.Arbitrary<RawStep>,
  exception: fc.record({ op: fc.constant("exception" as const), ref: refArb(50) }) as fc.Arbitrary<RawStep>,
  uncancel: fc.record({ op: fc.constant("uncancel" as const), ref: refArb(0) }) as fc.Arbitrary<RawStep>,
  setname: fc.record({ op: fc.constant("set_name" as const), ref: refArb(0), name: taskNameArb }) as fc.Arbitrary<RawStep>,
  current: fc.constant({ op: "current_task" as const }) as fc.Arbitrary<RawStep>,
  alltasks: fc.constant({ op: "all_tasks" as const }) as fc.Arbitrary<RawStep>,
  adddone: fc.record({ op: fc.constant("add_done_callback" as const), ref: refArb(35), cb: callbackArb }) as fc.Arbitrary<RawStep>,
  rmdone: fc.record({ op: fc.constant("remove_done_callback" as const), ref: refArb(35), cb: callbackArb }) as fc.Arbitrary<RawStep>,
  soon: fc.record({ op: fc.constant("call_soon" as const), cb: callbackArb, bind: flag(40) }) as fc.Arbitrary<RawStep>,
  later: fc.record({ op: fc.constant("call_later" as const), cb: callbackArb, delay: ticksArb, bind: flag(50) }) as fc.Arbitrary<RawStep>,
  at: fc.record({ op: fc.constant("call_at" as const), cb: callbackArb, when: whenArb, bind: flag(50) }) as fc.Arbitrary<RawStep>,
  cancelh: fc.record({ op: fc.constant("cancel_handle" as const), ref: refArb(0) }) as fc.Arbitrary<RawStep>,
  newtg: maybe(fc.record({ c: calleeArb, name: maybe(taskNameArb, 20) }), 80).map((spawn): RawStep => {
    if (spawn === undefined) return { op: "new_taskgroup" };
    return { op: "new_taskgroup", spawn: spawn.name === undefined ? { c: spawn.c } : { c: spawn.c, name: spawn.name } };
  }),
  resched: fc.record({
    op: fc.constant("reschedule" as const),
    cm: scopeRefArb(20),
    delay: pick<number | null>(w(3, fc.constant(1)), w(2, fc.constant(null)), w(2, fc.constant(0)), w(2, fc.constant(3))),
    at: flag(25),
  }) as fc.Arbitrary<RawStep>,
  inspto: fc.record({ op: fc.constant("inspect_timeout" as const), cm: scopeRefArb(20) }) as fc.Arbitrary<RawStep>,
};

/** create_task: in a TaskGroup body mostly on the group; elsewhere rarely on a group (enclosing, or any: outside its block). */
function createArb(inGroupBody: boolean): fc.Arbitrary<RawStep> {
  const group = inGroupBody
    ? pick<RawScopeRef | undefined>(w(1, fc.constant(undefined)), w(9, scopeRefArb(8)))
    : pick<RawScopeRef | undefined>(w(28, fc.constant(undefined)), w(2, scopeRefArb(0)), w(2, scopeRefArb(100)));
  return fc
    .record({ c: calleeArb, reuse: maybe(fc.nat(3), 12), name: maybe(taskNameArb, 30), group })
    .map(({ c, reuse, name, group }) => {
      const s: RawStep & { op: "create_task" } = { op: "create_task", c };
      if (reuse !== undefined) s.reuse = reuse;
      if (name !== undefined) s.name = name;
      if (group !== undefined) s.group = group;
      return s;
    });
}

function asCompletedArb(version: PythonVersion): fc.Arbitrary<RawStep> {
  const mode = supportsAsyncAsCompleted(version)
    ? pick<"iter" | "async" | undefined>(w(3, fc.constant(undefined)), w(1, fc.constant("iter")), w(3, fc.constant("async")))
    : pick<"iter" | "async" | undefined>(w(3, fc.constant(undefined)), w(1, fc.constant("iter")));
  return fc
    .record({
      refs: leadArray(refArb(30), 3, 95),
      // Sometimes coroutines too (as_completed wraps them in tasks), the documentation's form.
      coros: pick<number[]>(w(3, fc.constant([])), w(1, fc.array(calleeArb, { minLength: 1, maxLength: 2 }))),
      timeout: maybe(waitTimeoutArb, 45),
      mode,
    })
    .map(({ refs, coros, timeout, mode }) => {
      const s: RawStep & { op: "as_completed" } = { op: "as_completed", refs };
      if (coros.length > 0) s.coros = coros;
      if (timeout !== undefined) s.timeout = timeout;
      if (mode !== undefined) s.mode = mode;
      return s;
    });
}

/**
 * Arbitraries of raw steps, per context, block depth (how many blocks
 * enclose the step) and whether `return` is forbidden (inside an except*
 * handler). Built once per options and cached.
 */
class StepArbs {
  private cache = new Map<string, fc.Arbitrary<RawStep>>();
  private readonly asCompleted: fc.Arbitrary<RawStep>;
  constructor(readonly maxDepth: number, readonly version: PythonVersion) {
    this.asCompleted = asCompletedArb(version);
  }

  step(ctx: Context, depth: number, noReturn = false): fc.Arbitrary<RawStep> {
    const key = `${ctx}/${depth}/${noReturn}`;
    let arb = this.cache.get(key);
    if (arb === undefined) {
      arb = this.build(ctx, depth, noReturn); // nested blocks ask for deeper (finite) keys

      this.cache.set(key, arb);
    }
    return arb;
  }

  /** 0..max steps; leadPct: how likely a first step is (see leadArray). */
  body(ctx: Context, depth: number, max: number, leadPct: number, noReturn = false): fc.Arbitrary<RawStep[]> {
    return leadArray(this.step(ctx, depth, noReturn), max, leadPct);
  }

  private kindArb(kind: Kind, ctx: Context, depth: number, noReturn: boolean): fc.Arbitrary<RawStep> {
    switch (kind) {
      case "log":
        return logArb;
      case "create":
        return createArb(ctx === "tgBody");
      case "try":
        return this.tryArb(depth + 1, false, noReturn);
      case "star":
        return this.tryArb(depth + 1, true, noReturn);
      case "tg":
        return this.body("tgBody", depth + 1, 3, 95, noReturn).map((body): RawStep => ({ op: "taskgroup", body }));
      case "timeout":
        return fc
          .record({ delay: deadlineArb, at: flag(30), cm: flag(45), body: this.body("toBody", depth + 1, 3, 95, noReturn) })
          .map((r): RawStep => ({ op: "timeout", ...r }));
      case "ascompl":
        return this.asCompleted;
      default:
        return simpleArbs[kind];
    }
  }

  private build(ctx: Context, depth: number, noReturn: boolean): fc.Arbitrary<RawStep> {
    const weights = WEIGHTS[ctx];
    const options: Weighted<RawStep>[] = [];
    for (const kind of KINDS) {
      const weight = weights[kind] ?? 0;
      if (weight === 0) continue;
      if (BLOCKS.includes(kind) && depth >= this.maxDepth) continue;
      if (MOTIFS.includes(kind) && depth > 0) continue;
      if (kind === "return" && noReturn) continue;
      options.push(w(weight, this.kindArb(kind, ctx, depth, noReturn)));
    }
    return pick(...options);
  }

  /** A try step whose own body is at `depth`; star: except* (1..3 clauses, no return in handlers). */
  private tryArb(depth: number, star: boolean, noReturn: boolean): fc.Arbitrary<RawStep> {
    const clause: fc.Arbitrary<RawClause> = fc.record({
      type: star ? starCatchableArb : catchableArb,
      body: fc.array(this.step("handler", depth, noReturn || star), { maxLength: 2, size: "max" }),
      reraise: pick(w(2, fc.constant(false)), w(1, fc.constant(true))),
    });
    return fc
      .record({
        body: this.body("tryBody", depth, 3, 95, noReturn),
        except: star ? leadArray(clause, 3, 97) : fc.array(clause, { maxLength: 2, size: "max" }),
        finally: maybe(this.body("finally", depth, 2, 90, noReturn), star ? 30 : 50),
      })
      .map((r): RawStep => {
        const s: RawStep & { op: "try" } = { op: "try", body: r.body, except: r.except };
        if (r.finally !== undefined) s.finally = r.finally;
        if (star) s.star = true;
        return s;
      });
  }
}

// ---------------------------------------------------------------- lowering, pass 1

const POOLS = { task: 4, future: 2, group: 3, cm: 2, timer: 2 } as const;
const PREFIX = { task: "t", future: "f", group: "g", cm: "m", timer: "h" } as const;
type Pool = keyof typeof POOLS;

// Names are made once, not per scenario: every scenario names the same few,
// and a string made once is hashed once, by every Map the run looks it up in.
const COROUTINE_NAMES = Array.from({ length: 32 }, (_, i) => (i === 0 ? "main" : `c${i}`));
const CALLBACK_NAMES = Array.from({ length: 64 }, (_, i) => `cb${i}`);
const HANDLE_NAMES: Record<Pool, readonly string[]> = {
  task: Array.from({ length: POOLS.task }, (_, i) => `${PREFIX.task}${i}`),
  future: Array.from({ length: POOLS.future }, (_, i) => `${PREFIX.future}${i}`),
  group: Array.from({ length: POOLS.group }, (_, i) => `${PREFIX.group}${i}`),
  cm: Array.from({ length: POOLS.cm }, (_, i) => `${PREFIX.cm}${i}`),
  timer: Array.from({ length: POOLS.timer }, (_, i) => `${PREFIX.timer}${i}`),
};
/** The k-th log label: a, b, ..., z, a1, ..., z1, a2, ... */
function labelName(k: number): string {
  const letter = String.fromCharCode(97 + (k % 26));
  return k < 26 ? letter : `${letter}${Math.floor(k / 26)}`;
}
/** The first 26 * 40 labels. */
const LABELS = Array.from({ length: 26 * 40 }, (_, k) => labelName(k));

function coroName(i: number): string {
  return i < COROUTINE_NAMES.length ? COROUTINE_NAMES[i] : `c${i}`;
}

function callbackName(i: number): string {
  return i < CALLBACK_NAMES.length ? CALLBACK_NAMES[i] : `cb${i}`;
}

type Namespace = "task" | "future" | "any" | "timer" | "group" | "cm";

/**
 * A handle reference pass 1 could not settle, stored in the field of the
 * step it belongs to until pass 2 resolves it. It remembers the local
 * handles known where it stands: the first `nTasks` (`nFutures`, `nTimers`)
 * of its scope's lists, which only grow, so no copy is needed.
 */
class Pending {
  constructor(
    readonly ns: Namespace,
    readonly local: boolean,
    readonly i: number,
    readonly fut: boolean,
    /** Awaited: a task must be bound only to coroutines after `from`. */
    readonly forAwait: boolean,
    readonly from: number,
    readonly scope: Scope | null,
    readonly nTasks: number,
    readonly nFutures: number,
    readonly nTimers: number,
    /** A handle already chosen (a motif's), still subject to the waits-for rule. */
    readonly fixed: string | null = null,
  ) {}
}

/** Store a Pending where a handle name goes (pass 2 replaces it). */
const later = (p: Pending): string => p as unknown as string;
const isPending = (x: unknown): x is Pending => x instanceof Pending;

/** What pass 1 knows where it stands in a body. */
interface Scope {
  /** The coroutine's index, or -1 in a callback. */
  from: number;
  /** The callback's index, or null in a coroutine. */
  cb: number | null;
  localTasks: string[];
  localFutures: string[];
  localTimers: string[];
  /** Enclosing TaskGroups, innermost last. */
  groups: string[];
  /** Enclosing timeouts, innermost last. */
  timeouts: TimeoutStep[];
  /** The task / future / TaskGroup the current motif made (null: none, or it could not be made). */
  motifTask: string | null;
  motifFuture: string | null;
  /** The handle of the shielded motif's outer future. */
  motifHeld: string | null;
  motifGroup: string | null;
}

const logStep = (): Step => ({ op: "log", label: "" });

/** Blocks: steps with bodies of their own, never left for pass 2 (their steps are, one by one). */
const isBlock = (op: string): boolean => op === "try" || op === "taskgroup" || op === "timeout";

/**
 * Pass 1: expand motifs, truncate bodies, resolve callees and enclosing
 * blocks, allocate handles, and build the scenario's steps. What it cannot
 * settle yet it lists, in the order pass 2 must visit it (the order of the
 * steps in the scenario): every log step, whose label pass 2 numbers, and
 * every step holding a Pending.
 */
class Lowerer {
  readonly handles: Record<Pool, string[]> = { task: [], future: [], group: [], cm: [], timer: [] };
  /** Per task handle, the lowest index of a coroutine some create_task binds it to. */
  readonly lowestCallee = new Map<string, number>();
  /** Callbacks made by motifs (appended after the generated ones). */
  readonly synthesised: CallbackDef[] = [];
  /** wait awaitables that are empty on purpose (rare: made when first needed). */
  emptyWaits: Set<object> | null = null;
  /** What pass 2 visits: the step at index siteIndex[k] of siteBody[k]. */
  readonly siteBody: Step[][] = [];
  readonly siteIndex: number[] = [];
  /**
   * Steps naming a callback (callbackUse[k], by number), at index
   * useIndex[k] of useBody[k], in a coroutine (useOwner -1) or callback
   * useOwner[k]: which callbacks the scenario reaches, without walking it.
   */
  readonly useBody: Step[][] = [];
  readonly useIndex: number[] = [];
  readonly useOwner: number[] = [];
  readonly callbackUse: number[] = [];
  /** Raised by every Pending made, and by an awaitable pass 2 must drop: a step that needs pass 2. */
  private deferred = 0;
  /** The number of the callback the step just lowered names (-1: none); add() lists it and resets it. */
  private named = -1;
  private readonly fresh: Record<Pool, number> = { task: 0, future: 0, group: 0, cm: 0, timer: 0 };
  private heldCount = 0;

  constructor(
    readonly n: number,
    readonly nCallbacks: number,
    readonly maxSteps: number,
    readonly maxDepth: number,
    readonly version: PythonVersion,
  ) {}

  private calleeIndex(from: number, c: number): number | null {
    if (from < 0) return null;
    // Counted from the last coroutine: removing a coroutine in between (as
    // shrinking does) leaves the reference on the same coroutine.
    const above = this.n - from - 1;
    return above > 0 ? this.n - 1 - (c % above) : null;
  }

  private callee(from: number, c: number): string | null {
    const i = this.calleeIndex(from, c);
    return i === null ? null : coroName(i);
  }

  /** The number of a callback a step may name: any from a coroutine, a later one from a callback; -1: none. */
  private callbackRef(scope: Scope, c: number): number {
    if (scope.cb === null) return this.nCallbacks > 0 ? c % this.nCallbacks : -1;
    const above = this.nCallbacks - scope.cb - 1;
    return above > 0 ? scope.cb + 1 + (c % above) : -1;
  }

  private allocate(pool: Pool, reuse?: number): string {
    const list = this.handles[pool];
    if (reuse !== undefined && list.length > 0) return list[reuse % list.length];
    const h = HANDLE_NAMES[pool][this.fresh[pool]++ % POOLS[pool]];
    if (!list.includes(h)) list.push(h);
    return h;
  }

  private pending(scope: Scope, ns: Namespace, ref: { local: boolean; i: number; fut?: boolean }, forAwait = false): string {
    this.deferred++;
    return later(
      new Pending(ns, ref.local, ref.i, ref.fut ?? false, forAwait, scope.from,
        scope, scope.localTasks.length, scope.localFutures.length, scope.localTimers.length),
    );
  }

  /** A task / future reference; null when a motif's handle is missing. */
  private ref(scope: Scope, r: RawRef, ns: Namespace, forAwait = false): string | null {
    if ("motif" in r) {
      const h = r.motif === "task" ? scope.motifTask : r.motif === "future" ? scope.motifFuture : scope.motifHeld;
      if (h === null) return null;
      if (forAwait && r.motif === "task") {
        this.deferred++;
        return later(new Pending("task", true, 0, false, true, scope.from, null, 0, 0, 0, h));
      }
      return h;
    }
    return this.pending(scope, ns, r, forAwait);
  }

  private scopeRef(scope: Scope, r: RawScopeRef, ns: "group" | "cm"): string {
    return this.pending(scope, ns, { local: false, i: r.i });
  }

  private awaitable(scope: Scope, a: RawAwaitable): Awaitable | null {
    switch (a.k) {
      case "task": {
        const t = this.ref(scope, a.ref, "any", true);
        return t === null ? null : { task: t };
      }
      case "coro": {
        const callee = this.callee(scope.from, a.c);
        return callee !== null ? { coro: callee } : { sleep: 0 };
      }
      case "sleep":
        return a.result === undefined ? { sleep: a.ticks } : { sleep: a.ticks, result: a.result };
      case "gather": {
        const parts = this.parts(scope, a.parts);
        return a.returnExceptions === undefined ? { gather: parts } : { gather: parts, return_exceptions: a.returnExceptions };
      }
      case "shield": {
        const inner = this.awaitable(scope, a.inner);
        return inner === null ? null : { shield: inner };
      }
      case "wait_for": {
        const inner = this.awaitable(scope, a.inner);
        return inner === null ? null : { wait_for: inner, timeout: a.timeout };
      }
      case "wait": {
        const out: Awaitable & { wait: Awaitable[] } = { wait: this.parts(scope, a.parts) };
        if (a.timeout !== undefined) out.timeout = a.timeout;
        if (a.returnWhen !== undefined) out.return_when = a.returnWhen;
        if (a.parts.length === 0) (this.emptyWaits ??= new Set()).add(out);
        // Empty, and not on purpose: pass 2 drops it.
        else if (out.wait.length === 0) this.deferred++;
        return out;
      }
    }
  }

  /** Parts of a gather / wait: a coroutine with nothing to call, or a missing motif handle, is left out. */
  private parts(scope: Scope, raw: RawAwaitable[]): Awaitable[] {
    const out: Awaitable[] = [];
    for (const p of raw) {
      if (p.k === "coro" && this.callee(scope.from, p.c) === null) continue;
      const q = this.awaitable(scope, p);
      if (q !== null) out.push(q);
    }
    return out;
  }

  private newScope(from: number, cb: number | null): Scope {
    return { from, cb, localTasks: [], localFutures: [], localTimers: [], groups: [], timeouts: [], motifTask: null, motifFuture: null, motifHeld: null, motifGroup: null };
  }

  topBody(from: number, raw: RawStep[]): Step[] {
    // Motifs are expanded, then the body is kept within maxSteps; the steps
    // cut off are never lowered, so they allocate no handle.
    const scope = this.newScope(from, null);
    const out: Step[] = [];
    const max = this.maxSteps;
    for (let k = 0; k < raw.length && out.length < max; k++) {
      const s = raw[k];
      let expanded: RawStep[];
      if (s.op === "spawn") expanded = this.expandSpawn(s);
      else if (s.op === "promise") expanded = this.expandPromise(s);
      else if (s.op === "shielded") expanded = this.expandShielded(s);
      else if (s.op === "new_taskgroup" && s.spawn !== undefined) {
        const create: RawStep & { op: "create_task" } = { op: "create_task", c: s.spawn.c, group: "motif" };
        if (s.spawn.name !== undefined) create.name = s.spawn.name;
        expanded = [{ op: "new_taskgroup" }, create];
      } else {
        this.add(out, scope, s, 0);
        continue;
      }
      for (let j = 0; j < expanded.length && out.length < max; j++) this.add(out, scope, expanded[j], 0);
    }
    return out;
  }

  callbackBody(j: number, raw: RawStep[]): Step[] {
    return this.steps(this.newScope(-1, j), raw, 0);
  }

  private steps(scope: Scope, raw: RawStep[], depth: number): Step[] {
    const out: Step[] = [];
    for (let k = 0; k < raw.length; k++) this.add(out, scope, raw[k], depth);
    return out;
  }

  /** Lower one raw step onto the end of `out`, listing it for pass 2 if it needs it. */
  private add(out: Step[], scope: Scope, s: RawStep, depth: number): void {
    const before = this.deferred;
    const step = this.step(scope, s, depth);
    const i = out.push(step) - 1;
    // A block's own fields hold no Pending (its steps were listed as they were lowered).
    if (step.op === "log" || (this.deferred !== before && !isBlock(step.op))) {
      this.siteBody.push(out);
      this.siteIndex.push(i);
    }
    if (this.named >= 0) {
      this.useBody.push(out);
      this.useIndex.push(i);
      this.useOwner.push(scope.cb ?? -1);
      this.callbackUse.push(this.named);
      this.named = -1;
    }
  }

  private expandSpawn(s: SpawnMotif): RawStep[] {
    const marker: RawStep & { op: "create_task" } = { op: "create_task", c: s.c, motif: true };
    if (s.name !== undefined) marker.name = s.name;
    const ref: RawRef = { motif: "task" };
    const out: RawStep[] = [marker];
    if (s.cancel?.via === "timer") {
      const synth: Synth = s.cancel.msg === undefined ? { kind: "cancel_task" } : { kind: "cancel_task", msg: s.cancel.msg };
      out.push({ op: "call_later", cb: 0, delay: s.pause ?? 0, bind: false, synth });
    } else {
      if (s.pause !== undefined) out.push({ op: "sleep", ticks: s.pause });
      if (s.cancel !== undefined) out.push(s.cancel.msg === undefined ? { op: "cancel", ref } : { op: "cancel", ref, msg: s.cancel.msg });
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

  private expandPromise(s: PromiseMotif): RawStep[] {
    const out: RawStep[] = [{ op: "create_future", motif: true }];
    if (s.resolver === "timer") out.push({ op: "call_later", cb: 0, delay: s.delay, bind: false, synth: s.settle });
    else if (s.resolver === "soon") out.push({ op: "call_soon", cb: 0, bind: false, synth: s.settle });
    else if (s.resolver === "task") out.push({ op: "create_task", c: s.c });
    const fut: RawAwaitable = { k: "task", ref: { motif: "future" } };
    const block = this.maxDepth >= 1;
    switch (s.wrap) {
      case "await":
        out.push({ op: "await", on: fut });
        break;
      case "wait_for":
        out.push({ op: "await", on: { k: "wait_for", inner: fut, timeout: s.timeout } });
        break;
      case "shield":
        out.push({ op: "await", on: { k: "shield", inner: fut } });
        break;
      case "wait":
        out.push({ op: "await", on: { k: "wait", parts: [fut], timeout: s.timeout === null ? null : Math.max(0, s.timeout) } });
        break;
      case "timeout":
        out.push(block
          ? { op: "timeout", delay: s.timeout === null ? null : Math.max(0, s.timeout), at: false, cm: false, body: [{ op: "await", on: fut }] }
          : { op: "await", on: fut });
        break;
      case "try":
        out.push(block
          ? { op: "try", body: [{ op: "await", on: fut }], except: [{ type: s.catchType, body: [], reraise: false }] }
          : { op: "await", on: fut });
        break;
      case "none":
        break;
    }
    return out;
  }

  private expandShielded(s: ShieldedMotif): RawStep[] {
    const out: RawStep[] = [];
    let inner: RawAwaitable;
    if (s.inner === "future") {
      out.push({ op: "create_future", motif: true }, { op: "call_later", cb: 0, delay: s.delay, bind: false, synth: s.settle });
      inner = { k: "task", ref: { motif: "future" } };
    } else if (s.inner === "task") {
      out.push({ op: "create_task", c: s.c, motif: true });
      inner = { k: "task", ref: { motif: "task" } };
    } else {
      inner = { k: "coro", c: s.c };
    }
    const held: RawRef = { motif: "held" };
    out.push({ op: "ensure_future", on: { k: "shield", inner } });
    if (s.pause !== undefined) out.push({ op: "sleep", ticks: s.pause });
    out.push({ op: "cancel", ref: held });
    if (s.then === "gc" && s.inner !== "coro") out.push({ op: "drop", ref: { motif: s.inner } });
    else if (s.then === "gc") out.push({ op: "gc" });
    else out.push({ op: "inspect", ref: held });
    return out;
  }

  /** The number of the callback a motif's call_soon / call_later runs, or -1 when its handle is missing. */
  private synthesise(scope: Scope, synth: Synth): number {
    let step: Step;
    if (synth.kind === "cancel_task") {
      if (scope.motifTask === null) return -1;
      step = synth.msg === undefined ? { op: "cancel", task: scope.motifTask } : { op: "cancel", task: scope.motifTask, msg: synth.msg };
    } else {
      const f = scope.motifFuture;
      if (f === null) return -1;
      if (synth.kind === "set_result") step = synth.value === undefined ? { op: "set_result", future: f } : { op: "set_result", future: f, value: synth.value };
      else if (synth.kind === "set_exception") step = { op: "set_exception", future: f, exc: copyException(synth.exc) };
      else step = synth.msg === undefined ? { op: "cancel", task: f } : { op: "cancel", task: f, msg: synth.msg };
    }
    const k = this.nCallbacks + this.synthesised.length;
    this.synthesised.push({ name: callbackName(k), body: [step] });
    return k;
  }

  private timer(scope: Scope, bind: boolean, cb: number, synth: Synth | undefined): { callback: string; handle?: string } | null {
    const k = synth !== undefined ? this.synthesise(scope, synth) : this.callbackRef(scope, cb);
    if (k < 0) return null;
    this.named = k;
    const callback = callbackName(k);
    // Callbacks bind no timer handle: one nothing refers to is left out of
    // the scenario, and its handles with it.
    if (!bind || scope.cb !== null) return { callback };
    const handle = this.allocate("timer");
    scope.localTimers.push(handle);
    return { callback, handle };
  }

  private step(scope: Scope, s: RawStep, depth: number): Step {
    switch (s.op) {
      case "log":
        return logStep();
      case "sleep":
        return { op: "sleep", ticks: s.ticks };
      case "call": {
        const callee = this.callee(scope.from, s.c);
        return callee !== null ? { op: "call", coro: callee } : logStep();
      }
      case "await": {
        const on = this.awaitable(scope, s.on);
        return on !== null ? { op: "await", on } : logStep();
      }
      case "create_task": {
        const callee = this.calleeIndex(scope.from, s.c);
        if (s.motif) scope.motifTask = null;
        if (callee === null) return logStep();
        const task = this.allocate("task", s.reuse);
        this.lowestCallee.set(task, Math.min(callee, this.lowestCallee.get(task) ?? Infinity));
        const out: Step & { op: "create_task" } = { op: "create_task", coro: coroName(callee), task };
        if (s.name !== undefined) out.name = s.name;
        if (s.group === "motif") {
          if (scope.motifGroup !== null) out.group = scope.motifGroup;
        } else if (s.group !== undefined) {
          if (s.group.inner && scope.groups.length > 0) out.group = scope.groups[scope.groups.length - 1 - (s.group.i % scope.groups.length)];
          else if (!s.group.inner) out.group = this.scopeRef(scope, s.group, "group");
        }
        scope.localTasks.push(task);
        if (s.motif) scope.motifTask = task;
        return out;
      }
      case "cancel": {
        const t = this.ref(scope, s.ref, "any");
        if (t === null) return logStep();
        return s.msg === undefined ? { op: "cancel", task: t } : { op: "cancel", task: t, msg: s.msg };
      }
      case "inspect":
      case "result":
      case "exception":
      case "uncancel": {
        const t = this.ref(scope, s.ref, s.op === "uncancel" ? "task" : "any");
        return t === null ? logStep() : { op: s.op, task: t };
      }
      case "set_name": {
        const t = this.ref(scope, s.ref, "task");
        return t === null ? logStep() : { op: "set_name", task: t, name: s.name };
      }
      case "raise":
        return { op: "raise", exc: copyException(s.exc) };
      case "return":
        return s.value === undefined ? { op: "return" } : { op: "return", value: s.value };
      case "try": {
        if (depth >= this.maxDepth) return logStep(); // cannot happen with StepArbs
        const out: Step & { op: "try" } = { op: "try", body: this.steps(scope, s.body, depth + 1) };
        if (s.except.length > 0) {
          out.except = s.except.map((h) => {
            const c: ExceptClause = { type: h.type };
            const body = this.steps(scope, h.body, depth + 1);
            if (body.length > 0) c.body = body;
            if (h.reraise) c.reraise = true;
            return c;
          });
          if (s.star) out.star = true;
        }
        if (s.finally !== undefined) out.finally = this.steps(scope, s.finally, depth + 1);
        else if (s.except.length === 0) out.finally = []; // try: ... finally: pass
        return out;
      }
      case "create_future": {
        const f = this.allocate("future", s.reuse);
        scope.localFutures.push(f);
        if (s.motif) scope.motifFuture = f;
        return { op: "create_future", future: f };
      }
      case "set_result": {
        const f = this.ref(scope, s.ref, "future");
        if (f === null) return logStep();
        return s.value === undefined ? { op: "set_result", future: f } : { op: "set_result", future: f, value: s.value };
      }
      case "set_exception": {
        const f = this.ref(scope, s.ref, "future");
        return f === null ? logStep() : { op: "set_exception", future: f, exc: copyException(s.exc) };
      }
      case "current_task":
        return { op: "current_task" };
      case "all_tasks":
        return { op: "all_tasks" };
      case "add_done_callback":
      case "remove_done_callback": {
        const k = this.callbackRef(scope, s.cb);
        const t = this.ref(scope, s.ref, "any");
        if (k < 0 || t === null) return logStep();
        this.named = k;
        return { op: s.op, task: t, callback: callbackName(k) };
      }
      case "call_soon": {
        const t = this.timer(scope, s.bind, s.cb, s.synth);
        return t === null ? logStep() : { op: "call_soon", ...t };
      }
      case "call_later": {
        const t = this.timer(scope, s.bind, s.cb, s.synth);
        return t === null ? logStep() : { op: "call_later", delay: s.delay, ...t };
      }
      case "call_at": {
        const t = this.timer(scope, s.bind, s.cb, undefined);
        return t === null ? logStep() : { op: "call_at", when: s.when, ...t };
      }
      case "cancel_handle":
        return { op: "cancel_handle", handle: this.pending(scope, "timer", s.ref as { local: boolean; i: number }) };
      case "taskgroup": {
        if (depth >= this.maxDepth) return logStep();
        const group = this.allocate("group");
        scope.groups.push(group);
        const body = this.steps(scope, s.body, depth + 1);
        scope.groups.pop();
        return { op: "taskgroup", group, body };
      }
      case "new_taskgroup":
        // (Its create_task, if any, is expanded by topBody, at top level only.)
        scope.motifGroup = this.allocate("group");
        return { op: "new_taskgroup", group: scope.motifGroup };
      case "timeout": {
        if (depth >= this.maxDepth) return logStep();
        const out: TimeoutStep = { op: "timeout", delay: s.delay, body: [] };
        if (s.at) out.at = true;
        if (s.cm) out.cm = this.allocate("cm");
        scope.timeouts.push(out);
        out.body = this.steps(scope, s.body, depth + 1);
        scope.timeouts.pop();
        // Key order as a person would write it: cm, delay, at, body.
        const ordered: TimeoutStep = out.cm !== undefined
          ? { op: "timeout", cm: out.cm, delay: out.delay, body: out.body }
          : { op: "timeout", delay: out.delay, body: out.body };
        return out.at ? { ...ordered, at: true, body: out.body } : ordered;
      }
      case "reschedule":
      case "inspect_timeout": {
        let cm: string;
        if (s.cm.inner && scope.timeouts.length > 0) {
          const t = scope.timeouts[scope.timeouts.length - 1 - (s.cm.i % scope.timeouts.length)];
          if (t.cm === undefined) t.cm = this.allocate("cm"); // bind the cm it needs
          cm = t.cm;
        } else {
          cm = this.scopeRef(scope, s.cm, "cm");
        }
        if (s.op === "inspect_timeout") return { op: "inspect_timeout", cm };
        const out: Step & { op: "reschedule" } = { op: "reschedule", cm, delay: s.delay };
        if (s.at) out.at = true;
        return out;
      }
      case "as_completed": {
        const on: Awaitable[] = [];
        for (const r of s.refs) {
          const t = this.ref(scope, r, "any", true);
          if (t !== null) on.push({ task: t });
        }
        for (const c of s.coros ?? []) {
          const callee = this.callee(scope.from, c);
          if (callee !== null) on.push({ coro: callee });
        }
        const out: Step & { op: "as_completed" } = { op: "as_completed", on };
        if (s.timeout !== undefined) out.timeout = s.timeout;
        if (s.mode === "iter" || (s.mode === "async" && supportsAsyncAsCompleted(this.version))) out.mode = s.mode;
        return out;
      }
      case "spawn":
        // Only at top level (topBody expands them); elsewhere, their first step.
        return this.step(scope, this.expandSpawn(s)[0], depth);
      case "promise":
        return this.step(scope, this.expandPromise(s)[0], depth);
      case "shielded":
        return this.step(scope, this.expandShielded(s)[0], depth);
      case "ensure_future": {
        // Its handle ("s0", "s1": not holdFutures' e0, e1) only the motif's steps name.
        const on = this.awaitable(scope, s.on);
        scope.motifHeld = null;
        if (on === null) return logStep();
        scope.motifHeld = `s${this.heldCount++ % 2}`;
        return { op: "ensure_future", on, future: scope.motifHeld };
      }
      case "drop": {
        const h = this.ref(scope, s.ref, "any");
        return h === null ? logStep() : { op: "drop", handle: h };
      }
      case "gc":
        // A gc step in a coroutine many tasks run would collect the heap each time: main only.
        return scope.from === 0 ? { op: "gc" } : logStep();
    }
  }
}

function copyException(e: ExceptionSpec): ExceptionSpec {
  const out: ExceptionSpec = { type: e.type };
  if (e.args !== undefined) out.args = [...e.args];
  if (e.exceptions !== undefined) out.exceptions = e.exceptions.map(copyException);
  return out;
}

// ---------------------------------------------------------------- lowering, pass 2

/**
 * Pass 2: resolve the pending handle references, number log labels. It
 * visits only the steps pass 1 listed, in the scenario's order, and settles
 * each in place (every step object is pass 1's own, shared with nothing);
 * a step whose reference has nothing to name becomes a log step.
 *
 * Awaiting is restricted so that no task can (transitively) wait for itself:
 * code of coroutine k awaits (in any awaitable) only task handles that every
 * create_task binds to coroutines of index > k. A task runs its root
 * coroutine r and, inline, coroutines of index >= r, so every task waits
 * only for tasks of a higher root: the wait-for graph is acyclic. Without
 * that, task A awaiting B while B awaits A deadlocks, and cancelling either
 * recurses for ever (Task.cancel cancels the future it waits on), in CPython
 * as anywhere. Futures wait for nothing: any may be awaited. cancel, inspect,
 * ... may name any handle, the running task's own included.
 */
class Resolver {
  private label = 0;
  constructor(readonly lowerer: Lowerer) {}

  nextLabel(): string {
    const k = this.label++;
    return k < LABELS.length ? LABELS[k] : labelName(k);
  }

  /** Settle every listed step, in order. */
  run(): void {
    const { siteBody, siteIndex } = this.lowerer;
    for (let k = 0; k < siteBody.length; k++) {
      const body = siteBody[k];
      const step = body[siteIndex[k]];
      if (step.op === "log") step.label = this.nextLabel();
      else if (!this.step(step)) body[siteIndex[k]] = { op: "log", label: this.nextLabel() };
    }
  }

  private awaitableTask(h: string, from: number): boolean {
    return (this.lowerer.lowestCallee.get(h) ?? -1) > from;
  }

  /**
   * The handle a reference names among the first `n` of `local` (the
   * `i`-th from the last) or else among `all` (the `i`-th), keeping only
   * tasks it may await when `awaited`; null when there is none.
   */
  private choose(p: Pending, local: readonly string[], n: number, all: readonly string[], awaited: boolean): string | null {
    if (!awaited) {
      if (p.local && n > 0) return local[n - 1 - (p.i % n)];
      return all.length > 0 ? all[p.i % all.length] : null;
    }
    if (p.local) {
      let m = 0;
      for (let j = 0; j < n; j++) if (this.awaitableTask(local[j], p.from)) m++;
      if (m > 0) return nth(local, n, m - 1 - (p.i % m), (t) => this.awaitableTask(t, p.from));
    }
    let m = 0;
    for (let j = 0; j < all.length; j++) if (this.awaitableTask(all[j], p.from)) m++;
    return m > 0 ? nth(all, all.length, p.i % m, (t) => this.awaitableTask(t, p.from)) : null;
  }

  /** A handle name, or null when there is nothing it can name. */
  resolve(field: string | undefined): string | null {
    if (field === undefined) return null;
    if (!isPending(field)) return field;
    const p = field;
    const h = this.lowerer.handles;
    if (p.fixed !== null) return !p.forAwait || this.awaitableTask(p.fixed, p.from) ? p.fixed : null;
    const none: readonly string[] = [];
    const tasks = (): string | null => this.choose(p, p.scope?.localTasks ?? none, p.nTasks, h.task, p.forAwait);
    const futures = (): string | null => this.choose(p, p.scope?.localFutures ?? none, p.nFutures, h.future, false);
    switch (p.ns) {
      case "task":
        return tasks();
      case "future":
        return futures();
      case "any":
        return p.fut ? futures() ?? tasks() : tasks() ?? futures();
      case "timer":
        return this.choose(p, p.scope?.localTimers ?? none, p.nTimers, h.timer, false);
      case "group":
        return this.choose(p, none, 0, h.group, false);
      case "cm":
        return this.choose(p, none, 0, h.cm, false);
    }
  }

  /** The awaitable settled in place, or null when it must go. */
  awaitable(a: Awaitable): Awaitable | null {
    if ("task" in a) {
      const t = this.resolve(a.task);
      if (t === null) return null;
      a.task = t;
      return a;
    }
    if ("gather" in a) {
      this.parts(a.gather);
      return a;
    }
    if ("shield" in a) {
      return this.awaitable(a.shield) === null ? null : a;
    }
    if ("wait_for" in a) {
      return this.awaitable(a.wait_for) === null ? null : a;
    }
    if ("wait" in a) {
      this.parts(a.wait);
      // A wait is empty on purpose only; one whose handles are all missing goes.
      if (a.wait.length === 0 && !(this.lowerer.emptyWaits?.has(a) ?? false)) return null;
      return a;
    }
    return a;
  }

  /** Drop the parts that must go, in place. */
  private parts(parts: Awaitable[]): void {
    let n = 0;
    for (let j = 0; j < parts.length; j++) {
      const q = this.awaitable(parts[j]);
      if (q !== null) parts[n++] = q;
    }
    parts.length = n;
  }

  /** Settle a listed step in place; false when it must become a log step. */
  private step(s: Step): boolean {
    switch (s.op) {
      case "await":
        return this.awaitable(s.on) !== null;
      case "create_task": {
        if (s.group === undefined) return true;
        const group = this.resolve(s.group);
        // (group is the step's last field: deleting it leaves the others' order.)
        if (group !== null) s.group = group;
        else delete s.group;
        return true;
      }
      case "cancel":
      case "inspect":
      case "result":
      case "exception":
      case "uncancel":
      case "set_name":
      case "add_done_callback":
      case "remove_done_callback": {
        const t = this.resolve(s.task);
        if (t === null) return false;
        s.task = t;
        return true;
      }
      case "set_result":
      case "set_exception": {
        const f = this.resolve(s.future);
        if (f === null) return false;
        s.future = f;
        return true;
      }
      case "cancel_handle": {
        const h = this.resolve(s.handle);
        if (h === null) return false;
        s.handle = h;
        return true;
      }
      case "reschedule":
      case "inspect_timeout": {
        const cm = this.resolve(s.cm);
        if (cm === null) return false;
        s.cm = cm;
        return true;
      }
      case "as_completed": {
        const had = s.on.length;
        this.parts(s.on);
        return s.on.length > 0 || had === 0;
      }
      case "ensure_future":
        // Its handle must stay bound (the motif's cancel and await name it):
        // a shield of a task this coroutine may not wait for shields a sleep.
        if (this.awaitable(s.on) === null) s.on = { shield: { sleep: 0 } };
        return true;
      default:
        return true;
    }
  }
}

/** The `k`-th of the first `n` items of `list` that pass `ok`. */
function nth(list: readonly string[], n: number, k: number, ok: (t: string) => boolean): string {
  for (let j = 0; j < n; j++) {
    if (ok(list[j]) && k-- === 0) return list[j];
  }
  throw new Error("nth: out of range");
}

/**
 * Which of the callbacks (by number) the coroutines reach, directly or
 * through callbacks, from the steps pass 1 listed as naming one (those that
 * pass 2 made log steps name none). The others are left out of the scenario.
 */
function reachableCallbacks(lowerer: Lowerer, nAll: number): boolean[] {
  const { useBody, useIndex, useOwner, callbackUse } = lowerer;
  const reached: boolean[] = new Array<boolean>(nAll).fill(false);
  const visit = (owner: number): void => {
    for (let k = 0; k < callbackUse.length; k++) {
      if (useOwner[k] !== owner || useBody[k][useIndex[k]].op === "log") continue;
      const c = callbackUse[k];
      // (A callback assumed by stepArb but not defined may be named: it has no body.)
      if (c < nAll && !reached[c]) {
        reached[c] = true;
        visit(c);
      }
    }
  };
  visit(-1);
  return reached;
}

export interface LowerOptions {
  maxSteps: number;
  maxDepth: number;
  /** Target version (default 3.13): what it does not support is dropped. */
  version?: PythonVersion;
  /** Task handles to treat as bound (to tasks nobody in the scenario waits for), besides those created. */
  assumeHandles?: string[];
  /** Future handles to treat as bound. */
  assumeFutures?: string[];
  /** Number of callbacks cb0.. to treat as defined (when the raw scenario has none). */
  assumeCallbacks?: number;
}

/** Turn a raw scenario into a concrete, valid one (pure: does not modify `raw`). */
export function lowerScenario(raw: RawScenario, opts: LowerOptions = { maxSteps: 6, maxDepth: 2 }): Scenario {
  const version = opts.version ?? "3.13";
  const nCoroutines = 1 + raw.others.length;
  const rawCallbacks = raw.callbacks ?? [];
  const nCallbacks = Math.max(rawCallbacks.length, opts.assumeCallbacks ?? 0);
  const lowerer = new Lowerer(nCoroutines, nCallbacks, opts.maxSteps, opts.maxDepth, version);
  const coroutines: Scenario["coroutines"] = [{ name: coroName(0), body: lowerer.topBody(0, raw.main) }];
  for (let i = 1; i < nCoroutines; i++) coroutines.push({ name: coroName(i), body: lowerer.topBody(i, raw.others[i - 1]) });
  const generated: CallbackDef[] = [];
  for (let j = 0; j < rawCallbacks.length; j++) generated.push({ name: callbackName(j), body: lowerer.callbackBody(j, rawCallbacks[j]) });
  for (const h of opts.assumeHandles ?? []) {
    if (!lowerer.handles.task.includes(h)) lowerer.handles.task.push(h);
    if (!lowerer.lowestCallee.has(h)) lowerer.lowestCallee.set(h, Infinity);
  }
  for (const f of opts.assumeFutures ?? []) if (!lowerer.handles.future.includes(f)) lowerer.handles.future.push(f);
  new Resolver(lowerer).run();
  const scenario: Scenario = { aiospec: 1, coroutines };
  // (No callback defined, none to reach, nearly half the time.)
  const synthesised = lowerer.synthesised;
  if (generated.length + synthesised.length > 0) {
    const reached = reachableCallbacks(lowerer, nCallbacks + synthesised.length);
    const callbacks: CallbackDef[] = [];
    for (let j = 0; j < generated.length; j++) if (reached[j]) callbacks.push(generated[j]);
    for (let k = 0; k < synthesised.length; k++) if (reached[nCallbacks + k]) callbacks.push(synthesised[k]);
    if (callbacks.length > 0) scenario.callbacks = callbacks;
  }
  if (raw.eager && supportsEager(version)) scenario.eager = true;
  if (raw.interrupt !== undefined) {
    // Every step object here was built by pass 1 or 2 (never shared with
    // `raw`), so changing one in place does not touch the raw value.
    const raises: Array<Step & { op: "raise" }> = [];
    forEachStep(scenario, (step, inCallback) => {
      if (step.op === "raise" && !inCallback) raises.push(step);
    });
    if (raises.length > 0) {
      const r = raises[raw.interrupt.which % raises.length];
      r.exc = { type: raw.interrupt.type };
    }
  }
  if (raw.selfRefs !== undefined) useSelfHandles(scenario, raw.selfRefs);
  if (raw.holds !== undefined) holdFutures(scenario, raw.holds, opts.maxSteps);
  if (raw.unawaited !== undefined) insertUnawaited(scenario, raw.unawaited, opts.maxSteps, MAX_CALLBACK_STEPS);
  const withGc = raw.gc === undefined ? scenario : insertGcSteps(scenario, raw.gc, opts.maxSteps, MAX_CALLBACK_STEPS);
  const out = raw.repeats === undefined ? withGc : wrapInRepeat(withGc, raw.repeats);
  // Only wrapInRepeat makes repeats: without it, the scenario's features and
  // its run need not walk it looking for one.
  if (raw.repeats === undefined) knownRepeatFree(out);
  // A child naming its own handle in its eager first step would find it
  // unbound, which the validator refuses: such a scenario runs lazily.
  // (Checked on the scenario with its repeats expanded, as the validator does.)
  if (out.eager && eagerSelfUseErrors(expandScenario(out)).length > 0) delete out.eager;
  return out;
}

/** Handles of ensure_future steps. */
const HELD = ["e0", "e1"];

/**
 * Hold some combinators' futures: `await A` (A a gather, shield, wait_for or
 * wait) becomes `ensure_future(A) -> eK`, sometimes `cancel eK`, then
 * `await eK` — in place, in every body (a top-level body only while it has
 * room). Awaiting eK waits for what A waits for, as the await did.
 */
export function holdFutures(scenario: Scenario, holds: readonly RawHold[], maxSteps = Infinity): void {
  type Site = { body: Step[]; top: boolean };
  const sites: Array<Site & { i: number }> = [];
  const visit = (body: Step[], top: boolean): void => {
    body.forEach((s, i) => {
      if (s.op === "await" && ("gather" in s.on || "shield" in s.on || "wait_for" in s.on || "wait" in s.on)) sites.push({ body, top, i });
      if (s.op === "try") {
        visit(s.body, false);
        for (const h of s.except ?? []) if (h.body) visit(h.body, false);
        if (s.finally) visit(s.finally, false);
      } else if (s.op === "taskgroup" || s.op === "timeout") visit(s.body, false);
    });
  };
  for (const c of scenario.coroutines) visit(c.body, true);
  if (sites.length === 0) return;
  const chosen = new Map<Site & { i: number }, boolean>();
  for (const h of holds) chosen.set(sites[h.which % sites.length], h.cancel);
  // Rewrite from the last site backwards, so earlier indices stay valid.
  const ordered = [...chosen.entries()].sort((a, b) => b[0].i - a[0].i);
  let n = 0;
  for (const [site, cancel] of ordered) {
    const extra = cancel ? 2 : 1;
    if (site.top && site.body.length + extra > maxSteps) continue;
    const handle = HELD[n++ % HELD.length];
    const on = (site.body[site.i] as Step & { op: "await" }).on;
    const steps: Step[] = [{ op: "ensure_future", on, future: handle }];
    if (cancel) steps.push({ op: "cancel", task: handle });
    steps.push({ op: "await", on: { task: handle } });
    site.body.splice(site.i, 1, ...steps);
  }
}

/** Put never-awaited coroutine objects (unawaited steps) at top-level places of the bodies, room permitting. */
export function insertUnawaited(scenario: Scenario, raws: readonly RawUnawaited[], maxSteps = Infinity, maxCallbackSteps = Infinity): void {
  const bodies = [...scenario.coroutines.map((c) => c.body), ...(scenario.callbacks ?? []).map((c) => c.body)];
  for (const r of raws) {
    const i = r.body % bodies.length;
    const body = bodies[i];
    if (body.length >= (i < scenario.coroutines.length ? maxSteps : maxCallbackSteps)) continue;
    body.splice(r.at % (body.length + 1), 0, { op: "unawaited", coro: scenario.coroutines[r.c % scenario.coroutines.length].name });
  }
}

/** Steps whose `task` may be "$current" or "$main" (everything but awaiting, set_result and set_exception). */
const SELF_HANDLE_OPS: ReadonlySet<string> = new Set([
  "cancel", "inspect", "result", "exception", "uncancel", "set_name", "add_done_callback", "remove_done_callback",
]);

/**
 * Make some steps name the running task ("$current") or the main task
 * ("$main") instead of their handle, in place (every step of a lowered
 * scenario is its own object).
 */
export function useSelfHandles(scenario: Scenario, refs: readonly RawSelfRef[]): void {
  const candidates: Array<Step & { task: string }> = [];
  forEachStep(scenario, (step) => {
    if (SELF_HANDLE_OPS.has(step.op)) candidates.push(step as Step & { task: string });
  });
  if (candidates.length === 0) return;
  for (const r of refs) candidates[r.which % candidates.length].task = r.main ? "$main" : "$current";
}

const BINDING_OPS: ReadonlySet<string> = new Set(["create_task", "create_future", "ensure_future", "taskgroup", "new_taskgroup"]);

/** Does a step (or a block it opens) bind a handle of any kind? */
function bindsHandle(step: Step): boolean {
  let binds = false;
  forEachStep({ aiospec: 1, coroutines: [{ name: "x", body: [step] }] }, (x) => {
    if (BINDING_OPS.has(x.op)) binds = true;
    else if (x.op === "timeout" && x.cm !== undefined) binds = true;
    else if ((x.op === "call_soon" || x.op === "call_later" || x.op === "call_at") && x.handle !== undefined) binds = true;
  });
  return binds;
}

/**
 * Wrap top-level steps in short repeats (spec/scenario/repeat.ts); a log
 * label gets the repeat variable, so the copies tell themselves apart.
 */
export function wrapInRepeat(scenario: Scenario, repeats: readonly RawRepeat[]): Scenario {
  const bodies = [...scenario.coroutines.map((c) => [...c.body]), ...(scenario.callbacks ?? []).map((c) => [...c.body])];
  for (const r of repeats) {
    const body = bodies[r.body % bodies.length];
    if (body.length === 0) continue;
    const at = r.at % body.length;
    const step = body[at];
    if ((step as { op: string }).op === "repeat") continue;
    // Never zero times a step that binds a handle: other steps name it.
    const times = r.times === 0 && bindsHandle(step) ? 1 : r.times;
    const inner: Step = step.op === "log" ? { op: "log", label: `${step.label}#{r}` } : step;
    body[at] = { op: "repeat", times, var: "r", body: [inner] } as unknown as Step;
  }
  const n = scenario.coroutines.length;
  const out: Scenario = { ...scenario, coroutines: scenario.coroutines.map((c, i) => ({ ...c, body: bodies[i] })) };
  if (scenario.callbacks !== undefined) out.callbacks = scenario.callbacks.map((c, j) => ({ ...c, body: bodies[n + j] }));
  return out;
}

/**
 * Put gc mode's gc and drop steps into a lowered scenario: drop steps at the
 * top level of any coroutine or callback, gc steps at main's. A
 * drop names a handle some step binds, so the scenario stays valid; whether
 * it is bound when the drop runs is scheduling (an `unbound` event).
 */
export function insertGcSteps(scenario: Scenario, raws: readonly RawGcStep[], maxSteps = Infinity, maxCallbackSteps = Infinity): Scenario {
  const handles: string[] = [];
  forEachStep(scenario, (step) => {
    const h = step.op === "create_task" ? step.task : step.op === "create_future" ? step.future : null;
    if (h !== null && !handles.includes(h)) handles.push(h);
  });
  const bodies = [...scenario.coroutines.map((c) => [...c.body]), ...(scenario.callbacks ?? []).map((c) => [...c.body])];
  for (const r of raws) {
    const drop = r.drop && handles.length > 0;
    // gc steps go in main, which runs once: in a coroutine that many tasks
    // run (diff --size large makes hundreds), each would collect the whole
    // heap, and a scenario would take seconds.
    const i = drop ? r.body % bodies.length : 0;
    const body = bodies[i];
    if (body.length >= (i < scenario.coroutines.length ? maxSteps : maxCallbackSteps)) continue;
    const step: Step = drop ? { op: "drop", handle: handles[r.which % handles.length] } : { op: "gc" };
    body.splice(r.at % (body.length + 1), 0, step);
  }
  const n = scenario.coroutines.length;
  const out: Scenario = { ...scenario, coroutines: scenario.coroutines.map((c, i) => ({ ...c, body: bodies[i] })) };
  if (scenario.callbacks !== undefined) out.callbacks = scenario.callbacks.map((c, j) => ({ ...c, body: bodies[n + j] }));
  return out;
}

// ---------------------------------------------------------------- public arbitraries

/** Steps of a generated callback body. */
const MAX_CALLBACK_STEPS = 3;

function normalise(opts: ScenarioArbOptions): Required<ScenarioArbOptions> {
  const int = (v: number | undefined, dflt: number, min: number): number =>
    v === undefined ? dflt : Math.max(min, Math.floor(v));
  return {
    version: opts.version ?? "3.13",
    maxCoroutines: int(opts.maxCoroutines, 4, 1),
    maxSteps: int(opts.maxSteps, 6, 0),
    maxDepth: int(opts.maxDepth, 2, 0),
    maxCallbacks: int(opts.maxCallbacks, 3, 0),
  };
}

/** Raw steps in a given context (main body, other bodies, try bodies, callbacks, ...), at block depth `depth`. */
export function rawStepArb(context: Context = "other", depth = 0, maxDepth = 2, version: PythonVersion = "3.13"): fc.Arbitrary<RawStep> {
  return new StepArbs(maxDepth, version).step(context, depth);
}

/** The raw scenario arbitrary (before lowering); shrinks the same way as scenarioArb. */
export function rawScenarioArb(opts: ScenarioArbOptions = {}): fc.Arbitrary<RawScenario> {
  const o = normalise(opts);
  const arbs = new StepArbs(o.maxDepth, o.version);
  return fc
    .record({
      // Main mostly starts with a motif (the interesting part of most
      // scenarios); that lead step shrinks away like any other.
      main: fc
        .record({
          lead: maybe(pick(w(3, simpleArbs.spawn), w(1, simpleArbs.promise)), 60),
          rest: arbs.body("main", 0, o.maxSteps, 85),
        })
        .map(({ lead, rest }) => (lead === undefined ? rest : [lead, ...rest])),
      // Mostly 2..maxCoroutines coroutines (tasks need somewhere to run);
      // main alone is the shrink target.
      others: leadArray(arbs.body("other", 0, o.maxSteps, 85), o.maxCoroutines - 1, 90),
      callbacks: leadArray(arbs.body("callback", 0, MAX_CALLBACK_STEPS, 90), o.maxCallbacks, 55),
      eager: supportsEager(o.version) ? flag(15) : fc.constant(false),
      interrupt: pick(
        w(80, fc.constant(undefined)),
        w(
          2,
          fc.record({
            type: fc.constantFrom("KeyboardInterrupt" as const, "SystemExit" as const),
            which: fc.nat(3),
          }),
        ),
      ),
      // One scenario in six runs in gc mode (docs/scenario-language.md,
      // "Garbage collection"): a few gc and drop steps anywhere at top level.
      gc: maybe(
        fc.array(fc.record({ body: fc.nat(7), at: fc.nat(8), drop: flag(50), which: fc.nat(7) }), { minLength: 1, maxLength: 4 }),
        16,
      ),
      // $current / $main (one scenario in ten), repeats (one in twenty).
      selfRefs: maybe(fc.array(fc.record({ which: fc.nat(7), main: fc.boolean() }), { minLength: 1, maxLength: 2 }), 10),
      repeats: maybe(
        fc.array(fc.record({ body: fc.nat(7), at: fc.nat(8), times: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 2 }),
        5,
      ),
      // ensure_future handles on combinators (one in eight), never-awaited coroutines (one in twenty).
      holds: maybe(fc.array(fc.record({ which: fc.nat(7), cancel: flag(40) }), { minLength: 1, maxLength: 2 }), 12),
      unawaited: maybe(fc.array(fc.record({ body: fc.nat(7), at: fc.nat(8), c: fc.nat(7) }), { minLength: 1, maxLength: 2 }), 5),
    })
    .map((r) => {
      const out: RawScenario = { main: r.main, others: r.others };
      if (r.callbacks.length > 0) out.callbacks = r.callbacks;
      if (r.eager) out.eager = true;
      if (r.interrupt !== undefined) out.interrupt = r.interrupt;
      if (r.gc !== undefined) out.gc = r.gc;
      if (r.selfRefs !== undefined) out.selfRefs = r.selfRefs;
      if (r.repeats !== undefined) out.repeats = r.repeats;
      if (r.holds !== undefined) out.holds = r.holds;
      if (r.unawaited !== undefined) out.unawaited = r.unawaited;
      return out;
    });
}

/**
 * Valid, terminating, small scenarios using every operation `opts.version`
 * supports. For Pythons older than 3.11 the generators' 3.11 scenarios are
 * rewritten to what that version has (spec/scenario/downgrade.ts).
 */
export function scenarioArb(opts: ScenarioOptions = {}): fc.Arbitrary<Scenario> {
  const { exclude = [], ...rest } = opts;
  // Nothing left out: the very same arbitrary, so that seeds and replays stay valid.
  if (exclude.length === 0) return versionedScenarioArb(rest);
  const excluded = new Set(exclude);
  return versionedScenarioArb(rest)
    .map((s) => withoutFeatures(s, excluded))
    .filter((s): s is Scenario => s !== null);
}

/** scenarioArb without exclusions: the generators' scenarios for `opts.version`. */
function versionedScenarioArb(opts: ScenarioArbOptions): fc.Arbitrary<Scenario> {
  const o = normalise(opts);
  if (!atLeast(o.version, "3.11")) {
    const old = o.version;
    return versionedScenarioArb({ ...o, version: "3.11" })
      .map((s) => downgradeScenario(s, old))
      .filter((s): s is Scenario => s !== null);
  }
  return rawScenarioArb(o).map((raw) =>
    lowerScenario(raw, { maxSteps: o.maxSteps, maxDepth: o.maxDepth, version: o.version }),
  );
}

/**
 * One concrete step of main, standalone: callees are "c1".."c{maxCoroutines-1}",
 * callbacks "cb0".."cb{callbacks-1}" (default 1), and task / future handle
 * references name handles the step creates or one of `handles` (default t0,
 * t1) / `futures` (default f0), which the caller must bind (tasks to
 * coroutines other than main, to keep waits acyclic). References to
 * TaskGroups, timeouts and timer handles outside the step become log steps.
 * A motif yields its first step only. For tests and examples; properties
 * should use scenarioArb, which keeps whole scenarios valid.
 */
export function stepArb(
  opts: ScenarioArbOptions & { handles?: string[]; futures?: string[]; callbacks?: number } = {},
): fc.Arbitrary<Step> {
  const o = normalise(opts);
  const others: RawStep[][] = Array.from({ length: o.maxCoroutines - 1 }, () => []);
  return rawStepArb("main", 0, o.maxDepth, o.version).map((raw) => {
    const s = lowerScenario(
      { main: [raw], others },
      {
        maxSteps: 1,
        maxDepth: o.maxDepth,
        version: o.version,
        assumeHandles: opts.handles ?? ["t0", "t1"],
        assumeFutures: opts.futures ?? ["f0"],
        assumeCallbacks: opts.callbacks ?? 1,
      },
    );
    return s.coroutines[0].body[0];
  });
}
