/**
 * Mutants for the clauses of the asyncio functions: gather, shield,
 * wait_for, wait and as_completed.
 *
 * A mutant is the reference with one behaviour broken: replace one function
 * of the implementation object (`{ ...makeReference(v), gather: ... }`), or
 * subclass a reference class and install it (loopClass, task factories).
 * Reference files are never edited for a mutant.
 *
 * Most of them wrap the reference function and bend one thing; a few
 * (shield's, wait_for's no-wait) are small rewrites with the bug in place,
 * as someone writing the function from the documentation might make it.
 */
import type { AsyncioImplementation, CompleteAsyncioImplementation, Coroutine, PyAsCompleted, PyFuture, ReturnWhen } from "../../harness/engine/api";
import { isCoroutine } from "../../harness/engine/api";
import { EventLoop, makeReference } from "../reference";
import type { Profile, PythonVersion } from "../reference";
import { PyBaseException, TimeoutError, pyexc } from "../reference/exceptions";
import { Future } from "../reference/futures";
import { GatheringFuture, ensure_future } from "../reference/gather";
import { holding } from "../reference/gcrefs";
import type { FrameOwner } from "../reference/gcrefs";
import { current_task } from "../reference/tasks";
import { get_running_loop } from "../reference/loop";
import { Queue } from "../reference/queues";
import type { TaskFactory } from "../reference/loop";
import type { Mutant } from "./mutant";
import { atLeast } from "../../spec/scenario/versions";

type Aw = Coroutine | PyFuture;

/** A mutant made by changing some of the reference's functions. */
function mutant(
  name: string,
  description: string,
  change: (ref: CompleteAsyncioImplementation, v: PythonVersion) => Partial<AsyncioImplementation>,
): Mutant {
  return {
    name,
    description,
    make: (v) => {
      const ref = makeReference(v);
      return { ...ref, ...change(ref, v), id: `mutant:${name}@${v}` };
    },
  };
}

/** A mutant whose loop has one version flag of its profile inverted. */
function flippedProfile(name: string, description: string, flag: keyof Profile): Mutant {
  class FlippedLoop extends EventLoop {
    constructor(profile: Profile, factory: TaskFactory) {
      super({ ...profile, [flag]: !profile[flag] }, factory);
    }
  }
  return {
    name,
    description,
    make: (v) => ({ ...makeReference(v, { loopClass: FlippedLoop }), id: `mutant:${name}@${v}` }),
  };
}

/** `await aw`: a future through its __await__, a coroutine inline. */
function* awaitIt(aw: Aw): Coroutine {
  return yield* ("__await__" in aw ? aw.__await__() : aw);
}

/** Wait until fut is done, without raising what it raised. */
function* waitDone(fut: Future): Coroutine<void> {
  if (fut.done()) return;
  const waiter = fut.loop.create_future();
  fut.add_done_callback(() => {
    if (!waiter.done()) waiter.set_result(null);
  });
  yield* waiter.__await__();
}

// ---------------------------------------------------------------- gather

const gatherCompletionOrder = mutant(
  "gather-completion-order",
  "gather lists the results in the order the children finished, not in argument order",
  (ref) => ({
    gather: (aws, re) => {
      const outer = ref.gather(aws, re);
      if (!(outer instanceof GatheringFuture) || outer.done()) return outer;
      const order: Future[] = [];
      const distinct = [...new Set(outer.children)];
      for (const c of distinct) c.add_done_callback((f) => order.push(f));
      const setResult = outer.set_result.bind(outer);
      outer.set_result = (results: unknown) => {
        const byChild = new Map<Future, unknown>();
        outer.children.forEach((c, i) => byChild.set(c, (results as unknown[])[i]));
        const seq = [...order, ...distinct.filter((c) => !order.includes(c))];
        const out: unknown[] = [];
        for (const c of seq) for (const d of outer.children) if (d === c) out.push(byChild.get(c));
        setResult(out);
      };
      return outer;
    },
  }),
);

const gatherWaitsForAllOnError = mutant(
  "gather-waits-for-all-on-error",
  "without return_exceptions, gather waits for every child and then raises the first exception in argument order",
  (ref) => ({
    gather: (aws, re) => {
      if (re || aws.length === 0) return ref.gather(aws, re);
      const inner = ref.gather(aws, true) as Future;
      const out = inner.loop.create_future();
      inner.add_done_callback(() => {
        if (out.done()) return;
        if (inner.cancelled()) out.cancel();
        else if (inner.exception() !== null) out.set_exception(inner.exception()!);
        else {
          const results = inner.result() as unknown[];
          const exc = results.find((r) => r instanceof PyBaseException) as PyBaseException | undefined;
          if (exc) out.set_exception(exc);
          else out.set_result(results);
        }
      });
      out.cancel = (msg: string | null = null) => !out.done() && inner.cancel(msg);
      return out;
    },
  }),
);

