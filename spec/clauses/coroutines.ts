/**
 * Clauses: coroutines, awaitables and sleeping ("Coroutines and Tasks":
 * Coroutines, Awaitables, Sleeping).
 *
 *   coro.sequential          awaiting coroutines one after another: inline, in turn
 *   coro.tasks.concurrent    tasks created together run concurrently
 *   coro.awaitable.task      awaiting a task gives what its coroutine returned or raised
 *   coro.await.done_no_yield awaiting something already done does not give up the loop
 *   sleep.result             sleep(d, result) returns result, d ticks later at the earliest
 *   sleep.duration           ... exactly d ticks later on the virtual clock
 *   sleep.yields             sleep always suspends the task: what was ready runs first
 *   sleep.zero.once          sleep(0) gives up the loop for exactly one iteration
 *
 * Calling a coroutine function without awaiting it ("nothing happens") and
 * the never-awaited warning are not expressible: a scenario builds a
 * coroutine object only where it awaits or wraps it, and reports that
 * depend on garbage collection are left out of traces.
 */
import fc from "fast-check";
import type { CallbackDef, CoroutineDef, Scalar, Step } from "../scenario/types";
import type { ExceptionData, Trace, TraceValue } from "../scenario/trace";
import { ALL_VERSIONS, Clause, DOCS, clause } from "./clause";
import { allLabels, callbacksRan, everyStep, finished, logged, mainRanToItsEnd, tasksCreated } from "./evidence";
import { at, build, callbackRuns, eventsOf, log, logsByLabel, same, show, sleep } from "./loop";

const scalarArb: fc.Arbitrary<Scalar> = fc.oneof(
  fc.integer({ min: -5, max: 100 }),
  fc.constantFrom("a", "b", "done", ""),
  fc.boolean(),
  fc.constant(null),
);

const catchAll = (body: Step[]): Step => ({ op: "try", body, except: [{ type: "BaseException" }] });

// ---------------------------------------------------------------- Coroutines

