/**
 * V8's optimising compiler, set for the harness's own processes (the CLI,
 * its pool and mutants workers, and the bench's in-process diff, which runs
 * as the CLI does).
 *
 * Inlining off (`--no-turbo-inlining`). A run is short and its hot code is
 * broad: generation, lowering, the interpreter's generators, the reference,
 * the driver protocol. With inlining, TurboFan compiled about 170 functions
 * in the first 2,000 scenarios of a diff, some of them several times over
 * (after deoptimisations), into graphs that took it up to 80 ms each: about
 * 0.2 ms of CPU a scenario on a background thread, which on two cores
 * competes with the driver. Without inlining the harness's CPU per scenario
 * fell by a sixth in the first thousands of scenarios and by a tenth after
 * 20,000, and its main thread was no slower (docs/performance.md, profile
 * 15). The flag is read at each compilation, so setting it once a process
 * has started and before its code is hot is enough; what an implementation
 * under test runs in its own process (a driver, an isolated module) is left
 * as it is.
 */
import { setFlagsFromString } from "node:v8";

let set = false;

/** Set the harness's V8 flags in this process (once; later calls do nothing). */
export function tuneCompiler(): void {
  if (set) return;
  set = true;
  setFlagsFromString("--no-turbo-inlining");
}
