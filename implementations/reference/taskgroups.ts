/** asyncio.TaskGroup. (Being written: see the issue "The whole task API".) */
import type { PyTaskGroup } from "../../harness/api";
import { RuntimeError } from "./exceptions";

export function TaskGroup(): PyTaskGroup {
  throw RuntimeError("aiospec reference: TaskGroup is not implemented yet");
}
