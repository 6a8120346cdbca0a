/**
 * Clauses: the event loop's ordering, which the task documentation relies
 * on ("Event Loop" page: Scheduling callbacks, Scheduling delayed callbacks,
 * Callback Handles).
 *
 *   call_soon        FIFO, each callback once, at the next iteration
 *   call_later(0)    due timers join the ready queue after what call_soon queued
 *   call_later/at    deadline order, never early; exact time on the virtual clock
 *   equal deadlines  any order (documented); CPython's heap order (exact),
 *                    including the heap rebuild when most timers are cancelled
 *   Handle.cancel    a cancelled callback never runs
 *   clock resolution every timer due at a tick becomes ready in one iteration
 *
 * The scenarios are small and dedicated: main registers callbacks (and
 * callbacks register others, each callback registered exactly once), and a
 * log step right after each registration records where it happened in the
 * trace (`reg:NAME...`), so the properties read the registration order and
 * time off the trace itself. Main ends with a sleep long enough for
 * everything to run.
 *
 * This file also exports the small helpers the other clause files of this
 * group (coroutines, callbacks, futures) share.
 */
import fc from "fast-check";
import type { CallbackDef, CoroutineDef, Scenario, Step } from "../scenario/types";
import type { Trace, TraceEvent } from "../scenario/trace";
import { canonicalJson } from "../scenario/trace";
import { ALL_VERSIONS, Clause, DOCS, built, clause } from "./clause";
import { callbacksRan, finished, mainRanToItsEnd } from "./evidence";

// ---------------------------------------------------------------- shared helpers

/** A scenario from main's body, callbacks and other coroutines. */
export function build(main: Step[], callbacks: CallbackDef[] = [], coroutines: CoroutineDef[] = [], description?: string): Scenario {
  const s: Scenario = { aiospec: 1, coroutines: [{ name: "main", body: main }, ...coroutines] };
  if (description !== undefined) s.description = description;
  if (callbacks.length > 0) s.callbacks = callbacks;
  return built(s);
}

export const log = (label: string): Step => ({ op: "log", label });
export const sleep = (ticks: number): Step => ({ op: "sleep", ticks });

/** An event with its index in the trace. */
export type Indexed<E extends TraceEvent["ev"] = TraceEvent["ev"]> = Extract<TraceEvent, { ev: E }> & { i: number };

export function eventsOf<E extends TraceEvent["ev"]>(trace: Trace, ev: E): Array<Indexed<E>> {
  const out: Array<Indexed<E>> = [];
  trace.events.forEach((e, i) => {
    if (e.ev === ev) out.push({ ...(e as Extract<TraceEvent, { ev: E }>), i });
  });
  return out;
}

/** The callback events, in order. */
export function callbackRuns(trace: Trace): Array<Indexed<"callback">> {
  return eventsOf(trace, "callback");
}

/** Log events by label (labels are unique in these scenarios). */
export function logsByLabel(trace: Trace): Map<string, Indexed<"log">> {
  const m = new Map<string, Indexed<"log">>();
  for (const e of eventsOf(trace, "log")) if (!m.has(e.label)) m.set(e.label, e);
  return m;
}

export const same = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);
export const show = (x: unknown): string => canonicalJson(x);

/** Where a trace event is, for messages: "event 7 (t=3)". */
export const at = (e: { i: number; time: number }): string => `event ${e.i} (t=${e.time})`;

/**
 * A forest of callbacks, each registered exactly once, by main (in one of
 * its segments) or by a callback with a lower index: the raw form is one
 * record per callback; shrinking removes callbacks and moves registrations
 * to main.
 */
interface TreeNode<K> {
  parent: number;
  seg: number;
  kind: K;
}

interface Placed<K> {
  index: number;
  kind: K;
  /** -1: main; else the registering callback's index. */
  parent: number;
  seg: number;
}

function place<K>(nodes: Array<TreeNode<K>>, segments: number): Array<Placed<K>> {
  return nodes.map((n, j) => {
    const p = n.parent % (j + 1);
    return { index: j, kind: n.kind, parent: p === 0 ? -1 : p - 1, seg: n.seg % Math.max(1, segments) };
  });
}

// ---------------------------------------------------------------- Python's heapq, as a model

/** A timer as the model sees it: a deadline; equal deadlines are ordered by nothing but the heap. */
interface ModelTimer {
  key: number;
  name: string | null; // null: a sleep's own timer
  cancelled: boolean;
  scheduled: boolean;
}

function siftdown(heap: ModelTimer[], start: number, pos: number): void {
  const item = heap[pos];
  while (pos > start) {
    const parentpos = (pos - 1) >> 1;
    const parent = heap[parentpos];
    if (item.key < parent.key) {
      heap[pos] = parent;
      pos = parentpos;
      continue;
    }
    break;
  }
  heap[pos] = item;
}

function siftup(heap: ModelTimer[], pos: number): void {
  const end = heap.length;
  const start = pos;
  const item = heap[pos];
  let child = 2 * pos + 1;
  while (child < end) {
    const right = child + 1;
    if (right < end && !(heap[child].key < heap[right].key)) child = right;
    heap[pos] = heap[child];
    pos = child;
    child = 2 * pos + 1;
  }
  heap[pos] = item;
  siftdown(heap, start, pos);
}

function heappush(heap: ModelTimer[], t: ModelTimer): void {
  heap.push(t);
  siftdown(heap, 0, heap.length - 1);
}

function heappop(heap: ModelTimer[]): ModelTimer {
  const last = heap.pop()!;
  if (heap.length === 0) return last;
  const top = heap[0];
  heap[0] = last;
  siftup(heap, 0);
  return top;
}

function heapify(heap: ModelTimer[]): void {
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftup(heap, i);
}

/**
 * What CPython's BaseEventLoop does with main's timers, when main only
 * registers timers (call_later / call_at, each with its own callback and
 * handle), cancels their handles and sleeps (at least one tick at a time),
 * and the callbacks do nothing: the callbacks run in the order the heap
 * pops them. Each iteration starts by rebuilding the heap without its
 * cancelled timers when more than 100 are scheduled and more than half of
 * those are cancelled, else by popping cancelled timers off its head; then
 * the clock jumps to the first deadline and every timer due then is popped.
 * The count of cancelled timers goes down only when the head is dropped
 * (a cancelled timer popped as due still counts), as in CPython.
 */
