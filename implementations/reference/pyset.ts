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
  const h = (key as { pyHash?: unknown } | null)?.pyHash;
  if (typeof h !== "number") {
    // An object without a pinned hash would hash by address in CPython: no
    // reproducible order exists for it.
    throw new PyBaseException("TypeError", ["aiospec: this object has no pinned hash (pyHash) to go into a set"]);
  }
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
  private keys: Slot<T>[] = new Array(MINSIZE).fill(null);
  private hashes: number[] = new Array(MINSIZE).fill(0);
  private mask = MINSIZE - 1;
  /** Active + dummy slots. */
  private fill = 0;
  /** Active slots: the set's length. */
  private used = 0;
  /** Where pop() starts looking (it survives clear(), as in CPython). */
  private finger = 0;
  private readonly hashOf: HashFunction<T>;

  /** set(iterable): a set copies another set's table (set_merge); anything else is added key by key. */
  constructor(iterable: Iterable<T> = [], hashOf: HashFunction<T> = pyHashOf) {
    this.hashOf = hashOf;
    this.update(iterable);
  }

  get size(): number {
    return this.used;
  }

  /** set.add: insert the key unless it is there already; may grow the table. */
  add(key: T): void {
    const hash = this.hash(key);
    // Search for the key, remembering a dummy slot to reuse. CPython keeps
    // the *last* dummy seen before the unused slot that ends the search.
    let freeslot = -1;
    let slot = -1;
    for (const i of probeSequence(hash, this.mask)) {
      const k = this.keys[i];
      if (k === null) {
        slot = i;
        break;
      }
      if (k === key) return; // already present
      if (k === DUMMY) freeslot = i;
    }
    this.used++;
    if (freeslot >= 0) {
      // Reusing a dummy slot: fill does not change, so the table cannot need to grow.
      this.keys[freeslot] = key;
      this.hashes[freeslot] = hash;
      return;
    }
    this.fill++;
    this.keys[slot] = key;
    this.hashes[slot] = hash;
    if (this.fill * 5 >= this.mask * 3) this.resize(this.used > 50000 ? this.used * 2 : this.used * 4);
  }

  /** set.discard: remove the key if present (its slot becomes a dummy); says whether it was. */
  discard(key: T): boolean {
    const i = this.lookup(key);
    if (this.keys[i] === null) return false;
    this.keys[i] = DUMMY;
    this.hashes[i] = -1;
    this.used--;
    return true;
  }

  /** set.remove: discard, or KeyError when absent. */
  remove(key: T): void {
    if (!this.discard(key)) throw pyexc("KeyError", key);
  }

  has(key: T): boolean {
    return this.keys[this.lookup(key)] !== null;
  }

  /** set.clear: back to an empty small table. */
  clear(): void {
    this.keys = new Array(MINSIZE).fill(null);
    this.hashes = new Array(MINSIZE).fill(0);
    this.mask = MINSIZE - 1;
    this.fill = 0;
    this.used = 0;
  }

  /** set.pop: remove and return the first key at or after the finger (wrapping). */
  pop(): T {
    if (this.used === 0) throw pyexc("KeyError", "pop from an empty set");
    let i = this.finger & this.mask;
    while (this.keys[i] === null || this.keys[i] === DUMMY) i = i === this.mask ? 0 : i + 1;
    const key = this.keys[i] as T;
    this.keys[i] = DUMMY;
    this.hashes[i] = -1;
    this.used--;
    this.finger = i + 1;
    return key;
  }

  /** set.update(iterable) (set_update_internal for a set or any other iterable). */
  update(iterable: Iterable<T>): void {
    if (iterable instanceof PySet) this.merge(iterable as PySet<T>);
    else for (const key of iterable) this.add(key);
  }

  /** set.copy() */
  copy(): PySet<T> {
    return new PySet<T>(this, this.hashOf);
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
      if (this.used !== used) throw pyexc("RuntimeError", "Set changed size during iteration");
      while (pos <= this.mask && (this.keys[pos] === null || this.keys[pos] === DUMMY)) pos++;
      if (pos > this.mask) return;
      yield this.keys[pos++] as T;
    }
  }

  /** The keys in iteration order. */
  toArray(): T[] {
    return [...this];
  }

  // ---- the table

  private hash(key: T): number {
    const h = this.hashOf(key);
    if (!Number.isSafeInteger(h) || h < 0) throw new RangeError(`PySet: unsupported hash ${h}`);
    return h;
  }

  /** The key's slot, or the unused slot where its search ended. */
  private lookup(key: T): number {
    const hash = this.hash(key);
    for (const i of probeSequence(hash, this.mask)) {
      const k = this.keys[i];
      if (k === null || k === key) return i;
    }
    throw new Error("unreachable");
  }

  /** Put a key known to be absent into the first unused slot of its probe sequence (set_insert_clean). */
  private insertClean(keys: Slot<T>[], hashes: number[], mask: number, key: T, hash: number): void {
    for (const i of probeSequence(hash, mask)) {
      if (keys[i] === null) {
        keys[i] = key;
        hashes[i] = hash;
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
    // The small table with no dummies to purge is left as it is.
    if (newsize === MINSIZE && this.mask === MINSIZE - 1 && this.fill === this.used) return;
    const oldKeys = this.keys;
    const oldHashes = this.hashes;
    this.keys = new Array(newsize).fill(null);
    this.hashes = new Array(newsize).fill(0);
    this.mask = newsize - 1;
    this.fill = this.used;
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i];
      if (k !== null && k !== DUMMY) this.insertClean(this.keys, this.hashes, this.mask, k, oldHashes[i]);
    }
  }

  /** set_merge: the keys of another set, with one resize up front. */
  private merge(other: PySet<T>): void {
    if (other === this || other.used === 0) return;
    if ((this.fill + other.used) * 5 >= this.mask * 3) this.resize((this.used + other.used) * 2);
    if (this.fill === 0 && this.mask === other.mask && other.fill === other.used) {
      // Same size, no dummies on either side: the table is copied slot for slot.
      this.keys = other.keys.slice();
      this.hashes = other.hashes.slice();
      this.fill = other.fill;
      this.used = other.used;
      return;
    }
    if (this.fill === 0) {
      // An empty table: no duplicates to look for.
      this.fill = other.used;
      this.used = other.used;
      for (let i = 0; i <= other.mask; i++) {
        const k = other.keys[i];
        if (k !== null && k !== DUMMY) this.insertClean(this.keys, this.hashes, this.mask, k, other.hashes[i]);
      }
      return;
    }
    for (let i = 0; i <= other.mask; i++) {
      const k = other.keys[i];
      if (k !== null && k !== DUMMY) this.add(k);
    }
  }
}
