/**
 * The ledger of the processes a run killed (harness/targets/isolation/processes.ts):
 * code running for a run, however late in its async work, finds that run's
 * ledger; one run alone in the process needs no async context, and runs
 * with other ledgers keep apart.
 */
import { describe, expect, it } from "vitest";
import { currentLedger, withProcessLedger } from "../harness/targets/isolation/processes";
import type { StartedProcess } from "../harness/targets/isolation/processes";

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1));
const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));
/** A ledger told apart from the others by a first entry of its own (ledgers are compared by value below). */
let made = 0;
const ledger = (): StartedProcess[] => [{ pid: -1, start: String(++made), command: `ledger ${made}` }];

describe("the process ledger", () => {
  it("a run alone: its ledger throughout its async work, none before or after", async () => {
    const a = ledger();
    expect(currentLedger()).toBeUndefined();
    const seen: Array<StartedProcess[] | undefined> = [];
    await withProcessLedger(a, async () => {
      seen.push(currentLedger());
      await tick();
      seen.push(currentLedger());
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          seen.push(currentLedger());
          resolve();
        }, 2),
      );
      await immediate();
      seen.push(currentLedger());
    });
    expect(seen).toHaveLength(4);
    for (const l of seen) expect(l).toBe(a);
    expect(currentLedger()).toBeUndefined();
  });

  it("runs with different ledgers at once keep apart, whichever ends first", async () => {
    const a = ledger();
    const b = ledger();
    const seenA: Array<StartedProcess[] | undefined> = [];
    const seenB: Array<StartedProcess[] | undefined> = [];
    let bStarted!: () => void;
    const bHasStarted = new Promise<void>((resolve) => (bStarted = resolve));
    let aMayEnd!: () => void;
    const aEnds = new Promise<void>((resolve) => (aMayEnd = resolve));
    const runA = withProcessLedger(a, async () => {
      seenA.push(currentLedger());
      await bHasStarted;
      seenA.push(currentLedger());
      await tick();
      seenA.push(currentLedger());
      await aEnds;
      seenA.push(currentLedger());
    });
    const runB = withProcessLedger(b, async () => {
      seenB.push(currentLedger());
      bStarted();
      await tick();
      seenB.push(currentLedger());
      aMayEnd();
      await runA;
      await tick();
      seenB.push(currentLedger());
    });
    await Promise.all([runA, runB]);
    expect(seenA).toHaveLength(4);
    expect(seenB).toHaveLength(3);
    for (const l of seenA) expect(l).toBe(a);
    for (const l of seenB) expect(l).toBe(b);
    expect(currentLedger()).toBeUndefined();
  });

  it("runs with the same ledger at once (a pool worker's requests) share it until the last ends", async () => {
    const a = ledger();
    let firstDone = false;
    const first = withProcessLedger(a, async () => {
      await tick();
      firstDone = true;
    });
    const second = withProcessLedger(a, async () => {
      await first;
      expect(firstDone).toBe(true);
      await tick();
      return currentLedger();
    });
    expect(await second).toBe(a);
    expect(currentLedger()).toBeUndefined();
  });

  it("a run within another's async work has its own ledger; the outer one keeps its", async () => {
    const a = ledger();
    const b = ledger();
    const c = ledger();
    const seen: Array<[string, StartedProcess[] | undefined]> = [];
    await withProcessLedger(a, async () => {
      await tick();
      const inner = withProcessLedger(b, async () => {
        await tick();
        seen.push(["inner", currentLedger()]);
        // A third run started within the inner one's context: its own again.
        await withProcessLedger(c, async () => {
          await immediate();
          seen.push(["third", currentLedger()]);
        });
        seen.push(["inner after", currentLedger()]);
      });
      seen.push(["outer", currentLedger()]);
      await inner;
      seen.push(["outer after", currentLedger()]);
    });
    expect(seen).toEqual([
      ["outer", a],
      ["inner", b],
      ["third", c],
      ["inner after", b],
      ["outer after", a],
    ]);
    expect(seen[2][1]).toBe(c);
    expect(currentLedger()).toBeUndefined();
  });

  it("a run that throws before it returns leaves no ledger behind", async () => {
    expect(() =>
      withProcessLedger(ledger(), () => {
        throw new Error("at once");
      }),
    ).toThrow("at once");
    expect(currentLedger()).toBeUndefined();
    await expect(withProcessLedger(ledger(), async () => Promise.reject(new Error("later")))).rejects.toThrow("later");
    expect(currentLedger()).toBeUndefined();
  });
});
