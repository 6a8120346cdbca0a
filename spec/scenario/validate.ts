/**
 * The scenario validator: is a JSON value a well-formed, runnable scenario?
 *
 * Two passes:
 *  1. structure, against ./scenario.schema.json (ajv). The first problem found
 *     is reported, with messages tuned for the schema's discriminated unions:
 *     a step with a known `op` is checked against that op's schema only, an
 *     awaitable against the schema of its kind key only.
 *  2. meaning, on a structurally valid scenario; every problem found is
 *     reported:
 *     - coroutine names are unique and "main" exists; callback names are
 *       unique; every referenced coroutine and callback exists;
 *     - the call / spawn / schedule graph (coroutines and callbacks) is
 *       acyclic, so runs terminate, and so is the waits-for graph of tasks
 *       (a cycle of awaits makes cancel() recurse without end);
 *     - callback bodies hold only steps that do not await (SYNC_OPS);
 *     - handles: task/future, TaskGroup, timeout and timer handles are
 *       separate namespaces (one name, one kind); every handle used is bound
 *       by some step of its kind; set_result / set_exception name a handle
 *       bound by create_future, uncancel / set_name one bound by create_task;
 *     - except* (`star`): 1 to 3 clauses, no ExceptionGroup /
 *       BaseExceptionGroup clause type, no `return` in a handler;
 *     - exception groups have a string message at most and at least one
 *       member, an ExceptionGroup only Exceptions; only groups have members;
 *     - as_completed and wait take task/future handles and coroutines;
 *     - no explicit task name (create_task, set_name) looks like a default
 *       one (default names are renumbered in traces, so a chosen "Task-3"
 *       would read differently per implementation).
 *
 * Also here: `scenarioFeatures` (what a scenario uses, for skipping it on
 * implementations that lack a feature) and `requiredVersion` (the oldest
 * Python that runs it).
 *
 * Paths are JSONPath-like and rooted at "$", e.g. `$.coroutines[0].body[3].ticks`.
 */
import type Ajv2020 from "ajv/dist/2020";
import type { ErrorObject, SchemaObject } from "ajv/dist/2020";
import schemaJson from "./scenario.schema.json";
import { AWAITABLE_KINDS, OPS, SYNC_OPS, walkSteps } from "./types";
import type { Awaitable, ExceptionSpec, Scenario, Step, TryStep } from "./types";
import { compareVersions } from "./versions";
import { Shallow, expandRepeats, expandScenario } from "./repeat";
import type { Expansion } from "./repeat";
import type { PythonVersion } from "./versions";

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

/** Task handles that no step binds: the running task and the main task. */
export const SELF_HANDLES: readonly string[] = ["$current", "$main"];
const SELF_HANDLE_MEANING: Record<string, string> = {
  $current: "the running task (asyncio.current_task())",
  $main: "the main task",
};

/** Default task names, as CPython's `Task-(\d+)` (Python's \d matches any Unicode decimal digit). */
const DEFAULT_TASK_NAME = /^Task-\p{Nd}+$/u;

let compiled: ReturnType<Ajv2020["compile"]> | undefined;

