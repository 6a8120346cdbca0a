/** asyncio.timeout / timeout_at. (Being written.) */
import type { PyTimeout } from "../../harness/api";
import { RuntimeError } from "./exceptions";

export function timeout(_delay: number | null): PyTimeout {
  throw RuntimeError("aiospec reference: timeout is not implemented yet");
}

export function timeout_at(_when: number | null): PyTimeout {
  throw RuntimeError("aiospec reference: timeout_at is not implemented yet");
}
