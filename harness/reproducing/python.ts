/**
 * Turn a scenario into a standalone Python program: the reproducer a user
 * gets when aiospec finds a counterexample.
 *
 * The program is plain Python, from the oldest version whose features the
 * scenario uses (3.8 without any; 3.11 for TaskGroup, timeouts and exception
 * groups, 3.12 for eager tasks, 3.13 for async iteration of as_completed;
 * what older versions lack is feature-detected, as the driver does), using
 * only the standard library. Each scenario
 * coroutine becomes one `async def` whose steps are real asyncio statements
 * (`await asyncio.sleep(1)`, `T["t1"] = asyncio.create_task(...)`,
 * `async with asyncio.TaskGroup() as G["g"]:`, `async with
 * asyncio.timeout(3) as CM["c"]:`, `try:` / `except* ValueError as e:` /
 * `finally:`, `for aw in asyncio.as_completed(...)`, ...), and each scenario
 * callback one plain `def`. Small helpers at the top record the events
 * exactly as the CPython driver (implementations/python/aiospec_driver.py)
 * does, and print them as JSON lines; a last line holds how the run ended
 * and the tasks' outcomes, i.e. the trace's `end`, `main`, `tasks` and
 * `shutdown` fields.
 *
 * The program runs on a small event loop with a virtual clock (a copy of the
 * driver's VirtualTimeLoop, pinned hashes included: tasks and futures hash
 * to their creation number, so sets of them iterate in the driver's order),
 * so it is deterministic, instant, and reports a deadlock instead of hanging.
 *
 * Scenario text is data: every string from the scenario (labels, names,
 * handles, messages, arguments, the title and the description) is emitted
 * through `pyStr` (a string literal) or `pyComment` (an escaped comment
 * line), so the program is pure ASCII and no scenario content can change its
 * code.
 */
import { expandScenario } from "../../spec/scenario/repeat";
import type {
  Awaitable,
  CallbackDef,
  CoroutineDef,
  ExceptionSpec,
  Scalar,
  Scenario,
  Step,
  TryStep,
} from "../../spec/scenario/types";
import { SYNC_OPS, usesGc } from "../../spec/scenario/types";
import { requiredVersion } from "../../spec/scenario/validate";
import { parseInterpreterId } from "../targets/discovery";

export interface ToPythonOptions {
  /** A one-line title for the header comment (e.g. what the counterexample shows). */
  title?: string;
  /**
   * The Python version ("3.12") whose behaviour the program shows, e.g. the
   * version of the implementation a counterexample was found on: the header
   * names it, and the program exits with a message when run on another
   * version (other versions may order events differently). Without it, the
   * program runs on any Python from the oldest that has its features.
   */
  python?: string;
  /**
   * The implementation the program is about, as far as the program can
   * follow it (pythonTarget): its Task, whether it runs inside Pyodide, and
   * an event loop of its own that the program does not run on.
   */
  target?: PythonTarget;
}

/** What the program follows of the implementation a failure or a divergence is about. */
export interface PythonTarget {
  /** Its id (cpython-3.11+pytask, pyodide-3.12, ...), named in the header. */
  id: string;
  /** "py": the pure-Python Task (asyncio.tasks._PyTask), as +pytask runs; the program makes its tasks of it too. */
  task?: "C" | "py";
  /** The Pyodide release it runs inside ("0.27.8"): the header says how to run the program there. */
  pyodide?: string;
  /**
   * An event loop it runs on that the program does not (it always runs on
   * its own virtual-time loop): "uvloop", "nest_asyncio", "Pyodide's
   * WebLoop", "asyncio's loop on the real clock". The header says so.
   */
  loop?: string;
}

/**
 * The PythonTarget of an implementation: its Task flavour as it reported it
 * (or as its id asks for), the Pyodide release its description or full
 * version names ("Pyodide 0.27.8 CPython 3.12.7 ..."), and the loop its id's
 * modifiers name.
 */
export function pythonTarget(t: { id: string; task?: "C" | "py"; fullVersion?: string; description?: string }): PythonTarget {
  const parsed = parseInterpreterId(t.id);
  const out: PythonTarget = { id: t.id };
  const task = t.task ?? (parsed?.pytask ? "py" : undefined);
  if (task !== undefined) out.task = task;
  const pyodide = parsed?.family === "pyodide" ? /Pyodide (\d+\.\d+\.\d+)/.exec(`${t.fullVersion ?? ""} ${t.description ?? ""}`) : null;
  if (pyodide !== null) out.pyodide = pyodide[1];
  if (parsed !== null) {
    const loop = parsed.loop === "webloop" ? "Pyodide's WebLoop" : parsed.loop !== "asyncio" ? parsed.loop : parsed.realtime ? "asyncio's loop on the real clock" : undefined;
    if (loop !== undefined) out.loop = loop;
  }
  return out;
}

// ------------------------------------------------------------ literals

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

const SHORT_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/**
 * The body of a Python string literal for `s`, using only printable ASCII:
 * backslash and (when `quote`) the double quote are escaped, control
 * characters and DEL become \n, \r, \t or \xNN, other non-ASCII code points
 * become \xNN, \uNNNN or \UNNNNNNNN. Lone surrogates (possible in a JS
 * string, and in the Python str the driver gets from JSON) become \uDXXX,
 * which Python accepts in a str literal.
 */
function escapeBody(s: string, quote: boolean): string {
  let out = "";
  for (const ch of s) {
    // for..of yields whole code points; lone surrogates come alone.
    const cp = ch.codePointAt(0)!;
    if (Object.hasOwn(SHORT_ESCAPES, ch)) out += SHORT_ESCAPES[ch];
    else if (ch === '"' && quote) out += '\\"';
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (cp <= 0xff) out += "\\x" + hex(cp, 2);
    else if (cp <= 0xffff) out += "\\u" + hex(cp, 4);
    else out += "\\U" + hex(cp, 8);
  }
  return out;
}

/** A double-quoted Python string literal for `s`, pure printable ASCII, that evaluates to exactly `s`. */
export function pyStr(s: string): string {
  if (typeof s !== "string") throw new Error(`not a string: ${JSON.stringify(s)}`);
  return '"' + escapeBody(s, true) + '"';
}

/**
 * A Python literal for a JSON number, as the driver sees it: the scenario
 * reaches the driver as JSON, so a number is an int in Python when its JSON
 * text has no fraction or exponent (JSON.stringify(1e21) is "1e+21": a float),
 * and non-finite numbers become null.
 */
export function pyNumber(n: number): string {
  if (typeof n !== "number") throw new Error(`not a number: ${JSON.stringify(n)}`);
  if (!Number.isFinite(n)) return "None";
  return JSON.stringify(n); // shortest round-trip form; valid Python syntax
}

/** A Python literal for a scenario scalar (None/True/False, numbers, strings). */
export function pyScalar(v: Scalar | undefined): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return pyNumber(v);
  if (typeof v === "string") return pyStr(v);
  throw new Error(`not a scenario scalar: ${JSON.stringify(v)}`);
}

/** Text made safe for a `#` comment: one line, printable ASCII (escapes as in pyStr). */
export function pyComment(s: string): string {
  return escapeBody(s, false);
}

// ------------------------------------------------------------ identifiers

