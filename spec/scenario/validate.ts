/**
 * The scenario validator: is a JSON value a well-formed, runnable scenario?
 *
 * Two passes:
 *  1. structure, against ./scenario.schema.json (ajv). The first problem found
 *     is reported, with messages tuned for the schema's discriminated unions:
 *     a step with a known `op` is checked against that op's schema only, an
 *     awaitable against the schema of its kind key only.
 *  2. meaning, on a structurally valid scenario; every problem found is
 *     reported: coroutine names are unique, "main" exists, referenced
 *     coroutines exist, the call/spawn graph is acyclic (so runs terminate),
 *     every task handle used is bound by some create_task, and no explicit
 *     task name looks like a default one (default names are renumbered in
 *     traces, so a chosen "Task-3" would read differently per implementation).
 *
 * Paths are JSONPath-like and rooted at "$", e.g. `$.coroutines[0].body[3].ticks`.
 */
import Ajv2020, { type ErrorObject, type SchemaObject } from "ajv/dist/2020";
import schemaJson from "./scenario.schema.json";
import { OPS, walkSteps } from "./types";
import type { Awaitable, Scenario } from "./types";

export interface ValidationError {
  /** Where: a JSONPath-like string rooted at "$". */
  path: string;
  message: string;
}

export type ValidationResult =
  | { ok: true; scenario: Scenario }
  | { ok: false; errors: ValidationError[] };

/** The JSON Schema of scenarios (draft 2020-12), as loaded from scenario.schema.json. */
export const scenarioSchema: SchemaObject = schemaJson;

const AWAITABLE_KINDS = ["task", "coro", "sleep", "gather"] as const;

/** Default task names, as CPython's `Task-(\d+)` (Python's \d matches any Unicode decimal digit). */
const DEFAULT_TASK_NAME = /^Task-\p{Nd}+$/u;

let compiled: ReturnType<Ajv2020["compile"]> | undefined;

function schemaValidator(): ReturnType<Ajv2020["compile"]> {
  if (compiled === undefined) {
    const ajv = new Ajv2020({
      allErrors: false,
      verbose: true, // errors carry the data and the parent schema, for messages
      strict: true,
      strictRequired: false, // the awaitable's anyOf names keys its own properties do not list
      allowUnionTypes: true, // Scalar is ["null", "boolean", "number", "string"]
    });
    compiled = ajv.compile(scenarioSchema);
  }
  return compiled;
}

/** Check that `input` is a valid scenario; on success it is returned as is, typed. */
export function validateScenario(input: unknown): ValidationResult {
  const validate = schemaValidator();
  if (!validate(input)) {
    return { ok: false, errors: [structuralError(input, validate.errors ?? [])] };
  }
  const scenario = input as Scenario;
  const errors = semanticErrors(scenario);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, scenario };
}

/**
 * Parse scenario text and validate it. Malformed JSON is reported as one
 * error at "$", with the parser's message and, when known, line and column.
 */
export function parseScenarioText(text: string): ValidationResult {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // a BOM is not JSON, but harmless
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (e) {
    // V8 quotes the text around the error, newlines included: keep the message on one line
    const message = (e instanceof Error ? e.message : String(e)).replace(/\r?\n/g, "\\n");
    return { ok: false, errors: [{ path: "$", message: `malformed JSON: ${message}${jsonErrorPosition(body, message)}` }] };
  }
  return validateScenario(value);
}

/** "path: message" lines, for the command line and test failures. */
export function formatValidationErrors(errors: readonly ValidationError[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join("\n");
}

// ---------------------------------------------------------------- JSON errors

function jsonErrorPosition(text: string, message: string): string {
  if (/\(line \d+ column \d+\)$/.test(message)) return ""; // newer V8 versions say it themselves
  let pos: number;
  const m = /at position (\d+)$/.exec(message);
  if (m) pos = Number(m[1]);
  else if (/end of JSON input/i.test(message)) pos = text.length;
  else pos = firstBadCharacter(text);
  if (pos < 0) return "";
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      lineStart = i + 1;
    }
  }
  return ` (line ${line}, column ${pos - lineStart + 1})`;
}

