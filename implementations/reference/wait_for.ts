/** asyncio.wait_for. (Being written.) */
import type { Coroutine, PyFuture } from "../../harness/api";
import { RuntimeError } from "./exceptions";

export function* wait_for(_aw: Coroutine | PyFuture, _timeout: number | null): Coroutine {
  throw RuntimeError("aiospec reference: wait_for is not implemented yet");
}
