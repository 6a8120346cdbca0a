/**
 * Turn a scenario into a standalone Python program: the reproducer a user
 * gets when aiospec finds a counterexample.
 *
 * The program is plain Python 3.11+ using only the standard library. Each
 * scenario coroutine becomes one `async def` whose steps are real asyncio
 * statements (`await asyncio.sleep(1)`, `T["t1"] = asyncio.create_task(...)`,
 * `try:` / `except asyncio.CancelledError as e:` / `finally:` ...). Small
 * helpers at the top record the events exactly as the CPython driver
 * (implementations/python/aiospec_driver.py) does, and print them as JSON
 * lines; a last line holds how the run ended and the tasks' outcomes, i.e.
 * the trace's `end`, `main`, `tasks` and `shutdown` fields.
 *
 * The program runs on a small event loop with a virtual clock (a copy of the
 * driver's VirtualTimeLoop), so it is deterministic, instant, and reports a
 * deadlock instead of hanging.
 *
 * Scenario text is data: every string from the scenario (labels, names,
 * messages, arguments, the title and the description) is emitted through
 * `pyStr` (a string literal) or `pyComment` (an escaped comment line), so the
 * program is pure ASCII and no scenario content can change its code.
 */
import type {
  Awaitable,
  CoroutineDef,
  ExceptionSpec,
  Scalar,
  Scenario,
  Step,
  TryStep,
} from "../../spec/scenario/types";

export interface ToPythonOptions {
  /** A one-line title for the header comment (e.g. what the counterexample shows). */
  title?: string;
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
  "asyncio", "functools", "json", "re", "sys", "warnings", "_REPR",
  "CustomError", "Deadlock", "IterationLimit", "MAX_LOOP_ITERATIONS",
  "T", "LOOP", "NAME_BASE", "RECORDING",
  "emit", "log", "caught", "awaited", "bound", "handle", "gather", "coroutine",
  "number", "normalize_message", "task_name", "exc_data", "value_data", "task_state", "handle_of",
  "VirtualSelector", "VirtualTimeLoop", "exception_handler", "run_loop", "run",
];

/** Names a coroutine function must not take in the generated module. */
export const PY_RESERVED: ReadonlySet<string> = new Set([...PY_KEYWORDS, ...PY_BUILTINS, ...PROGRAM_GLOBALS]);

/**
 * Python function names for the scenario's coroutines: the name itself when
 * it is a plain identifier that takes nothing from the program, otherwise a
 * sanitised form (non-identifier characters become `_`, dunder-like names get
 * a `c` prefix, clashes get a `_2`, `_3`, ... suffix). "main" is named first,
 * so it is always `main`.
 */
export function pythonNames(coroutines: readonly CoroutineDef[]): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  const order = [...coroutines].sort((a, b) => Number(b.name === "main") - Number(a.name === "main"));
  for (const c of order) {
    let id = c.name.replace(/[^A-Za-z0-9_]/g, "_");
    if (id === "" || /^[0-9]/.test(id)) id = "_" + id;
    if (id.startsWith("__")) id = "c" + id; // __builtins__, __name__, ... are the module's own
    let candidate = id;
    for (let n = 2; PY_RESERVED.has(candidate) || taken.has(candidate); n++) candidate = `${id}_${n}`;
    taken.add(candidate);
    names.set(c.name, candidate);
  }
  return names;
}

// ------------------------------------------------------------ checks

const RAISE_EXPR: Record<string, string> = {
  ValueError: "ValueError",
  KeyError: "KeyError",
  RuntimeError: "RuntimeError",
  CustomError: "CustomError",
  KeyboardInterrupt: "KeyboardInterrupt",
  SystemExit: "SystemExit",
  CancelledError: "asyncio.CancelledError",
  TimeoutError: "TimeoutError", // asyncio.TimeoutError is the builtin since 3.11
};

const CATCH_EXPR: Record<string, string> = { ...RAISE_EXPR, Exception: "Exception", BaseException: "BaseException" };

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

// ------------------------------------------------------------ code generation

class Emitter {
  readonly lines: string[] = [];
  constructor(private readonly names: Map<string, string>) {}

