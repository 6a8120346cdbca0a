/**
 * Scale: each shape (shapes.ts) at growing sizes, on the reference (a child
 * Node process per run) and on a CPython through the driver alone; time and
 * peak memory on both sides, and the cost per step, whose ratio to the
 * cost at 1,000 steps should stay near 1 if the cost per step is flat.
 *
 * A run past the time limit is stopped and the row says so; a larger size
 * of the same shape and side is then not tried (it would take longer still).
 */
import { runScript, lastJson, failure } from "../lib/child";
import { ok, missing, type Row } from "../lib/rows";
import { runOnDriver, type ScaleRun } from "./driver";
import { SHAPES, DESCRIPTIONS, infeasible, scenario, type Shape } from "./shapes";

export interface ScaleOptions {
  sizes: number[];
  /** The CPython driver's interpreter and its id, or why it is absent. */
  python?: string;
  pythonId: string;
  why?: string;
  timeoutMs: number;
  log: (s: string) => void;
}

async function onReference(shape: Shape, steps: number, timeoutMs: number): Promise<ScaleRun> {
  const f = await runScript("bench/scale/reference-child.ts", [shape, String(steps)], timeoutMs);
  if (f.code !== 0) throw new Error(failure(f, timeoutMs));
  return lastJson<ScaleRun>(f);
}

function name(shape: Shape, steps: number, side: string): string {
  return `${shape} ${steps.toLocaleString("en")} steps: ${side}`;
}

/** The row of one run, or why it has none. */
async function measure(
  shape: Shape, size: number, steps: number, side: string, run: () => Promise<ScaleRun>, stopped: Set<string>, opts: ScaleOptions,
): Promise<Row> {
  const rowName = name(shape, steps, side);
  const key = `${shape}/${side}`;
  const why = infeasible(shape, steps);
  if (why) return missing("scale", rowName, "infeasible", why);
  if (stopped.has(key)) return missing("scale", rowName, "not run", `not run: a smaller ${shape} run on ${side} was already stopped`);
  opts.log(`scale: ${rowName}`);
  try {
    const r = await run();
    return ok("scale", rowName, r.seconds, { size, steps, usPerStep: (r.seconds / steps) * 1e6, peakMb: r.peakKb / 1024, baseMb: r.baseKb / 1024 });
  } catch (e) {
    stopped.add(key);
    return missing("scale", rowName, "failed", (e as Error).message);
  }
}

/** "tasks 1,000 steps: reference" -> "tasks/reference" */
function shapeAndSide(rowName: string): string {
  const [shapeSize, side] = rowName.split(": ");
  return `${shapeSize.split(" ")[0]}/${side}`;
}

/** Each row's cost per step against the same shape and side at size `from`. */
function perStepRatios(rows: Row[], from: number): Row[] {
  return rows.map((r) => {
    if (r.status !== "ok") return r;
    const base = rows.find((b) => b.status === "ok" && b.figures!.size === from && shapeAndSide(b.name) === shapeAndSide(r.name));
    if (!base) return r;
    return { ...r, ratio: r.figures!.usPerStep / base.figures!.usPerStep, ratioTo: `${base.name} (per step)` };
  });
}

export async function scaleRows(opts: ScaleOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const stopped = new Set<string>();
  for (const shape of SHAPES) {
    for (const size of opts.sizes) {
      const steps = scenario(shape, size).steps;
      rows.push(await measure(shape, size, steps, "reference", () => onReference(shape, steps, opts.timeoutMs), stopped, opts));
      if (!opts.python) rows.push(missing("scale", name(shape, steps, opts.pythonId), "absent", opts.why ?? "not found"));
      else rows.push(await measure(shape, size, steps, opts.pythonId, () => runOnDriver(opts.python!, shape, steps, opts.timeoutMs), stopped, opts));
    }
  }
  // Per-step cost is compared from 1,000 steps: at 10, fixed costs dominate.
  return perStepRatios(rows, opts.sizes.includes(1000) ? 1000 : opts.sizes[0]);
}

export { DESCRIPTIONS };
