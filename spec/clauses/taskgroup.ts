/**
 * Clauses: Task Groups (asyncio.TaskGroup), from the "Task Groups" and
 * "Terminating a Task Group" sections of "Coroutines and Tasks".
 *
 *     async with asyncio.TaskGroup() as tg:
 *         tg.create_task(work())
 *     # every task of tg is done here
 *
 * Each clause's scenarios are built from a few kinds of children, each a
 * coroutine of its own (c0, c1, ...) run as a named task (t0, t1, ...):
 *   - a sleeper sleeps and returns its name;
 *   - a failer sleeps and raises (ValueError("t0"), ...);
 *   - a victim sleeps long, and when cancelled logs "t0 cancelled", maybe
 *     cleans up for a while (or raises), and re-raises the CancelledError.
 * The block is usually guarded: `try: <block> except BaseException: log
 * "raised"`, so the trace's `caught` event just before the "raised" log is
 * what left the block, and a "after" log says the code after it ran.
 *
 * The small vocabulary first (scenario builders and trace readers, exported:
 * spec/clauses/timeouts.ts shares it), then the children, then the clauses.
 */
import fc from "fast-check";
import { PyBaseException, isinstance } from "../../harness/engine/pyexc";
import type { ExceptionSpec, RaisableType, Scalar, Scenario, Step, CatchableType } from "../scenario/types";
import type { ExceptionData, Trace, TraceEvent } from "../scenario/trace";
import { canonicalJson } from "../scenario/trace";
import { TASKGROUP_DONE_CHILD_FAST_PATH_REMOVED, atLeast, hasChange } from "../scenario/versions";
import { ALL_VERSIONS, DOCS, built, clause, releaseOf, SINCE_3_11 } from "./clause";
import { mainRanToItsEnd } from "./evidence";
import type { Clause, Verdict } from "./clause";

// ================================================================ vocabulary: building scenarios

export const log = (label: string): Step => ({ op: "log", label });
export const sleep = (ticks: number): Step => ({ op: "sleep", ticks });
export const ret = (value: Scalar = null): Step => ({ op: "return", value });
export const raise = (exc: ExceptionSpec): Step => ({ op: "raise", exc });
export const exc = (type: RaisableType, ...args: Scalar[]): ExceptionSpec => ({ type, args });
export const call = (coro: string): Step => ({ op: "call", coro });
/** handle = [group.]create_task(coro(), name=handle) */
export const spawn = (task: string, coro: string, group?: string): Step => ({
  op: "create_task", coro, task, name: task, ...(group !== undefined ? { group } : {}),
});
export const cancel = (task: string): Step => ({ op: "cancel", task });
export const inspect = (task: string): Step => ({ op: "inspect", task });
export const awaitTask = (task: string): Step => ({ op: "await", on: { task } });
export const future = (name: string): Step => ({ op: "create_future", future: name });
export const taskgroup = (group: string, body: Step[]): Step => ({ op: "taskgroup", group, body });
/** try: body  except T1: ... (each handler [type, body, reraise]) */
export const attempt = (body: Step[], ...handlers: Array<[CatchableType, Step[], boolean?]>): Step => ({
  op: "try",
  body,
  except: handlers.map(([type, hbody, reraise]) => ({ type, body: hbody, ...(reraise ? { reraise: true } : {}) })),
});
/** try: body  except BaseException: log(label)  — the `caught` event before the log is what escaped. */
export const guarded = (body: Step[], label = "raised"): Step => attempt(body, ["BaseException", [log(label)]]);

export function scenario(description: string, coroutines: Record<string, Step[]>): Scenario {
  return built({
    aiospec: 1,
    description,
    coroutines: Object.entries(coroutines).map(([name, body]) => ({ name, body })),
  });
}

// ================================================================ vocabulary: reading traces

export type Ev<K extends TraceEvent["ev"]> = Extract<TraceEvent, { ev: K }>;

/** Index of the first `log` event with this label, or -1. */
export function logIndex(trace: Trace, label: string): number {
  return trace.events.findIndex((e) => e.ev === "log" && e.label === label);
}

/** The first `log` event with this label, or undefined. */
export function logEvent(trace: Trace, label: string): Ev<"log"> | undefined {
  const i = logIndex(trace, label);
  return i < 0 ? undefined : (trace.events[i] as Ev<"log">);
}

/**
 * What the handler that logged `label` caught: the `caught` event recorded
 * just before that log, in the same task (null when the label is not logged).
 */
export function caughtBefore(trace: Trace, label: string): ExceptionData | null {
  const i = logIndex(trace, label);
  if (i < 0) return null;
  for (let j = i - 1; j >= 0; j--) {
    const e = trace.events[j];
    if (e.task !== trace.events[i].task) continue;
    if (e.ev === "caught") return e.exc;
    break;
  }
  throw new Error(`aiospec clause: no caught event before log ${JSON.stringify(label)}`);
}

/** The `exit` event of coroutine `coro` in task `task` (the child's own end), and its index. */
export function exitOf(trace: Trace, task: string, coro: string): { i: number; e: Ev<"exit"> } | null {
  const i = trace.events.findIndex((e) => e.ev === "exit" && e.task === task && e.coro === coro);
  return i < 0 ? null : { i, e: trace.events[i] as Ev<"exit"> };
}

/** All events of one kind, with their indices. */
export function eventsOf<K extends TraceEvent["ev"]>(trace: Trace, ev: K): Array<{ i: number; e: Ev<K> }> {
  const out: Array<{ i: number; e: Ev<K> }> = [];
  trace.events.forEach((e, i) => {
    if (e.ev === ev) out.push({ i, e: e as Ev<K> });
  });
  return out;
}

/** The inspect_timeout events of a timeout handle, in order. */
export function timeoutInspections(trace: Trace, ref: string): Array<{ i: number; e: Ev<"inspect_timeout"> }> {
  return eventsOf(trace, "inspect_timeout").filter(({ e }) => e.ref === ref);
}

/** An exception, briefly: ValueError('t0'), ExceptionGroup[ValueError('t0'), ...]. */
export function fmt(x: ExceptionData | null | undefined): string {
  if (x === null || x === undefined) return "nothing";
  const args = x.args.map((a) => canonicalJson(a)).join(", ");
  const members = x.exceptions ? `[${x.exceptions.map(fmt).join(", ")}]` : "";
  return `${x.type}(${args})${members}`;
}

export const isCancelled = (x: ExceptionData | null | undefined): boolean => x?.type === "CancelledError";
export const isGroup = (x: ExceptionData | null | undefined): boolean =>
  x?.type === "ExceptionGroup" || x?.type === "BaseExceptionGroup";

/** Is an exception an Exception (not only a BaseException)? */
export function isExceptionData(x: ExceptionData): boolean {
  return isinstance(new PyBaseException(x.type), "Exception");
}

/** Are two lists of exceptions the same multiset? */
export function sameExceptions(a: ExceptionData[], b: ExceptionData[]): boolean {
  const key = (x: ExceptionData) => canonicalJson(x);
  return canonicalJson(a.map(key).sort()) === canonicalJson(b.map(key).sort());
}

// ================================================================ children

/** A child of a group: coroutine c<i>, task (handle and name) t<i>. */
export type Child =
  | { kind: "sleeper"; ticks: number }
  | { kind: "failer"; ticks: number; exc: ExceptionSpec }
  | { kind: "victim"; ticks: number; cleanup: number; cleanupExc?: ExceptionSpec; swallow?: boolean; extra?: Step[] };

export const taskName = (i: number): string => `t${i}`;
export const coroName = (i: number): string => `c${i}`;
export const cancelledLabel = (i: number): string => `t${i} cancelled`;

/** A victim's, a failer's or a sleeper's body. */
export function childBody(c: Child, i: number): Step[] {
  switch (c.kind) {
    case "sleeper":
      return [sleep(c.ticks), ret(taskName(i))];
    case "failer":
      return [sleep(c.ticks), raise(c.exc)];
    case "victim": {
      const handler: Step[] = [log(cancelledLabel(i)), ...(c.extra ?? [])];
      if (c.cleanup > 0) handler.push(sleep(c.cleanup));
      if (c.cleanupExc) handler.push(raise(c.cleanupExc));
      return [attempt([sleep(c.ticks)], ["CancelledError", handler, !c.swallow && !c.cleanupExc]), ret(taskName(i))];
    }
  }
}

/** The create_task steps and coroutine definitions of children in group `group`. */
export function children(cs: Child[], group: string, first = 0): { spawns: Step[]; coros: Record<string, Step[]> } {
  const spawns: Step[] = [];
  const coros: Record<string, Step[]> = {};
  cs.forEach((c, k) => {
    const i = first + k;
    spawns.push(spawn(taskName(i), coroName(i), group));
    coros[coroName(i)] = childBody(c, i);
  });
  return { spawns, coros };
}

const ERROR_TYPES: RaisableType[] = ["ValueError", "KeyError", "RuntimeError", "CustomError", "TimeoutError"];

/** An ordinary failure; its argument names the child (`tag`), so every failure is told apart. */
const failureArb = (tag: string): fc.Arbitrary<ExceptionSpec> => fc.constantFrom(...ERROR_TYPES).map((t) => exc(t, tag));

/** Attach each child's tag (its task name) to its exceptions, once the children are numbered. */
function tagChildren(cs: Array<Child>): Child[] {
  return cs.map((c, i) => {
    if (c.kind === "failer") return { ...c, exc: retag(c.exc, taskName(i)) };
    if (c.kind === "victim" && c.cleanupExc) return { ...c, cleanupExc: retag(c.cleanupExc, `${taskName(i)} cleanup`) };
    return c;
  });
}

function retag(e: ExceptionSpec, tag: string): ExceptionSpec {
  if (e.exceptions) return { ...e, args: [tag], exceptions: e.exceptions.map((m, j) => retag(m, `${tag}.${j}`)) };
  return { ...e, args: [tag] };
}

const failerArb = (minTicks = 1, maxTicks = 3): fc.Arbitrary<Child> =>
  fc.record({ ticks: fc.integer({ min: minTicks, max: maxTicks }), exc: failureArb("?") }).map((r) => ({ kind: "failer" as const, ...r }));