function schemaValidator(): ReturnType<Ajv2020["compile"]> {
  if (compiled === undefined) {
    // Loaded here, not at import: ajv is some 70 ms of CPU at start-up, which
    // every run paid, though only a scenario from a file is validated.
    const Ajv = (require("ajv/dist/2020") as typeof import("ajv/dist/2020")).default;
    const ajv = new Ajv({
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
  // Depth first, without recursion: every later pass (repeat expansion, the
  // schema, the semantic walks) recurses and would overflow the stack.
  const tooDeep = nestingError(input);
  if (tooDeep !== null) return { ok: false, errors: [tooDeep] };
  // repeat steps are written out first (./repeat.ts); the expanded scenario
  // is what is checked and returned, with errors at the written paths.
  const expansion = expandRepeats(input);
  if (!expansion.ok) return { ok: false, errors: expansion.errors };
  const data = expansion.value;
  const validate = schemaValidator();
  if (!validate(data)) {
    return { ok: false, errors: mapRepeatPaths(expansion, [structuralError(data, validate.errors ?? [])]) };
  }
  const scenario = data as Scenario;
  const errors = mapRepeatPaths(expansion, semanticErrors(scenario));
  return errors.length > 0 ? { ok: false, errors } : { ok: true, scenario };
}

/**
 * How deeply a scenario's JSON may nest (objects and arrays, the scenario
 * itself being level 1). The bound comes from CPython, which must compile the
 * scenario's Python reproducer: a function nests at most 20 blocks (try,
 * except handler, async with, for), and a try with except and finally costs
 * 3 blocks for 4 JSON levels (the costliest nesting measured), which 32
 * levels keep within 20, as they keep reproducers within CPython's 100 levels
 * of indentation and 200 nested parentheses (test/deep-input.test.ts).
 * docs/scenario-language.md states the limit.
 */
export const MAX_NESTING = 32;

/** The first place where `input` nests deeper than MAX_NESTING, found with an explicit stack. */
function nestingError(input: unknown): ValidationError | null {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: input, path: "$", depth: 1 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (value === null || typeof value !== "object") continue;
    if (depth > MAX_NESTING) {
      return { path, message: `nested deeper than the limit of ${MAX_NESTING} levels of objects and arrays` };
    }
    for (const [key, child] of Object.entries(value)) {
      stack.push({ value: child, path: childPath(path, value, key), depth: depth + 1 });
    }
  }
  return null;
}

/** Errors found in an expanded scenario, at the paths of the written one (one per path: a repeat repeats its errors). */
function mapRepeatPaths(expansion: Expansion & { ok: true }, errors: ValidationError[]): ValidationError[] {
  if (!expansion.expanded) return errors;
  const seen = new Set<string>();
  const out: ValidationError[] = [];
  for (const e of errors) {
    const { path, suffix } = expansion.mapPath(e.path);
    if (seen.has(path)) continue;
    seen.add(path);
    out.push({ path, message: e.message + suffix });
  }
  return out;
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
      if (title === "task handle") {
        return {
          path: at,
          message: `must be a task handle: a name (a letter or underscore, then letters, digits or underscores, ` +
            `64 characters at most), "$current" or "$main" (got ${show(data)})`,
        };
      }
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

/** The kinds of handles; each kind is its own namespace. */
type HandleKind = "task" | "group" | "cm" | "timer" | "weakref";

const KIND_NAMES: Record<HandleKind, string> = {
  task: "task/future handle",
  group: "TaskGroup handle",
  cm: "timeout handle",
  timer: "timer handle",
  weakref: "weak reference",
};

const KIND_BINDERS: Record<HandleKind, string> = {
  task: "no create_task, create_future or ensure_future step in the scenario binds",
  group: "no taskgroup or new_taskgroup step in the scenario has group",
  cm: "no timeout step in the scenario has cm",
  timer: "no call_soon, call_later or call_at step in the scenario has handle",
  weakref: "no weakref step in the scenario has ref",
};

/** One occurrence of a handle name: a binding (by `op`) or a use (by `op`). */
interface HandleUse {
  kind: HandleKind;
  name: string;
  path: string;
  op: string;
  bind: boolean;
  /** A use that needs a binding by this op specifically (set_result needs create_future, ...). */
  needs?: "create_future" | "create_task";
}

const GROUP_TYPES = new Set(["ExceptionGroup", "BaseExceptionGroup"]);
/** Raisable types that are BaseExceptions but not Exceptions. */
const BASE_ONLY_TYPES = new Set(["KeyboardInterrupt", "SystemExit", "CancelledError"]);
const SYNC = new Set<string>(SYNC_OPS);

/** Is the exception this spec builds an Exception (rather than only a BaseException)? */
function isException(spec: ExceptionSpec): boolean {
  if (BASE_ONLY_TYPES.has(spec.type)) return false;
  // BaseExceptionGroup(msg, excs) is an ExceptionGroup when every member is an Exception.
  if (spec.type === "BaseExceptionGroup") return (spec.exceptions ?? []).every(isException);
  return true;
}

/** Exception groups are Type(message, exceptions): check the shape Python accepts. */
function exceptionErrors(spec: ExceptionSpec, path: string, errors: ValidationError[]): void {
  const group = GROUP_TYPES.has(spec.type);
  if (group) {
    if (spec.exceptions === undefined || spec.exceptions.length === 0) {
      errors.push({
        path: `${path}.exceptions`,
        message: `an exception group needs at least one exception in "exceptions" (Python raises ValueError for ${spec.type}(msg, []))`,
      });
    }
    const args = spec.args ?? [];
    if (args.length > 1) {
      errors.push({
        path: `${path}.args`,
        message: `${spec.type} takes one argument, its message ("args": ["message"]); its members go in "exceptions"`,
      });
    } else if (args.length === 1 && typeof args[0] !== "string") {
      errors.push({
        path: `${path}.args[0]`,
        message: `the message of ${withArticle(spec.type)} must be a string (Python raises TypeError), got ${show(args[0])}`,
      });
    }
    (spec.exceptions ?? []).forEach((x, i) => {
      const p = `${path}.exceptions[${i}]`;
      if (spec.type === "ExceptionGroup" && !isException(x)) {
        errors.push({
          path: `${p}.type`,
          message: `an ExceptionGroup can only hold Exceptions, and ${describeException(x)} is not one ` +
            "(Python raises TypeError: Cannot nest BaseExceptions in an ExceptionGroup); use a BaseExceptionGroup",
        });
      }
      exceptionErrors(x, p, errors);
    });
  } else if (spec.exceptions !== undefined) {
    errors.push({
      path: `${path}.exceptions`,
      message: `only ExceptionGroup and BaseExceptionGroup have "exceptions", not ${spec.type}`,
    });
  }
}

function describeException(spec: ExceptionSpec): string {
  return spec.type === "BaseExceptionGroup" ? "a BaseExceptionGroup holding BaseExceptions" : `a ${spec.type}`;
}

/** The key naming an awaitable's kind. */
function kindOf(aw: Awaitable): (typeof AWAITABLE_KINDS)[number] {
  // A plain loop, no closure: the feature walk asks it of every awaitable generated.
  for (const k of AWAITABLE_KINDS) if (k in aw) return k;
  return undefined as never; // a malformed awaitable (the schema reports it)
}

/** Every awaitable inside `aw` (itself included), with its path, depth first. */
function* walkAwaitable(aw: Awaitable, path: string): Generator<{ aw: Awaitable; path: string }> {
  yield { aw, path };
  if ("gather" in aw) for (let i = 0; i < aw.gather.length; i++) yield* walkAwaitable(aw.gather[i], `${path}.gather[${i}]`);
  else if ("wait" in aw) for (let i = 0; i < aw.wait.length; i++) yield* walkAwaitable(aw.wait[i], `${path}.wait[${i}]`);
  else if ("shield" in aw) yield* walkAwaitable(aw.shield, `${path}.shield`);
  else if ("wait_for" in aw) yield* walkAwaitable(aw.wait_for, `${path}.wait_for`);
}

/** The awaitables a step holds: an await's `on`, an as_completed's parts. */
function* stepAwaitables(step: Step, path: string): Generator<{ aw: Awaitable; path: string }> {
  if (step.op === "await" || step.op === "ensure_future") yield* walkAwaitable(step.on, `${path}.on`);
  else if (step.op === "as_completed") {
    for (let i = 0; i < step.on.length; i++) yield* walkAwaitable(step.on[i], `${path}.on[${i}]`);
  }
}

/** Every step inside a list of steps (nested bodies included), with its path. */
function* walkBody(steps: Step[], path: string): Generator<{ step: Step; path: string }> {
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    const p = `${path}[${i}]`;
    yield { step, path: p };
    if (step.op === "try") {
      yield* walkBody(step.body, `${p}.body`);
      for (let j = 0; j < (step.except ?? []).length; j++) yield* walkBody(step.except![j].body ?? [], `${p}.except[${j}].body`);
      yield* walkBody(step.finally ?? [], `${p}.finally`);
    } else if (step.op === "taskgroup" || step.op === "timeout") {
      yield* walkBody(step.body, `${p}.body`);
    }
  }
}

/** Graph nodes: a coroutine by its name, a callback as "callback:NAME" (names cannot contain ":"). */
const callbackNode = (name: string): string => `callback:${name}`;

const MAX_STAR_CLAUSES = 3;

function listOf(names: string[]): string {
  return names.length <= 12 ? names.join(", ") : `${names.slice(0, 12).join(", ")}, ...`;
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
  // Callback names: unique (a namespace of their own).
  const firstCallback = new Map<string, number>();
  (scenario.callbacks ?? []).forEach((c, i) => {
    const first = firstCallback.get(c.name);
    if (first === undefined) firstCallback.set(c.name, i);
    else {
      errors.push({
        path: `$.callbacks[${i}].name`,
        message: `duplicate callback name "${c.name}" (also defined at $.callbacks[${first}].name)`,
      });
    }
  });

  // References from every step, in document order.
  const known = [...firstDef.keys()];
  const knownCallbacks = [...firstCallback.keys()];
  // The call / spawn / schedule graph: coroutine or callback -> coroutines it
  // calls, awaits or spawns and callbacks it schedules.
  const edges = new Map<string, Ref[]>();
  for (const name of known) edges.set(name, []);
  for (const name of knownCallbacks) edges.set(callbackNode(name), []);
  const boundTo = new Map<string, Set<string>>(); // task handle -> coroutines its tasks run
  const waitsOn: Array<{ coro: string; ref: Ref }> = []; // awaited handles, per coroutine
  const callEdges = new Map<string, Ref[]>(); // inline calls: the callee's awaits are the caller's
  for (const name of known) callEdges.set(name, []);
  const handles: HandleUse[] = [];
  const ensured: Array<{ handle: string; coros: string[]; tasks: string[] }> = []; // ensure_future bindings

  const coroRef = (node: string, name: string, path: string, inline: boolean): void => {
    if (!firstDef.has(name)) {
      errors.push({ path, message: `unknown coroutine "${name}" (defined: ${listOf(known)})` });
      return;
    }
    edges.get(node)?.push({ name, path });
    if (inline) callEdges.get(node)?.push({ name, path });
  };
  const callbackRef = (node: string, name: string, path: string, schedules: boolean): void => {
    if (!firstCallback.has(name)) {
      errors.push({
        path,
        message: knownCallbacks.length > 0
          ? `unknown callback "${name}" (defined: ${listOf(knownCallbacks)})`
          : `unknown callback "${name}" (the scenario defines no callbacks: add it to "callbacks")`,
      });
      return;
    }
    if (schedules) edges.get(node)?.push({ name: callbackNode(name), path });
  };
  const use = (kind: HandleKind, name: string, path: string, op: string, needs?: HandleUse["needs"]): void => {
    if (kind === "task" && SELF_HANDLES.includes(name)) {
      // "$current" / "$main": tasks, bound by the run itself.
      if (needs === "create_future") {
        errors.push({ path, message: `${op} needs a future: "${name}" is a task (a Task's ${op}() always raises RuntimeError)` });
      }
      return;
    }
    handles.push({ kind, name, path, op, bind: false, needs });
  };
  const bind = (kind: HandleKind, name: string, path: string, op: string): void => {
    if (SELF_HANDLES.includes(name)) {
      errors.push({ path, message: `"${name}" is reserved: it names ${SELF_HANDLE_MEANING[name]}, and no step can bind it` });
      return;
    }
    handles.push({ kind, name, path, op, bind: true });
  };
  const taskName = (name: string | undefined, path: string): void => {
    if (name !== undefined && DEFAULT_TASK_NAME.test(name)) {
      errors.push({
        path,
        message: `task name ${show(name)} looks like a default task name (Task-N); ` +
          "default names are renumbered in traces, so choose another name or leave it out",
      });
    }
  };

  for (const { step, path, coro: node } of walkSteps(scenario)) {
    const inCallback = node.startsWith("callback:");
    if (inCallback && !SYNC.has(step.op)) {
      errors.push({
        path: `${path}.op`,
        message: `a callback cannot run a "${step.op}" step: a callback is a plain function the loop calls outside any task, ` +
          `so it cannot await, return a value or hold a block (steps a callback can run: ${SYNC_OPS.join(", ")})`,
      });
    }
    switch (step.op) {
      case "call":
        coroRef(node, step.coro, `${path}.coro`, true);
        break;
      case "create_task":
        coroRef(node, step.coro, `${path}.coro`, false);
        bind("task", step.task, `${path}.task`, "create_task");
        if (firstDef.has(step.coro)) {
          if (!boundTo.has(step.task)) boundTo.set(step.task, new Set());
          boundTo.get(step.task)!.add(step.coro);
        }
        if (step.group !== undefined) use("group", step.group, `${path}.group`, "create_task");
        taskName(step.name, `${path}.name`);
        break;
      case "create_future":
        bind("task", step.future, `${path}.future`, "create_future");
        break;
      case "unawaited":
        // The coroutine never runs: it must exist, but calls and spawns nothing.
        if (!firstDef.has(step.coro)) errors.push({ path: `${path}.coro`, message: `unknown coroutine "${step.coro}" (defined: ${listOf(known)})` });
        break;
      case "ensure_future": {
        bind("task", step.future, `${path}.future`, "ensure_future");
        // Awaiting the handle waits for what `on` runs and names (resolved below).
        const parts = [...walkAwaitable(step.on, `${path}.on`)].map(({ aw }) => aw);
        ensured.push({
          handle: step.future,
          coros: parts.flatMap((aw) => ("coro" in aw && firstDef.has(aw.coro) ? [aw.coro] : [])),
          tasks: parts.flatMap((aw) => ("task" in aw ? [aw.task] : [])),
        });
        break;
      }
      case "set_result":
      case "set_exception":
        use("task", step.future, `${path}.future`, step.op, "create_future");
        if (step.op === "set_exception") exceptionErrors(step.exc, `${path}.exc`, errors);
        break;
      case "raise":
        exceptionErrors(step.exc, `${path}.exc`, errors);
        if (step.exc.type === "StopIteration") {
          errors.push({
            path: `${path}.exc.type`,
            message: "StopIteration can only be given to set_exception: raised in a coroutine, Python turns it into RuntimeError (PEP 479)",
          });
        }
        break;
      case "cancel":
      case "inspect":
      case "result":
      case "exception":
        use("task", step.task, `${path}.task`, step.op);
        break;
      case "uncancel":
      case "set_name":
        use("task", step.task, `${path}.task`, step.op, "create_task");
        if (step.op === "set_name") taskName(step.name, `${path}.name`);
        break;
      case "add_done_callback":
      case "remove_done_callback":
        use("task", step.task, `${path}.task`, step.op);
        callbackRef(node, step.callback, `${path}.callback`, step.op === "add_done_callback");
        break;
      case "call_soon":
      case "call_later":
      case "call_at":
        callbackRef(node, step.callback, `${path}.callback`, true);
        if (step.handle !== undefined) bind("timer", step.handle, `${path}.handle`, step.op);
        break;
      case "cancel_handle":
        use("timer", step.handle, `${path}.handle`, step.op);
        break;
      case "drop":
        if (SELF_HANDLES.includes(step.handle)) {
          errors.push({ path: `${path}.handle`, message: `"${step.handle}" cannot be dropped: it names ${SELF_HANDLE_MEANING[step.handle]}, which the run itself holds, not a handle of the scenario` });
        } else {
          use("task", step.handle, `${path}.handle`, step.op);
        }
        break;
      case "weakref":
        use("task", step.task, `${path}.task`, step.op);
        bind("weakref", step.ref, `${path}.ref`, step.op);
        break;
      case "inspect_weakref":
        use("weakref", step.ref, `${path}.ref`, step.op);
        break;
      case "taskgroup":
      case "new_taskgroup":
        bind("group", step.group, `${path}.group`, step.op);
        break;
      case "timeout":
        if (step.cm !== undefined) bind("cm", step.cm, `${path}.cm`, step.op);
        break;
      case "reschedule":
      case "inspect_timeout":
        use("cm", step.cm, `${path}.cm`, step.op);
        break;
      case "try":
        if (step.star) starErrors(step, path, errors);
        break;
      case "as_completed":
        step.on.forEach((part, i) => {
          const kind = kindOf(part);
          // Coroutines are wrapped in tasks in the order of a set; both
          // interpreters pin their hashes, so the order is reproducible.
          if (kind !== "task" && kind !== "coro") {
            errors.push({
              path: `${path}.on[${i}]`,
              message: `as_completed takes task and future handles ({"task": H}) and coroutines ({"coro": C}), not ${withArticle(`{${kind}} awaitable`)}`,
            });
          }
        });
        break;
      default:
        break;
    }
    for (const { aw, path: at } of stepAwaitables(step, path)) {
      if ("task" in aw && SELF_HANDLES.includes(aw.task)) {
        errors.push({
          path: `${at}.task`,
          message: aw.task === "$current"
            ? `"$current" cannot be awaited (nor gathered, shielded, waited for or passed to wait / as_completed): ` +
              "a task awaiting itself gets RuntimeError, and through a gather or wait its cancellation recurses without end"
            : `"$main" cannot be awaited (nor gathered, shielded, waited for or passed to wait / as_completed): ` +
              "main may be waiting for the task that awaits it, a cycle of awaits (see termination)",
        });
        continue;
      }
      if ("task" in aw) {
        use("task", aw.task, `${at}.task`, step.op);
        if (step.op === "await" || step.op === "as_completed") waitsOn.push({ coro: node, ref: { name: aw.task, path: `${at}.task` } });
      } else if ("coro" in aw) {
        // ensure_future runs it in a task of its own (a spawn, as create_task's).
        coroRef(node, aw.coro, `${at}.coro`, step.op !== "ensure_future");
      } else if ("wait" in aw) {
        aw.wait.forEach((part, i) => {
          const kind = kindOf(part);
          if (kind !== "task" && kind !== "coro") {
            errors.push({
              path: `${at}.wait[${i}]`,
              message: `wait takes task and future handles ({"task": H}) and coroutines ({"coro": C}, which Python 3.11+ ` +
                `rejects with TypeError), not ${withArticle(`{${kind}} awaitable`)}`,
            });
          }
        });
      }
    }
  }

  errors.push(...handleErrors(handles));

  const callCycles = cycleErrors([...known, ...knownCallbacks.map(callbackNode)], edges, (name, cycle) => {
    if (cycle.every((n) => !n.startsWith("callback:"))) {
      return `coroutine "${name}" calls or spawns itself through ${cycle.join(" -> ")}; scenarios must terminate`;
    }
    const what = name.startsWith("callback:") ? `callback "${name.slice("callback:".length)}"` : `coroutine "${name}"`;
    return `${what} is scheduled again by what it schedules or spawns: ${cycle.join(" -> ")} ` +
      "(call_soon, call_later, call_at and add_done_callback schedule a callback); scenarios must terminate";
  });
  errors.push(...callCycles);
  // A handle bound by ensure_future runs what its `on` runs and waits for
  // the tasks it names, transitively (to a fixpoint: handles may chain).
  for (let changed = true; changed; ) {
    changed = false;
    for (const e of ensured) {
      const set = boundTo.get(e.handle) ?? new Set<string>();
      const before = set.size;
      for (const c of e.coros) set.add(c);
      for (const t of e.tasks) for (const c of boundTo.get(t) ?? []) set.add(c);
      boundTo.set(e.handle, set);
      if (set.size !== before) changed = true;
    }
  }
  if (callCycles.length === 0) {
    // The waits-for graph: a task running X waits for a task running Y when X
    // (or a coroutine X calls inline) awaits a handle bound to a task of Y —
    // directly, or through a gather, shield, wait_for, wait or as_completed.
    // Tasks that could await each other are rejected: cancelling one of them
    // cancels the other, which cancels the first, without end (CPython hits
    // RecursionError), so such a scenario has no bounded meaning.
    const waits = new Map<string, Ref[]>();
    for (const [c, refs] of callEdges) waits.set(c, [...refs]);
    for (const { coro, ref } of waitsOn) {
      for (const target of boundTo.get(ref.name) ?? []) {
        if (firstDef.has(target)) waits.get(coro)?.push({ name: target, path: ref.path });
      }
    }
    errors.push(...cycleErrors(known, waits, (name, cycle) =>
      `tasks could await each other: ${cycle.join(" -> ")} (an await of a handle bound to a task of "${name}" ` +
      "closes the cycle); a cycle of awaits makes cancel() recurse without end, so scenarios may not contain one"));
    errors.push(...eagerSelfUseErrors(scenario));
  }
  return errors;
}

/**
 * Can this create_task start its task eagerly? eager_start=True can (3.14);
 * without eager_start, the scenario's eager task factory can (3.12+);
 * eager_start=False or None makes a lazy task on 3.14 and a TypeError before.
 */
function startsEagerly(scenario: Scenario, step: Step & { op: "create_task" }): boolean {
  return step.eager_start === true || (scenario.eager === true && step.eager_start === undefined);
}

/** The task / future handle a step names, and the field it is in (awaitables aside). */
function namedHandle(step: Step): { field: string; name: string } | null {
  switch (step.op) {
    case "cancel": case "inspect": case "result": case "exception": case "uncancel": case "set_name":
    case "add_done_callback": case "remove_done_callback": case "weakref":
      return { field: "task", name: step.task };
    case "set_result": case "set_exception":
      return { field: "future", name: step.future };
    case "drop":
      return { field: "handle", name: step.handle };
    default:
      return null;
  }
}

/**
 * An eager task (the scenario's eager task factory, or eager_start=True on
 * 3.14) runs its first step inside create_task, before create_task returns
 * and binds its handle. A child that names its own handle in that step
 * (before anything that can suspend it) finds it unbound: refused, pointing
 * at "$current". Only handles that one create_task step binds, and nothing
 * else, are checked (a handle bound before may legitimately name an earlier
 * task).
 */
export function eagerSelfUseErrors(scenario: Scenario): ValidationError[] {
  const bodies = new Map(scenario.coroutines.map((c, i) => [c.name, { body: c.body, path: `$.coroutines[${i}].body` }]));
  const binders = new Map<string, Step[]>();
  for (const { step } of walkSteps(scenario)) {
    const h = step.op === "create_task" ? step.task : step.op === "create_future" ? step.future : null;
    if (h !== null) binders.set(h, [...(binders.get(h) ?? []), step]);
  }
  const errors: ValidationError[] = [];
  for (const [h, steps] of binders) {
    const only = steps.length === 1 ? steps[0] : null;
    if (only === null || only.op !== "create_task" || !startsEagerly(scenario, only)) continue;
    const child = bodies.get(only.coro);
    if (child === undefined) continue;
    const use = firstStepUse(child.body, child.path, h, bodies, new Set([only.coro]));
    if (use !== null && use !== "suspends") {
      errors.push({
        path: use,
        message: `with eager tasks, "${only.coro}" runs its first step inside create_task, before "${h}" is bound: ` +
          `this use of its own handle finds it unbound; use "$current" for the running task`,
      });
    }
  }
  return errors;
}

/**
 * Where `steps` name handle `h` before anything that can suspend them: the
 * path of the use, "suspends" if they may suspend first, or null if they
 * neither use `h` nor suspend. Inline calls and block bodies are followed;
 * the end of a block, an await, a sleep, a raise and a return end the search.
 */
function firstStepUse(
  steps: Step[], path: string, h: string,
  bodies: Map<string, { body: Step[]; path: string }>, calling: Set<string>,
): string | "suspends" | null {
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    const p = `${path}[${i}]`;
    const named = namedHandle(step);
    if (named !== null && named.name === h) return `${p}.${named.field}`;
    for (const { aw, path: ap } of stepAwaitables(step, p)) if ("task" in aw && aw.task === h) return `${ap}.task`;
    let inner: string | "suspends" | null = null;
    if (step.op === "call") {
      const callee = bodies.get(step.coro);
      if (callee === undefined || calling.has(step.coro)) return "suspends";
      inner = firstStepUse(callee.body, callee.path, h, bodies, new Set([...calling, step.coro]));
    } else if (step.op === "try" || step.op === "taskgroup" || step.op === "timeout" || (step as { op: string }).op === "repeat") {
      inner = firstStepUse((step as { body: Step[] }).body, `${p}.body`, h, bodies, calling);
      if (inner === null) return "suspends"; // what follows the body (handlers, finally, the block's end) is not followed
    } else if (["sleep", "await", "as_completed", "raise", "return"].includes(step.op)) {
      return "suspends";
    }
    if (inner !== null) return inner;
  }
  return null;
}

/** except*: 1 to 3 clauses, no group types, no `return` inside a handler. */
function starErrors(step: TryStep, path: string, errors: ValidationError[]): void {
  const clauses = step.except ?? [];
  if (clauses.length === 0) {
    errors.push({
      path: `${path}.except`,
      message: `a try with "star": true needs 1 to ${MAX_STAR_CLAUSES} except* clauses; this one has none ` +
        '(leave "star" out for a plain try/finally)',
    });
  } else if (clauses.length > MAX_STAR_CLAUSES) {
    errors.push({
      path: `${path}.except`,
      message: `a try with "star": true has at most ${MAX_STAR_CLAUSES} except* clauses; this one has ${clauses.length}`,
    });
  }
  clauses.forEach((h, j) => {
    if (GROUP_TYPES.has(h.type)) {
      errors.push({
        path: `${path}.except[${j}].type`,
        message: `except* cannot name ${h.type} (Python raises TypeError: catching ExceptionGroup with except* is not allowed); ` +
          "use a plain try/except to catch the group itself",
      });
    }
    for (const inner of walkBody(h.body ?? [], `${path}.except[${j}].body`)) {
      if (inner.step.op === "return") {
        errors.push({
          path: inner.path,
          message: "a \"return\" cannot appear in an except* handler (Python: SyntaxError: 'break', 'continue' and " +
            "'return' cannot appear in an except* block); return after the try, or from a coroutine the handler calls",
        });
      }
    }
  });
}

/**
 * Handle namespaces: each name is of one kind; every use is bound by a step
 * of its kind somewhere; set_result / set_exception need a create_future,
 * uncancel / set_name a create_task.
 */
function handleErrors(handles: HandleUse[]): ValidationError[] {
  const errors: ValidationError[] = [];
  const first = new Map<string, HandleUse>();
  const clashes = new Set<string>(); // paths with a kind error
  const binders = new Map<string, Set<string>>(); // `${kind}:${name}` -> ops binding it
  for (const h of handles) {
    const f = first.get(h.name);
    if (f === undefined) first.set(h.name, h);
    else if (f.kind !== h.kind) {
      clashes.add(h.path);
      errors.push({
        path: h.path,
        message: `"${h.name}" is used as ${withArticle(KIND_NAMES[h.kind])} here but as ${withArticle(KIND_NAMES[f.kind])} at ${f.path}; ` +
          "task/future, TaskGroup, timeout and timer handles are separate namespaces, so give them different names",
      });
    }
    if (h.bind) {
      const key = `${h.kind}:${h.name}`;
      if (!binders.has(key)) binders.set(key, new Set());
      binders.get(key)!.add(h.op);
    }
  }
  for (const h of handles) {
    if (h.bind || clashes.has(h.path)) continue;
    const ops = binders.get(`${h.kind}:${h.name}`);
    if (ops === undefined) {
      errors.push({
        path: h.path,
        message: `${KIND_NAMES[h.kind].replace(/^task\/future/, "task")} "${h.name}" is never bound: ${KIND_BINDERS[h.kind]} "${h.name}"`,
      });
    } else if (h.needs !== undefined && !ops.has(h.needs)) {
      const why = ops.has("ensure_future")
        ? `what ensure_future holds may be a task or a combinator's future: ${h.op} takes a handle of ${h.needs}`
        : h.needs === "create_future"
          ? `a Task's ${h.op}() always raises RuntimeError`
          : `a Future has no ${h.op}()`;
      errors.push({
        path: h.path,
        message: `${h.op} needs ${h.needs === "create_future" ? "a future" : "a task"}: handle "${h.name}" is bound only by ` +
          `${[...ops].join(" and ")}, never by ${h.needs} (${why})`,
      });
    }
  }
  return errors;
}

// ---------------------------------------------------------------- versions and features

export type { PythonVersion } from "./versions";

/**
 * Features a scenario can use that appeared after Python 3.8, the oldest
 * version aiospec knows, with the version that brought them. Drivers for
 * older Pythons declare them unsupported in their hello
 * (implementations/python/aiospec_driver.py), so scenarios using them are
 * skipped there, not failed.
 */
export const FEATURE_VERSIONS: Readonly<Record<string, PythonVersion>> = {
  "cancel:msg": "3.9", // Task.cancel(msg) / Future.cancel(msg)
  taskgroup: "3.11", // asyncio.TaskGroup
  new_taskgroup: "3.11",
  timeout: "3.11", // asyncio.timeout / timeout_at
  reschedule: "3.11",
  inspect_timeout: "3.11",
  uncancel: "3.11", // Task.uncancel / Task.cancelling
  "except*": "3.11", // PEP 654
  exception_group: "3.11", // ExceptionGroup / BaseExceptionGroup
  eager: "3.12", // asyncio.eager_task_factory / create_eager_task_factory
  "as_completed:async": "3.13", // async iteration of asyncio.as_completed
};

/**
 * Every feature name `scenarioFeatures` can report: the ops, the awaitable
 * kinds, "eager" (the scenario runs with the eager task factory), "except*"
 * (a try with `star`), "as_completed:async" (as_completed with mode
 * "async"), "cancel:msg" (a cancel with a message), "exception_group"
 * (an ExceptionGroup or BaseExceptionGroup raised, set or caught by type)
 * and "create_task:eager_start" (a create_task passing eager_start: no
 * version of its own, since before 3.14 the TypeError is the behaviour).
 * Op and awaitable kind names overlap ("sleep"): one name, one feature of
 * asyncio.
 */
export const FEATURES: readonly string[] = [
  ...new Set<string>([...OPS, ...AWAITABLE_KINDS, "eager", "except*", "as_completed:async", "cancel:msg", "exception_group", "create_task:eager_start"]),
];

function usesGroup(e: ExceptionSpec): boolean {
  return GROUP_TYPES.has(e.type) || (e.exceptions ?? []).some(usesGroup);
}

/**
 * The features a scenario uses, sorted: what an implementation must provide
 * to run it (harness code skips scenarios that use a feature an
 * implementation lists as unsupported). Assumes a structurally valid scenario.
 *
 * Scenarios are values: once built they are not changed in place, so the
 * answer is kept per scenario object (a diff asks it of each generated
 * scenario up to four times: the generator's withoutFeatures, the diff's
 * skip check, the interpreter's version check and lackingFunction).
 */
export function scenarioFeatures(scenario: Scenario): string[] {
  const kept = FEATURES_OF.get(scenario);
  if (kept !== undefined && kept.of.matches(scenario)) return kept.features.slice();
  const features = computeFeatures(scenario);
  FEATURES_OF.set(scenario, { of: new Shallow(scenario), features });
  return features.slice();
}

/**
 * The marks a feature leaves in a scenario's JSON text as JSON.stringify
 * writes it (no whitespace): a scenario that uses the feature has at least
 * one of them in its text. An op is its `"op":"NAME"`; an awaitable kind,
 * the key of its object; the others, the field that asks for them (a
 * repeat written out uses what its body's text has). Inside a JSON string
 * a quote is escaped, so a label or a name cannot make one up; and one
 * found by accident only costs the walk.
 */
const FEATURE_MARKS: ReadonlyMap<string, readonly string[]> = (() => {
  const marks = new Map<string, string[]>();
  const add = (f: string, mark: string) => marks.set(f, [...(marks.get(f) ?? []), mark]);
  for (const op of OPS) add(op, `"op":${JSON.stringify(op)}`);
  for (const kind of AWAITABLE_KINDS) add(kind, `${JSON.stringify(kind)}:`);
  add("eager", '"eager":');
  add("except*", '"star":');
  add("as_completed:async", '"mode":"async"');
  add("cancel:msg", '"msg":');
  for (const t of GROUP_TYPES) add("exception_group", `"type":${JSON.stringify(t)}`);
  add("create_task:eager_start", '"eager_start":');
  return marks;
})();

/**
 * Whether a scenario, given as its JSON text (JSON.stringify's), may use
 * one of `features`: false only when the text has none of their marks
 * (FEATURE_MARKS), so that a scenario using none of them needs no walk; a
 * feature without marks (a name not in FEATURES) may always be there.
 * scenarioFeatures decides when the answer is true.
 */
export function mayUseFeature(json: string, features: Iterable<string>): boolean {
  for (const f of features) {
    const marks = FEATURE_MARKS.get(f);
    if (marks === undefined) return true;
    for (const m of marks) if (json.includes(m)) return true;
  }
  return false;
}

/** The features, and the top-level fields they were found with (a changed `eager` changes them). */
const FEATURES_OF = new WeakMap<Scenario, { of: Shallow; features: readonly string[] }>();

/** FEATURES in sorted order (scenarioFeatures' order), and each one's place in it. */
const SORTED_FEATURES: readonly string[] = [...FEATURES].sort();
const FEATURE_PLACE: ReadonlyMap<string, number> = new Map(SORTED_FEATURES.map((f, i) => [f, i]));

/** What computeFeatures has found so far: a flag per known feature, and any other name. */
class Found {
  readonly flags = new Uint8Array(SORTED_FEATURES.length);
  unknown: Array<string | undefined> | null = null;
  add(name: string | undefined): void {
    const i = name === undefined ? undefined : FEATURE_PLACE.get(name);
    if (i !== undefined) this.flags[i] = 1;
    else (this.unknown ??= []).push(name);
  }
  /** Sorted, as a set of the names would sort (no set and no sort when all are known). */
  names(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.flags.length; i++) if (this.flags[i] === 1) out.push(SORTED_FEATURES[i]);
    return this.unknown === null ? out : ([...new Set([...out, ...this.unknown])].sort() as string[]);
  }
}

