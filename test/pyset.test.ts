/**
 * The reference's PySet against CPython's set, operation for operation.
 *
 * Random sequences of add / discard / remove / clear / len / iterate (what
 * asyncio does with its sets, all the model has) on keys with chosen hashes (small task-like numbers,
 * collisions modulo the table size, large hashes, duplicated hashes), run
 * on PySet and, in one process per interpreter, on a Python program whose
 * keys define __hash__ to return the chosen value and __eq__ as identity.
 * Every observation (each iteration order, popped key, KeyError, length)
 * must be equal.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { findCPython } from "../harness/targets";
import { PySet } from "../implementations/reference/pyset";
import { PyBaseException } from "../harness/engine/pyexc";

type Op =
  | ["add" | "discard" | "remove", number]
  | ["clear" | "iter" | "len"];

interface Sequence {
  hashes: number[];
  /** Keys the set starts from, as with set(list). */
  initial: number[];
  ops: Op[];
}

type Observation = number | boolean | string | number[] | null;

/** mulberry32: a small seeded PRNG, so every run tests the same sequences. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LARGE = [2 ** 40 + 3, 2 ** 40 + 11, 2 ** 40 + 19, 2 ** 52 - 1, 2 ** 33, 2 ** 32 + 1, 123456789012, 2 ** 31 - 1];

function hashFor(rand: () => number, kind: number, n: number): number {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  switch (kind) {
    case 0: // task numbers: 1, 2, 3, ... as the loop hands them out
      return n + 1;
    case 1: // collisions modulo 8, 16, 32, ...: 1, 9, 17, 33, 65, ...
      return 1 + 8 * Math.floor(rand() * 40);
    case 2: // a few distinct values, many keys sharing each
      return pick([0, 1, 9, 17, 33, 2 ** 40 + 3]);
    case 3:
      return pick(LARGE) + Math.floor(rand() * 4) * 64;
    default: // a mix
      return rand() < 0.5 ? n + 1 + Math.floor(rand() * 3) : pick([1, 9, 17, 33, 64, 128, 256, 2 ** 40 + 3, Math.floor(rand() * 5000)]);
  }
}

function makeSequence(seed: number): Sequence {
  const rand = prng(seed);
  const nkeys = 1 + Math.floor(rand() * (rand() < 0.3 ? 260 : 40));
  const kind = seed % 5;
  const hashes = Array.from({ length: nkeys }, (_, n) => hashFor(rand, kind, n));
  const key = () => Math.floor(rand() * nkeys);
  const initial = rand() < 0.3 ? Array.from({ length: Math.floor(rand() * nkeys) }, key) : [];
  const ops: Op[] = [];
  const length = 20 + Math.floor(rand() * 400);
  // Phases lean towards growing or shrinking, so sizes sweep 0..200+ and back.
  let addBias = 0.7;
  for (let j = 0; j < length; j++) {
    if (j % 50 === 0) addBias = 0.3 + rand() * 0.6;
    const r = rand();
    if (r < addBias) ops.push(["add", key()]);
    else if (r < addBias + 0.15) ops.push(["discard", key()]);
    else if (r < addBias + 0.2) ops.push(["remove", key()]);
    else if (r < addBias + 0.27) ops.push(["len"]);
    else if (r < addBias + 0.28) ops.push(["clear"]);
    else ops.push(["iter"]);
    if (rand() < 0.1) ops.push(["iter"]);
  }
  ops.push(["iter"]);
  return { hashes, initial, ops };
}

interface Key {
  readonly n: number;
  readonly pyHash: number;
}

function runOnPySet(seq: Sequence): Observation[] {
  const keys: Key[] = seq.hashes.map((h, n) => ({ n, pyHash: h }));
  const s = new PySet<Key>(seq.initial.map((n) => keys[n]));
  const out: Observation[] = [];
  for (const op of seq.ops) {
    switch (op[0]) {
      case "add":
        s.add(keys[op[1]]);
        break;
      case "discard":
        s.discard(keys[op[1]]);
        break;
      case "remove":
        try {
          s.remove(keys[op[1]]);
          out.push(null);
        } catch (e) {
          out.push(e instanceof PyBaseException ? e.type : String(e));
        }
        break;
      case "len":
        out.push(s.size);
        break;
      case "clear":
        s.clear();
        break;
      case "iter":
        out.push([...s].map((k) => k.n));
        break;
    }
  }
  return out;
}

const PROGRAM = String.raw`
import json, sys

class Key:
    __slots__ = ("n", "h")
    def __init__(self, n, h):
        self.n = n
        self.h = h
    def __hash__(self):
        return self.h
    def __eq__(self, other):
        return self is other

def run(seq):
    keys = [Key(n, h) for n, h in enumerate(seq["hashes"])]
    s = set([keys[n] for n in seq["initial"]])
    out = []
    for op in seq["ops"]:
        name = op[0]
        if name == "add":
            s.add(keys[op[1]])
        elif name == "discard":
            s.discard(keys[op[1]])
        elif name == "remove":
            try:
                s.remove(keys[op[1]])
                out.append(None)
            except KeyError:
                out.append("KeyError")
        elif name == "len":
            out.append(len(s))
        elif name == "clear":
            s.clear()
        elif name == "iter":
            out.append([k.n for k in s])
    return out

seqs = json.load(sys.stdin)
json.dump({"version": "%d.%d" % sys.version_info[:2], "results": [run(q) for q in seqs]}, sys.stdout)
`;

const SEQUENCES: Sequence[] = Array.from({ length: 600 }, (_, i) => makeSequence(1000 + i));

// Hand-picked shapes too: collisions 1, 9, 17, 33; growth through several resizes; clear and regrow.
SEQUENCES.push(
  { hashes: [1, 9, 17, 33, 2 ** 40 + 3], initial: [], ops: [["add", 0], ["add", 1], ["add", 2], ["add", 3], ["add", 4], ["iter"], ["discard", 1], ["iter"], ["add", 1], ["iter"]] },
  {
    hashes: Array.from({ length: 201 }, (_, n) => n + 1),
    initial: [],
    ops: [
      ...Array.from({ length: 201 }, (_, n): Op => ["add", 200 - n]),
      ["iter"],
      ...Array.from({ length: 150 }, (_, n): Op => ["discard", n * 1]),
      ["iter"],
      ["add", 3],
      ["iter"],
      ["clear"],
      ["add", 7],
      ["add", 100],
      ["iter"],
    ],
  },
);

const targets = [
  { version: "3.11", python: "python3" },
  ...(["3.12", "3.13"] as const).map((v) => ({ version: v, python: findCPython(v).path })).filter((t) => t.python !== ""),
];

it("sequences sweep set sizes from 0 to past 200 (several resizes)", () => {
  let biggest = 0;
  for (const seq of SEQUENCES) {
    for (const obs of runOnPySet(seq)) if (Array.isArray(obs)) biggest = Math.max(biggest, obs.length);
  }
  expect(biggest).toBeGreaterThanOrEqual(200);
});

describe.each(targets)("PySet vs CPython $version's set ($python)", ({ version, python }) => {
  it(`gives the same observations on ${SEQUENCES.length} sequences`, () => {
    const r = spawnSync(python, ["-c", PROGRAM], { input: JSON.stringify(SEQUENCES), encoding: "utf8", maxBuffer: 512 * 1024 * 1024 });
    if (r.error) throw r.error;
    expect(r.status, r.stderr).toBe(0);
    const cpython = JSON.parse(r.stdout) as { version: string; results: Observation[][] };
    expect(cpython.version).toBe(version);
    SEQUENCES.forEach((seq, i) => {
      const ours = runOnPySet(seq);
      const theirs = cpython.results[i];
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
        const j = ours.findIndex((o, k) => JSON.stringify(o) !== JSON.stringify(theirs[k]));
        expect.fail(`sequence ${i}: observation ${j} differs\n  PySet:   ${JSON.stringify(ours[j])}\n  CPython: ${JSON.stringify(theirs[j])}`);
      }
    });
  });
});

describe("PySet basics", () => {
  const k = (n: number, h = n) => ({ n, pyHash: h });
  it("remove raises KeyError; discard does not; size follows", () => {
    const a = k(1);
    const s = new PySet([a]);
    expect([...s]).toEqual([a]);
    expect(s.size).toBe(1);
    expect(s.discard(k(1))).toBe(false); // identity, not hash
    s.remove(a);
    expect(() => s.remove(a)).toThrow(PyBaseException);
    expect(s.size).toBe(0);
  });
  it("iterating while the size changes raises RuntimeError", () => {
    const s = new PySet([k(1), k(2)]);
    expect(() => {
      for (const x of s) s.discard(x);
    }).toThrow(/changed size/);
  });
  it("refuses keys without a pinned hash", () => {
    expect(() => new PySet([{}])).toThrow(PyBaseException);
  });
});