const victimArb = (opts: { cleanupExc?: boolean; maxCleanup?: number } = {}): fc.Arbitrary<Child> =>
  fc
    .record({
      cleanup: fc.integer({ min: 0, max: opts.maxCleanup ?? 2 }),
      cleanupExc: opts.cleanupExc ? fc.option(failureArb("?"), { freq: 3 }) : fc.constant(null),
    })
    .map(({ cleanup, cleanupExc }) => ({ kind: "victim" as const, ticks: 10, cleanup, ...(cleanupExc ? { cleanupExc } : {}) }));

/** Outcome of a child task: its exit's exception, or null when it returned. */
function childExit(trace: Trace, i: number): { i: number; e: Ev<"exit"> } | null {
  return exitOf(trace, taskName(i), coroName(i));
}

/** The first failure (an exit other than by CancelledError) among children, in trace order. */
function firstFailure(trace: Trace, cs: Child[]): { i: number; e: Ev<"exit">; child: number } | null {
  let best: { i: number; e: Ev<"exit">; child: number } | null = null;
  cs.forEach((_, k) => {
    const x = childExit(trace, k);
    if (x && x.e.exc && !isCancelled(x.e.exc) && (best === null || x.i < best.i)) best = { ...x, child: k };
  });
  return best;
}

/** Every child's failure (exits other than by CancelledError). */
function failures(trace: Trace, count: number): ExceptionData[] {
  const out: ExceptionData[] = [];
  for (let k = 0; k < count; k++) {
    const x = childExit(trace, k);
    if (x?.e.exc && !isCancelled(x.e.exc)) out.push(x.e.exc);
  }
  return out;
}

/** Check every victim ended by CancelledError, cancelled at time `at` (when given), its handler having run. */
function victimsCancelled(trace: Trace, cs: Child[], at?: number): Verdict {
  for (let k = 0; k < cs.length; k++) {
    if (cs[k].kind !== "victim") continue;
    const x = childExit(trace, k);
    const cancelledLog = logEvent(trace, cancelledLabel(k));
    if (!cancelledLog) return `${taskName(k)} was never cancelled (it ${x ? (x.e.exc ? `raised ${fmt(x.e.exc)}` : "returned") : "never ended"} at t=${x?.e.time})`;
    if (at !== undefined && cancelledLog.time !== at) return `${taskName(k)} was cancelled at t=${cancelledLog.time}, not at t=${at}`;
    const c = cs[k] as Extract<Child, { kind: "victim" }>;
    if (!c.cleanupExc && !c.swallow && !(x && isCancelled(x.e.exc))) return `${taskName(k)} ended with ${fmt(x?.e.exc)}, not CancelledError`;
  }
  return true;
}

/** Children in a random order of creation: `fixed` ones placed among `others`. */
function mixed(fixed: fc.Arbitrary<Child>[], others: fc.Arbitrary<Child[]>): fc.Arbitrary<Child[]> {
  return fc.tuple(fc.tuple(...fixed), others, fc.array(fc.nat(), { minLength: fixed.length, maxLength: fixed.length })).map(([fs, os, pos]) => {
    const out = [...os];
    fs.forEach((f, j) => out.splice(pos[j] % (out.length + 1), 0, f));
    return tagChildren(out);
  });
}

const TG = DOCS.tasks + "#asyncio.TaskGroup";
const TG_CREATE = DOCS.tasks + "#asyncio.TaskGroup.create_task";
const SECTION = "Task Groups";

// ================================================================ the clauses

/**
 * The block's end waits for every task of the group, including tasks that
 * tasks of the group add while it waits.
 */
const waitAtExit = clause({
  id: "taskgroup.wait_at_exit",
  statement:
    "Leaving the async with block of a TaskGroup waits until every task of the group is done, including tasks added to the group while it waits.",
  source: { url: TG, section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["taskgroup", "create_task", "log", "return", "sleep"],
  brokenBy: ["mutant:tg-no-wait", "mutant:tg-closed-at-exit"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        kids: fc.array(
          fc.record({ ticks: fc.integer({ min: 0, max: 4 }), adds: fc.option(fc.integer({ min: 0, max: 3 }), { freq: 2 }) }),
          { minLength: 1, maxLength: 4 },
        ),
        body: fc.integer({ min: 0, max: 3 }),
        inline: fc.boolean(),
      })
      .map(({ kids, body, inline }) => {
        const coros: Record<string, Step[]> = {};
        const spawns: Step[] = [];
        kids.forEach((k, i) => {
          spawns.push(spawn(taskName(i), coroName(i), "g"));
          const late = `late${i}`;
          coros[coroName(i)] =
            k.adds === null
              ? [sleep(k.ticks), ret(taskName(i))]
              : [sleep(k.ticks), spawn(late, late, "g"), ret(taskName(i))];
          if (k.adds !== null) coros[late] = [sleep(k.adds), ret(late)];
        });
        const block = taskgroup("g", [...spawns, ...(body > 0 ? [sleep(body)] : []), ...(inline ? [ret("early")] : [])]);
        const main = inline ? [call("holder"), log("after")] : [block, log("after")];
        return scenario("TaskGroup children (some adding late children) and the code after the block.", {
          main,
          ...(inline ? { holder: [block, log("unreached")] } : {}),
          ...coros,
        });
      }),
  check({ trace, scenario: s }) {
    const after = logIndex(trace, "after");
    if (after < 0) return "the code after the block never ran";
    for (const c of s.coroutines) {
      if (c.name === "main" || c.name === "holder") continue;
      const x = exitOf(trace, c.name.startsWith("late") ? c.name : `t${c.name.slice(1)}`, c.name);
      if (x === null) return `task of ${c.name} never ended before the code after the block ran`;
      if (x.e.exc) return `task of ${c.name} raised ${fmt(x.e.exc)}`;
      if (x.i > after) return `the code after the block ran at t=${trace.events[after].time} before the task of ${c.name} was done (t=${x.e.time})`;
    }
    return true;
  },
});

/** A failure cancels the other tasks of the group that are still running. */
const failureCancelsOthers = clause({
  id: "taskgroup.failure_cancels_others",
  statement:
    "The first time a task of a TaskGroup fails with an exception other than CancelledError, the group cancels its other tasks that are still running.",
  source: { url: TG, section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["taskgroup", "create_task", "log", "raise", "return", "sleep", "try"],
  brokenBy: ["mutant:tg-no-cancel-siblings"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        kids: mixed(
          [failerArb(), victimArb()],
          fc.array(fc.oneof(failerArb(), victimArb(), fc.record({ kind: fc.constant("sleeper" as const), ticks: fc.nat(3) })), { maxLength: 3 }),
        ),
        body: fc.constantFrom(0, 0, 6, 20),
      })
      .map(({ kids, body }) => {
        // Sleepers finish strictly before the first failure: no ties with it.
        const minFail = Math.min(...kids.filter((c) => c.kind === "failer").map((c) => c.ticks));
        const cs = kids.map((c) => (c.kind === "sleeper" ? { ...c, ticks: Math.min(c.ticks, minFail - 1) } : c));
        const { spawns, coros } = children(cs, "g");
        return scenario("A TaskGroup with failing, finishing and long-running children.", {
          main: [guarded([taskgroup("g", [...spawns, ...(body > 0 ? [sleep(body)] : [])])]), log("after")],
          ...coros,
        });
      }),
  check({ trace, scenario: s }) {
    const cs = kidsOf(s);
    const first = firstFailure(trace, cs);
    if (first === null) return "no task of the group failed";
    const v = victimsCancelled(trace, cs, first.e.time);
    if (v !== true) return `after ${taskName(first.child)} failed at t=${first.e.time}: ${v}`;
    for (let k = 0; k < cs.length; k++) {
      if (cs[k].kind !== "sleeper") continue;
      const x = childExit(trace, k);
      if (!x || x.e.exc) return `${taskName(k)}, done before the failure, ended with ${fmt(x?.e.exc)}`;
    }
    return true;
  },
});

/** Rebuild the children of a scenario made with `children` (from its coroutines c0, c1, ...). */
function kidsOf(s: Scenario): Child[] {
  const out: Child[] = [];
  for (let i = 0; ; i++) {
    const c = s.coroutines.find((x) => x.name === coroName(i));
    if (!c) return out;
    const b = c.body;
    if (b[0].op === "try") {
      const h = b[0].except![0];
      const r = (h.body ?? []).find((x): x is Step & { op: "raise" } => x.op === "raise");
      out.push({ kind: "victim", ticks: 10, cleanup: 0, ...(r ? { cleanupExc: r.exc } : {}), ...(h.reraise ? {} : { swallow: !r }) });
    } else if (b[1]?.op === "raise") out.push({ kind: "failer", ticks: (b[0] as { ticks: number }).ticks, exc: b[1].exc });
    else out.push({ kind: "sleeper", ticks: (b[0] as { ticks: number }).ticks });
  }
}