const PY_KEYWORDS = [
  "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
  "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in",
  "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/** dir(builtins) of Python 3.11 - 3.13: a coroutine of that name would shadow the builtin. */
const PY_BUILTINS = (
  "ArithmeticError AssertionError AttributeError BaseException BaseExceptionGroup BlockingIOError " +
  "BrokenPipeError BufferError BytesWarning ChildProcessError ConnectionAbortedError ConnectionError " +
  "ConnectionRefusedError ConnectionResetError DeprecationWarning EOFError Ellipsis EncodingWarning " +
  "EnvironmentError Exception ExceptionGroup FileExistsError FileNotFoundError FloatingPointError " +
  "FutureWarning GeneratorExit IOError ImportError ImportWarning IndentationError IndexError " +
  "InterruptedError IsADirectoryError KeyError KeyboardInterrupt LookupError MemoryError " +
  "ModuleNotFoundError NameError NotADirectoryError NotImplemented NotImplementedError OSError " +
  "OverflowError PendingDeprecationWarning PermissionError ProcessLookupError PythonFinalizationError " +
  "RecursionError ReferenceError ResourceWarning RuntimeError RuntimeWarning StopAsyncIteration " +
  "StopIteration SyntaxError SyntaxWarning SystemError SystemExit TabError TimeoutError TypeError " +
  "UnboundLocalError UnicodeDecodeError UnicodeEncodeError UnicodeError UnicodeTranslateError " +
  "UnicodeWarning UserWarning ValueError Warning ZeroDivisionError _IncompleteInputError abs aiter " +
  "all anext any ascii bin bool breakpoint bytearray bytes callable chr classmethod compile complex " +
  "copyright credits delattr dict dir divmod enumerate eval exec exit filter float format frozenset " +
  "getattr globals hasattr hash help hex id input int isinstance issubclass iter len license list " +
  "locals map max memoryview min next object oct open ord pow print property quit range repr " +
  "reversed round set setattr slice sorted staticmethod str sum super tuple type vars zip"
).split(" ");

/** The module-level names the program itself defines or imports (see PRELUDE and the main block). */
const PROGRAM_GLOBALS = [
  "asyncio", "functools", "itertools", "json", "re", "sys", "warnings", "_REPR_START",
  "CustomError", "GROUP_TYPES", "Deadlock", "IterationLimit", "MAX_LOOP_ITERATIONS",
  "T", "G", "CM", "H", "LOOP", "NAME_BASE", "RECORDING",
  "emit", "log", "caught", "awaited", "bound", "handle", "present", "gather", "shield", "wait_for", "wait",
  "probe", "inspect", "labelled", "group_task", "eager_start_task", "coroutine", "callback",
  "number", "normalize_message", "task_name", "exc_data", "value_data", "sorted_by_encoding", "task_state", "handle_of",
  "pinned", "TASK_TYPES", "PURE_PYTHON_TASK", "TASK_CLASS", "PINNED_TASK", "PINNED_FUTURE", "PinnedCoroutine", "collections",
  "VirtualSelector", "VirtualTimeLoop", "exception_handler", "run_loop", "name_base", "run",
  "gc", "weakref", "GC_MODE", "W", "SEEN", "LIMBO", "REPORTS", "COLLECTING", "Handles", "collect", "WeakTasks",
  "UNAWAITED", "NEVER_AWAITED", "unawaited", "warn_unawaited", "WARN_UNAWAITED_DEFAULT",
];

/** Local variables of the generated functions: a function of that name could not be called where they are bound. */
const PROGRAM_LOCALS = ["e", "aw", "fut"];

/** Names a coroutine or callback function must not take in the generated module. */
export const PY_RESERVED: ReadonlySet<string> = new Set([...PY_KEYWORDS, ...PY_BUILTINS, ...PROGRAM_GLOBALS, ...PROGRAM_LOCALS]);

function identifier(name: string, taken: Set<string>): string {
  let id = name.replace(/[^A-Za-z0-9_]/g, "_");
  if (id === "" || /^[0-9]/.test(id)) id = "_" + id;
  if (id.startsWith("__")) id = "c" + id; // __builtins__, __name__, ... are the module's own
  let candidate = id;
  for (let n = 2; PY_RESERVED.has(candidate) || taken.has(candidate); n++) candidate = `${id}_${n}`;
  taken.add(candidate);
  return candidate;
}

/**
 * Python function names for the scenario's coroutines and callbacks (two
 * namespaces in the scenario, one in the module): the name itself when it is
 * a plain identifier that takes nothing from the program, otherwise a
 * sanitised form (non-identifier characters become `_`, dunder-like names
 * get a `c` prefix, clashes get a `_2`, `_3`, ... suffix). "main" is named
 * first, so it is always `main`; callbacks come after all coroutines.
 */
export function pythonFunctionNames(
  coroutines: readonly CoroutineDef[],
  callbacks: readonly CallbackDef[] = [],
): { coroutines: Map<string, string>; callbacks: Map<string, string> } {
  const taken = new Set<string>();
  const coros = new Map<string, string>();
  const order = [...coroutines].sort((a, b) => Number(b.name === "main") - Number(a.name === "main"));
  for (const c of order) if (!coros.has(c.name)) coros.set(c.name, identifier(c.name, taken));
  const cbs = new Map<string, string>();
  for (const c of callbacks) if (!cbs.has(c.name)) cbs.set(c.name, identifier(c.name, taken));
  return { coroutines: coros, callbacks: cbs };
}

/** Python function names for the scenario's coroutines (see pythonFunctionNames). */
export function pythonNames(coroutines: readonly CoroutineDef[]): Map<string, string> {
  return pythonFunctionNames(coroutines).coroutines;
}

// ------------------------------------------------------------ checks

const RAISE_EXPR: Record<string, string> = {
  ValueError: "ValueError",
  ExceptionGroup: "ExceptionGroup",
  BaseExceptionGroup: "BaseExceptionGroup",
  KeyError: "KeyError",
  RuntimeError: "RuntimeError",
  CustomError: "CustomError",
  KeyboardInterrupt: "KeyboardInterrupt",
  SystemExit: "SystemExit",
  CancelledError: "asyncio.CancelledError",
  TimeoutError: "asyncio.TimeoutError", // the builtin TimeoutError since 3.11, a class of its own before
  StopIteration: "StopIteration",
};

const CATCH_EXPR: Record<string, string> = { ...RAISE_EXPR, Exception: "Exception", BaseException: "BaseException" };

const RETURN_WHEN = new Set(["FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED"]);
const SYNC = new Set<string>(SYNC_OPS);
const MAX_STAR_CLAUSES = 3; // as the driver

/** Python's truth value of a JSON value (the driver tests flags with bool()). */
function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v !== null && typeof v === "object") return Object.keys(v).length > 0;
  return Boolean(v);
}

function has(o: object, key: string): boolean {
  return (o as Record<string, unknown>)[key] !== undefined;
}

/** table[key], own properties only ("constructor" is no exception type). */
function lookup(table: Record<string, string>, key: unknown): string | undefined {
  return typeof key === "string" && Object.hasOwn(table, key) ? table[key] : undefined;
}

/** A time argument (delay, absolute time, timeout): a number, or None. */
function pyTime(t: number | null | undefined): string {
  return t === null || t === undefined ? "None" : pyNumber(t);
}

/** The awaitable's kind key. */
function kindOf(on: Awaitable): string {
  for (const k of ["task", "coro", "sleep", "gather", "shield", "wait_for", "wait"]) if (has(on, k)) return k;
  return "?";
}

/** Is there a `return` step anywhere in these steps (nested blocks included)? */
function containsReturn(steps: Step[]): boolean {
  return (steps ?? []).some((s) => {
    if (s?.op === "return") return true;
    if (s?.op === "try") {
      return containsReturn(s.body) || (s.except ?? []).some((h) => containsReturn(h.body ?? [])) || containsReturn(s.finally ?? []);
    }
    if (s?.op === "taskgroup" || s?.op === "timeout") return containsReturn(s.body);
    return false;
  });
}

