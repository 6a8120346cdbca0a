/**
 * The same values as a fast-check arbitrary, from the same random draws,
 * without what only shrinking needs.
 *
 * fast-check's `generate` returns, for every node of an arbitrary (each
 * oneof, record, array, map, integer), a `Value` holding the value and a
 * shrink context, and a oneof with cross-shrinking clones the random
 * generator for every choice but its first, to be able to generate that
 * first choice later when it shrinks. A search that never shrinks (the
 * diff's search phase: at a divergence, fast-check replays the run by its
 * path on the ordinary arbitrary and shrinks there) pays for all of it and
 * uses none: it was most of the cost of generating a scenario.
 *
 * `fastSample(arb)` compiles an arbitrary, node by node, into a plain
 * function of (random generator, bias) that makes the very calls to the
 * random generator its `generate` makes, in the same order, and builds only
 * the value — with the arbitrary's own mappers, filters, weights and depth
 * counters, read from the arbitrary objects themselves. A node of a kind not
 * known here (or a variant of a known kind this does not mirror: custom
 * slices, unique arrays, values fast-check must clone) is left to its own
 * `generate`, whose value is the same by definition. So a run draws the
 * same scenario either way; test/fastgen.test.ts checks it on every size,
 * version and exclusion `diff` uses, over thousands of seeds.
 *
 * What is mirrored (fast-check 4.x, lib/cjs/fast-check.js): ConstantArbitrary
 * (constant, constantFrom), IntegerArbitrary (integer, nat, with its bias),
 * FrequencyArbitrary (oneof: weights, depth bias, maxDepth), TupleArbitrary,
 * MapArbitrary (and so record, which is a tuple mapped), FilterArbitrary,
 * NoBiasArbitrary (boolean), ArrayArbitrary (without custom slices or a set
 * builder). The classes are recognised by prototype, taken from instances
 * fast-check builds here, not by name.
 */
import * as fc from "fast-check";

/** What fast-check passes to generate: its random generator (fc.Random) and the run's bias factor. */
type Gen<T> = (mrng: fc.Random, bias: number | undefined) => T;

// The prototypes of the arbitraries mirrored, from instances of each.
const PROTO = {
  constant: Object.getPrototypeOf(fc.constant(0)),
  integer: Object.getPrototypeOf(fc.integer({ min: 0, max: 1 })),
  oneof: Object.getPrototypeOf(fc.oneof(fc.constant(0))),
  tuple: Object.getPrototypeOf(fc.tuple()),
  map: Object.getPrototypeOf(fc.constant(0).map((x) => x)),
  filter: Object.getPrototypeOf(fc.constant(0).filter(() => true)),
  noBias: Object.getPrototypeOf(fc.noBias(fc.constant(0))),
  array: Object.getPrototypeOf(fc.array(fc.constant(0))),
};

/** Is `arb` a plain instance of the class `proto` (its generate not overridden)? */
function is(arb: object, proto: object): boolean {
  return Object.getPrototypeOf(arb) === proto && (arb as { generate: unknown }).generate === (proto as { generate: unknown }).generate;
}

/** fast-check's cloneMethod: a value carrying it is cloned on every read, which this does not mirror. */
const CLONE = Symbol.for("fast-check/cloneMethod");
const cloneable = (v: unknown): boolean => v !== null && (typeof v === "object" || typeof v === "function") && CLONE in (v as object);

// The fields of fast-check's internal classes this reads (set by their constructors).
interface ConstantArb { values: unknown[] }
interface IntegerArb { min: number; max: number; ranges: Array<{ min: number; max: number }> }
interface FrequencyArb {
  warbs: Array<{ arbitrary: fc.Arbitrary<unknown>; weight: number }>;
  cumulatedWeights: number[];
  totalWeight: number;
  constraints: { maxDepth: number; depthBias: number };
  context: { depth: number };
  computeNegDepthBenefit(): number;
}
interface TupleArb { arbs: Array<fc.Arbitrary<unknown>> }
interface MapArb { arb: fc.Arbitrary<unknown>; mapper: (v: unknown) => unknown }
interface FilterArb { arb: fc.Arbitrary<unknown>; refinement: (v: unknown) => boolean }
interface NoBiasArb { arb: fc.Arbitrary<unknown> }
interface ArrayArb {
  arb: fc.Arbitrary<unknown>;
  minLength: number;
  maxGeneratedLength: number;
  cachedBiasedMaxLength: number;
  depthContext: { depth: number };
  setBuilder: unknown;
  customSlices: unknown[];
}

/** fc.boolean()'s mapper (an integer 0..1 to a boolean), taken from an instance. */
const BOOLEAN_MAPPER = ((fc.boolean() as unknown as NoBiasArb).arb as unknown as MapArb).mapper;

/**
 * fc.boolean() is noBias(integer 0..1 mapped by BOOLEAN_MAPPER): without a
 * bias, the integer is one draw, nextInt(0, 1), and true when 1. Every
 * record without `noNullPrototype` ends with one (the null-prototype flag).
 */