/** A failure cancels the body too; that cancellation does not leave the block. */
const failureCancelsBody = clause({
  id: "taskgroup.failure_cancels_body",
  statement:
    "When a task of a TaskGroup fails while the body of the async with block is still running, the task running the body is cancelled: the CancelledError interrupts the body's await but does not leave the block, which raises the group's ExceptionGroup instead.",
  source: { url: TG, section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["taskgroup", "create_task", "log", "raise", "sleep", "try"],
  brokenBy: ["mutant:tg-no-cancel-body", "mutant:tg-first-error-bare"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        kids: mixed([failerArb()], fc.array(victimArb(), { maxLength: 2 })),
        bodySleep: fc.integer({ min: 5, max: 9 }),
        swallow: fc.boolean(),
        cleanup: fc.nat(2),
        worker: fc.boolean(),
      })
      .map(({ kids, bodySleep, swallow, cleanup, worker }) => {
        const { spawns, coros } = children(kids, "g");
        const handler: Step[] = [log("body cancelled"), ...(cleanup > 0 ? [sleep(cleanup)] : [])];
        const body: Step[] = [
          ...spawns,
          attempt([sleep(bodySleep)], ["CancelledError", handler, !swallow]),
          log("body goes on"),
          sleep(1),
          log("body end"),
        ];
        const owner = [guarded([taskgroup("g", body)]), log("after")];
        return scenario("A failing child cancels the body of its TaskGroup.", {
          main: worker ? [spawn("w", "worker"), guarded([awaitTask("w")], "worker raised")] : owner,
          ...(worker ? { worker: owner } : {}),
          ...coros,
        });
      }),
  check({ trace, scenario: s }) {
    const cs = kidsOf(s);
    const first = firstFailure(trace, cs);
    if (first === null) return "no task of the group failed";
    const cancelledLog = logEvent(trace, "body cancelled");
    if (!cancelledLog) return `${taskName(first.child)} failed at t=${first.e.time} but the body was never cancelled`;
    if (cancelledLog.time !== first.e.time) return `the body was cancelled at t=${cancelledLog.time}, not when ${taskName(first.child)} failed (t=${first.e.time})`;
    const swallowed = logIndex(trace, "body goes on") >= 0;
    const raised = caughtBefore(trace, "raised");
    if (!isGroup(raised)) return `the block raised ${fmt(raised)}, not an ExceptionGroup`;
    if (!swallowed && logIndex(trace, "body end") >= 0) return "the body went on after its CancelledError was re-raised";
    if (logIndex(trace, "after") < 0) return "the code after the guarded block never ran";
    return true;
  },
});

/** The failures come out together, as an ExceptionGroup, once every task is done. */
const exceptionGroupClause = clause({
  id: "taskgroup.exception_group",
  statement:
    "Once all its tasks are done, a TaskGroup whose tasks failed raises their exceptions (every one other than CancelledError, in any order) together in an ExceptionGroup, or a BaseExceptionGroup when one of them is not an Exception.",
  source: { url: TG, section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["taskgroup", "create_task", "log", "raise", "sleep", "try"],
  brokenBy: ["mutant:tg-first-error-bare"],
  evidence: [mainRanToItsEnd],
  scenarios: () => {
    const groupExc = fc.constantFrom<ExceptionSpec>(
      { type: "ExceptionGroup", args: ["?"], exceptions: [exc("ValueError", 1), exc("KeyError", 2)] },
      { type: "BaseExceptionGroup", args: ["?"], exceptions: [exc("ValueError", 1), exc("KeyboardInterrupt")] },
    );
    const failer = fc
      .record({ ticks: fc.integer({ min: 1, max: 3 }), exc: fc.oneof({ weight: 5, arbitrary: failureArb("?") }, { weight: 1, arbitrary: groupExc }) })
      .map((r): Child => ({ kind: "failer", ...r }));
    return fc
      .record({
        kids: mixed([failer], fc.array(fc.oneof(failer, victimArb({ cleanupExc: true }), fc.record({ kind: fc.constant("sleeper" as const), ticks: fc.nat(4) })), { maxLength: 3 })),
        body: fc.constantFrom(0, 2, 6),
      })
      .map(({ kids, body }) => {
        const { spawns, coros } = children(kids, "g");
        return scenario("Children of a TaskGroup fail, some while cancelled; the group raises them together.", {
          main: [guarded([taskgroup("g", [...spawns, ...(body > 0 ? [sleep(body)] : [])])]), log("after")],
          ...coros,
        });
      });
  },
  check({ trace, scenario: s }) {
    const count = s.coroutines.filter((c) => /^c\d+$/.test(c.name)).length;
    const fs = failures(trace, count);
    const raised = caughtBefore(trace, "raised");
    if (fs.length === 0) return raised === null ? "no task failed" : `no task failed, yet the block raised ${fmt(raised)}`;
    if (!isGroup(raised)) return `the tasks failed with ${fs.map(fmt).join(", ")}; the block raised ${fmt(raised)}, not an exception group`;
    const members = raised!.exceptions ?? [];
    if (!sameExceptions(members, fs)) return `the group holds ${members.map(fmt).join(", ")}; the tasks failed with ${fs.map(fmt).join(", ")}`;
    const want = fs.every(isExceptionData) ? "ExceptionGroup" : "BaseExceptionGroup";
    if (raised!.type !== want) return `the group is a ${raised!.type}; with members ${fs.map(fmt).join(", ")} it is a ${want}`;
    const at = logIndex(trace, "raised");
    for (let k = 0; k < count; k++) {
      const x = childExit(trace, k);
      if (!x || x.i > at) return `the group was raised before ${taskName(k)} was done`;
    }
    return true;
  },
});

/** The body's own exception is handled like a failing task's. */
const bodyError = clause({
  id: "taskgroup.body_error",
  statement:
    "When the body of the async with block raises, the TaskGroup treats it like a failing task: it cancels its tasks, waits for them, and raises an ExceptionGroup of their failures and the body's exception — unless that is CancelledError, which is left out (and propagates when nothing failed).",
  source: { url: TG, section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["taskgroup", "create_task", "log", "raise", "return", "sleep", "try"],
  brokenBy: ["mutant:tg-only-failure-aborts", "mutant:tg-first-error-bare"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        kids: mixed([victimArb({ cleanupExc: true })], fc.array(fc.oneof(victimArb({ cleanupExc: true }), fc.record({ kind: fc.constant("sleeper" as const), ticks: fc.nat(1) })), { maxLength: 3 })),
        at: fc.integer({ min: 2, max: 3 }),
        error: fc.oneof({ weight: 3, arbitrary: failureArb("body") }, { weight: 2, arbitrary: fc.constant(exc("CancelledError", "body")) }),
      })
      .map(({ kids, at, error }) => {
        const { spawns, coros } = children(kids, "g");
        return scenario("The body of a TaskGroup raises while its children run.", {
          main: [guarded([taskgroup("g", [...spawns, sleep(at), log("body raises"), raise(error)])]), log("after")],
          ...coros,
        });
      }),
  check({ trace, scenario: s }) {
    const cs = kidsOf(s);
    const raising = logEvent(trace, "body raises");
    if (!raising) return "the body never got to raise";
    const v = victimsCancelled(trace, cs, raising.time);
    if (v !== true) return `after the body raised at t=${raising.time}: ${v}`;
    const fs = failures(trace, cs.length);
    const bodyExc = findRaise(s.coroutines[0].body)!;
    const raised = caughtBefore(trace, "raised");
    const expected = bodyExc.type === "CancelledError" ? fs : [...fs, toData(bodyExc)];
    if (expected.length === 0) {
      if (!isCancelled(raised)) return `the body raised CancelledError and no task failed, but the block raised ${fmt(raised)}`;
      return true;
    }
    if (!isGroup(raised)) return `expected an exception group of ${expected.map(fmt).join(", ")}; the block raised ${fmt(raised)}`;
    if (!sameExceptions(raised!.exceptions ?? [], expected)) return `the group holds ${(raised!.exceptions ?? []).map(fmt).join(", ")}, expected ${expected.map(fmt).join(", ")}`;
    return true;
  },
});

/** The first raise step found (depth first) in some steps. */
function findRaise(steps: Step[]): ExceptionSpec | null {
  for (const st of steps) {
    if (st.op === "raise") return st.exc;
    const inner = st.op === "taskgroup" || st.op === "timeout" ? st.body : st.op === "try" ? st.body : null;
    if (inner) {
      const r = findRaise(inner);
      if (r) return r;
    }
  }
  return null;
}

/** An exception as the trace shows it (no cause, args as given). */
function toData(e: ExceptionSpec): ExceptionData {
  return { type: e.type, args: e.args ?? [], ...(e.exceptions ? { exceptions: e.exceptions.map(toData) } : {}) };
}

/** KeyboardInterrupt and SystemExit are re-raised as they are. */
const baseError = clause({
  id: "taskgroup.base_error",
  statement:
    "When a task of a TaskGroup, or the body, raises KeyboardInterrupt or SystemExit, the group still cancels its other tasks and waits for them, then re-raises that exception itself, not in an exception group.",
  source: { url: TG, section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["taskgroup", "create_task", "log", "raise", "return", "sleep", "try"],
  brokenBy: ["mutant:tg-groups-base-error", "mutant:tg-only-failure-aborts"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        kids: fc.array(victimArb({ maxCleanup: 1 }), { minLength: 1, maxLength: 3 }),
        fromBody: fc.boolean(),
        at: fc.integer({ min: 1, max: 2 }),
        error: fc.constantFrom(exc("KeyboardInterrupt"), exc("SystemExit", 3), exc("KeyboardInterrupt", "stop")),
        position: fc.nat(),
      })
      .map(({ kids, fromBody, at, error, position }) => {
        const cs = tagChildren(kids);
        const { spawns, coros } = children(cs, "g");
        const steps = [...spawns];
        if (!fromBody) {
          steps.splice(position % (steps.length + 1), 0, spawn("k", "interrupter", "g"));
          steps.push(sleep(8));
        } else steps.push(sleep(at), log("body raises"), raise(error));
        return scenario("KeyboardInterrupt or SystemExit in a TaskGroup, from a child or the body.", {
          main: [guarded([taskgroup("g", steps)]), log("after")],
          ...(fromBody ? {} : { interrupter: [sleep(at), raise(error)] }),
          ...coros,
        });
      }),
  check({ trace, scenario: s }) {
    const cs = kidsOf(s);
    const interrupter = s.coroutines.find((c) => c.name === "interrupter");
    const error = toData(findRaise(interrupter ? interrupter.body : s.coroutines[0].body)!);
    const raised = caughtBefore(trace, "raised");
    if (raised === null) return `${fmt(error)} never left the block`;
    if (canonicalJson(raised) !== canonicalJson(error)) return `the block raised ${fmt(raised)}, not ${fmt(error)} itself`;
    const at = logIndex(trace, "raised");
    for (let k = 0; k < cs.length; k++) {
      const x = childExit(trace, k);
      if (!x || x.i > at) return `${fmt(error)} left the block before ${taskName(k)} was done`;
    }
    return victimsCancelled(trace, cs);
  },
});

/**
 * Several KeyboardInterrupt / SystemExit: the group keeps the first that
 * reaches it (a child's, when its done callback runs; the body's, when the
 * block is left) and re-raises that one. The others are only recorded:
 * a victim's cleanup raising SystemExit after the body's KeyboardInterrupt,
 * a body that answers the group's cancellation with SystemExit, children
 * interrupting one after the other.
 */
/** The body's `raise` (the one whose argument is "body"), wherever it is, handlers included. */
function bodyRaise(steps: Step[]): ExceptionSpec | null {
  for (const st of steps) {
    if (st.op === "raise" && st.exc.args?.[0] === "body") return st.exc;
    const inner = st.op === "taskgroup" || st.op === "timeout" ? [st.body] : st.op === "try" ? [st.body, ...(st.except ?? []).map((h) => h.body ?? [])] : [];
    for (const b of inner) {
      const r = bodyRaise(b);
      if (r) return r;
    }
  }
  return null;
}

const firstBaseError = clause({
  id: "taskgroup.first_base_error",
  statement:
    "When several KeyboardInterrupt or SystemExit exceptions reach a TaskGroup (from its tasks, or from the body), the group re-raises the first one to reach it, as it is; the later ones are dropped.",
  source: { url: TG, section: SECTION },
  versions: SINCE_3_11,
  level: "exact",
  note: "CPython Lib/asyncio/taskgroups.py: __aexit__ and _on_task_done set self._base_error only while it is None; checked on CPython 3.11-3.13 and 3.14.2 (Pyodide)",
  needs: ["taskgroup", "create_task", "raise", "try", "log", "sleep"],
  brokenBy: ["mutant:tg-last-base-error"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        shape: fc.constantFrom<"children" | "body-answers" | "body-first">("children", "body-answers", "body-first"),
        errors: fc.array(fc.record({ type: fc.constantFrom<"KeyboardInterrupt" | "SystemExit">("KeyboardInterrupt", "SystemExit"), at: fc.integer({ min: 1, max: 2 }) }), { minLength: 2, maxLength: 3 }),
        victims: fc.nat(2),
        position: fc.nat(),
      })
      .map(({ shape, errors, victims, position }) => {
        const coros: Record<string, Step[]> = {};
        const steps: Step[] = [];
        // Victims: their cleanup raises a base error in "body-first", so that one arrives after the body's.
        for (let k = 0; k < victims + (shape === "body-first" ? 1 : 0); k++) {
          const c: Child = shape === "body-first"
            ? { kind: "victim", ticks: 10, cleanup: 1, cleanupExc: exc(errors[k % errors.length].type, `${taskName(k)} cleanup`) }
            : { kind: "victim", ticks: 10, cleanup: 0 };
          steps.push(spawn(taskName(k), coroName(k), "g"));
          coros[coroName(k)] = childBody(c, k);
        }
        const interrupters = shape === "children" ? errors : shape === "body-answers" ? errors.slice(0, 1) : [];
        interrupters.forEach((e, j) => {
          steps.splice(position % (steps.length + 1), 0, spawn(`k${j}`, `interrupter${j}`, "g"));
          coros[`interrupter${j}`] = [sleep(e.at), raise(exc(e.type, `k${j}`))];
        });
        if (shape === "children") steps.push(sleep(8));
        else if (shape === "body-answers") steps.push(attempt([sleep(8)], ["CancelledError", [log("body raises"), raise(exc(errors[1].type, "body"))]]));
        else steps.push(sleep(errors[0].at), log("body raises"), raise(exc(errors[0].type, "body")));
        return scenario("Several KeyboardInterrupt / SystemExit reach a TaskGroup.", {
          main: [guarded([taskgroup("g", steps)]), log("after")],
          ...coros,
        });
      }),
  check({ trace, scenario: s }) {
    // What arrived, in trace order: children ending with a base error, and the body's raise.
    const isBase = (x: ExceptionData | null | undefined): boolean => x?.type === "KeyboardInterrupt" || x?.type === "SystemExit";
    const arrivals: Array<{ i: number; exc: ExceptionData }> = eventsOf(trace, "exit")
      .filter(({ e }) => e.task !== trace.events[0].task && isBase(e.exc))
      .map(({ i, e }) => ({ i, exc: e.exc! }));
    const bodyAt = logIndex(trace, "body raises");
    if (bodyAt >= 0) arrivals.push({ i: bodyAt, exc: toData(bodyRaise(s.coroutines[0].body)!) });
    arrivals.sort((a, b) => a.i - b.i);
    if (arrivals.length < 2) return true; // (not several: nothing to tell)
    const raised = caughtBefore(trace, "raised");
    if (canonicalJson(raised) !== canonicalJson(arrivals[0].exc)) return `the block raised ${fmt(raised)}; the first to arrive was ${fmt(arrivals[0].exc)} (then ${arrivals.slice(1).map((a) => fmt(a.exc)).join(", ")})`;
    return true;
  },
});

