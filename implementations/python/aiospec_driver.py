#!/usr/bin/env python3
"""aiospec driver: runs aiospec scenarios on the real asyncio of the Python
that runs this file.

Protocol (JSON lines, one long-lived process, many scenarios):
  - on start the driver writes one line  {"hello": {...}}  describing itself;
  - each request line is  {"id": ID, "scenario": {...}, "options": {...}};
  - each reply line is    {"id": ID, "trace": {...}}  or  {"id": ID, "error": "..."}.
A line that is not valid JSON gets {"id": null, "error": "..."} and the driver
keeps serving. Scenario text is data: it is interpreted step by step, never
evaluated as code.

The loop is a subclass of asyncio.BaseEventLoop whose selector advances a
virtual clock instead of sleeping, so CPython's own Task, Future and gather
code runs unmodified, deterministically and fast. When nothing is ready, no
timer is scheduled and the main task is pending, the selector would block
forever: that is recorded as a deadlock outcome instead of a hang.
"""

import asyncio
import itertools
import json
import platform
import re
import sys
import traceback

PROTOCOL = 1
MAX_LOOP_ITERATIONS = 200_000


# ---------------------------------------------------------------- exceptions

class CustomError(Exception):
    """The scenario language's own Exception subclass."""


class Deadlock(Exception):
    """Raised by the virtual selector when the loop would block forever."""


class IterationLimit(Exception):
    """Raised when a scenario runs more loop iterations than allowed."""


EXCEPTION_TYPES = {
    "ValueError": ValueError,
    "KeyError": KeyError,
    "RuntimeError": RuntimeError,
    "CustomError": CustomError,
    "KeyboardInterrupt": KeyboardInterrupt,
    "SystemExit": SystemExit,
    "CancelledError": asyncio.CancelledError,
    "TimeoutError": asyncio.TimeoutError,
    "ExceptionGroup": ExceptionGroup,
    "BaseExceptionGroup": BaseExceptionGroup,
    "Exception": Exception,
    "BaseException": BaseException,
}

# Reprs of asyncio objects (tasks, futures, coroutines) carry addresses and
# file positions; messages that embed them are compared with the repr elided.
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


# ---------------------------------------------------------------- the loop

class VirtualSelector:
    """Stands in for a selector: select(timeout) advances virtual time."""

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
    """A subclass of an asyncio Task or Future class whose hash is its
    creation number in the scenario instead of its address.

    CPython iterates sets of tasks (TaskGroup's, wait's, as_completed's) in
    an order that follows the hashes, and the default hash follows memory
    addresses: run to run, the order would change. With pinned hashes it is
    reproducible, and the reference reproduces it by modelling CPython's set.
    Every object made by loop.create_task or loop.create_future takes the
    next number. Everything else is the real class's behaviour.
    """

    def __init__(self, *args, **kwargs):
        self._aiospec_hash = kwargs["loop"].next_hash()
        cls.__init__(self, *args, **kwargs)

    def __hash__(self):
        return self._aiospec_hash

    return type(name, (cls,), {"__init__": __init__, "__hash__": __hash__, "__module__": cls.__module__})


# The C Task and the pure-Python Task are unrelated classes.
TASK_TYPES = (asyncio.Task, asyncio.tasks._PyTask)
PINNED_TASK = pinned(asyncio.Task, "Task")
PINNED_PY_TASK = pinned(asyncio.tasks._PyTask, "Task")
PINNED_FUTURE = pinned(asyncio.Future, "Future")


class VirtualTimeLoop(asyncio.BaseEventLoop):
    def __init__(self, task_class=PINNED_TASK):
        super().__init__()
        self._now = 0.0
        self._iterations = 0
        self._selector = VirtualSelector(self)
        self._task_class = task_class
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

    def use_eager_tasks(self):
        self.set_task_factory(asyncio.create_eager_task_factory(self._task_class))

    def create_task(self, coro, *, name=None, context=None):
        if self._task_factory is not None:
            # The factory (the eager one) makes the task; the base class
            # names it afterwards, as CPython does.
            try:
                task = super().create_task(coro, name=name, context=context)
            except SystemError as e:
                # The C Task hashes the task while a KeyboardInterrupt or
                # SystemExit from its eager first step is pending; with our
                # pinned (Python-level) __hash__ that turns into SystemError.
                # Plain asyncio lets the original through: so do we.
                if isinstance(e.__cause__, (KeyboardInterrupt, SystemExit)):
                    raise e.__cause__ from None
                raise
        else:
            self._check_closed()
            task = self._task_class(coro, loop=self, name=name, context=context)
        self.created_tasks.append(task)
        return task

    def create_future(self):
        return PINNED_FUTURE(loop=self)