const gatherCancelsOnError = mutant(
  "gather-cancels-on-error",
  "when a child's exception propagates out of gather, gather cancels the other children",
  (ref) => ({
    gather: (aws, re) => {
      const outer = ref.gather(aws, re);
      if (outer instanceof GatheringFuture) {
        outer.add_done_callback((f) => {
          if (!f.cancelled() && f.exception() !== null) for (const c of outer.children) c.cancel();
        });
      }
      return outer;
    },
  }),
);

const gatherIgnoresReturnExceptions = mutant(
  "gather-ignores-return-exceptions",
  "gather ignores return_exceptions=True: the first exception propagates",
  (ref) => ({ gather: (aws) => ref.gather(aws, false) }),
);

const gatherCancelNotPropagated = mutant(
  "gather-cancel-not-propagated",
  "cancelling a gather cancels only its own future: the children keep running",
  (ref) => ({
    gather: (aws, re) => {
      const outer = ref.gather(aws, re);
      if (outer instanceof GatheringFuture) outer.cancel = (msg: string | null = null) => Future.prototype.cancel.call(outer, msg);
      return outer;
    },
  }),
);

const gatherChildCancelCancelsAll = mutant(
  "gather-child-cancel-cancels-all",
  "a child task cancelled on its own cancels the whole gather, and so its siblings",
  (ref) => ({
    gather: (aws, re) => {
      let outer: PyFuture | null = null;
      // Registered before gather's own callbacks, so it runs first.
      const onDone = (f: PyFuture): void => {
        if (f.cancelled() && outer !== null && !outer.done()) outer.cancel();
      };
      for (const aw of aws) if (!isCoroutine(aw) && !aw.done()) aw.add_done_callback(onDone);
      outer = ref.gather(aws, re);
      return outer;
    },
  }),
);

const gatherCancelledEntryKeepsMessage = mutant(
  "gather-cancelled-entry-keeps-message",
  "with return_exceptions, a cancelled task's entry is the CancelledError that ended it (message included), not CancelledError('')",
  (ref) => ({
    gather: (aws, re) => {
      const outer = ref.gather(aws, re);
      if (!re || !(outer instanceof GatheringFuture) || outer.done()) return outer;
      const setResult = outer.set_result.bind(outer);
      outer.set_result = (results: unknown) =>
        setResult((results as unknown[]).map((r, i) => (outer.children[i].cancelled() ? outer.children[i].makeCancelledError() : r)));
      return outer;
    },
  }),
);

const gatherEmptyHangs = mutant(
  "gather-empty-hangs",
  "gather() of nothing never completes (it only completes when its last child does)",
  (ref) => ({ gather: (aws, re) => (aws.length === 0 ? get_running_loop().create_future() : ref.gather(aws, re)) }),
);

const gatherDedupCollapses = mutant(
  "gather-dedup-collapses",
  "an awaitable passed to gather twice appears once in the results",
  (ref) => ({ gather: (aws, re) => ref.gather([...new Set(aws)], re) }),
);

/** The reference's gather, with `change` applied to the _GatheringFuture it returns (not to gather([])'s plain future). */
function bentGather(ref: CompleteAsyncioImplementation, change: (g: GatheringFuture) => void): AsyncioImplementation["gather"] {
  return (aws, returnExceptions) => {
    const g = ref.gather(aws, returnExceptions);
    if (g instanceof GatheringFuture) change(g);
    return g;
  };
}

const gatherLateChildUnread = mutant(
  "gather-late-child-unread",
  "a child that fails after its gather has ended keeps its exception unread, so collecting it reports 'Task exception was never retrieved'",
  (ref) => ({
    gather: bentGather(ref, (g) => {
      for (const child of g.children) {
        // Runs after gather's own callback on the child, which read (retrieved) its exception.
        child.add_done_callback((c) => {
          const carried = (g as unknown as { exceptionValue: unknown }).exceptionValue;
          if (g.done() && !c.cancelled() && c.exception() !== null && carried !== c.exception()) c.logTraceback = true;
        });
      }
    }),
  }),
);

const gatherHoldsNothing = mutant(
  "gather-holds-nothing",
  "the future gather returns does not hold its children: pending children nothing else holds are destroyed while the program still holds the gather",
  (ref) => ({
    gather: bentGather(ref, (g) => {
      g.gcReferents = () => Future.prototype.gcReferents.call(g);
    }),
  }),
);

