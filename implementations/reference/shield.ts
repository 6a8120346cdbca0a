/** asyncio.shield. (Being written.) */
import type { Coroutine, PyFuture } from "../../harness/api";
import { RuntimeError } from "./exceptions";

export function shield(_aw: Coroutine | PyFuture): PyFuture {
  throw RuntimeError("aiospec reference: shield is not implemented yet");
}
