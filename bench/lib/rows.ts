/**
 * The rows of the bench's table and results.json. Every timed figure comes
 * with its ratio to the section's baseline, measured in the same run: on a
 * shared machine absolute times drift with the load, ratios much less.
 */
export type Status = "ok" | "absent" | "not run" | "infeasible" | "failed";

export interface Row {
  section: "verdict" | "differential" | "scale" | "scheduler";
  /** What was measured, e.g. "run --impl cpython-3.11". */
  name: string;
  status: Status;
  /** Why the row has no figures (absent, not run, infeasible, failed). */
  note?: string;
  /** Wall seconds. */
  seconds?: number;
  /** seconds / the baseline's seconds (the row named by `ratioTo`). */
  ratio?: number;
  ratioTo?: string;
  /** Any further figures of the row (phases, rates, memory). */
  figures?: Record<string, number>;
}

export function ok(section: Row["section"], name: string, seconds: number, figures?: Record<string, number>): Row {
  return { section, name, status: "ok", seconds, ...(figures ? { figures } : {}) };
}

export function missing(section: Row["section"], name: string, status: Exclude<Status, "ok">, note: string): Row {
  return { section, name, status, note };
}

/** Give every ok row of `rows` its ratio to the row named `base` (when that row has figures). */
export function withRatios(rows: Row[], base: string): Row[] {
  const b = rows.find((r) => r.name === base && r.status === "ok");
  if (!b || !b.seconds) return rows;
  return rows.map((r) => (r.status === "ok" && r.seconds !== undefined ? { ...r, ratio: r.seconds / b.seconds!, ratioTo: base } : r));
}