/** Cancelling the task that runs the group cancels the group's tasks. */
const parentCancel = clause({
  id: "taskgroup.parent_cancel",
  statement:
    "Cancelling the task running a TaskGroup's block cancels the group's tasks; the block waits for them, then the CancelledError (not an exception group) leaves it.",
  source: { url: TG, section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["taskgroup", "create_task", "cancel", "await", "log", "return", "sleep", "task", "try"],
  brokenBy: ["mutant:tg-only-failure-aborts"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        kids: mixed([victimArb()], fc.array(fc.oneof({ weight: 2, arbitrary: victimArb() }, { weight: 1, arbitrary: fc.record({ kind: fc.constant("sleeper" as const), ticks: fc.nat(2) }) }), { maxLength: 3 })),
        when: fc.integer({ min: 1, max: 3 }),
        body: fc.constantFrom(0, 6),
      })
      .map(({ kids, when, body }) => {
        const cs = kids.map((c) => (c.kind === "sleeper" ? { ...c, ticks: Math.min(c.ticks, when - 1) } : c));
        const { spawns, coros } = children(cs, "g");
        return scenario("The task running a TaskGroup is cancelled from outside.", {
          main: [spawn("w", "worker"), sleep(when), cancel("w"), guarded([awaitTask("w")], "worker raised")],
          worker: [guarded([taskgroup("g", [...spawns, ...(body > 0 ? [sleep(body)] : [])])]), log("after")],
          ...coros,
        });
      }),
  check({ trace, scenario: s }) {
    const cs = kidsOf(s);
    const v = victimsCancelled(trace, cs);
    if (v !== true) return `the worker was cancelled: ${v}`;
    const raised = caughtBefore(trace, "raised");
    if (!isCancelled(raised)) return `the block raised ${fmt(raised)}, not CancelledError`;
    const at = logIndex(trace, "raised");
    for (let k = 0; k < cs.length; k++) {
      const x = childExit(trace, k);
      if (!x || x.i > at) return `the CancelledError left the block before ${taskName(k)} was done`;
      if (cs[k].kind === "sleeper" && x.e.exc) return `${taskName(k)} finished before the cancellation, yet ended with ${fmt(x.e.exc)}`;
    }
    return true;
  },
});

/**
 * The parent is cancelled from outside while a child fails (gh-116720).
 * main cancels the worker at a time from the failure's tick to the end of
 * the victim's cleanup; the worker then awaits again.
 */
function collisionScenarios(): fc.Arbitrary<Scenario> {
  return fc
    .record({
      fail: fc.integer({ min: 1, max: 2 }),
      cleanup: fc.nat(2),
      offset: fc.nat(2),
      yields: fc.nat(2),
      swallowFirst: fc.boolean(),
    })
    .map(({ fail, cleanup, offset, yields, swallowFirst }) => {
      const when = fail + Math.min(offset, cleanup);
      const cs = tagChildren([{ kind: "failer", ticks: fail, exc: exc("ValueError") }, { kind: "victim", ticks: 10, cleanup }]);
      const { spawns, coros } = children(cs, "g");
      return scenario("The worker running a TaskGroup is cancelled from outside while a child fails.", {
        main: [spawn("w", "worker"), sleep(when), ...Array.from({ length: yields }, () => sleep(0)), cancel("w"), guarded([awaitTask("w")], "worker raised")],
        worker: [
          guarded([taskgroup("g", [...spawns, sleep(6)])], "group raised"),
          inspect("w"),
          attempt([sleep(1)], ["CancelledError", [log("cancelled again")], !swallowFirst]),
          log("worker end"),
        ],
        ...coros,
      });
    });
}

/** Did an outside cancel() of the worker come before the group raised an ExceptionGroup? */
function collided(trace: Trace): boolean {
  const raisedAt = logIndex(trace, "group raised");
  if (raisedAt < 0 || !isGroup(caughtBefore(trace, "group raised"))) return false;
  return eventsOf(trace, "cancel").some(({ i, e }) => e.ref === "w" && e.returned && i < raisedAt);
}

const collisionKept = clause({
  id: "taskgroup.collision_kept",
  statement:
    "When the task running a TaskGroup is cancelled from outside while the group must raise an ExceptionGroup, the group keeps that cancellation: after the ExceptionGroup, the task's next await raises CancelledError.",
  source: { url: TG, section: SECTION },
  versions: ["3.13", "3.14"],
  note: "3.11 and 3.12 lose the outside cancellation (taskgroup.collision_lost); kept since 3.13, gh-116720",
  level: "documented",
  needs: ["taskgroup", "create_task", "cancel", "await", "inspect", "log", "raise", "return", "sleep", "task", "try"],
  brokenBy: ["mutant:tg-uncancel-before-wait"],
  evidence: [mainRanToItsEnd],
  scenarios: collisionScenarios,
  check({ trace }) {
    if (!collided(trace)) return true;
    if (logIndex(trace, "cancelled again") < 0) {
      return `the worker was cancelled from outside before its group raised ${fmt(caughtBefore(trace, "group raised"))}, but its next await was not cancelled`;
    }
    return true;
  },
});

