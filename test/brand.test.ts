/**
 * Exceptions cross copies of aiospec's modules (harness/engine/brand.ts): an
 * implementation built on one copy (the TypeScript sources, another install)
 * and a harness running another (dist/) must recognise each other's
 * PyBaseException, Deadlock and IterationLimit, or a CancelledError would be
 * reported as a crash.
 */
import { describe, expect, it, vi } from "vitest";
import * as pyexcA from "../harness/engine/pyexc";
import * as apiA from "../harness/engine/api";

async function secondCopy() {
  vi.resetModules();
  const pyexcB = await import("../harness/engine/pyexc");
  const apiB = await import("../harness/engine/api");
  return { pyexcB, apiB };
}

describe("two copies of the engine's classes", () => {
  it("are two copies: the classes differ", async () => {
    const { pyexcB, apiB } = await secondCopy();
    expect(pyexcB.PyBaseException).not.toBe(pyexcA.PyBaseException);
    expect(apiB.Deadlock).not.toBe(apiA.Deadlock);
  });

  it("recognise each other's exceptions, and isinstance follows Python's hierarchy across them", async () => {
    const { pyexcB } = await secondCopy();
    const fromB = pyexcB.pyexc("CancelledError", "bye");
    expect(fromB instanceof pyexcA.PyBaseException).toBe(true);
    expect(pyexcA.pyexc("ValueError") instanceof pyexcB.PyBaseException).toBe(true);
    expect(pyexcA.isinstance(fromB, "BaseException")).toBe(true);
    expect(pyexcA.isinstance(fromB, "Exception")).toBe(false);
  });

  it("recognise each other's Deadlock and IterationLimit, and tell them apart", async () => {
    const { apiB } = await secondCopy();
    expect(new apiB.Deadlock() instanceof apiA.Deadlock).toBe(true);
    expect(new apiB.IterationLimit() instanceof apiA.IterationLimit).toBe(true);
    expect(new apiB.Deadlock() instanceof apiA.IterationLimit).toBe(false);
    expect(new apiB.Deadlock() instanceof pyexcA.PyBaseException).toBe(false);
  });

  it("do not mistake other values for them", () => {
    for (const v of [new Error("x"), null, undefined, 3, "CancelledError", { type: "CancelledError" }]) {
      expect(v instanceof pyexcA.PyBaseException).toBe(false);
      expect(v instanceof apiA.Deadlock).toBe(false);
    }
  });
});
