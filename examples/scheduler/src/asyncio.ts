/**
 * asyncio's module-level functions, acting on the running loop
 * (https://docs.python.org/3/library/asyncio-task.html), Python 3.12
 * behaviour.
 */
import type { Coroutine, PyFuture } from "aiospec/api";
import { isCoroutine } from "aiospec/api";
import { pyexc } from "aiospec/pyexc";
import { Future, Task } from "./futures";
import { EventLoop, getRunningLoop } from "./loop";

type Awaitable = Coroutine | PyFuture;

/**
 * asyncio.create_task: schedule the coroutine on the running loop. This
 * scheduler behaves as Python 3.12, whose create_task has no eager_start
 * (3.14 added it): a scenario that passes one gets the TypeError 3.12 raises.
 */
export function create_task(coro: Coroutine, name: string | null = null, eagerStart?: boolean | null): Task {
  if (eagerStart !== undefined) throw pyexc("TypeError", "create_task() got an unexpected keyword argument 'eager_start'");
  // Through the loop's method, as asyncio does (aiospec watches it to list the tasks).
  return getRunningLoop().create_task(coro, name);
}

/** asyncio.sleep: sleep(0) gives up one loop iteration; a longer one waits for a timer. */
export function* sleep(delay: number, result: unknown = null): Coroutine {
  if (delay <= 0) {
    yield null;
    return result;
  }
  const loop = getRunningLoop();
  const fut = loop.create_future();
  const timer = loop.call_later(delay, () => {
    if (!fut.cancelled()) fut.set_result(result);
  });
  try {
    return yield* fut.__await__();
  } finally {
    timer.cancel();
  }
}

export function current_task(): Task | null {
  return getRunningLoop().currentTask;
}

export function all_tasks(): Task[] {
  return [...getRunningLoop().tasks].filter((t) => !t.done());
}

/** asyncio.ensure_future: a coroutine becomes a task; a future stays itself. */
function ensureFuture(aw: Awaitable, loop: EventLoop | null): Future {
  if (aw instanceof Future) return aw;
  if (isCoroutine(aw)) return (loop ?? getRunningLoop()).create_task(aw);
  throw pyexc("TypeError", "An asyncio.Future, a coroutine or an awaitable is required");
}

/** What gather returns: cancelling it cancels its children. */
class GatheringFuture extends Future {
  /** Some child was cancelled through this future: the gather ends in CancelledError. */
  cancelRequested = false;

  constructor(loop: EventLoop, private readonly children: Future[]) {
    super(loop);
  }

  cancel(msg: string | null = null): boolean {
    if (this.done()) return false;
    let cancelledAny = false;
    for (const child of this.children) if (child.cancel(msg)) cancelledAny = true;
    if (cancelledAny) this.cancelRequested = true;
    return cancelledAny;
  }
}

/**
 * asyncio.gather: run the awaitables concurrently; the result is the list
 * of their results in order. Without return_exceptions, the first
 * exception (or cancellation) of a child becomes gather's; with it,
 * exceptions are results like any other.
 */
export function gather(aws: Awaitable[], returnExceptions: boolean): Future {
  if (aws.length === 0) {
    const outer = getRunningLoop().create_future();
    outer.set_result([]);
    return outer;
  }
  const children: Future[] = [];
  const seen = new Map<Awaitable, Future>(); // the same awaitable twice is one child
  const alreadyDone: Future[] = [];
  let loop: EventLoop | null = null;
  for (const aw of aws) {
    let fut = seen.get(aw);
    if (fut === undefined) {
      fut = ensureFuture(aw, loop);
      loop ??= fut.loop;
      seen.set(aw, fut);
      if (fut.done()) alreadyDone.push(fut);
      else fut.add_done_callback(onChildDone);
    }
    children.push(fut);
  }
  const outer = new GatheringFuture(loop!, children);
  let finished = 0;

  function onChildDone(child: PyFuture): void {
    finished++;
    if (outer.done()) return;
    const fut = child as Future;
    if (!returnExceptions) {
      if (fut.cancelled()) return outer.set_exception(fut.makeCancelledError());
      const exc = fut.exception();
      if (exc !== null) return outer.set_exception(exc);
    }
    if (finished < seen.size) return;
    // A cancelled child's entry is a new CancelledError carrying the message its cancel() recorded.
    const results = children.map((c) => (c.cancelled() ? pyexc("CancelledError", c.cancel_message ?? "") : c.exception() ?? c.result()));
    // A cancelled gather is cancelled, whatever return_exceptions says. Its
    // CancelledError comes from the *last child in argument order*, not from
    // the child that just finished: CPython's gather (Lib/asyncio/tasks.py,
    // _done_callback) builds the results in a loop `for fut in children`
    // and then calls fut._make_cancelled_error() with that loop variable.
    // So the cancel message is kept (3.11 and later) when the last child was
    // cancelled with it, and lost when the last child finished otherwise.
    if (outer.cancelRequested) outer.set_exception(children[children.length - 1].makeCancelledError());
    else outer.set_result(results);
  }

  for (const fut of alreadyDone) onChildDone(fut);
  return outer;
}

/** asyncio.shield: cancelling the returned future leaves the inner one running. */
export function shield(aw: Awaitable): Future {
  const inner = ensureFuture(aw, null);
  if (inner.done()) return inner;
  const outer = inner.loop.create_future();
  const onInnerDone = (): void => {
    if (outer.cancelled()) return;
    if (inner.cancelled()) outer.cancel();
    else if (inner.exception() !== null) outer.set_exception(inner.exception()!);
    else outer.set_result(inner.result());
  };
  inner.add_done_callback(onInnerDone);
  outer.add_done_callback(() => {
    if (!inner.done()) inner.remove_done_callback(onInnerDone);
  });
  return outer;
}
