/**
 * gc mode: what an exception keeps of the driver's `async with` frame.
 *
 * The body's exception passes through the frame of the driver's
 * `async with` (op_taskgroup, op_timeout) before __aexit__ sees it, so its
 * traceback has an entry for that frame, whose locals hold the context
 * manager. Found by `aiospec diff reference@3.13 cpython-3.13 --size medium
 * --runs 1000 --seed 4` (after 498 scenarios) once wait_for's frame stopped
 * holding its timeout (534be61); CPython 3.13.0, the driver walked with
 * gc.get_referrers at the final collection: the first c2 task <- its
 * TaskGroup (`_parent_task`) <- frame op_taskgroup (local `group`) <- tb
 * op_taskgroup <- the ValueError raised through the group's body <- Task-6,
 * bound to t0. (3.14's TaskGroup forgets its parent when it exits: there
 * the task is collected and its ExceptionGroup reported.)
 */
import { describe, expect, it } from "vitest";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import type { Trace } from "../spec/scenario/trace";
import type { Scenario } from "../spec/scenario/types";

const SCENARIO = {
    "aiospec": 1,
    "coroutines": [
      {
        "name": "main",
        "body": [
          {
            "op": "gc"
          },
          {
            "op": "create_task",
            "coro": "c3",
            "task": "t0"
          },
          {
            "op": "repeat",
            "times": 2,
            "var": "rep",
            "body": [
              {
                "op": "create_task",
                "coro": "c2",
                "task": "t1"
              }
            ]
          },
          {
            "op": "try",
            "body": [
              {
                "op": "await",
                "on": {
                  "task": "t1"
                }
              }
            ],
            "except": [
              {
                "type": "CancelledError"
              }
            ]
          },
          {
            "op": "create_future",
            "future": "f0"
          },
          {
            "op": "create_task",
            "coro": "c3",
            "task": "t2"
          },
          {
            "op": "cancel",
            "task": "t2"
          }
        ]
      },
      {
        "name": "c1",
        "body": [
          {
            "op": "taskgroup",
            "group": "g0",
            "body": [
              {
                "op": "create_task",
                "coro": "c3",
                "task": "t3"
              }
            ]
          }
        ]
      },
      {
        "name": "c2",
        "body": [
          {
            "op": "try",
            "body": [
              {
                "op": "cancel",
                "task": "t0"
              },
              {
                "op": "taskgroup",
                "group": "g1",
                "body": [
                  {
                    "op": "create_task",
                    "coro": "c3",
                    "task": "t0",
                    "group": "g1"
                  },
                  {
                    "op": "sleep",
                    "ticks": 0
                  },
                  {
                    "op": "await",
                    "on": {
                      "wait_for": {
                        "task": "t0"
                      },
                      "timeout": 1
                    }
                  }
                ]
              }
            ],
            "finally": []
          }
        ]
      },
      {
        "name": "c3",
        "body": [
          {
            "op": "timeout",
            "delay": 1,
            "body": [
              {
                "op": "raise",
                "exc": {
                  "type": "ValueError"
                }
              }
            ]
          }
        ]
      }
    ],
    "description": "two tasks of c2 (the first dropped when t1 is bound again) each run a TaskGroup whose body awaits wait_for on a child that fails; t0 keeps the last child's ValueError"
  } as Scenario;

const run = (version: PythonVersion): Trace => runScenario(makeReference(version), SCENARIO);
const reports = (t: Trace) => t.events.filter((e) => e.ev === "exception_handler");

describe("gc mode: an exception raised in an async with body keeps the driver's frame, and so the context manager", () => {
  for (const version of ["3.11", "3.12", "3.13"] as const) {
    it(`${version}: the dropped task stays alive, held by its TaskGroup's parent through the ValueError kept by t0`, () => {
      const t = run(version);
      expect(reports(t)).toEqual([]);
      expect(t.tasks.map((x) => x.name)).toContain("Task-3");
    });
  }
});
