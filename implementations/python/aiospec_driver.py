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
    "Exception": Exception,
    "BaseException": BaseException,
}

# Reprs of asyncio objects (tasks, futures, coroutines) carry addresses and
# file positions; messages that embed them are compared with the repr elided.
_REPR = re.compile(r"<(?:Task|Future|_GatheringFuture|TaskGroup|coroutine|Handle|TimerHandle)\b[^<>]*(?:<[^<>]*>[^<>]*)*>")


def normalize_message(s):
    return _REPR.sub("<...>", s)


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


class VirtualTimeLoop(asyncio.BaseEventLoop):
    def __init__(self, task_class=None):
        super().__init__()
        self._now = 0.0
        self._iterations = 0
        self._selector = VirtualSelector(self)
        self._task_class = task_class
        self.created_tasks = []

    def time(self):
        return self._now

    def _process_events(self, event_list):
        pass

    def _write_to_self(self):
        pass

    def create_task(self, coro, *, name=None, context=None):
        if self._task_class is None:
            task = super().create_task(coro, name=name, context=context)
        else:
            self._check_closed()
            task = self._task_class(coro, loop=self, name=name, context=context)
        self.created_tasks.append(task)
        return task


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
        return out

    def value(self, v):
        if v is None or isinstance(v, (bool, str)):
            return normalize_message(v) if isinstance(v, str) else v
        if isinstance(v, (int, float)):
            return enc_number(v)
        if isinstance(v, (list, tuple)):
            return [self.value(x) for x in v]
        if isinstance(v, BaseException):
            return {"exc": self.exc(v)}
        if isinstance(v, asyncio.Task):
            return {"task": self.task_name(v)}
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
_LIST = (list,)
STEP_FIELDS = {
    "log": {"label": _STR},
    "sleep": {"ticks": _INT},
    "call": {"coro": _STR},
    "await": {"on": (dict,)},
    "create_task": {"coro": _STR, "task": _STR},
    "cancel": {"task": _STR},
    "inspect": {"task": _STR},
    "raise": {"exc": (dict,)},
    "return": {},
    "try": {"body": _LIST},
}


def check_scenario(scenario):
    """Reject what the interpreter could not run, naming the JSON path."""
    if scenario.get("aiospec") != 1:
        raise ScenarioError("$.aiospec: must be 1 (this driver speaks version 1 of the scenario language)")
    coros = scenario.get("coroutines")
    if not isinstance(coros, list):
        raise ScenarioError("$.coroutines: must be a list")
    names = set()
    for i, c in enumerate(coros):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not isinstance(c.get("body"), list):
            raise ScenarioError("$.coroutines[%d]: must be an object with a name and a body" % i)
        names.add(c["name"])
    if "main" not in names:
        raise ScenarioError("$.coroutines: no coroutine named 'main'")

    def coro_ref(name, path):
        if name not in names:
            raise ScenarioError("%s: no coroutine named %r" % (path, name))

    def awaitable(a, path):
        if not isinstance(a, dict):
            raise ScenarioError("%s: must be an object" % path)
        if isinstance(a.get("task"), str):
            return
        if isinstance(a.get("coro"), str):
            return coro_ref(a["coro"], path + ".coro")
        if isinstance(a.get("sleep"), int):
            return
        if isinstance(a.get("gather"), list):
            for j, p in enumerate(a["gather"]):
                awaitable(p, "%s.gather[%d]" % (path, j))
            return
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
                coro_ref(st["coro"], p + ".coro")
            elif op == "await":
                awaitable(st["on"], p + ".on")
            elif op == "raise":
                t = st["exc"].get("type")
                if t not in EXCEPTION_TYPES or t in ("Exception", "BaseException"):
                    raise ScenarioError("%s.exc.type: cannot raise %r" % (p, t))
            elif op == "try":
                steps(st["body"], p + ".body")
                for j, h in enumerate(st.get("except", [])):
                    if not isinstance(h, dict) or h.get("type") not in EXCEPTION_TYPES:
                        raise ScenarioError("%s.except[%d].type: unknown exception type" % (p, j))
                    steps(h.get("body", []), "%s.except[%d].body" % (p, j))
                steps(st.get("finally", []), p + ".finally")

    for i, c in enumerate(coros):
        steps(c["body"], "$.coroutines[%d].body" % i)