/**
 * Where JSON.parse gives up, for the messages that do not say (V8's
 * "Unexpected token 'x', ... is not valid JSON"): the shortest prefix of the
 * text that fails for a reason other than ending too soon ends with the
 * offending character. Prefixes fail monotonically, so a binary search finds it.
 */
function firstBadCharacter(text: string): number {
  const failsInside = (n: number): boolean => {
    try {
      JSON.parse(text.slice(0, n));
      return false;
    } catch (e) {
      const msg = e instanceof Error ? e.message : "";
      if (/end of JSON input/i.test(msg)) return false;
      const m = /at position (\d+)$/.exec(msg);
      return m ? Number(m[1]) < n : true;
    }
  };
  if (!failsInside(text.length)) return -1;
  let lo = 1;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (failsInside(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo - 1;
}

// ---------------------------------------------------------------- paths

function childPath(parent: string, container: unknown, key: string): string {
  if (Array.isArray(container) && /^\d+$/.test(key)) return `${parent}[${key}]`;
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) return `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

/** JSON Pointer (ajv's instancePath) to a JSONPath-like string, using the data to tell indexes from keys. */
function pointerToPath(data: unknown, pointer: string): string {
  let path = "$";
  let node = data;
  if (pointer === "") return path;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    path = childPath(path, node, key);
    node = node !== null && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
  }
  return path;
}

function show(v: unknown): string {
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}

// ---------------------------------------------------------------- structure

/** Pick the error that explains the failure and phrase it. */
function structuralError(input: unknown, errors: ErrorObject[]): ValidationError {
  // With allErrors off, ajv stops at the first failure: the innermost error
  // comes first, followed by the if/then (step or awaitable dispatch) errors
  // that enclose it. The exception is the awaitable's anyOf ("which kind?"),
  // whose failing branches come before it: then the anyOf is what matters.
  const e = errors.find((x) => x.keyword === "anyOf") ?? errors.find((x) => x.keyword !== "if") ?? errors[0];
  if (e === undefined) return { path: "$", message: "does not match the scenario schema" };
  const at = pointerToPath(input, e.instancePath);
  const title = (e.parentSchema as { title?: string } | undefined)?.title;
  const data = e.data;

  switch (e.keyword) {
    case "required": {
      const prop = (e.params as { missingProperty: string }).missingProperty;
      const path = childPath(at, data, prop);
      if (prop === "op" && title === "step") {
        return { path, message: `missing: a step needs an "op" (one of ${OPS.join(", ")})` };
      }
      return { path, message: `missing: ${title ? withArticle(title) : "this object"} requires "${prop}"` };
    }
    case "additionalProperties": {
      const prop = (e.params as { additionalProperty: string }).additionalProperty;
      const path = childPath(at, data, prop);
      if (title?.endsWith("awaitable") && isObject(data)) {
        const kinds = AWAITABLE_KINDS.filter((k) => k in data);
        if (kinds.length > 1) {
          return {
            path: at,
            message: `an awaitable has exactly one of the keys ${AWAITABLE_KINDS.join(", ")}; this one has ${kinds.join(", ")}`,
          };
        }
      }
      const allowed = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
      return { path, message: `unknown property ${JSON.stringify(prop)} (${title ?? "object"} properties: ${allowed.join(", ")})` };
    }
    case "anyOf":
      // the only anyOf in the schema: an awaitable without a kind key
      return {
        path: at,
        message: `an awaitable needs exactly one of the keys ${AWAITABLE_KINDS.join(", ")}` +
          (isObject(data) && Object.keys(data).length > 0 ? `; this one has ${Object.keys(data).join(", ")}` : ""),
      };
    case "enum": {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String).join(", ");
      if (title === "op") return { path: at, message: `unknown op ${show(data)} (expected one of ${allowed})` };
      if (title === "raisable exception type" && (data === "Exception" || data === "BaseException")) {
        return { path: at, message: `cannot raise ${data}: it can only be named in an except clause (raisable: ${allowed})` };
      }
      if (title?.endsWith("exception type")) {
        return { path: at, message: `unknown exception type ${show(data)} (expected one of ${allowed})` };
      }
      return { path: at, message: `must be one of ${allowed}` };
    }
    case "const":
      if (title === "language version") return { path: at, message: `must be 1 (the scenario language version), got ${show(data)}` };
      return { path: at, message: `must be ${show((e.params as { allowedValue: unknown }).allowedValue)}` };
    case "type": {
      const t = (e.params as { type: string | string[] }).type;
      const types = Array.isArray(t) ? t : String(t).split(",");
      if (typeof data === "number" && !Number.isFinite(data) && types.some((x) => x === "number" || x === "integer")) {
        return { path: at, message: `must be a finite number, got ${show(data)}` };
      }
      const list = types.length > 1 ? `${types.slice(0, -1).join(", ")} or ${types[types.length - 1]}` : types[0];
      if (list === "object" && title) return { path: at, message: `must be object (${withArticle(title)})` };
      return { path: at, message: `must be ${list}` };
    }
    case "pattern":
      if (title === "name") {
        return {
          path: at,
          message: `must be a name: a letter or underscore, then letters, digits or underscores, 64 characters at most (got ${show(data)})`,
        };
      }
      return { path: at, message: `${e.message}, got ${show(data)}` };
    case "minItems":
      if (title === "coroutines") return { path: at, message: "must have at least one coroutine" };
      return { path: at, message: e.message ?? "too few items" };
    default:
      return { path: at, message: e.message ?? `fails ${e.keyword}` };
  }
}

function withArticle(noun: string): string {
  return /^["{]?[aeiou]/i.test(noun) ? `an ${noun}` : `a ${noun}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

// ---------------------------------------------------------------- meaning

interface Ref {
  name: string;
  path: string;
}

interface Refs {
  coros: Ref[];
  handles: Ref[];
}

function awaitableRefs(aw: Awaitable, path: string, out: Refs, onCoro?: (name: string) => void): void {
  if ("task" in aw) out.handles.push({ name: aw.task, path: `${path}.task` });
  else if ("coro" in aw) {
    out.coros.push({ name: aw.coro, path: `${path}.coro` });
    onCoro?.(aw.coro);
  } else if ("gather" in aw) aw.gather.forEach((p, i) => awaitableRefs(p, `${path}.gather[${i}]`, out, onCoro));
}

function semanticErrors(scenario: Scenario): ValidationError[] {
  const errors: ValidationError[] = [];

  // Coroutine names: unique, and "main" among them.
  const firstDef = new Map<string, number>();
  scenario.coroutines.forEach((c, i) => {
    const first = firstDef.get(c.name);
    if (first === undefined) firstDef.set(c.name, i);
    else {
      errors.push({
        path: `$.coroutines[${i}].name`,
        message: `duplicate coroutine name "${c.name}" (also defined at $.coroutines[${first}].name)`,
      });
    }
  });
  if (!firstDef.has("main")) {
    errors.push({ path: "$.coroutines", message: 'no coroutine named "main": the entry point is missing' });
  }

  // References from every step, in document order.
  const edges = new Map<string, Ref[]>(); // coroutine -> coroutines it calls, awaits or spawns
  for (const name of firstDef.keys()) edges.set(name, []);
  const bound = new Set<string>();
  const boundTo = new Map<string, Set<string>>(); // handle -> coroutines its tasks run
  const waitsOn: Array<{ coro: string; ref: Ref }> = []; // awaited handles, per coroutine
  const callEdges = new Map<string, Ref[]>(); // inline calls: the callee's awaits are the caller's
  for (const name of firstDef.keys()) callEdges.set(name, []);
  const handleRefs: Ref[] = [];
  const known = [...firstDef.keys()];
  for (const { step, path, coro } of walkSteps(scenario)) {
    const refs: Refs = { coros: [], handles: [] };
    switch (step.op) {
      case "call":
        refs.coros.push({ name: step.coro, path: `${path}.coro` });
        if (firstDef.has(step.coro)) callEdges.get(coro)?.push({ name: step.coro, path: `${path}.coro` });
        break;
      case "create_task":
        refs.coros.push({ name: step.coro, path: `${path}.coro` });
        bound.add(step.task);
        if (!boundTo.has(step.task)) boundTo.set(step.task, new Set());
        boundTo.get(step.task)!.add(step.coro);
        if (step.name !== undefined && DEFAULT_TASK_NAME.test(step.name)) {
          errors.push({
            path: `${path}.name`,
            message: `task name ${show(step.name)} looks like a default task name (Task-N); ` +
              "default names are renumbered in traces, so choose another name or leave it out",
          });
        }
        break;
      case "await": {
        const before = refs.handles.length;
        awaitableRefs(step.on, `${path}.on`, refs, (name) => {
          if (firstDef.has(name)) callEdges.get(coro)?.push({ name, path: `${path}.on` });
        });
        for (const r of refs.handles.slice(before)) waitsOn.push({ coro, ref: r });
        break;
      }
      case "cancel":
      case "inspect":
        refs.handles.push({ name: step.task, path: `${path}.task` });
        break;
      default:
        break;
    }
    for (const r of refs.coros) {
      if (firstDef.has(r.name)) edges.get(coro)!.push(r);
      else {
        const list = known.length <= 12 ? known.join(", ") : `${known.slice(0, 12).join(", ")}, ...`;
        errors.push({ path: r.path, message: `unknown coroutine "${r.name}" (defined: ${list})` });
      }
    }
    handleRefs.push(...refs.handles);
  }
  for (const r of handleRefs) {
    if (!bound.has(r.name)) {
      errors.push({
        path: r.path,
        message: `task handle "${r.name}" is never bound: no create_task step in the scenario has task "${r.name}"`,
      });
    }
  }

  const callCycles = cycleErrors(known, edges, (name, cycle) =>
    `coroutine "${name}" calls or spawns itself through ${cycle.join(" -> ")}; scenarios must terminate`);
  errors.push(...callCycles);
  if (callCycles.length === 0) {
    // The waits-for graph: a task running X waits for a task running Y when X
    // (or a coroutine X calls inline) awaits a handle bound to a task of Y.
    // Tasks that could await each other are rejected: cancelling one of them
    // cancels the other, which cancels the first, without end (CPython hits
    // RecursionError), so such a scenario has no bounded meaning.
    const waits = new Map<string, Ref[]>();
    for (const [c, refs] of callEdges) waits.set(c, [...refs]);
    for (const { coro, ref } of waitsOn) {
      for (const target of boundTo.get(ref.name) ?? []) {
        if (firstDef.has(target)) waits.get(coro)!.push({ name: target, path: ref.path });
      }
    }
    errors.push(...cycleErrors(known, waits, (name, cycle) =>
      `tasks could await each other: ${cycle.join(" -> ")} (an await of a handle bound to a task of "${name}" ` +
      "closes the cycle); a cycle of awaits makes cancel() recurse without end, so scenarios may not contain one"));
  }
  return errors;
}

/**
 * Depth-first search of the call/spawn graph, from each coroutine in
 * definition order; every back edge closes a cycle, reported at the
 * reference that closes it.
 */
function cycleErrors(
  nodes: string[],
  edges: Map<string, Ref[]>,
  describe: (name: string, cycle: string[]) => string,
): ValidationError[] {
  const errors: ValidationError[] = [];
  const state = new Map<string, "active" | "done">();
  for (const root of nodes) {
    if (state.has(root)) continue;
    const stack: Array<{ node: string; next: number }> = [{ node: root, next: 0 }];
    state.set(root, "active");
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const out = edges.get(top.node) ?? [];
      if (top.next >= out.length) {
        state.set(top.node, "done");
        stack.pop();
        continue;
      }
      const edge = out[top.next++];
      const s = state.get(edge.name);
      if (s === "active") {
        const from = stack.findIndex((f) => f.node === edge.name);
        const cycle = [...stack.slice(from).map((f) => f.node), edge.name];
        errors.push({
          path: edge.path,
          message: describe(edge.name, cycle),
        });
      } else if (s === undefined) {
        state.set(edge.name, "active");
        stack.push({ node: edge.name, next: 0 });
      }
    }
  }
  return errors;
}
