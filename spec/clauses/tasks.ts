/**
 * Clauses: tasks — "Creating Tasks", "Introspection" and "Task Object" of
 * the "Coroutines and Tasks" page. (Cancellation: ./cancellation.ts; the
 * eager task factory: ./eager.ts.)
 *
 * Most properties read the trace through the shape of their own scenarios:
 * a scenario generator here puts marker logs next to the steps it wants to
 * find again (a `log` and the synchronous step after it are always adjacent
 * in the trace, since nothing else can run in between), spawns each child
 * coroutine once (so its `enter` / `exit` events are its task's), and keeps
 * the main task alive until its children are done (so nothing is left to the
 * shutdown phase), unless a clause says otherwise.
 *
 * Not specified here: "Task exception was never retrieved" and "Task was
 * destroyed but it is pending!". Both are reported by the garbage collector
 * when it destroys the task, at a time that depends on references and
 * collection, not on the loop; both interpreters leave these reports out of
 * the trace (see harness/engine/interpreter.ts), so no trace can show them.
 *
 * The helpers below are shared with ./cancellation.ts and ./eager.ts.
 */
import fc from "fast-check";
import type { CallbackDef, CoroutineDef, ExceptionSpec, Scalar, Scenario, Step } from "../scenario/types";
import type { ExceptionData, Trace, TraceEvent } from "../scenario/trace";
import { canonicalJson } from "../scenario/trace";
import { ALL_VERSIONS, DOCS, built, clause, SINCE_3_11 } from "./clause";
import { entered, everyStep, mainRanToItsEnd, spawnedCoroutines, tasksCreated } from "./evidence";
import type { Clause } from "./clause";

// ---------------------------------------------------------------- helpers: scenarios

export function scenarioOf(
  coroutines: Array<[string, Step[]]>,
  opts: { callbacks?: Array<[string, Step[]]>; eager?: boolean; description?: string } = {},
): Scenario {
  const s: Scenario = { aiospec: 1, coroutines: coroutines.map(([name, body]): CoroutineDef => ({ name, body })) };
  if (opts.description !== undefined) s.description = opts.description;
  if (opts.callbacks !== undefined && opts.callbacks.length > 0) {
    s.callbacks = opts.callbacks.map(([name, body]): CallbackDef => ({ name, body }));
  }
  if (opts.eager) s.eager = true;
  return built(s);
}

export const log = (label: string): Step => ({ op: "log", label });
export const sleep = (ticks: number): Step => ({ op: "sleep", ticks });
export const spawn = (coro: string, task: string, name?: string | null): Step =>
  name === undefined || name === null ? { op: "create_task", coro, task } : { op: "create_task", coro, task, name };
export const inspect = (task: string): Step => ({ op: "inspect", task });
export const cancel = (task: string, msg?: string | null): Step =>
  msg === undefined || msg === null ? { op: "cancel", task } : { op: "cancel", task, msg };
export const uncancel = (task: string): Step => ({ op: "uncancel", task });
export const ret = (value: Scalar): Step => ({ op: "return", value });
export const raise = (exc: ExceptionSpec): Step => ({ op: "raise", exc });
export const catchCancelled = (body: Step[], handler: Step[] = [], reraise = false): Step => ({
  op: "try",
  body,
  except: [reraise ? { type: "CancelledError", body: handler, reraise: true } : { type: "CancelledError", body: handler }],
});

/** Task names a scenario gives explicitly (none looks like a default name, "Task-N"). */
export const NAME_POOL = ["worker", "w 1", "", "None", "Task", "task-2", "Task-x", "été", "t0"] as const;
/** Messages for cancel(msg). */
export const MSG_POOL = ["stop", "", "bye now", "None"] as const;
/** Values coroutines return. */
export const VALUE_POOL: readonly Scalar[] = [1, "done", null, true, 2.5];

export const msgArb: fc.Arbitrary<string | null> = fc.option(fc.constantFrom(...MSG_POOL), { freq: 3 });

// ---------------------------------------------------------------- helpers: traces

/** The events of one kind (a probe event's kind is one of several). */
export type Ev<K extends TraceEvent["ev"]> = TraceEvent extends infer T
  ? T extends { ev: infer E }
    ? K extends E
      ? T & { ev: K }
      : never
    : never
  : never;

export function is<K extends TraceEvent["ev"]>(e: TraceEvent | undefined, kind: K): e is Ev<K> {
  return e !== undefined && e.ev === kind;
}

/** Default task names, as CPython makes them. */
export function isDefaultName(name: string): boolean {
  return /^Task-[0-9]+$/.test(name);
}

/** The events before the shutdown phase (when the harness cancels what is left). */
export function beforeShutdown(trace: Trace): TraceEvent[] {
  const i = trace.events.findIndex((e) => e.ev === "shutdown");
  return i === -1 ? trace.events : trace.events.slice(0, i);
}

/** Index of the first event matching pred at or after `from`, or -1. */
export function findFrom(events: TraceEvent[], from: number, pred: (e: TraceEvent) => boolean): number {
  for (let i = Math.max(0, from); i < events.length; i++) if (pred(events[i])) return i;
  return -1;
}

/** Index of the first `enter` of a coroutine, or -1. */
export function enterIndex(events: TraceEvent[], coro: string): number {
  return events.findIndex((e) => is(e, "enter") && e.coro === coro);
}

/** Index of the first `exit` of a coroutine, or -1. */
export function exitIndex(events: TraceEvent[], coro: string): number {
  return events.findIndex((e) => is(e, "exit") && e.coro === coro);
}

/** Index of the create_task event of a handle, or -1. */
export function createIndex(events: TraceEvent[], ref: string): number {
  return events.findIndex((e) => is(e, "create_task") && e.ref === ref);
}

/** The name a create_task event gave a handle's task, or null. */
export function createdName(events: TraceEvent[], ref: string): string | null {
  const i = createIndex(events, ref);
  return i === -1 ? null : (events[i] as Ev<"create_task">).name;
}