export function modelTimerRuns(main: Step[]): Array<{ name: string; time: number }> {
  let heap: ModelTimer[] = [];
  let now = 0;
  let cancelledCount = 0;
  const handles = new Map<string, ModelTimer>();
  const runs: Array<{ name: string; time: number }> = [];
  const iterationStart = () => {
    const n = heap.length;
    if (n > 100 && cancelledCount / n > 0.5) {
      const kept: ModelTimer[] = [];
      for (const t of heap) {
        if (t.cancelled) t.scheduled = false;
        else kept.push(t);
      }
      heapify(kept);
      heap = kept;
      cancelledCount = 0;
    } else {
      while (heap.length > 0 && heap[0].cancelled) {
        cancelledCount--;
        heappop(heap).scheduled = false;
      }
    }
  };
  for (const s of main) {
    if (s.op === "call_later" || s.op === "call_at") {
      const t: ModelTimer = { key: s.op === "call_later" ? now + s.delay : s.when, name: s.callback, cancelled: false, scheduled: true };
      heappush(heap, t);
      if (s.handle !== undefined) handles.set(s.handle, t);
    } else if (s.op === "cancel_handle") {
      const t = handles.get(s.handle);
      if (t !== undefined && !t.cancelled) {
        if (t.scheduled) cancelledCount++;
        t.cancelled = true;
      }
    } else if (s.op === "sleep") {
      if (s.ticks < 1) throw new Error("modelTimerRuns: sleeps of at least one tick only");
      const wake: ModelTimer = { key: now + s.ticks, name: null, cancelled: false, scheduled: true };
      heappush(heap, wake);
      let woken = false;
      for (;;) {
        iterationStart();
        if (woken) break; // main's wake-up runs in this iteration
        now = Math.max(now, heap[0].key);
        while (heap.length > 0 && heap[0].key <= now) {
          const t = heappop(heap);
          t.scheduled = false;
          if (t === wake) woken = true;
          else if (!t.cancelled) runs.push({ name: t.name!, time: now });
        }
      }
    }
  }
  return runs;
}

// ---------------------------------------------------------------- call_soon