function featuresOfAwaitable(aw: Awaitable, found: Found): void {
  found.add(kindOf(aw));
  if ("gather" in aw) for (const x of aw.gather) featuresOfAwaitable(x, found);
  else if ("wait" in aw) for (const x of aw.wait) featuresOfAwaitable(x, found);
  else if ("shield" in aw) featuresOfAwaitable(aw.shield, found);
  else if ("wait_for" in aw) featuresOfAwaitable(aw.wait_for, found);
}

// One plain recursive walk (walkSteps' generators and paths cost more than the checks).
function featuresOfBody(steps: Step[], found: Found): void {
  for (const step of steps) {
    found.add(step.op);
    switch (step.op) {
      case "try":
        if (step.star) found.add("except*");
        if (step.except !== undefined) for (const h of step.except) if (GROUP_TYPES.has(h.type)) found.add("exception_group");
        featuresOfBody(step.body, found);
        if (step.except !== undefined) for (const h of step.except) if (h.body !== undefined) featuresOfBody(h.body, found);
        if (step.finally !== undefined) featuresOfBody(step.finally, found);
        break;
      case "taskgroup":
      case "timeout":
        featuresOfBody(step.body, found);
        break;
      case "as_completed":
        if (step.mode === "async") found.add("as_completed:async");
        for (const aw of step.on) featuresOfAwaitable(aw, found);
        break;
      case "cancel":
        if (step.msg !== undefined) found.add("cancel:msg");
        break;
      case "create_task":
        if (step.eager_start !== undefined) found.add("create_task:eager_start");
        break;
      case "raise":
      case "set_exception":
        if (usesGroup(step.exc)) found.add("exception_group");
        break;
      case "await":
      case "ensure_future":
        featuresOfAwaitable(step.on, found);
        break;
      default:
        // A repeat left in (expandScenario writes them all out): its body, as walkSteps does.
        if ((step as { op: string }).op === "repeat") featuresOfBody((step as unknown as { body: Step[] }).body, found);
    }
  }
}

function computeFeatures(scenario: Scenario): string[] {
  const found = new Found();
  if (scenario.eager) found.add("eager");
  const expanded = expandScenario(scenario);
  for (const c of expanded.coroutines) featuresOfBody(c.body, found);
  for (const c of expanded.callbacks ?? []) featuresOfBody(c.body, found);
  return found.names();
}

/** The oldest Python version that can run the scenario: "3.8" unless it uses a feature of FEATURE_VERSIONS. */
export function requiredVersion(scenario: Scenario): PythonVersion {
  let version: PythonVersion = "3.8";
  for (const f of scenarioFeatures(scenario)) {
    const v = FEATURE_VERSIONS[f];
    if (v !== undefined && compareVersions(v, version) > 0) version = v;
  }
  return version;
}

/**
 * Depth-first search of a graph (call / spawn / schedule, or waits-for), from
 * each node in definition order; every back edge closes a cycle, reported at the
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