const collisionLost = clause({
  id: "taskgroup.collision_lost",
  statement:
    "When the task running a TaskGroup is cancelled from outside while the group must raise an ExceptionGroup, the ExceptionGroup wins and the outside cancellation is lost: the task's next await is not cancelled, though cancelling() still counts the request.",
  source: { url: TG, section: SECTION },
  versions: ["3.11", "3.12"],
  note: "fixed in 3.13 (gh-116720): see taskgroup.collision_kept",
  level: "exact",
  needs: ["taskgroup", "create_task", "cancel", "await", "inspect", "log", "raise", "return", "sleep", "task", "try"],
  brokenBy: ["mutant:tg-uncancel-after-wait"],
  evidence: [mainRanToItsEnd],
  scenarios: collisionScenarios,
  check({ trace }) {
    if (!collided(trace)) return true;
    if (logIndex(trace, "cancelled again") >= 0) return "the outside cancellation was delivered again at the worker's next await";
    if (logIndex(trace, "worker end") < 0) return "the worker did not go on after its group raised";
    const seen = eventsOf(trace, "inspect").find(({ e }) => e.ref === "w" && e.task === "w");
    if (!seen || seen.e.cancelling !== 1) return `after the group, the worker's cancelling() is ${seen?.e.cancelling}, not 1`;
    return true;
  },
});

/** The worker inspects itself before and after a group in which a child fails. */
function cancellingScenarios(): fc.Arbitrary<Scenario> {
  return fc
    .record({
      kids: mixed([failerArb(1, 3)], fc.array(fc.oneof(failerArb(1, 3), victimArb()), { maxLength: 2 })),
      body: fc.constantFrom<"sleep" | "none" | "short" | "swallow">("sleep", "none", "short", "swallow"),
      prior: fc.boolean(),
    })
    .map(({ kids, body, prior }) => {
      const { spawns, coros } = children(kids, "g");
      const minFail = Math.min(...kids.filter((c) => c.kind === "failer").map((c) => c.ticks));
      // The body ends strictly before the first failure ("short"), or is still running then.
      const bodySteps: Step[] =
        body === "sleep" ? [sleep(6)] :
        body === "short" ? (minFail > 1 ? [sleep(minFail - 1)] : []) :
        body === "swallow" ? [attempt([sleep(6)], ["CancelledError", [log("body swallows")]]), sleep(1)] :
        [];
      return scenario("A worker's cancelling() before and after a TaskGroup whose child fails.", {
        main: prior ? [spawn("w", "worker"), sleep(0), cancel("w"), awaitTask("w")] : [spawn("w", "worker"), awaitTask("w")],
        worker: [
          ...(prior ? [attempt([sleep(1)], ["CancelledError", [log("first cancel swallowed")]])] : []),
          inspect("w"),
          log("body starts"),
          guarded([taskgroup("g", [...spawns, ...bodySteps, log("body end")])]),
          inspect("w"),
          attempt([sleep(1)], ["CancelledError", [log("cancelled again")]]),
        ],
        ...coros,
      });
    });
}

/** The worker's cancelling() before and after the group, and whether its body was over when the first failure came. */
function cancellingAround(trace: Trace, s: Scenario): { before: number; after: number; bodyOver: boolean } | string {
  const seen = eventsOf(trace, "inspect").filter(({ e }) => e.ref === "w" && e.task === "w");
  if (seen.length !== 2) return `the worker inspected itself ${seen.length} times, not twice`;
  const first = firstFailure(trace, kidsOf(s));
  if (first === null) return "no task of the group failed";
  const end = logIndex(trace, "body end");
  return { before: seen[0].e.cancelling!, after: seen[1].e.cancelling!, bodyOver: end >= 0 && end < first.i };
}

const cancellingRestored = clause({
  id: "taskgroup.cancelling_restored",
  statement:
    "A TaskGroup preserves the cancellation count of the task running it: after a block in which tasks failed, that task's cancelling() is what it was before the block.",
  source: { url: TG, section: SECTION },
  versions: ["3.13", "3.14"],
  note: "3.11 and 3.12 leave the count one higher when the failure comes after the body ended (taskgroup.cancelling_leak); fixed in 3.13, gh-116720",
  level: "documented",
  needs: ["taskgroup", "create_task", "inspect", "await", "log", "raise", "sleep", "task", "try"],
  brokenBy: ["mutant:tg-uncancel-before-wait"],
  evidence: [mainRanToItsEnd],
  scenarios: cancellingScenarios,
  check({ trace, scenario: s }) {
    const r = cancellingAround(trace, s);
    if (typeof r === "string") return r;
    if (r.after !== r.before) return `the worker's cancelling() was ${r.before} before the group and ${r.after} after it`;
    return true;
  },
});

const cancellingLeak = clause({
  id: "taskgroup.cancelling_leak",
  statement:
    "When a task of a TaskGroup fails after the body has ended (while the block's end waits), the group's cancel request to the task running it is never withdrawn: its cancelling() stays one higher after the block; a failure while the body runs leaves the count as it was.",
  source: { url: TG, section: SECTION },
  versions: ["3.11", "3.12"],
  note: "fixed in 3.13 (gh-116720): see taskgroup.cancelling_restored",
  level: "exact",
  needs: ["taskgroup", "create_task", "inspect", "await", "log", "raise", "sleep", "task", "try"],
  brokenBy: ["mutant:tg-uncancel-after-wait"],
  evidence: [mainRanToItsEnd],
  scenarios: cancellingScenarios,
  check({ trace, scenario: s }) {
    const r = cancellingAround(trace, s);
    if (typeof r === "string") return r;
    const want = r.before + (r.bodyOver ? 1 : 0);
    if (r.after !== want) {
      return `the worker's cancelling() was ${r.before} before the group and ${r.after} after it, expected ${want} (the body ${r.bodyOver ? "had ended" : "was running"} when the first task failed)`;
    }
    return true;
  },
});

const recancelCounted = clause({
  id: "taskgroup.recancel_counted",
  statement:
    "When a TaskGroup raises its ExceptionGroup while the task running it has cancel requests counted by cancelling() — even one delivered and swallowed before the block — it cancels that task again, so its next await raises CancelledError; with no request counted, nothing is re-cancelled.",
  source: { url: TG, section: SECTION },
  versions: ["3.13", "3.14"],
  note: "gh-116720 decides 'cancelled from outside' by cancelling() > 0; 3.11 and 3.12 never re-cancel",
  level: "exact",
  needs: ["taskgroup", "create_task", "inspect", "await", "log", "raise", "sleep", "task", "try"],
  brokenBy: ["mutant:tg-uncancel-before-wait"],
  evidence: [mainRanToItsEnd],
  scenarios: cancellingScenarios,
  check({ trace, scenario: s }) {
    const r = cancellingAround(trace, s);
    if (typeof r === "string") return r;
    if (!isGroup(caughtBefore(trace, "raised"))) return `the group raised ${fmt(caughtBefore(trace, "raised"))}, not an ExceptionGroup`;
    const again = logIndex(trace, "cancelled again") >= 0;
    if (again !== r.before > 0) {
      return `with cancelling() at ${r.before} before the group, the worker's next await after the ExceptionGroup ${again ? "was" : "was not"} cancelled`;
    }
    return true;
  },
});

/** The attempts in a scenario to create a task in a group that must refuse: create_task steps whose ref starts with "late". */
function refusals(s: Scenario): string[] {
  const out: string[] = [];
  const visit = (steps: Step[]): void => {
    for (const st of steps) {
      if (st.op === "create_task" && st.task.startsWith("late")) out.push(st.task);
      if (st.op === "try") {
        visit(st.body);
        for (const h of st.except ?? []) visit(h.body ?? []);
      } else if (st.op === "taskgroup" || st.op === "timeout") visit(st.body);
    }
  };
  for (const c of s.coroutines) visit(c.body);
  return out;
}

/** try: group.create_task(late()) except RuntimeError: log("refused late") */
const tryLate = (late: string, group: string): Step => attempt([spawn(late, late, group)], ["RuntimeError", [log(`refused ${late}`)]]);

/**
 * Every refused create_task raised RuntimeError with CPython's message,
 * `TaskGroup <...> <why>` (the group's repr is erased in traces), and its
 * coroutine never ran.
 */
function checkRefusals(trace: Trace, s: Scenario, why: string): Verdict {
  for (const late of refusals(s)) {
    if (eventsOf(trace, "create_task").some(({ e }) => e.ref === late)) return `create_task(${late}) was accepted`;
    if (eventsOf(trace, "enter").some(({ e }) => e.coro === late)) return `the coroutine ${late} ran`;
    const attempted = logIndex(trace, `refused ${late}`) >= 0;
    if (!attempted) continue; // the attempt did not happen (e.g. its task was never cancelled)
    const caught = caughtBefore(trace, `refused ${late}`);
    if (caught?.type !== "RuntimeError") return `create_task(${late}) raised ${fmt(caught)}, not RuntimeError`;
    const want = `TaskGroup <...> ${why}`;
    if (caught.args[0] !== want) return `create_task(${late}) raised RuntimeError(${canonicalJson(caught.args[0])}), not RuntimeError(${canonicalJson(want)})`;
  }
  return true;
}