function isBoolean(arb: fc.Arbitrary<unknown>): boolean {
  if (!is(arb, PROTO.map)) return false;
  const { arb: source, mapper } = arb as unknown as MapArb;
  if (mapper !== BOOLEAN_MAPPER || !is(source, PROTO.integer)) return false;
  const { min, max } = source as unknown as IntegerArb;
  return min === 0 && max === 1;
}

const compiled = new WeakMap<object, Gen<unknown>>();

/** The compiled generator of `arb` (made once per arbitrary object). */
function compile(arb: fc.Arbitrary<unknown>): Gen<unknown> {
  let g = compiled.get(arb);
  if (g === undefined) {
    // A placeholder first, for an arbitrary reached again while it is compiled (fc.letrec-like graphs).
    let inner: Gen<unknown> | null = null;
    compiled.set(arb, (mrng, bias) => inner!(mrng, bias));
    inner = build(arb);
    compiled.set(arb, inner);
    g = inner;
  }
  return g;
}

/** Left to fast-check: the value of its own generate. */
const viaGenerate = (arb: fc.Arbitrary<unknown>): Gen<unknown> => (mrng, bias) => arb.generate(mrng, bias).value;

function build(arb: fc.Arbitrary<unknown>): Gen<unknown> {
  if (is(arb, PROTO.constant)) {
    const { values } = arb as unknown as ConstantArb;
    if (values.some(cloneable)) return viaGenerate(arb);
    if (values.length === 1) {
      const v = values[0];
      return () => v;
    }
    const last = values.length - 1;
    return (mrng) => values[mrng.nextInt(0, last)];
  }
  if (is(arb, PROTO.integer)) {
    const { min, max, ranges } = arb as unknown as IntegerArb;
    return (mrng, bias) => {
      if (bias === undefined || mrng.nextInt(1, bias) !== 1) return mrng.nextInt(min, max);
      if (ranges.length === 1) return mrng.nextInt(ranges[0].min, ranges[0].max);
      const id = mrng.nextInt(-2 * (ranges.length - 1), ranges.length - 2);
      const range = id < 0 ? ranges[0] : ranges[id + 1];
      return mrng.nextInt(range.min, range.max);
    };
  }
  if (is(arb, PROTO.oneof)) {
    const f = arb as unknown as FrequencyArb;
    const gens = f.warbs.map((w) => compile(w.arbitrary));
    const cumulated = f.cumulatedWeights;
    const top = f.totalWeight - 1;
    const context = f.context;
    const maxDepth = f.constraints.maxDepth;
    const chosen = (mrng: fc.Random, idx: number, bias: number | undefined): unknown => {
      // As safeGenerateForIndex: the depth counter is raised while the choice generates.
      ++context.depth;
      try {
        return gens[idx](mrng, bias);
      } finally {
        --context.depth;
      }
    };
    return (mrng, bias) => {
      if (maxDepth <= context.depth) return chosen(mrng, 0, bias);
      // computeNegDepthBenefit is 0 at depth 0 whatever the bias (floor(x^0) - 1).
      const selected = mrng.nextInt(context.depth === 0 ? 0 : f.computeNegDepthBenefit(), top);
      for (let idx = 0; idx !== cumulated.length; ++idx) if (selected < cumulated[idx]) return chosen(mrng, idx, bias);
      throw new Error("Unable to generate from fc.frequency");
    };
  }
  if (is(arb, PROTO.tuple)) {
    const gens = (arb as unknown as TupleArb).arbs.map(compile);
    const n = gens.length;
    return (mrng, bias) => {
      const out: unknown[] = [];
      for (let i = 0; i !== n; ++i) out.push(gens[i](mrng, bias));
      return out;
    };
  }
  if (is(arb, PROTO.map)) {
    const { arb: source, mapper } = arb as unknown as MapArb;
    const record = recordOf(source, mapper);
    if (record !== null) return record;
    const g = compile(source);
    return (mrng, bias) => mapper(g(mrng, bias));
  }
  if (is(arb, PROTO.filter)) {
    const { arb: source, refinement } = arb as unknown as FilterArb;
    const g = compile(source);
    return (mrng, bias) => {
      for (;;) {
        const v = g(mrng, bias);
        if (refinement(v)) return v;
      }
    };
  }
  if (is(arb, PROTO.noBias)) {
    const inner = (arb as unknown as NoBiasArb).arb;
    if (isBoolean(inner)) return (mrng) => mrng.nextInt(0, 1) === 1;
    const g = compile(inner);
    return (mrng) => g(mrng, undefined);
  }
  if (is(arb, PROTO.array)) {
    const a = arb as unknown as ArrayArb;
    if (a.setBuilder !== undefined || a.customSlices.length > 0) return viaGenerate(arb);
    const item = compile(a.arb);
    const { minLength, maxGeneratedLength, cachedBiasedMaxLength, depthContext } = a;
    return (mrng, bias) => {
      // ArrayArbitrary.generate: the length (biased towards short), then the items.
      let n: number;
      let itemBias: number | undefined;
      if (bias === undefined) n = mrng.nextInt(minLength, maxGeneratedLength);
      else if (minLength === maxGeneratedLength) {
        n = mrng.nextInt(minLength, maxGeneratedLength);
        itemBias = bias;
      } else if (mrng.nextInt(1, bias) !== 1) n = mrng.nextInt(minLength, maxGeneratedLength);
      else if (mrng.nextInt(1, bias) !== 1) {
        n = mrng.nextInt(minLength, maxGeneratedLength);
        itemBias = bias;
      } else {
        n = mrng.nextInt(minLength, cachedBiasedMaxLength);
        itemBias = bias;
      }
      // (No custom slices: buildSlicedGenerator draws nothing and generates item after item.)
      const impact = n - cachedBiasedMaxLength;
      const out: unknown[] = [];
      if (impact <= 0) {
        for (let i = 0; i !== n; ++i) out.push(item(mrng, itemBias));
        return out;
      }
      depthContext.depth += impact;
      try {
        for (let i = 0; i !== n; ++i) out.push(item(mrng, itemBias));
      } finally {
        depthContext.depth -= impact;
      }
      return out;
    };
  }
  return viaGenerate(arb);
}