/** Every create_task step of a scenario (any depth), in body order, with its coroutine. */
export function createSteps(scenario: Scenario): Array<Step & { op: "create_task" }> {
  const out: Array<Step & { op: "create_task" }> = [];
  const walk = (steps: Step[]): void => {
    for (const s of steps) {
      if (s.op === "create_task") out.push(s);
      if (s.op === "try") {
        walk(s.body);
        for (const h of s.except ?? []) walk(h.body ?? []);
        walk(s.finally ?? []);
      } else if (s.op === "taskgroup" || s.op === "timeout") walk(s.body);
    }
  };
  for (const c of scenario.coroutines) walk(c.body);
  for (const c of scenario.callbacks ?? []) walk(c.body);
  return out;
}

/** The coroutine a task handle is bound to (the scenarios here bind each handle once). */
export function coroOf(scenario: Scenario, ref: string): string | null {
  return createSteps(scenario).find((s) => s.task === ref)?.coro ?? null;
}

export function excType(e: { exc?: ExceptionData } | undefined): string | null {
  return e?.exc?.type ?? null;
}

/** Two consecutive events of the same task: `first` then `second` (by kind), on the same handle. */
export function pairs<A extends TraceEvent["ev"], B extends TraceEvent["ev"]>(
  events: TraceEvent[],
  first: A,
  second: B,
): Array<{ i: number; a: Ev<A>; b: Ev<B> }> {
  const out: Array<{ i: number; a: Ev<A>; b: Ev<B> }> = [];
  for (let i = 0; i + 1 < events.length; i++) {
    const a = events[i];
    const b = events[i + 1];
    if (!is(a, first) || !is(b, second) || a.task !== b.task) continue;
    if ("ref" in a && "ref" in b && (a as { ref: string }).ref !== (b as { ref: string }).ref) continue;
    out.push({ i, a, b });
  }
  return out;
}

const show = (x: unknown): string => canonicalJson(x);

// ---------------------------------------------------------------- generator: a tree of spawns

/**
 * main and children c1..cn (n = 1..3); each child is spawned exactly once,
 * by main or by a child of lower index, in one of its creator's two
 * segments. A segment is: a few synchronous filler steps and the creations
 * assigned to it, then the marker log "yield:X:S", then a sleep (0 or 1
 * tick): the creator's first suspension after the creation. main then
 * sleeps long enough for every child to finish.
 */
export interface SpawnTreeOptions {
  /** At least two children created by main in the same step (segment 0). */
  sameStep?: boolean;
  /** Filler kinds (default: log, inspect, current_task). */
  fillers?: Array<"log" | "inspect" | "current_task" | "all_tasks">;
  /** How children end. */
  endings?: Array<"return" | "raise">;
  /** Steps main runs at its very end, after everything finished. */
  final?: Step[];
  /** Steps main runs first. */
  initial?: Step[];
}

export function spawnTreeArb(opts: SpawnTreeOptions = {}): fc.Arbitrary<Scenario> {
  const fillerKinds = opts.fillers ?? ["log", "inspect", "current_task"];
  const filler = fc.constantFrom(...fillerKinds);
  const segment = fc.record({
    pre: fc.array(filler, { maxLength: 2 }),
    post: fc.array(filler, { maxLength: 2 }),
    ticks: fc.integer({ min: 0, max: 1 }),
  });
  const child = fc.record({
    parent: fc.nat(),
    segment: fc.nat(1),
    named: fc.boolean(),
    inspectAfter: fc.boolean(),
    ending: fc.constantFrom(...(opts.endings ?? ["return"])),
  });
  return fc
    .record({
      children: fc.array(child, { minLength: opts.sameStep ? 2 : 1, maxLength: 3 }),
      segments: fc.array(fc.tuple(segment, segment), { minLength: 4, maxLength: 4 }),
    })
    .map(({ children, segments }) => {
      const names = ["main", ...children.map((_, i) => `c${i + 1}`)];
      const parentOf = children.map((c, i) => (opts.sameStep && i < 2 ? 0 : c.parent % (i + 1)));
      const segOf = children.map((c, i) => (opts.sameStep && i < 2 ? 0 : c.segment));
      let label = 0;
      const bodies = names.map((x, xi) => {
        const body: Step[] = xi === 0 ? [...(opts.initial ?? [])] : [];
        const made: string[] = [];
        const fill = (k: (typeof fillerKinds)[number]): Step => {
          if (k === "inspect") return made.length > 0 ? inspect(made[made.length - 1]) : log(`l${label++}`);
          if (k === "log") return log(`l${label++}`);
          return { op: k };
        };
        for (let s = 0; s < 2; s++) {
          const seg = segments[xi][s];
          body.push(...seg.pre.map(fill));
          children.forEach((c, ci) => {
            if (parentOf[ci] !== xi || segOf[ci] !== s) return;
            const ref = `t${ci + 1}`;
            body.push(spawn(`c${ci + 1}`, ref, c.named ? `w${ci + 1}` : null));
            made.push(ref);
            if (c.inspectAfter) body.push(inspect(ref));
          });
          body.push(...seg.post.map(fill));
          body.push(log(`yield:${x}:${s}`));
          body.push(sleep(seg.ticks));
        }
        if (xi === 0) body.push(sleep(8), ...(opts.final ?? []));
        else body.push(children[xi - 1].ending === "raise" ? raise({ type: "ValueError", args: ["boom"] }) : ret(xi));
        return [x, body] as [string, Step[]];
      });
      return scenarioOf(bodies);
    });
}

/** The scenario features spawnTreeArb uses with these options. */
export function spawnTreeNeeds(opts: SpawnTreeOptions = {}): string[] {
  const out = new Set(["create_task", "log", "return", "sleep", ...(opts.fillers ?? ["log", "inspect", "current_task"])]);
  if ((opts.endings ?? []).includes("raise")) out.add("raise");
  for (const s of [...(opts.initial ?? []), ...(opts.final ?? [])]) out.add(s.op);
  return [...out].sort();
}

/** For a spawn tree: the coroutine that creates each child (by coroutine name). */
export function creatorOf(scenario: Scenario): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of scenario.coroutines) for (const s of c.body) if (s.op === "create_task") out.set(s.coro, c.name);
  return out;
}

// ---------------------------------------------------------------- generator: names

/**
 * main spawns 1..4 children c1..cN, some named (distinct names from
 * NAME_POOL, at least one), maybe inspecting each right away, and maybe
 * awaits a gather of a sleep and a coroutine (gather wraps both in unnamed
 * tasks); children record current_task first.
 */
