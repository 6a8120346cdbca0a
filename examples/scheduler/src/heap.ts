/**
 * A binary min-heap that pops equal items in the same order as Python's
 * heapq.
 *
 * asyncio keeps its timers in a heapq ordered by deadline alone, so timers
 * due at the same moment come out in whatever order heapq's sift operations
 * leave them — not necessarily the order they were scheduled in. To run
 * same-deadline timers in CPython's order, push and pop must move items
 * exactly as heapq's documented algorithm does (a sift-down on push; on pop,
 * the smaller child climbs all the way to a leaf, then the moved item sifts
 * back up).
 */
export type Less<T> = (a: T, b: T) => boolean;

/** Move heap[pos] up towards the root while it is smaller than its parent. */
function siftTowardsRoot<T>(heap: T[], less: Less<T>, start: number, pos: number): void {
  const item = heap[pos];
  while (pos > start) {
    const parent = (pos - 1) >> 1;
    if (!less(item, heap[parent])) break;
    heap[pos] = heap[parent];
    pos = parent;
  }
  heap[pos] = item;
}

/** Move heap[pos] down to a leaf along the smaller children, then back up. */
function siftTowardsLeaves<T>(heap: T[], less: Less<T>, pos: number): void {
  const start = pos;
  const item = heap[pos];
  let child = 2 * pos + 1;
  while (child < heap.length) {
    const right = child + 1;
    if (right < heap.length && !less(heap[child], heap[right])) child = right;
    heap[pos] = heap[child];
    pos = child;
    child = 2 * pos + 1;
  }
  heap[pos] = item;
  siftTowardsRoot(heap, less, start, pos);
}

export function heappush<T>(heap: T[], item: T, less: Less<T>): void {
  heap.push(item);
  siftTowardsRoot(heap, less, 0, heap.length - 1);
}

export function heappop<T>(heap: T[], less: Less<T>): T {
  const last = heap.pop()!;
  if (heap.length === 0) return last;
  const top = heap[0];
  heap[0] = last;
  siftTowardsLeaves(heap, less, 0);
  return top;
}

export function heapify<T>(heap: T[], less: Less<T>): void {
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftTowardsLeaves(heap, less, i);
}