# ---------------------------------------------------------------- encoding

def enc_number(x):
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x


class Encoder:
    """Turns Python values into trace JSON, naming tasks consistently."""

    def __init__(self, name_base):
        self.name_base = name_base

    def task_name(self, task):
        if task is None:
            return None
        name = task.get_name()
        m = re.fullmatch(r"Task-([0-9]+)", name)
        if m:
            return "Task-%d" % (int(m.group(1)) - self.name_base)
        return name

    def exc(self, e):
        out = {"type": type(e).__name__}
        if isinstance(e, BaseExceptionGroup):
            out["args"] = [self.value(e.args[0])]
            out["exceptions"] = [self.exc(x) for x in e.exceptions]
        else:
            out["args"] = [self.value(a) for a in e.args]
        if e.__cause__ is not None:
            out["cause"] = self.exc(e.__cause__)
        return out

    def sorted(self, objs):
        """A set of tasks / futures as a list, ordered by their encodings."""
        return sorted(objs, key=lambda o: json.dumps(self.value(o), sort_keys=True, separators=(",", ":")))

    def value(self, v):
        if v is None or isinstance(v, (bool, str)):
            return normalize_message(v) if isinstance(v, str) else v
        if isinstance(v, (int, float)):
            return enc_number(v)
        if isinstance(v, (list, tuple)):
            return [self.value(x) for x in v]
        if isinstance(v, BaseException):
            return {"exc": self.exc(v)}
        if isinstance(v, TASK_TYPES):
            return {"task": self.task_name(v)}
        label = getattr(v, "_aiospec_label", None)
        if label is not None:
            return {"future": label}
        if asyncio.isfuture(v):
            return {"repr": "Future"}  # asyncio's own futures (gather's, shield's): the class is a detail
        return {"repr": type(v).__name__}


def task_state(enc, task):
    if not task.done():
        return {"state": "pending"}
    if task.cancelled():
        return {"state": "cancelled"}
    exc = task.exception()
    if exc is not None:
        return {"state": "exception", "exc": enc.exc(exc)}
    return {"state": "result", "value": enc.value(task.result())}


# ---------------------------------------------------------------- interpreter

class Return:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class ScenarioError(Exception):
    """The scenario is malformed in a way the driver cannot interpret."""


# Required fields of each op, with their types (the JSON Schema in
# spec/scenario is the full definition; this check only guarantees that
# interpreting the scenario cannot fail half-way through a run).
_STR = (str,)
_INT = (int,)
_NUM = (int, float)
_OPT_NUM = (int, float, type(None))
_LIST = (list,)
_DICT = (dict,)
STEP_FIELDS = {
    "log": {"label": _STR},
    "sleep": {"ticks": _INT},
    "call": {"coro": _STR},
    "await": {"on": _DICT},
    "create_task": {"coro": _STR, "task": _STR},
    "cancel": {"task": _STR},
    "inspect": {"task": _STR},
    "raise": {"exc": _DICT},
    "return": {},
    "try": {"body": _LIST},
    "create_future": {"future": _STR},
    "set_result": {"future": _STR},
    "set_exception": {"future": _STR, "exc": _DICT},
    "result": {"task": _STR},
    "exception": {"task": _STR},
    "uncancel": {"task": _STR},
    "set_name": {"task": _STR, "name": _STR},
    "current_task": {},
    "all_tasks": {},
    "add_done_callback": {"task": _STR, "callback": _STR},
    "remove_done_callback": {"task": _STR, "callback": _STR},
    "call_soon": {"callback": _STR},
    "call_later": {"delay": _NUM, "callback": _STR},
    "call_at": {"when": _NUM, "callback": _STR},
    "cancel_handle": {"handle": _STR},
    "taskgroup": {"group": _STR, "body": _LIST},
    "new_taskgroup": {"group": _STR},
    "timeout": {"delay": _OPT_NUM, "body": _LIST},
    "reschedule": {"cm": _STR, "delay": _OPT_NUM},
    "inspect_timeout": {"cm": _STR},
    "as_completed": {"on": _LIST},
}
NESTED_BODIES = ("body", "finally")
# What a callback body may do: it runs inside the loop, outside any task.
SYNC_OPS = {
    "log", "create_task", "cancel", "inspect", "raise", "create_future", "set_result", "set_exception",
    "result", "exception", "uncancel", "set_name", "current_task", "all_tasks", "add_done_callback",
    "remove_done_callback", "call_soon", "call_later", "call_at", "cancel_handle",
}
MAX_STAR_CLAUSES = 3


