/**
 * `repeat`: a bounded loop of the scenario language, expanded before anything
 * runs. The TypeScript side (validator, interpreter, differential) expands
 * with `expandRepeats` / `expandScenario`; the Python driver
 * (implementations/python/aiospec_driver.py, expand_scenario) expands the same
 * way, so a scenario means the same with or without its repeats written out.
 *
 * A step:
 *
 *     {"op": "repeat", "times": N, "var": "i", "body": [steps]}
 *
 * stands for N copies of `body`, the k-th (k = 0 .. N-1) with every
 * placeholder `{i}` in its strings replaced by k. It can appear wherever a
 * step can (coroutine and callback bodies, try / except / finally,
 * taskgroup, timeout, another repeat). An item of a `gather` or `wait` list,
 * or of an as_completed step's `on` list:
 *
 *     {"repeat": N, "var": "i", "each": awaitable}
 *
 * stands for N awaitables, `each` with `{i}` replaced by 0 .. N-1.
 *
 * Placeholders: `{VAR}` or `{VAR OP INT OP INT ...}` with OP one of + - * %,
 * evaluated left to right on integers (`%` as in Python: the result has the
 * sign of the divisor), e.g. `{i}`, `{i*10+5}`, `{i%3}`. A string that is
 * exactly one placeholder becomes a number, except in the name fields
 * (NAME_FIELDS: labels, handles, coroutine and callback names, task names,
 * messages), which stay strings: `"ticks": "{i}"` is the number k, `"label":
 * "{i}"` the string "k", `"task": "t{i}"` the handle "tk". Inside a repeat,
 * a placeholder naming no enclosing repeat's variable is an error; outside
 * any repeat, braces are plain text.
 *
 * Bounds: `times` is an integer from 0 to MAX_REPEAT_TIMES; the expanded
 * scenario holds at most MAX_EXPANDED_STEPS steps; a nested repeat cannot
 * reuse an enclosing repeat's variable.
 */
import type { Scenario } from "./types";

export const MAX_REPEAT_TIMES = 100_000;
export const MAX_EXPANDED_STEPS = 1_000_000;

/** Fields whose value is always a string (never turned into a number). */
export const NAME_FIELDS: ReadonlySet<string> = new Set([
  "label", "task", "future", "coro", "callback", "handle", "group", "cm", "name", "msg", "ref", "var",
]);

export interface RepeatStep {
  op: "repeat";
  times: number;
  var: string;
  body: unknown[];
}

export interface RepeatError {
  path: string;
  message: string;
}

/** Where an expanded step came from: its path in the written scenario and the repeat variables' values. */
interface Origin {
  path: string;
  env: ReadonlyArray<[string, number]>;
}

export type Expansion =
  | {
    ok: true;
    /** The scenario with every repeat written out (the input itself when it has none). */
    value: unknown;
    /** Whether the input had any repeat. */
    expanded: boolean;
    /** A path into the expanded scenario, as a path into the written one (with the iteration in `suffix`). */
    mapPath: (path: string) => { path: string; suffix: string };
  }
  | { ok: false; errors: RepeatError[] };

const VAR = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)((?:\s*[-+*%]\s*\d+)*)\s*\}/g;
const STEP_LISTS = new Set(["body", "finally"]);
const AWAITABLE_LISTS = new Set(["gather", "wait"]);

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Scenarios already found to hold no repeat. A scenario is a value, not
 * changed once built; a diff writes out each one's repeats twice (for its
 * features, and to run it on the reference), and the walk is over every key.
 */
const REPEAT_FREE = new WeakSet<object>();

/**
 * Record that a scenario its builder has just made holds no repeat, so that
 * expandRepeats need not walk it to find out (the generator knows: lowering
 * adds repeats only for a raw scenario's `repeats`). Like every answer kept
 * per scenario object, it holds while the scenario is not changed in place.
 */
export function knownRepeatFree(scenario: Scenario): void {
  REPEAT_FREE.add(scenario);
}

/** Does the value hold a repeat anywhere? */
function hasRepeat(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasRepeat);
  if (!isObject(v)) return false;
  if (v.op === "repeat" || "repeat" in v) return true;
  for (const k in v) if (hasRepeat(v[k])) return true;
  return false;
}

class Fail extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

function evaluate(name: string, ops: string, env: Map<string, number>): number {
  let x = env.get(name)!;
  const re = /([-+*%])\s*(\d+)/g;
  for (let m = re.exec(ops); m !== null; m = re.exec(ops)) {
    const n = Number(m[2]);
    if (m[1] === "+") x += n;
    else if (m[1] === "-") x -= n;
    else if (m[1] === "*") x *= n;
    else {
      if (n === 0) throw new Error("modulo by zero");
      x = ((x % n) + n) % n;
    }
  }
  return x;
}

