/**
 * One scale scenario on the reference, in a process of its own so that its
 * peak memory is the scenario's: `ts-node -T bench/scale/reference-child.ts
 * SHAPE STEPS` prints {seconds, baseKb, peakKb}. The time covers writing the
 * repeats out, running, and building the trace (what `runScenario` does);
 * not loading the code.
 */
import { runScenario } from "../../harness/engine/interpreter";
import { makeReference } from "../../implementations/reference";
import { scenario, SHAPES, type Shape } from "./shapes";

function main(): void {
  const [shape, steps] = [process.argv[2] as Shape, Number(process.argv[3])];
  if (!SHAPES.includes(shape)) throw new Error(`unknown shape ${shape}`);
  const written = scenario(shape, steps).scenario;
  const impl = makeReference("3.11");
  const baseKb = process.resourceUsage().maxRSS;
  const t0 = process.hrtime.bigint();
  const trace = runScenario(impl, written);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (trace.end.kind !== "complete") throw new Error(`the run ended ${JSON.stringify(trace.end)}`);
  process.stdout.write(JSON.stringify({ seconds, baseKb, peakKb: process.resourceUsage().maxRSS }) + "\n");
}

main();