/** Can building this awaitable give None (an unbound handle, the step then does nothing)? */
function mayBeNone(on: Awaitable): boolean {
  const kind = kindOf(on);
  if (kind === "task") return true;
  if (kind === "shield") return mayBeNone((on as { shield: Awaitable }).shield);
  if (kind === "wait_for") return mayBeNone((on as { wait_for: Awaitable }).wait_for);
  return false;
}

// ------------------------------------------------------------ code generation

class Emitter {
  readonly lines: string[] = [];
  constructor(
    private readonly names: Map<string, string>,
    private readonly callbackNames: Map<string, string>,
  ) {}

  line(indent: number, text: string): void {
    this.lines.push("    ".repeat(indent) + text);
  }

  fn(coro: string, where: string): string {
    const f = this.names.get(coro);
    if (f === undefined) throw new Error(`${where}: no coroutine named ${JSON.stringify(coro)}`);
    return f;
  }

  cb(name: string, where: string): string {
    const f = typeof name === "string" ? this.callbackNames.get(name) : undefined;
    if (f === undefined) throw new Error(`${where}: no callback named ${JSON.stringify(name)}`);
    return f;
  }

  /** A list of awaitables, as the driver builds it: unbound handles left out. */
  parts(aws: Awaitable[], where: string, key: string): string {
    if (!Array.isArray(aws)) throw new Error(`${where}.${key}: must be a list`);
    const parts = aws.map((p, i) => this.awaitable(p, `${where}.${key}[${i}]`));
    return aws.some(mayBeNone) ? `present(${parts.join(", ")})` : `[${parts.join(", ")}]`;
  }

  /** An expression building what `on` describes (evaluated where the driver builds it; None for an unbound handle). */
  awaitable(on: Awaitable, where: string): string {
    const kind = kindOf(on);
    switch (kind) {
      case "task":
        return `handle(${pyStr((on as { task: string }).task)})`;
      case "coro":
        return `${this.fn((on as { coro: string }).coro, where)}()`;
      case "sleep": {
        const s = on as { sleep: number; result?: Scalar };
        return s.result === undefined || s.result === null
          ? `asyncio.sleep(${pyNumber(s.sleep)})`
          : `asyncio.sleep(${pyNumber(s.sleep)}, ${pyScalar(s.result)})`;
      }
      case "gather": {
        const g = on as { gather: Awaitable[]; return_exceptions?: boolean };
        if (!Array.isArray(g.gather)) throw new Error(`${where}: gather must be a list`);
        const parts = g.gather.map((p, i) => this.awaitable(p, `${where}.gather[${i}]`));
        // Unbound handles are left out, as the driver does; only the helper knows how.
        const fn = g.gather.some(mayBeNone) ? "gather" : "asyncio.gather";
        if (truthy(g.return_exceptions)) parts.push("return_exceptions=True");
        return `${fn}(${parts.join(", ")})`;
      }
      case "shield": {
        const inner = (on as { shield: Awaitable }).shield;
        return `${mayBeNone(inner) ? "shield" : "asyncio.shield"}(${this.awaitable(inner, `${where}.shield`)})`;
      }
      case "wait_for": {
        const w = on as { wait_for: Awaitable; timeout: number | null };
        const fn = mayBeNone(w.wait_for) ? "wait_for" : "asyncio.wait_for";
        return `${fn}(${this.awaitable(w.wait_for, `${where}.wait_for`)}, ${pyTime(w.timeout)})`;
      }
      case "wait": {
        const w = on as { wait: Awaitable[]; timeout?: number | null; return_when?: string };
        const args = [this.parts(w.wait, where, "wait")];
        if (w.timeout !== undefined && w.timeout !== null) args.push(`timeout=${pyTime(w.timeout)}`);
        if (w.return_when !== undefined) {
          if (!RETURN_WHEN.has(w.return_when)) throw new Error(`${where}.return_when: unknown ${JSON.stringify(w.return_when)}`);
          args.push(`return_when=asyncio.${w.return_when}`);
        }
        return `wait(${args.join(", ")})`;
      }
      default:
        throw new Error(`${where}: unknown awaitable ${JSON.stringify(Object.keys(on))}`);
    }
  }

  /** The `on` of the `awaited` event, as the driver's describe(). */
  static describe(on: Awaitable): string {
    const kind = kindOf(on);
    if (kind === "task") return (on as { task: string }).task;
    if (kind === "coro") return (on as { coro: string }).coro + "()";
    return kind;
  }

  exception(exc: ExceptionSpec, where: string): string {
    const cls = lookup(RAISE_EXPR, exc?.type);
    if (cls === undefined) throw new Error(`${where}.type: cannot raise ${JSON.stringify(exc?.type)}`);
    const args = exc.args ?? [];
    if (exc.type === "ExceptionGroup" || exc.type === "BaseExceptionGroup") {
      // Type(message, [exceptions]), the message "" when absent, as the driver builds it
      const members = (exc.exceptions ?? []).map((x, i) => this.exception(x, `${where}.exceptions[${i}]`));
      return `${cls}(${args.length > 0 ? pyScalar(args[0]) : '""'}, [${members.join(", ")}])`;
    }
    return `${cls}(${args.map(pyScalar).join(", ")})`;
  }

  steps(steps: Step[], indent: number, where: string, inCallback = false): void {
    if (!Array.isArray(steps)) throw new Error(`${where}: must be a list of steps`);
    if (steps.length === 0) {
      this.line(indent, "pass");
      return;
    }
    steps.forEach((s, i) => {
      if (inCallback && !SYNC.has(s?.op)) {
        throw new Error(`${where}[${i}].op: a callback cannot run a ${JSON.stringify(s?.op)} step`);
      }
      this.step(s, indent, `${where}[${i}]`);
    });
  }

  /** `if bound(ref[, table]):` and the indent of what follows. */
  ifBound(i: number, ref: string, table?: "G" | "CM" | "H" | "W"): number {
    this.line(i, `if bound(${pyStr(ref)}${table ? `, ${table}` : ""}):`);
    return i + 1;
  }

  /** try: <await expr> recorded as the driver's await_recorded / op_await does. */
  awaitRecorded(i: number, what: string, expr: string): void {
    this.line(i, "try:");
    this.line(i + 1, `awaited(${what}, await ${expr})`);
    this.line(i, "except BaseException as e:");
    this.line(i + 1, `awaited(${what}, exc=e)`);
    this.line(i + 1, "raise");
  }