const gatherCancelAfterDone = mutant(
  "gather-cancel-after-done",
  "cancel() of a gather that has already failed still cancels the children that are running (and returns True)",
  (ref) => ({
    gather: bentGather(ref, (g) => {
      const cancel = g.cancel.bind(g);
      g.cancel = (msg: string | null = null) => {
        if (!g.done()) return cancel(msg);
        let ret = false;
        for (const child of g.children) if (child.cancel(msg)) ret = true;
        return ret;
      };
    }),
  }),
);

const gatherCancelRequestedAlways = mutant(
  "gather-cancel-requested-always",
  "cancel() of a pending gather counts as a request even when it cancelled no child (all had finished): the gather ends with CancelledError instead of their results",
  (ref) => ({
    gather: bentGather(ref, (g) => {
      const cancel = g.cancel.bind(g);
      g.cancel = (msg: string | null = null) => {
        const ret = cancel(msg);
        if (!g.done()) g.cancelRequested = true;
        return ret;
      };
    }),
  }),
);

const gatherFastPathFlipped = flippedProfile(
  "gather-fast-path-flipped",
  "gather's handling of children already done is the other version's: at once on 3.11, through done callbacks on 3.12+",
  "gatherEagerDoneChildren",
);

// ---------------------------------------------------------------- shield

const shieldCancelsInner = mutant(
  "shield-cancels-inner",
  "cancelling a shield's outer future cancels the inner one too (no protection)",
  (ref) => ({
    shield: (aw) => {
      const inner = ensure_future(aw, null);
      const outer = ref.shield(inner);
      if (outer !== inner) {
        const cancel = outer.cancel.bind(outer);
        outer.cancel = (msg?: string | null) => {
          inner.cancel(msg ?? null);
          return cancel(msg);
        };
      }
      return outer;
    },
  }),
);

/** The care the reference's shield takes; each mutant below leaves one out. */
interface ShieldCare {
  /** Check inner.cancelled() before reading its exception. */
  checkCancelled: boolean;
  /** Pass the inner's exception on. */
  passException: boolean;
  /** Return an inner that is already done as it is. */
  shortcutDone: boolean;
  /** In the inner's callback, leave a cancelled outer alone (set_exception on it raises InvalidStateError). */
  checkOuterCancelled: boolean;
  /** In the inner's callback, with the outer cancelled, read the inner's exception (marking it retrieved). */
  readWhenOuterCancelled: boolean;
  /** In the outer's callback, take the inner's callback off a pending inner. */
  removeOnOuterDone: boolean;
}

const CAREFUL: ShieldCare = {
  checkCancelled: true,
  passException: true,
  shortcutDone: true,
  checkOuterCancelled: true,
  readWhenOuterCancelled: true,
  removeOnOuterDone: true,
};

/**
 * shield written from scratch (the 3.8-3.13 one: no report of a late
 * exception), with some of the reference's care left out.
 */
function brokenShield(lapses: Partial<ShieldCare>): (aw: Aw) => PyFuture {
  const care = { ...CAREFUL, ...lapses };
  return (arg) => {
    const inner = ensure_future(arg, null);
    if (care.shortcutDone && inner.done()) return inner;
    const outer = inner.loop.create_future();
    const innerDone = (inner: Future): void => {
      if (care.checkOuterCancelled && outer.cancelled()) {
        if (care.readWhenOuterCancelled && !inner.cancelled()) inner.exception();
        return;
      }
      if (care.checkCancelled && inner.cancelled()) {
        outer.cancel();
        return;
      }
      const exc = inner.exception(); // raises CancelledError for a cancelled inner
      if (exc !== null) {
        if (care.passException) outer.set_exception(exc);
        else outer.set_result(null);
      } else outer.set_result(inner.result());
    };
    const outerDone = (): void => {
      if (care.removeOnOuterDone && !inner.done()) inner.remove_done_callback(innerDone);
    };
    // What the closures hold, as the reference declares it (gc mode).
    holding(innerDone, outer);
    holding(outerDone, inner, innerDone);
    inner.add_done_callback(innerDone);
    outer.add_done_callback(outerDone);
    return outer;
  };
}

const shieldIgnoresInnerCancel = mutant(
  "shield-ignores-inner-cancel",
  "shield reads a cancelled inner's exception(), which raises in the callback: the shield never completes",
  () => ({ shield: brokenShield({ checkCancelled: false }) }),
);

const shieldSwallowsException = mutant(
  "shield-swallows-exception",
  "shield gives None when the inner raised, instead of raising its exception",
  () => ({ shield: brokenShield({ passException: false }) }),
);

const shieldAlwaysWraps = mutant(
  "shield-always-wraps",
  "shield of an inner that is already done still makes an outer future, completed a loop iteration later",
  () => ({ shield: brokenShield({ shortcutDone: false }) }),
);

