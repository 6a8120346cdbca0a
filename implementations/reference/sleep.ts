/**
 * asyncio.sleep(delay, result=None).
 *
 * A delay of zero (or less) yields to the loop exactly once, with no timer.
 * Otherwise a future is resolved by a timer; the timer is cancelled on the
 * way out, whether the sleep ended or was cancelled.
 */
import type { Coroutine } from "../../harness/engine/api";
import type { Future } from "./futures";
import { get_running_loop } from "./loop";

export function* sleep(delay: number, result: unknown = null): Coroutine {
  if (delay <= 0) {
    yield null; // a bare yield: the task reschedules itself with call_soon
    return result;
  }
  const loop = get_running_loop();
  const future = loop.create_future();
  const timer = loop.call_later(delay, setResultUnlessCancelled, future, result);
  try {
    return yield* future.__await__();
  } finally {
    timer.cancel();
  }
}

function setResultUnlessCancelled(fut: Future, result: unknown): void {
  if (fut.cancelled()) return;
  fut.set_result(result);
}