const createTaskInactive = clause({
  id: "taskgroup.create_task_inactive",
  statement:
    "TaskGroup.create_task on a group that was never entered, or whose block has finished (whether or not it failed), raises RuntimeError (\"TaskGroup <...> has not been entered\", \"... is finished\"), and the coroutine never runs.",
  source: { url: TG_CREATE, section: SECTION },
  versions: SINCE_3_11,
  note: "3.13 also closes the coroutine (gh-115957), which no trace shows",
  level: "documented",
  needs: ["taskgroup", "create_task", "log", "return", "sleep", "try"],
  brokenBy: ["mutant:tg-never-refuses", "mutant:tg-refusal-reason-swapped"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        how: fc.constantFrom<"new" | "finished" | "failed" | "outsider">("new", "finished", "failed", "outsider"),
        kids: fc.array(fc.record({ kind: fc.constant("sleeper" as const), ticks: fc.nat(2) }), { maxLength: 2 }),
      })
      .map(({ how, kids }) => {
        const cs: Child[] = how === "failed" ? [...kids, { kind: "failer", ticks: 1, exc: exc("ValueError", "f") }] : kids;
        const { spawns, coros } = children(cs, "g");
        const late = { late: [log("late runs"), ret("late")] };
        if (how === "new") {
          return scenario("create_task on a TaskGroup never entered.", {
            main: [{ op: "new_taskgroup", group: "g" }, tryLate("late", "g"), sleep(1), log("after")],
            ...late,
          });
        }
        if (how === "outsider") {
          return scenario("Another task calls create_task on a TaskGroup after its block has finished.", {
            main: [spawn("x", "outsider"), guarded([taskgroup("g", [...spawns, sleep(1)])]), awaitTask("x"), log("after")],
            outsider: [sleep(5), tryLate("late", "g"), sleep(1)],
            ...late,
            ...coros,
          });
        }
        return scenario("create_task on a TaskGroup whose block has finished.", {
          main: [guarded([taskgroup("g", spawns)]), tryLate("late", "g"), sleep(1), log("after")],
          ...late,
          ...coros,
        });
      }),
  check({ trace, scenario: s }) {
    if (logIndex(trace, "refused late") < 0) return "create_task on the inactive group did not raise RuntimeError";
    // Never entered: "has not been entered"; entered and left (all its tasks done): "is finished".
    const entered = s.coroutines.some((c) => c.body.some((st) => st.op === "try" && st.body.some((b) => b.op === "taskgroup")));
    return checkRefusals(trace, s, entered ? "is finished" : "has not been entered");
  },
});

const createTaskShuttingDown = clause({
  id: "taskgroup.create_task_shutting_down",
  statement:
    "Once a failure has made a TaskGroup cancel its tasks, create_task on it raises RuntimeError (\"TaskGroup <...> is shutting down\"), from its cancelled tasks or its cancelled body alike, and the coroutine never runs.",
  source: { url: TG, section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["taskgroup", "create_task", "log", "raise", "return", "sleep", "try"],
  brokenBy: ["mutant:tg-never-refuses", "mutant:tg-refusal-reason-swapped"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        victims: fc.array(fc.record({ tries: fc.boolean(), cleanup: fc.nat(1) }), { minLength: 1, maxLength: 3 }),
        fromBody: fc.boolean(),
        fail: fc.integer({ min: 1, max: 2 }),
      })
      .map(({ victims: vs, fromBody, fail }) => {
        // At least one attempt: from the body, or from the first victim.
        const victims = fromBody || vs.some((v) => v.tries) ? vs : [{ ...vs[0], tries: true }, ...vs.slice(1)];
        const cs: Child[] = [
          { kind: "failer", ticks: fail, exc: exc("ValueError", "t0") },
          ...victims.map((v, j): Child => ({ kind: "victim", ticks: 10, cleanup: v.cleanup, extra: v.tries ? [tryLate(`late${j + 1}`, "g")] : [] })),
        ];
        const { spawns, coros } = children(cs, "g");
        const lates: Record<string, Step[]> = {};
        for (const [j, v] of victims.entries()) if (v.tries) lates[`late${j + 1}`] = [log("late runs")];
        const body = fromBody ? [attempt([sleep(6)], ["CancelledError", [tryLate("late0", "g")], true])] : [sleep(6)];
        if (fromBody) lates.late0 = [log("late runs")];
        return scenario("A TaskGroup shutting down after a failure refuses new tasks.", {
          main: [guarded([taskgroup("g", [...spawns, ...body])]), log("after")],
          ...lates,
          ...coros,
        });
      }),
  check({ trace, scenario: s }) {
    const lates = refusals(s);
    if (lates.length > 0 && lates.every((l) => logIndex(trace, `refused ${l}`) < 0)) {
      return `no create_task on the shutting-down group raised RuntimeError (${lates.join(", ")})`;
    }
    return checkRefusals(trace, s, "is shutting down");
  },
});

/** The order the children logged their cancellation in, against the reference's (CPython's set order). */
function sameCancelOrder({ trace, expected }: { trace: Trace; expected: () => Trace }): true | string {
  const order = (t: Trace) =>
    t.events.filter((e): e is Ev<"log"> => e.ev === "log" && / cancelled$/.test(e.label)).map((e) => e.label.replace(/ cancelled$/, ""));
  const got = order(trace);
  const want = order(expected());
  if (canonicalJson(got) !== canonicalJson(want)) return `tasks cancelled in the order ${got.join(", ")}; CPython's set order is ${want.join(", ")}`;
  return true;
}

/** The remaining tasks are cancelled in the iteration order of the group's set. */
const cancelOrder = clause({
  id: "taskgroup.cancel_order",
  statement:
    "A TaskGroup cancels its remaining tasks in the iteration order of its set of tasks, which follows their hashes (CPython's set order), not necessarily their creation order.",
  source: { url: TG, section: SECTION },
  versions: SINCE_3_11,
  level: "exact",
  needs: ["taskgroup", "create_task", "create_future", "log", "return", "sleep", "try"],
  brokenBy: ["mutant:tg-cancel-creation-order"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        victims: fc.array(fc.nat(8), { minLength: 3, maxLength: 6 }),
        phase: fc.nat(15),
        trigger: fc.constantFrom<"child" | "body" | "outside">("child", "body", "outside"),
        position: fc.nat(),
      })
      .map(({ victims, phase, trigger, position }) => {
        const cs: Child[] = victims.map(() => ({ kind: "victim", ticks: 10, cleanup: 0 }));
        const { coros } = children(cs, "g");
        // Futures between the children spread their hashes (creation numbers) over the set's table.
        const steps: Step[] = Array.from({ length: phase }, (_, j) => future(`p${j}`));
        steps.push(...victims.flatMap((fillers, i) => [
          ...Array.from({ length: fillers }, (_, j) => future(`f${i}_${j}`)),
          spawn(taskName(i), coroName(i), "g"),
        ]));
        if (trigger === "child") {
          steps.splice(position % (steps.length + 1), 0, spawn("f", "failer", "g"));
          steps.push(sleep(5));
        } else if (trigger === "body") steps.push(sleep(1), raise(exc("ValueError", "body")));
        else steps.push(sleep(5));
        const block = guarded([taskgroup("g", steps)]);
        return scenario("Many children of a TaskGroup are cancelled at once.", {
          main: trigger === "outside" ? [spawn("w", "worker"), sleep(1), cancel("w"), awaitTask("w")] : [block],
          ...(trigger === "outside" ? { worker: [block] } : {}),
          ...(trigger === "child" ? { failer: [sleep(1), raise(exc("ValueError", "f"))] } : {}),
          ...coros,
        });
      }),
  check: sameCancelOrder,
});

/**
 * The set's order after churn. cancel_order's children never leave the set
 * before it is iterated, and its table grows once at most; here children
 * finish (their slots become dummies, which later children may take over),
 * the table grows past several thresholds (dummies counting towards them),
 * and the hashes, spread by futures created in between, collide and run
 * past 32 * the table's size, so the order depends on every rule of
 * Objects/setobject.c: linear probing, the perturbed jump, dummy reuse and
 * the resize (pyset.ts).
 */
const setOrderChurn = clause({
  id: "taskgroup.set_order_churn",
  statement:
    "A TaskGroup keeps its tasks in a Python set and discards each one as it finishes: after children have come and gone, the group cancels the remaining ones in that set's iteration order, which depends on the hashes, the discarded slots and the table's growth as CPython's set does.",
  source: { url: TG, section: SECTION },
  versions: SINCE_3_11,
  level: "exact",
  note: "CPython Lib/asyncio/taskgroups.py: _on_task_done does self._tasks.discard(task), _abort iterates `for t in self._tasks`; the order is Objects/setobject.c's (set_add_entry, set_discard_entry, set_table_resize); the driver pins tasks' and futures' hashes to their creation numbers, as the reference does. Checked on CPython 3.11-3.13 and 3.14.2 (Pyodide)",
  needs: ["taskgroup", "create_task", "create_future", "sleep", "log", "raise", "return", "try"],
  brokenBy: ["mutant:tg-cancel-creation-order", "mutant:pyset-no-dummy-reuse", "mutant:pyset-no-linear-probes", "mutant:pyset-late-resize", "mutant:tg-wakes-early"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        rounds: fc.array(
          fc.record({
            fillers: fc.oneof(fc.nat(3), fc.integer({ min: 4, max: 40 })),
            // a sleeper finishes (its slot becomes a dummy); a victim stays until the group aborts
            sleeper: fc.option(fc.integer({ min: 1, max: 3 }), { freq: 2 }),
            pause: fc.nat(2),
          }),
          { minLength: 6, maxLength: 40 },
        ),
        trigger: fc.constantFrom<"child" | "body">("child", "body"),
        // A group before: its block waits while its children end one by one. Each wait is a
        // future (loop.create_future), so how often the group waits shifts every later hash.
        before: fc.nat(4),
      })
      .map(({ rounds, trigger, before }) => {
        const cs: Child[] = rounds.map((r) => (r.sleeper === null ? { kind: "victim", ticks: 1000, cleanup: 0 } : { kind: "sleeper", ticks: r.sleeper }));
        const { coros } = children(cs, "g");
        const steps: Step[] = rounds.flatMap((r, i) => [
          ...Array.from({ length: r.fillers }, (_, j) => future(`f${i}_${j}`)),
          spawn(taskName(i), coroName(i), "g"),
          ...(r.pause > 0 ? [sleep(r.pause)] : []),
        ]);
        if (trigger === "child") steps.push(spawn("f", "failer", "g"), sleep(5));
        else steps.push(raise(exc("ValueError", "body")));
        const first: Record<string, Step[]> = {};
        for (let j = 0; j < before; j++) first[`s${j}`] = [sleep(j + 1)];
        return scenario("Children of a TaskGroup come and go, then the rest are cancelled at once.", {
          main: [
            ...(before > 0 ? [taskgroup("g0", Object.keys(first).map((c) => spawn(c, c, "g0")))] : []),
            guarded([taskgroup("g", steps)]),
          ],
          ...first,
          ...(trigger === "child" ? { failer: [raise(exc("ValueError", "f"))] } : {}),
          ...coros,
        });
      }),
  check: sameCancelOrder,
});

