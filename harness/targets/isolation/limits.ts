/**
 * The limits the isolation layer enforces on an implementation under test,
 * and their defaults. Every one can be set per target through
 * `resolveTarget(id, versionHint, options)` (harness/targets/index.ts).
 */

export interface IsolationLimits {
  /** Time a single case (one scenario) may take before it is stopped and given the verdict "timeout". */
  timeoutMs: number;
  /** Time a module may take to load (or a driver to say hello) before the target is declared unusable. */
  startTimeoutMs: number;
  /** Replacement workers / driver processes a target may start after failures; past it, every further case fails fast. */
  maxRestarts: number;
  /** Largest reply accepted: a trace's JSON (worker) or one stdout line (driver), in bytes. */
  maxReplyBytes: number;
  /** V8 old-generation heap limit of an implementation's child process, in MB (a runaway allocation ends the case, not the harness). */
  workerHeapMb: number;
  /** Resident memory (heap, Buffers, native memory) an implementation's child process may use, in MB; past it the case is "out of memory". */
  memoryMb: number;
}

export const DEFAULT_LIMITS: Readonly<IsolationLimits> = Object.freeze({
  timeoutMs: 5_000,
  startTimeoutMs: 20_000,
  maxRestarts: 20,
  maxReplyBytes: 8 * 1024 * 1024,
  workerHeapMb: 512,
  memoryMb: 1024,
});

/** Node's timers hold at most 2^31-1 ms (about 24.8 days); a longer delay fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Something the isolation layer did that a caller may want to show (restarts, giving up). */
export interface IsolationEvent {
  kind: "restart" | "gave-up";
  /** The target's id. */
  target: string;
  /** Why: the failure that killed the worker / driver, or why the target gave up. */
  reason: string;
  /** Restarts so far. */
  restarts: number;
}

/** Counters a supervised target keeps. */
export interface IsolationStats {
  /** How the target runs: in-process, in a worker thread, or in a child process. */
  isolation: "in-process" | "worker" | "process";
  cases: number;
  timeouts: number;
  errors: number;
  restarts: number;
  /** Set once the target stopped running cases (restart limit reached, or a replacement could not start). */
  gaveUp: string | null;
}

export function resolveLimits(partial: Partial<IsolationLimits> = {}): IsolationLimits {
  const out = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as Array<keyof IsolationLimits>) {
    const v = partial[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (key !== "maxRestarts" && v === 0)) {
      throw new RangeError(`isolation limit ${key} must be a ${key === "maxRestarts" ? "non-negative" : "positive"} number, got ${String(v)}`);
    }
    if ((key === "timeoutMs" || key === "startTimeoutMs") && v > MAX_TIMER_MS) {
      throw new RangeError(`isolation limit ${key} must be at most ${MAX_TIMER_MS} ms (the longest timer Node can set), got ${String(v)}`);
    }
    out[key] = Math.floor(v);
  }
  return out;
}

/** A message on one line, at most `max` characters. */
export function oneLine(s: string, max = 400): string {
  const flat = s.replace(/\s*\n\s*/g, " | ").replace(/\s+/g, " ").trim();
  return flat.length > max ? flat.slice(0, max - 1) + "…" : flat;
}

export function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