  step(s: Step, i: number, where: string): void {
    switch (s.op) {
      case "log":
        this.line(i, `log(${pyStr(s.label)})`);
        return;
      case "sleep":
        this.line(i, `await asyncio.sleep(${pyNumber(s.ticks)})`);
        return;
      case "call":
        this.line(i, `await ${this.fn(s.coro, where + ".coro")}()`);
        return;
      case "await": {
        const on = s.on;
        const what = pyStr(Emitter.describe(on));
        if (kindOf(on) === "task") {
          // An unbound handle records an "unbound" event and the step does nothing.
          const ref = pyStr((on as { task: string }).task);
          this.awaitRecorded(this.ifBound(i, (on as { task: string }).task), what, `T[${ref}]`);
        } else if (mayBeNone(on)) {
          this.line(i, `aw = ${this.awaitable(on, where + ".on")}`);
          this.line(i, "if aw is not None:");
          this.awaitRecorded(i + 1, what, "aw");
        } else {
          this.awaitRecorded(i, what, this.awaitable(on, where + ".on"));
        }
        return;
      }
      case "create_task": {
        const ref = pyStr(s.task);
        const name = s.name === undefined || s.name === null ? "" : `, name=${pyStr(s.name)}`;
        // 3.14's eager_start, only when the step gives it (before 3.14: TypeError).
        const eager = s.eager_start === undefined ? "" : `, eager_start=${s.eager_start === null ? "None" : s.eager_start ? "True" : "False"}`;
        const coro = `${this.fn(s.coro, where + ".coro")}()`;
        let j = i;
        if (s.group !== undefined) {
          j = this.ifBound(i, s.group, "G");
          // group.create_task(coro, name=...), closing the coroutine if the group refuses it
          this.line(j, `T[${ref}] = group_task(G[${pyStr(s.group)}], ${coro}${name}${eager})`);
        } else if (eager !== "") {
          // asyncio.create_task(coro, ..., eager_start=...), closing the coroutine if it is refused
          this.line(j, `T[${ref}] = eager_start_task(${coro}${name}${eager})`);
        } else {
          this.line(j, `T[${ref}] = asyncio.create_task(${coro}${name})`);
        }
        this.line(j, `emit("create_task", ref=${ref}, name=task_name(T[${ref}]))`);
        return;
      }
      case "cancel": {
        const ref = pyStr(s.task);
        const msg = s.msg === undefined ? "" : pyScalar(s.msg);
        this.line(this.ifBound(i, s.task), `emit("cancel", ref=${ref}, returned=T[${ref}].cancel(${msg}))`);
        return;
      }
      case "inspect":
        this.line(this.ifBound(i, s.task), `inspect(${pyStr(s.task)})`);
        return;
      case "raise":
        this.line(i, `raise ${this.exception(s.exc, where + ".exc")}`);
        return;
      case "return":
        this.line(i, s.value === undefined || s.value === null ? "return None" : `return ${pyScalar(s.value)}`);
        return;
      case "try":
        this.tryStep(s, i, where);
        return;
      case "unawaited":
        this.line(i, `unawaited(${this.fn(s.coro, where + ".coro")}(), ${pyStr(s.coro)})`);
        return;
      case "ensure_future": {
        // handle = asyncio.ensure_future(on): a future stays itself, a coroutine becomes a task.
        const ref = pyStr(s.future);
        let j = i;
        if (kindOf(s.on) === "task") {
          j = this.ifBound(i, (s.on as { task: string }).task);
          this.line(j, `T[${ref}] = asyncio.ensure_future(T[${pyStr((s.on as { task: string }).task)}])`);
        } else if (mayBeNone(s.on)) {
          this.line(i, `aw = ${this.awaitable(s.on, where + ".on")}`);
          this.line(i, "if aw is not None:");
          j = i + 1;
          this.line(j, `T[${ref}] = asyncio.ensure_future(aw)`);
        } else {
          this.line(i, `T[${ref}] = asyncio.ensure_future(${this.awaitable(s.on, where + ".on")})`);
        }
        this.line(j, `emit("ensure_future", ref=${ref}, future=value_data(T[${ref}]))`);
        return;
      }
      case "create_future": {
        const ref = pyStr(s.future);
        this.line(i, `T[${ref}] = labelled(asyncio.get_running_loop().create_future(), ${ref})`);
        this.line(i, `emit("create_future", ref=${ref})`);
        return;
      }
      case "set_result": {
        const ref = pyStr(s.future);
        this.line(this.ifBound(i, s.future), `probe("set_result", ${ref}, T[${ref}].set_result, ${pyScalar(s.value)})`);
        return;
      }
      case "set_exception": {
        const ref = pyStr(s.future);
        const exc = this.exception(s.exc, where + ".exc");
        this.line(this.ifBound(i, s.future), `probe("set_exception", ${ref}, T[${ref}].set_exception, ${exc})`);
        return;
      }
      case "result":
      case "exception": {
        const ref = pyStr(s.task);
        this.line(this.ifBound(i, s.task), `probe("${s.op}", ${ref}, T[${ref}].${s.op})`);
        return;
      }
      case "uncancel": {
        // the method is looked up inside the probe: a future has none (AttributeError, recorded)
        const ref = pyStr(s.task);
        this.line(this.ifBound(i, s.task), `probe("uncancel", ${ref}, lambda: T[${ref}].uncancel())`);
        return;
      }
      case "set_name":
        this.line(this.ifBound(i, s.task), `T[${pyStr(s.task)}].set_name(${pyStr(s.name)})`);
        return;
      case "current_task":
        this.line(i, 'emit("current_task", name=task_name(asyncio.current_task()))');
        return;
      case "all_tasks":
        this.line(i, 'emit("all_tasks", names=sorted(task_name(t) for t in asyncio.all_tasks()))');
        return;
      case "add_done_callback":
        this.line(this.ifBound(i, s.task), `T[${pyStr(s.task)}].add_done_callback(${this.cb(s.callback, where + ".callback")})`);
        return;
      case "remove_done_callback": {
        const ref = pyStr(s.task);
        const cb = this.cb(s.callback, where + ".callback");
        this.line(
          this.ifBound(i, s.task),
          `emit("remove_done_callback", ref=${ref}, callback=${pyStr(s.callback)}, returned=T[${ref}].remove_done_callback(${cb}))`,
        );
        return;
      }
      case "call_soon":
      case "call_later":
      case "call_at": {
        const cb = this.cb(s.callback, where + ".callback");
        const args = s.op === "call_soon" ? cb : `${pyNumber(s.op === "call_later" ? s.delay : s.when)}, ${cb}`;
        const bind = s.handle === undefined ? "" : `H[${pyStr(s.handle)}] = `;
        this.line(i, `${bind}asyncio.get_running_loop().${s.op}(${args})`);
        return;
      }
      case "cancel_handle":
        this.line(this.ifBound(i, s.handle, "H"), `H[${pyStr(s.handle)}].cancel()`);
        return;
      case "taskgroup":
        this.line(i, `async with asyncio.TaskGroup() as G[${pyStr(s.group)}]:`);
        this.steps(s.body, i + 1, where + ".body");
        return;
      case "new_taskgroup":
        this.line(i, `G[${pyStr(s.group)}] = asyncio.TaskGroup()`);
        return;
      case "timeout": {
        const cm = s.cm === undefined ? "" : ` as CM[${pyStr(s.cm)}]`;
        this.line(i, `async with asyncio.${truthy(s.at) ? "timeout_at" : "timeout"}(${pyTime(s.delay)})${cm}:`);
        this.steps(s.body, i + 1, where + ".body");
        return;
      }
      case "reschedule": {
        const when = s.delay === null || truthy(s.at) ? pyTime(s.delay) : `asyncio.get_running_loop().time() + ${pyNumber(s.delay)}`;
        this.line(this.ifBound(i, s.cm, "CM"), `CM[${pyStr(s.cm)}].reschedule(${when})`);
        return;
      }
      case "inspect_timeout": {
        const cm = `CM[${pyStr(s.cm)}]`;
        this.line(
          this.ifBound(i, s.cm, "CM"),
          `emit("inspect_timeout", ref=${pyStr(s.cm)}, when=value_data(${cm}.when()), expired=${cm}.expired())`,
        );
        return;
      }
      case "as_completed": {
        const timeout = s.timeout === undefined || s.timeout === null ? "" : `, timeout=${pyTime(s.timeout)}`;
        // Coroutines get pinned hashes, as the driver's PinnedCoroutine (as_completed wraps them in set order).
        const on = Array.isArray(s.on) ? s.on : [];
        const pinnedParts = on.some((p) => kindOf(p) === "coro")
          ? (() => {
            const parts = on.map((p, j) => {
              const e = this.awaitable(p, `${where}.on[${j}]`);
              return kindOf(p) === "coro" ? `PinnedCoroutine(${e}, asyncio.get_running_loop().next_hash())` : e;
            });
            return on.some(mayBeNone) ? `present(${parts.join(", ")})` : `[${parts.join(", ")}]`;
          })()
          : this.parts(s.on, where, "on");
        const it = `asyncio.as_completed(${pinnedParts}${timeout})`;
        if (s.mode === "async") {
          this.line(i, `async for fut in ${it}:`);
          this.line(i + 1, 'emit("as_completed", item=value_data(fut))');
          this.awaitRecorded(i + 1, '"as_completed"', "fut");
        } else {
          this.line(i, `for aw in ${it}:`);
          this.awaitRecorded(i + 1, '"as_completed"', "aw");
        }
        return;
      }
      // gc mode (docs/scenario-language.md, "Garbage collection"): see collect() in the prelude
      case "gc":
        this.line(i, "collect()");
        return;
      case "drop":
        this.line(this.ifBound(i, s.handle), `LIMBO.append(T.pop(${pyStr(s.handle)}))`);
        return;
      case "weakref":
        this.line(this.ifBound(i, s.task), `W[${pyStr(s.ref)}] = weakref.ref(T[${pyStr(s.task)}]); SEEN.pop(${pyStr(s.ref)}, None)`);
        return;
      case "inspect_weakref":
        this.line(this.ifBound(i, s.ref, "W"), `emit("weakref", ref=${pyStr(s.ref)}, alive=SEEN.get(${pyStr(s.ref)}, True))`);
        return;
      default:
        throw new Error(`${where}.op: unknown op ${JSON.stringify((s as { op: unknown }).op)}`);
    }
  }