class Run:
    """One scenario's execution: the handle table, the events, the loop."""

    def __init__(self, scenario, loop, enc):
        self.loop = loop
        self.enc = enc
        self.events = []
        self.handles = {}
        # Once the trace is taken, nothing more is recorded: coroutines of
        # tasks left pending are closed when the garbage collector gets to
        # them, which is not part of the scenario's run.
        self.closed = False
        coros = scenario.get("coroutines")
        if not isinstance(coros, list):
            raise ScenarioError("coroutines must be a list")
        self.coroutines = {}
        for c in coros:
            self.coroutines[c["name"]] = c["body"]

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

    def outcome_fields(self, value=None, exc=None):
        if exc is not None:
            return {"exc": self.enc.exc(exc)}
        return {"value": self.enc.value(value)}

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

    def lookup(self, ref):
        task = self.handles.get(ref)
        if task is None:
            self.emit("unbound", ref=ref)
        return task

    def awaitable(self, spec):
        """Build the awaitable an `on` spec describes; None if it cannot be built."""
        if "task" in spec:
            return self.lookup(spec["task"])
        if "coro" in spec:
            return self.coroutine(spec["coro"])
        if "sleep" in spec:
            return asyncio.sleep(spec["sleep"], spec.get("result"))
        if "gather" in spec:
            parts = [self.awaitable(p) for p in spec["gather"]]
            parts = [p for p in parts if p is not None]
            return asyncio.gather(*parts, return_exceptions=bool(spec.get("return_exceptions", False)))
        raise ScenarioError("unknown awaitable %r" % (sorted(spec),))

    @staticmethod
    def describe(spec):
        if "task" in spec:
            return spec["task"]
        if "coro" in spec:
            return spec["coro"] + "()"
        if "sleep" in spec:
            return "sleep"
        return "gather"

    def make_exception(self, spec):
        cls = EXCEPTION_TYPES.get(spec.get("type"))
        if cls is None or cls in (Exception, BaseException):
            raise ScenarioError("cannot raise %r" % (spec.get("type"),))
        return cls(*spec.get("args", []))

    async def steps(self, steps):
        for step in steps:
            r = await self.step(step)
            if isinstance(r, Return):
                return r
        return None

    async def step(self, s):
        op = s["op"]
        if op == "log":
            self.emit("log", label=s["label"])
        elif op == "sleep":
            await asyncio.sleep(s["ticks"])
        elif op == "call":
            await self.coroutine(s["coro"])
        elif op == "await":
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
        elif op == "create_task":
            task = asyncio.create_task(self.coroutine(s["coro"]), name=s.get("name"))
            self.handles[s["task"]] = task
            self.emit("create_task", ref=s["task"], name=self.enc.task_name(task))
        elif op == "cancel":
            task = self.lookup(s["task"])
            if task is not None:
                returned = task.cancel(s["msg"]) if "msg" in s else task.cancel()
                self.emit("cancel", ref=s["task"], returned=returned)
        elif op == "inspect":
            task = self.lookup(s["task"])
            if task is not None:
                self.emit("inspect", ref=s["task"], done=task.done(),
                          cancelled=task.cancelled(), cancelling=task.cancelling())
        elif op == "raise":
            raise self.make_exception(s["exc"])
        elif op == "return":
            return Return(s.get("value"))
        elif op == "try":
            return await self.try_step(s)
        else:
            raise ScenarioError("unknown op %r" % (op,))
        return None

    async def try_step(self, s):
        result = None
        try:
            try:
                result = await self.steps(s.get("body", []))
            except BaseException as e:
                handler = None
                for h in s.get("except", []):
                    cls = EXCEPTION_TYPES.get(h["type"])
                    if cls is None:
                        raise ScenarioError("unknown exception type %r" % (h["type"],))
                    if isinstance(e, cls):
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
    cls = task_class or asyncio.Task
    task = cls(coro, loop=_probe_loop)
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
    task_class = None
    if options.get("task") == "py":
        task_class = asyncio.tasks._PyTask
    check_scenario(scenario)
    loop = VirtualTimeLoop(task_class)
    enc = Encoder(name_base(task_class))

    def handler(lp, ctx):
        message = str(ctx.get("message"))
        # Reports made when an object is destroyed depend on when the
        # garbage collector runs; they belong to the gc part of the language.
        if "never retrieved" in message or "destroyed but it is pending" in message:
            return
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
