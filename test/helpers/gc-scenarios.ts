/**
 * gc-mode scenarios that more than one test file runs, kept once
 * (test/gc-divergences.test.ts and test/gc-divergences-3.14.test.ts;
 * test/reference-3.14.test.ts and test/reference-releases.test.ts).
 */
import type { Scenario } from "../../spec/scenario/types";

/**
 * asyncio.wait's completion callback still queued when the loop stops (found
 * by `diff reference@3.11 cpython-3.11 --runs 2000 --size medium --seed 28`):
 * t0 waits on f0 with wait([f0], timeout=1); main cancels t0 and returns in
 * the iteration where a callback drops t0 and sets f0's result. 3.11-3.13's
 * _on_completion does not hold the waiting task, 3.14's does (gh-91048).
 */
export const WAIT_COMPLETION_QUEUED: Scenario = {
  aiospec: 1,
  coroutines: [
    {
      name: "main",
      body: [
        { op: "gc" },
        { op: "create_task", coro: "c3", task: "t0" },
        { op: "sleep", ticks: 0 },
        { op: "cancel", task: "t0" },
        { op: "return" },
      ],
    },
    {
      name: "c3",
      body: [
        { op: "create_future", future: "f0" },
        { op: "call_soon", callback: "cb1" },
        { op: "await", on: { wait: [{ task: "f0" }], timeout: 1 } },
      ],
    },
  ],
  callbacks: [{ name: "cb1", body: [{ op: "drop", handle: "t0" }, { op: "set_result", future: "f0" }] }],
};

/**
 * A task drops its own handle, then enters and leaves an empty TaskGroup
 * bound to `g`: whether a group still held keeps its finished parent task
 * alive (gh-124958: not on 3.12.8+, 3.13.1+, 3.14).
 */
export const GROUP_HELD_AFTER_ITS_BLOCK: Scenario = {
  aiospec: 1,
  description: "a finished task, referenced only as the parent of a TaskGroup that is still held",
  coroutines: [
    {
      name: "main",
      body: [
        { op: "create_task", coro: "c1", task: "t" },
        { op: "weakref", task: "t", ref: "w" },
        { op: "sleep", ticks: 0 },
        { op: "sleep", ticks: 0 },
        { op: "gc" },
        { op: "inspect_weakref", ref: "w" },
      ],
    },
    { name: "c1", body: [{ op: "drop", handle: "t" }, { op: "taskgroup", group: "g", body: [] }] },
  ],
} as Scenario;
