/**
 * CPython's set, as far as its iteration order goes.
 *
 * asyncio keeps tasks and futures in sets (TaskGroup._tasks, the sets of
 * asyncio.wait and as_completed) and iterates them: which child TaskGroup
 * cancels first, for instance, is the order of `for t in self._tasks`. That
 * order is the order of slots in the set's hash table, so to reproduce
 * CPython's traces the reference keeps its sets exactly as
 * Objects/setobject.c does (3.11, 3.12 and 3.13 share this code):
 *
 * - an open-addressing table of 2**k slots (8 at first: the "small table");
 *   a slot is unused, active (a key and its hash) or a dummy (a key was
 *   discarded there: probing must go on past it);
 * - a key's probe sequence starts at slot `hash & mask` and looks at up to
 *   LINEAR_PROBES following slots too (when they do not run off the end of
 *   the table), then jumps: `perturb >>= 5; i = (i*5 + 1 + perturb) & mask`,
 *   where perturb starts as the hash. Every slot is reached eventually;
 * - `fill` counts active and dummy slots, `used` active ones only. An insert
 *   into a never-used slot that makes fill*5 >= mask*3 rebuilds the table
 *   for used*4 keys (used*2 beyond 50000), dropping the dummies;
 * - iteration walks the slots in index order.
 *
 * Only what asyncio does with its sets is modelled: set(list), add, discard,
 * remove, clear, len and iteration (no pop, copy, `in`, or set(set), which
 * copies the table differently; test/pyset.test.ts checks every operation
 * here against CPython's set).
 *
 * Keys compare by identity (as tasks and futures do), and each key's hash is
 * an integer given by a function: by default the key's `pyHash`, the
 * creation number the loop gives tasks and futures (the Python driver pins
 * the same hashes on CPython's objects). Hashes are non-negative integers up
 * to 2**53 (CPython's are machine words; these are exact in a double).
 */
import { PyBaseException, pyexc } from "../../harness/engine/pyexc";

/** A hash table slot left by a discarded key. */
const DUMMY: unique symbol = Symbol("dummy");
type Slot<T> = T | typeof DUMMY | null;

/** setobject.c: PySet_MINSIZE, LINEAR_PROBES, PERTURB_SHIFT. */
const MINSIZE = 8;
const LINEAR_PROBES = 9;
const PERTURB_DIVISOR = 2 ** 5;

export type HashFunction<T> = (key: T) => number;

/** The default hash: the object's pyHash (tasks and loop.create_future() futures). */
export function pyHashOf(key: unknown): number {
  // Stryker disable next-line OptionalChaining: equivalent, keys are objects (PySet<T extends object>), never null, so `?.` never short-circuits
  const h = (key as { pyHash?: unknown } | null)?.pyHash;
  // An object without a pinned hash would hash by address in CPython: no
  // reproducible order exists for it.
  // Stryker disable next-line ConditionalExpression,BlockStatement,StringLiteral,ArrayDeclaration: equivalent, a guard no scenario reaches: the only sets hashing by pyHash are TaskGroups', of tasks, which always have one
  if (typeof h !== "number") throw new PyBaseException("TypeError", ["aiospec: this object has no pinned hash (pyHash) to go into a set"]);
  return h;
}

/**
 * The slots a key's search visits, in order, for a table of mask+1 slots:
 * the start slot and up to LINEAR_PROBES neighbours, then a pseudo-random jump.
 * (An endless generator: callers stop at the slot they are looking for.)
 */
function* probeSequence(hash: number, mask: number): Generator<number, never> {
  const size = mask + 1;
  let perturb = hash;
  let i = hash % size; // hash & mask, exact beyond 32 bits
  for (;;) {
    const linear = i + LINEAR_PROBES <= mask ? LINEAR_PROBES : 0;
    for (let j = 0; j <= linear; j++) yield i + j;
    perturb = Math.floor(perturb / PERTURB_DIVISOR);
    // (i*5 + 1 + perturb) & mask; reducing perturb first keeps it exact.
    i = (i * 5 + 1 + (perturb % size)) % size;
  }
}

export class PySet<T extends object> implements Iterable<T> {
  /** The slots (CPython also stores each key's hash beside it; the model recomputes it). */
  private keys: Slot<T>[] = new Array(MINSIZE).fill(null);
  private mask = MINSIZE - 1;
  /** Active + dummy slots. */
  private fill = 0;
  /** Active slots: the set's length. */
  private used = 0;
  private readonly hashOf: HashFunction<T>;