export function namesArb(): fc.Arbitrary<Scenario> {
  return fc
    .record({
      specs: fc.array(fc.record({ named: fc.boolean(), inspectAfter: fc.boolean() }), { minLength: 1, maxLength: 4 }),
      names: fc.shuffledSubarray([...NAME_POOL], { minLength: 4, maxLength: 4 }),
      gatherAt: fc.option(fc.nat(4)),
      ticks: fc.integer({ min: 0, max: 1 }),
    })
    .map(({ specs, names, gatherAt, ticks }) => {
      if (!specs.some((s) => s.named)) specs = [{ ...specs[0], named: true }, ...specs.slice(1)];
      const main: Step[] = [];
      const gather: Step = { op: "await", on: { gather: [{ sleep: 0 }, { coro: "g" }] } };
      specs.forEach((s, k) => {
        if (gatherAt === k) main.push(gather);
        main.push(spawn(`c${k + 1}`, `t${k + 1}`, s.named ? names[k] : null));
        if (s.inspectAfter) main.push(inspect(`t${k + 1}`));
      });
      if (gatherAt !== null && gatherAt >= specs.length) main.push(gather);
      main.push(sleep(2), ...specs.map((_, k) => inspect(`t${k + 1}`)));
      const coros: Array<[string, Step[]]> = [["main", main]];
      specs.forEach((_, k) => coros.push([`c${k + 1}`, [{ op: "current_task" }, sleep(ticks), ret(k)]]));
      if (gatherAt !== null) coros.push(["g", [ret("g")]]);
      return scenarioOf(coros);
    });
}

export const NAMES_NEEDS = ["await", "coro", "create_task", "current_task", "gather", "inspect", "return", "sleep"];

/** The name each create_task step asked for, by handle (null: none). */
function askedNames(scenario: Scenario): Map<string, string | null> {
  return new Map(createSteps(scenario).map((s) => [s.task, s.name ?? null]));
}

// ---------------------------------------------------------------- generator: the lifecycle of a task

/** What a lifecycle child does. */
export type Template = "sleeper" | "raiser" | "catcher" | "instant" | "selfprobe" | "selfcancel" | "cancelraise";
/** What main's script can do to a child. */
export type ScriptOp =
  | "sleep"
  | "probe" // inspect, then result() or exception()
  | "inspectCancel" // inspect, then cancel (msg?)
  | "cancelInspect" // cancel (msg?), then inspect
  | "doubleCancel" // cancel, cancel, inspect
  | "uncancelTriple" // inspect, uncancel, inspect
  | "uncancel";

export interface LifecycleOptions {
  ops: ScriptOp[];
  /** Script ops that appear at least once each (repeats count). */
  must?: ScriptOp[];
  templates?: Template[];
  /** main yields once (sleep 0) before its script, so every child has started. */
  startFirst?: boolean;
  /** main cancels t1 before it starts, and inspects it. */
  cancelFirst?: boolean;
  /** main probes t1 (inspect, result) before it starts. */
  probeFirst?: boolean;
  /** After every child finished: inspect and result / exception of each. */
  finalProbes?: boolean;
  /** After every child finished: inspect and cancel each. */
  finalCancel?: boolean;
}

/**
 * main spawns 1..2 children (t1, t2: c1, c2, maybe named), each following a
 * template, then runs a script of 1..5 operations on them, then sleeps until
 * every child is done (children take at most 6 ticks, whatever is cancelled).
 */
export function lifecycleArb(opts: LifecycleOptions): fc.Arbitrary<Scenario> {
  const templates = opts.templates ?? ["sleeper", "raiser", "catcher", "instant", "selfprobe", "selfcancel", "cancelraise"];
  const op = fc.record({
    kind: fc.constantFrom(...opts.ops),
    target: fc.nat(1),
    ticks: fc.integer({ min: 0, max: 2 }),
    msg: msgArb,
    method: fc.constantFrom("result" as const, "exception" as const),
  });
  const childArb = fc.record({
    template: fc.constantFrom(...templates),
    a: fc.integer({ min: 0, max: 3 }),
    b: fc.integer({ min: 0, max: 2 }),
    value: fc.constantFrom(...VALUE_POOL),
    named: fc.boolean(),
    custom: fc.boolean(),
  });
  const must = opts.must ?? [];
  return fc
    .record({
      children: fc.array(childArb, { minLength: 1, maxLength: 2 }),
      script: fc.array(op, { minLength: 0, maxLength: 5 }),
      forced: fc.tuple(...must.map(() => fc.tuple(op, fc.nat()))),
      firstMsg: msgArb,
      method: fc.constantFrom("result" as const, "exception" as const),
    })
    .map(({ children, script, forced, firstMsg, method }) => {
      const ops = [...script];
      forced.forEach(([o, pos], k) => ops.splice(pos % (ops.length + 1), 0, { ...o, kind: must[k] }));
      const refs = children.map((_, k) => `t${k + 1}`);
      const main: Step[] = children.map((c, k) => spawn(`c${k + 1}`, refs[k], c.named ? ["alpha", "beta"][k] : null));
      if (opts.probeFirst) main.push(inspect("t1"), { op: method, task: "t1" });
      if (opts.cancelFirst) main.push(cancel("t1", firstMsg), inspect("t1"));
      if (opts.startFirst) main.push(sleep(0));
      for (const o of ops) {
        const r = refs[o.target % refs.length];
        switch (o.kind) {
          case "sleep":
            main.push(sleep(o.ticks));
            break;
          case "probe":
            main.push(inspect(r), { op: o.method, task: r });
            break;
          case "inspectCancel":
            main.push(inspect(r), cancel(r, o.msg));
            break;
          case "cancelInspect":
            main.push(cancel(r, o.msg), inspect(r));
            break;
          case "doubleCancel":
            main.push(cancel(r, o.msg), cancel(r), inspect(r));
            break;
          case "uncancelTriple":
            main.push(inspect(r), uncancel(r), inspect(r));
            break;
          case "uncancel":
            main.push(uncancel(r));
            break;
        }
      }
      main.push(sleep(10));
      for (const r of refs) {
        if (opts.finalProbes) main.push(inspect(r), { op: "result", task: r }, inspect(r), { op: "exception", task: r });
        if (opts.finalCancel) main.push(inspect(r), cancel(r));
      }
      const coros: Array<[string, Step[]]> = [["main", main]];
      children.forEach((c, k) => {
        const self = refs[k];
        const exc: ExceptionSpec = c.custom ? { type: "CustomError", args: [k] } : { type: "ValueError", args: ["boom"] };
        let body: Step[];
        switch (c.template) {
          case "sleeper":
            body = [log(`c${k + 1}:start`), sleep(c.a), ret(c.value)];
            break;
          case "raiser":
            body = [sleep(c.a), raise(exc)];
            break;
          case "catcher":
            body = [catchCancelled([sleep(c.a)], [log(`c${k + 1}:caught`)]), sleep(c.b), ret(c.value)];
            break;
          case "instant":
            body = [ret(c.value)];
            break;
          case "selfprobe":
            body = [inspect(self), { op: "result", task: self }, inspect(self), { op: "exception", task: self }, sleep(c.a), ret(c.value)];
            break;
          case "selfcancel":
            body = [cancel(self, "self"), inspect(self), catchCancelled([sleep(c.a)], [log(`c${k + 1}:caught`)]), ret(c.value)];
            break;
          case "cancelraise":
            body = [sleep(c.a), raise({ type: "CancelledError", args: ["own"] })];
            break;
        }
        coros.push([`c${k + 1}`, body]);
      });
      return scenarioOf(coros);
    });
}