const soonFifo = clause({
  id: "loop.call_soon.fifo",
  statement:
    "Callbacks scheduled with loop.call_soon run in the order they were registered, whoever registered them, each exactly once.",
  source: { url: DOCS.loop + "#asyncio.loop.call_soon", section: "Scheduling callbacks" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["call_soon", "log", "sleep"],
  brokenBy: ["mutant:lifo-ready"],
  evidence: [callbacksRan()],
  scenarios: () =>
    fc
      .record({
        nodes: fc.array(fc.record({ parent: fc.nat(), seg: fc.nat(), kind: fc.constant(null) }), { minLength: 2, maxLength: 8 }),
        segments: fc.integer({ min: 1, max: 3 }),
      })
      .map(({ nodes, segments }) => {
        const placed = place(nodes, segments);
        const reg = (j: number): Step[] => [{ op: "call_soon", callback: `s${j}` }, log(`soon:s${j}`)];
        const main: Step[] = [];
        for (let seg = 0; seg < segments; seg++) {
          if (seg > 0) main.push(sleep(0));
          for (const p of placed) if (p.parent === -1 && p.seg === seg) main.push(...reg(p.index));
        }
        main.push(sleep(1));
        const callbacks = placed.map((p) => ({
          name: `s${p.index}`,
          body: placed.filter((c) => c.parent === p.index).flatMap((c) => reg(c.index)),
        }));
        return build(main, callbacks);
      }),
  check({ trace }) {
    const registered = eventsOf(trace, "log").filter((e) => e.label.startsWith("soon:")).map((e) => e.label.slice(5));
    const ran = callbackRuns(trace).map((e) => e.callback);
    if (same(registered, ran)) return true;
    return `callbacks were registered in the order ${registered.join(", ")} but ran as ${ran.join(", ") || "(none)"}`;
  },
});

// ---------------------------------------------------------------- call_later(0) against call_soon

type SoonKind = { kind: "soon" } | { kind: "later0" } | { kind: "past"; back: number };

const laterZero = clause({
  id: "loop.call_later.zero_after_soon",
  statement:
    "A timer already due when it is registered (call_later(0), or call_at a time not after now) runs at the next iteration, " +
    "after every callback call_soon queued before that iteration began and before what those callbacks queue in turn.",
  source: { url: DOCS.loop + "#asyncio.loop.call_later", section: "Scheduling delayed callbacks" },
  versions: ALL_VERSIONS,
  level: "exact",
  needs: ["call_at", "call_later", "call_soon", "log", "sleep"],
  brokenBy: ["mutant:later0-is-soon", "mutant:soon-same-iteration", "mutant:lifo-ready"],
  evidence: [callbacksRan()],
  scenarios: () =>
    fc
      .record({
        nodes: fc.array(
          fc.record({
            parent: fc.nat(),
            seg: fc.nat(),
            kind: fc.oneof(
              fc.constant<SoonKind>({ kind: "soon" }),
              fc.constant<SoonKind>({ kind: "later0" }),
              fc.nat(3).map((back): SoonKind => ({ kind: "past", back })),
            ),
          }),
          { minLength: 2, maxLength: 9 },
        ),
        segments: fc.integer({ min: 1, max: 3 }),
        start: fc.nat(3),
      })
      .map(({ nodes, segments, start }) => {
        const placed = place(nodes, segments);
        const reg = (p: Placed<SoonKind>): Step[] => {
          const callback = `c${p.index}`;
          const k = p.kind;
          const step: Step =
            k.kind === "soon"
              ? { op: "call_soon", callback }
              : k.kind === "later0"
                ? { op: "call_later", delay: 0, callback }
                : { op: "call_at", when: Math.max(0, start - k.back), callback };
          return [step, log(`reg:${callback}`)];
        };
        const main: Step[] = start > 0 ? [sleep(start)] : [];
        for (let seg = 0; seg < segments; seg++) {
          if (seg > 0) main.push(sleep(0));
          for (const p of placed) if (p.parent === -1 && p.seg === seg) main.push(...reg(p));
        }
        main.push(sleep(1));
        const callbacks = placed.map((p) => ({ name: `c${p.index}`, body: placed.filter((c) => c.parent === p.index).flatMap(reg) }));
        return build(main, callbacks);
      }),
  check({ scenario, trace }) {
    // Iteration by iteration: first what call_soon queued during the
    // previous iteration (main's continuation after a sleep(0) included), in
    // order; then the timers that were due, in any order among themselves
    // (loop.call_at.equal_deadlines states which).
    type Item = { soon: boolean; name: string } | { main: number };
    const children = new Map<string, Item[]>();
    const regsOf = (steps: Step[]): Item[] =>
      steps.flatMap((s): Item[] =>
        s.op === "call_soon" ? [{ soon: true, name: s.callback }] : s.op === "call_later" || s.op === "call_at" ? [{ soon: false, name: s.callback }] : [],
      );
    for (const c of scenario.callbacks ?? []) children.set(c.name, regsOf(c.body));
    const mainBody = scenario.coroutines[0].body;
    const segs: Step[][] = [[]];
    for (const s of mainBody) {
      if (s.op === "sleep" && s.ticks === 0) segs.push([]);
      else if (s.op !== "sleep") segs[segs.length - 1].push(s);
    }
    const mainChildren = (k: number): Item[] => [...regsOf(segs[k]), ...(k + 1 < segs.length ? [{ main: k + 1 }] : [])];
    const ran = callbackRuns(trace);
    let pos = 0;
    let soon: Item[] = [];
    let timers: Item[] = [];
    const enqueue = (items: Item[]) => {
      for (const it of items) ("main" in it || it.soon ? soon : timers).push(it);
    };
    enqueue(mainChildren(0));
    for (let iteration = 1; soon.length > 0 || timers.length > 0; iteration++) {
      const [nowSoon, nowTimers] = [soon, timers];
      soon = [];
      timers = [];
      for (const it of nowSoon) {
        if ("main" in it) {
          enqueue(mainChildren(it.main));
          continue;
        }
        const e = ran[pos];
        if (e === undefined || e.callback !== it.name) {
          return `${it.name} (call_soon) should run next, iteration ${iteration} after main's registrations, but ${e ? `${e.callback} ran at ${at(e)}` : "nothing more ran"}`;
        }
        pos++;
        enqueue(children.get(it.name) ?? []);
      }
      const due = new Set(nowTimers.map((t) => ("main" in t ? "" : t.name)));
      for (let k = 0; k < nowTimers.length; k++) {
        const e = ran[pos];
        if (e === undefined || !due.has(e.callback)) {
          const want = [...due].join(" or ");
          return `a due timer (${want}) should run next, after the call_soon callbacks queued before its iteration, but ${e ? `${e.callback} ran at ${at(e)}` : "nothing more ran"}`;
        }
        due.delete(e.callback);
        pos++;
        enqueue(children.get(e.callback) ?? []);
      }
    }
    if (pos !== ran.length) return `${ran[pos].callback} ran at ${at(ran[pos])}, more often than it was registered`;
    return true;
  },
});

// ---------------------------------------------------------------- call_later / call_at: deadlines

type TimerKind = { kind: "later"; delay: number } | { kind: "at"; when: number };

interface TimerReg {
  name: string;
  /** The registration's log event. */
  reg: Indexed<"log">;
  deadline: number;
  /** When it can run at the earliest: its deadline, or its registration time if that is later. */
  due: number;
}

/** Registrations logged as reg:NAME:later:D or reg:NAME:at:W. */
function timerRegs(trace: Trace): TimerReg[] {
  const out: TimerReg[] = [];
  for (const e of eventsOf(trace, "log")) {
    const m = /^reg:([A-Za-z0-9_]+):(later|at):(\d+)$/.exec(e.label);
    if (!m) continue;
    const deadline = m[2] === "later" ? e.time + Number(m[3]) : Number(m[3]);
    out.push({ name: m[1], reg: e, deadline, due: Math.max(deadline, e.time) });
  }
  return out;
}

function timerStep(kind: TimerKind, callback: string, handle?: string): Step[] {
  const h = handle === undefined ? {} : { handle };
  const step: Step =
    kind.kind === "later" ? { op: "call_later", delay: kind.delay, callback, ...h } : { op: "call_at", when: kind.when, callback, ...h };
  return [step, log(`reg:${callback}:${kind.kind}:${kind.kind === "later" ? kind.delay : kind.when}`)];
}

const timerKindArb = (maxDelay: number, maxWhen: number): fc.Arbitrary<TimerKind> =>
  fc.oneof(
    fc.nat(maxDelay).map((delay): TimerKind => ({ kind: "later", delay })),
    fc.nat(maxWhen).map((when): TimerKind => ({ kind: "at", when })),
  );

/** Timers registered by main (in segments separated by sleeps) and by the timers' own callbacks. */
const timerTreeArb = (opts: { far: boolean }) =>
  fc
    .record({
      nodes: fc.array(fc.record({ parent: fc.nat(), seg: fc.nat(), kind: timerKindArb(6, 10) }), { minLength: 2, maxLength: 8 }),
      sleeps: fc.array(fc.nat(3), { minLength: 0, maxLength: 2 }),
      far: opts.far ? fc.option(fc.integer({ min: 90_000, max: 200_000 }), { nil: undefined, freq: 3 }) : fc.constant(undefined),
    })
    .map(({ nodes, sleeps, far }) => {
      const placed = place(nodes, sleeps.length + 1);
      const main: Step[] = [];
      for (let seg = 0; seg <= sleeps.length; seg++) {
        if (seg > 0) main.push(sleep(sleeps[seg - 1]));
        for (const p of placed) if (p.parent === -1 && p.seg === seg) main.push(...timerStep(p.kind, `t${p.index}`));
      }
      if (far !== undefined) main.push(...timerStep({ kind: "later", delay: far }, "far"));
      main.push(sleep((far ?? 0) + 100));
      const callbacks: CallbackDef[] = placed.map((p) => ({
        name: `t${p.index}`,
        body: placed.filter((c) => c.parent === p.index).flatMap((c) => timerStep(c.kind, `t${c.index}`)),
      }));
      if (far !== undefined) callbacks.push({ name: "far", body: [] });
      return build(main, callbacks);
    });

const deadlineOrder = clause({
  id: "loop.call_later.order",
  statement:
    "A callback scheduled with call_later or call_at runs exactly once, never before its deadline, and after every timer " +
    "with an earlier deadline that was registered before it became due; timers with equal deadlines run in any order.",
  source: { url: DOCS.loop + "#asyncio.loop.call_later", section: "Scheduling delayed callbacks" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["call_at", "call_later", "log", "sleep"],
  brokenBy: ["mutant:call-at-relative"],
  evidence: [callbacksRan()],
  scenarios: () => timerTreeArb({ far: false }),
  check({ trace }) {
    const regs = timerRegs(trace);
    const runs = callbackRuns(trace);
    const runOf = new Map<string, Indexed<"callback">>();
    for (const r of regs) {
      const mine = runs.filter((e) => e.callback === r.name);
      if (mine.length !== 1) return `${r.name}, registered at ${at(r.reg)}, ran ${mine.length} times`;
      if (mine[0].time < r.deadline) return `${r.name} ran at t=${mine[0].time}, before its deadline t=${r.deadline}`;
      runOf.set(r.name, mine[0]);
    }
    for (const a of regs) {
      for (const b of regs) {
        const ra = runOf.get(a.name)!;
        const rb = runOf.get(b.name)!;
        if (a.deadline < b.deadline && a.reg.time < b.due && rb.i < ra.i) {
          return `${b.name} (deadline t=${b.deadline}) ran at ${at(rb)} before ${a.name} (deadline t=${a.deadline}, registered at ${at(a.reg)}), which ran at ${at(ra)}`;
        }
      }
    }
    return true;
  },
});

const deadlineTime = clause({
  id: "loop.call_later.time",
  statement:
    "On the virtual clock a timer runs exactly at its deadline, or at once (the next iteration) if its deadline had passed " +
    "when it was registered: the loop's clock jumps straight to the next deadline, however far (beyond the one-day cap of a single wait).",
  source: { url: DOCS.loop + "#asyncio.loop.call_at", section: "Scheduling delayed callbacks" },
  versions: ALL_VERSIONS,
  level: "exact",
  needs: ["call_at", "call_later", "log", "sleep"],
  brokenBy: ["mutant:timers-late", "mutant:call-at-relative"],
  evidence: [callbacksRan()],
  virtualTimeOnly: "its scenarios wait up to 200 100 ticks (100 minutes at 30 ms a tick), and it states exact deadlines, which only a virtual clock keeps",
  scenarios: () => timerTreeArb({ far: true }),
  check({ trace }) {
    const runs = callbackRuns(trace);
    for (const r of timerRegs(trace)) {
      const mine = runs.filter((e) => e.callback === r.name);
      if (mine.length !== 1) return `${r.name}, registered at ${at(r.reg)}, ran ${mine.length} times`;
      if (mine[0].time !== r.due) {
        return `${r.name} (registered at ${at(r.reg)}, deadline t=${r.deadline}) ran at t=${mine[0].time}, not t=${r.due}`;
      }
    }
    return true;
  },
});

// ---------------------------------------------------------------- equal deadlines: the heap

/**
 * Main's body for the heap clauses: segments of registrations (small
 * deadlines, so many are equal) and cancellations of earlier handles, each
 * segment followed by a sleep of at least one tick.
 */
const heapRegArb = fc.record({
  kind: fc.oneof(
    { weight: 3, arbitrary: fc.nat(2).map((d) => ({ later: d })) },
    { weight: 1, arbitrary: fc.integer({ min: -1, max: 2 }).map((d) => ({ at: d })) },
  ),
  cancel: fc.option(fc.nat(), { nil: undefined, freq: 3 }),
});

const heapSegmentArb = (minLength: number, maxLength: number) =>
  fc.record({ regs: fc.array(heapRegArb, { minLength, maxLength }), sleep: fc.integer({ min: 1, max: 3 }) });

const heapScenarioArb = (opts: { many: boolean }) =>
  fc
    .record({
      first: opts.many ? heapSegmentArb(101, 125) : heapSegmentArb(1, 14),
      rest: fc.array(heapSegmentArb(1, 14), { minLength: 0, maxLength: opts.many ? 1 : 2 }),
      // For the rebuild: which timers of the first segment to cancel (more than half of the heap in the end).
      extraCancels: opts.many ? fc.array(fc.boolean(), { minLength: 125, maxLength: 125 }) : fc.constant([] as boolean[]),
    })
    .map(({ first, rest, extraCancels }) => {
      const main: Step[] = [];
      const callbacks: CallbackDef[] = [];
      let now = 0;
      let n = 0;
      [first, ...rest].forEach((seg, si) => {
        for (const r of seg.regs) {
          const name = `e${n}`;
          const handle = `h${n}`;
          if ("later" in r.kind) main.push({ op: "call_later", delay: r.kind.later, callback: name, handle });
          else main.push({ op: "call_at", when: Math.max(0, now + r.kind.at), callback: name, handle });
          callbacks.push({ name, body: [] });
          n++;
          if (r.cancel !== undefined) main.push({ op: "cancel_handle", handle: `h${r.cancel % n}` });
        }
        if (opts.many && si === 0) {
          // Cancel more than half of what the heap holds when main sleeps (these timers and the sleep's own).
          const cancelled = new Set<number>();
          for (const s of main) if (s.op === "cancel_handle") cancelled.add(Number(s.handle.slice(1)));
          const enough = () => cancelled.size * 2 > n + 1;
          for (const pass of [0, 1]) {
            for (let k = 0; k < n && !enough(); k++) {
              if ((pass === 1 || extraCancels[k]) && !cancelled.has(k)) {
                cancelled.add(k);
                main.push({ op: "cancel_handle", handle: `h${k}` });
              }
            }
          }
        }
        main.push(sleep(seg.sleep));
        now += seg.sleep;
      });
      main.push(sleep(10));
      return build(main, callbacks);
    });

/**
 * The rebuild that comes late: of many timers due at t=1 most are
 * cancelled, but not enough for a rebuild at once; popped as due, they keep
 * counting, so at t=2 the count exceeds half of the timers left (more than
 * 100, due at t=2), and the heap of live timers is rebuilt then.
 */
const staleRebuildArb = fc
  .record({ a: fc.integer({ min: 60, max: 100 }), b: fc.integer({ min: 101, max: 115 }), seed: fc.array(fc.nat(), { minLength: 215, maxLength: 215 }) })
  .chain(({ a, b, seed }) => {
    const lo = Math.floor((b + 1) / 2) + 1;
    const hi = Math.min(a, Math.floor((a + b + 1) / 2));
    return fc.integer({ min: lo, max: hi }).map((c) => ({ a, b, c, seed }));
  })
  .map(({ a, b, c, seed }) => {
    // Deadlines 1 (a of them) and 2 (b), in an order the seed shuffles.
    const kinds = [...Array<number>(a).fill(1), ...Array<number>(b).fill(2)];
    for (let i = kinds.length - 1; i > 0; i--) {
      const j = seed[i] % (i + 1);
      [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
    }
    const main: Step[] = [];
    const callbacks: CallbackDef[] = [];
    const ones: number[] = [];
    kinds.forEach((d, n) => {
      main.push({ op: "call_later", delay: d, callback: `e${n}`, handle: `h${n}` });
      callbacks.push({ name: `e${n}`, body: [] });
      if (d === 1) ones.push(n);
    });
    // Cancel c of the timers due at t=1, in a seeded order.
    for (let i = ones.length - 1; i > 0; i--) {
      const j = seed[(i * 7) % seed.length] % (i + 1);
      [ones[i], ones[j]] = [ones[j], ones[i]];
    }
    for (const n of ones.slice(0, c)) main.push({ op: "cancel_handle", handle: `h${n}` });
    main.push(sleep(3), sleep(1));
    return build(main, callbacks);
  });

/**
 * The rebuild's two thresholds, met exactly or just missed: main registers
 * timers due at t=1 or t=2 (so many deadlines are equal) until the heap,
 * with main's own sleep timer, holds 100, 101 or 102 timers, cancels some of
 * them (in a seeded order), then sleeps. CPython rebuilds only when more than
 * 100 timers are scheduled and more than half of them are counted as
 * cancelled: 100 timers with 51 cancelled, or 102 with 51 (exactly half), are
 * not rebuilt. A cancellation counts once per timer and only while the timer
 * is in the heap: with `again` main cancels one of its timers a second time,
 * and first it may let a few timers run (`ran`) and cancel them afterwards.
 * Cancelling all but one or two of the timers leaves the rebuild a heap of
 * one to three timers to heapify.
 */
const thresholdRebuildArb = fc
  .record({
    // [timers in the heap, of which cancelled]
    at: fc.constantFrom<[number, number]>([100, 51], [100, 99], [101, 50], [101, 51], [102, 51], [102, 52], [101, 100], [102, 100], [102, 99]),
    again: fc.boolean(),
    ran: fc.nat(3),
    delays: fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 101, maxLength: 101 }),
    seed: fc.array(fc.nat(), { minLength: 101, maxLength: 101 }),
  })
  .map(({ at: [total, c], again, ran, delays, seed }) => {
    const main: Step[] = [];
    const callbacks: CallbackDef[] = [];
    // Timers that run at t=1 and are cancelled afterwards: no longer in the heap, they do not count.
    for (let k = 0; k < ran; k++) {
      main.push({ op: "call_later", delay: 1, callback: `r${k}`, handle: `hr${k}` });
      callbacks.push({ name: `r${k}`, body: [] });
    }
    if (ran > 0) main.push(sleep(1), ...Array.from({ length: ran }, (_, k): Step => ({ op: "cancel_handle", handle: `hr${k}` })));
    const n = total - 1; // main's sleep timer makes the total
    const order: number[] = [];
    for (let k = 0; k < n; k++) {
      main.push({ op: "call_later", delay: delays[k], callback: `e${k}`, handle: `h${k}` });
      callbacks.push({ name: `e${k}`, body: [] });
      order.push(k);
    }
    for (let i = order.length - 1; i > 0; i--) {
      const j = seed[i] % (i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const k of order.slice(0, c)) main.push({ op: "cancel_handle", handle: `h${k}` });
    if (again && c > 0) main.push({ op: "cancel_handle", handle: `h${order[0]}` });
    main.push(sleep(3));
    return build(main, callbacks);
  });

function checkHeapOrder({ scenario, trace }: { scenario: Scenario; trace: Trace }): true | string {
  const want = modelTimerRuns(scenario.coroutines[0].body);
  const got = callbackRuns(trace).map((e) => ({ name: e.callback, time: e.time }));
  for (let k = 0; k < Math.max(want.length, got.length); k++) {
    const w = want[k];
    const g = got[k];
    if (w === undefined) return `${g.name} ran at t=${g.time} after every timer the heap holds had run`;
    if (g === undefined) return `${w.name} should have run at t=${w.time} (heap order), but nothing more ran`;
    if (w.name !== g.name || w.time !== g.time) {
      const next = want.slice(k + 1, k + 6).map((x) => x.name).join(", ");
      return `timer run #${k + 1}: CPython's heap order gives ${w.name} at t=${w.time}${next ? ` (then ${next})` : ""}, but ${g.name} ran at t=${g.time}`;
    }
  }
  return true;
}

const equalDeadlines = clause({
  id: "loop.call_at.equal_deadlines",
  statement:
    "Timers with equal deadlines run in the order CPython's binary heap (heapq, comparing deadlines only) pops them, " +
    "not in registration order; cancelled timers leave the heap from its head, lazily.",
  source: { url: DOCS.loop + "#asyncio.loop.call_later", section: "Scheduling delayed callbacks" },
  versions: ALL_VERSIONS,
  level: "exact",
  needs: ["call_at", "call_later", "cancel_handle", "sleep"],
  brokenBy: ["mutant:fifo-ties"],
  evidence: [finished()],
  scenarios: () => heapScenarioArb({ many: false }),
  check: checkHeapOrder,
});

/**
 * Two rebuilds, the second counting timers that survived the first: main
 * registers 120-140 timers due at t=4 or t=5, cancels 60% of them and sleeps
 * one tick (the first iteration rebuilds the heap); then it registers 60-80
 * more (due at t=5 or t=6) and cancels some of the first batch's survivors
 * and some of the new timers, together just over half of the heap, and sleeps
 * past them all. A survivor of a rebuild is still in the heap, so cancelling
 * it counts towards the next one: without those counts the second rebuild
 * would not come, and equal deadlines would run in another order.
 */
const doubleRebuildArb = fc
  .record({
    first: fc.integer({ min: 120, max: 140 }),
    second: fc.integer({ min: 60, max: 80 }),
    old: fc.integer({ min: 10, max: 40 }),
    over: fc.nat(3),
    delays: fc.array(fc.integer({ min: 4, max: 5 }), { minLength: 220, maxLength: 220 }),
    seed: fc.array(fc.nat(), { minLength: 220, maxLength: 220 }),
  })
  .map(({ first, second, old, over, delays, seed }) => {
    const main: Step[] = [];
    const callbacks: CallbackDef[] = [];
    const register = (k: number) => {
      main.push({ op: "call_later", delay: delays[k], callback: `e${k}`, handle: `h${k}` });
      callbacks.push({ name: `e${k}`, body: [] });
    };
    const shuffled = (ks: number[]) => {
      for (let i = ks.length - 1; i > 0; i--) {
        const j = seed[i] % (i + 1);
        [ks[i], ks[j]] = [ks[j], ks[i]];
      }
      return ks;
    };
    const cancel = (k: number) => main.push({ op: "cancel_handle", handle: `h${k}` });
    const batch1 = Array.from({ length: first }, (_, k) => k);
    batch1.forEach(register);
    const order1 = shuffled([...batch1]);
    const c1 = Math.floor(first * 0.6);
    order1.slice(0, c1).forEach(cancel);
    main.push(sleep(1));
    const survivors = order1.slice(c1);
    const batch2 = Array.from({ length: second }, (_, k) => first + k);
    batch2.forEach(register);
    // The heap now holds the survivors, the new timers and main's next sleep timer.
    const heap = survivors.length + second + 1;
    const want = Math.floor(heap / 2) + 1 + over;
    const x = Math.min(old, survivors.length, want);
    const y = Math.min(second, want - x);
    survivors.slice(0, x).forEach(cancel);
    shuffled([...batch2]).slice(0, y).forEach(cancel);
    main.push(sleep(10));
    return build(main, callbacks);
  });

const heapRebuild = clause({
  id: "loop.call_at.cancelled_rebuild",
  statement:
    "When more than 100 timers are scheduled and more than half of them are counted as cancelled, an iteration rebuilds the " +
    "heap from the live timers (heapify), which reorders timers with equal deadlines; a cancelled timer popped as due, " +
    "rather than dropped from the head, stays counted, so the rebuild can come iterations later.",
  source: { url: DOCS.loop + "#asyncio.TimerHandle.cancel", section: "Callback Handles" },
  versions: ALL_VERSIONS,
  level: "exact",
  needs: ["call_at", "call_later", "cancel_handle", "sleep"],
  brokenBy: ["mutant:no-heap-rebuild", "mutant:fifo-ties", "mutant:rebuild-at-100", "mutant:rebuild-at-half", "mutant:cancel-counted-twice", "mutant:cancel-counts-ran-timers", "mutant:rebuild-unschedules-survivors"],
  evidence: [finished()],
  virtualTimeOnly: "more than 100 timers due in the same few ticks: on a real clock even asyncio's own loop runs them out of heap order now and then (flaky), so there the clause would check the clock, not the loop",
  scenarios: () =>
    fc.oneof(
      { weight: 1, arbitrary: heapScenarioArb({ many: true }) },
      { weight: 1, arbitrary: staleRebuildArb },
      { weight: 2, arbitrary: thresholdRebuildArb },
      { weight: 1, arbitrary: doubleRebuildArb },
    ),
  check: checkHeapOrder,
});

// ---------------------------------------------------------------- Handle.cancel

type HandleKind = { kind: "soon" } | TimerKind;

const handleCancel = clause({
  id: "loop.handle.cancel",
  statement:
    "A callback whose handle (from call_soon, call_later or call_at) is cancelled before it runs never runs, even when it was " +
    "already due; cancelling a handle whose callback ran changes nothing, and the other callbacks run as scheduled.",
  source: { url: DOCS.loop + "#asyncio.Handle.cancel", section: "Callback Handles" },
  versions: ALL_VERSIONS,
  level: "documented",
  needs: ["call_at", "call_later", "call_soon", "cancel_handle", "log", "sleep"],
  brokenBy: ["mutant:handle-cancel-noop"],
  evidence: [mainRanToItsEnd],
  scenarios: () =>
    fc
      .record({
        nodes: fc.array(
          fc.record({
            parent: fc.nat(),
            seg: fc.nat(),
            kind: fc.oneof(fc.constant<HandleKind>({ kind: "soon" }), timerKindArb(3, 4)),
          }),
          { minLength: 2, maxLength: 8 },
        ),
        cancels: fc.array(fc.record({ target: fc.nat(), where: fc.nat(), seg: fc.nat(), pos: fc.nat() }), { minLength: 1, maxLength: 6 }),
        sleeps: fc.array(fc.nat(2), { minLength: 0, maxLength: 2 }),
      })
      .map(({ nodes, cancels, sleeps }) => {
        const segments = sleeps.length + 1;
        const placed = place(nodes, segments);
        const reg = (p: Placed<HandleKind>): Step[] => {
          const callback = `k${p.index}`;
          const handle = `h${p.index}`;
          if (p.kind.kind === "soon") return [{ op: "call_soon", callback, handle }, log(`reg:${handle}`)];
          return [timerStep(p.kind, callback, handle)[0], log(`reg:${handle}`)];
        };
        const segs: Step[][] = Array.from({ length: segments }, (_, seg) =>
          placed.filter((p) => p.parent === -1 && p.seg === seg).flatMap(reg),
        );
        const bodies: Step[][] = placed.map((p) => placed.filter((c) => c.parent === p.index).flatMap(reg));
        for (const c of cancels) {
          const target = `h${c.target % placed.length}`;
          const steps: Step[] = [{ op: "cancel_handle", handle: target }, log(`cancel:${target}:${c.where}:${c.pos}`)];
          const where = c.where % (placed.length + 1);
          const body = where === 0 ? segs[c.seg % segments] : bodies[where - 1];
          // Insert between steps pairs (a registration and its log stay together).
          const slot = 2 * (c.pos % (body.length / 2 + 1));
          body.splice(slot, 0, ...steps);
        }
        const main: Step[] = [];
        segs.forEach((s, k) => {
          if (k > 0) main.push(sleep(sleeps[k - 1]));
          main.push(...s);
        });
        main.push(sleep(20));
        return build(main, placed.map((p) => ({ name: `k${p.index}`, body: bodies[p.index] })));
      }),
  check({ trace }) {
    const events = trace.events;
    const runs = callbackRuns(trace);
    const firstCancel = new Map<string, number>();
    eventsOf(trace, "log").forEach((e) => {
      const m = /^cancel:(h\d+):/.exec(e.label);
      if (!m) return;
      const before = events[e.i - 1];
      if (before && before.ev === "unbound") return; // the handle was not bound yet: nothing was cancelled
      if (!firstCancel.has(m[1])) firstCancel.set(m[1], e.i);
    });
    for (const reg of eventsOf(trace, "log")) {
      const m = /^reg:(h(\d+))$/.exec(reg.label);
      if (!m) continue;
      const handle = m[1];
      const name = `k${m[2]}`;
      const mine = runs.filter((e) => e.callback === name);
      const cancelAt = firstCancel.get(handle) ?? Infinity;
      if (mine.length > 1) return `${name} ran ${mine.length} times`;
      if (mine.length === 1 && mine[0].i > cancelAt) {
        return `${name} ran at ${at(mine[0])} although its handle ${handle} was cancelled at event ${cancelAt}`;
      }
      if (mine.length === 0 && cancelAt === Infinity) return `${name} (handle ${handle}, registered at ${at(reg)}) never ran, and nothing cancelled it`;
    }
    return true;
  },
});

// ---------------------------------------------------------------- clock resolution

const dueTogether = clause({
  id: "loop.timers.due_together",
  statement:
    "When the loop's clock reaches a deadline, every timer due within the clock resolution of now becomes ready in that " +
    "same iteration, so timers due at one tick run back to back, before anything they schedule with call_soon.",
  source: { url: DOCS.loop + "#asyncio.loop.call_later", section: "Scheduling delayed callbacks" },
  versions: ALL_VERSIONS,
  level: "exact",
  needs: ["call_at", "call_later", "call_soon", "log", "sleep"],
  brokenBy: ["mutant:one-timer-per-iteration"],
  evidence: [callbacksRan()],
  scenarios: () =>
    fc
      .record({
        timers: fc.array(
          fc.record({ kind: fc.oneof(fc.integer({ min: 1, max: 3 }).map((d): TimerKind => ({ kind: "later", delay: d })), fc.nat(3).map((w): TimerKind => ({ kind: "at", when: w }))), follow: fc.boolean() }),
          { minLength: 2, maxLength: 8 },
        ),
      })
      .map(({ timers }) => {
        const main: Step[] = timers.flatMap((t, k) => timerStep(t.kind, `t${k}`));
        main.push(sleep(10));
        const callbacks: CallbackDef[] = [];
        timers.forEach((t, k) => {
          callbacks.push({ name: `t${k}`, body: t.follow ? [{ op: "call_soon", callback: `f${k}` }] : [] });
          if (t.follow) callbacks.push({ name: `f${k}`, body: [] });
        });
        return build(main, callbacks);
      }),
  check({ trace }) {
    const regs = timerRegs(trace);
    const runs = callbackRuns(trace);
    const idx = (name: string) => runs.find((e) => e.callback === name);
    for (const r of regs) {
      const follow = idx(`f${r.name.slice(1)}`);
      if (follow === undefined) continue;
      for (const other of regs) {
        if (other.due !== r.due) continue;
        const o = idx(other.name);
        if (o === undefined) return `${other.name} (due at t=${other.due}) never ran`;
        if (o.i > follow.i) {
          return `${other.name}, due at t=${other.due} like ${r.name}, ran at ${at(o)}, after f${r.name.slice(1)} (which ${r.name} scheduled with call_soon) ran at ${at(follow)}`;
        }
      }
    }
    return true;
  },
});

// ---------------------------------------------------------------- the stale stop of run_until_complete

/**
 * run_until_complete(main) stops the loop from a done callback on main. When
 * a KeyboardInterrupt or SystemExit leaves the loop, that callback may still
 * sit in the ready queue, and the shutdown (asyncio.run cancelling the tasks
 * left and running the loop again until they end) runs it first. It stops
 * that run too, before the tasks it waits for are done (RuntimeError "Event
 * loop stopped before Future completed."), unless main itself ended with a
 * KeyboardInterrupt or SystemExit: then it leaves the loop alone
 * (base_events._run_until_complete_cb, bpo-22429).
 *
 * main starts a task that sleeps, maybe lets it start, and either schedules
 * a callback that raises KeyboardInterrupt or SystemExit and ends (returns or
 * raises ValueError: its done callback is queued behind that callback), or
 * raises KeyboardInterrupt or SystemExit itself.
 */
const staleStopArb = fc
  .record({
    end: fc.constantFrom("return", "ValueError", "KeyboardInterrupt", "SystemExit"),
    boom: fc.constantFrom("KeyboardInterrupt" as const, "SystemExit" as const),
    started: fc.boolean(),
    ticks: fc.integer({ min: 1, max: 10 }),
  })
  .map(({ end, boom, started, ticks }) => {
    const main: Step[] = [{ op: "create_task", coro: "waiter", task: "t" }];
    if (started) main.push(sleep(0));
    const callbacks: CallbackDef[] = [];
    if (end === "return" || end === "ValueError") {
      callbacks.push({ name: "boom", body: [{ op: "raise", exc: { type: boom } }] });
      main.push({ op: "call_soon", callback: "boom" });
    }
    main.push(end === "return" ? { op: "return", value: 1 } : { op: "raise", exc: { type: end } });
    return build(main, callbacks, [{ name: "waiter", body: [sleep(ticks)] }]);
  });

const STOPPED_EARLY = "Event loop stopped before Future completed.";

const staleStop = clause({
  id: "loop.run_until_complete.stale_stop",
  statement:
    "When a KeyboardInterrupt or SystemExit interrupts the loop after the main task ended but before its done callback ran, " +
    "the shutdown's run (cancelling the tasks left) runs that callback first and stops early: RuntimeError('Event loop " +
    "stopped before Future completed.'); when the main task itself ended with KeyboardInterrupt or SystemExit, its callback " +
    "does not stop the loop and the shutdown completes.",
  // The order is CPython's (Lib/asyncio/base_events.py, _run_until_complete_cb, bpo-22429); the page documents run_until_complete.
  source: { url: DOCS.loop + "#asyncio.loop.run_until_complete", section: "Running and stopping the loop" },
  versions: ALL_VERSIONS,
  level: "exact",
  needs: ["call_soon", "create_task", "raise", "return", "sleep"],
  brokenBy: ["mutant:stop-on-interrupted-main"],
  evidence: [finished()],
  scenarios: () => staleStopArb,
  check({ scenario, trace }) {
    const body = scenario.coroutines[0].body;
    const last = body[body.length - 1];
    const interrupts = (s: Step) => s.op === "raise" && (s.exc.type === "KeyboardInterrupt" || s.exc.type === "SystemExit");
    const mainInterrupted = last !== undefined && interrupts(last);
    // The premise: main ends with the interruption, or schedules a callback
    // that raises it. A case without either (a shrunk or minimised one that
    // lost it) ends complete on CPython too: nothing to judge, so that the
    // minimiser keeps the interruption in the counterexample.
    const booms = new Set((scenario.callbacks ?? []).filter((cb) => cb.body.some(interrupts)).map((cb) => cb.name));
    const scheduled = body.some((s) => s.op === "call_soon" && booms.has(s.callback));
    if (!mainInterrupted && !scheduled) return true;
    if (trace.end.kind !== "interrupted") return `the run ended ${show(trace.end)}, not interrupted by a KeyboardInterrupt or SystemExit`;
    if (trace.shutdown === undefined) return "the waiting task was left pending, but the trace records no shutdown";
    const want = mainInterrupted ? { kind: "complete" } : { kind: "error", exc: { type: "RuntimeError", args: [STOPPED_EARLY] } };
    if (!same(trace.shutdown, want)) {
      return `main ${mainInterrupted ? "ended with " + (last as Step & { op: "raise" }).exc.type : "ended before the interruption"}: the shutdown ended ${show(trace.shutdown)}, expected ${show(want)}`;
    }
    return true;
  },
});

/**
 * main starts t1, which sleeps a little and raises KeyboardInterrupt or
 * SystemExit, and one or two catchers, which sleep long inside a try whose
 * except CancelledError logs, sleeps m ticks (1..3) and logs again; main
 * sleeps past them all. The interruption leaves main and the catchers
 * pending; the shutdown cancels them, and each catcher takes m more ticks.
 */
const interruptedRunArb = fc
  .record({
    boom: fc.constantFrom("KeyboardInterrupt" as const, "SystemExit" as const),
    after: fc.nat(2),
    catchers: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 2 }),
  })
  .map(({ boom, after, catchers }) => {
    const main: Step[] = [{ op: "create_task", coro: "boom", task: "t1" }];
    const coros: CoroutineDef[] = [{ name: "boom", body: [sleep(after), { op: "raise", exc: { type: boom } }] }];
    catchers.forEach((m, i) => {
      const c = `catcher${i + 1}`;
      main.push({ op: "create_task", coro: c, task: `t${i + 2}` });
      const handler: Step[] = [log(`${c}:cancelled`), ...Array.from({ length: m }, () => sleep(1)), log(`${c}:done`)];
      coros.push({ name: c, body: [{ op: "try", body: [sleep(20)], except: [{ type: "CancelledError", body: handler }] }] });
    });
    main.push(sleep(30));
    return build(main, [], coros);
  });