def contains_return(body):
    """Whether a step list holds a `return`, at any depth of nested blocks."""
    for st in body:
        if not isinstance(st, dict):
            continue
        if st.get("op") == "return":
            return True
        for key in NESTED_BODIES:
            if isinstance(st.get(key), list) and contains_return(st[key]):
                return True
        for h in st.get("except", []) if isinstance(st.get("except"), list) else []:
            if isinstance(h, dict) and contains_return(h.get("body", [])):
                return True
    return False


def check_scenario(scenario):
    """Reject what the interpreter could not run, naming the JSON path."""
    if scenario.get("aiospec") != 1:
        raise ScenarioError("$.aiospec: must be 1 (this driver speaks version 1 of the scenario language)")
    coros = scenario.get("coroutines")
    if not isinstance(coros, list):
        raise ScenarioError("$.coroutines: must be a list")
    callbacks = scenario.get("callbacks", [])
    if not isinstance(callbacks, list):
        raise ScenarioError("$.callbacks: must be a list")
    names, cb_names = set(), set()
    for where, items, into in (("coroutines", coros, names), ("callbacks", callbacks, cb_names)):
        for i, c in enumerate(items):
            if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not isinstance(c.get("body"), list):
                raise ScenarioError("$.%s[%d]: must be an object with a name and a body" % (where, i))
            into.add(c["name"])
    if "main" not in names:
        raise ScenarioError("$.coroutines: no coroutine named 'main'")

    def ref(name, known, path, what):
        if name not in known:
            raise ScenarioError("%s: no %s named %r" % (path, what, name))

    def exc_spec(e, path):
        t = e.get("type") if isinstance(e, dict) else None
        if t not in EXCEPTION_TYPES or t in ("Exception", "BaseException"):
            raise ScenarioError("%s.type: cannot raise %r" % (path, t))
        if t in ("ExceptionGroup", "BaseExceptionGroup"):
            subs = e.get("exceptions")
            if not isinstance(subs, list) or not subs:
                raise ScenarioError("%s.exceptions: an exception group needs at least one exception" % path)
            for j, x in enumerate(subs):
                exc_spec(x, "%s.exceptions[%d]" % (path, j))
                if t == "ExceptionGroup" and not issubclass(EXCEPTION_TYPES[x["type"]], Exception):
                    raise ScenarioError("%s.exceptions[%d]: an ExceptionGroup holds only Exceptions" % (path, j))

    def awaitable(a, path):
        if not isinstance(a, dict):
            raise ScenarioError("%s: must be an object" % path)
        if isinstance(a.get("task"), str):
            return
        if isinstance(a.get("coro"), str):
            return ref(a["coro"], names, path + ".coro", "coroutine")
        if isinstance(a.get("sleep"), _NUM):
            return
        for key in ("gather", "wait"):
            if isinstance(a.get(key), list):
                for j, p in enumerate(a[key]):
                    awaitable(p, "%s.%s[%d]" % (path, key, j))
                return
        for key in ("shield", "wait_for"):
            if key in a:
                return awaitable(a[key], "%s.%s" % (path, key))
        raise ScenarioError("%s: unknown awaitable" % path)

    def steps(body, path):
        for i, st in enumerate(body):
            p = "%s[%d]" % (path, i)
            if not isinstance(st, dict):
                raise ScenarioError("%s: a step must be an object" % p)
            op = st.get("op")
            if op not in STEP_FIELDS:
                raise ScenarioError("%s.op: unknown op %r" % (p, op))
            for field, types in STEP_FIELDS[op].items():
                if not isinstance(st.get(field), types) or isinstance(st.get(field), bool):
                    raise ScenarioError("%s.%s: missing or of the wrong type" % (p, field))
            if op in ("call", "create_task"):
                ref(st["coro"], names, p + ".coro", "coroutine")
            elif op in ("add_done_callback", "remove_done_callback", "call_soon", "call_later", "call_at"):
                ref(st["callback"], cb_names, p + ".callback", "callback")
            elif op == "await":
                awaitable(st["on"], p + ".on")
            elif op == "as_completed":
                for j, a in enumerate(st["on"]):
                    awaitable(a, "%s.on[%d]" % (p, j))
            elif op in ("raise", "set_exception"):
                exc_spec(st["exc"], p + ".exc")
            elif op == "try":
                handlers = st.get("except", [])
                if st.get("star"):
                    if not 1 <= len(handlers) <= MAX_STAR_CLAUSES:
                        raise ScenarioError("%s.except: a try with except* needs 1 to %d clauses" % (p, MAX_STAR_CLAUSES))
                    for j, h in enumerate(handlers):
                        if isinstance(h, dict) and contains_return(h.get("body", [])):
                            raise ScenarioError("%s.except[%d].body: 'return' cannot appear in an except* block" % (p, j))
                for j, h in enumerate(handlers):
                    if not isinstance(h, dict) or h.get("type") not in EXCEPTION_TYPES:
                        raise ScenarioError("%s.except[%d].type: unknown exception type" % (p, j))
                    steps(h.get("body", []), "%s.except[%d].body" % (p, j))
            for key in NESTED_BODIES:
                if isinstance(st.get(key), list):
                    steps(st[key], "%s.%s" % (p, key))

    def sync_only(body, path):
        for i, st in enumerate(body):
            if st.get("op") not in SYNC_OPS:
                raise ScenarioError("%s[%d].op: a callback runs synchronously; %r awaits" % (path, i, st.get("op")))

    for i, c in enumerate(coros):
        steps(c["body"], "$.coroutines[%d].body" % i)
    for i, c in enumerate(callbacks):
        steps(c["body"], "$.callbacks[%d].body" % i)
        sync_only(c["body"], "$.callbacks[%d].body" % i)