/**
 * The task running the block is cancelled twice: once before or while the
 * group waits for its children, then again while it waits. The group
 * cancels its children once only (the second cancellation is no new
 * reason to stop them): a victim's cleanup, sleeping in its handler, is
 * not interrupted. Children finishing around the cancellations (sleepers)
 * may end in the very iteration the wait is cancelled: the group must not
 * then try to wake the cancelled wait (no error reaches the loop's
 * exception handler).
 */
const cancelledAgainWhileWaiting = clause({
  id: "taskgroup.cancelled_again_while_waiting",
  statement:
    "When the task running a TaskGroup's block is cancelled again while the group waits for its tasks, the group does not cancel its tasks a second time: their cleanup after the first cancellation runs to its end; the block then raises CancelledError, and nothing is reported to the loop's exception handler.",
  source: { url: TG, section: SECTION },
  versions: SINCE_3_11,
  level: "exact",
  note: "CPython Lib/asyncio/taskgroups.py: __aexit__'s wait aborts only `if not self._aborting`; _on_task_done wakes the wait only `if not self._on_completed_fut.done()`; checked on CPython 3.11-3.13 and 3.14.2 (Pyodide)",
  needs: ["taskgroup", "create_task", "cancel", "sleep", "try", "await", "log", "return", "task"],
  brokenBy: ["mutant:tg-aborts-again", "mutant:tg-wakes-cancelled-wait"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        kids: fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant("victim" as const), ticks: fc.constant(10), cleanup: fc.integer({ min: 1, max: 3 }) }),
            fc.record({ kind: fc.constant("sleeper" as const), ticks: fc.nat(4) }),
          ),
          { minLength: 1, maxLength: 4 },
        ),
        first: fc.integer({ min: 1, max: 3 }),
        between: fc.nat(2),
        split: fc.boolean(),
        body: fc.nat(4),
      })
      .map(({ kids, first, between, split, body }) => {
        const cs: Child[] = kids.some((k) => k.kind === "victim") ? kids : [{ kind: "victim", ticks: 10, cleanup: 2 }, ...kids];
        const { spawns, coros } = children(cs, "g");
        // Two sleeps to the first cancel, or one: where main's timer falls among the children's at the same deadline.
        const wait: Step[] = split && first > 1 ? [sleep(1), sleep(first - 1)] : [sleep(first)];
        return scenario("The task running a TaskGroup is cancelled twice while the group waits.", {
          main: [spawn("w", "worker"), ...wait, cancel("w"), sleep(between), cancel("w"), guarded([awaitTask("w")], "w raised"), log("after")],
          worker: [guarded([taskgroup("g", [...spawns, ...(body > 0 ? [sleep(body)] : [])])]), log("worker after")],
          ...coros,
        });
      }),
  check({ trace, scenario: s }) {
    const reports = eventsOf(trace, "exception_handler");
    if (reports.length > 0) return `the loop's exception handler got ${canonicalJson(reports[0].e.message)}`;
    for (let k = 0; ; k++) {
      const body = s.coroutines.find((x) => x.name === coroName(k))?.body;
      if (body === undefined) break;
      if (body[0].op !== "try") continue; // a sleeper
      // The victim's cleanup: the sleep in its CancelledError handler.
      const c = { cleanup: (body[0].except![0].body ?? []).reduce((n, st) => n + (st.op === "sleep" ? st.ticks : 0), 0) };
      const logs = eventsOf(trace, "log").filter(({ e }) => e.label === cancelledLabel(k));
      if (logs.length !== 1) return `${taskName(k)} was cancelled ${logs.length} times`;
      const x = childExit(trace, k);
      if (x === null) return `${taskName(k)} never ended`;
      const want = logs[0].e.time + c.cleanup;
      if (x.e.time !== want) return `${taskName(k)}'s cleanup (${c.cleanup} ticks from t=${logs[0].e.time}) was cut short: it ended at t=${x.e.time}`;
    }
    const raised = caughtBefore(trace, "raised");
    if (!isCancelled(raised)) return `the block raised ${fmt(raised)}, not CancelledError`;
    return true;
  },
});

/**
 * An eager child that fails in its first step is done when create_task
 * returns. 3.12.0-3.12.8 and 3.13.0-3.13.1 (gh-104144) settle such a child
 * on the spot: its failure aborts the group inside create_task, so the
 * body's very next create_task is refused. 3.14.0, 3.13.2 and 3.12.9 on
 * (gh-128550: TASKGROUP_DONE_CHILD_FAST_PATH_REMOVED) add it to the group
 * like any child and settle it in its done callback, an iteration later, so
 * the next create_task is still accepted. The check asks which release it
 * holds the implementation to (releaseOf): Pyodide 0.29's 3.13.2 is not
 * 3.13.0. (3.11 has no eager tasks: the child fails at its first step,
 * after create_task.)
 */
const eagerDoneChild = clause({
  id: "taskgroup.eager_done_child",
  statement:
    "With the eager task factory, a TaskGroup child that fails before it first suspends makes the group shut down within create_task on 3.12.0-3.12.8 and 3.13.0-3.13.1 (the body's next create_task raises RuntimeError \"is shutting down\"); on 3.11, from 3.12.9 and 3.13.2, and on 3.14 the group learns of the failure only from the child's done callback, so the next create_task still succeeds.",
  source: { url: TG_CREATE, section: SECTION },
  versions: SINCE_3_11,
  level: "exact",
  note: "CPython Lib/asyncio/taskgroups.py create_task: `if task.done(): self._on_task_done(task)` (gh-104144, 3.12), removed by gh-128550 (3.14.0, backported to 3.13.2 and 3.12.9; the 3.12 and 3.13 profiles model 3.12.1 and 3.13.0); checked on CPython 3.11.7, 3.12.1, 3.13.0, 3.13.2 and 3.14.2 (Pyodide)",
  needs: ["taskgroup", "create_task", "eager", "raise", "try", "log", "sleep"],
  brokenBy: ["mutant:tg-done-child-fast-path-flipped"],
  evidence: [mainRanToItsEnd],
  scenarios: (version) =>
    fc
      .record({ before: fc.nat(2), after: fc.nat(2) })
      .map(({ before, after }) => {
        const sleepers: Child[] = Array.from({ length: before + after }, () => ({ kind: "sleeper", ticks: 3 }));
        const { spawns, coros } = children(sleepers, "g", 1);
        const body = [...spawns.slice(0, before), spawn("t0", "c0", "g"), tryLate("late", "g"), ...spawns.slice(before), sleep(5)];
        return built({
          ...scenario("An eager child of a TaskGroup fails before it first suspends.", {
            main: [guarded([taskgroup("g", body)]), log("after")],
            c0: [raise(exc("ValueError", "t0"))],
            late: [log("late runs"), sleep(1)],
            ...coros,
          }),
          ...(version === "3.11" ? {} : { eager: true }),
        });
      }),
  check(ctx) {
    const { trace, scenario: s, version } = ctx;
    const release = releaseOf(ctx);
    const onTheSpot = atLeast(version, "3.12") && !hasChange(release, TASKGROUP_DONE_CHILD_FAST_PATH_REMOVED);
    const refused = logIndex(trace, "refused late") >= 0;
    if (onTheSpot) {
      if (!refused) return `on ${release} the create_task right after the eagerly failed child was accepted`;
      return checkRefusals(trace, s, "is shutting down");
    }
    if (refused) return `on ${release} the create_task right after the eagerly failed child was refused (${fmt(caughtBefore(trace, "refused late"))})`;
    return true;
  },
});

/** A task that ends cancelled is not a failure. */
const cancelledChild = clause({
  id: "taskgroup.cancelled_child",
  statement:
    "A task of a TaskGroup that ends cancelled (cancelled by another task, or raising CancelledError itself) is not a failure: the group does not cancel its other tasks, and the block ends normally.",
  source: { url: TG, section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["taskgroup", "create_task", "cancel", "log", "return", "sleep", "try"],
  brokenBy: ["mutant:tg-cancelled-child-aborts"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        how: fc.constantFrom<"self" | "sibling" | "body">("self", "sibling", "body"),
        at: fc.integer({ min: 1, max: 2 }),
        sleepers: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 3 }),
        bodySleep: fc.constantFrom(0, 4),
      })
      .map(({ how, at, sleepers, bodySleep }) => {
        const cs: Child[] = [
          how === "self" ? { kind: "failer", ticks: at, exc: exc("CancelledError", "self") } : { kind: "victim", ticks: 10, cleanup: 0 },
          ...sleepers.map((ticks): Child => ({ kind: "sleeper", ticks })),
        ];
        const { spawns, coros } = children(cs, "g");
        const steps = [...spawns];
        if (how === "sibling") {
          steps.push(spawn("k", "killer", "g"));
          coros.killer = [sleep(at), cancel(taskName(0))];
        }
        if (how === "body") steps.push(sleep(at), cancel(taskName(0)));
        if (bodySleep > 0) steps.push(sleep(bodySleep));
        return scenario("A child of a TaskGroup ends cancelled; the others run on.", {
          main: [guarded([taskgroup("g", steps)]), log("after")],
          ...coros,
        });
      }),
  check({ trace, scenario: s }) {
    const raised = caughtBefore(trace, "raised");
    if (raised !== null) return `the block raised ${fmt(raised)}`;
    if (logIndex(trace, "after") < 0) return "the code after the block never ran";
    const first = childExit(trace, 0);
    if (!first || !isCancelled(first.e.exc)) return `${taskName(0)} ended with ${fmt(first?.e.exc)}, not cancelled`;
    const cs = kidsOf(s);
    for (let k = 1; k < cs.length; k++) {
      const x = childExit(trace, k);
      if (!x || x.e.exc) return `${taskName(k)} ended with ${fmt(x?.e.exc)} instead of finishing its sleep`;
    }
    return true;
  },
});

