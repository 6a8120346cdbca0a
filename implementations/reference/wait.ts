/** asyncio.wait. (Being written.) */
import type { Coroutine, PyFuture, ReturnWhen } from "../../harness/api";
import { RuntimeError } from "./exceptions";

export function* wait(_aws: Array<Coroutine | PyFuture>, _timeout: number | null, _returnWhen: ReturnWhen): Coroutine<[PyFuture[], PyFuture[]]> {
  throw RuntimeError("aiospec reference: wait is not implemented yet");
}
