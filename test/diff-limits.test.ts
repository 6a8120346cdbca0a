/**
 * A differential run against an implementation held to the isolation
 * layer's limits (harness/running/differential.ts):
 *
 *  - a scenario whose trace is over the reply limit on both sides is
 *    counted as both-errored (neither could be compared), not reported as
 *    a divergence: the in-process side's trace is held to the limit the
 *    other side's reply broke (a generated `--size large` scenario whose
 *    tasks list all_tasks() over and over writes tens of MiB);
 *  - shrinking a divergence where one side crashes gives every smaller
 *    case a fresh restart budget, so the counterexample still makes it
 *    crash rather than ending at a case that fails only because the side
 *    was given up on.
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { resolveTarget } from "../harness/targets";
import type { Target, TargetOptions } from "../harness/targets";
import { differential } from "../harness/running/differential";

const open: Target[] = [];
async function target(id: string, options: TargetOptions = {}): Promise<Target> {
  const t = await resolveTarget(id, "3.13", options);
  open.push(t);
  return t;
}
afterAll(async () => {
  for (const t of open) await t.close();
});

const DRIVER = path.resolve(__dirname, "fixtures", "impls", "misbehaving_driver.py");
const python3 = spawnSync("python3", ["--version"]).status === 0;

/** Whether a scenario (or any part of it) sleeps: what makes the misbehaving driver misbehave. */
function sleeps(x: unknown): boolean {
  if (Array.isArray(x)) return x.some(sleeps);
  if (typeof x !== "object" || x === null) return false;
  const o = x as Record<string, unknown>;
  return o.op === "sleep" || "sleep" in o || Object.values(o).some(sleeps);
}

describe("a trace over the reply limit", () => {
  it("on both sides is both-errored, not a divergence; the others are compared", async () => {
    const limit = 64 * 1024;
    const a = await target("reference@3.13");
    const b = await target("reference@3.13", { isolate: true, maxReplyBytes: limit, timeoutMs: 30_000 });
    const r = await differential(a, b, { runs: 300, seed: 1, size: "large" });
    expect(r.divergence).toBeUndefined();
    expect(r.bothErrored).toBeGreaterThan(0);
    expect(r.compared).toBeGreaterThan(r.bothErrored);
    expect(r.compared + r.bothErrored).toBe(300);
    expect(r.bothErroredExample!.a).toMatch(/^the trace is \d+\.\d MiB of JSON, over the other side's 0\.1 MiB reply limit$/);
    expect(r.bothErroredExample!.b).toMatch(/^the trace is \d+\.\d MiB of JSON, over the 0\.1 MiB limit$/);
    // The child process served every case: no restart for a trace too large.
    expect(b.stats!().restarts).toBe(0);
  }, 300_000);
});

describe.runIf(python3)(`shrinking a divergence where a side crashes${python3 ? "" : " — skipped: no python3 on PATH (the crashing fixture is a Python driver)"}`, () => {
  it("keeps the side running: the counterexample still makes it crash", async () => {
    const a = await target("reference@3.13");
    // The fixture exits on every scenario that sleeps; with 2 restarts the shrinking would give it up at once.
    const b = await target(`cmd:python3 ${DRIVER} exit`, { maxRestarts: 2, timeoutMs: 30_000 });
    const r = await differential(a, b, { runs: 200, seed: 1 });
    expect(r.divergence).toBeDefined();
    expect(r.shrinks).toBeGreaterThan(2);
    expect(sleeps(r.divergence!.scenario)).toBe(true);
    expect((r.divergence!.b as { error: string }).error).toMatch(/the driver exited with code 3: misbehaving driver: exiting mid-run/);
    expect(b.stats!().gaveUp).toBeNull();
  }, 300_000);
});
