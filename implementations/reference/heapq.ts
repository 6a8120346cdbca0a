/**
 * Python's heapq, operation for operation.
 *
 * The order in which timers with equal deadlines fire is not FIFO in CPython:
 * it is whatever its binary heap produces. Reproducing that order exactly
 * needs the same sift algorithms (the C _heapq module and heapq.py agree),
 * comparing with `<` only, as Python's heapq does.
 */

export interface Ordered<T> {
  lt(other: T): boolean;
}

export function heappush<T extends Ordered<T>>(heap: T[], item: T): void {
  heap.push(item);
  siftdown(heap, 0, heap.length - 1);
}

/** Pop the smallest item (the loop pops only a heap that holds one). */
export function heappop<T extends Ordered<T>>(heap: T[]): T {
  const last = heap.pop() as T;
  if (heap.length > 0) {
    const top = heap[0];
    heap[0] = last;
    siftup(heap, 0);
    return top;
  }
  return last;
}

export function heapify<T extends Ordered<T>>(heap: T[]): void {
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftup(heap, i);
}

/** Move heap[pos] up towards startpos while it is smaller than its parent. */
function siftdown<T extends Ordered<T>>(heap: T[], startpos: number, pos: number): void {
  const newitem = heap[pos];
  while (pos > startpos) {
    const parentpos = (pos - 1) >> 1;
    const parent = heap[parentpos];
    if (newitem.lt(parent)) {
      heap[pos] = parent;
      pos = parentpos;
      continue;
    }
    break;
  }
  heap[pos] = newitem;
}

/**
 * Move the smaller child up until a leaf is reached, then sift the item down
 * from there (Floyd's trick, as in heapq.py): this, not a textbook sift,
 * decides where equal elements end up.
 */
function siftup<T extends Ordered<T>>(heap: T[], pos: number): void {
  const endpos = heap.length;
  const startpos = pos;
  const newitem = heap[pos];
  let childpos = 2 * pos + 1;
  while (childpos < endpos) {
    const rightpos = childpos + 1;
    if (rightpos < endpos && !heap[childpos].lt(heap[rightpos])) childpos = rightpos;
    heap[pos] = heap[childpos];
    pos = childpos;
    childpos = 2 * pos + 1;
  }
  heap[pos] = newitem;
  siftdown(heap, startpos, pos);
}