class _NeverRaised(BaseException):
    """Stands in for an absent except* clause (never raised)."""


class Run:
    """One scenario's execution: the handle tables, the events, the loop."""

    def __init__(self, scenario, loop, enc):
        self.loop = loop
        self.enc = enc
        self.events = []
        self.handles = {}    # task and future handles
        self.groups = {}     # TaskGroup handles
        self.cms = {}        # timeout context manager handles
        self.timers = {}     # call_soon / call_later / call_at handles
        # Once the trace is taken, nothing more is recorded: coroutines of
        # tasks left pending are closed when the garbage collector gets to
        # them, which is not part of the scenario's run.
        self.closed = False
        self.coroutines = {c["name"]: c["body"] for c in scenario["coroutines"]}
        self.callbacks = {c["name"]: c["body"] for c in scenario.get("callbacks", [])}
        self.callback_fns = {}

    # -- events
    def emit(self, ev, **fields):
        if self.closed:
            return
        try:
            current = asyncio.current_task(self.loop)
        except RuntimeError:
            current = None
        event = {"time": enc_number(self.loop.time()), "task": self.enc.task_name(current), "ev": ev}
        event.update(fields)
        self.events.append(event)

    # -- coroutines
    async def coroutine(self, name):
        body = self.coroutines[name]
        self.emit("enter", coro=name)
        try:
            r = await self.steps(body)
        except BaseException as e:
            self.emit("exit", coro=name, exc=self.enc.exc(e))
            raise
        value = r.value if isinstance(r, Return) else None
        self.emit("exit", coro=name, value=self.enc.value(value))
        return value

    def callback(self, name):
        """The function object for a scenario callback (one per name, so it can be removed)."""
        fn = self.callback_fns.get(name)
        if fn is None:
            body = self.callbacks[name]

            def fn(*args):
                fields = {"callback": name}
                if args:
                    fields["arg"] = self.enc.value(args[0])
                self.emit("callback", **fields)
                run_sync(self.steps(body))

            self.callback_fns[name] = fn
        return fn

    def lookup(self, ref, table=None):
        obj = (self.handles if table is None else table).get(ref)
        if obj is None:
            self.emit("unbound", ref=ref)
        return obj

    def awaitable(self, spec):
        """Build the awaitable an `on` spec describes; None if a handle is unbound."""
        if "task" in spec:
            return self.lookup(spec["task"])
        if "coro" in spec:
            return self.coroutine(spec["coro"])
        if "sleep" in spec:
            return asyncio.sleep(spec["sleep"], spec.get("result"))
        if "gather" in spec:
            parts = self.awaitables(spec["gather"])
            return asyncio.gather(*parts, return_exceptions=bool(spec.get("return_exceptions", False)))
        if "shield" in spec:
            inner = self.awaitable(spec["shield"])
            return None if inner is None else asyncio.shield(inner)
        if "wait_for" in spec:
            inner = self.awaitable(spec["wait_for"])
            return None if inner is None else asyncio.wait_for(inner, spec["timeout"])
        if "wait" in spec:
            parts = self.awaitables(spec["wait"])
            return self.wait(parts, spec.get("timeout"), spec.get("return_when", "ALL_COMPLETED"))
        raise ScenarioError("unknown awaitable %r" % (sorted(spec),))

    def awaitables(self, specs):
        parts = [self.awaitable(p) for p in specs]
        return [p for p in parts if p is not None]

    async def wait(self, parts, timeout, return_when):
        """asyncio.wait, its two sets given back as lists in a stable order (by their encodings)."""
        done, pending = await asyncio.wait(parts, timeout=timeout, return_when=getattr(asyncio, return_when))
        return [self.enc.sorted(done), self.enc.sorted(pending)]

    @staticmethod
    def describe(spec):
        for key in ("task",):
            if key in spec:
                return spec[key]
        if "coro" in spec:
            return spec["coro"] + "()"
        for key in ("sleep", "gather", "shield", "wait_for", "wait"):
            if key in spec:
                return key
        return "?"

    def make_exception(self, spec):
        cls = EXCEPTION_TYPES.get(spec.get("type"))
        if cls is None or cls in (Exception, BaseException):
            raise ScenarioError("cannot raise %r" % (spec.get("type"),))
        if cls in (ExceptionGroup, BaseExceptionGroup):
            args = spec.get("args", [])
            return cls(args[0] if args else "", [self.make_exception(x) for x in spec.get("exceptions", [])])
        return cls(*spec.get("args", []))

    async def steps(self, steps):
        for step in steps:
            r = await self.step(step)
            if isinstance(r, Return):
                return r
        return None

    def probe(self, ev, ref, call):
        """Record what a synchronous method call returns or raises; never propagate."""
        try:
            value = call()
        except BaseException as e:
            self.emit(ev, ref=ref, exc=self.enc.exc(e))
        else:
            self.emit(ev, ref=ref, value=self.enc.value(value))

    async def step(self, s):
        op = s["op"]
        handler = getattr(self, "op_" + op, None)
        if handler is None:
            raise ScenarioError("unknown op %r" % (op,))
        r = handler(s)
        if asyncio.iscoroutine(r):
            r = await r
        return r

    # -- the ops (one method each; coroutines where the op awaits)
    def op_log(self, s):
        self.emit("log", label=s["label"])

    async def op_sleep(self, s):
        await asyncio.sleep(s["ticks"])

    async def op_call(self, s):
        await self.coroutine(s["coro"])

    async def op_await(self, s):
        aw = self.awaitable(s["on"])
        if aw is None:
            return None
        what = self.describe(s["on"])
        try:
            value = await aw
        except BaseException as e:
            self.emit("awaited", on=what, exc=self.enc.exc(e))
            raise
        self.emit("awaited", on=what, value=self.enc.value(value))

    def op_create_task(self, s):
        if "group" in s:
            group = self.lookup(s["group"], self.groups)
            if group is None:
                return None
            coro = self.coroutine(s["coro"])
            try:
                task = group.create_task(coro, name=s.get("name"))
            except BaseException:
                coro.close()  # 3.13 closes it itself; earlier versions leave it unawaited
                raise
        else:
            task = asyncio.create_task(self.coroutine(s["coro"]), name=s.get("name"))
        self.handles[s["task"]] = task
        self.emit("create_task", ref=s["task"], name=self.enc.task_name(task))

    def op_cancel(self, s):
        fut = self.lookup(s["task"])
        if fut is not None:
            returned = fut.cancel(s["msg"]) if "msg" in s else fut.cancel()
            self.emit("cancel", ref=s["task"], returned=returned)

    def op_inspect(self, s):
        fut = self.lookup(s["task"])
        if fut is not None:
            fields = {"done": fut.done(), "cancelled": fut.cancelled()}
            if isinstance(fut, TASK_TYPES):
                fields["cancelling"] = fut.cancelling()
                fields["name"] = self.enc.task_name(fut)
            self.emit("inspect", ref=s["task"], **fields)

    def op_raise(self, s):
        raise self.make_exception(s["exc"])

    def op_return(self, s):
        return Return(s.get("value"))

    def op_create_future(self, s):
        fut = self.loop.create_future()
        fut._aiospec_label = s["future"]
        self.handles[s["future"]] = fut
        self.emit("create_future", ref=s["future"])

    def op_set_result(self, s):
        fut = self.lookup(s["future"])
        if fut is not None:
            self.probe("set_result", s["future"], lambda: fut.set_result(s.get("value")))

    def op_set_exception(self, s):
        fut = self.lookup(s["future"])
        if fut is not None:
            exc = self.make_exception(s["exc"])
            self.probe("set_exception", s["future"], lambda: fut.set_exception(exc))

    def op_result(self, s):
        fut = self.lookup(s["task"])
        if fut is not None:
            self.probe("result", s["task"], fut.result)

    def op_exception(self, s):
        fut = self.lookup(s["task"])
        if fut is not None:
            self.probe("exception", s["task"], fut.exception)

    def op_uncancel(self, s):
        task = self.lookup(s["task"])
        if task is not None:
            self.probe("uncancel", s["task"], lambda: task.uncancel())

    def op_set_name(self, s):
        task = self.lookup(s["task"])
        if task is not None:
            task.set_name(s["name"])

    def op_current_task(self, s):
        self.emit("current_task", name=self.enc.task_name(asyncio.current_task()))

    def op_all_tasks(self, s):
        self.emit("all_tasks", names=sorted(self.enc.task_name(t) for t in asyncio.all_tasks()))

    def op_add_done_callback(self, s):
        fut = self.lookup(s["task"])
        if fut is not None:
            fut.add_done_callback(self.callback(s["callback"]))

    def op_remove_done_callback(self, s):
        fut = self.lookup(s["task"])
        if fut is not None:
            returned = fut.remove_done_callback(self.callback(s["callback"]))
            self.emit("remove_done_callback", ref=s["task"], callback=s["callback"], returned=returned)

    def bind_timer(self, s, handle):
        if "handle" in s:
            self.timers[s["handle"]] = handle

    def op_call_soon(self, s):
        self.bind_timer(s, self.loop.call_soon(self.callback(s["callback"])))

    def op_call_later(self, s):
        self.bind_timer(s, self.loop.call_later(s["delay"], self.callback(s["callback"])))

    def op_call_at(self, s):
        self.bind_timer(s, self.loop.call_at(s["when"], self.callback(s["callback"])))

    def op_cancel_handle(self, s):
        handle = self.lookup(s["handle"], self.timers)
        if handle is not None:
            handle.cancel()

    async def op_taskgroup(self, s):
        group = asyncio.TaskGroup()
        self.groups[s["group"]] = group
        async with group:
            return await self.steps(s["body"])

    def op_new_taskgroup(self, s):
        self.groups[s["group"]] = asyncio.TaskGroup()

    async def op_timeout(self, s):
        delay = s["delay"]
        cm = asyncio.timeout_at(delay) if s.get("at") else asyncio.timeout(delay)
        if "cm" in s:
            self.cms[s["cm"]] = cm
        async with cm:
            return await self.steps(s["body"])

    def op_reschedule(self, s):
        cm = self.lookup(s["cm"], self.cms)
        if cm is not None:
            delay = s["delay"]
            when = delay if (delay is None or s.get("at")) else self.loop.time() + delay
            cm.reschedule(when)

    def op_inspect_timeout(self, s):
        cm = self.lookup(s["cm"], self.cms)
        if cm is not None:
            self.emit("inspect_timeout", ref=s["cm"], when=self.enc.value(cm.when()), expired=cm.expired())

    async def op_as_completed(self, s):
        parts = self.awaitables(s["on"])
        timeout = s.get("timeout")
        if s.get("mode") == "async":
            async for fut in asyncio.as_completed(parts, timeout=timeout):
                self.emit("as_completed", item=self.enc.value(fut))
                await self.await_recorded("as_completed", fut)
        else:
            for aw in asyncio.as_completed(parts, timeout=timeout):
                await self.await_recorded("as_completed", aw)

    async def await_recorded(self, what, aw):
        try:
            value = await aw
        except BaseException as e:
            self.emit("awaited", on=what, exc=self.enc.exc(e))
            raise
        self.emit("awaited", on=what, value=self.enc.value(value))
        return value

    async def op_try(self, s):
        if s.get("star"):
            return await self.try_star(s)
        result = None
        try:
            try:
                result = await self.steps(s.get("body", []))
            except BaseException as e:
                handler = None
                for h in s.get("except", []):
                    if isinstance(e, EXCEPTION_TYPES[h["type"]]):
                        handler = h
                        break
                if handler is None:
                    raise
                self.emit("caught", exc=self.enc.exc(e))
                result = await self.steps(handler.get("body", []))
                if handler.get("reraise") and not isinstance(result, Return):
                    raise
        finally:
            final = await self.steps(s.get("finally", []))
            if isinstance(final, Return):
                return final
        return result

    async def try_star(self, s):
        """try / except* / finally, with Python's own except* machinery.

        Clauses are real `except*` clauses whose types are computed; unused
        ones name an exception that is never raised. Handler bodies cannot
        `return` (Python forbids it in except*; the validator rejects it).
        """
        handlers = list(s.get("except", []))
        if len(handlers) > MAX_STAR_CLAUSES:
            raise ScenarioError("at most %d except* clauses" % MAX_STAR_CLAUSES)
        types = [EXCEPTION_TYPES[h["type"]] for h in handlers]
        types += [_NeverRaised] * (MAX_STAR_CLAUSES - len(types))
        result = None
        try:
            try:
                result = await self.steps(s.get("body", []))
            except* types[0] as eg:
                if await self.star_handler(handlers[0], eg):
                    raise
            except* types[1] as eg:
                if await self.star_handler(handlers[1], eg):
                    raise
            except* types[2] as eg:
                if await self.star_handler(handlers[2], eg):
                    raise
        finally:
            final = await self.steps(s.get("finally", []))
            if isinstance(final, Return):
                return final
        return result

    async def star_handler(self, handler, eg):
        """Run an except* handler body; say whether to re-raise (a bare raise, in the clause itself)."""
        self.emit("caught", exc=self.enc.exc(eg))
        await self.steps(handler.get("body", []))
        return bool(handler.get("reraise"))


