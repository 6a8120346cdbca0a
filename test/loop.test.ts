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

/**
 * Timer clean-up: with more than 100 timers of which more than half are
 * cancelled, CPython rebuilds the heap (heapify) instead of popping cancelled
 * timers from the head; equal deadlines then come out in a different order.
 * The same program runs on CPython's loop (the driver's virtual-clock
 * subclass) and on the reference.
 */
describe("cancelled timers", () => {
  // [when, cancel?] for each timer, in scheduling order, then more timers after a first run.
  function plan(seed: number): { first: Array<[number, boolean]>; second: number[] } {
    let x = seed;
    const rnd = (n: number) => ((x = (x * 1103515245 + 12345) % 2 ** 31), x % n);
    const first: Array<[number, boolean]> = [];
    for (let i = 0; i < 90 + rnd(80); i++) first.push([1 + rnd(4), rnd(10) < 6]);
    const second: number[] = [];
    for (let i = 0; i < 10 + rnd(20); i++) second.push(2 + rnd(3));
    return { first, second };
  }

  function python(p: ReturnType<typeof plan>): number[] {
    const program = `
import json, sys
sys.path.insert(0, ${JSON.stringify(require("node:path").resolve(__dirname, "..", "implementations", "python"))})
import aiospec_driver as d
loop = d.VirtualTimeLoop()
order = []
p = json.loads(sys.argv[1])
handles = [loop.call_at(w, order.append, i) for i, (w, c) in enumerate(p["first"])]
for h, (w, c) in zip(handles, p["first"]):
    if c: h.cancel()
n = len(p["first"])
loop.call_soon(lambda: [loop.call_at(w, order.append, n + j) for j, w in enumerate(p["second"])])
loop.call_at(10, loop.stop)
loop.run_forever()
print(json.dumps(order))
`;
    const r = spawnSync("python3", ["-c", program, JSON.stringify(p)], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    return JSON.parse(r.stdout);
  }

  function reference(p: ReturnType<typeof plan>): number[] {
    const loop = new EventLoop(profileFor("3.11"), taskFactory);
    const order: number[] = [];
    const handles = p.first.map(([w], i) => loop.call_at(w, (k: number) => order.push(k), i));
    handles.forEach((h, i) => p.first[i][1] && h.cancel());
    const n = p.first.length;
    loop.call_soon(() => p.second.forEach((w, j) => loop.call_at(w, (k: number) => order.push(k), n + j)));
    loop.call_at(10, () => loop.stop());
    loop.run_forever();
    return order;
  }

  it("are dropped and the heap rebuilt exactly as CPython does", () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const p = plan(seed);
      expect(reference(p), `seed ${seed}`).toEqual(python(p));
    }
  });
});