  /** set(list): the keys added one by one. */
  constructor(keys: readonly T[] = [], hashOf: HashFunction<T> = pyHashOf) {
    this.hashOf = hashOf;
    for (const key of keys) this.add(key);
  }

  get size(): number {
    return this.used;
  }

  /** set.add: insert the key unless it is there already; may grow the table. */
  add(key: T): void {
    // Search for the key, remembering a dummy slot to reuse. CPython keeps
    // the *last* dummy seen before the unused slot that ends the search.
    let freeslot = -1;
    for (const i of probeSequence(this.hash(key), this.mask)) {
      const k = this.keys[i];
      if (k === key) return; // already present
      if (k === DUMMY) freeslot = i;
      else if (k === null) {
        this.used++;
        if (freeslot >= 0) {
          // Reusing a dummy slot: fill does not change, so the table cannot need to grow.
          this.keys[freeslot] = key;
          return;
        }
        this.keys[i] = key;
        this.fill++;
        if (this.fill * 5 >= this.mask * 3) this.resize(this.used > 50000 ? this.used * 2 : this.used * 4);
        return;
      }
    }
  }

  /** set.discard: remove the key if present (its slot becomes a dummy); says whether it was. */
  discard(key: T): boolean {
    const i = this.lookup(key);
    // Stryker disable next-line BooleanLiteral: equivalent, the answer matters only to remove(), and asyncio removes only keys that are there (see remove)
    if (this.keys[i] === null) return false;
    this.keys[i] = DUMMY;
    this.used--;
    return true;
  }

  /** set.remove: discard, or KeyError when absent. */
  remove(key: T): void {
    // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent, asyncio's only remove (as_completed's done callback) removes each future once, and returns before it once a timeout has emptied the set
    if (!this.discard(key)) throw pyexc("KeyError", key);
  }

  /** set.clear: back to an empty small table. */
  clear(): void {
    this.keys = new Array(MINSIZE).fill(null);
    this.mask = MINSIZE - 1;
    this.fill = 0;
    this.used = 0;
  }

  /**
   * Iterate in slot order. Like CPython's set iterator, it raises
   * RuntimeError when the set's size changed since the iteration began
   * (the set itself may be rebuilt meanwhile: the walk follows the current table).
   */
  *[Symbol.iterator](): Generator<T, void, undefined> {
    const used = this.used;
    let pos = 0;
    for (;;) {
      // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent, asyncio never changes a set while it iterates it (its loops call cancel() and add_done_callback(), which schedule callbacks instead of running them)
      if (this.used !== used) throw pyexc("RuntimeError", "Set changed size during iteration");
      while (pos <= this.mask && (this.keys[pos] === null || this.keys[pos] === DUMMY)) pos++;
      if (pos > this.mask) return;
      yield this.keys[pos++] as T;
    }
  }

  // ---- the table

  private hash(key: T): number {
    const h = this.hashOf(key);
    // Stryker disable next-line ConditionalExpression,LogicalOperator,StringLiteral: equivalent, a guard no scenario reaches: the reference's hashes are creation numbers (or 0 for a future without one)
    if (!Number.isSafeInteger(h) || h < 0) throw new RangeError(`PySet: unsupported hash ${h}`);
    return h;
  }

  /** The key's slot, or the unused slot where its search ended. */
  private lookup(key: T): number {
    const probe = probeSequence(this.hash(key), this.mask);
    for (;;) {
      const i = probe.next().value;
      const k = this.keys[i];
      if (k === null || k === key) return i;
    }
  }

  /** Put a key known to be absent into the first unused slot of its probe sequence (set_insert_clean). */
  private insertClean(key: T): void {
    for (const i of probeSequence(this.hash(key), this.mask)) {
      if (this.keys[i] === null) {
        this.keys[i] = key;
        return;
      }
    }
  }

  /**
   * set_table_resize: a table of the smallest power of two above minused
   * (at least 8), the active keys reinserted in the old table's slot order.
   */
  private resize(minused: number): void {
    let newsize = MINSIZE;
    while (newsize <= minused) newsize *= 2;
    const old = this.keys;
    this.keys = new Array(newsize).fill(null);
    this.mask = newsize - 1;
    this.fill = this.used;
    for (const k of old) if (k !== null && k !== DUMMY) this.insertClean(k);
  }
}