const sequential = clause({
  id: "coro.sequential",
  statement:
    "Awaiting a coroutine runs it inside the awaiting task, to its end, before the awaiter goes on: coroutines awaited one " +
    "after another run one after another, each sleep adding to the total, and `await` evaluates to what the coroutine returned.",
  source: { url: DOCS.tasks + "#coroutines", section: "Coroutines" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["await", "call", "coro", "create_task", "log", "return", "sleep", "task"],
  brokenBy: ["mutant:sleep-short"],
  evidence: [mainRanToItsEnd, logged(allLabels), finished((s) => s.coroutines.map((c) => c.name))],
  scenarios: () =>
    fc
      .record({
        calls: fc.array(fc.record({ form: fc.constantFrom("await", "call"), d: fc.nat(3), value: scalarArb }), { minLength: 1, maxLength: 4 }),
        background: fc.boolean(),
      })
      .map(({ calls, background }) => {
        const main: Step[] = [];
        const coroutines: CoroutineDef[] = [];
        if (background) {
          main.push({ op: "create_task", coro: "bg", task: "b" });
          coroutines.push({ name: "bg", body: [sleep(1), log("bg1"), sleep(1), log("bg2")] });
        }
        main.push(log("m0"));
        calls.forEach((c, k) => {
          const name = `c${k + 1}`;
          main.push(c.form === "await" ? { op: "await", on: { coro: name } } : { op: "call", coro: name }, log(`m${k + 1}`));
          coroutines.push({ name, body: [log(`d:${c.d}`), sleep(c.d), { op: "return", value: c.value }] });
        });
        if (background) main.push({ op: "await", on: { task: "b" } });
        return build(main, [], coroutines);
      }),
  check({ scenario, trace }) {
    const mainTask = trace.events[0]?.task;
    const logs = logsByLabel(trace);
    const mainBody = scenario.coroutines[0].body;
    const enters = eventsOf(trace, "enter");
    const exits = eventsOf(trace, "exit");
    const awaited = eventsOf(trace, "awaited");
    for (let k = 1; ; k++) {
      const name = `c${k}`;
      const def = scenario.coroutines.find((c) => c.name === name);
      if (def === undefined) return true;
      const d = Number((def.body[0] as { label: string }).label.slice(2));
      const value = (def.body[2] as { value: Scalar }).value;
      const before = logs.get(`m${k - 1}`);
      const after = logs.get(`m${k}`);
      const enter = enters.find((e) => e.coro === name);
      const exit = exits.find((e) => e.coro === name);
      if (!before || !after || !enter || !exit) return `${name} or main's logs around it are missing from the trace`;
      if (enter.task !== mainTask || exit.task !== mainTask) {
        return `${name} ran in task ${enter.task}, not in the task that awaited it (${mainTask})`;
      }
      if (!(before.i < enter.i && enter.i < exit.i && exit.i < after.i)) {
        return `${name} should run between main's logs m${k - 1} (${at(before)}) and m${k} (${at(after)}), but entered at ${at(enter)} and exited at ${at(exit)}`;
      }
      if (exit.time - enter.time < d) return `${name} sleeps ${d} ticks but took ${exit.time - enter.time} (t=${enter.time} to t=${exit.time})`;
      const isAwait = mainBody.some((s) => s.op === "await" && "coro" in s.on && s.on.coro === name);
      if (isAwait) {
        const a = awaited.find((e) => e.on === `${name}()`);
        if (!a || a.i < exit.i || a.i > after.i) return `the await of ${name}() is not recorded between its exit and m${k}`;
        if (!same(a.value, value)) return `await ${name}() gave ${show(a.value)}, but ${name} returned ${show(value)}`;
      }
    }
  },
});

const concurrent = clause({
  id: "coro.tasks.concurrent",
  statement:
    "Tasks created one after another run concurrently: each starts without waiting for the others to finish, so awaiting " +
    "them all takes less than the sum of their sleeps, and awaiting each gives what its coroutine returned.",
  source: { url: DOCS.tasks + "#coroutines", section: "Coroutines" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["await", "create_task", "log", "return", "sleep", "task"],
  brokenBy: ["mutant:lazy-tasks"],
  evidence: [mainRanToItsEnd, tasksCreated()],
  scenarios: () =>
    fc
      .record({
        tasks: fc.array(fc.record({ d: fc.integer({ min: 1, max: 3 }), value: scalarArb, named: fc.boolean() }), { minLength: 2, maxLength: 4 }),
        order: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
      })
      .map(({ tasks, order }) => {
        const main: Step[] = [];
        const coroutines: CoroutineDef[] = [];
        tasks.forEach((t, k) => {
          main.push({ op: "create_task", coro: `w${k}`, task: `t${k}`, ...(t.named ? { name: `worker${k}` } : {}) });
          coroutines.push({ name: `w${k}`, body: [sleep(t.d), { op: "return", value: t.value }] });
        });
        main.push(log("created"));
        // Await them in a shuffled order.
        const left = tasks.map((_, k) => k);
        for (let j = 0; left.length > 0; j++) {
          const [k] = left.splice(order[j % order.length] % left.length, 1);
          main.push({ op: "await", on: { task: `t${k}` } });
        }
        main.push(log("done"));
        return build(main, [], coroutines);
      }),
  check({ scenario, trace }) {
    const workers = scenario.coroutines.filter((c) => c.name.startsWith("w"));
    const enters = eventsOf(trace, "enter").filter((e) => e.coro.startsWith("w"));
    const exits = eventsOf(trace, "exit").filter((e) => e.coro.startsWith("w"));
    const firstExit = Math.min(...exits.map((e) => e.i));
    for (const w of workers) {
      const enter = enters.find((e) => e.coro === w.name);
      if (!enter) return `${w.name}'s task never started`;
      if (enter.i > firstExit) {
        const first = exits.find((e) => e.i === firstExit)!;
        return `${w.name}'s task started at ${at(enter)}, only after ${first.coro} had finished at ${at(first)}: the tasks did not run concurrently`;
      }
    }
    const total = workers.reduce((n, w) => n + (w.body[0] as { ticks: number }).ticks, 0);
    const done = logsByLabel(trace).get("done");
    const created = logsByLabel(trace).get("created");
    if (!done || !created) return "main did not get to the end";
    if (done.time - created.time >= total) {
      return `awaiting the tasks took ${done.time - created.time} ticks, not less than the sum of their sleeps (${total}): they ran one after another`;
    }
    for (const a of eventsOf(trace, "awaited")) {
      const k = Number(a.on.slice(1));
      const exit = exits.find((e) => e.coro === `w${k}`);
      if (!exit || !same(a.value, exit.value)) return `await ${a.on} gave ${show(a.value)}, but w${k} returned ${show(exit?.value)}`;
    }
    return true;
  },
});

// ---------------------------------------------------------------- Awaitables

const excArb: fc.Arbitrary<{ type: "ValueError" | "KeyError" | "CustomError"; args: Scalar[] }> = fc.record({
  type: fc.constantFrom("ValueError" as const, "KeyError" as const, "CustomError" as const),
  args: fc.array(scalarArb, { maxLength: 2 }),
});

/** What awaiting a task should give: what its coroutine's last exit recorded, or CancelledError if it never ran. */
function taskOutcome(trace: Trace, ref: string, before: number): { value?: TraceValue; exc?: ExceptionData; exitAt?: number } | string {
  const created = eventsOf(trace, "create_task").find((e) => e.ref === ref);
  if (!created) return `task ${ref} was never created`;
  const exits = eventsOf(trace, "exit").filter((e) => e.task === created.name && e.i < before);
  const last = exits[exits.length - 1];
  if (last === undefined) {
    const outcome = trace.tasks.find((t) => t.name === created.name);
    if (outcome?.state === "cancelled") return { exc: { type: "CancelledError", args: [] } };
    return `task ${ref} (${created.name}) had not finished when it was awaited`;
  }
  return last.exc !== undefined ? { exc: last.exc, exitAt: last.i } : { value: last.value, exitAt: last.i };
}

const awaitTask = clause({
  id: "coro.awaitable.task",
  statement:
    "Awaiting a task waits until it is done and gives what its coroutine returned, or raises what it raised (CancelledError " +
    "if it was cancelled); every awaiter, and every later await of the same task, gets the same outcome.",
  source: { url: DOCS.tasks + "#awaitables", section: "Awaitables" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["await", "cancel", "create_task", "raise", "return", "sleep", "task", "try"],
  brokenBy: ["mutant:result-consumed"],
  evidence: [finished(), tasksCreated(), everyStep("await")],
  scenarios: () =>
    fc
      .record({
        tasks: fc.array(
          fc.record({ d: fc.nat(2), end: fc.oneof(scalarArb.map((v) => ({ value: v })), excArb.map((e) => ({ exc: e }))), cancel: fc.option(fc.constantFrom(0, 1), { nil: undefined, freq: 4 }) }),
          { minLength: 1, maxLength: 3 },
        ),
        second: fc.boolean(),
        again: fc.boolean(),
        pause: fc.nat(3),
      })
      .map(({ tasks, second, again, pause }) => {
        const main: Step[] = [];
        const coroutines: CoroutineDef[] = [];
        tasks.forEach((t, k) => {
          main.push({ op: "create_task", coro: `w${k}`, task: `t${k}` });
          const end: Step = "value" in t.end ? { op: "return", value: t.end.value } : { op: "raise", exc: t.end.exc };
          coroutines.push({ name: `w${k}`, body: [sleep(t.d), end] });
        });
        const awaitAll = (): Step[] => tasks.map((_, k) => catchAll([{ op: "await", on: { task: `t${k}` } }]));
        if (second) {
          main.push({ op: "create_task", coro: "awaiter", task: "a" });
          coroutines.push({ name: "awaiter", body: awaitAll() });
        }
        tasks.forEach((t, k) => {
          if (t.cancel === 0) main.push({ op: "cancel", task: `t${k}` });
        });
        main.push(sleep(1));
        tasks.forEach((t, k) => {
          if (t.cancel === 1) main.push({ op: "cancel", task: `t${k}`, msg: "stop" });
        });
        main.push(sleep(pause), ...awaitAll());
        if (again) main.push(...awaitAll());
        if (second) main.push({ op: "await", on: { task: "a" } });
        return build(main, [], coroutines);
      }),
  check({ trace }) {
    for (const a of eventsOf(trace, "awaited")) {
      if (!/^t\d+$/.test(a.on)) continue;
      const want = taskOutcome(trace, a.on, a.i);
      if (typeof want === "string") return want;
      if (want.exc !== undefined) {
        if (a.exc === undefined) return `awaiting ${a.on} at ${at(a)} gave ${show(a.value)}, but its coroutine raised ${show(want.exc)}`;
        const ok = want.exc.type === "CancelledError" ? a.exc.type === "CancelledError" : same(a.exc, want.exc);
        if (!ok) return `awaiting ${a.on} at ${at(a)} raised ${show(a.exc)}, but its coroutine raised ${show(want.exc)}`;
      } else if (a.exc !== undefined || !same(a.value, want.value)) {
        return `awaiting ${a.on} at ${at(a)} gave ${a.exc ? `exception ${show(a.exc)}` : show(a.value)}, but its coroutine returned ${show(want.value)}`;
      }
    }
    return true;
  },
});

type Done = "result" | "exception" | "cancelled" | "task";

const doneNoYield = clause({
  id: "coro.await.done_no_yield",
  statement:
    "Awaiting a task or future that is already done gives its outcome at once, without giving up the loop: a callback " +
    "queued just before the await runs only after the awaiting task suspends again.",
  source: { url: DOCS.tasks + "#awaitables", section: "Awaitables" },
  versions: ALL_VERSIONS,
  level: "exact",
  needs: ["await", "call_soon", "cancel", "create_future", "create_task", "log", "return", "set_exception", "set_result", "sleep", "task", "try"],
  brokenBy: ["mutant:await-always-yields"],
  evidence: [mainRanToItsEnd, callbacksRan()],
  scenarios: () =>
    fc.array(fc.constantFrom<Done>("result", "exception", "cancelled", "task"), { minLength: 1, maxLength: 4 }).map((blocks) => {
      const main: Step[] = [];
      const coroutines: CoroutineDef[] = [];
      const callbacks: CallbackDef[] = [];
      blocks.forEach((b, k) => {
        const h = b === "task" ? `t${k}` : `f${k}`;
        if (b === "task") {
          main.push({ op: "create_task", coro: `w${k}`, task: h }, sleep(0));
          coroutines.push({ name: `w${k}`, body: [{ op: "return", value: k }] });
        } else {
          main.push({ op: "create_future", future: h });
          if (b === "result") main.push({ op: "set_result", future: h, value: k });
          else if (b === "exception") main.push({ op: "set_exception", future: h, exc: { type: "ValueError", args: [k] } });
          else main.push({ op: "cancel", task: h });
        }
        main.push({ op: "call_soon", callback: `x${k}` }, catchAll([{ op: "await", on: { task: h } }]), log(`after:${k}`));
        callbacks.push({ name: `x${k}`, body: [] });
      });
      main.push(sleep(1));
      return build(main, callbacks, coroutines);
    }),
  check({ trace }) {
    const logs = logsByLabel(trace);
    for (const run of callbackRuns(trace)) {
      const k = run.callback.slice(1);
      const after = logs.get(`after:${k}`);
      if (!after) return `main never got past its await of ${k}`;
      if (run.i < after.i) {
        return `${run.callback}, queued just before main awaited an already-done ${k.startsWith("t") ? "task" : "future"}, ran at ${at(run)}, before main went on (${at(after)}): the await gave up the loop`;
      }
    }
    return true;
  },
});

// ---------------------------------------------------------------- Sleeping

interface SleepItem {
  form: "step" | "await";
  d: number;
  result?: Scalar;
}

const sleepItemArb: fc.Arbitrary<SleepItem> = fc.record(
  { form: fc.constantFrom<"step" | "await">("step", "await"), d: fc.nat(3), result: scalarArb },
  { requiredKeys: ["form", "d"] },
);

/** Main and up to two tasks, each running a few sleeps between logs s:K and w:K. */
const sleepsArb = fc
  .record({ main: fc.array(sleepItemArb, { minLength: 1, maxLength: 4 }), others: fc.array(fc.array(sleepItemArb, { minLength: 1, maxLength: 3 }), { maxLength: 2 }) })
  .map(({ main, others }) => {
    let n = 0;
    const items = new Map<string, SleepItem>();
    const body = (list: SleepItem[]): Step[] =>
      list.flatMap((it) => {
        const k = `${n++}`;
        items.set(k, it);
        const s: Step =
          it.form === "step"
            ? sleep(it.d)
            : { op: "await", on: it.result === undefined ? { sleep: it.d } : { sleep: it.d, result: it.result } };
        return [log(`s:${k}`), s, log(`w:${k}`)];
      });
    const coroutines: CoroutineDef[] = others.map((o, j) => ({ name: `r${j}`, body: body(o) }));
    const mainBody: Step[] = [
      ...others.map((_, j): Step => ({ op: "create_task", coro: `r${j}`, task: `t${j}` })),
      ...body(main),
      ...others.map((_, j): Step => ({ op: "await", on: { task: `t${j}` } })),
    ];
    return build(mainBody, [], coroutines);
  });

/** The sleeps of a sleepsArb scenario, by label number. */
function sleepItems(main: Step[], others: CoroutineDef[]): Map<string, SleepItem> {
  const out = new Map<string, SleepItem>();
  for (const body of [main, ...others.map((c) => c.body)]) {
    for (let i = 0; i + 1 < body.length; i++) {
      const a = body[i];
      const s = body[i + 1];
      if (a.op !== "log" || !a.label.startsWith("s:")) continue;
      const k = a.label.slice(2);
      if (s.op === "sleep") out.set(k, { form: "step", d: s.ticks });
      else if (s.op === "await" && "sleep" in s.on) out.set(k, { form: "await", d: s.on.sleep, result: s.on.result });
    }
  }
  return out;
}

function checkSleeps(trace: Trace, items: Map<string, SleepItem>, exact: boolean): true | string {
  const logs = logsByLabel(trace);
  const awaited = eventsOf(trace, "awaited");
  for (const [k, it] of items) {
    const s = logs.get(`s:${k}`);
    const w = logs.get(`w:${k}`);
    if (!s || !w) return `sleep ${k} never started or never ended`;
    const took = w.time - s.time;
    const call = it.form === "step" ? `sleep(${it.d})` : `sleep(${it.d}${it.result === undefined ? "" : `, ${show(it.result)}`})`;
    if (exact ? took !== it.d : took < it.d) return `${call} at t=${s.time} in ${s.task} returned at t=${w.time}, after ${took} ticks`;
    if (it.form === "await") {
      const a = awaited.find((e) => e.i > s.i && e.task === s.task);
      if (!a || a.i > w.i) return `the await of ${call} in ${s.task} is not recorded`;
      if (a.exc !== undefined || !same(a.value, it.result ?? null)) {
        return `await ${call} gave ${a.exc ? `exception ${show(a.exc)}` : show(a.value)}, not ${show(it.result ?? null)}`;
      }
    }
  }
  return true;
}

const sleepResult = clause({
  id: "sleep.result",
  statement: "`await asyncio.sleep(delay, result)` suspends the task for at least `delay` ticks and then evaluates to `result` (None by default).",
  source: { url: DOCS.tasks + "#asyncio.sleep", section: "Sleeping" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["await", "create_task", "log", "sleep", "task"],
  brokenBy: ["mutant:sleep-ignores-result", "mutant:sleep-short"],
  evidence: [mainRanToItsEnd, tasksCreated(), logged(allLabels)],
  scenarios: () => sleepsArb,
  check: ({ scenario, trace }) => checkSleeps(trace, sleepItems(scenario.coroutines[0].body, scenario.coroutines.slice(1)), false),
});

const sleepDuration = clause({
  id: "sleep.duration",
  statement: "On the virtual clock, asyncio.sleep(delay) resumes the task exactly `delay` ticks later, whatever other tasks sleep meanwhile.",
  source: { url: DOCS.tasks + "#asyncio.sleep", section: "Sleeping" },
  versions: ALL_VERSIONS,
  level: "exact",
  needs: ["await", "create_task", "log", "sleep", "task"],
  brokenBy: ["mutant:timers-late", "mutant:sleep-short"],
  evidence: [mainRanToItsEnd, tasksCreated(), logged(allLabels)],
  scenarios: () => sleepsArb,
  check: ({ scenario, trace }) => checkSleeps(trace, sleepItems(scenario.coroutines[0].body, scenario.coroutines.slice(1)), true),
});

const sleepYields = clause({
  id: "sleep.yields",
  statement:
    "asyncio.sleep always suspends the current task, even for a delay of 0, so what was ready before it — callbacks " +
    "queued with call_soon, newly created tasks — runs before the task resumes.",
  source: { url: DOCS.tasks + "#asyncio.sleep", section: "Sleeping" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["await", "call_soon", "create_task", "log", "sleep"],
  brokenBy: ["mutant:sleep0-no-yield"],
  evidence: [mainRanToItsEnd, callbacksRan(), tasksCreated()],
  scenarios: () =>
    fc
      .array(
        fc.record({
          ready: fc.array(fc.constantFrom("soon", "task"), { minLength: 1, maxLength: 3 }),
          form: fc.constantFrom("step", "await"),
          d: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) }),
        }),
        { minLength: 1, maxLength: 3 },
      )
      .map((blocks) => {
        const main: Step[] = [];
        const callbacks: CallbackDef[] = [];
        const coroutines: CoroutineDef[] = [];
        let n = 0;
        blocks.forEach((b, k) => {
          for (const r of b.ready) {
            const j = n++;
            if (r === "soon") {
              main.push({ op: "call_soon", callback: `x${j}` }, log(`before:${k}:x${j}`));
              callbacks.push({ name: `x${j}`, body: [] });
            } else {
              main.push({ op: "create_task", coro: `y${j}`, task: `t${j}` }, log(`before:${k}:y${j}`));
              coroutines.push({ name: `y${j}`, body: [log(`y${j}`)] });
            }
          }
          main.push(b.form === "step" ? sleep(b.d) : { op: "await", on: { sleep: b.d } }, log(`after:${k}`));
        });
        main.push(sleep(1));
        return build(main, callbacks, coroutines);
      }),
  check({ trace }) {
    const logs = logsByLabel(trace);
    const runs = callbackRuns(trace);
    const enters = eventsOf(trace, "enter");
    for (const e of eventsOf(trace, "log")) {
      const m = /^before:(\d+):([xy]\d+)$/.exec(e.label);
      if (!m) continue;
      const after = logs.get(`after:${m[1]}`);
      if (!after) return `main never resumed after its sleep ${m[1]}`;
      const ran = m[2].startsWith("x") ? runs.find((r) => r.callback === m[2]) : enters.find((r) => r.coro === m[2]);
      if (!ran || ran.i > after.i) {
        return `${m[2].startsWith("x") ? `callback ${m[2]}` : `task running ${m[2]}`} was ready before main's sleep ${m[1]}, but main resumed at ${at(after)} before it ran${ran ? ` (${at(ran)})` : ""}`;
      }
    }
    return true;
  },
});

// sleep(0): the FIFO model of one iteration per sleep(0).

interface ZeroItem {
  log: boolean;
  kids: ZeroItem[];
}

const zeroItemArb: fc.Arbitrary<ZeroItem> = fc.letrec<{ item: ZeroItem }>((tie) => ({
  item: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant<ZeroItem>({ log: true, kids: [] }),
    fc.record({ log: fc.constant(false), kids: fc.array(tie("item"), { maxLength: 2 }) }),
  ),
})).item;

const zeroOnce = clause({
  id: "sleep.zero.once",
  statement:
    "asyncio.sleep(0) gives up the loop for exactly one iteration: the task is queued again behind what was ready, so " +
    "tasks doing sleep(0) take turns in a fixed round and callbacks run exactly where FIFO order puts them.",
  source: { url: DOCS.tasks + "#asyncio.sleep", section: "Sleeping" },
  versions: ALL_VERSIONS,
  level: "exact",
  needs: ["call_soon", "create_task", "log", "sleep"],
  brokenBy: ["mutant:sleep0-no-yield", "mutant:sleep0-yields-twice", "mutant:lifo-ready"],
  evidence: [mainRanToItsEnd, callbacksRan()],
  scenarios: () =>
    fc
      .record({
        main: fc.array(fc.array(zeroItemArb, { maxLength: 3 }), { minLength: 1, maxLength: 3 }),
        tasks: fc.array(fc.array(fc.array(zeroItemArb, { maxLength: 3 }), { minLength: 1, maxLength: 3 }), { maxLength: 3 }),
      })
      .map(({ main, tasks }) => {
        let logs = 0;
        let cbs = 0;
        const callbacks: CallbackDef[] = [];
        const steps = (items: ZeroItem[]): Step[] =>
          items.map((it): Step => {
            if (it.log) return log(`l${logs++}`);
            const name = `x${cbs++}`;
            const def: CallbackDef = { name, body: [] };
            callbacks.push(def);
            def.body = [log(`l${logs++}`), ...steps(it.kids)];
            return { op: "call_soon", callback: name };
          });
        const segments = (segs: ZeroItem[][]): Step[] => segs.flatMap((s, k) => [...(k > 0 ? [sleep(0)] : []), ...steps(s)]);
        const coroutines: CoroutineDef[] = tasks.map((t, j) => ({ name: `r${j}`, body: segments(t) }));
        const mainBody: Step[] = [...tasks.map((_, j): Step => ({ op: "create_task", coro: `r${j}`, task: `t${j}` })), ...segments(main), sleep(1)];
        return build(mainBody, callbacks, coroutines);
      }),
  check({ scenario, trace }) {
    // Simulate the ready queue: a coroutine segment or a callback per entry.
    const bodies = new Map(scenario.coroutines.map((c) => [c.name, c.body]));
    const cbBodies = new Map((scenario.callbacks ?? []).map((c) => [c.name, c.body]));
    type Entry = { coro: string; from: number } | { callback: string };
    const queue: Entry[] = [{ coro: "main", from: 0 }];
    const want: string[] = [];
    const runSteps = (steps: Step[], from: number, coro: string | null): void => {
      for (let i = from; i < steps.length; i++) {
        const s = steps[i];
        if (s.op === "log") want.push(`log ${s.label}`);
        else if (s.op === "call_soon") queue.push({ callback: s.callback });
        else if (s.op === "create_task") queue.push({ coro: s.coro, from: 0 });
        else if (s.op === "sleep") {
          if (s.ticks === 0 && coro !== null) queue.push({ coro, from: i + 1 });
          return;
        }
      }
    };
    while (queue.length > 0) {
      const e = queue.shift()!;
      if ("callback" in e) {
        want.push(`callback ${e.callback}`);
        runSteps(cbBodies.get(e.callback)!, 0, null);
      } else runSteps(bodies.get(e.coro)!, e.from, e.coro);
    }
    const got = trace.events.flatMap((e) => (e.ev === "log" ? [`log ${e.label}`] : e.ev === "callback" ? [`callback ${e.callback}`] : []));
    for (let i = 0; i < Math.max(want.length, got.length); i++) {
      if (want[i] !== got[i]) {
        return `with one iteration per sleep(0), log-or-callback #${i + 1} should be "${want[i] ?? "nothing"}", but it is "${got[i] ?? "nothing"}" (expected order: ${want.join(", ")})`;
      }
    }
    return true;
  },
});

export const CLAUSES: Clause[] = [sequential, concurrent, awaitTask, doneNoYield, sleepResult, sleepDuration, sleepYields, zeroOnce];