/**
 * fc.record(model): a tuple of the model's arbitraries and a boolean (true:
 * the object has a null prototype), mapped by fast-check's
 * valuesAndSeparateKeysToObjectMapper into an object with the model's keys,
 * in order. Its keys are read off the mapper (given distinct markers, it puts
 * each under its key); the object is then built from an object literal made
 * for those keys (one hidden class, no keyed stores), or, for a null
 * prototype, as the mapper builds it. Null when `source` and `mapper` are not
 * such a record, or its keys cannot be read that way (a key "__proto__",
 * optional keys): the generic map then runs the mapper itself.
 */
function recordOf(source: fc.Arbitrary<unknown>, mapper: (v: unknown) => unknown): Gen<unknown> | null {
  if (mapper.name !== "valuesAndSeparateKeysToObjectMapper" || !is(source, PROTO.tuple)) return null;
  const arbs = (source as unknown as TupleArb).arbs;
  const n = arbs.length - 1;
  if (n < 0) return null;
  const markers = Array.from({ length: n }, () => ({}));
  let probe: unknown;
  try {
    probe = mapper([...markers, false]);
  } catch {
    return null;
  }
  if (typeof probe !== "object" || probe === null || Object.getPrototypeOf(probe) !== Object.prototype) return null;
  const keys = Object.keys(probe);
  if (keys.length !== n || Object.getOwnPropertySymbols(probe).length > 0) return null;
  for (let j = 0; j < n; j++) if ((probe as Record<string, unknown>)[keys[j]] !== markers[j] || keys[j] === "__proto__") return null;
  // Keys come back in the object's own order, which for integer-like keys is not the model's: refuse them.
  if (keys.some((k) => String(Number(k)) === k || !/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k))) return null;
  const items = arbs.slice(0, n).map(compile);
  const nullPrototype = compile(arbs[n]);
  // `{ k0: v[0], k1: v[1], ... }` for these keys (identifiers, checked above).
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const literal = new Function("v", `return { ${keys.map((k, j) => `${k}: v[${j}]`).join(", ")} };`) as (v: unknown[]) => object;
  return (mrng, bias) => {
    const v: unknown[] = [];
    for (let j = 0; j !== n; ++j) {
      const x = items[j](mrng, bias);
      // A symbol is an optional key's "no key" (records with requiredKeys): the mapper knows it.
      if (typeof x === "symbol") return mapper([...v, x, ...arbs.slice(j + 1, n).map((a) => compile(a)(mrng, bias)), nullPrototype(mrng, bias)]);
      v.push(x);
    }
    if (!nullPrototype(mrng, bias)) return literal(v);
    const o = Object.create(null) as Record<string, unknown>;
    for (let j = 0; j !== n; ++j) o[keys[j]] = v[j];
    return o;
  };
}

/**
 * An arbitrary that generates exactly what `arb` generates, run for run and
 * seed for seed, and never shrinks: for a search whose failures are shrunk
 * by replaying their path on `arb` itself.
 */
export function withoutShrinking<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return new NoShrinkArbitrary(arb);
}

class NoShrinkArbitrary<T> extends fc.Arbitrary<T> {
  private readonly gen: Gen<T>;
  constructor(readonly source: fc.Arbitrary<T>) {
    super();
    this.gen = compile(source as fc.Arbitrary<unknown>) as Gen<T>;
  }
  generate(mrng: fc.Random, biasFactor: number | undefined): fc.Value<T> {
    return new fc.Value(this.gen(mrng, biasFactor), undefined);
  }
  canShrinkWithoutContext(_value: unknown): _value is T {
    return false;
  }
  shrink(_value: T, _context: unknown): fc.Stream<fc.Value<T>> {
    return fc.Stream.nil();
  }
}