  tryStep(s: TryStep, i: number, where: string): void {
    const handlers = s.except ?? [];
    const star = truthy(s.star);
    if (star && (handlers.length < 1 || handlers.length > MAX_STAR_CLAUSES)) {
      throw new Error(`${where}.except: a try with except* needs 1 to ${MAX_STAR_CLAUSES} clauses`);
    }
    this.line(i, "try:");
    this.steps(s.body, i + 1, where + ".body");
    handlers.forEach((h, k) => {
      const cls = lookup(CATCH_EXPR, h?.type);
      if (cls === undefined) throw new Error(`${where}.except[${k}].type: unknown exception type ${JSON.stringify(h.type)}`);
      const body = h.body ?? [];
      if (star) {
        if (h.type === "ExceptionGroup" || h.type === "BaseExceptionGroup") {
          throw new Error(`${where}.except[${k}].type: except* cannot name ${h.type}`);
        }
        if (containsReturn(body)) {
          throw new Error(`${where}.except[${k}].body: "return" cannot appear in an except* handler`);
        }
      }
      this.line(i, `except${star ? "*" : ""} ${cls} as e:`);
      this.line(i + 1, "caught(e)");
      if (body.length > 0) this.steps(body, i + 1, `${where}.except[${k}].body`);
      if (truthy(h.reraise)) this.line(i + 1, "raise");
    });
    const fin = s.finally ?? [];
    // A `try:` needs an except or a finally clause; an empty finally changes nothing.
    if (fin.length > 0 || handlers.length === 0) {
      this.line(i, "finally:");
      this.steps(fin, i + 1, where + ".finally");
    }
  }
}

function checkDefinitions(defs: unknown, where: string, what: string): Set<string> {
  if (!Array.isArray(defs)) throw new Error(`${where}: must be a list`);
  const seen = new Set<string>();
  defs.forEach((c, i) => {
    if (typeof c?.name !== "string" || !Array.isArray(c.body)) {
      throw new Error(`${where}[${i}]: must be an object with a name and a body`);
    }
    if (seen.has(c.name)) throw new Error(`${where}[${i}].name: duplicate ${what} ${JSON.stringify(c.name)}`);
    seen.add(c.name);
  });
  return seen;
}

/** Generate the reproducer program for `scenario`. Throws on a scenario the driver would reject. */
export function toPython(written: Scenario, opts: ToPythonOptions = {}): string {
  const scenario = expandScenario(written); // repeat steps written out (spec/scenario/repeat.ts)
  const coros = scenario.coroutines;
  const seen = checkDefinitions(coros, "$.coroutines", "coroutine");
  if (!seen.has("main")) throw new Error("$.coroutines: no coroutine named 'main'");
  const callbacks = scenario.callbacks ?? [];
  checkDefinitions(callbacks, "$.callbacks", "callback");

  const names = pythonFunctionNames(coros, callbacks);
  const em = new Emitter(names.coroutines, names.callbacks);
  coros.forEach((c, i) => {
    em.line(0, "");
    em.line(0, "");
    em.line(0, `@coroutine(${pyStr(c.name)})`);
    em.line(0, `async def ${names.coroutines.get(c.name)}():`);
    em.steps(c.body, 1, `$.coroutines[${i}].body`);
  });
  callbacks.forEach((c, i) => {
    em.line(0, "");
    em.line(0, "");
    em.line(0, `@callback(${pyStr(c.name)})`);
    em.line(0, `def ${names.callbacks.get(c.name)}():`);
    em.steps(c.body, 1, `$.callbacks[${i}].body`, true);
  });

  const eager = truthy(scenario.eager);
  const version = requiredVersion(scenario);
  const header: string[] = [
    "#!/usr/bin/env python3",
    "# aiospec reproducer, generated by aiospec from a scenario.",
    "#",
  ];
  // User text starts on line 4 at the earliest: Python reads a coding
  // declaration from a comment on line 1 or 2 only.
  const title = opts.title ?? "aiospec scenario";
  for (const l of title.split("\n")) header.push("# " + pyComment(l));
  if (scenario.description !== undefined && scenario.description !== "") {
    header.push("#");
    for (const l of String(scenario.description).split("\n")) header.push("#   " + pyComment(l));
  }
  const args = [...(eager ? ["eager=True"] : []), ...(usesGc(scenario) ? ["gc_mode=True"] : [])];
  const main = `run(${["main()", ...args].join(", ")})`;
  return [
    ...header,
    prelude_doc(version, main, opts.python, opts.target),
    ...(opts.python !== undefined ? versionCheck(opts.python) : []),
    "",
    "# True: the tasks are the pure-Python Task (asyncio.tasks._PyTask), not asyncio.Task.",
    `PURE_PYTHON_TASK = ${opts.target?.task === "py" ? "True" : "False"}`,
    PRELUDE,
    "",
    "# " + "-".repeat(64) + " the scenario",
    ...em.lines.slice(1),
    "",
    "",
    'if __name__ == "__main__":',
    `    ${main}`,
  ].join("\n") + "\n";
}

// ------------------------------------------------------------ the fixed parts

/** The program's first lines when it must run on one Python version: exit with a message on another. */
function versionCheck(python: string): string[] {
  const m = /^(\d+)\.(\d+)$/.exec(python);
  if (!m) throw new Error(`python: "${python}" is not a Python version (3.X)`);
  return [
    "",
    "import sys",
    "",
    `if sys.version_info[:2] != (${m[1]}, ${m[2]}):`,
    `    sys.exit("this reproducer shows the behaviour of Python ${python}: run it with Python ${python} "`,
    `             "(this is Python %d.%d: other versions may order events differently)" % sys.version_info[:2])`,
  ];
}