const shieldSetsCancelledOuter = mutant(
  "shield-sets-cancelled-outer",
  "shield's inner callback passes the outcome on to an outer already cancelled: InvalidStateError reaches the exception handler when the inner ends in the iteration of the cancellation",
  () => ({ shield: brokenShield({ checkOuterCancelled: false }) }),
);

const shieldForgetsLateOutcome = mutant(
  "shield-forgets-late-outcome",
  "shield's inner callback, finding the outer cancelled, leaves the inner's exception unread (3.14's way on every version): an inner failing in the iteration of the cancellation is reported never retrieved",
  () => ({ shield: brokenShield({ readWhenOuterCancelled: false }) }),
);

const shieldKeepsInnerCallback = mutant(
  "shield-keeps-inner-callback",
  "cancelling the outer leaves shield's callback on the inner, which reads an exception the inner ends with later: it is never reported",
  () => ({ shield: brokenShield({ removeOnOuterDone: false }) }),
);

// ---------------------------------------------------------------- wait_for

/**
 * wait_for(aw, timeout <= 0) written from scratch: cancel aw and wait for
 * it, then its result, a cancellation becoming TimeoutError; with some of
 * the reference's care left out.
 */
function* zeroWaitFor(aw: Aw, care: { shortcutDone: boolean; onlyCancellation: boolean }): Coroutine {
  const loop = get_running_loop();
  const fut = ensure_future(aw, loop);
  if (care.shortcutDone && fut.done()) return fut.result();
  const waiter = loop.create_future();
  fut.add_done_callback(() => {
    if (!waiter.done()) waiter.set_result(null);
  });
  fut.cancel();
  yield* waiter.__await__();
  try {
    return fut.result();
  } catch (e) {
    if (!(e instanceof PyBaseException) || (care.onlyCancellation && e.type !== "CancelledError")) throw e;
    const te = TimeoutError();
    te.cause = e;
    te.context = e;
    throw te;
  }
}

const waitForZeroWaitsDone = mutant(
  "wait_for-zero-waits-done",
  "wait_for(aw, timeout <= 0) of an aw already done still cancels and waits for it: it gives up the loop once, and a cancelled aw gives TimeoutError",
  (ref) => ({
    wait_for: (aw, t) => (t === null || t > 0 ? ref.wait_for(aw, t) : zeroWaitFor(aw, { shortcutDone: false, onlyCancellation: true })),
  }),
);

const waitForZeroMasksException = mutant(
  "wait_for-zero-masks-exception",
  "wait_for(aw, timeout <= 0) turns whatever exception the cancelled aw ends with into TimeoutError, not only its CancelledError",
  (ref) => ({
    wait_for: (aw, t) => (t === null || t > 0 ? ref.wait_for(aw, t) : zeroWaitFor(aw, { shortcutDone: true, onlyCancellation: false })),
  }),
);

/** Run `gen` as the task would, calling `afterStep` each time it suspends. */
function* stepping(gen: Coroutine, afterStep: () => void): Coroutine {
  let step = gen.next();
  while (!step.done) {
    afterStep();
    let sent: unknown;
    try {
      sent = yield step.value;
    } catch (e) {
      step = gen.throw(e);
      continue;
    }
    step = gen.next(sent);
  }
  return step.value;
}

/**
 * Run `gen` in `task`, forgetting after each of its steps what it declared
 * its frame holds (gcrefs.ts inFrame): its locals no longer keep anything alive.
 */
function forgettingFrames(task: FrameOwner | null, gen: Coroutine): Coroutine {
  const depth = task?.frameRefs.length ?? 0;
  return stepping(gen, () => {
    if (task !== null) task.frameRefs.length = Math.min(task.frameRefs.length, depth);
  });
}

const waitForFrameHoldsNothing = mutant(
  "wait_for-frame-holds-nothing",
  "a task suspended in wait_for does not hold what wait_for's frame refers to: on 3.11 the task wrapping the awaitable, held by nothing else, is collected while wait_for waits",
  (ref) => ({
    wait_for: (aw, t) => forgettingFrames(current_task() as unknown as FrameOwner | null, ref.wait_for(aw, t)),
  }),
);

/**
 * Run `gen` in `task`; an exception leaving it does not keep what the frames
 * it left held (gcrefs.ts inFrame): the lists those frames declared are
 * taken off its traceback's references.
 */
function* tracebackForgetsFrames(task: FrameOwner | null, gen: Coroutine): Coroutine {
  const depth = task?.frameRefs.length ?? 0;
  const frames = new Set<unknown>();
  try {
    return yield* stepping(gen, () => {
      for (const held of task?.frameRefs.slice(depth) ?? []) frames.add(held);
    });
  } catch (e) {
    const tb = e as { gcRefs?: unknown[] };
    if (tb !== null && typeof tb === "object" && tb.gcRefs !== undefined) tb.gcRefs = tb.gcRefs.filter((held) => !frames.has(held));
    throw e;
  }
}

