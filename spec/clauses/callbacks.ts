/**
 * Clauses: done callbacks ("Coroutines and Tasks": Task Object,
 * add_done_callback / remove_done_callback; "Futures": Future Object).
 * A Task's done-callback methods are a Future's, so every clause here runs
 * on scenario futures (create_future) and on tasks.
 *
 *   callbacks.scheduled        not called immediately: scheduled with call_soon, run by the loop outside any task
 *   callbacks.when_done        added to a done future: scheduled with call_soon, runs once, soon
 *   callbacks.once             each registration runs once, with the future as its one argument
 *   callbacks.remove           remove_done_callback removes every registration, returns how many
 *   callbacks.remove.after_done   ... returns 0 once the future is done: the callbacks already scheduled still run
 *   callbacks.order            scheduled in registration order, in the loop's FIFO with everything else
 *
 * Registrations are logged (`add:H:CB`), and so is every step that
 * finishes a future (`op:H:N`, see futures.ts), so the properties read when
 * each callback was registered and when its future finished off the trace.
 */
import fc from "fast-check";
import type { CallbackDef, CoroutineDef, Scenario, Step } from "../scenario/types";
import type { Trace, TraceValue } from "../scenario/trace";
import { ALL_VERSIONS, Clause, DOCS, clause } from "./clause";
import { addedCallbacks, callbacksRan, everyStep, mainRanToItsEnd } from "./evidence";
import { at, build, callbackRuns, eventsOf, log, logsByLabel, same, show, sleep } from "./loop";
import { futureTimeline } from "./futures";

// ---------------------------------------------------------------- reading the trace

/** What a done callback gets for handle h: the future, or the task by name. */
function argOf(trace: Trace, h: string): TraceValue {
  const created = eventsOf(trace, "create_task").find((e) => e.ref === h);
  return created ? { task: created.name } : { future: h };
}

/** Index of the trace event after which handle h was done (the completing step's event, or a task's last exit). */
function completions(scenario: Scenario, trace: Trace): (h: string) => number | undefined {
  const tl = futureTimeline(scenario, trace);
  return (h) => {
    if (tl.doneAt.has(h)) return tl.doneAt.get(h);
    const created = eventsOf(trace, "create_task").find((e) => e.ref === h);
    if (!created) return undefined;
    const exits = eventsOf(trace, "exit").filter((e) => e.task === created.name);
    return exits.length > 0 ? exits[exits.length - 1].i : undefined;
  };
}

interface Registration {
  h: string;
  cb: string;
  i: number;
}

/** add:H:CB logs. */
function registrations(trace: Trace): Registration[] {
  return eventsOf(trace, "log").flatMap((e) => {
    const m = /^add:([A-Za-z0-9_]+):([A-Za-z0-9_]+)$/.exec(e.label);
    return m ? [{ h: m[1], cb: m[2], i: e.i }] : [];
  });
}

/**
 * The trace's callback runs, read once (a check asks for them once per
 * registration): for a handle and a callback, the runs of that callback that
 * received the handle's future.
 */
function runsIn(trace: Trace): (h: string, cb: string) => ReturnType<typeof callbackRuns> {
  const runs = callbackRuns(trace);
  return (h, cb) => {
    const arg = argOf(trace, h);
    return runs.filter((r) => r.callback === cb && same(r.arg, arg));
  };
}

// ---------------------------------------------------------------- scenarios

type End = "result" | "exception" | "cancel";
type TaskEnd = "return" | "raise" | "cancelled";
type Target =
  | { kind: "future"; end: End; by: "main" | "callback" | "task" }
  | { kind: "task"; end: TaskEnd };

const targetArb: fc.Arbitrary<Target> = fc.oneof(
  fc.record({
    kind: fc.constant("future" as const),
    end: fc.constantFrom<End>("result", "exception", "cancel"),
    by: fc.constantFrom("main" as const, "callback" as const, "task" as const),
  }),
  fc.record({ kind: fc.constant("task" as const), end: fc.constantFrom<TaskEnd>("return", "raise", "cancelled") }),
);