  line(indent: number, text: string): void {
    this.lines.push("    ".repeat(indent) + text);
  }

  fn(coro: string, where: string): string {
    const f = this.names.get(coro);
    if (f === undefined) throw new Error(`${where}: no coroutine named ${JSON.stringify(coro)}`);
    return f;
  }

  /** An expression building what `on` describes (evaluated where the driver builds it). */
  awaitable(on: Awaitable, where: string): string {
    if (has(on, "task")) return `handle(${pyStr((on as { task: string }).task)})`;
    if (has(on, "coro")) return `${this.fn((on as { coro: string }).coro, where)}()`;
    if (has(on, "sleep")) {
      const s = on as { sleep: number; result?: Scalar };
      return s.result === undefined || s.result === null
        ? `asyncio.sleep(${pyNumber(s.sleep)})`
        : `asyncio.sleep(${pyNumber(s.sleep)}, ${pyScalar(s.result)})`;
    }
    if (has(on, "gather")) {
      const g = on as { gather: Awaitable[]; return_exceptions?: boolean };
      if (!Array.isArray(g.gather)) throw new Error(`${where}: gather must be a list`);
      const parts = g.gather.map((p, i) => this.awaitable(p, `${where}.gather[${i}]`));
      // Unbound handles are left out, as the driver does; only the helper knows how.
      const fn = g.gather.some((p) => has(p, "task")) ? "gather" : "asyncio.gather";
      if (truthy(g.return_exceptions)) parts.push("return_exceptions=True");
      return `${fn}(${parts.join(", ")})`;
    }
    throw new Error(`${where}: unknown awaitable ${JSON.stringify(Object.keys(on))}`);
  }

  static describe(on: Awaitable): string {
    if (has(on, "task")) return (on as { task: string }).task;
    if (has(on, "coro")) return (on as { coro: string }).coro + "()";
    if (has(on, "sleep")) return "sleep";
    return "gather";
  }

  exception(exc: ExceptionSpec, where: string): string {
    const cls = lookup(RAISE_EXPR, exc?.type);
    if (cls === undefined) throw new Error(`${where}.exc.type: cannot raise ${JSON.stringify(exc?.type)}`);
    return `${cls}(${(exc.args ?? []).map(pyScalar).join(", ")})`;
  }