const tracebackKeepsNoAsyncioFrame = mutant(
  "traceback-keeps-no-asyncio-frame",
  "an exception that leaves wait_for does not keep wait_for's frame in its traceback: the task wait_for was waiting for, held by nothing else, is collected while the exception lives",
  (ref) => ({
    wait_for: (aw, t) => tracebackForgetsFrames(current_task() as unknown as FrameOwner | null, ref.wait_for(aw, t)),
  }),
);

const waitForCancelIsTimeout = mutant(
  "wait_for-cancel-is-timeout",
  "wait_for (with a timeout) raises TimeoutError whenever its awaitable ended cancelled, even when someone else cancelled it before the deadline",
  (ref) => ({
    wait_for: (aw, t) =>
      (function* (): Coroutine {
        try {
          return yield* ref.wait_for(aw, t);
        } catch (e) {
          if (t === null || !(e instanceof PyBaseException) || e.type !== "CancelledError" || !(aw instanceof Future) || !aw.cancelled()) throw e;
          const te = TimeoutError();
          te.cause = e;
          te.context = e;
          throw te;
        }
      })(),
  }),
);

const waitForCancelRaceRaises = mutant(
  "wait_for-cancel-race-raises",
  "3.11's wait_for does not swallow a cancellation that arrives as its awaitable ends: it raises CancelledError instead of giving the awaitable's outcome",
  (ref) => ({
    wait_for: (aw, t) =>
      (function* (): Coroutine {
        const task = current_task();
        let result: unknown;
        try {
          result = yield* ref.wait_for(aw, t);
        } catch (e) {
          if (task !== null && task.cancelling() > 0 && !(e instanceof PyBaseException && e.type === "CancelledError")) throw pyexc("CancelledError");
          throw e;
        }
        if (task !== null && task.cancelling() > 0) throw pyexc("CancelledError");
        return result;
      })(),
  }),
);

const waitForNeverTimesOut = mutant(
  "wait_for-never-times-out",
  "wait_for ignores its timeout and waits for the awaitable however long it takes",
  (ref) => ({ wait_for: (aw) => ref.wait_for(aw, null) }),
);

/** wait_for that cancels on timeout but raises TimeoutError at once, without waiting for the awaitable to end. */
function* noWaitWaitFor(aw: Aw, timeout: number | null): Coroutine {
  const loop = get_running_loop();
  if (timeout === null) return yield* awaitIt(aw);
  const fut = ensure_future(aw, loop);
  if (fut.done()) return fut.result();
  const waiter = loop.create_future();
  const release = (): void => {
    if (!waiter.done()) waiter.set_result(null);
  };
  const timer = loop.call_later(timeout, release);
  fut.add_done_callback(release);
  try {
    yield* waiter.__await__();
  } catch (e) {
    fut.remove_done_callback(release);
    fut.cancel();
    throw e;
  } finally {
    timer.cancel();
  }
  if (fut.done()) return fut.result();
  fut.remove_done_callback(release);
  fut.cancel();
  throw TimeoutError(); // no CancelledError to chain: it has not happened yet
}

const waitForNoWait = mutant(
  "wait_for-no-wait",
  "on timeout, wait_for cancels the awaitable and raises TimeoutError at once, without waiting for it to end (and without a cause)",
  () => ({ wait_for: noWaitWaitFor }),
);

const waitForNotCancelling = mutant(
  "wait_for-not-cancelling",
  "wait_for never cancels the awaitable (as if it were shielded): on timeout or cancellation it keeps running",
  (ref) => ({ wait_for: (aw, t) => ref.wait_for(ref.shield(aw), t) }),
);

const waitForNoneIsZero = mutant(
  "wait_for-none-is-zero",
  "wait_for takes timeout=None for 0: it times out at once",
  (ref) => ({ wait_for: (aw, t) => ref.wait_for(aw, t ?? 0) }),
);

const waitForResultDropped = mutant(
  "wait_for-result-dropped",
  "wait_for waits correctly but returns None instead of the awaitable's result",
  (ref) => ({
    wait_for: function* (aw, t) {
      yield* ref.wait_for(aw, t);
      return null;
    },
  }),
);

const waitForZeroRuns = mutant(
  "wait_for-zero-runs",
  "wait_for with timeout 0 lets the awaitable start before cancelling it (a deadline of now, not an immediate cancel)",
  (ref) => ({
    wait_for: function* (aw, t) {
      if (t !== 0) return yield* ref.wait_for(aw, t);
      const cm = ref.timeout(0);
      yield* cm.__aenter__();
      let result: unknown;
      try {
        result = yield* awaitIt(aw);
      } catch (e) {
        if (e instanceof PyBaseException) yield* cm.__aexit__(e);
        throw e;
      }
      yield* cm.__aexit__(null);
      return result;
    },
  }),
);

