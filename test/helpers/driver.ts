/**
 * Scenarios on a real Python, straight through the driver (no harness in
 * between): what the tests that hold the reference to CPython compare with.
 * One driver process per call, the scenarios its requests in order (request
 * id = index), its replies read after it exits.
 */
import { spawnSync } from "node:child_process";
import { expect } from "vitest";
import { DRIVER_PATH } from "../../harness/targets";
import type { Trace } from "../../spec/scenario/trace";

export interface DriverRun {
  /** The driver's hello (harness/targets/driver.ts: version, python, implementation, task, ...). */
  hello: { version: string; python: string; implementation?: string; [field: string]: unknown };
  /** hello.version: the Python version the driver runs on. */
  version: string;
  /** The traces, by the scenario's index. */
  traces: Map<number, Trace>;
  /** The error replies, by the scenario's index. */
  errors: Map<number, string>;
  /** What the driver wrote on stderr. */
  stderr: string;
}

/**
 * Run `scenarios` in one driver process on `python`. `options` goes with
 * every request (e.g. { task: "py" }: the pure-Python Task). Throws when the
 * driver could not run or exited with an error.
 */
export function runOnDriver(python: string, scenarios: readonly unknown[], options: Record<string, unknown> = {}): DriverRun {
  const withOptions = Object.keys(options).length > 0;
  const input = scenarios.map((scenario, id) => JSON.stringify(withOptions ? { id, scenario, options } : { id, scenario })).join("\n") + "\n";
  const r = spawnSync(python, [DRIVER_PATH], { input, encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${python} driver exited with ${r.status}: ${r.stderr}`);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const hello = lines[0].hello;
  const run: DriverRun = { hello, version: hello.version, traces: new Map(), errors: new Map(), stderr: r.stderr };
  for (const reply of lines.slice(1)) {
    if (reply.error !== undefined) run.errors.set(reply.id, reply.error);
    else run.traces.set(reply.id, reply.trace);
  }
  return run;
}

/** The traces of `scenarios`, in order; a test fails on any error reply (shown with its index). */
export function driverTraces(python: string, scenarios: readonly unknown[], options: Record<string, unknown> = {}): Trace[] {
  const run = runOnDriver(python, scenarios, options);
  expect([...run.errors.entries()]).toEqual([]);
  return scenarios.map((_, i) => run.traces.get(i)!);
}

/** The trace of one scenario; a test fails on an error reply. */
export function driverTrace(python: string, scenario: unknown, options: Record<string, unknown> = {}): Trace {
  return driverTraces(python, [scenario], options)[0];
}
