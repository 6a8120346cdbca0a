import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { EventLoop } from "../implementations/reference/loop";
import { profileFor } from "../implementations/reference/profile";
import { taskFactory } from "../implementations/reference/tasks";
import { heappop, heappush } from "../implementations/reference/heapq";

/** What CPython's loop does with n timers due at the same moment, measured live. */
function cpythonEqualDeadlineOrder(n: number): number[] {
  const program = `
import asyncio, json
loop = asyncio.new_event_loop()
order = []
when = loop.time() + 0.02
for i in range(${n}):
    loop.call_at(when, order.append, i)
loop.call_at(when + 0.01, loop.stop)
loop.run_forever()
print(json.dumps(order))
`;
  const r = spawnSync("python3", ["-c", program], { encoding: "utf8" });
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

function referenceEqualDeadlineOrder(n: number): number[] {
  const loop = new EventLoop(profileFor("3.13"), taskFactory);
  const order: number[] = [];
  for (let i = 0; i < n; i++) loop.call_at(5, (x: number) => order.push(x), i);
  loop.call_at(6, () => loop.stop());
  loop.run_forever();
  return order;
}

describe("timers with equal deadlines", () => {
  it("run in CPython's binary-heap order, not FIFO", () => {
    expect(referenceEqualDeadlineOrder(12)).toEqual([0, 2, 6, 5, 11, 10, 9, 8, 7, 1, 3, 4]);
  });

  it("match a live CPython for several heap sizes", () => {
    for (const n of [3, 7, 12, 20, 33]) {
      expect(referenceEqualDeadlineOrder(n)).toEqual(cpythonEqualDeadlineOrder(n));
    }
  });
});

describe("heapq", () => {
  it("pops in key order", () => {
    class Key {
      constructor(readonly k: number) {}
      lt(o: Key): boolean {
        return this.k < o.k;
      }
    }
    const heap: Key[] = [];
    const keys = [5, 3, 9, 1, 7, 3, 8, 2];
    for (const k of keys) heappush(heap, new Key(k));
    const out: number[] = [];
    while (heap.length) out.push(heappop(heap).k);
    expect(out).toEqual([...keys].sort((a, b) => a - b));
  });
});

describe("the ready queue", () => {
  it("runs call_soon callbacks FIFO, each once, and later ones on the next iteration", () => {
    const loop = new EventLoop(profileFor("3.13"), taskFactory);
    const seen: string[] = [];
    loop.call_soon(() => {
      seen.push("a");
      loop.call_soon(() => seen.push("c"));
    });
    loop.call_soon(() => seen.push("b"));
    loop.runOnce();
    expect(seen).toEqual(["a", "b"]);
    loop.runOnce();
    expect(seen).toEqual(["a", "b", "c"]);
  });
});