const waitForVersionFlipped = flippedProfile(
  "wait_for-version-flipped",
  "wait_for is the other version's: 3.12's (timeout(), the coroutine inline) on 3.11, 3.11's (a new task) on 3.12+",
  "waitForUsesTimeout",
);

// ---------------------------------------------------------------- wait

const waitRaisesTimeout = mutant(
  "wait-raises-timeout",
  "wait raises TimeoutError when its timeout passes with awaitables still pending",
  (ref) => ({
    wait: function* (aws, t, rw) {
      const start = get_running_loop().time();
      const [done, pending] = yield* ref.wait(aws, t, rw);
      if (t !== null && pending.length > 0 && get_running_loop().time() >= start + t) throw TimeoutError();
      return [done, pending];
    },
  }),
);

/** As if wait's completion callback read every member's exception, whatever return_when. */
const waitReadsEveryException = mutant(
  "wait-reads-every-exception",
  "wait marks the exception of every failed member as retrieved (as if its completion callback called exception() in every mode)",
  (ref) => ({
    wait: function* (aws, t, rw) {
      const [done, pending] = yield* ref.wait(aws, t, rw);
      for (const f of done) if (!f.cancelled()) f.exception();
      return [done, pending];
    },
  }),
);

/** As if wait(FIRST_EXCEPTION) tested a private field instead of calling exception(). */
const waitLeavesExceptionsUnread = mutant(
  "wait-leaves-exceptions-unread",
  "wait(FIRST_EXCEPTION) finds the failed member without marking its exception as retrieved",
  (ref) => ({
    wait: function* (aws, t, rw) {
      const [done, pending] = yield* ref.wait(aws, t, rw);
      for (const f of done as Future[]) if (!f.cancelled() && f.exception() !== null) f.logTraceback = true;
      return [done, pending];
    },
  }),
);

const waitCancelsPending = mutant(
  "wait-cancels-pending",
  "wait cancels the awaitables still pending when it returns",
  (ref) => ({
    wait: function* (aws, t, rw) {
      const [done, pending] = yield* ref.wait(aws, t, rw);
      for (const p of pending) p.cancel();
      return [done, pending];
    },
  }),
);

const waitFirstCompletedWaitsAll = mutant(
  "wait-first-completed-waits-all",
  "wait(return_when=FIRST_COMPLETED) waits for all of them",
  (ref) => ({ wait: (aws, t, rw) => ref.wait(aws, t, rw === "FIRST_COMPLETED" ? "ALL_COMPLETED" : rw) }),
);

const waitAllCompletedReturnsEarly = mutant(
  "wait-all-completed-returns-early",
  "wait(return_when=ALL_COMPLETED) returns as soon as the first awaitable is done",
  (ref) => ({ wait: (aws, t, rw) => ref.wait(aws, t, rw === "ALL_COMPLETED" ? "FIRST_COMPLETED" : rw) }),
);

const waitFirstExceptionWaitsAll = mutant(
  "wait-first-exception-waits-all",
  "wait(return_when=FIRST_EXCEPTION) waits for all of them",
  (ref) => ({ wait: (aws, t, rw) => ref.wait(aws, t, rw === "FIRST_EXCEPTION" ? "ALL_COMPLETED" : rw) }),
);

const waitIgnoresTimeout = mutant(
  "wait-ignores-timeout",
  "wait ignores its timeout",
  (ref) => ({ wait: (aws, _t, rw) => ref.wait(aws, null, rw) }),
);

const waitEmptyOk = mutant(
  "wait-empty-ok",
  "wait() of an empty set gives two empty sets instead of raising ValueError",
  (ref) => ({
    wait: function* (aws, t, rw: ReturnWhen) {
      if (aws.length === 0) return [[], []] as [PyFuture[], PyFuture[]];
      return yield* ref.wait(aws, t, rw);
    },
  }),
);

const waitWrapsCoroutines = mutant(
  "wait-wraps-coroutines",
  "wait wraps coroutines in tasks (as before 3.11) instead of raising TypeError",
  (ref) => ({ wait: (aws, t, rw) => ref.wait(aws.map((aw) => (isCoroutine(aw) ? ensure_future(aw, null) : aw)), t, rw) }),
);

// ---------------------------------------------------------------- as_completed

