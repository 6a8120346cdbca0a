/**
 * example-scheduler: a small asyncio scheduler, checked by aiospec.
 *
 * aiospec needs one object of type AsyncioImplementation (aiospec/api): the
 * module-level functions of asyncio, a way to make an event loop, the
 * Python version whose behaviour it follows, and the scenario features it
 * does not provide (clauses that need one are skipped, and so are generated
 * scenarios that use one).
 */
import type { AsyncioImplementation } from "aiospec/api";
import { all_tasks, create_task, current_task, gather, shield, sleep } from "./asyncio";
import { EventLoop } from "./loop";

const implementation: AsyncioImplementation = {
  id: "example-scheduler",
  pythonVersion: "3.12",
  unsupported: [
    "wait_for", "wait", "as_completed", "as_completed:async",
    "taskgroup", "new_taskgroup",
    "timeout", "reschedule", "inspect_timeout",
    "eager",
    "gc", "drop", "weakref", "inspect_weakref",
  ],
  new_event_loop: () => new EventLoop(),
  create_task,
  sleep,
  gather,
  shield,
  current_task,
  all_tasks,
};

export default implementation;
