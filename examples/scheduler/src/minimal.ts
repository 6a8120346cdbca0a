/**
 * The same scheduler offering only asyncio.sleep and asyncio.create_task
 * (plus the event loop, futures and tasks): what a scheduler looks like on
 * its first day. Every other feature is declared unsupported, and its
 * function left out.
 */
import type { AsyncioImplementation } from "aiospec/api";
import { create_task, current_task, sleep } from "./asyncio";
import { EventLoop } from "./loop";

const implementation: AsyncioImplementation = {
  id: "example-scheduler-minimal",
  pythonVersion: "3.12",
  unsupported: [
    "gather", "shield", "wait_for", "wait", "as_completed", "as_completed:async",
    "taskgroup", "new_taskgroup",
    "timeout", "reschedule", "inspect_timeout",
    "all_tasks",
    "eager",
    "gc", "drop", "weakref", "inspect_weakref",
  ],
  new_event_loop: () => new EventLoop(),
  create_task,
  sleep,
  current_task,
};

export default implementation;