/** How to run the program: with CPython, or inside the Pyodide the target is. */
function runWith(version: string, python?: string, target?: PythonTarget): string[] {
  if (target?.pyodide !== undefined && python !== undefined) {
    return [
      `Run it inside Pyodide ${target.pyodide} (Python ${python}), where ${pyComment(target.id)}`,
      "# ran it; with Node.js, for instance:",
      "#",
      `#     npm install pyodide@${target.pyodide}`,
      `#     node -e 'require("pyodide").loadPyodide().then((py) => py.runPython(require("fs").readFileSync("this_file.py", "utf8")))'`,
      "#",
      `# (It refuses to run on another Python version. On CPython ${python} it runs`,
      "# too, and shows what CPython does.)",
    ];
  }
  const head = python !== undefined
    ? `Run it with Python ${python}, the version whose behaviour it shows (it\n# refuses to run on another one; standard library only):`
    : `Run it with Python ${version} or later (standard library only):`;
  return [head, "#", `#     python${python ?? "3"} this_file.py`];
}

/** What the program follows of the target, and what it does not (its own loop). */
function targetNotes(target?: PythonTarget): string[] {
  const notes: string[] = [];
  if (target?.task === "py") {
    notes.push(
      "#",
      `# Its tasks are the pure-Python Task (asyncio.tasks._PyTask), as those of`,
      `# ${pyComment(target.id)} are (PURE_PYTHON_TASK below; False makes them asyncio.Task).`,
    );
  }
  if (target?.loop !== undefined) {
    notes.push(
      "#",
      `# ${pyComment(target.id)} runs on ${pyComment(target.loop)}, which this program does not:`,
      "# it runs the scenario on its own loop (VirtualTimeLoop below), so it shows",
      "# what asyncio's own loop does with it, the behaviour the implementation",
      "# was compared with. To see what the implementation does, run the scenario",
      "# on it through aiospec (the replay command printed with this program).",
    );
  }
  return notes;
}

function prelude_doc(version: string, main: string, python?: string, target?: PythonTarget): string {
  return String.raw`#
# ${runWith(version, python, target).join("\n")}${targetNotes(target).map((l) => "\n" + l).join("")}
#
# It prints one JSON object per line for each event, as the aiospec CPython
# driver records them ("enter"/"exit" of each coroutine, "log", "create_task",
# "awaited", "cancel", "inspect", "caught", "unbound", "callback", ...), then
# one line with how the run ended ("end"), the outcome of main ("main"), of
# every task ("tasks") and of the shutdown phase ("shutdown", if any).
#
# The coroutines and callbacks at the bottom are ordinary asyncio code. They
# run on a small event loop (VirtualTimeLoop below) whose clock is virtual:
# asyncio.sleep(n) advances the clock by n without waiting, so the program is
# deterministic and instant, and a deadlock (nothing can ever run again) is
# reported instead of hanging. Tasks and futures hash to their creation
# number (1, 2, 3, ...) instead of their address, so that asyncio's sets of
# them (TaskGroup's, wait's, as_completed's) iterate in the same order in
# every run. Replace ${main} at the bottom by asyncio.run(main()) to run the
# same code in real time: the events come in the same order (with real
# times), except that timers due at the same virtual instant may fire in
# another order, sets of tasks may iterate in another order, a deadlock
# hangs, leftover tasks are cancelled in no particular order, and no final
# outcome line is printed.`;
}