const handleOf = (t: Target, k: number) => (t.kind === "future" ? `f${k}` : `t${k}`);

function finishFuture(h: string, end: End, n: number): Step[] {
  const op: Step =
    end === "result"
      ? { op: "set_result", future: h, value: n }
      : end === "exception"
        ? { op: "set_exception", future: h, exc: { type: "ValueError", args: [n] } }
        : { op: "cancel", task: h };
  return [op, log(`op:${h}:${n}`), log(`post:${h}`)];
}

/**
 * The common shape: main makes the targets (futures, and tasks that sleep a
 * tick and end), runs `before(h, k)` right after making each, arranges for
 * the futures to be finished (by main, a call_soon callback or a task),
 * cancels the tasks meant to be cancelled once they sleep, waits for
 * everything, then runs `after(h, k)` and sleeps a tick.
 */
function targetsScenario(
  targets: Target[],
  before: (h: string, k: number) => Step[],
  after: (h: string, k: number) => Step[],
  extraCallbacks: CallbackDef[] = [],
): Scenario {
  const main: Step[] = [];
  const callbacks: CallbackDef[] = [...extraCallbacks];
  const coroutines: CoroutineDef[] = [];
  targets.forEach((t, k) => {
    const h = handleOf(t, k);
    if (t.kind === "future") main.push({ op: "create_future", future: h });
    else {
      main.push({ op: "create_task", coro: `w${k}`, task: h });
      const end: Step = t.end === "raise" ? { op: "raise", exc: { type: "ValueError", args: [k] } } : { op: "return", value: k };
      coroutines.push({ name: `w${k}`, body: [sleep(1), end] });
    }
    main.push(...before(h, k));
  });
  targets.forEach((t, k) => {
    if (t.kind !== "future") return;
    const h = handleOf(t, k);
    const finish = finishFuture(h, t.end, k);
    if (t.by === "main") main.push(...finish);
    else if (t.by === "callback") {
      main.push({ op: "call_soon", callback: `s${k}` });
      callbacks.push({ name: `s${k}`, body: finish });
    } else {
      main.push({ op: "create_task", coro: `s${k}`, task: `setter${k}` });
      coroutines.push({ name: `s${k}`, body: [sleep(0), ...finish] });
    }
  });
  main.push(sleep(0));
  targets.forEach((t, k) => {
    if (t.kind === "task" && t.end === "cancelled") main.push({ op: "cancel", task: handleOf(t, k) });
  });
  main.push(sleep(3));
  targets.forEach((t, k) => main.push(...after(handleOf(t, k), k)));
  main.push(sleep(1));
  return build(main, callbacks, coroutines);
}

const add = (h: string, cb: string): Step[] => [{ op: "add_done_callback", task: h, callback: cb }, log(`add:${h}:${cb}`)];

/** Names used for callbacks: a pool, so a callback can be added twice, to two futures, and removed. */
const POOL = ["a", "b", "c"];
const poolCallbacks = (): CallbackDef[] => POOL.map((name) => ({ name, body: [] }));

const NEEDS = [
  "add_done_callback", "call_soon", "cancel", "create_future", "create_task", "log", "raise", "return",
  "set_exception", "set_result", "sleep",
];

// ---------------------------------------------------------------- not called immediately