function substituteString(s: string, key: string | undefined, env: Map<string, number>, path: string): string | number {
  if (env.size === 0 || !s.includes("{")) return s;
  let whole: number | undefined;
  const out = s.replace(PLACEHOLDER, (m, name: string, ops: string, offset: number) => {
    if (!env.has(name)) {
      throw new Fail(path, `unknown repeat variable "${name}" in ${JSON.stringify(s)} (in scope: ${[...env.keys()].join(", ")})`);
    }
    let v: number;
    try {
      v = evaluate(name, ops, env);
    } catch (e) {
      throw new Fail(path, `${(e as Error).message} in ${JSON.stringify(m)}`);
    }
    if (offset === 0 && m.length === s.length) whole = v;
    return String(v);
  });
  if (whole !== undefined && (key === undefined || !NAME_FIELDS.has(key))) return whole;
  return out;
}

function childPath(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) return `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

class Expander {
  steps = 0;
  readonly origins = new Map<object, Origin>();

  constructor(readonly maxSteps: number) {}

  envOf(env: Map<string, number>): Array<[string, number]> {
    return [...env.entries()];
  }

  /** A list of steps, repeats written out. */
  stepList(list: unknown, path: string, env: Map<string, number>): unknown {
    if (!Array.isArray(list)) return this.value(list, undefined, path, env);
    const out: unknown[] = [];
    list.forEach((step, i) => this.step(step, childPath(path, i), env, out));
    return out;
  }

  step(step: unknown, path: string, env: Map<string, number>, out: unknown[]): void {
    if (isObject(step) && step.op === "repeat") {
      const times = step.times;
      const v = step.var;
      for (const k of Object.keys(step)) {
        if (!["op", "times", "var", "body"].includes(k)) {
          throw new Fail(childPath(path, k), `unknown property ${JSON.stringify(k)} (repeat step properties: op, times, var, body)`);
        }
      }
      if (typeof times !== "number" || !Number.isInteger(times) || times < 0 || times > MAX_REPEAT_TIMES) {
        throw new Fail(`${path}.times`, `a repeat's "times" must be an integer from 0 to ${MAX_REPEAT_TIMES}, got ${JSON.stringify(times)}`);
      }
      if (typeof v !== "string" || !VAR.test(v)) {
        throw new Fail(`${path}.var`, `a repeat's "var" must be a name (a letter or underscore, then letters, digits or underscores), got ${JSON.stringify(v)}`);
      }
      if (env.has(v)) throw new Fail(`${path}.var`, `repeat variable "${v}" is already the variable of an enclosing repeat; choose another name`);
      if (!Array.isArray(step.body)) throw new Fail(`${path}.body`, `a repeat needs a "body": a list of steps`);
      for (let k = 0; k < times; k++) {
        const inner = new Map(env);
        inner.set(v, k);
        (step.body as unknown[]).forEach((s, j) => this.step(s, childPath(`${path}.body`, j), inner, out));
      }
      return;
    }
    if (++this.steps > this.maxSteps) {
      throw new Fail(path, `the scenario expands to more than ${this.maxSteps} steps (repeats are bounded)`);
    }
    const expanded = this.value(step, undefined, path, env);
    if (isObject(expanded)) this.origins.set(expanded, { path, env: this.envOf(env) });
    out.push(expanded);
  }

  /** Any value inside a step; `key` is the property holding it. */
  value(v: unknown, key: string | undefined, path: string, env: Map<string, number>): unknown {
    if (typeof v === "string") return substituteString(v, key, env, path);
    if (Array.isArray(v)) {
      if (key !== undefined && (AWAITABLE_LISTS.has(key) || key === "on")) return this.awaitableList(v, key, path, env);
      return v.map((x, i) => this.value(x, key, childPath(path, i), env));
    }
    if (!isObject(v)) return v;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      const p = childPath(path, k);
      if (STEP_LISTS.has(k) && Array.isArray(v[k])) out[k] = this.stepList(v[k], p, env);
      else if (k === "except" && Array.isArray(v[k])) {
        out[k] = (v[k] as unknown[]).map((h, j) => this.value(h, undefined, childPath(p, j), env));
      } else out[k] = this.value(v[k], k, p, env);
    }
    return out;
  }

  awaitableList(list: unknown[], key: string, path: string, env: Map<string, number>): unknown[] {
    const out: unknown[] = [];
    list.forEach((item, i) => {
      const p = childPath(path, i);
      if (isObject(item) && "repeat" in item) {
        for (const k of Object.keys(item)) {
          if (!["repeat", "var", "each"].includes(k)) {
            throw new Fail(childPath(p, k), `unknown property ${JSON.stringify(k)} (a repeated awaitable has repeat, var, each)`);
          }
        }
        const times = item.repeat;
        const v = item.var;
        if (typeof times !== "number" || !Number.isInteger(times) || times < 0 || times > MAX_REPEAT_TIMES) {
          throw new Fail(`${p}.repeat`, `"repeat" must be an integer from 0 to ${MAX_REPEAT_TIMES}, got ${JSON.stringify(times)}`);
        }
        if (typeof v !== "string" || !VAR.test(v)) throw new Fail(`${p}.var`, `"var" must be a name, got ${JSON.stringify(v)}`);
        if (env.has(v)) throw new Fail(`${p}.var`, `repeat variable "${v}" is already the variable of an enclosing repeat; choose another name`);
        if (!isObject(item.each)) throw new Fail(`${p}.each`, `a repeated awaitable needs "each": an awaitable`);
        for (let k = 0; k < times; k++) {
          if (++this.steps > this.maxSteps) {
            throw new Fail(p, `the scenario expands to more than ${this.maxSteps} steps and awaitables (repeats are bounded)`);
          }
          const inner = new Map(env);
          inner.set(v, k);
          const aw = this.value(item.each, undefined, `${p}.each`, inner);
          if (isObject(aw)) this.origins.set(aw, { path: `${p}.each`, env: this.envOf(inner) });
          out.push(aw);
        }
      } else {
        out.push(this.value(item, key, p, env));
      }
    });
    return out;
  }
}