const PRELUDE = String.raw`
import asyncio
import collections.abc
import functools
import gc
import itertools
import json
import re
import warnings
import weakref


class CustomError(Exception):
    """The scenario's own Exception subclass."""


# ExceptionGroup and BaseExceptionGroup exist from Python 3.11 on (the
# scenarios that raise or catch them need 3.11; the others run on 3.8).
try:
    GROUP_TYPES = (BaseExceptionGroup,)
except NameError:
    GROUP_TYPES = ()


# A coroutine object that never ran (asyncio.wait refuses coroutines; a task
# cancelled before its first step never starts the coroutine it was given,
# nor the coroutines that one was given) is reported by the garbage
# collector, at a moment that is no part of the run: the driver leaves such
# reports out, and so does this program.
warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)


# ---------------------------------------------------------------- recording
# Handles, one table per kind, as in the scenario:
T = {}   # tasks and futures: T["t1"] is what create_task / create_future bound to "t1"
G = {}   # TaskGroups
CM = {}  # timeout context managers
H = {}   # timer handles of call_soon / call_later / call_at
LOOP = None  # the virtual-time event loop, set by run()
NAME_BASE = 0  # default task names are printed so that main is "Task-1"
RECORDING = True  # once the run is over, nothing more is printed
# gc mode (the scenario uses gc / drop / weakref steps): weak references, what
# each read at the last collection, objects let go of (freed only at gc
# steps), and the destruction reports heard since the last gc step.
GC_MODE = False
W = {}
SEEN = {}
LIMBO = []
REPORTS = []
COLLECTING = False


class Handles(dict):
    """T: in gc mode a handle bound again lets go of its old object into LIMBO.
    "$current" is asyncio.current_task() (None in a callback) and "$main" the
    main task, as the driver reads them."""

    main = None

    def get(self, key, default=None):
        if key == "$current":
            return asyncio.current_task()
        if key == "$main":
            return self.main
        return super().get(key, default)

    def __getitem__(self, key):
        if key in ("$current", "$main"):
            return self.get(key)
        return super().__getitem__(key)

    def __setitem__(self, key, value):
        old = self.get(key)
        if GC_MODE and old is not None and old is not value:
            LIMBO.append(old)
        super().__setitem__(key, value)


T = Handles()  # the task and future table, as such


def collect():
    """A gc step: release LIMBO, gc.collect(), then print the reports heard, in creation order."""
    global COLLECTING, SEEN, REPORTS
    COLLECTING = True
    try:
        while LIMBO:
            LIMBO.pop(0)
        gc.collect()
    finally:
        COLLECTING = False
    SEEN = {name: r() is not None for name, r in W.items()}
    never_awaited = NEVER_AWAITED[:]
    NEVER_AWAITED.clear()
    for name in never_awaited:
        emit("never_awaited", coro=name)
    reports, REPORTS = REPORTS, []
    for _, fields in sorted(reports, key=lambda r: r[0]):
        emit("exception_handler", **fields)


# Coroutine objects made and dropped, never awaited (by id while they live),
# and those a collection found (printed after it, before the reports).
UNAWAITED = {}
NEVER_AWAITED = []
WARN_UNAWAITED_DEFAULT = getattr(warnings, "_warn_unawaited_coroutine", None)


def unawaited(coro, name):
    """coro() as a statement: its finalizer warns "coroutine ... was never
    awaited" (printed as never_awaited) at once, or in gc mode when a
    collection releases it."""
    UNAWAITED[id(coro)] = name
    if GC_MODE:
        LIMBO.append(coro)


def warn_unawaited(coro):
    """What CPython calls when a coroutine that never ran is finalized."""
    name = UNAWAITED.pop(id(coro), None)
    if name is None:
        if WARN_UNAWAITED_DEFAULT is not None:
            WARN_UNAWAITED_DEFAULT(coro)
    elif COLLECTING:
        NEVER_AWAITED.append(name)
    else:
        emit("never_awaited", coro=name)


warnings._warn_unawaited_coroutine = warn_unawaited


class WeakTasks:
    """LOOP.created_tasks in gc mode: held weakly, collected ones left out."""

    def __init__(self):
        self.refs = []

    def append(self, task):
        self.refs.append(weakref.ref(task))

    def __iter__(self):
        return iter([t for t in (r() for r in self.refs) if t is not None])


def emit(ev, **fields):
    """Print one event: virtual time, current task, kind, and its fields."""
    if not RECORDING or COLLECTING:
        return
    loop = LOOP if LOOP is not None else asyncio.get_running_loop()  # under asyncio.run()
    try:
        current = asyncio.current_task(loop)
    except RuntimeError:
        current = None
    event = {"time": number(loop.time()), "task": task_name(current), "ev": ev}
    event.update(fields)
    print(json.dumps(event), flush=True)


def log(label):
    emit("log", label=label)


def caught(e):
    """Called first thing in an except (or except*) clause."""
    emit("caught", exc=exc_data(e))


def awaited(on, value=None, exc=None):
    """Record how an await ended: its value, or the exception it raised."""
    if exc is not None:
        emit("awaited", on=on, exc=exc_data(exc))
    else:
        emit("awaited", on=on, value=value_data(value))


def bound(ref, table=T):
    """Is the handle bound yet? If not, record an "unbound" event."""
    if table.get(ref) is None:
        emit("unbound", ref=ref)
        return False
    return True


def handle(ref):
    """The task or future bound to ref, or None (after an "unbound" event)."""
    return T[ref] if bound(ref) else None


def present(*aws):
    """The awaitables that are there: unbound handles (None) left out."""
    return [a for a in aws if a is not None]


def gather(*aws, return_exceptions=False):
    """asyncio.gather, leaving out unbound handles."""
    return asyncio.gather(*present(*aws), return_exceptions=return_exceptions)


def shield(aw):
    """asyncio.shield, or None for an unbound handle."""
    return None if aw is None else asyncio.shield(aw)


def wait_for(aw, timeout):
    """asyncio.wait_for, or None for an unbound handle."""
    return None if aw is None else asyncio.wait_for(aw, timeout)


async def wait(aws, timeout=None, return_when=asyncio.ALL_COMPLETED):
    """done, pending = await asyncio.wait(...), as the two sets in a stable order."""
    done, pending = await asyncio.wait(aws, timeout=timeout, return_when=return_when)
    return [sorted_by_encoding(done), sorted_by_encoding(pending)]


def probe(ev, ref, method, *args):
    """Record what a method call returns or raises; never propagate."""
    try:
        value = method(*args)
    except BaseException as e:
        emit(ev, ref=ref, exc=exc_data(e))
    else:
        emit(ev, ref=ref, value=value_data(value))


def inspect(ref):
    """Record done() and cancelled(), and for a task cancelling() (3.11+) and its name."""
    fut = T[ref]
    fields = {"done": fut.done(), "cancelled": fut.cancelled()}
    if isinstance(fut, TASK_TYPES):
        if hasattr(fut, "cancelling"):
            fields["cancelling"] = fut.cancelling()
        fields["name"] = task_name(fut)
    emit("inspect", ref=ref, **fields)


def labelled(fut, ref):
    """A future made by create_future is printed as {"future": ref}."""
    fut._aiospec_label = ref
    return fut


def group_task(group, coro, name=None, **kwargs):
    """group.create_task(coro, name=name); a refused coroutine is closed (3.13 does it itself)."""
    try:
        return group.create_task(coro, name=name, **kwargs)
    except BaseException:
        coro.close()
        raise


def eager_start_task(coro, name=None, **kwargs):
    """asyncio.create_task(coro, name=name, eager_start=...); before 3.14 a TypeError, the coroutine closed."""
    try:
        return asyncio.create_task(coro, name=name, **kwargs)
    except TypeError:
        coro.close()
        raise


def coroutine(name):
    """Decorator: record entering and leaving the coroutine (enter / exit)."""
    def decorate(fn):
        @functools.wraps(fn)
        async def recorded():
            emit("enter", coro=name)
            try:
                value = await fn()
            except BaseException as e:
                emit("exit", coro=name, exc=exc_data(e))
                raise
            emit("exit", coro=name, value=value_data(value))
            return value
        return recorded
    return decorate


def callback(name):
    """Decorator: record each run of a callback, with the future a done callback gets."""
    def decorate(fn):
        @functools.wraps(fn)
        def recorded(*args):
            fields = {"callback": name}
            if args:
                fields["arg"] = value_data(args[0])
            emit("callback", **fields)
            fn()
        return recorded
    return decorate


# ---------------------------------------------------------------- encoding
# Values are printed as the driver encodes them: exceptions as
# {"type", "args"} (with "exceptions" for groups, "cause" for __cause__),
# tasks as {"task": name}, futures of create_future as {"future": handle},
# other futures as {"repr": "Future"}, integral floats as integers, and reprs
# of asyncio objects inside strings elided (they carry addresses).

_REPR_START = re.compile(r"<(?:Task|Future|_GatheringFuture|TaskGroup|coroutine|Handle|TimerHandle)\b")


def normalize_message(s):
    """Replace every asyncio repr in s, brackets nested to any depth, by <...>."""
    out = []
    i = 0
    while True:
        m = _REPR_START.search(s, i)
        if m is None:
            out.append(s[i:])
            return "".join(out)
        out.append(s[i:m.start()])
        depth = 0
        j = m.start()
        while j < len(s):
            if s[j] == "<":
                depth += 1
            elif s[j] == ">":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if depth != 0:  # unbalanced: leave the rest as it is
            out.append(s[m.start():])
            return "".join(out)
        out.append("<...>")
        i = j + 1


def number(x):
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x


def task_name(task):
    if task is None:
        return None
    name = task.get_name()
    m = re.fullmatch(r"Task-([0-9]+)", name)
    if m:
        return "Task-%d" % (int(m.group(1)) - NAME_BASE)
    return name


def exc_data(e):
    out = {"type": type(e).__name__}
    if isinstance(e, GROUP_TYPES):
        out["args"] = [value_data(e.args[0])]
        out["exceptions"] = [exc_data(x) for x in e.exceptions]
    else:
        out["args"] = [value_data(a) for a in e.args]
    if e.__cause__ is not None:
        out["cause"] = exc_data(e.__cause__)
    return out


def value_data(v):
    if v is None or isinstance(v, (bool, str)):
        return normalize_message(v) if isinstance(v, str) else v
    if isinstance(v, (int, float)):
        return number(v)
    if isinstance(v, (list, tuple)):
        return [value_data(x) for x in v]
    if isinstance(v, BaseException):
        return {"exc": exc_data(v)}
    if isinstance(v, TASK_TYPES):
        return {"task": task_name(v)}
    label = getattr(v, "_aiospec_label", None)
    if label is not None:
        return {"future": label}
    if asyncio.isfuture(v):
        return {"repr": "Future"}  # asyncio's own futures (gather's, shield's): the class is a detail
    return {"repr": type(v).__name__}


def sorted_by_encoding(objs):
    """A set of tasks / futures as a list, ordered by their encodings."""
    return sorted(objs, key=lambda o: json.dumps(value_data(o), sort_keys=True, separators=(",", ":")))


def task_state(task):
    if not task.done():
        return {"state": "pending"}
    if task.cancelled():
        return {"state": "cancelled"}
    exc = task.exception()
    if exc is not None:
        return {"state": "exception", "exc": exc_data(exc)}
    return {"state": "result", "value": value_data(task.result())}


def handle_of(task):
    for ref, t in T.items():
        if t is task:
            return ref
    return None


# ---------------------------------------------------------------- the loop
# CPython's own Task, Future, gather, TaskGroup, timeout, wait, ... run
# unmodified on this loop; only the selector is replaced: instead of waiting
# for I/O or for the next timer, it advances the virtual clock to that timer.

MAX_LOOP_ITERATIONS = 200_000


class Deadlock(Exception):
    """Nothing is ready and no timer is scheduled: the loop would block forever."""


class IterationLimit(Exception):
    """A safety net: the run took more loop iterations than any scenario should."""


class VirtualSelector:
    def __init__(self, loop):
        self._loop = loop

    def select(self, timeout=None):
        loop = self._loop
        loop._iterations += 1
        if loop._iterations > MAX_LOOP_ITERATIONS:
            raise IterationLimit()
        if timeout is None:
            raise Deadlock()
        if timeout > 0:
            loop._now += timeout
        return []

    def close(self):
        pass


def pinned(cls, name):
    """A subclass of an asyncio Task or Future class whose hash is its creation
    number on the loop instead of its address: sets of tasks and futures then
    iterate in the same order in every run (and in the driver's order)."""

    def __init__(self, *args, **kwargs):
        self._aiospec_hash = kwargs["loop"].next_hash()
        cls.__init__(self, *args, **kwargs)

    def __hash__(self):
        return self._aiospec_hash

    return type(name, (cls,), {"__init__": __init__, "__hash__": __hash__, "__module__": cls.__module__})


# The C Task and the pure-Python Task are unrelated classes.
TASK_TYPES = (asyncio.Task, asyncio.tasks._PyTask)
# The Task the program's tasks are: asyncio.Task (CPython's C Task), or the
# pure-Python one when the program is about it (PURE_PYTHON_TASK, above).
TASK_CLASS = asyncio.tasks._PyTask if PURE_PYTHON_TASK else asyncio.Task
PINNED_TASK = pinned(TASK_CLASS, "Task")
PINNED_FUTURE = pinned(asyncio.Future, "Future")


class PinnedCoroutine(collections.abc.Coroutine):
    """A coroutine with a pinned hash: as_completed wraps its coroutines in
    tasks in the order of a set of them."""

    def __init__(self, coro, h):
        self._coro, self._aiospec_hash = coro, h

    def send(self, value):
        return self._coro.send(value)

    def throw(self, *args):
        return self._coro.throw(*args)

    def close(self):
        return self._coro.close()

    def __await__(self):
        return self._coro.__await__()

    def __hash__(self):
        return self._aiospec_hash

    def __eq__(self, other):
        return self is other


class VirtualTimeLoop(asyncio.BaseEventLoop):
    def __init__(self):
        super().__init__()
        self._now = 0.0
        self._iterations = 0
        self._selector = VirtualSelector(self)
        self._hashes = itertools.count(1)
        self.created_tasks = []

    def time(self):
        return self._now

    def _process_events(self, event_list):
        pass

    def _write_to_self(self):
        pass

    def next_hash(self):
        return next(self._hashes)

    def create_task(self, coro, *, name=None, **kwargs):
        # kwargs: context (3.11+), eager_start (3.14), as the caller gives
        # them: asyncio.Task takes no context before 3.11.
        if self._task_factory is not None:
            # The factory (the eager one) makes the task; the base class
            # names it afterwards, as CPython does.
            try:
                task = super().create_task(coro, name=name, **kwargs)
            except SystemError as e:
                # The C Task hashes the task while a KeyboardInterrupt or
                # SystemExit from its eager first step is pending; with the
                # pinned (Python-level) __hash__ that turns into SystemError.
                # Plain asyncio lets the original through: so does this loop.
                if isinstance(e.__cause__, (KeyboardInterrupt, SystemExit)):
                    raise e.__cause__ from None
                raise
        else:
            self._check_closed()
            task = PINNED_TASK(coro, loop=self, name=name, **kwargs)
        self.created_tasks.append(task)
        return task

    def create_future(self):
        return PINNED_FUTURE(loop=self)


def exception_handler(loop, context):
    message = str(context.get("message"))
    # Reports made when an object is destroyed depend on when the garbage
    # collector runs; the driver leaves them out.
    if "never retrieved" in message or "destroyed but it is pending" in message:
        obj = context.get("task") if context.get("task") is not None else context.get("future")
        if GC_MODE and getattr(obj, "_aiospec_hash", None) is not None:
            fields = {"message": message, "of": value_data(obj)}
            if context.get("exception") is not None:
                fields["exc"] = exc_data(context["exception"])
            REPORTS.append((obj._aiospec_hash, fields))
        return
    if message.startswith("Exception in callback"):
        message = "Exception in callback"  # the callback's repr is implementation detail
    fields = {"message": normalize_message(message)}
    if context.get("exception") is not None:
        fields["exc"] = exc_data(context["exception"])
    emit("exception_handler", **fields)


def run_loop(fut):
    """Run the loop until fut is done; say how the run ended."""
    try:
        LOOP.run_until_complete(fut)
        return {"kind": "complete"}
    except Deadlock:
        return {"kind": "deadlock"}
    except IterationLimit:
        return {"kind": "iteration_limit"}
    except (KeyboardInterrupt, SystemExit) as e:
        return {"kind": "interrupted", "exc": exc_data(e)}
    except BaseException as e:
        if fut.done():  # main's own exception: reported as main's outcome
            return {"kind": "complete"}
        return {"kind": "error", "exc": exc_data(e)}


def name_base():
    """Where the process-wide counter of default task names stands: a
    throwaway task, on a throwaway loop, takes the next number (the main task
    would be Task-<base + 1>, but it is not always named so: on 3.13.0 a task
    factory's tasks are named "None")."""
    loop = VirtualTimeLoop()

    async def probe():
        pass

    coro = probe()
    # (The C Task and the pure-Python one count names apart.)
    task = TASK_CLASS(coro, loop=loop)
    base = int(task.get_name().split("-")[1])
    task._log_destroy_pending = False
    coro.close()
    loop._ready.clear()
    loop.close()
    return base


def run(coro, eager=False, gc_mode=False):
    """Run coro as the main task, like asyncio.run(coro), on the virtual-time loop."""
    global LOOP, NAME_BASE, RECORDING, GC_MODE
    # Inside Pyodide its WebLoop is the running loop as the program starts, and
    # a loop refuses to run while another one is running. (Elsewhere no loop
    # is running here: this changes nothing.)
    asyncio.events._set_running_loop(None)
    LOOP = VirtualTimeLoop()
    if gc_mode:
        # gc mode: no automatic collection; collections at gc steps and once after the main run.
        GC_MODE = True
        gc.collect()
        gc.disable()
        LOOP.created_tasks = WeakTasks()
    if eager:
        LOOP.set_task_factory(asyncio.create_eager_task_factory(PINNED_TASK))
    LOOP.set_exception_handler(exception_handler)
    NAME_BASE = name_base()
    main_task = T.main = LOOP.create_task(coro)
    end = run_loop(main_task)
    if GC_MODE:
        collect()
    tasks = [dict(name=task_name(t), ref=handle_of(t), **task_state(t)) for t in LOOP.created_tasks]
    outcome = {"end": end, "main": task_state(main_task), "tasks": tasks}
    # Shut down as asyncio.run does, but deterministically: cancel the tasks
    # still pending, in creation order, and run the loop until they finish.
    pending = [t for t in LOOP.created_tasks if not t.done()]
    if pending and end["kind"] in ("complete", "interrupted"):
        emit("shutdown")
        for t in pending:
            t.cancel()
        outcome["shutdown"] = run_loop(asyncio.gather(*pending, return_exceptions=True))
    RECORDING = False
    print(json.dumps(outcome), flush=True)
    # Tasks still pending (after a deadlock) are suspended for good. Close
    # their coroutines now, quietly: their except/finally blocks run but
    # record nothing (the garbage collector would run them at exit, noisily).
    LOOP.set_exception_handler(lambda loop, context: None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in LOOP.created_tasks:
            if not t.done():
                t._log_destroy_pending = False
                try:
                    t.get_coro().close()
                except BaseException:
                    pass
    LOOP.close()`;