/** Nested groups: the inner processes its errors, then the outer. */
const nested = clause({
  id: "taskgroup.nested",
  statement:
    "With one TaskGroup nested in another's body, failures of the inner group's tasks come out of the inner block as an ExceptionGroup, which the outer group raises among its own tasks' failures, even when tasks of both fail at once.",
  source: { url: TG, section: SECTION },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["taskgroup", "create_task", "log", "raise", "sleep", "try"],
  brokenBy: ["mutant:tg-first-error-bare"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({ outer: fc.integer({ min: 1, max: 3 }), inner: fc.integer({ min: 1, max: 3 }), victims: fc.boolean() })
      .map(({ outer, inner, victims }) => {
        const outerKids: Child[] = [{ kind: "failer", ticks: outer, exc: exc("ValueError", "t0") }, ...(victims ? [{ kind: "victim", ticks: 10, cleanup: 0 } as Child] : [])];
        const innerKids: Child[] = [{ kind: "failer", ticks: inner, exc: exc("KeyError", `t${outerKids.length}`) }, ...(victims ? [{ kind: "victim", ticks: 10, cleanup: 1 } as Child] : [])];
        const o = children(outerKids, "outer");
        const i = children(innerKids, "inner", outerKids.length);
        return scenario("A TaskGroup nested in another's body; children of both fail.", {
          main: [guarded([taskgroup("outer", [...o.spawns, taskgroup("inner", [...i.spawns, sleep(6)]), log("unreached")])]), log("after")],
          ...o.coros,
          ...i.coros,
        });
      }),
  check({ trace, scenario: s }) {
    const outerCount = spawnsInto(s, "outer");
    const total = s.coroutines.filter((c) => /^c\d+$/.test(c.name)).length;
    const outerFailures = failures(trace, outerCount);
    const innerFailures: ExceptionData[] = [];
    for (let k = outerCount; k < total; k++) {
      const x = childExit(trace, k);
      if (x?.e.exc && !isCancelled(x.e.exc)) innerFailures.push(x.e.exc);
    }
    const raised = caughtBefore(trace, "raised");
    if (!isGroup(raised)) return `the outer block raised ${fmt(raised)}, not an exception group`;
    const members = raised!.exceptions ?? [];
    const expected = [...outerFailures, ...(innerFailures.length > 0 ? [{ type: "ExceptionGroup", args: [], exceptions: innerFailures }] : [])];
    const nestedGroups = members.filter(isGroup);
    const direct = members.filter((m) => !isGroup(m));
    if (!sameExceptions(direct, outerFailures)) return `the outer group's own members are ${direct.map(fmt).join(", ")}; the outer tasks failed with ${outerFailures.map(fmt).join(", ") || "nothing"}`;
    if (innerFailures.length === 0) {
      if (nestedGroups.length > 0) return `no inner task failed, yet the outer group holds ${nestedGroups.map(fmt).join(", ")}`;
      return true;
    }
    if (nestedGroups.length !== 1 || !sameExceptions(nestedGroups[0].exceptions ?? [], innerFailures)) {
      return `expected the outer group to hold ${expected.map(fmt).join(", ")}; it holds ${members.map(fmt).join(", ")}`;
    }
    return true;
  },
});

/** How many create_task steps of a scenario add to `group`. */
function spawnsInto(s: Scenario, group: string): number {
  let n = 0;
  const visit = (steps: Step[]): void => {
    for (const st of steps) {
      if (st.op === "create_task" && st.group === group) n++;
      if (st.op === "try") visit(st.body);
      else if (st.op === "taskgroup" || st.op === "timeout") visit(st.body);
    }
  };
  for (const c of s.coroutines) visit(c.body);
  return n;
}

/**
 * "Terminating a Task Group": a task that raises an exception (here
 * CustomError) stops the group; `except* CustomError` takes it out of the
 * ExceptionGroup, as the documentation's TerminateTaskGroup example does.
 */
const terminate = clause({
  id: "taskgroup.terminate",
  statement:
    "A task group is terminated by adding a task that raises an exception: the group cancels its tasks still running, and an except* clause for that exception type catches it while the tasks done before stay done.",
  source: { url: DOCS.tasks + "#terminating-a-task-group", section: "Terminating a Task Group" },
  versions: SINCE_3_11,
  level: "documented",
  needs: ["taskgroup", "create_task", "except*", "log", "raise", "return", "sleep", "try"],
  brokenBy: ["mutant:tg-no-cancel-siblings"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        jobs: fc.array(fc.constantFrom(1, 3, 5), { minLength: 1, maxLength: 4 }),
        stopAt: fc.constantFrom(0, 2, 4),
      })
      .map(({ jobs, stopAt }) => {
        const cs: Child[] = jobs.map((ticks) => ({ kind: "victim", ticks, cleanup: 0 }));
        const { spawns, coros } = children(cs, "g");
        return scenario("The documentation's TerminateTaskGroup example: a task raising an exception ends the group.", {
          main: [
            {
              op: "try",
              star: true,
              body: [taskgroup("g", [...spawns, ...(stopAt > 0 ? [sleep(stopAt)] : []), spawn("stop", "force_terminate", "g")])],
              except: [{ type: "CustomError", body: [log("terminated")] }],
            },
            log("after"),
          ],
          force_terminate: [raise(exc("CustomError", "terminate"))],
          ...coros,
        });
      }),
  check({ trace, scenario: s }) {
    if (logIndex(trace, "terminated") < 0) return "except* CustomError did not run";
    const caught = caughtBefore(trace, "terminated");
    if (!isGroup(caught) || !(caught!.exceptions ?? []).every((m) => m.type === "CustomError")) return `except* CustomError caught ${fmt(caught)}`;
    if (logIndex(trace, "after") < 0) return "something else left the block";
    const stop = exitOf(trace, "stop", "force_terminate");
    if (!stop) return "the terminating task never ran";
    const cs = kidsOf(s);
    for (let k = 0; k < cs.length; k++) {
      const x = childExit(trace, k);
      const ticks = s.coroutines.find((c) => c.name === coroName(k))!.body[0];
      const duration = ticks.op === "try" && ticks.body[0].op === "sleep" ? ticks.body[0].ticks : 0;
      if (!x) return `${taskName(k)} never ended`;
      if (duration < stop.e.time && x.e.exc) return `${taskName(k)}, done at t=${duration} before the group was terminated at t=${stop.e.time}, ended with ${fmt(x.e.exc)}`;
      if (duration > stop.e.time && !isCancelled(x.e.exc)) return `${taskName(k)} was still running when the group was terminated at t=${stop.e.time}, yet it ${x.e.exc ? `raised ${fmt(x.e.exc)}` : "finished"} at t=${x.e.time}`;
    }
    return true;
  },
});

// ================================================================ names of the group's children

/**
 * main opens a group and creates n = 1..2 named children in it, then one
 * unnamed task: in the group, or with asyncio.create_task. Its default
 * name tells how many default-name numbers the named children took.
 */
function namedChildArb(): fc.Arbitrary<Scenario> {
  return fc.record({ n: fc.integer({ min: 1, max: 2 }), inGroup: fc.boolean() }).map(({ n, inGroup }) => {
    const body: Step[] = [];
    for (let k = 1; k <= n; k++) body.push(spawn(`w${k}`, "work", "g"));
    const last: Step = inGroup ? { op: "create_task", coro: "work", task: "member", group: "g" } : { op: "create_task", coro: "work", task: "plain" };
    body.push(last);
    return scenario(`${n} named children of a TaskGroup, then an unnamed task ${inGroup ? "in the group" : "outside it"}`, {
      main: [taskgroup("g", body), log("main:end")],
      work: [sleep(0), ret(1)],
    });
  });
}

const namedChildCounter = clause({
  id: "taskgroup.named_child_default_counter",
  statement:
    "TaskGroup.create_task(coro, name=...) on 3.11 and 3.12 creates the task unnamed and renames it, so each named child uses up a default-name number (Task-N); from 3.13 the name is given at creation and the next unnamed task's number follows on from the last default name.",
  source: { url: DOCS.tasks + "#asyncio.TaskGroup.create_task", section: "Task Groups" },
  versions: SINCE_3_11,
  level: "exact",
  note: "CPython 3.13 passes name= to loop.create_task in TaskGroup.create_task (3.11/3.12: task = self._loop.create_task(coro); tasks._set_task_name(task, name)); checked on CPython 3.11-3.13 and 3.14.2 (Pyodide)",
  needs: ["create_task", "log", "return", "sleep", "taskgroup"],
  brokenBy: ["mutant:tg-name-counter-flipped"],
  evidence: [mainRanToItsEnd],
  scenarios: () => namedChildArb(),
  check({ scenario: s, trace, version }) {
    const body = (s.coroutines[0].body[0] as { body: Step[] }).body;
    const n = body.length - 1;
    const ref = (body[n] as { task: string }).task;
    const named = trace.events.filter((e) => e.ev === "create_task" && /^w[0-9]$/.test(e.ref));
    if (named.length !== n || named.some((e) => e.ev === "create_task" && e.name !== e.ref)) return `the trace shows ${named.length} named children, the scenario makes ${n}`;
    const made = trace.events.find((e) => e.ev === "create_task" && e.ref === ref) as { name?: string } | undefined;
    if (made === undefined) return `the unnamed task ${ref} was not created`;
    const want = `Task-${2 + (version === "3.11" || version === "3.12" ? n : 0)}`;
    if (made.name !== want) return `after ${n} named group children the unnamed task is ${canonicalJson(made.name)}, expected ${want} on ${version}`;
    return true;
  },
});

export const CLAUSES: Clause[] = [
  waitAtExit,
  failureCancelsOthers,
  failureCancelsBody,
  exceptionGroupClause,
  bodyError,
  baseError,
  firstBaseError,
  parentCancel,
  collisionKept,
  collisionLost,
  cancellingRestored,
  cancellingLeak,
  recancelCounted,
  createTaskInactive,
  createTaskShuttingDown,
  cancelOrder,
  setOrderChurn,
  cancelledChild,
  eagerDoneChild,
  cancelledAgainWhileWaiting,
  nested,
  terminate,
  namedChildCounter,
];