const asCompletedArgumentOrder = mutant(
  "as-completed-argument-order",
  "as_completed hands out the awaitables in argument order, not as they finish (and ignores the timeout)",
  (ref, v) => ({
    as_completed: (aws) => {
      const futs = [...new Set(aws.map((aw) => ensure_future(aw, null)))];
      let i = 0;
      const it: PyAsCompleted = { __next__: () => (i < futs.length ? futs[i++] : undefined) };
      if (atLeast(v, "3.13")) {
        it.__anext__ = function* () {
          if (i >= futs.length) throw pyexc("StopAsyncIteration");
          const f = futs[i++];
          yield* waitDone(f);
          return f;
        };
      }

      return it;
    },
  }),
);

const asCompletedIgnoresTimeout = mutant(
  "as-completed-ignores-timeout",
  "as_completed ignores its timeout",
  (ref) => ({ as_completed: (aws) => ref.as_completed(aws, null) }),
);

/**
 * as_completed written with a list of its distinct inputs in argument order
 * instead of a set: the done callbacks are added in argument order, so the
 * members already done come out in argument order. (A small rewrite: the
 * reference's order comes from its set.)
 */
const asCompletedDoneInArgumentOrder = mutant(
  "as-completed-done-in-argument-order",
  "as_completed adds its done callbacks in argument order (duplicates dropped), not in the set's order: members already done come out in argument order",
  () => ({
    as_completed: (aws, timeout) => {
      const loop = get_running_loop();
      const queue = new Queue<Future | null>();
      let todo: Future[] | null = null;
      let left = 0;
      const onDone = (f: Future): void => {
        if (todo === null || !todo.includes(f)) return;
        todo.splice(todo.indexOf(f), 1);
        queue.put_nowait(f);
      };
      const setUp = (): void => {
        if (todo !== null) return;
        todo = [...new Set(aws)].map((aw) => ensure_future(aw, loop));
        left = todo.length;
        for (const f of todo) f.add_done_callback(onDone);
        if (timeout !== null && todo.length > 0) {
          loop.call_later(timeout, () => {
            for (const f of todo!) {
              f.remove_done_callback(onDone);
              queue.put_nowait(null);
            }
            todo = [];
          });
        }
      };
      function* next(resolve: boolean): Coroutine {
        const f = yield* queue.get();
        if (f === null) throw TimeoutError();
        return resolve ? f.result() : f;
      }
      const iterator = loop.profile.asCompletedIterator;
      if (iterator) setUp();
      const it: PyAsCompleted = {
        __next__: () => {
          setUp();
          if (left === 0) return undefined;
          left--;
          return next(true);
        },
      };
      if (iterator) {
        it.__anext__ = function* () {
          if (left === 0) throw pyexc("StopAsyncIteration");
          left--;
          return (yield* next(false)) as PyFuture;
        };
      }
      return it;
    },
  }),
);

const asCompletedAsyncNewFutures = mutant(
  "as-completed-async-new-futures",
  "async iteration of as_completed yields new futures with the outcomes, not the original tasks",
  (ref) => ({
    as_completed: (aws, t) => {
      const it = ref.as_completed(aws, t);
      const anext = it.__anext__?.bind(it);
      if (anext === undefined) return it;
      return {
        __next__: () => it.__next__(),
        __anext__: function* () {
          const f = (yield* anext()) as Future;
          const copy = f.loop.create_future();
          if (f.cancelled()) copy.cancel();
          else if (f.exception() !== null) copy.set_exception(f.exception()!);
          else copy.set_result(f.result());
          return copy;
        },
      };
    },
  }),
);

const asCompletedHoldsNothing = mutant(
  "as-completed-holds-nothing",
  "nothing holds as_completed's state while the loop over it waits (neither the iterator or generator the program iterates nor the coroutine awaiting the next completion): the tasks it wrapped the coroutines in, held by nothing else, are collected meanwhile",
  (ref) => ({
    as_completed: (aws, t) => {
      const it = ref.as_completed(aws, t);
      const task = (): FrameOwner | null => current_task() as unknown as FrameOwner | null;
      const next = (): Coroutine | PyFuture | undefined => {
        const c = it.__next__();
        return c !== undefined && isCoroutine(c) ? forgettingFrames(task(), c) : c;
      };
      const anext = it.__anext__?.bind(it);
      // No gcReferents: the object the program holds keeps nothing.
      return anext === undefined ? { __next__: next } : { __next__: next, __anext__: () => forgettingFrames(task(), anext()) as Coroutine<PyFuture> };
    },
  }),
);

/**
 * wait's and wait_for's timer callback (`_release_waiter`) without its
 * `if not waiter.done()`: the loop runs, in place of a timer callback named
 * releaseWaiter, one that sets the waiter's result unconditionally.
 */