/** Split a JSONPath-like path ("$.a[3].b") into keys and indexes. */
function segments(path: string): Array<string | number> {
  const out: Array<string | number> = [];
  const re = /\.([A-Za-z_$][A-Za-z0-9_$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (let m = re.exec(path); m !== null; m = re.exec(path)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(JSON.parse(m[3]) as string);
  }
  return out;
}

/**
 * Write out every repeat of a scenario (given as parsed JSON, not yet
 * validated). Errors name the JSON path of the written scenario.
 */
export function expandRepeats(input: unknown, maxSteps = MAX_EXPANDED_STEPS): Expansion {
  if (!isObject(input) || REPEAT_FREE.has(input) || !hasRepeat(input)) {
    if (isObject(input)) REPEAT_FREE.add(input);
    return { ok: true, value: input, expanded: false, mapPath: (path) => ({ path, suffix: "" }) };
  }
  const ex = new Expander(maxSteps);
  const env = new Map<string, number>();
  const out: Record<string, unknown> = { ...input };
  try {
    for (const key of ["coroutines", "callbacks"]) {
      const defs = input[key];
      if (!Array.isArray(defs)) continue;
      out[key] = defs.map((d, i) => {
        if (!isObject(d) || !Array.isArray(d.body)) return d;
        return { ...d, body: ex.stepList(d.body, `$.${key}[${i}].body`, env) };
      });
    }
  } catch (e) {
    if (e instanceof Fail) return { ok: false, errors: [{ path: e.path, message: e.message }] };
    throw e;
  }
  const mapPath = (path: string): { path: string; suffix: string } => {
    const segs = segments(path);
    let node: unknown = out;
    let origin: Origin | undefined;
    let rest = 0;
    for (let i = 0; i < segs.length; i++) {
      node = node !== null && typeof node === "object" ? (node as Record<string | number, unknown>)[segs[i]] : undefined;
      const o = isObject(node) ? ex.origins.get(node) : undefined;
      if (o !== undefined) {
        origin = o;
        rest = i + 1;
      }
    }
    if (origin === undefined) return { path, suffix: "" };
    let p = origin.path;
    for (const s of segs.slice(rest)) p = childPath(p, s);
    const suffix = origin.env.length > 0 ? ` (repeat ${origin.env.map(([k, v]) => `${k}=${v}`).join(", ")})` : "";
    return { path: p, suffix };
  };
  return { ok: true, value: out, expanded: true, mapPath };
}

/** The scenario with its repeats written out; throws on a malformed repeat (validate first for a full report). */
export function expandScenario<T extends Scenario>(scenario: T): T {
  // Known to hold none (expandRepeats trusts that too): itself, and nothing to keep.
  if (REPEAT_FREE.has(scenario)) return scenario;
  const kept = EXPANDED.get(scenario);
  if (kept !== undefined && kept.of.matches(scenario)) return kept.value as T;
  const r = expandRepeats(scenario);
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.path}: ${e.message}`).join("\n"));
  EXPANDED.set(scenario, { of: new Shallow(scenario), value: r.value as Scenario });
  return r.value as T;
}

/**
 * Each scenario's written-out form, kept while the scenario lives: a diff
 * writes out each generated scenario's repeats for its features and again
 * to run it on the reference. Scenarios are values, read and not changed;
 * the one change made to a scenario after it was written out (the
 * generator's dropping of `eager`, a top-level field) is caught by Shallow.
 */
const EXPANDED = new WeakMap<Scenario, { of: Shallow; value: Scenario }>();

/**
 * A scenario's top-level fields as they were (their values, by identity):
 * whether a scenario still has them. For answers kept per scenario object
 * (expandScenario, validate.ts scenarioFeatures), which a change to a
 * top-level field (eager, coroutines, callbacks) must not outlive.
 */
export class Shallow {
  private readonly keys: string[];
  private readonly values: unknown[];
  constructor(o: object) {
    this.keys = Object.keys(o);
    this.values = this.keys.map((k) => (o as Record<string, unknown>)[k]);
  }
  matches(o: object): boolean {
    const keys = Object.keys(o);
    if (keys.length !== this.keys.length) return false;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] !== this.keys[i] || (o as Record<string, unknown>)[keys[i]] !== this.values[i]) return false;
    }
    return true;
  }
}
