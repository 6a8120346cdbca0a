/**
 * try / except* / finally for the TypeScript interpreter (PEP 654).
 * (Placeholder: implemented in a following commit.)
 */
import type { Coroutine } from "./api";
import type { TryStep } from "../spec/scenario/types";
import type { Return, ScenarioRun } from "./interpreter";

export function* runTryStar(_run: ScenarioRun, _s: TryStep): Coroutine<Return | undefined> {
  throw new Error("except* is not implemented in the TypeScript interpreter yet");
}
