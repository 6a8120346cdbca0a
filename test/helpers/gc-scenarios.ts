/**
 * Scenarios that more than one test file of the reference's gc divergences
 * runs (test/gc-divergences.test.ts on 3.11-3.13, test/gc-divergences-3.14.test.ts
 * on 3.14), kept once.
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
