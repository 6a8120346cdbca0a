/** asyncio.as_completed. (Being written.) */
import type { Coroutine, PyAsCompleted, PyFuture } from "../../harness/api";
import { RuntimeError } from "./exceptions";

export function as_completed(_aws: Array<Coroutine | PyFuture>, _timeout: number | null): PyAsCompleted {
  throw RuntimeError("aiospec reference: as_completed is not implemented yet");
}