class UnguardedReleaseLoop extends EventLoop {
  call_at(when: number, callback: (...args: any[]) => void, ...args: unknown[]) {
    const unguarded = (waiter: Future): void => waiter.set_result(null);
    return super.call_at(when, callback.name === "releaseWaiter" ? unguarded : callback, ...args);
  }
}
const timerReleasesDoneWaiter: Mutant = {
  name: "timer-releases-done-waiter",
  description: "the timeout timer of wait and wait_for sets its waiter's result even when the waiter is already done (cancelled with the waiting task in the same iteration): InvalidStateError in the callback",
  make: (v) => ({ ...makeReference(v, { loopClass: UnguardedReleaseLoop }), id: `mutant:timer-releases-done-waiter@${v}` }),
};

/**
 * as_completed whose queue wakes its first getter without checking that it
 * is still pending (Queue._wakeup_next without `if not waiter.done()`).
 * The reference's Queue is not edited: its wakeupNext is wrapped once, and
 * the wrapper changes nothing but for the queues this mutant registers.
 */
const unguardedQueues = new WeakSet<object>();
{
  const proto = Queue.prototype as unknown as { wakeupNext: () => void };
  const wakeupNext = proto.wakeupNext;
  proto.wakeupNext = function (this: { getters: Future[] }): void {
    if (!unguardedQueues.has(this)) return wakeupNext.call(this);
    const getter = this.getters.shift();
    if (getter !== undefined) getter.set_result(null);
  };
}
const queueWakesDoneGetter = mutant(
  "queue-wakes-done-getter",
  "as_completed's queue wakes its first getter even when it is already done (the consumer cancelled in the same iteration): InvalidStateError in the completion callback",
  (ref) => ({
    as_completed: (aws, t) => {
      const it = ref.as_completed(aws, t);
      // The state's queue (Completions.done), once it exists (3.11 / 3.12: at the first next()).
      const register = (): void => {
        const completions = (it as unknown as { completions: { done: object } | null }).completions;
        if (completions) unguardedQueues.add(completions.done);
      };
      register();
      const anext = it.__anext__?.bind(it);
      const next = (): Coroutine | PyFuture | undefined => {
        const c = it.__next__();
        register();
        return c;
      };
      return anext === undefined ? { __next__: next } : { __next__: next, __anext__: anext };
    },
  }),
);

/** ensure_future as if it wrapped every awaitable, tasks included, in a new task. */
const ensureFutureWrapsTasks = mutant(
  "ensure-future-wraps-tasks",
  "ensure_future (under gather) wraps a Task in another new Task instead of passing it through",
  (ref) => ({
    gather: (aws, re) =>
      ref.gather(
        aws.map((a) => ("get_name" in (a as object) ? (function* () { return yield* (a as PyFuture).__await__(); })() : a)),
        re,
      ),
  }),
);

export const MUTANTS: Mutant[] = [
  ensureFutureWrapsTasks,
  gatherCompletionOrder,
  gatherWaitsForAllOnError,
  gatherCancelsOnError,
  gatherIgnoresReturnExceptions,
  gatherCancelNotPropagated,
  gatherChildCancelCancelsAll,
  gatherCancelledEntryKeepsMessage,
  gatherEmptyHangs,
  gatherDedupCollapses,
  gatherFastPathFlipped,
  gatherLateChildUnread,
  gatherHoldsNothing,
  gatherCancelAfterDone,
  gatherCancelRequestedAlways,
  shieldCancelsInner,
  shieldIgnoresInnerCancel,
  shieldSwallowsException,
  shieldAlwaysWraps,
  shieldSetsCancelledOuter,
  shieldForgetsLateOutcome,
  shieldKeepsInnerCallback,
  waitForNeverTimesOut,
  waitForNoWait,
  waitForNotCancelling,
  waitForNoneIsZero,
  waitForResultDropped,
  waitForZeroRuns,
  waitForZeroWaitsDone,
  waitForZeroMasksException,
  waitForFrameHoldsNothing,
  tracebackKeepsNoAsyncioFrame,
  waitForCancelIsTimeout,
  waitForCancelRaceRaises,
  waitForVersionFlipped,
  waitRaisesTimeout,
  waitReadsEveryException,
  waitLeavesExceptionsUnread,
  waitCancelsPending,
  waitFirstCompletedWaitsAll,
  waitAllCompletedReturnsEarly,
  waitFirstExceptionWaitsAll,
  waitIgnoresTimeout,
  waitEmptyOk,
  waitWrapsCoroutines,
  asCompletedArgumentOrder,
  asCompletedIgnoresTimeout,
  asCompletedDoneInArgumentOrder,
  asCompletedAsyncNewFutures,
  asCompletedHoldsNothing,
  timerReleasesDoneWaiter,
  queueWakesDoneGetter,
];


