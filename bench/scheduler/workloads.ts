/**
 * The scheduler workloads, their sizes and how they are timed: shared by
 * the reference (reference.ts) and plain Node promises (node.ts);
 * scheduler.py has the same names and sizes for CPython's asyncio and uvloop.
 */
export const WORKLOADS = ["spawn_gather", "sleep0_switches", "future_ping_pong", "taskgroup_fan_out", "timers_cancel"] as const;
export type Workload = (typeof WORKLOADS)[number];

export interface Sizes {
  /** Tasks created, then gathered. */
  spawn: number;
  /** sleep(0) calls in all ... */
  switches: number;
  /** ... shared by this many tasks (the reference's loop allows 200,000 iterations a run). */
  switchTasks: number;
  /** Round trips between two tasks over futures. */
  pingPong: number;
  /** Tasks in one TaskGroup. */
  fanOut: number;
  /** Timers made (half of them cancelled). */
  timers: number;
}

/** The sizes, and a tenth of them for --quick. */
export const FULL_SIZES: Sizes = { spawn: 100_000, switches: 1_000_000, switchTasks: 10, pingPong: 100_000, fanOut: 10_000, timers: 10_000 };
export const QUICK_SIZES: Sizes = { spawn: 10_000, switches: 100_000, switchTasks: 10, pingPong: 10_000, fanOut: 1_000, timers: 1_000 };

/** The command-line form the three runners take: key=value words, and repeat=N. */
export function sizeArgs(sizes: Sizes, repeat: number): string[] {
  return [...Object.entries(sizes).map(([k, v]) => `${k}=${v}`), `repeat=${repeat}`];
}

export function parseSizes(argv: string[]): { sizes: Sizes; repeat: number } {
  const kv = Object.fromEntries(argv.map((a) => a.split("=")).map(([k, v]) => [k, Number(v)]));
  const sizes = { ...FULL_SIZES };
  for (const k of Object.keys(sizes) as Array<keyof Sizes>) if (k in kv) sizes[k] = kv[k];
  return { sizes, repeat: kv.repeat ?? 3 };
}

/**
 * The best of `repeat` timings, in seconds: on a shared machine the
 * fastest run is the one least disturbed by the others' work.
 */
export function bestOf(repeat: number, body: () => void): number {
  let best = Infinity;
  for (let i = 0; i < repeat; i++) {
    const t0 = process.hrtime.bigint();
    body();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return best;
}

export async function bestOfAsync(repeat: number, body: () => Promise<void>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < repeat; i++) {
    const t0 = process.hrtime.bigint();
    await body();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return best;
}