const interruptRemovesCallback = clause({
  id: "loop.run_until_complete.interrupt_removes_callback",
  statement:
    "When a KeyboardInterrupt or SystemExit from another task interrupts run_until_complete(main) while main is still pending, " +
    "run_until_complete takes its done callback off main on the way out: the shutdown's run (cancelling main and the tasks left) " +
    "is not stopped when main ends, and completes once every task left has ended, however many iterations they take.",
  // CPython Lib/asyncio/base_events.py run_until_complete: future.remove_done_callback(_run_until_complete_cb) in a finally.
  source: { url: DOCS.loop + "#asyncio.loop.run_until_complete", section: "Running and stopping the loop" },
  versions: ALL_VERSIONS,
  level: "exact",
  needs: ["create_task", "log", "raise", "sleep", "try"],
  brokenBy: ["mutant:run-until-complete-keeps-callback"],
  evidence: [finished()],
  scenarios: () => interruptedRunArb,
  check({ scenario, trace }) {
    if (trace.end.kind !== "interrupted") return `the run ended ${show(trace.end)}, not interrupted by a KeyboardInterrupt or SystemExit`;
    if (trace.shutdown === undefined) return "tasks were left pending, but the trace records no shutdown";
    if (!same(trace.shutdown, { kind: "complete" })) return `the shutdown ended ${show(trace.shutdown)}, not complete`;
    const shutdownAt = trace.events.findIndex((e) => e.ev === "shutdown");
    for (const c of scenario.coroutines.filter((x) => x.name.startsWith("catcher"))) {
      const done = trace.events.findIndex((e) => e.ev === "log" && (e as { label?: string }).label === `${c.name}:done`);
      if (done === -1 || done < shutdownAt) return `${c.name} did not finish its cleanup during the shutdown (its last log is ${done === -1 ? "missing" : `event ${done}`})`;
    }
    return true;
  },
});

