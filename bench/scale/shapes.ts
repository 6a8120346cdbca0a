/**
 * The scale scenarios: one shape, written with `repeat`
 * (docs/scenario-language.md#repetition-repeat), at any number of
 * steps. Each shape's size counts what it multiplies (tasks created, timers
 * scheduled, sleeps taken); a repeat runs at most 100,000 times, so larger
 * sizes nest two repeats.
 */
import type { Scenario } from "../../spec/scenario/types";
import { MAX_REPEAT_TIMES } from "../../spec/scenario/repeat";

export const SHAPES = ["tasks", "timers", "sleeps"] as const;
export type Shape = (typeof SHAPES)[number];

export const DESCRIPTIONS: Record<Shape, string> = {
  tasks: "main creates tasks (each logs and returns), then sleeps 1 tick",
  timers: "main schedules call_later timers over 100 ticks, cancelling every fourth, then sleeps past them",
  sleeps: "main awaits sleep(0) again and again (one loop iteration each)",
};

/** The loop's iteration budget (MAX_LOOP_ITERATIONS, the same in the reference and the driver). */
export const ITERATION_BUDGET = 200_000;

/** Why a shape cannot run at a size, or null when it can. */
export function infeasible(shape: Shape, steps: number): string | null {
  if (shape === "sleeps" && steps > ITERATION_BUDGET) {
    return `infeasible: ${steps.toLocaleString("en")} sleep(0)s are as many loop iterations, over a run's budget of ${ITERATION_BUDGET.toLocaleString("en")} (MAX_LOOP_ITERATIONS)`;
  }
  return null;
}

/**
 * A shape's layout: steps outside the repeat, steps per round, and the
 * round's body (`idx` is the text that makes names unique in the round).
 */
interface Layout {
  fixed: number;
  perRound: number;
  round(idx: string): unknown[];
  /** The scenario around the rounds. */
  wrap(rounds: unknown[]): Scenario;
}

const LAYOUTS: Record<Shape, Layout> = {
  tasks: {
    fixed: 3, // main's sleep, the worker's log and return
    perRound: 1,
    round: (idx) => [{ op: "create_task", coro: "worker", task: `t${idx}` }],
    wrap: (rounds) => scenarioOf([...rounds, { op: "sleep", ticks: 1 }], [
      { name: "worker", body: [{ op: "log", label: "w" }, { op: "return", value: 1 }] },
    ]),
  },
  timers: {
    fixed: 2, // main's sleep, the callback's log
    perRound: 5,
    round: (idx) => [
      ...["a", "b", "c", "d"].map((k, n) => ({ op: "call_later", delay: `{i%${100 - n}}`, callback: "tick", handle: `h${idx}${k}` })),
      { op: "cancel_handle", handle: `h${idx}a` },
    ],
    wrap: (rounds) => scenarioOf([...rounds, { op: "sleep", ticks: 101 }], [], [{ name: "tick", body: [{ op: "log", label: "tick" }] }]),
  },
  sleeps: {
    fixed: 0,
    perRound: 1,
    round: () => [{ op: "sleep", ticks: 0 }],
    wrap: (rounds) => scenarioOf(rounds, []),
  },
};

function scenarioOf(mainBody: unknown[], coroutines: unknown[], callbacks?: unknown[]): Scenario {
  return {
    aiospec: 1,
    coroutines: [{ name: "main", body: mainBody }, ...coroutines],
    ...(callbacks ? { callbacks } : {}),
  } as unknown as Scenario;
}

/**
 * `rounds` copies of a round: whole blocks of MAX_REPEAT_TIMES as an outer
 * repeat around an inner one (names "{j}_{i}"), then the rest (names "r{i}").
 */
function repeated(rounds: number, round: (idx: string) => unknown[]): unknown[] {
  const blocks = Math.floor(rounds / MAX_REPEAT_TIMES);
  const rest = rounds % MAX_REPEAT_TIMES;
  const out: unknown[] = [];
  if (blocks > 0) out.push({ op: "repeat", times: blocks, var: "j", body: [{ op: "repeat", times: MAX_REPEAT_TIMES, var: "i", body: round("{j}_{i}") }] });
  if (rest > 0) out.push({ op: "repeat", times: rest, var: "i", body: round("r{i}") });
  return out;
}

/** The shape at (at most) `steps` written-out steps, and how many it has exactly. */
export function scenario(shape: Shape, steps: number): { scenario: Scenario; steps: number } {
  const layout = LAYOUTS[shape];
  const rounds = Math.max(1, Math.floor((steps - layout.fixed) / layout.perRound));
  return { scenario: layout.wrap(repeated(rounds, layout.round)), steps: layout.fixed + rounds * layout.perRound };
}