const scheduled = clause({
  id: "callbacks.scheduled",
  statement:
    "Done callbacks are not called when the future or task finishes: they are scheduled with call_soon and run later, " +
    "from the loop, outside any task, after the code that finished it has gone on.",
  source: { url: DOCS.futures + "#asyncio.Future.add_done_callback", section: "Future Object" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: NEEDS,
  brokenBy: ["mutant:done-callbacks-sync"],
  evidence: [mainRanToItsEnd, callbacksRan(addedCallbacks)],
  scenarios: () =>
    fc
      .array(fc.record({ target: targetArb, cbs: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 3 })
      .map((ts) => {
        return targetsScenario(
          ts.map((t) => t.target),
          (h, k) => Array.from({ length: ts[k].cbs }, (_, j) => add(h, POOL[j])).flat(),
          () => [],
          poolCallbacks(),
        );
      }),
  check({ scenario, trace }) {
    const runsOf = runsIn(trace);
    const done = completions(scenario, trace);
    const logs = logsByLabel(trace);
    for (const r of registrations(trace)) {
      const runs = runsOf(r.h, r.cb);
      if (runs.length === 0) return `${r.cb}, added to ${r.h} at event ${r.i}, never ran`;
      const d = done(r.h);
      const post = logs.get(`post:${r.h}`);
      for (const run of runs) {
        if (run.task !== null) return `${r.cb} ran inside task ${run.task} at ${at(run)}, not from the loop`;
        if (d === undefined || run.i < d) return `${r.cb} ran at ${at(run)}, before ${r.h} was done`;
        if (post !== undefined && run.i < post.i) {
          return `${r.cb} ran at ${at(run)}, synchronously while ${r.h} was finished, before that code went on (${at(post)})`;
        }
      }
    }
    return true;
  },
});

// ---------------------------------------------------------------- added when already done

const whenDone = clause({
  id: "callbacks.when_done",
  statement:
    "A callback added to a future or task that is already done is scheduled with call_soon: it runs exactly once per " +
    "registration, soon, and not inside add_done_callback.",
  source: { url: DOCS.futures + "#asyncio.Future.add_done_callback", section: "Future Object" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: NEEDS,
  brokenBy: ["mutant:add-when-done-sync", "mutant:add-when-done-dropped"],
  evidence: [mainRanToItsEnd, callbacksRan(addedCallbacks)],
  scenarios: () =>
    fc
      .array(fc.record({ target: targetArb, adds: fc.array(fc.constantFrom(...POOL), { minLength: 1, maxLength: 3 }) }), { minLength: 1, maxLength: 3 })
      .map((ts) => {
        return targetsScenario(
          ts.map((t) => t.target),
          () => [],
          (h, k) => [...ts[k].adds.flatMap((cb) => add(h, cb)), log(`late:${h}`)],
          poolCallbacks(),
        );
      }),
  check({ scenario, trace }) {
    const runsOf = runsIn(trace);
    const done = completions(scenario, trace);
    const logs = logsByLabel(trace);
    const regs = registrations(trace);
    for (const r of regs) {
      const d = done(r.h);
      if (d === undefined || d > r.i) return `${r.h} was not done when ${r.cb} was added at event ${r.i}`;
      const want = regs.filter((x) => x.h === r.h && x.cb === r.cb).length;
      const runs = runsOf(r.h, r.cb);
      if (runs.length !== want) return `${r.cb} was added ${want} time(s) to the done ${r.h} but ran ${runs.length} time(s)`;
      const late = logs.get(`late:${r.h}`)!;
      for (const run of runs) {
        if (run.i < late.i) return `${r.cb} ran at ${at(run)}, inside add_done_callback, before main went on (${at(late)})`;
        if (run.task !== null) return `${r.cb} ran inside task ${run.task} at ${at(run)}`;
      }
    }
    return true;
  },
});

// ---------------------------------------------------------------- once per registration

const once = clause({
  id: "callbacks.once",
  statement:
    "Each registration of a done callback runs exactly once after its future or task is done — by a result, an exception " +
    "or cancellation — with the future (or task) as its only argument; a callback added twice runs twice.",
  source: { url: DOCS.tasks + "#asyncio.Task.add_done_callback", section: "Task Object" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: NEEDS,
  brokenBy: ["mutant:add-when-done-dropped", "mutant:cancel-skips-callbacks"],
  evidence: [mainRanToItsEnd, callbacksRan(addedCallbacks)],
  scenarios: () =>
    fc
      .array(
        fc.record({
          target: targetArb,
          pre: fc.array(fc.constantFrom(...POOL), { minLength: 1, maxLength: 3 }),
          post: fc.array(fc.constantFrom(...POOL), { maxLength: 2 }),
        }),
        { minLength: 1, maxLength: 3 },
      )
      .map((ts) => {
        return targetsScenario(
          ts.map((t) => t.target),
          (h, k) => ts[k].pre.flatMap((cb) => add(h, cb)),
          (h, k) => ts[k].post.flatMap((cb) => add(h, cb)),
          poolCallbacks(),
        );
      }),
  check({ scenario, trace }) {
    const runsOf = runsIn(trace);
    const done = completions(scenario, trace);
    const regs = registrations(trace);
    const seen = new Set<string>();
    for (const r of regs) {
      const key = `${r.h}:${r.cb}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const want = regs.filter((x) => x.h === r.h && x.cb === r.cb).length;
      const runs = runsOf(r.h, r.cb);
      const all = callbackRuns(trace).filter((x) => x.callback === r.cb);
      if (runs.length !== want) {
        return `${r.cb} was added ${want} time(s) to ${r.h} but ran ${runs.length} time(s) with it as argument (its runs: ${all.map((x) => show(x.arg ?? null)).join(", ") || "none"})`;
      }
      const d = done(r.h);
      for (const run of runs) if (d === undefined || run.i < d) return `${r.cb} ran at ${at(run)} before ${r.h} was done`;
    }
    return true;
  },
});

// ---------------------------------------------------------------- remove_done_callback

type CbOp = { add: string } | { remove: string };
const cbOpArb: fc.Arbitrary<CbOp> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...POOL).map((cb): CbOp => ({ add: cb })) },
  { weight: 2, arbitrary: fc.constantFrom(...POOL).map((cb): CbOp => ({ remove: cb })) },
);
const cbOpSteps = (h: string, ops: CbOp[]): Step[] =>
  ops.flatMap((o) => ("add" in o ? add(h, o.add) : [{ op: "remove_done_callback", task: h, callback: o.remove } as Step]));

const remove = clause({
  id: "callbacks.remove",
  statement:
    "remove_done_callback(cb) on a pending future or task removes every registration of cb and returns how many there " +
    "were; the removed registrations never run, the others still do.",
  source: { url: DOCS.futures + "#asyncio.Future.remove_done_callback", section: "Future Object" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: [...NEEDS, "remove_done_callback"],
  brokenBy: ["mutant:remove-first-only"],
  evidence: [mainRanToItsEnd, everyStep("remove_done_callback")],
  scenarios: () =>
    fc
      .array(fc.record({ target: targetArb, ops: fc.array(cbOpArb, { minLength: 2, maxLength: 8 }) }), { minLength: 1, maxLength: 2 })
      .map((ts) => {
        // Make sure each target sees an add, then a remove of the same callback.
        return targetsScenario(
          ts.map((t) => t.target),
          (h, k) => cbOpSteps(h, [{ add: "a" }, ...ts[k].ops, { add: "a" }, { add: "a" }, { remove: "a" }]),
          () => [],
          poolCallbacks(),
        );
      }),
  check({ scenario, trace }) {
    const runsOf = runsIn(trace);
    const done = completions(scenario, trace);
    const count = new Map<string, number>();
    const key = (h: string, cb: string) => `${h}:${cb}`;
    for (const e of trace.events.map((x, i) => ({ ...x, i }))) {
      if (e.ev === "log") {
        const m = /^add:([A-Za-z0-9_]+):([A-Za-z0-9_]+)$/.exec(e.label);
        if (m) count.set(key(m[1], m[2]), (count.get(key(m[1], m[2])) ?? 0) + 1);
      } else if (e.ev === "remove_done_callback") {
        const d = done(e.ref);
        if (d !== undefined && d < e.i) continue; // after done: callbacks.remove.after_done
        const want = count.get(key(e.ref, e.callback)) ?? 0;
        if (e.returned !== want) return `remove_done_callback(${e.callback}) on ${e.ref} at ${at(e)} returned ${e.returned}, but ${want} registration(s) were pending`;
        count.set(key(e.ref, e.callback), 0);
      }
    }
    for (const [k, n] of count) {
      const [h, cb] = k.split(":");
      const ran = runsOf(h, cb).length;
      if (ran !== n) return `${cb} had ${n} registration(s) left on ${h} when it was done, but ran ${ran} time(s)`;
    }
    return true;
  },
});

const removeAfterDone = clause({
  id: "callbacks.remove.after_done",
  statement:
    "Once a future or task is done its callbacks list is empty — they are already scheduled — so remove_done_callback " +
    "returns 0 and the scheduled callbacks still run, even those not run yet.",
  source: { url: DOCS.futures + "#asyncio.Future.remove_done_callback", section: "Future Object" },
  versions: ALL_VERSIONS,
  level: "exact",
  needs: [...NEEDS, "remove_done_callback"],
  brokenBy: ["mutant:callbacks-not-cleared"],
  evidence: [mainRanToItsEnd, everyStep("remove_done_callback"), callbacksRan(addedCallbacks)],
  scenarios: () =>
    fc
      .array(
        fc.record({
          target: targetArb,
          pre: fc.array(fc.constantFrom(...POOL), { minLength: 1, maxLength: 3 }),
          removes: fc.array(fc.constantFrom(...POOL), { minLength: 1, maxLength: 3 }),
          post: fc.array(fc.constantFrom(...POOL), { maxLength: 2 }),
        }),
        { minLength: 1, maxLength: 2 },
      )
      .map((ts) => {
        // A remover callback, registered first, removes callbacks when it runs: right after the target is done.
        const targets = ts.map((t) => t.target);
        const removers: CallbackDef[] = ts.map((t, k) => ({
          name: `r${k}`,
          body: t.removes.map((cb): Step => ({ op: "remove_done_callback", task: handleOf(targets[k], k), callback: cb })),
        }));
        const s = targetsScenario(
          targets,
          (h, k) => [{ op: "add_done_callback", task: h, callback: `r${k}` }, ...ts[k].pre.flatMap((cb) => add(h, cb))],
          (h, k) => [...ts[k].removes.map((cb): Step => ({ op: "remove_done_callback", task: h, callback: cb })), ...ts[k].post.flatMap((cb) => add(h, cb))],
          [...poolCallbacks(), ...removers],
        );
        // Futures finished by main: remove right after (before the scheduled callbacks run).
        const main = s.coroutines[0].body;
        targets.forEach((t, k) => {
          if (t.kind !== "future" || t.by !== "main") return;
          const pos = main.findIndex((st) => st.op === "log" && st.label === `post:f${k}`);
          main.splice(pos + 1, 0, ...ts[k].removes.map((cb): Step => ({ op: "remove_done_callback", task: `f${k}`, callback: cb })));
        });
        return s;
      }),
  check({ scenario, trace }) {
    const runsOf = runsIn(trace);
    const done = completions(scenario, trace);
    for (const e of eventsOf(trace, "remove_done_callback")) {
      const d = done(e.ref);
      if (d === undefined || d > e.i) return `remove_done_callback on ${e.ref} at ${at(e)} ran before it was done`;
      if (e.returned !== 0) return `remove_done_callback(${e.callback}) on the done ${e.ref} at ${at(e)} returned ${e.returned}, not 0`;
    }
    const regs = registrations(trace);
    for (const r of regs) {
      const want = regs.filter((x) => x.h === r.h && x.cb === r.cb).length;
      const ran = runsOf(r.h, r.cb).length;
      if (ran !== want) return `${r.cb} was added ${want} time(s) to ${r.h} but ran ${ran} time(s): removing it after ${r.h} was done must not stop it`;
    }
    return true;
  },
});

// ---------------------------------------------------------------- order

type OrderOp = { add: number } | { soon: boolean } | { finish: number; end: End } | { sleep0: true };

const order = clause({
  id: "callbacks.order",
  statement:
    "Finishing a future schedules its done callbacks with call_soon in registration order, so they run in that order, " +
    "after every callback already queued and before any queued later; a callback added when the future is done is queued then.",
  source: { url: DOCS.futures + "#asyncio.Future.add_done_callback", section: "Future Object" },
  versions: ALL_VERSIONS,
  level: "exact",
  needs: ["add_done_callback", "call_soon", "cancel", "create_future", "create_task", "log", "return", "set_exception", "set_result", "sleep"],
  brokenBy: ["mutant:callbacks-lifo", "mutant:done-callbacks-sync", "mutant:lifo-ready"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        ops: fc.array(
          fc.oneof(
            { weight: 4, arbitrary: fc.nat(3).map((f): OrderOp => ({ add: f })) },
            { weight: 2, arbitrary: fc.boolean().map((nested): OrderOp => ({ soon: nested })) },
            { weight: 2, arbitrary: fc.record({ finish: fc.nat(2), end: fc.constantFrom<End>("result", "exception", "cancel") }) },
            { weight: 1, arbitrary: fc.constant<OrderOp>({ sleep0: true }) },
          ),
          { minLength: 3, maxLength: 14 },
        ),
      })
      .map(({ ops }) => {
        let n = 0;
        const callbacks: CallbackDef[] = [];
        const newCb = (nested: boolean): string => {
          const name = `c${n++}`;
          const body: Step[] = [];
          if (nested) {
            const inner = `c${n++}`;
            callbacks.push({ name: inner, body: [] });
            body.push({ op: "call_soon", callback: inner }, log(`soon:${inner}`));
          }
          callbacks.push({ name, body });
          return name;
        };
        // Three futures and a task (handle 3) that ends as soon as it runs.
        const main: Step[] = [
          { op: "create_future", future: "f0" },
          { op: "create_future", future: "f1" },
          { op: "create_future", future: "f2" },
          { op: "create_task", coro: "w", task: "t3" },
        ];
        ops.forEach((o, k) => {
          if ("add" in o) main.push(...add(o.add === 3 ? "t3" : `f${o.add}`, newCb(k % 3 === 0)));
          else if ("soon" in o) {
            const cb = newCb(o.soon);
            main.push({ op: "call_soon", callback: cb }, log(`soon:${cb}`));
          } else if ("finish" in o) main.push(...finishFuture(`f${o.finish}`, o.end, k).slice(0, 2));
          else main.push(sleep(0));
        });
        main.push(sleep(1));
        return build(main, callbacks, [{ name: "w", body: [{ op: "return", value: 3 }] }]);
      }),
  check({ scenario, trace }) {
    const done = completions(scenario, trace);
    // When each callback was queued: its call_soon, its future's completion, or its registration if later.
    const queued: Array<{ cb: string; at: number; tie: number }> = [];
    for (const e of eventsOf(trace, "log")) {
      let m = /^soon:([A-Za-z0-9_]+)$/.exec(e.label);
      if (m) {
        queued.push({ cb: m[1], at: e.i, tie: e.i });
        continue;
      }
      m = /^add:([A-Za-z0-9_]+):([A-Za-z0-9_]+)$/.exec(e.label);
      if (!m) continue;
      const d = done(m[1]);
      if (d === undefined) continue; // never done: never runs
      queued.push({ cb: m[2], at: Math.max(d, e.i), tie: e.i });
    }
    queued.sort((x, y) => x.at - y.at || x.tie - y.tie);
    const want = queued.map((q) => q.cb);
    const got = callbackRuns(trace).map((r) => r.callback);
    for (let i = 0; i < Math.max(want.length, got.length); i++) {
      if (want[i] !== got[i]) {
        return `callback ${i + 1} should be ${want[i] ?? "none"} (queue order: ${want.join(", ")}), but the callbacks ran as ${got.join(", ")}`;
      }
    }
    return true;
  },
});

export const CLAUSES: Clause[] = [scheduled, whenDone, once, remove, removeAfterDone, order];