// ---------------------------------------------------------------- a sleep cancelled as its timer is due

/**
 * A callback due at the same time as a task's sleep, and registered before
 * the sleep's timer, runs first in the iteration that makes both ready and
 * cancels the task: the sleep's future is cancelled, but its timer callback
 * is already in that iteration's batch. It finds the future cancelled and
 * does nothing (asyncio's _set_result_unless_cancelled): nothing reaches the
 * exception handler, and the task ends cancelled.
 */
const sleepCancelledWhenDue = clause({
  id: "loop.timer.sleep_cancelled_when_due",
  statement:
    "A task whose sleep is cancelled in the iteration its timer is due (by a callback that runs just before the timer's) ends " +
    "cancelled, and the sleep's timer callback, already ready, does nothing: no error reaches the exception handler.",
  source: { url: DOCS.loop + "#asyncio.Handle.cancel", section: "Callback Handles" },
  versions: ALL_VERSIONS,
  level: "exact",
  needs: ["call_later", "cancel", "create_task", "log", "sleep"],
  brokenBy: ["mutant:sleep-wakes-cancelled"],
  evidence: [finished(), callbacksRan()],
  scenarios: () =>
    fc.record({ ticks: fc.integer({ min: 1, max: 3 }), msg: fc.option(fc.constantFrom("stop", ""), { nil: undefined }) }).map(({ ticks, msg }) =>
      build(
        [
          { op: "call_later", delay: ticks, callback: "canceller" },
          { op: "create_task", coro: "sleeper", task: "t" },
          sleep(ticks + 2),
          log("end"),
        ],
        [{ name: "canceller", body: [msg === undefined ? { op: "cancel", task: "t" } : { op: "cancel", task: "t", msg }] }],
        [{ name: "sleeper", body: [sleep(ticks), log("woke")] }],
      ),
    ),
  check({ scenario, trace }) {
    const ticks = (scenario.coroutines[0].body[0] as Step & { op: "call_later" }).delay;
    const cancel = scenario.callbacks![0].body[0] as Step & { op: "cancel" };
    const ran = callbackRuns(trace).find((e) => e.callback === "canceller");
    if (ran === undefined || ran.time !== ticks) return `the canceller, due at t=${ticks}, ran ${ran === undefined ? "never" : `at ${at(ran)}`}`;
    const exit = eventsOf(trace, "exit").find((e) => e.coro === "sleeper");
    const want = { type: "CancelledError", args: cancel.msg === undefined ? [] : [cancel.msg] };
    if (exit === undefined || exit.time !== ticks || !same(exit.exc, want)) return `the sleeper ended ${exit === undefined ? "never" : `at ${at(exit)} with ${show(exit.exc ?? exit.value)}`}; expected ${show(want)} at t=${ticks}`;
    const handler = eventsOf(trace, "exception_handler");
    if (handler.length > 0) return `the exception handler was called at ${at(handler[0])}: ${show(handler[0])}`;
    const t = trace.tasks.find((x) => x.ref === "t");
    if (t === undefined || t.state !== "cancelled") return `task t ended ${show(t)}, not cancelled`;
    if (logsByLabel(trace).has("woke")) return "the sleeper woke from its sleep although it was cancelled first";
    return true;
  },
});

export const CLAUSES: Clause[] = [
  soonFifo,
  laterZero,
  deadlineOrder,
  deadlineTime,
  equalDeadlines,
  heapRebuild,
  handleCancel,
  dueTogether,
  staleStop,
  interruptRemovesCallback,
  sleepCancelledWhenDue,
];