/** The scenario features lifecycleArb uses with these options. */
export function lifecycleNeeds(opts: LifecycleOptions): string[] {
  const out = new Set(["create_task", "inspect", "log", "return", "sleep"]);
  const add = (...fs: string[]) => fs.forEach((f) => out.add(f));
  for (const op of [...opts.ops, ...(opts.must ?? [])]) {
    if (op === "probe") add("result", "exception");
    else if (op === "uncancelTriple" || op === "uncancel") add("uncancel");
    else if (op !== "sleep") add("cancel");
  }
  if (opts.probeFirst || opts.finalProbes) add("result", "exception");
  if (opts.cancelFirst || opts.finalCancel) add("cancel");
  for (const t of opts.templates ?? ["raiser", "catcher", "selfprobe", "selfcancel", "cancelraise"]) {
    if (t === "raiser" || t === "cancelraise") add("raise");
    if (t === "catcher") add("try");
    if (t === "selfprobe") add("result", "exception");
    if (t === "selfcancel") add("cancel", "try");
  }
  return [...out].sort();
}

// ================================================================ Creating Tasks

const createSoon = clause({
  id: "tasks.create_soon",
  statement:
    "create_task() only schedules the coroutine: it has not started when create_task returns, and starts only after the creating task next gives up the loop, but it does start.",
  source: { url: DOCS.tasks + "#asyncio.create_task", section: "Creating Tasks" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: spawnTreeNeeds(),
  brokenBy: ["mutant:create-task-runs-now"],
  evidence: [mainRanToItsEnd],
  scenarios: () => spawnTreeArb(),
  check({ scenario, trace }) {
    const ev = trace.events;
    const creator = creatorOf(scenario);
    for (const s of createSteps(scenario)) {
      const i = createIndex(ev, s.task);
      if (i === -1) return `the task of ${s.task} was never created`;
      const e = enterIndex(ev, s.coro);
      if (e === -1) return `the task ${s.task} (${s.coro}) never started`;
      if (e < i) return `${s.coro} started (event ${e}) inside create_task, before create_task returned (event ${i})`;
      const x = creator.get(s.coro)!;
      const marker = findFrom(ev, i, (m) => is(m, "log") && m.label.startsWith(`yield:${x}:`));
      if (marker !== -1 && e < marker) {
        return `${s.coro} started (event ${e}) before its creator ${x} gave up the loop (event ${marker})`;
      }
    }
    return true;
  },
});

const createOrder = clause({
  id: "tasks.create_order",
  statement: "Tasks start in the order they were created: create_task schedules each first step with call_soon, and the loop runs those in order.",
  source: { url: DOCS.tasks + "#asyncio.create_task", section: "Creating Tasks" },
  versions: ALL_VERSIONS,
  level: "exact",
  needs: spawnTreeNeeds({ sameStep: true }),
  brokenBy: ["mutant:create-task-lifo", "mutant:lifo-ready"],
  evidence: [mainRanToItsEnd, tasksCreated(), entered(spawnedCoroutines)],
  scenarios: () => spawnTreeArb({ sameStep: true }),
  check({ scenario, trace }) {
    const ev = trace.events;
    const started = createSteps(scenario)
      .map((s) => ({ s, created: createIndex(ev, s.task), entered: enterIndex(ev, s.coro) }))
      .filter((x) => x.created !== -1 && x.entered !== -1)
      .sort((a, b) => a.created - b.created);
    for (let k = 1; k < started.length; k++) {
      const [a, b] = [started[k - 1], started[k]];
      if (b.entered < a.entered) {
        return `${a.s.task} was created before ${b.s.task} (events ${a.created}, ${b.created}) but started after it (events ${a.entered}, ${b.entered})`;
      }
    }
    return true;
  },
});

const createName = clause({
  id: "tasks.create_name",
  statement: "create_task(coro, name=S) names the task S: get_name() returns S, and so does current_task().get_name() inside it.",
  source: { url: DOCS.tasks + "#asyncio.create_task", section: "Creating Tasks" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: NAMES_NEEDS,
  brokenBy: ["mutant:create-task-ignores-name", "mutant:set-name-ignored"],
  evidence: [mainRanToItsEnd, tasksCreated()],
  scenarios: () => namesArb(),
  check({ scenario, trace }) {
    const ev = trace.events;
    for (const [ref, name] of askedNames(scenario)) {
      if (name === null) continue;
      const got = createdName(ev, ref);
      if (got !== name) return `create_task(..., name=${show(name)}) made a task named ${show(got)}`;
      for (const e of ev) {
        if (is(e, "inspect") && e.ref === ref && e.name !== name) return `${ref}.get_name() is ${show(e.name)}, not ${show(name)}`;
      }
      const coro = coroOf(scenario, ref)!;
      const k = enterIndex(ev, coro);
      const ct = ev[k + 1];
      if (k !== -1 && is(ct, "current_task") && ct.name !== name) {
        return `inside the task named ${show(name)}, current_task() is ${show(ct.name)}`;
      }
    }
    return true;
  },
});

// ================================================================ Task Object: names

const defaultNames = clause({
  id: "tasks.default_names",
  statement: "A task created without a name gets a default name of the form Task-N, and no two tasks of a loop get the same default name.",
  source: { url: DOCS.tasks + "#asyncio.Task.get_name", section: "Task Object" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: NAMES_NEEDS,
  brokenBy: ["mutant:default-names-repeat"],
  evidence: [mainRanToItsEnd, tasksCreated()],
  scenarios: () => namesArb(),
  check({ scenario, trace }) {
    const asked = askedNames(scenario);
    const main = trace.tasks[0];
    if (!main || !isDefaultName(main.name)) return `the main task, created without a name, is named ${show(main?.name)}`;
    for (const [ref, name] of asked) {
      const got = createdName(trace.events, ref);
      if (name === null && (got === null || !isDefaultName(got))) return `${ref}, created without a name, is named ${show(got)}`;
    }
    const seen = new Map<string, number>();
    for (const [k, t] of trace.tasks.entries()) {
      if (!isDefaultName(t.name)) continue;
      if (seen.has(t.name)) return `tasks #${seen.get(t.name)} and #${k} both got the default name ${t.name}`;
      seen.set(t.name, k);
    }
    return true;
  },
});

const counterShared = clause({
  id: "tasks.default_name_counter_shared",
  statement:
    "asyncio.create_task(coro, name=S) creates the task unnamed and renames it, so a named task uses up a default-name number too: the k-th task the loop creates, if unnamed, is Task-k.",
  source: { url: DOCS.tasks + "#asyncio.create_task", section: "Creating Tasks" },
  versions: ["3.11", "3.12"],
  level: "exact",
  needs: NAMES_NEEDS,
  note: "3.13 passes the name to the Task constructor: named tasks no longer take a number",
  brokenBy: ["mutant:name-counter-flipped"],
  evidence: [mainRanToItsEnd, tasksCreated()],
  scenarios: () => namesArb(),
  check({ trace }) {
    for (const [k, t] of trace.tasks.entries()) {
      if (isDefaultName(t.name) && t.name !== `Task-${k + 1}`) {
        return `task #${k + 1} in creation order is named ${t.name}, not Task-${k + 1} (named tasks take a number too)`;
      }
    }
    return true;
  },
});

const counterUnnamed = clause({
  id: "tasks.default_name_counter_unnamed",
  statement: "asyncio.create_task(coro, name=S) passes the name to the task, so only unnamed tasks use up default-name numbers: they are Task-1, Task-2, ... in creation order.",
  source: { url: DOCS.tasks + "#asyncio.create_task", section: "Creating Tasks" },
  versions: ["3.13", "3.14"],
  level: "exact",
  needs: NAMES_NEEDS,
  note: "3.11 and 3.12 rename the task after creating it: named tasks take a number too",
  brokenBy: ["mutant:name-counter-flipped"],
  evidence: [mainRanToItsEnd, tasksCreated()],
  scenarios: () => namesArb(),
  check({ trace }) {
    let n = 0;
    for (const t of trace.tasks) {
      if (!isDefaultName(t.name)) continue;
      n++;
      if (t.name !== `Task-${n}`) return `the unnamed task number ${n} in creation order is named ${t.name}, not Task-${n}`;
    }
    return true;
  },
});

/**
 * main spawns c1 as t1 (maybe named), then runs 1..5 operations: rename t1
 * (set_name, then the marker log "rn<k>"), inspect t1, sleep 0 or 1; c1 may
 * rename itself too, and records current_task() between its sleeps.
 */
function renameArb(): fc.Arbitrary<Scenario> {
  const op = fc.record({ kind: fc.constantFrom("rename", "inspect", "sleep"), name: fc.constantFrom(...NAME_POOL), ticks: fc.nat(1) });
  return fc
    .record({
      named: fc.option(fc.constantFrom(...NAME_POOL)),
      ops: fc.array(op, { minLength: 1, maxLength: 5 }),
      forced: op,
      forcedAt: fc.nat(),
      selfRename: fc.option(fc.tuple(fc.constantFrom(...NAME_POOL), fc.nat(2))),
    })
    .map(({ named, ops, forced, forcedAt, selfRename }) => {
      const all = [...ops];
      all.splice(forcedAt % (all.length + 1), 0, { ...forced, kind: "rename" });
      let k = 0;
      const main: Step[] = [spawn("c1", "t1", named)];
      for (const o of all) {
        if (o.kind === "rename") main.push({ op: "set_name", task: "t1", name: o.name }, log(`rn${k++}:${o.name}`));
        else if (o.kind === "inspect") main.push(inspect("t1"));
        else main.push(sleep(o.ticks));
      }
      main.push(sleep(5), inspect("t1"));
      const child: Step[] = [];
      for (let j = 0; j < 4; j++) {
        if (selfRename !== null && selfRename[1] === j) {
          child.push({ op: "set_name", task: "t1", name: selfRename[0] }, log(`rn${k++}:${selfRename[0]}`));
        }
        child.push({ op: "current_task" }, sleep(1));
      }
      return scenarioOf([["main", main], ["c1", child]]);
    });
}

const setName = clause({
  id: "tasks.set_name",
  statement: "set_name(S) renames the task at once: from then on get_name() returns S, inside the task as well as outside.",
  source: { url: DOCS.tasks + "#asyncio.Task.set_name", section: "Task Object" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["create_task", "current_task", "inspect", "log", "set_name", "sleep"],
  brokenBy: ["mutant:set-name-ignored"],
  evidence: [mainRanToItsEnd, everyStep("inspect"), everyStep("current_task")],
  scenarios: () => renameArb(),
  check({ trace }) {
    let current: string | null = null;
    for (const [i, e] of trace.events.entries()) {
      if (is(e, "create_task") && e.ref === "t1") current = e.name;
      else if (is(e, "log") && /^rn[0-9]+:/.test(e.label)) current = e.label.slice(e.label.indexOf(":") + 1);
      else if (is(e, "inspect") && e.ref === "t1" && e.name !== current) {
        return `after set_name(${show(current)}), get_name() is ${show(e.name)} (event ${i})`;
      } else if (is(e, "current_task") && e.name !== current) {
        return `after set_name(${show(current)}), current_task() inside the task is named ${show(e.name)} (event ${i})`;
      }
    }
    return true;
  },
});

// ================================================================ Introspection

/**
 * Children c1..cN (N = 1..3), each either spawned by main (named or not) or
 * awaited inline (a call step, or an await of the coroutine). Every
 * coroutine records `log "ct:X"` and current_task() at its start and after
 * a sleep.
 */
function currentTaskArb(): fc.Arbitrary<Scenario> {
  const child = fc.record({
    mode: fc.constantFrom("spawn", "spawn-named", "call", "await"),
    ticks: fc.nat(1),
  });
  return fc
    .record({ children: fc.array(child, { minLength: 1, maxLength: 3 }), forcedSpawn: fc.nat(2) })
    .map(({ children, forcedSpawn }) => {
      const k0 = forcedSpawn % children.length;
      if (!children[k0].mode.startsWith("spawn")) children[k0] = { ...children[k0], mode: "spawn" };
      const probe = (x: string): Step[] => [log(`ct:${x}`), { op: "current_task" }];
      const main: Step[] = [...probe("main")];
      const coros: Array<[string, Step[]]> = [];
      children.forEach((c, k) => {
        const name = `c${k + 1}`;
        if (c.mode === "spawn") main.push(spawn(name, `t${k + 1}`));
        else if (c.mode === "spawn-named") main.push(spawn(name, `t${k + 1}`, `w${k + 1}`));
        else if (c.mode === "call") main.push({ op: "call", coro: name });
        else main.push({ op: "await", on: { coro: name } });
        coros.push([name, [...probe(name), sleep(c.ticks), ...probe(name)]]);
      });
      main.push(sleep(0), ...probe("main"), sleep(3), ...probe("main"));
      return scenarioOf([["main", main], ...coros]);
    });
}

const currentTaskInTask = clause({
  id: "tasks.current_task",
  statement:
    "current_task() called from a coroutine returns the task running it: the task it was spawned as, or, for a coroutine awaited inline, the awaiting task.",
  source: { url: DOCS.tasks + "#asyncio.current_task", section: "Introspection" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["await", "call", "coro", "create_task", "current_task", "log", "sleep"],
  brokenBy: ["mutant:current-task-is-creator"],
  evidence: [mainRanToItsEnd, everyStep("current_task")],
  scenarios: () => currentTaskArb(),
  check({ scenario, trace }) {
    const ev = trace.events;
    const mainName = trace.tasks[0]?.name ?? null;
    const spawned = new Map(createSteps(scenario).map((s) => [s.coro, s.task]));
    for (let i = 1; i < ev.length; i++) {
      const e = ev[i];
      const before = ev[i - 1];
      if (!is(e, "current_task") || !is(before, "log") || !before.label.startsWith("ct:")) continue;
      const coro = before.label.slice(3);
      const ref = spawned.get(coro);
      const want = ref === undefined ? mainName : createdName(ev, ref);
      if (e.name !== want) {
        return `current_task() in ${coro} (${ref === undefined ? "run by main" : `task ${ref}`}) is ${show(e.name)}, not ${show(want)}`;
      }
    }
    return true;
  },
});

/**
 * Callbacks cb0..cb2, each recording current_task() first, scheduled by
 * main (add_done_callback on a child task or a future, call_soon,
 * call_later) and by the child (call_soon).
 */
function callbackArb(): fc.Arbitrary<Scenario> {
  const how = fc.constantFrom("done", "soon", "later", "future", "child-soon");
  return fc
    .record({ hows: fc.array(how, { minLength: 1, maxLength: 3 }), ticks: fc.nat(1), delay: fc.nat(2) })
    .map(({ hows, ticks, delay }) => {
      const main: Step[] = [spawn("c1", "t1"), { op: "create_future", future: "f1" }];
      const child: Step[] = [];
      const callbacks: Array<[string, Step[]]> = [];
      let resolve = false;
      hows.forEach((h, k) => {
        const cb = `cb${k}`;
        callbacks.push([cb, [{ op: "current_task" }, log(`${cb}:ran`)]]);
        if (h === "done") main.push({ op: "add_done_callback", task: "t1", callback: cb });
        else if (h === "soon") main.push({ op: "call_soon", callback: cb });
        else if (h === "later") main.push({ op: "call_later", delay, callback: cb });
        else if (h === "future") {
          main.push({ op: "add_done_callback", task: "f1", callback: cb });
          resolve = true;
        } else child.push({ op: "call_soon", callback: cb });
      });
      main.push(sleep(0), { op: "current_task" });
      if (resolve) main.push({ op: "set_result", future: "f1", value: 1 });
      main.push(sleep(4));
      child.push(sleep(ticks), { op: "current_task" });
      return scenarioOf([["main", main], ["c1", child]], { callbacks });
    });
}

const currentTaskInCallback = clause({
  id: "tasks.current_task_none_in_callbacks",
  statement: "current_task() returns None when no task is running, as in a callback the loop runs (call_soon, call_later, done callbacks).",
  source: { url: DOCS.tasks + "#asyncio.current_task", section: "Introspection" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["add_done_callback", "call_later", "call_soon", "create_future", "create_task", "current_task", "log", "set_result", "sleep"],
  brokenBy: ["mutant:current-task-stale"],
  evidence: [mainRanToItsEnd],
  scenarios: () => callbackArb(),
  check({ trace }) {
    const ev = trace.events;
    let ran = 0;
    for (let i = 0; i + 1 < ev.length; i++) {
      const e = ev[i];
      const next = ev[i + 1];
      if (!is(e, "callback")) continue;
      ran++;
      if (!is(next, "current_task")) return `callback ${e.callback} did not record current_task() first (event ${i + 1})`;
      if (next.name !== null) return `current_task() in callback ${e.callback} is ${show(next.name)}, not None`;
    }
    return ran > 0 || "no callback ran";
  },
});

const ALL_TASKS_TREE: SpawnTreeOptions = {
  fillers: ["all_tasks", "log", "inspect"],
  endings: ["return", "raise"],
  initial: [{ op: "all_tasks" }],
  final: [{ op: "all_tasks" }],
};

const allTasks = clause({
  id: "tasks.all_tasks",
  statement:
    "all_tasks() returns exactly the loop's tasks that are not done: every task created and not finished, including those that have not started yet and the caller itself.",
  source: { url: DOCS.tasks + "#asyncio.all_tasks", section: "Introspection" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: spawnTreeNeeds(ALL_TASKS_TREE),
  brokenBy: ["mutant:all-tasks-keeps-done"],
  evidence: [mainRanToItsEnd, tasksCreated(), everyStep("all_tasks")],
  scenarios: () => spawnTreeArb(ALL_TASKS_TREE),
  check({ trace }) {
    const ev = beforeShutdown(trace);
    const alive = new Set<string>();
    const main = trace.tasks[0]?.name;
    if (main !== undefined) alive.add(main);
    for (const [i, e] of ev.entries()) {
      if (is(e, "create_task")) alive.add(e.name);
      else if (is(e, "exit") && e.task !== null) alive.delete(e.task);
      else if (is(e, "all_tasks")) {
        const want = [...alive].sort();
        const got = [...e.names].sort();
        if (show(want) !== show(got)) return `all_tasks() at event ${i} is ${show(e.names)}; the unfinished tasks are ${show(want)}`;
      }
    }
    return true;
  },
});

// ================================================================ Task Object: result() and exception()

const RESULT_NOT_DONE: LifecycleOptions = { ops: ["probe", "sleep", "cancelInspect"], must: ["probe"], probeFirst: true };

const resultNotDone = clause({
  id: "tasks.result_not_done",
  statement: "result() and exception() of a task that is not done raise InvalidStateError, from outside the task as well as from inside.",
  source: { url: DOCS.tasks + "#asyncio.Task.result", section: "Task Object" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: lifecycleNeeds(RESULT_NOT_DONE),
  brokenBy: ["mutant:task-result-before-done"],
  evidence: [mainRanToItsEnd],
  scenarios: () => lifecycleArb(RESULT_NOT_DONE),
  check({ trace }) {
    let checked = 0;
    for (const { i, a, b } of [...pairs(trace.events, "inspect", "result"), ...pairs(trace.events, "inspect", "exception")]) {
      if (a.done) continue;
      checked++;
      if (excType(b) !== "InvalidStateError") {
        return `${b.ev}() of the pending task ${a.ref} gave ${b.exc ? show(b.exc) : `the value ${show(b.value)}`}, not InvalidStateError (event ${i + 1})`;
      }
    }
    return checked > 0 || "no task was probed while pending";
  },
});

const RESULT_DONE: LifecycleOptions = {
  ops: ["probe", "sleep"],
  must: ["probe"],
  templates: ["sleeper", "raiser", "instant", "selfprobe", "raiser"],
  finalProbes: true,
};

const resultDone = clause({
  id: "tasks.result_done",
  statement:
    "Once a task's coroutine returned a value, result() returns it and exception() returns None; once it raised an exception, result() raises it and exception() returns it.",
  source: { url: DOCS.tasks + "#asyncio.Task.result", section: "Task Object" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: lifecycleNeeds(RESULT_DONE),
  brokenBy: ["mutant:task-result-hides-exception"],
  evidence: [mainRanToItsEnd],
  scenarios: () => lifecycleArb(RESULT_DONE),
  check({ scenario, trace }) {
    const ev = trace.events;
    let checked = 0;
    for (const { i, a, b } of [...pairs(ev, "inspect", "result"), ...pairs(ev, "inspect", "exception")]) {
      if (!a.done || a.cancelled) continue;
      const coro = coroOf(scenario, a.ref);
      const x = coro === null ? -1 : exitIndex(ev, coro);
      if (x === -1 || x > i) return `${a.ref} is done (event ${i}) but its coroutine has not ended`;
      const end = ev[x] as Ev<"exit">;
      checked++;
      let want: { value?: unknown; exc?: unknown };
      if (b.ev === "result") want = end.exc !== undefined ? { exc: end.exc } : { value: end.value };
      else want = { value: end.exc !== undefined ? { exc: end.exc } : null };
      const got = b.exc !== undefined ? { exc: b.exc } : { value: b.value };
      if (show(got) !== show(want)) {
        return `${b.ev}() of ${a.ref}, whose coroutine ended with ${show(end.exc ?? end.value)}, gave ${show(got)} (event ${i + 1})`;
      }
    }
    return checked > 0 || "no finished task was probed";
  },
});

const RESULT_CANCELLED: LifecycleOptions = {
  ops: ["probe", "sleep", "cancelInspect"],
  must: ["probe"],
  templates: ["sleeper", "raiser", "cancelraise", "selfcancel"],
  cancelFirst: true,
  finalProbes: true,
};

const resultCancelled = clause({
  id: "tasks.result_cancelled",
  statement: "result() and exception() of a cancelled task raise CancelledError.",
  source: { url: DOCS.tasks + "#asyncio.Task.result", section: "Task Object" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: lifecycleNeeds(RESULT_CANCELLED),
  brokenBy: ["mutant:cancelled-exception-returned"],
  evidence: [mainRanToItsEnd],
  scenarios: () => lifecycleArb(RESULT_CANCELLED),
  check({ trace }) {
    let checked = 0;
    for (const { i, a, b } of [...pairs(trace.events, "inspect", "result"), ...pairs(trace.events, "inspect", "exception")]) {
      if (!a.cancelled) continue;
      checked++;
      if (excType(b) !== "CancelledError") {
        return `${b.ev}() of the cancelled task ${a.ref} gave ${b.exc ? show(b.exc) : `the value ${show(b.value)}`}, not CancelledError (event ${i + 1})`;
      }
    }
    return checked > 0 || "no cancelled task was probed";
  },
});

const NOT_A_STATE: LifecycleOptions = { ops: ["cancelInspect", "sleep", "doubleCancel"], must: ["cancelInspect"], cancelFirst: true };

const cancellingNotAState = clause({
  id: "tasks.cancelling_is_not_a_state",
  statement:
    "Cancelling is not a state of its own: right after cancel() returned True the task is neither done nor cancelled (only cancelling() counts the request) until it runs again.",
  source: { url: DOCS.tasks + "#asyncio.Task.cancel", section: "Task Object" },
  versions: SINCE_3_11,
  level: "documented",
  needs: lifecycleNeeds(NOT_A_STATE),
  brokenBy: ["mutant:cancel-marks-cancelled"],
  evidence: [mainRanToItsEnd],
  scenarios: () => lifecycleArb(NOT_A_STATE),
  check({ trace }) {
    let checked = 0;
    for (const { i, a, b } of pairs(trace.events, "cancel", "inspect")) {
      if (!a.returned) continue;
      checked++;
      if (b.done || b.cancelled || (b.cancelling ?? 0) < 1) {
        return `right after cancel() returned True, ${a.ref} has done=${b.done} cancelled=${b.cancelled} cancelling=${b.cancelling} (event ${i + 1})`;
      }
    }
    return checked > 0 || "no accepted cancel was followed by an inspect";
  },
});

// ================================================================ a cancel request passed on to the awaited task

/**
 * t2 (c2) sleeps inside a try that catches CancelledError and then either
 * returns a value (swallowing the cancellation) or re-raises it. t1 (c1),
 * started after t2 is asleep, cancels itself (cancel("$current"), maybe with
 * a message) and, in the same step, awaits t2, maybe inside a try of its
 * own. main awaits t1 and inspects both.
 */
function passedOnArb(): fc.Arbitrary<Scenario> {
  return fc
    .record({
      n: fc.integer({ min: 1, max: 3 }),
      swallow: fc.boolean(),
      guard: fc.boolean(),
      msg: msgArb,
      v1: fc.constantFrom(...VALUE_POOL),
      v2: fc.constantFrom(...VALUE_POOL),
    })
    .map(({ n, swallow, guard, msg, v1, v2 }) => {
      const c2: Step[] = [log("c2:start"), catchCancelled([sleep(n)], [log("c2:handled")], !swallow), ret(v2)];
      const wait: Step = { op: "await", on: { task: "t2" } };
      const c1: Step[] = [log("c1:start"), cancel("$current", msg), guard ? catchCancelled([wait], [log("c1:handled")]) : wait, log("c1:after"), ret(v1)];
      const main: Step[] = [spawn("c2", "t2", "c2"), sleep(0), spawn("c1", "t1", "c1"), catchCancelled([{ op: "await", on: { task: "t1" } }]), inspect("t1"), inspect("t2")];
      return scenarioOf([["main", main], ["c1", c1], ["c2", c2]]);
    });
}

const cancelPassedOn = clause({
  id: "tasks.cancel_passed_to_awaited",
  statement:
    "A cancel request a task makes of itself while it runs is passed on to the future it next awaits, and spent there: if that future is a task whose coroutine catches the CancelledError and returns, the awaiting task gets that value and carries on, with no second CancelledError; if the awaited task lets it propagate, the awaiting task gets CancelledError.",
  source: { url: DOCS.tasks + "#asyncio.Task.cancel", section: "Task Cancellation" },
  versions: ALL_VERSIONS,
  level: "exact",
  note: "CPython Lib/asyncio/tasks.py __step_run_and_handle_result: a yielded future is cancelled at once when _must_cancel is set, and _must_cancel is cleared when that cancel() returns True; checked on CPython 3.11-3.13 and 3.14.2 (Pyodide)",
  needs: ["await", "cancel", "cancel:msg", "create_task", "inspect", "log", "return", "sleep", "task", "try"],
  brokenBy: ["mutant:cancel-spent-twice"],
  evidence: [mainRanToItsEnd],
  scenarios: () => passedOnArb(),
  check({ scenario, trace }) {
    const c1 = scenario.coroutines[1].body;
    const c2 = scenario.coroutines[2].body;
    const swallow = !(c2[1] as { except: Array<{ reraise?: boolean }> }).except[0].reraise;
    const guard = c1[2].op === "try";
    const v1 = (c1[c1.length - 1] as { value?: Scalar }).value ?? null;
    const v2 = (c2[c2.length - 1] as { value?: Scalar }).value ?? null;
    const ev = beforeShutdown(trace);
    if (!ev.some((e) => is(e, "log") && e.label === "c2:handled")) return "the cancel request never reached t2, which t1 was awaiting";
    const awaited = ev.find((e) => is(e, "awaited") && e.task === "c1" && e.on === "t2");
    if (!is(awaited, "awaited")) return "c1's await of t2 never ended";
    if (swallow) {
      if (awaited.exc !== undefined || show(awaited.value) !== show(v2)) {
        return `t2 swallowed the cancellation and returned ${show(v2)}, yet c1's await of it gave ${show(awaited.exc ?? awaited.value)}`;
      }
      const again = ev.findIndex((e) => e.task === "c1" && (is(e, "caught") || is(e, "exit")) && e.exc?.type === "CancelledError");
      if (again !== -1) return `c1 got a CancelledError (event ${again}) after its request was spent on t2`;
    } else if (awaited.exc?.type !== "CancelledError") {
      return `t2 let the CancelledError propagate, yet c1's await of it gave ${show(awaited.exc ?? awaited.value)}`;
    }
    const t1 = trace.tasks.find((t) => t.ref === "t1");
    const wantResult = swallow || guard;
    const got = show(t1?.state === "result" ? ["result", t1.value] : [t1?.state ?? "unlisted"]);
    const want = show(wantResult ? ["result", v1] : ["cancelled"]);
    if (got !== want) return `t1 ended ${got}, expected ${want}`;
    return true;
  },
});

export const CLAUSES: Clause[] = [
  createSoon,
  createOrder,
  createName,
  defaultNames,
  counterShared,
  counterUnnamed,
  setName,
  currentTaskInTask,
  currentTaskInCallback,
  allTasks,
  resultNotDone,
  resultDone,
  resultCancelled,
  cancellingNotAState,
  cancelPassedOn,
];