  steps(steps: Step[], indent: number, where: string): void {
    if (!Array.isArray(steps)) throw new Error(`${where}: must be a list of steps`);
    if (steps.length === 0) {
      this.line(indent, "pass");
      return;
    }
    steps.forEach((s, i) => this.step(s, indent, `${where}[${i}]`));
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
        let expr: string;
        let j = i;
        if (has(on, "task")) {
          // An unbound handle records an "unbound" event and the step does nothing.
          const ref = pyStr((on as { task: string }).task);
          this.line(i, `if bound(${ref}):`);
          j = i + 1;
          expr = `T[${ref}]`;
        } else {
          expr = this.awaitable(on, where + ".on");
        }
        this.line(j, "try:");
        this.line(j + 1, `awaited(${what}, await ${expr})`);
        this.line(j, "except BaseException as e:");
        this.line(j + 1, `awaited(${what}, exc=e)`);
        this.line(j + 1, "raise");
        return;
      }
      case "create_task": {
        const ref = pyStr(s.task);
        const name = s.name === undefined || s.name === null ? "" : `, name=${pyStr(s.name)}`;
        this.line(i, `T[${ref}] = asyncio.create_task(${this.fn(s.coro, where + ".coro")}()${name})`);
        this.line(i, `emit("create_task", ref=${ref}, name=task_name(T[${ref}]))`);
        return;
      }
      case "cancel": {
        const ref = pyStr(s.task);
        const msg = s.msg === undefined ? "" : pyScalar(s.msg);
        this.line(i, `if bound(${ref}):`);
        this.line(i + 1, `emit("cancel", ref=${ref}, returned=T[${ref}].cancel(${msg}))`);
        return;
      }
      case "inspect": {
        const ref = pyStr(s.task);
        const t = `T[${ref}]`;
        this.line(i, `if bound(${ref}):`);
        this.line(i + 1, `emit("inspect", ref=${ref}, done=${t}.done(), cancelled=${t}.cancelled(), cancelling=${t}.cancelling())`);
        return;
      }
      case "raise":
        this.line(i, `raise ${this.exception(s.exc, where)}`);
        return;
      case "return":
        this.line(i, s.value === undefined || s.value === null ? "return None" : `return ${pyScalar(s.value)}`);
        return;
      case "try":
        this.tryStep(s, i, where);
        return;
      default:
        throw new Error(`${where}.op: unknown op ${JSON.stringify((s as { op: unknown }).op)}`);
    }
  }

  tryStep(s: TryStep, i: number, where: string): void {
    const handlers = s.except ?? [];
    this.line(i, "try:");
    this.steps(s.body, i + 1, where + ".body");
    handlers.forEach((h, k) => {
      const cls = lookup(CATCH_EXPR, h?.type);
      if (cls === undefined) throw new Error(`${where}.except[${k}].type: unknown exception type ${JSON.stringify(h.type)}`);
      this.line(i, `except ${cls} as e:`);
      this.line(i + 1, "caught(e)");
      const body = h.body ?? [];
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

/** Generate the reproducer program for `scenario`. Throws on a scenario the driver would reject. */
export function toPython(scenario: Scenario, opts: ToPythonOptions = {}): string {
  const coros = scenario.coroutines;
  if (!Array.isArray(coros)) throw new Error("$.coroutines: must be a list");
  const seen = new Set<string>();
  coros.forEach((c, i) => {
    if (typeof c?.name !== "string" || !Array.isArray(c.body)) {
      throw new Error(`$.coroutines[${i}]: must be an object with a name and a body`);
    }
    if (seen.has(c.name)) throw new Error(`$.coroutines[${i}].name: duplicate coroutine ${JSON.stringify(c.name)}`);
    seen.add(c.name);
  });
  if (!seen.has("main")) throw new Error("$.coroutines: no coroutine named 'main'");

  const names = pythonNames(coros);
  const em = new Emitter(names);
  coros.forEach((c, i) => {
    em.line(0, "");
    em.line(0, "");
    em.line(0, `@coroutine(${pyStr(c.name)})`);
    em.line(0, `async def ${names.get(c.name)}():`);
    em.steps(c.body, 1, `$.coroutines[${i}].body`);
  });

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
  return [...header, PRELUDE_DOC, PRELUDE, "", "# " + "-".repeat(64) + " the scenario", ...em.lines.slice(1), MAIN_BLOCK].join("\n") + "\n";
}

// ------------------------------------------------------------ the fixed parts

const PRELUDE_DOC = String.raw`#
# Run it with any Python 3.11 or later (standard library only):
#
#     python3 this_file.py
#
# It prints one JSON object per line for each event, as the aiospec CPython
# driver records them ("enter"/"exit" of each coroutine, "log", "create_task",
# "awaited", "cancel", "inspect", "caught", "unbound", ...), then one line
# with how the run ended ("end"), the outcome of main ("main"), of every task
# ("tasks") and of the shutdown phase ("shutdown", if any).
#
# The coroutines at the bottom are ordinary asyncio code. They run on a small
# event loop (VirtualTimeLoop below) whose clock is virtual: asyncio.sleep(n)
# advances the clock by n without waiting, so the program is deterministic
# and instant, and a deadlock (nothing can ever run again) is reported
# instead of hanging. Replace run(main()) at the bottom by asyncio.run(main())
# to run the same code in real time: the events come in the same order (with
# real times), except that timers due at the same virtual instant may fire in
# another order, a deadlock hangs, leftover tasks are cancelled in no
# particular order, and no final outcome line is printed.`;

const PRELUDE = String.raw`
import asyncio
import functools
import json
import re
import warnings


class CustomError(Exception):
    """The scenario's own Exception subclass."""


# ---------------------------------------------------------------- recording

T = {}  # task handles: T["t1"] is the task that create_task bound to "t1"
LOOP = None  # the virtual-time event loop, set by run()
NAME_BASE = 0  # default task names are printed so that main is "Task-1"
RECORDING = True  # once the run is over, nothing more is printed


def emit(ev, **fields):
    """Print one event: virtual time, current task, kind, and its fields."""
    if not RECORDING:
        return
    loop = LOOP if LOOP is not None else asyncio.get_running_loop()  # under asyncio.run()
    event = {"time": number(loop.time()), "task": task_name(asyncio.current_task(loop)), "ev": ev}
    event.update(fields)
    print(json.dumps(event), flush=True)


def log(label):
    emit("log", label=label)


def caught(e):
    """Called first thing in an except clause."""
    emit("caught", exc=exc_data(e))


def awaited(on, value=None, exc=None):
    """Record how an await ended: its value, or the exception it raised."""
    if exc is not None:
        emit("awaited", on=on, exc=exc_data(exc))
    else:
        emit("awaited", on=on, value=value_data(value))


def bound(ref):
    """Is the handle bound to a task yet? If not, record an "unbound" event."""
    if T.get(ref) is None:
        emit("unbound", ref=ref)
        return False
    return True


def handle(ref):
    """The task bound to ref, or None (after an "unbound" event)."""
    return T[ref] if bound(ref) else None


def gather(*aws, return_exceptions=False):
    """asyncio.gather, leaving out unbound handles (None)."""
    return asyncio.gather(*[a for a in aws if a is not None], return_exceptions=return_exceptions)


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


# ---------------------------------------------------------------- encoding
# Values are printed as the driver encodes them: exceptions as
# {"type", "args"}, tasks as {"task": name}, integral floats as integers, and
# reprs of asyncio objects inside strings elided (they carry addresses).

_REPR = re.compile(r"<(?:Task|Future|_GatheringFuture|TaskGroup|coroutine|Handle|TimerHandle)\b[^<>]*(?:<[^<>]*>[^<>]*)*>")


def normalize_message(s):
    return _REPR.sub("<...>", s)


def number(x):
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x


def task_name(task):
    if task is None:
        return None
    name = task.get_name()
    m = re.fullmatch(r"Task-(\d+)", name)
    if m:
        return "Task-%d" % (int(m.group(1)) - NAME_BASE)
    return name


def exc_data(e):
    out = {"type": type(e).__name__}
    if isinstance(e, BaseExceptionGroup):
        out["args"] = [value_data(e.args[0])]
        out["exceptions"] = [exc_data(x) for x in e.exceptions]
    else:
        out["args"] = [value_data(a) for a in e.args]
    return out


def value_data(v):
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, str):
        return normalize_message(v)
    if isinstance(v, (int, float)):
        return number(v)
    if isinstance(v, (list, tuple)):
        return [value_data(x) for x in v]
    if isinstance(v, BaseException):
        return {"exc": exc_data(v)}
    if isinstance(v, asyncio.Task):
        return {"task": task_name(v)}
    return {"repr": type(v).__name__}


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
# CPython's own Task, Future and gather run unmodified on this loop; only the
# selector is replaced: instead of waiting for I/O or for the next timer, it
# advances the virtual clock to that timer.

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


class VirtualTimeLoop(asyncio.BaseEventLoop):
    def __init__(self):
        super().__init__()
        self._now = 0.0
        self._iterations = 0
        self._selector = VirtualSelector(self)
        self.created_tasks = []

    def time(self):
        return self._now

    def _process_events(self, event_list):
        pass

    def _write_to_self(self):
        pass

    def create_task(self, coro, *, name=None, context=None):
        task = super().create_task(coro, name=name, context=context)
        self.created_tasks.append(task)
        return task


def exception_handler(loop, context):
    message = str(context.get("message"))
    # Reports made when an object is destroyed depend on when the garbage
    # collector runs; the driver leaves them out.
    if "never retrieved" in message or "destroyed but it is pending" in message:
        return
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


def run(coro):
    """Run coro as the main task, like asyncio.run(coro), on the virtual-time loop."""
    global LOOP, NAME_BASE, RECORDING
    LOOP = VirtualTimeLoop()
    LOOP.set_exception_handler(exception_handler)
    main_task = LOOP.create_task(coro)
    NAME_BASE = int(main_task.get_name().split("-")[1]) - 1
    end = run_loop(main_task)
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

const MAIN_BLOCK = String.raw`

if __name__ == "__main__":
    run(main())`;