def run_sync(coro):
    """Run a coroutine that never suspends (a callback body) to completion."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise ScenarioError("a callback body awaited")


# ---------------------------------------------------------------- one scenario

_probe_loop = None


def name_base(task_class):
    """The default-name counter of CPython's Task is process-wide; find where
    it stands so that default names read Task-1, Task-2, ... in every run."""
    global _probe_loop
    if _probe_loop is None:
        _probe_loop = asyncio.new_event_loop()
        _probe_loop.set_exception_handler(lambda loop, ctx: None)

    async def probe():
        pass

    coro = probe()
    task = task_class.__bases__[0](coro, loop=_probe_loop)
    base = int(task.get_name().split("-")[1])
    task._log_destroy_pending = False
    coro.close()
    _probe_loop._ready.clear()
    return base


def run_loop(loop, run, fut, phase):
    """Run the loop until fut is done; say how the run ended."""
    try:
        loop.run_until_complete(fut)
        return {"kind": "complete"}
    except Deadlock:
        return {"kind": "deadlock"}
    except IterationLimit:
        return {"kind": "iteration_limit"}
    except (KeyboardInterrupt, SystemExit) as e:
        return {"kind": "interrupted", "exc": run.enc.exc(e)}
    except BaseException as e:
        # run_until_complete re-raises the main task's exception; that is the
        # main task's outcome, recorded separately.
        if fut.done():
            return {"kind": "complete"}
        return {"kind": "error", "exc": run.enc.exc(e)}


def run_scenario(scenario, options):
    task_class = PINNED_PY_TASK if options.get("task") == "py" else PINNED_TASK
    check_scenario(scenario)
    loop = VirtualTimeLoop(task_class)
    if scenario.get("eager"):
        if not hasattr(asyncio, "create_eager_task_factory"):
            raise ScenarioError("eager tasks need Python 3.12 or later")
        loop.use_eager_tasks()
    enc = Encoder(name_base(task_class))

    def handler(lp, ctx):
        message = str(ctx.get("message"))
        # Reports made when an object is destroyed depend on when the
        # garbage collector runs; they belong to the gc part of the language.
        if "never retrieved" in message or "destroyed but it is pending" in message:
            return
        if message.startswith("Exception in callback"):
            message = "Exception in callback"  # the callback's repr is implementation detail
        fields = {"message": normalize_message(message)}
        if ctx.get("exception") is not None:
            fields["exc"] = enc.exc(ctx["exception"])
        run.emit("exception_handler", **fields)

    loop.set_exception_handler(handler)
    run = Run(scenario, loop, enc)
    if "main" not in run.coroutines:
        raise ScenarioError("no coroutine named 'main'")
    try:
        main = loop.create_task(run.coroutine("main"))
        end = run_loop(loop, run, main, "main")
        tasks = [dict(name=enc.task_name(t), ref=run_ref(run, t), **task_state(enc, t))
                 for t in loop.created_tasks]
        main_state = task_state(enc, main)
        # Shut down as asyncio.run does, but deterministically: cancel the
        # remaining tasks in creation order and wait for them.
        pending = [t for t in loop.created_tasks if not t.done()]
        shutdown = None
        if pending and end["kind"] in ("complete", "interrupted"):
            run.emit("shutdown")
            for t in pending:
                t.cancel()
            shutdown = run_loop(loop, run, asyncio.gather(*pending, return_exceptions=True), "shutdown")
        run.closed = True
        trace = {
            "events": list(run.events),
            "end": end,
            "main": main_state,
            "tasks": tasks,
        }
        if shutdown is not None:
            trace["shutdown"] = shutdown
        return trace
    finally:
        loop.set_exception_handler(lambda lp, ctx: None)
        run.closed = True
        for t in loop.created_tasks:
            if not t.done():
                t._log_destroy_pending = False
                # Close the coroutines of tasks left pending now, while no
                # loop runs: left to the garbage collector, their finally
                # blocks could run during a later scenario and create tasks
                # on its loop.
                coro = t.get_coro()
                if coro is not None:
                    try:
                        coro.close()
                    except BaseException:
                        pass
        try:
            loop.close()
        except Exception:
            pass


def run_ref(run, task):
    for ref, t in run.handles.items():
        if t is task:
            return ref
    return None


# ---------------------------------------------------------------- serving

def hello():
    return {
        "protocol": PROTOCOL,
        "implementation": platform.python_implementation(),
        "python": platform.python_version(),
        "version": "%d.%d" % sys.version_info[:2],
        "task": "C" if asyncio.Task is not getattr(asyncio.tasks, "_PyTask", None) else "py",
        "executable": sys.executable,
    }


def handle_line(line):
    try:
        req = json.loads(line)
    except ValueError as e:
        return {"id": None, "error": "malformed JSON: %s" % e}
    if not isinstance(req, dict):
        return {"id": None, "error": "a request must be a JSON object"}
    rid = req.get("id")
    scenario = req.get("scenario")
    if not isinstance(scenario, dict):
        return {"id": rid, "error": "request has no scenario object"}
    options = req.get("options") or {}
    try:
        return {"id": rid, "trace": run_scenario(scenario, options)}
    except (ScenarioError, KeyError, TypeError, ValueError) as e:
        return {"id": rid, "error": "cannot interpret scenario: %s: %s" % (type(e).__name__, e)}
    except Exception as e:
        return {"id": rid, "error": "driver failure: %s" % "".join(traceback.format_exception_only(type(e), e)).strip()}


def main():
    out = sys.stdout
    out.write(json.dumps({"hello": hello()}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        reply = handle_line(line)
        out.write(json.dumps(reply, sort_keys=True, separators=(",", ":")) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
