#!/usr/bin/env python3
"""aiospec driver: runs aiospec scenarios on the real asyncio of the Python
that runs this file (CPython 3.8 to 3.14, PyPy 3.9, Pyodide), on asyncio's
own loop or another one (uvloop, nest_asyncio, any loop factory).

    python3 aiospec_driver.py [--loop asyncio|uvloop|nest_asyncio|webloop|MODULE:FACTORY]
                              [--clock virtual|real] [--tick-ms N]

Protocol (JSON lines, one long-lived process, many scenarios):
  - on start the driver writes one line  {"hello": {...}}  describing itself:
    the Python version it is, its loop and clock, and the scenario features
    it cannot run ("unsupported");
  - each request line is  {"id": ID, "scenario": {...}, "options": {...}};
  - each reply line is    {"id": ID, "trace": {...}}  or  {"id": ID, "error": "..."}.
A line that is not valid JSON gets {"id": null, "error": "..."} and the driver
keeps serving. Scenario text is data: it is interpreted step by step, never
evaluated as code. An unknown argument, or a loop that cannot be imported,
is refused with one line on stderr and exit code 2, before the hello.

Hosts that cannot give the driver a stdin (Pyodide) import this file and
call configure(argv), hello_line() and serve_line(line) themselves.

Virtual clock (the default on asyncio's own loop and nest_asyncio): the loop
is a subclass of asyncio.BaseEventLoop whose selector advances a virtual
clock instead of sleeping, so CPython's own Task, Future and gather code runs
unmodified, deterministically and fast. When nothing is ready, no timer is
scheduled and the main task is pending, the selector would block forever:
that is recorded as a deadlock outcome instead of a hang.

Real clock (uvloop, foreign loops, or --clock real): one tick of a scenario
is tick_ms milliseconds of real time; see RealClock and Watchdog below.

Pyodide's WebLoop (--loop webloop, inside Pyodide only) cannot block: its
host (implementations/pyodide/driver.js) runs each request by awaiting it
(aiospec_webloop.py), on the real clock.
"""

import argparse
import asyncio
import bisect
import collections.abc
import gc
import inspect
import itertools
import json
import os
import platform
import re
import warnings
import sys
import time
import traceback
import weakref

PROTOCOL = 1
# How many requests the harness may keep in flight (the hello says so).
PIPELINE = 64
MAX_LOOP_ITERATIONS = 200_000
# Where the driver cannot count loop iterations (a loop that is not a
# BaseEventLoop, e.g. uvloop), the number of events of one run is capped
# instead; past it the run ends as {"kind": "iteration_limit"}.
MAX_REAL_EVENTS = 100_000
DEFAULT_TICK_MS = 30
# Real time: how many times a run that strayed from the tick grid (a loaded
# machine) is run again before the driver gives up on it (run_real_time).
LATE_RETRIES = 2
PY = sys.version_info[:2]
EMSCRIPTEN = sys.platform == "emscripten"

# ExceptionGroup and BaseExceptionGroup exist from Python 3.11 on.
try:
    _EG = ExceptionGroup  # noqa: F821
    _BEG = BaseExceptionGroup  # noqa: F821
    GROUP_TYPES = (_BEG,)
except NameError:
    _EG = _BEG = None
    GROUP_TYPES = ()


def _load_sibling(name):
    """Import module `name` from the directory of this file (else from sys.path)."""
    import importlib
    import importlib.util
    here = globals().get("__file__")
    if here:
        path = os.path.join(os.path.dirname(os.path.abspath(here)), name + ".py")
        if os.path.exists(path):
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            return module
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ImportError(
            "the aiospec driver needs %s.py next to aiospec_driver.py on Python 3.11 and later%s"
            % (name, " (looked in %s)" % os.path.dirname(os.path.abspath(here)) if here else ""))


# try / except* is a SyntaxError before 3.11: it lives in its own module.
_star = _load_sibling("aiospec_star") if PY >= (3, 11) else None


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
    "StopIteration": StopIteration,
    "Exception": Exception,
    "BaseException": BaseException,
}
if _EG is not None:
    EXCEPTION_TYPES["ExceptionGroup"] = _EG
    EXCEPTION_TYPES["BaseExceptionGroup"] = _BEG
GROUP_NAMES = ("ExceptionGroup", "BaseExceptionGroup")

# Reprs of asyncio objects (tasks, futures, coroutines) carry addresses and
# file positions; messages that embed them are compared with the repr elided.
_REPR_START = re.compile(r"<(?:Task|Future|_GatheringFuture|TaskGroup|coroutine|Handle|TimerHandle)\b")


def normalize_message(s):
    """Replace every asyncio repr in s, brackets nested to any depth, by <...>."""
    if "<" not in s:  # every repr starts with one (most messages have none)
        return s
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

def count_iteration(loop, timeout):
    """One loop iteration is about to wait: count it against the limit, and
    turn a wait with no timeout (nothing ready, no timer; scenarios do no
    I/O, so nothing could ever wake the loop) into a deadlock."""
    loop._iterations += 1
    if loop._iterations > MAX_LOOP_ITERATIONS:
        raise IterationLimit()
    if timeout is None:
        raise Deadlock()


class VirtualSelector:
    """Stands in for a selector: select(timeout) advances virtual time."""

    def __init__(self, loop):
        self._loop = loop

    def select(self, timeout=None):
        # count_iteration(), written out: this runs once per loop iteration.
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


class VirtualSelectorOver(VirtualSelector):
    """A virtual selector standing in for the real selector of a loop made
    elsewhere (a MODULE:FACTORY loop): select() is virtual, everything else
    (the loop's self-pipe registration, close) goes to the real one."""

    def __init__(self, loop, inner):
        VirtualSelector.__init__(self, loop)
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def close(self):
        self._inner.close()


class CountingSelector:
    """Wraps a real selector (real-time mode on a BaseEventLoop): counts
    iterations, and turns a select that would block forever (no timeout:
    nothing ready, no timer) into a deadlock. Scenarios do no I/O, so
    nothing else could ever wake the loop."""

    def __init__(self, loop, inner):
        self._loop = loop
        self._inner = inner

    def select(self, timeout=None):
        count_iteration(self._loop, timeout)
        return self._inner.select(timeout)

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def close(self):
        self._inner.close()


def pinned(cls, name):
    """A subclass of an asyncio Task or Future class whose hash is its
    creation number in the scenario instead of its address.

    CPython iterates sets of tasks (TaskGroup's, wait's, as_completed's) in
    an order that follows the hashes, and the default hash follows memory
    addresses: run to run, the order would change. With pinned hashes it is
    reproducible, and the reference reproduces it by modelling CPython's set.
    Every object made by loop.create_task or loop.create_future takes the
    next number. Everything else is the real class's behaviour.

    A task takes its number in __init__, before the real __init__ runs: that
    hashes the task (it registers it in a set of weak references), and an
    eager task's first step, which may make more tasks and futures, runs in
    it. A future is given its number by whoever makes it, right after the
    real __init__, which makes nothing and hashes nothing, so the numbers
    come out the same (see new_future); that spares every future, about six
    a scenario, a Python-level __init__.
    """

    def __hash__(self):
        return self._aiospec_hash

    ns = {"__hash__": __hash__, "__module__": cls.__module__}
    if name == "Task":
        init = cls.__init__

        def __init__(self, *args, **kwargs):
            self._aiospec_hash = kwargs["loop"].next_hash()
            init(self, *args, **kwargs)

        ns["__init__"] = __init__
    return type(name, (cls,), ns)


def new_future(future_class, loop):
    """A pinned future of loop's: future_class(loop=loop) with the next number."""
    fut = future_class(loop=loop)
    fut._aiospec_hash = loop.next_hash()
    return fut


_PINNED = {}


def pinned_class(cls):
    """pinned(cls), made once per class (Task -> "Task", Future -> "Future")."""
    p = _PINNED.get(cls)
    if p is None:
        p = _PINNED[cls] = pinned(cls, "Task" if issubclass(cls, TASK_TYPES) else "Future")
    return p


# The C Task and the pure-Python Task are unrelated classes; where there is
# no C Task (PyPy), asyncio.Task is the pure-Python one.
PY_TASK = getattr(asyncio.tasks, "_PyTask", None)
TASK_TYPES = tuple(c for i, c in enumerate((asyncio.Task, PY_TASK)) if c is not None and c not in (asyncio.Task, PY_TASK)[:i])
PINNED_TASK = pinned_class(asyncio.Task)
PINNED_PY_TASK = pinned_class(PY_TASK) if PY_TASK is not None else None
PINNED_FUTURE = pinned_class(asyncio.Future)


# asyncio.current_task(loop) for a given loop. Before 3.12 (and on PyPy) it is
# a Python function that looks the loop up in asyncio.tasks._current_tasks;
# emit asks for every event, and looks the loop up itself. From 3.12 on it is
# C (and the current task may live elsewhere): emit calls it.
_CURRENT_TASKS = getattr(asyncio.tasks, "_current_tasks", None)
if (isinstance(_CURRENT_TASKS, dict) and hasattr(asyncio.current_task, "__code__")
        and getattr(asyncio.current_task, "__module__", None) == "asyncio.tasks"):
    current_task_of = _CURRENT_TASKS.get
else:
    current_task_of = asyncio.current_task


def task_flavour():
    """"C" when asyncio.Task is the C Task, "py" when it is the pure-Python one
    (PyPy; nest_asyncio replaces the C Task by the Python one)."""
    return "py" if asyncio.Task is PY_TASK else "C"


class _Pinning:
    """What pinned tasks and futures need of their loop: next_hash(), and
    created_tasks, the tasks the loop made, in creation order."""

    def _init_pinning(self, task_class, future_class):
        self._task_class = task_class
        self._task_init = task_class.__bases__[0].__init__  # the real class's
        self._future_class = future_class
        # next_hash(): the next creation number (a counter's own method: it
        # is called for every task and future).
        self.next_hash = itertools.count(1).__next__
        self.created_tasks = []


class PinnedTasks(_Pinning):
    """create_task for a loop whose tasks are pinned (see pinned())."""

    def use_eager_tasks(self):
        self.set_task_factory(asyncio.create_eager_task_factory(self._task_class))

    def create_task(self, coro, *, name=None, **kwargs):
        # kwargs: context (3.11+), eager_start (3.14), as the caller gives them.
        if self._task_factory is not None:
            # The factory (the eager one) makes the task; the base class
            # names it afterwards, as CPython does.
            try:
                task = super().create_task(coro, name=name, **kwargs)
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
            # self._task_class(coro, loop=self, ...) without the pinned
            # class's Python-level __init__: the object, its number, then
            # the real class's __init__ (pinned()).
            cls = self._task_class
            task = cls.__new__(cls)
            task._aiospec_hash = self.next_hash()
            self._task_init(task, coro, loop=self, name=name, **kwargs)
        self.created_tasks.append(task)
        return task


class PinnedFutures(_Pinning):
    """create_future for a loop whose futures are pinned."""

    def create_future(self):
        fut = self._future_class(loop=self)
        fut._aiospec_hash = self.next_hash()  # see pinned()
        return fut


class VirtualTimeLoop(PinnedTasks, PinnedFutures, asyncio.BaseEventLoop):
    def __init__(self, task_class=None, future_class=None):
        super().__init__()
        self._now = 0.0
        self._iterations = 0
        self._selector = VirtualSelector(self)
        self._init_pinning(task_class or PINNED_TASK, future_class or PINNED_FUTURE)

    def time(self):
        return self._now

    def _process_events(self, event_list):
        pass

    def _write_to_self(self):
        pass


class _ProbeLoop(asyncio.BaseEventLoop):
    """A loop that is never run: only the default-name probe uses it (built
    directly: under Pyodide asyncio.new_event_loop() is a WebLoop)."""

    def _process_events(self, event_list):
        pass

    def _write_to_self(self):
        pass


# -- loops made elsewhere (--loop uvloop, --loop MODULE:FACTORY, --clock real)

class _VirtualClock:
    """Mixed into a BaseEventLoop made elsewhere: its clock becomes virtual."""

    def time(self):
        return self._now


class _SnapDeadlines:
    """Mixed into a BaseEventLoop in real-time mode: deadlines a scenario asked
    for land exactly on their tick, so that equal deadlines are equal floats
    (CPython's timer heap breaks ties by its own order, not by insertion),
    and every timer reports how late it runs (RealClock.timed)."""

    def call_at(self, when, callback, *args, **kwargs):
        clock = getattr(self, "_aiospec_clock", None)
        if clock is not None:
            when = clock.snap(when)
            callback = clock.timed(when, callback)
        return super().call_at(when, callback, *args, **kwargs)


def _time_foreign_timers(loop, clock):
    """For a loop that is not a BaseEventLoop: its call_later / call_at
    (asyncio's own code calls them on the loop object) report how late their
    timers run, and a call_later whose deadline is one the driver asked for
    becomes a call_at of that deadline. (uvloop counts milliseconds from the
    time it last read its clock: a relative delay computed earlier can land
    a millisecond off, and break a tie between two timers due at one tick;
    its call_at reads the clock and converts at once.)"""
    call_later, call_at = loop.call_later, loop.call_at
    inside = []  # uvloop's call_at calls self.call_later: that one goes through

    def timed_call_later(delay, callback, *args, **kwargs):
        if inside:
            return call_later(delay, callback, *args, **kwargs)
        return timed_call_at(clock.snap(loop.time() + delay), callback, *args, **kwargs)

    def timed_call_at(when, callback, *args, **kwargs):
        inside.append(True)
        try:
            return call_at(when, clock.timed(when, callback), *args, **kwargs)
        finally:
            inside.pop()

    loop.call_later = timed_call_later
    loop.call_at = timed_call_at


_ADAPTED = {}


def _adapted_class(cls, mixins):
    key = (cls, mixins)
    sub = _ADAPTED.get(key)
    if sub is None:
        sub = _ADAPTED[key] = type("Aiospec" + cls.__name__, mixins + (cls,), {"__module__": cls.__module__})
    return sub


def _recording_factory(loop, make):
    """A task factory that makes a task with `make` and lists it in loop.created_tasks."""

    def factory(lp, coro, **kwargs):
        try:
            task = make(lp, coro, **kwargs)
        except SystemError as e:  # see PinnedTasks.create_task
            if isinstance(e.__cause__, (KeyboardInterrupt, SystemExit)):
                raise e.__cause__ from None
            raise
        loop.created_tasks.append(task)
        return task

    return factory


def _plain_factory(task_class):
    def make(lp, coro, **kwargs):
        return task_class(coro, loop=lp, **kwargs)
    return make


def _pin_futures(loop, future_class):
    """Replace a loop's own create_future when it makes plain asyncio futures
    (uvloop's does): same class, pinned hash. Other futures keep theirs."""
    probe = loop.create_future()
    if type(probe) is future_class.__bases__[0]:
        loop.create_future = lambda: new_future(future_class, loop)


def adapt_base_loop(loop, virtual, task_class, future_class, eager):
    """Adapt a BaseEventLoop made elsewhere (--clock real on asyncio's loop, a
    MODULE:FACTORY loop): its class gains pinned tasks and futures, unless it
    overrides create_task / create_future (then a task factory pins its
    tasks), and a virtual clock or, in real time, a counting selector and
    deadlines snapped to their ticks."""
    cls = type(loop)
    stock_tasks = getattr(cls, "create_task", None) is asyncio.BaseEventLoop.create_task
    stock_futures = getattr(cls, "create_future", None) is asyncio.BaseEventLoop.create_future
    mixins = ((PinnedTasks,) if stock_tasks else ()) + ((PinnedFutures,) if stock_futures else ()) + (_Pinning,)
    mixins += (_VirtualClock,) if virtual else (_SnapDeadlines,)
    inner = loop._selector
    loop._iterations = 0
    if virtual:
        loop._now = 0.0
        loop._selector = VirtualSelectorOver(loop, inner)
    else:
        loop._selector = CountingSelector(loop, inner)
    loop.__class__ = _adapted_class(cls, mixins)
    loop._init_pinning(task_class, future_class)
    if not stock_tasks:
        make = asyncio.create_eager_task_factory(task_class) if eager else _plain_factory(task_class)
        loop.set_task_factory(_recording_factory(loop, make))
    elif eager:
        loop.use_eager_tasks()
    if not stock_futures:
        _pin_futures(loop, future_class)
    return loop


def adapt_foreign_loop(loop, task_class, future_class, eager):
    """Adapt a loop that is not a BaseEventLoop (uvloop): a task factory pins
    and lists its tasks; its create_future is replaced when it makes plain
    asyncio futures."""
    try:
        loop.next_hash = itertools.count(1).__next__
        loop.created_tasks = []
    except AttributeError:
        raise ScenarioError("cannot adapt a %s: its instances take no attributes" % type(loop).__name__)
    make = asyncio.create_eager_task_factory(task_class) if eager else _plain_factory(task_class)
    loop.set_task_factory(_recording_factory(loop, make))
    _pin_futures(loop, future_class)
    return loop


# ---------------------------------------------------------------- real time

class RealClock:
    """Scenario time in real time: one tick is `tick` seconds of the loop's
    clock, counted from t0, the run's start.

    Scenario delays and deadlines are in ticks. Every deadline the driver
    hands to asyncio is put on the tick grid, t0 + k * tick, computed the
    same way each time, so that two timers due at the same tick have equal
    deadlines (as in virtual time) whenever they were scheduled. Relative
    delays (sleep, wait_for, wait, as_completed) are converted to the grid
    deadline minus the current time, and a BaseEventLoop snaps what asyncio
    computes from them back onto that deadline (snap()).

    The current time, in ticks, is the latest tick asked for whose deadline
    real time has reached (0 at the start): in virtual time the clock only
    ever moves to the deadline of a timer, and this is that deadline. It is
    what events record and what relative delays count from, so that a loop
    that starts or wakes up late (a loaded machine) still schedules and
    records on the grid; only a callback delayed past the next tick's
    deadline is seen at the wrong time.
    """

    def __init__(self, loop, tick):
        self.loop = loop
        self.tick = tick
        self.t0 = None
        self.ticks = [0]     # every tick asked for, sorted
        self.targets = {}    # deadline (loop time) -> ticks: every deadline asked for
        self.whens = {}      # deadline handed to a timeout -> ticks (for when())
        self.last_deadline = None  # time.monotonic() of the latest deadline asked for
        # How far real time strayed from the grid: the most a timer ran late
        # (seconds), and whether an event happened at a later tick than the
        # latest timer that ran (in virtual time every event happens at the
        # tick of a timer, or at 0). run_real_time runs such runs again.
        self.late = 0.0
        self.timer_tick = 0
        self.drifted = False
        self.tolerance = tick / 4
        # Timers may run a little before their deadline by the loop's clock
        # (uvloop's clock counts milliseconds): that much early still counts.
        self.slack = min(0.002, tick / 10)

    def start(self):
        """Time 0 is when the run first looks at the clock: main's first
        step, in the loop's first iteration (as in virtual time), however
        long the loop took to get there."""
        self.t0 = self.loop.time()
        self.targets[self.t0] = 0

    def now(self):
        """The current time in ticks."""
        if self.t0 is None:
            self.start()
        reached = (self.loop.time() + self.slack - self.t0) / self.tick
        i = bisect.bisect_right(self.ticks, reached)
        return self.ticks[i - 1] if i > 0 else 0

    def register(self, ticks):
        if self.t0 is None:
            self.start()
        when = self.t0 + ticks * self.tick
        if when not in self.targets:
            self.targets[when] = ticks
            bisect.insort(self.ticks, ticks)
        mono = time.monotonic() + (when - self.loop.time())
        if self.last_deadline is None or mono > self.last_deadline:
            self.last_deadline = mono
        return when

    def delay(self, d):
        """A relative delay for asyncio (sleep, wait_for, wait, as_completed), in seconds."""
        if d is None:
            return None
        when = self.register(self.now() + d)
        if d <= 0:
            return d * self.tick  # keeps asyncio's "delay <= 0" paths
        return max(when - self.loop.time(), 1e-6)

    def at(self, w):
        """An absolute deadline (call_at), in the loop's time."""
        return self.register(w)

    def deadline(self, w):
        """A timeout's deadline (timeout, timeout_at, reschedule) in the loop's
        time: one at or before the current tick must compare <= loop.time(),
        as it does in virtual time (the timeout then expires at once)."""
        if w is None:
            return None
        when = self.register(w)
        if w <= self.now():
            when = min(when, self.loop.time())
        self.whens[when] = w
        return when

    def ticks_of(self, when):
        """A deadline given back by asyncio (Timeout.when()), in ticks."""
        if when is None or self.t0 is None:
            return when
        if when in self.whens:
            return enc_number(self.whens[when])
        if when in self.targets:
            return enc_number(self.targets[when])
        return int(round((when - self.t0) / self.tick))

    def timed(self, when, callback):
        """callback, recording how late it runs after its deadline (or after
        now, for a deadline already past); a callback already timed is
        given back as it is."""
        if getattr(callback, "_aiospec_timed", False):
            return callback
        if self.t0 is None:
            self.start()
        due = max(when, self.loop.time())
        tick = self.targets.get(self.snap(when))
        if tick is None:
            tick = (when - self.t0) / self.tick

        def timed(*args):
            late = self.loop.time() - due
            if late > self.late:
                self.late = late
            if tick > self.timer_tick:
                self.timer_tick = tick
            return callback(*args)

        timed._aiospec_timed = True
        return timed

    def snap(self, when):
        """The deadline asked for that `when` stands for, if any is within a quarter tick."""
        best = None
        for g in self.targets:
            dist = abs(g - when)
            if dist <= self.tolerance and (best is None or dist < abs(best - when)):
                best = g
        return when if best is None else best


class Watchdog:
    """Deadlock detection on a loop whose selector the driver cannot see (a
    loop that is not a BaseEventLoop, e.g. uvloop), in real time.

    A thread wakes up every few milliseconds. The run is suspect once the
    main future is not done, real time is past the last deadline the driver
    asked for plus a grace period, and no event has been recorded for that
    grace period. A suspect run is confirmed from inside the loop: a probe
    queued with call_soon_threadsafe runs behind everything already ready,
    queues itself again a few times (behind whatever those callbacks made
    ready), and declares a deadlock (stopping the loop) only if no event was
    recorded and no deadline asked for in the meantime. A slow machine delays the
    probe along with the scenario's own callbacks, whose events then cancel
    the verdict; the thread keeps watching.
    """

    def __init__(self, loop, run, clock, grace):
        self.loop = loop
        self.run = run
        self.clock = clock
        self.grace = grace
        self.thread = None

    def start(self, fut):
        import threading
        self.fut = fut
        self.stopping = threading.Event()
        self.probed = threading.Event()
        self.thread = threading.Thread(target=self.watch, name="aiospec-watchdog", daemon=True)
        self.thread.start()

    def stop(self):
        if self.thread is not None:
            self.stopping.set()
            self.thread.join()
            self.thread = None

    def quiet_since(self):
        last = self.run.last_activity
        if self.clock.last_deadline is not None and self.clock.last_deadline > last:
            last = self.clock.last_deadline
        return last

    def watch(self):
        poll = min(0.02, self.grace / 4)
        while not self.stopping.wait(poll):
            if self.fut.done() or self.run.ended is not None:
                continue
            if time.monotonic() - self.quiet_since() < self.grace:
                continue
            self.probed.clear()
            mark = (len(self.run.events), self.clock.last_deadline)
            try:
                self.loop.call_soon_threadsafe(self.probe, mark)
            except RuntimeError:  # the loop is closed
                return
            while not self.probed.wait(poll):
                if self.stopping.is_set():
                    return

    PROBE_HOPS = 5

    def probe(self, mark, hops=0):
        """In the loop: if nothing happened since `mark`, queue itself again
        (behind whatever became ready meanwhile) until PROBE_HOPS hops have
        passed, then declare the deadlock."""
        done = True
        try:
            if (not self.fut.done() and self.run.ended is None
                    and (len(self.run.events), self.clock.last_deadline) == mark):
                if hops < self.PROBE_HOPS:
                    self.loop.call_soon(self.probe, mark, hops + 1)
                    done = False
                else:
                    self.run.ended = {"kind": "deadlock"}
                    self.loop.stop()
        finally:
            if done:
                self.probed.set()


# ---------------------------------------------------------------- encoding

def enc_number(x):
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x


_DEFAULT_TASK_NAME = re.compile(r"Task-([0-9]+)")


class Encoder:
    """Turns Python values into trace JSON, naming tasks consistently."""

    def __init__(self, name_base):
        self.name_base = name_base
        # A task's trace name by its Python name: a trace names each task
        # many times (about 18 times a scenario on generated ones).
        self.names = {}

    def task_name(self, task):
        if task is None:
            return None
        name = task.get_name()
        named = self.names.get(name)
        if named is None:
            m = _DEFAULT_TASK_NAME.fullmatch(name)
            named = self.names[name] = "Task-%d" % (int(m.group(1)) - self.name_base) if m else name
        return named

    def exc(self, e):
        out = {"type": type(e).__name__}
        if isinstance(e, GROUP_TYPES):
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
    "ensure_future": {"on": _DICT, "future": _STR},
    "unawaited": {"coro": _STR},
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
    # gc mode (see the garbage-collection section below)
    "gc": {},
    "drop": {"handle": _STR},
    "weakref": {"task": _STR, "ref": _STR},
    "inspect_weakref": {"ref": _STR},
}
NESTED_BODIES = ("body", "finally")
# What a callback body may do: it runs inside the loop, outside any task.
SYNC_OPS = {
    "log", "create_task", "cancel", "inspect", "raise", "create_future", "set_result", "set_exception",
    "result", "exception", "uncancel", "set_name", "current_task", "all_tasks", "add_done_callback",
    "remove_done_callback", "call_soon", "call_later", "call_at", "cancel_handle",
    "gc", "drop", "weakref", "inspect_weakref", "ensure_future", "unawaited",
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


# -- repeat (spec/scenario/repeat.ts has the same expansion; keep them alike)
MAX_REPEAT_TIMES = 100000
MAX_EXPANDED_STEPS = 1000000
REPEAT_NAME_FIELDS = {"label", "task", "future", "coro", "callback", "handle", "group", "cm", "name", "msg", "ref", "var"}
_REPEAT_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)((?:\s*[-+*%]\s*\d+)*)\s*\}")
_PLACEHOLDER_OP = re.compile(r"([-+*%])\s*(\d+)")


def _has_repeat(v):
    if isinstance(v, list):
        return any(_has_repeat(x) for x in v)
    if not isinstance(v, dict):
        return False
    if v.get("op") == "repeat" or "repeat" in v:
        return True
    return any(_has_repeat(x) for x in v.values())


def _json_key(path, key):
    if isinstance(key, int):
        return "%s[%d]" % (path, key)
    if re.match(r"^[A-Za-z_$][A-Za-z0-9_$]*$", key):
        return "%s.%s" % (path, key)
    return "%s[%s]" % (path, json.dumps(key))


def expand_scenario(scenario):
    """Write out every repeat step (and repeated awaitable), as
    spec/scenario/repeat.ts does; raise ScenarioError naming the JSON path."""
    if not isinstance(scenario, dict) or not _has_repeat(scenario):
        return scenario
    count = [0]

    def count_one(path):
        count[0] += 1
        if count[0] > MAX_EXPANDED_STEPS:
            raise ScenarioError("%s: the scenario expands to more than %d steps (repeats are bounded)" % (path, MAX_EXPANDED_STEPS))

    def subst(s, key, env, path):
        if not env or "{" not in s:
            return s
        whole = []

        def one(m):
            name = m.group(1)
            if name not in env:
                raise ScenarioError("%s: unknown repeat variable %r in %r" % (path, name, s))
            x = env[name]
            for op, n in _PLACEHOLDER_OP.findall(m.group(2)):
                n = int(n)
                if op == "+":
                    x += n
                elif op == "-":
                    x -= n
                elif op == "*":
                    x *= n
                else:
                    if n == 0:
                        raise ScenarioError("%s: modulo by zero in %r" % (path, m.group(0)))
                    x %= n
            if m.start() == 0 and m.end() == len(s):
                whole.append(x)
            return str(x)

        out = _PLACEHOLDER.sub(one, s)
        if whole and key not in REPEAT_NAME_FIELDS:
            return whole[0]
        return out

    def check_times(times, path, what):
        if isinstance(times, bool) or not isinstance(times, int) or not 0 <= times <= MAX_REPEAT_TIMES:
            raise ScenarioError("%s: %s must be an integer from 0 to %d" % (path, what, MAX_REPEAT_TIMES))

    def check_var(v, env, path):
        if not isinstance(v, str) or not _REPEAT_VAR.match(v):
            raise ScenarioError("%s: a repeat's var must be a name" % path)
        if v in env:
            raise ScenarioError("%s: repeat variable %r is already the variable of an enclosing repeat" % (path, v))

    def step_list(lst, path, env):
        if not isinstance(lst, list):
            return value(lst, None, path, env)
        out = []
        for i, st in enumerate(lst):
            step(st, _json_key(path, i), env, out)
        return out

    def step(st, path, env, out):
        if isinstance(st, dict) and st.get("op") == "repeat":
            for k in st:
                if k not in ("op", "times", "var", "body"):
                    raise ScenarioError("%s: unknown property %r (repeat step properties: op, times, var, body)" % (_json_key(path, k), k))
            check_times(st.get("times"), path + ".times", "a repeat's times")
            check_var(st.get("var"), env, path + ".var")
            if not isinstance(st.get("body"), list):
                raise ScenarioError("%s.body: a repeat needs a body: a list of steps" % path)
            for k in range(st["times"]):
                inner = dict(env)
                inner[st["var"]] = k
                for j, s in enumerate(st["body"]):
                    step(s, _json_key(path + ".body", j), inner, out)
            return
        count_one(path)
        out.append(value(st, None, path, env))

    def value(v, key, path, env):
        if isinstance(v, str):
            return subst(v, key, env, path)
        if isinstance(v, list):
            if key in ("gather", "wait", "on"):
                return awaitable_list(v, key, path, env)
            return [value(x, key, _json_key(path, i), env) for i, x in enumerate(v)]
        if not isinstance(v, dict):
            return v
        out = {}
        for k, x in v.items():
            p = _json_key(path, k)
            if k in ("body", "finally") and isinstance(x, list):
                out[k] = step_list(x, p, env)
            elif k == "except" and isinstance(x, list):
                out[k] = [value(h, None, _json_key(p, j), env) for j, h in enumerate(x)]
            else:
                out[k] = value(x, k, p, env)
        return out

    def awaitable_list(lst, key, path, env):
        out = []
        for i, item in enumerate(lst):
            p = _json_key(path, i)
            if isinstance(item, dict) and "repeat" in item:
                for k in item:
                    if k not in ("repeat", "var", "each"):
                        raise ScenarioError("%s: unknown property %r (a repeated awaitable has repeat, var, each)" % (_json_key(p, k), k))
                check_times(item.get("repeat"), p + ".repeat", "repeat")
                check_var(item.get("var"), env, p + ".var")
                if not isinstance(item.get("each"), dict):
                    raise ScenarioError("%s.each: a repeated awaitable needs each: an awaitable" % p)
                for k in range(item["repeat"]):
                    count_one(p)
                    inner = dict(env)
                    inner[item["var"]] = k
                    out.append(value(item["each"], None, p + ".each", inner))
            else:
                out.append(value(item, key, p, env))
        return out

    out = dict(scenario)
    for key in ("coroutines", "callbacks"):
        defs = scenario.get(key)
        if not isinstance(defs, list):
            continue
        out[key] = [
            dict(d, body=step_list(d["body"], "$.%s[%d].body" % (key, i), {}))
            if isinstance(d, dict) and isinstance(d.get("body"), list) else d
            for i, d in enumerate(defs)
        ]
    return out


# What check_scenario looks at beyond an op's fields, by op (one look-up
# per step instead of a chain of comparisons).
_CHECK_CORO = 1        # names a coroutine (call, create_task, unawaited)
_CHECK_CALLBACK = 2    # names a callback
_CHECK_AWAITABLE = 3   # awaits or wraps an awaitable (await, ensure_future)
_CHECK_AS_COMPLETED = 4
_CHECK_EXC = 5         # raises or sets an exception
_CHECK_TRY = 6
_CHECK_CANCEL = 7      # may give a message (feature cancel:msg)
_OP_CHECK = {
    "cancel": _CHECK_CANCEL,
    "call": _CHECK_CORO, "create_task": _CHECK_CORO, "unawaited": _CHECK_CORO,
    "add_done_callback": _CHECK_CALLBACK, "remove_done_callback": _CHECK_CALLBACK,
    "call_soon": _CHECK_CALLBACK, "call_later": _CHECK_CALLBACK, "call_at": _CHECK_CALLBACK,
    "await": _CHECK_AWAITABLE, "ensure_future": _CHECK_AWAITABLE,
    "as_completed": _CHECK_AS_COMPLETED,
    "raise": _CHECK_EXC, "set_exception": _CHECK_EXC,
    "try": _CHECK_TRY,
}
# The nested bodies scenario_features walks (the interpreter runs them); the
# others (a "body" on a log step, say) are checked but use no feature.
_FEATURE_BODIES = {"try": ("body", "finally"), "taskgroup": ("body",), "timeout": ("body",)}
# What check_scenario needs of each op, found with one look-up: its fields
# (STEP_FIELDS, as a tuple), its _OP_CHECK and its _FEATURE_BODIES.
_STEP_CHECKS = {op: (tuple(fields.items()), _OP_CHECK.get(op), _FEATURE_BODIES.get(op, ()))
                for op, fields in STEP_FIELDS.items()}


def _json_path(parts):
    """A JSON path from its parts, keys and indices: ("coroutines", 0, "body") -> "$.coroutines[0].body".
    check_scenario carries paths as parts and writes one out only for its error message."""
    return "$" + "".join("[%d]" % p if isinstance(p, int) else "." + p for p in parts)


def check_scenario(scenario):
    """Reject what the interpreter could not run, naming the JSON path.

    A scenario it accepts, it also surveys: the result is the set of features
    the scenario uses, those scenario_features finds, found in the same walk
    (the driver walks each request once; scenario_features, which skips
    malformed parts, is for the scenarios this function rejects)."""
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
    found = set()
    if scenario.get("eager"):
        found.add("eager")
    for i, c in enumerate(coros):
        _check_steps(c["body"], ("coroutines", i, "body"), True, names, cb_names, found)
    for i, c in enumerate(callbacks):
        _check_steps(c["body"], ("callbacks", i, "body"), True, names, cb_names, found)
        for j, st in enumerate(c["body"]):
            if st.get("op") not in SYNC_OPS:
                raise ScenarioError("%s.op: a callback runs synchronously; %r awaits" % (_json_path(("callbacks", i, "body", j)), st.get("op")))
    return found


def _check_steps(body, path, survey, names, cb_names, found):
    """check_scenario's walk of a step list. path: the list's, as parts;
    survey: whether its steps count as used features (see _FEATURE_BODIES),
    added to found; names, cb_names: the coroutines and callbacks defined."""
    for i, st in enumerate(body):
        if not isinstance(st, dict):
            raise ScenarioError("%s: a step must be an object" % _json_path(path + (i,)))
        op = st.get("op")
        known = _STEP_CHECKS.get(op)
        if known is None:
            raise ScenarioError("%s.op: unknown op %r" % (_json_path(path + (i,)), op))
        fields, check, bodies = known
        for field, types in fields:
            # The value's exact type: a request is parsed JSON, whose values
            # are of no subclass (so a bool, whose type is bool, is no int).
            if type(st.get(field)) not in types:
                raise ScenarioError("%s: missing or of the wrong type" % _json_path(path + (i, field)))
        if survey:
            found.add(op)
        if check is None:
            pass
        elif check == _CHECK_CANCEL:
            if survey and "msg" in st:
                found.add("cancel:msg")
        elif check == _CHECK_CORO:
            if st["coro"] not in names:
                raise ScenarioError("%s: no coroutine named %r" % (_json_path(path + (i, "coro")), st["coro"]))
            if op == "create_task" and "eager_start" in st:
                if not (st["eager_start"] is None or isinstance(st["eager_start"], bool)):
                    raise ScenarioError("%s: must be true, false or null" % _json_path(path + (i, "eager_start")))
                if survey:
                    found.add("create_task:eager_start")
        elif check == _CHECK_CALLBACK:
            if st["callback"] not in cb_names:
                raise ScenarioError("%s: no callback named %r" % (_json_path(path + (i, "callback")), st["callback"]))
        elif check == _CHECK_AWAITABLE:
            _check_awaitable(st["on"], path + (i, "on"), names)
            if survey:
                _awaitable_features(st["on"], found)
        elif check == _CHECK_AS_COMPLETED:
            for j, a in enumerate(st["on"]):
                _check_awaitable(a, path + (i, "on", j), names)
            if survey:
                if st.get("mode") == "async":
                    found.add("as_completed:async")
                for a in st["on"]:
                    _awaitable_features(a, found)
        elif check == _CHECK_EXC:
            _check_exc(st["exc"], path + (i, "exc"))
            if survey and _uses_group(st["exc"]):
                found.add("exception_group")
        else:  # try
            handlers = st.get("except", [])
            if st.get("star"):
                if not 1 <= len(handlers) <= MAX_STAR_CLAUSES:
                    raise ScenarioError("%s: a try with except* needs 1 to %d clauses" % (_json_path(path + (i, "except")), MAX_STAR_CLAUSES))
                for j, h in enumerate(handlers):
                    if isinstance(h, dict) and contains_return(h.get("body", [])):
                        raise ScenarioError("%s: 'return' cannot appear in an except* block" % _json_path(path + (i, "except", j, "body")))
                if survey:
                    found.add("except*")
            for j, h in enumerate(handlers):
                if not isinstance(h, dict) or h.get("type") not in EXCEPTION_TYPES:
                    raise ScenarioError("%s: unknown exception type" % _json_path(path + (i, "except", j, "type")))
                if survey and h["type"] in GROUP_NAMES:
                    found.add("exception_group")
                _check_steps(h.get("body", []), path + (i, "except", j, "body"), survey, names, cb_names, found)
        if "body" in st or "finally" in st:
            for key in NESTED_BODIES:
                if isinstance(st.get(key), list):
                    _check_steps(st[key], path + (i, key), survey and key in bodies, names, cb_names, found)


def _check_exc(e, path):
    """check_scenario's check of an exception a step raises or sets."""
    t = e.get("type") if isinstance(e, dict) else None
    if t not in EXCEPTION_TYPES or t in ("Exception", "BaseException"):
        raise ScenarioError("%s: cannot raise %r" % (_json_path(path + ("type",)), t))
    if t in ("ExceptionGroup", "BaseExceptionGroup"):
        subs = e.get("exceptions")
        if not isinstance(subs, list) or not subs:
            raise ScenarioError("%s: an exception group needs at least one exception" % _json_path(path + ("exceptions",)))
        for j, x in enumerate(subs):
            _check_exc(x, path + ("exceptions", j))
            if t == "ExceptionGroup" and not issubclass(EXCEPTION_TYPES[x["type"]], Exception):
                raise ScenarioError("%s: an ExceptionGroup holds only Exceptions" % _json_path(path + ("exceptions", j)))


def _check_awaitable(a, path, names):
    """check_scenario's check of an awaitable (the first kind it has decides)."""
    if not isinstance(a, dict):
        raise ScenarioError("%s: must be an object" % _json_path(path))
    if isinstance(a.get("task"), str):
        return
    if isinstance(a.get("coro"), str):
        if a["coro"] not in names:
            raise ScenarioError("%s: no coroutine named %r" % (_json_path(path + ("coro",)), a["coro"]))
        return
    if isinstance(a.get("sleep"), _NUM):
        return
    for key in ("gather", "wait"):
        if isinstance(a.get(key), list):
            for j, p in enumerate(a[key]):
                _check_awaitable(p, path + (key, j), names)
            return
    for key in ("shield", "wait_for"):
        if key in a:
            return _check_awaitable(a[key], path + (key,), names)
    raise ScenarioError("%s: unknown awaitable" % _json_path(path))


# Task handles no step binds: the running task and the main task (spec/scenario/validate.ts SELF_HANDLES).
SELF_HANDLES = ("$current", "$main")


class PinnedCoroutine(collections.abc.Coroutine):
    """A coroutine object with a pinned hash (see Run.pin_coroutine);
    asyncio takes it for a coroutine (collections.abc.Coroutine)."""

    __slots__ = ("_coro", "_aiospec_hash")

    def __init__(self, coro, h):
        self._coro = coro
        self._aiospec_hash = h

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


class _NeverRaised(BaseException):
    """Stands in for an absent except* clause (never raised)."""


class Run:
    """One scenario's execution: the handle tables, the events, the loop."""

    def __init__(self, scenario, loop, enc, clock=None):
        self.loop = loop
        self.enc = enc
        # Real-time mode: a RealClock, else None (virtual time: the loop's).
        self.clock = clock
        # How a run was ended from outside run_until_complete (the watchdog,
        # the event cap), else None.
        self.ended = None
        self.last_activity = time.monotonic()
        self.event_cap = None
        self.events = []
        self.handles = {}    # task and future handles
        self.groups = {}     # TaskGroup handles
        self.cms = {}        # timeout context manager handles
        self.timers = {}     # call_soon / call_later / call_at handles
        # Once the trace is taken, nothing more is recorded: coroutines of
        # tasks left pending are closed when the garbage collector gets to
        # them, which is not part of the scenario's run.
        self.closed = False
        # Whether emit records nothing: closed, or a gc step collecting.
        self.quiet = False
        self.coroutines = {c["name"]: c["body"] for c in scenario["coroutines"]}
        self.callbacks = {c["name"]: c["body"] for c in scenario.get("callbacks", [])}
        self.callback_fns = {}
        # gc mode: a GcState (see "garbage collection" below), else None.
        self.gc = None
        self.names = enc.names  # the Encoder's task names, for emit

    # -- events
    def emit(self, ev, **fields):
        """Record an event: ev, its fields, the time and the current task's name.
        (About 20 events a scenario: enc_number and the common case of
        Encoder.task_name are written out here.)"""
        if self.quiet:
            return
        try:
            current = current_task_of(self.loop)
        except RuntimeError:
            current = None
        if self.clock is None:
            now = self.loop._now  # the virtual clock's loop.time()
            if isinstance(now, float) and now.is_integer():
                now = int(now)
        else:
            now = enc_number(self.clock.now())
            if now > self.clock.timer_tick:
                self.clock.drifted = True
            self.last_activity = time.monotonic()
            if self.event_cap is not None and len(self.events) >= self.event_cap and self.ended is None:
                self.ended = {"kind": "iteration_limit"}
                self.loop.stop()
        if current is not None:
            name = self.names.get(current.get_name())
            current = self.enc.task_name(current) if name is None else name
        # fields, a dict of this call's own, becomes the event (no field is
        # named time, task or ev).
        fields["time"] = now
        fields["task"] = current
        fields["ev"] = ev
        self.events.append(fields)

    def delay(self, d):
        """A scenario's relative delay (ticks) as asyncio takes it."""
        return d if self.clock is None else self.clock.delay(d)

    # -- coroutines
    async def coroutine(self, name):
        body = self.coroutines[name]
        self.emit("enter", coro=name)
        try:
            r = await self.steps(body)
        except BaseException as e:
            self.emit("exit", coro=name, exc=self.enc.exc(e))
            raise
        if isinstance(r, Return):
            value = r.value
            self.emit("exit", coro=name, value=self.enc.value(value))
        else:
            value = None
            self.emit("exit", coro=name, value=None)
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
        if table is None and ref in SELF_HANDLES:
            # "$current": asyncio.current_task() (None in a callback); "$main": the main task.
            obj = getattr(self, "main_task", None) if ref == "$main" else asyncio.current_task(self.loop)
        else:
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
            return asyncio.sleep(self.delay(spec["sleep"]), spec.get("result"))
        if "gather" in spec:
            parts = self.awaitables(spec["gather"])
            return asyncio.gather(*parts, return_exceptions=bool(spec.get("return_exceptions", False)))
        if "shield" in spec:
            inner = self.awaitable(spec["shield"])
            return None if inner is None else asyncio.shield(inner)
        if "wait_for" in spec:
            inner = self.awaitable(spec["wait_for"])
            return None if inner is None else asyncio.wait_for(inner, self.delay(spec["timeout"]))
        if "wait" in spec:
            parts = self.awaitables(spec["wait"])
            return self.wait(parts, self.delay(spec.get("timeout")), spec.get("return_when", "ALL_COMPLETED"))
        raise ScenarioError("unknown awaitable %r" % (sorted(spec),))

    def pin_coroutine(self, coro):
        """as_completed makes a set of its inputs and wraps the coroutines in
        tasks in the set's order: give the coroutine a pinned hash (from the
        loop's counter, as tasks and futures get theirs) so that order, and
        the tasks' names, are the same from run to run."""
        return PinnedCoroutine(coro, self.loop.next_hash())

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
        if cls is not None and cls in (_EG, _BEG):
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
        handler = _OP_HANDLERS.get(s["op"])
        if handler is None:
            raise ScenarioError("unknown op %r" % (s["op"],))
        op, awaits = handler
        r = op(self, s)
        if awaits:
            r = await r
        return r

    # -- the ops (one method each; coroutines where the op awaits)
    def op_log(self, s):
        self.emit("log", label=s["label"])

    async def op_sleep(self, s):
        ticks = s["ticks"]
        await asyncio.sleep(ticks if self.clock is None else self.clock.delay(ticks))

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
        # eager_start only when the step gives it: before 3.14 the keyword
        # is a TypeError, which is then the behaviour to record.
        kwargs = {"eager_start": s["eager_start"]} if "eager_start" in s else {}
        if "group" in s:
            group = self.lookup(s["group"], self.groups)
            if group is None:
                return None
            coro = self.coroutine(s["coro"])
            try:
                task = group.create_task(coro, name=s.get("name"), **kwargs)
            except BaseException:
                coro.close()  # 3.13 closes it itself; earlier versions leave it unawaited
                raise
        else:
            coro = self.coroutine(s["coro"])
            try:
                task = asyncio.create_task(coro, name=s.get("name"), **kwargs)
            except TypeError:
                coro.close()  # refused before it became a task (eager_start before 3.14)
                raise
        self.handles[s["task"]] = task
        self.emit("create_task", ref=s["task"], name=self.enc.task_name(task))

    def op_cancel(self, s):
        fut = self.lookup(s["task"])
        if fut is not None:
            returned = fut.cancel(s["msg"]) if "msg" in s else fut.cancel()  # msg: 3.9+ (feature cancel:msg)
            self.emit("cancel", ref=s["task"], returned=returned)

    def op_inspect(self, s):
        fut = self.lookup(s["task"])
        if fut is not None:
            fields = {"done": fut.done(), "cancelled": fut.cancelled()}
            if isinstance(fut, TASK_TYPES):
                if hasattr(fut, "cancelling"):  # 3.11+
                    fields["cancelling"] = fut.cancelling()
                fields["name"] = self.enc.task_name(fut)
            self.emit("inspect", ref=s["task"], **fields)

    def op_raise(self, s):
        raise self.make_exception(s["exc"])

    def op_return(self, s):
        return Return(s.get("value"))

    def op_ensure_future(self, s):
        # A future stays itself (gather's, shield's, a handle's); a coroutine
        # becomes a task of loop.create_task.
        aw = self.awaitable(s["on"])
        if aw is not None:
            fut = asyncio.ensure_future(aw)
            self.handles[s["future"]] = fut
            self.emit("ensure_future", ref=s["future"], future=self.enc.value(fut))

    def op_unawaited(self, s):
        # C() as a statement: a coroutine object made and dropped, never
        # awaited. Its finalizer warns "coroutine ... was never awaited"
        # (_warn_unawaited below turns that into a never_awaited event):
        # at once by reference counting, or in gc mode when a collection
        # releases it from the limbo.
        coro = self.coroutine(s["coro"])
        _UNAWAITED[id(coro)] = (self, s["coro"])
        if self.gc is not None:
            self.gc.limbo.append(coro)
        del coro

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
        delay = s["delay"]
        if self.clock is None:
            handle = self.loop.call_later(delay, self.callback(s["callback"]))
        elif getattr(self.loop, "_aiospec_relative_timers", False):
            # A loop whose call_at is call_later(when - time()) (the
            # WebLoop): call_later is its own operation, given the delay to
            # the deadline on the grid (0 stays 0, a negative one negative).
            handle = self.loop.call_later(self.clock.delay(delay), self.callback(s["callback"]))
        else:
            # call_later is call_at(time() + delay) for every delay, 0 and
            # negative ones too: on the grid, the deadline is the current
            # tick plus the delay. (A call_later(0) left to the loop's clock
            # would snap to the current tick only while real time is within
            # a quarter tick of it; on a loaded machine it lands later, and
            # among many timers due at one tick the heap then orders it
            # differently from virtual time.)
            handle = self.loop.call_at(self.clock.at(self.clock.now() + delay), self.callback(s["callback"]))
        self.bind_timer(s, handle)

    def op_call_at(self, s):
        when = s["when"] if self.clock is None else self.clock.at(s["when"])
        self.bind_timer(s, self.loop.call_at(when, self.callback(s["callback"])))

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
        if self.clock is None:
            cm = asyncio.timeout_at(delay) if s.get("at") else asyncio.timeout(delay)
        else:
            w = delay if (delay is None or s.get("at")) else self.clock.now() + delay
            cm = asyncio.timeout_at(self.clock.deadline(w))
        if "cm" in s:
            self.cms[s["cm"]] = cm
        async with cm:
            return await self.steps(s["body"])

    def op_reschedule(self, s):
        cm = self.lookup(s["cm"], self.cms)
        if cm is not None:
            delay = s["delay"]
            if self.clock is None:
                when = delay if (delay is None or s.get("at")) else self.loop.time() + delay
            else:
                when = self.clock.deadline(delay if (delay is None or s.get("at")) else self.clock.now() + delay)
            cm.reschedule(when)

    def op_inspect_timeout(self, s):
        cm = self.lookup(s["cm"], self.cms)
        if cm is not None:
            when = self.enc.value(cm.when()) if self.clock is None else self.clock.ticks_of(cm.when())
            self.emit("inspect_timeout", ref=s["cm"], when=when, expired=cm.expired())

    async def op_as_completed(self, s):
        parts = [self.pin_coroutine(p) if "coro" in spec else p
                 for spec, p in ((spec, self.awaitable(spec)) for spec in s["on"]) if p is not None]
        timeout = self.delay(s.get("timeout"))
        if s.get("mode") == "async":
            async for fut in asyncio.as_completed(parts, timeout=timeout):
                self.emit("as_completed", item=self.enc.value(fut))
                await self.await_recorded("as_completed", fut)
        else:
            for aw in asyncio.as_completed(parts, timeout=timeout):
                await self.await_recorded("as_completed", aw)

    # -- gc mode: weak references and garbage collection (GcState below)
    def op_gc(self, s):
        self.gc.collect(self)

    def op_drop(self, s):
        if self.lookup(s["handle"]) is not None:
            self.gc.limbo.append(self.handles.pop(s["handle"]))

    def op_weakref(self, s):
        obj = self.lookup(s["task"])
        if obj is not None:
            self.gc.weakrefs[s["ref"]] = weakref.ref(obj)
            self.gc.seen.pop(s["ref"], None)

    def op_inspect_weakref(self, s):
        ref = self.lookup(s["ref"], self.gc.weakrefs)
        if ref is not None:
            # As of the last collection (GcState): alive unless a gc step found it dead.
            self.emit("weakref", ref=s["ref"], alive=self.gc.seen.get(s["ref"], True))

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
        # try / except / finally. The finally part is written as an except
        # BaseException clause plus the normal path, not as `finally:`, because
        # a `return` in a finally block is a SyntaxWarning from Python 3.14 on
        # (PEP 765); the behaviour is the same: a `return` in the scenario's
        # finally body replaces whatever was leaving the block.
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
        except BaseException:
            final = await self.steps(s.get("finally", []))
            if isinstance(final, Return):
                return final
            raise
        final = await self.steps(s.get("finally", []))
        if isinstance(final, Return):
            return final
        return result

    async def try_star(self, s):
        """try / except* / finally, with Python's own except* machinery (in
        aiospec_star.py: except* is a SyntaxError before Python 3.11).

        Clauses are real `except*` clauses whose types are computed; unused
        ones name an exception that is never raised. Handler bodies cannot
        `return` (Python forbids it in except*; the validator rejects it).
        """
        handlers = list(s.get("except", []))
        if len(handlers) > MAX_STAR_CLAUSES:
            raise ScenarioError("at most %d except* clauses" % MAX_STAR_CLAUSES)
        types = [EXCEPTION_TYPES[h["type"]] for h in handlers]
        types += [_NeverRaised] * (MAX_STAR_CLAUSES - len(types))
        if _star is None:
            raise ScenarioError("except* needs Python 3.11 or later")
        return await _star.try_star(self, s, handlers, types, lambda r: isinstance(r, Return))

    async def star_handler(self, handler, eg):
        """Run an except* handler body; say whether to re-raise (a bare raise, in the clause itself)."""
        self.emit("caught", exc=self.enc.exc(eg))
        await self.steps(handler.get("body", []))
        return bool(handler.get("reraise"))


# Each op's method, and whether it is a coroutine function (the op awaits), by op name.
_OP_HANDLERS = {name[3:]: (fn, inspect.iscoroutinefunction(fn)) for name, fn in vars(Run).items() if name.startswith("op_")}


def run_sync(coro):
    """Run a coroutine that never suspends (a callback body) to completion."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise ScenarioError("a callback body awaited")


# ---------------------------------------------------------------- garbage collection

GC_OPS = ("gc", "drop", "weakref", "inspect_weakref")


def _names_gc_op(text):
    """Whether a request's text may name one of GC_OPS (as a JSON string):
    three searches of the text, since 'weakref"' finds "weakref" and
    "inspect_weakref" both (keep it in step with GC_OPS)."""
    return '"gc"' in text or '"drop"' in text or 'weakref"' in text


def uses_gc(scenario):
    """Whether a scenario runs in gc mode (it uses one of GC_OPS anywhere)."""
    def walk(v):
        if isinstance(v, list):
            return any(walk(x) for x in v)
        if isinstance(v, dict):
            return v.get("op") in GC_OPS or any(walk(x) for x in v.values())
        return False
    return walk(scenario.get("coroutines", [])) or walk(scenario.get("callbacks", []))


class _WeakTaskList:
    """loop.created_tasks in gc mode: the tasks the loop made, in creation
    order, held weakly (collected ones are left out)."""

    def __init__(self):
        self._refs = []

    def append(self, task):
        self._refs.append(weakref.ref(task))

    def __iter__(self):
        return iter([t for t in (r() for r in self._refs) if t is not None])


class _HandleTable(dict):
    """Run.handles in gc mode: a handle bound again lets go of its old object
    into the limbo, as drop does."""

    def __init__(self, limbo):
        super().__init__()
        self.limbo = limbo

    def __setitem__(self, key, value):
        old = self.get(key)
        if old is not None and old is not value:
            self.limbo.append(old)
        super().__setitem__(key, value)


class GcState:
    """What gc mode adds to a run (docs/scenario-language.md, "Garbage collection").

    CPython frees most objects by reference counting the moment the last
    reference goes, and the rest (cycles: every pending task is in one) when
    the collector runs. To make both observable at the same, well-defined
    places, automatic collection is off during the run, objects the scenario
    lets go of (drop, a handle bound again) wait in `limbo`, and only a gc
    step (and the end of the main run) releases the limbo and runs
    gc.collect(). The exception handler's reports about destroyed objects
    ("Task was destroyed but it is pending!", "... exception was never
    retrieved") are collected meanwhile and recorded after the collection,
    ordered by the objects' creation numbers (their pinned hashes). Only
    reports about tasks and futures made by loop.create_task /
    loop.create_future count; events the scenario's coroutines would emit
    while the collector closes them are not recorded.
    """

    def __init__(self):
        self.limbo = []
        self.weakrefs = {}
        self.reports = []
        # Scenario coroutines found never awaited while the limbo was released.
        self.never_awaited = []
        self.collecting = False
        # What each weak reference read at the last collection: inspect_weakref
        # reports that, not the moment's state, since between collections
        # reference counting frees objects at times the reference does not model.
        self.seen = {}

    def report(self, ctx, fields, enc):
        obj = ctx.get("task") if ctx.get("task") is not None else ctx.get("future")
        number = getattr(obj, "_aiospec_hash", None)
        if number is None:
            return
        fields["of"] = enc.value(obj)
        self.reports.append((number, fields))

    def collect(self, run):
        self.collecting = run.quiet = True
        try:
            while self.limbo:
                self.limbo.pop(0)
            gc.collect()
        finally:
            self.collecting = False
            run.quiet = run.closed
        self.seen = {name: r() is not None for name, r in self.weakrefs.items()}
        never_awaited, self.never_awaited = self.never_awaited, []
        for name in never_awaited:
            run.emit("never_awaited", coro=name)
        reports, self.reports = self.reports, []
        for _, fields in sorted(reports, key=lambda r: r[0]):
            run.emit("exception_handler", **fields)


# ---------------------------------------------------------------- never-awaited coroutines

# Coroutine objects made by `unawaited` steps, by id while they live: the
# Run that made them and the scenario coroutine's name.
_UNAWAITED = {}
_warn_unawaited_default = getattr(warnings, "_warn_unawaited_coroutine", None)


def _warn_unawaited(coro):
    """CPython calls warnings._warn_unawaited_coroutine(coro) when a
    coroutine that never ran is finalized (the RuntimeWarning "coroutine ...
    was never awaited"). For a coroutine of an `unawaited` step, record a
    never_awaited event instead, deterministically: at once, or in gc mode
    after the collection that released it. Other coroutines warn as usual."""
    made = _UNAWAITED.pop(id(coro), None)
    if made is None:
        if _warn_unawaited_default is not None:
            _warn_unawaited_default(coro)
        return
    run, name = made
    if run.gc is not None and run.gc.collecting:
        run.gc.never_awaited.append(name)
    else:
        run.emit("never_awaited", coro=name)


warnings._warn_unawaited_coroutine = _warn_unawaited


# ---------------------------------------------------------------- one scenario

_probe_loop = None


def name_base(task_class):
    """The default-name counter of CPython's Task is process-wide; find where
    it stands so that default names read Task-1, Task-2, ... in every run."""
    global _probe_loop
    if _probe_loop is None:
        # A plain BaseEventLoop, never run: under Pyodide
        # asyncio.new_event_loop() is a WebLoop, which has no _ready.
        _probe_loop = _ProbeLoop()
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


def run_loop(loop, run, fut, phase, watchdog=None):
    """Run the loop until fut is done; say how the run ended."""
    if watchdog is not None:
        watchdog.start(fut)
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
        if run.ended is not None:
            # The watchdog or the event cap stopped the loop.
            return run.ended
        return {"kind": "error", "exc": run.enc.exc(e)}
    finally:
        if watchdog is not None:
            watchdog.stop()


def task_class_for(options):
    """The pinned Task class a request asks for ({"task": "py"}: the pure-Python Task)."""
    if options.get("task") == "py":
        if PY_TASK is None:
            raise Unsupported("the pure-Python Task (asyncio.tasks._PyTask) is not available on %s" % python_description())
        return pinned_class(PY_TASK)
    return pinned_class(asyncio.Task)


def drive(steps):
    """What a generator of loop runs (scenario_steps, real_time_steps,
    request_steps) returns, on a loop the driver runs itself: there the
    generator runs each run with run_loop and yields nothing. (A loop that
    cannot block, Pyodide's WebLoop, has each run yielded to its host, which
    awaits it: aiospec_webloop.py.)"""
    try:
        next(steps)
    except StopIteration as stop:
        return stop.value
    raise RuntimeError("a loop its host must await (--loop webloop) cannot be run here")


def loop_run(awaited, loop, run, fut, phase, watchdog):
    """One run of the loop until fut is done, as a generator: run_loop's,
    or, on a loop its host awaits, yielded to the host, which sends back
    how it ended."""
    if awaited:
        return (yield (loop, run, fut, phase, watchdog))
    return run_loop(loop, run, fut, phase, watchdog)


def run_scenario(scenario, options, stats=None, maybe_gc=True, checked=False):
    """Run one scenario, return its trace. In real time, `stats` (a dict)
    receives how far the run strayed from the tick grid: "late" (seconds)
    and "drifted" (see RealClock). maybe_gc=False: the caller knows the
    scenario uses no gc op (its request's text names none). checked=True:
    the caller has had check_scenario accept it."""
    return drive(scenario_steps(scenario, options, stats, maybe_gc, checked))


def scenario_steps(scenario, options, stats=None, maybe_gc=True, checked=False):
    """run_scenario as a generator: it returns the trace. Each run of the
    loop it needs is run_loop's, except on a loop its host awaits (the
    WebLoop): there it yields the run, (loop, run, future, phase, watchdog),
    and is sent how the run ended (what run_loop would return)."""
    cfg = current_config()
    task_class = task_class_for(options)
    if not checked:
        check_scenario(scenario)
    eager = bool(scenario.get("eager"))
    if eager and not hasattr(asyncio, "create_eager_task_factory"):
        raise ScenarioError("eager tasks need Python 3.12 or later")
    loop, clock = cfg.new_loop(task_class, pinned_class(asyncio.Future), eager)
    # Where the default-name counter stands: an eager main task runs (and
    # names tasks) while it is made, so a probe finds it first; otherwise
    # the main task's own default name says it (below), without a probe.
    enc = Encoder(name_base(task_class) if eager else None)

    def handler(lp, ctx):
        message = str(ctx.get("message"))
        # Reports made when an object is destroyed depend on when the
        # garbage collector runs; they belong to the gc part of the language.
        if "never retrieved" in message or "destroyed but it is pending" in message:
            if run.gc is not None:
                fields = {"message": message}
                if ctx.get("exception") is not None:
                    fields["exc"] = enc.exc(ctx["exception"])
                run.gc.report(ctx, fields, enc)
            return
        if message.startswith("Exception in callback"):
            message = "Exception in callback"  # the callback's repr is implementation detail
        fields = {"message": normalize_message(message)}
        if ctx.get("exception") is not None:
            fields["exc"] = enc.exc(ctx["exception"])
        run.emit("exception_handler", **fields)

    loop.set_exception_handler(handler)
    run = Run(scenario, loop, enc, clock)
    gc_was_enabled = gc.isenabled()
    if maybe_gc and uses_gc(scenario):
        # gc mode: no automatic collection during the run (GcState).
        gc.collect()
        gc.disable()
        run.gc = GcState()
        run.handles = _HandleTable(run.gc.limbo)
        loop.created_tasks = _WeakTaskList()
    watchdog = None
    if clock is not None and not isinstance(loop, asyncio.BaseEventLoop):
        # No selector of ours to see a deadlock or count iterations.
        watchdog = getattr(cfg, "watchdog_class", Watchdog)(loop, run, clock, cfg.grace)
        run.event_cap = MAX_REAL_EVENTS
    if "main" not in run.coroutines:
        raise ScenarioError("no coroutine named 'main'")
    # Pyodide marks its own WebLoop as running; no loop may run inside
    # another. Elsewhere there is no running loop here: this changes nothing.
    # A loop its host awaits (--loop webloop) is never run by the driver: it
    # is the running loop from the start, as an eager main task needs.
    outer_loop = asyncio.events._get_running_loop()
    awaited = getattr(cfg, "awaited", False)
    asyncio.events._set_running_loop(loop if awaited else None)
    try:
        main = loop.create_task(run.coroutine("main"))
        if enc.name_base is None:
            # The first task of the run, named by the counter: Task-1.
            m = _DEFAULT_TASK_NAME.fullmatch(main.get_name())
            enc.name_base = int(m.group(1)) - 1 if m else name_base(task_class)
        run.main_task = main
        end = yield from loop_run(awaited, loop, run, main, "main", watchdog)
        if run.gc is not None:
            run.gc.collect(run)
        refs = handle_names(run)
        tasks = []
        for t in loop.created_tasks:
            outcome = task_state(enc, t)
            outcome["name"] = enc.task_name(t)
            outcome["ref"] = refs.get(id(t))
            tasks.append(outcome)
        main_state = task_state(enc, main)
        # Shut down as asyncio.run does, but deterministically: cancel the
        # remaining tasks in creation order and wait for them.
        pending = [t for t in loop.created_tasks if not t.done()]
        shutdown = None
        if pending and end["kind"] in ("complete", "interrupted"):
            run.emit("shutdown")
            for t in pending:
                t.cancel()
            gathered = asyncio.gather(*pending, return_exceptions=True)
            shutdown = yield from loop_run(awaited, loop, run, gathered, "shutdown", watchdog)
        run.closed = run.quiet = True
        trace = {
            "events": list(run.events),
            "end": end,
            "main": main_state,
            "tasks": tasks,
        }
        if shutdown is not None:
            trace["shutdown"] = shutdown
        if clock is not None and stats is not None:
            stats["late"] = clock.late
            stats["drifted"] = clock.drifted
        return trace
    finally:
        loop.set_exception_handler(lambda lp, ctx: None)
        run.closed = run.quiet = True
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
        asyncio.events._set_running_loop(outer_loop)
        if gc_was_enabled:
            gc.enable()


def handle_names(run):
    """The first handle (in the scenario's order) naming each object, by id:
    one pass over the handles, not one per task (which made a trace of
    10,000 tasks cost 100 million comparisons)."""
    names = {}
    for ref, obj in run.handles.items():
        names.setdefault(id(obj), ref)
    return names


# ---------------------------------------------------------------- features

# What each Python version lacks, as the harness names scenario features
# (spec/scenario/validate.ts FEATURES / FEATURE_VERSIONS).
FEATURES_SINCE = (
    ((3, 9), ("cancel:msg",)),
    ((3, 11), ("taskgroup", "new_taskgroup", "timeout", "reschedule", "inspect_timeout", "uncancel",
               "except*", "exception_group")),
    ((3, 12), ("eager",)),
    ((3, 13), ("as_completed:async",)),
)
AWAITABLE_KINDS = ("task", "coro", "sleep", "gather", "shield", "wait_for", "wait")


def version_unsupported():
    """The features this Python lacks, oldest first."""
    out = []
    for since, features in FEATURES_SINCE:
        if PY < since:
            out.extend(features)
    return out


def _uses_group(e):
    if not isinstance(e, dict):
        return False
    if e.get("type") in GROUP_NAMES:
        return True
    subs = e.get("exceptions")
    return isinstance(subs, list) and any(_uses_group(x) for x in subs)


def _awaitable_features(a, found):
    """Add to found the features an awaitable uses (its parts that are malformed skipped)."""
    if not isinstance(a, dict):
        return
    for kind in AWAITABLE_KINDS:
        if kind in a:
            found.add(kind)
            break
    for key in ("gather", "wait"):
        if isinstance(a.get(key), list):
            for x in a[key]:
                _awaitable_features(x, found)
    for key in ("shield", "wait_for"):
        if key in a:
            _awaitable_features(a[key], found)


def scenario_features(scenario):
    """The features a scenario uses, sorted, as spec/scenario/validate.ts
    scenarioFeatures names them. Malformed parts are skipped (check_scenario
    reports them, and surveys the scenarios it accepts in the same walk)."""
    found = set()
    if scenario.get("eager"):
        found.add("eager")

    def awaitable(a):
        _awaitable_features(a, found)

    def walk(body):
        if not isinstance(body, list):
            return
        for st in body:
            if not isinstance(st, dict):
                continue
            op = st.get("op")
            if isinstance(op, str):
                found.add(op)
            if op == "try":
                if st.get("star"):
                    found.add("except*")
                handlers = st.get("except") if isinstance(st.get("except"), list) else []
                if any(isinstance(h, dict) and h.get("type") in GROUP_NAMES for h in handlers):
                    found.add("exception_group")
                walk(st.get("body"))
                for h in handlers:
                    if isinstance(h, dict):
                        walk(h.get("body"))
                walk(st.get("finally"))
            elif op in ("taskgroup", "timeout"):
                walk(st.get("body"))
            elif op == "as_completed":
                if st.get("mode") == "async":
                    found.add("as_completed:async")
                for a in st.get("on") if isinstance(st.get("on"), list) else []:
                    awaitable(a)
            elif op == "cancel" and "msg" in st:
                found.add("cancel:msg")
            elif op == "create_task" and "eager_start" in st:
                found.add("create_task:eager_start")
            elif op in ("raise", "set_exception") and _uses_group(st.get("exc")):
                found.add("exception_group")
            elif op in ("await", "ensure_future"):
                awaitable(st.get("on"))

    for key in ("coroutines", "callbacks"):
        items = scenario.get(key)
        for c in items if isinstance(items, list) else []:
            if isinstance(c, dict):
                walk(c.get("body"))
    return sorted(found)


# ---------------------------------------------------------------- configuration

class UsageError(Exception):
    """A command line the driver refuses (exit code 2, before the hello)."""


class Unsupported(Exception):
    """A request this Python or loop cannot run: an error reply, not a crash."""


def python_description():
    return "%s %s" % (platform.python_implementation(), platform.python_version())


def _dist_version(*names):
    try:
        from importlib import metadata
    except ImportError:  # 3.7
        return None
    for name in names:
        try:
            return metadata.version(name)
        except Exception:
            pass
    return None


def _import(what, module, hint=""):
    import importlib
    try:
        return importlib.import_module(module)
    except BaseException as e:  # ImportError, or whatever the module raises
        raise UsageError("%s: cannot import %s (%s: %s)%s" % (what, module, type(e).__name__, e, hint))


_FACTORY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*):([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)$")


class Config:
    """How the driver runs scenarios: which loop, which clock."""

    def __init__(self, loop="asyncio", clock="virtual", tick_ms=None, make_loop=None, loop_version=None,
                 nest=None, base=True):
        self.loop = loop              # the name in the hello
        self.clock = clock            # "virtual" | "real"
        self.tick_ms = tick_ms        # real clock only
        self.make_loop = make_loop    # a factory of loops made elsewhere (uvloop, MODULE:FACTORY)
        self.loop_version = loop_version
        self.nest = nest              # the nest_asyncio module, for --loop nest_asyncio
        self.base = base              # the loop is an asyncio.BaseEventLoop
        tick = (tick_ms or DEFAULT_TICK_MS) / 1000.0
        # The watchdog's grace period (loops that are not a BaseEventLoop).
        self.grace = max(0.3, 10 * tick)
        self._unsupported = None

    def unsupported(self):
        """{feature: where}: what this Python and this loop cannot run."""
        if self._unsupported is None:
            where = "Python %d.%d" % PY
            self._unsupported = {f: where for f in version_unsupported()}
        return self._unsupported

    def new_loop(self, task_class, future_class, eager):
        """A fresh loop for one scenario, and its RealClock (None in virtual time)."""
        if self.make_loop is None:
            if self.clock == "virtual":
                loop = VirtualTimeLoop(task_class, future_class)
                if eager:
                    loop.use_eager_tasks()
            else:
                loop = adapt_base_loop(asyncio.SelectorEventLoop(), False, task_class, future_class, eager)
            if self.nest is not None:
                self.nest.apply(loop)
        else:
            loop = self.make_loop()
            if isinstance(loop, asyncio.BaseEventLoop):
                loop = adapt_base_loop(loop, self.clock == "virtual", task_class, future_class, eager)
            else:
                loop = adapt_foreign_loop(loop, task_class, future_class, eager)
        if self.clock == "virtual":
            return loop, None
        clock = RealClock(loop, self.tick_ms / 1000.0)
        loop._aiospec_clock = clock
        if not isinstance(loop, asyncio.BaseEventLoop):
            _time_foreign_timers(loop, clock)
        return loop, clock


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _positive_ms(text):
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not (v > 0 and v < float("inf")):
        raise argparse.ArgumentTypeError("must be a positive number of milliseconds, got %r" % text)
    return int(v) if v.is_integer() else v


def argument_parser():
    p = _ArgumentParser(
        prog="aiospec_driver.py",
        allow_abbrev=False,
        description="Run aiospec scenarios (JSON lines on stdin) on this Python's asyncio; "
                    "traces as JSON lines on stdout, after a hello line (docs/adapters.md).",
    )
    p.add_argument("--loop", default="asyncio", metavar="asyncio|uvloop|nest_asyncio|webloop|MODULE:FACTORY",
                   help="the event loop: asyncio's own (default); uvloop; asyncio's made re-entrant by "
                        "nest_asyncio.apply(); Pyodide's WebLoop (in Pyodide only, run by its host: "
                        "aiospec_webloop.py); or FACTORY() from MODULE (e.g. uvloop:new_event_loop)")
    p.add_argument("--clock", choices=("virtual", "real"), default=None,
                   help="virtual: time advances when nothing is ready (default for asyncio, nest_asyncio and "
                        "factories of asyncio.BaseEventLoop subclasses); real: a tick is --tick-ms of real "
                        "time (the only clock of uvloop and of other loops)")
    p.add_argument("--tick-ms", type=_positive_ms, default=None, metavar="N",
                   help="real clock only: milliseconds per tick (default %d)" % DEFAULT_TICK_MS)
    return p


def configure(argv=None):
    """Parse the driver's arguments (a list, without the program name) and
    set up the loop they ask for; raise UsageError when they cannot be run.
    Returns the Config, which the driver then uses."""
    global _config
    ns = argument_parser().parse_args([] if argv is None else list(argv))
    name = ns.loop
    make_loop = None
    nest = None
    version = None
    base = True
    webloop = None
    if name == "asyncio":
        pass
    elif name == "nest_asyncio":
        nest = _import("--loop nest_asyncio", "nest_asyncio", "; install it with: python3 -m pip install nest_asyncio")
        version = getattr(nest, "__version__", None) or _dist_version("nest_asyncio", "nest-asyncio")
    elif name == "webloop":
        # Pyodide's own loop (pyodide.webloop.WebLoop): aiospec_webloop.py.
        if not EMSCRIPTEN:
            raise UsageError("--loop webloop: Pyodide's WebLoop runs only inside Pyodide (implementations/pyodide/driver.js)")
        webloop = _load_sibling("aiospec_webloop")
        version = webloop.pyodide_version()
        base = False
    elif name == "uvloop":
        uvloop = _import("--loop uvloop", "uvloop", "; install it with: python3 -m pip install uvloop")
        make_loop = uvloop.new_event_loop
        version = getattr(uvloop, "__version__", None) or _dist_version("uvloop")
        base = False
    else:
        m = _FACTORY.match(name)
        if m is None:
            raise UsageError("--loop: expected asyncio, uvloop, nest_asyncio, webloop or MODULE:FACTORY, got %r" % name)
        module = _import("--loop %s" % name, m.group(1))
        factory = module
        for part in m.group(2).split("."):
            factory = getattr(factory, part, None)
            if factory is None:
                raise UsageError("--loop %s: %s has no attribute %s" % (name, m.group(1), m.group(2)))
        if not callable(factory):
            raise UsageError("--loop %s: %s.%s is not callable" % (name, m.group(1), m.group(2)))
        try:
            sample = factory()
        except BaseException as e:
            raise UsageError("--loop %s: %s() failed (%s: %s)" % (name, m.group(2), type(e).__name__, e))
        if not isinstance(sample, asyncio.AbstractEventLoop):
            raise UsageError("--loop %s: %s() returned %s, not an event loop" % (name, m.group(2), type(sample).__name__))
        base = isinstance(sample, asyncio.BaseEventLoop)
        try:
            sample.close()
        except Exception:
            pass
        make_loop = factory
        top = m.group(1).split(".")[0]
        version = getattr(sys.modules.get(top), "__version__", None) or _dist_version(top)
        if version is not None and not isinstance(version, str):
            version = str(version)
    clock = ns.clock
    if clock is None:
        clock = "virtual" if base else "real"
    if clock == "virtual" and not base:
        what = ("uvloop's clock is libuv's own" if name == "uvloop"
                else "the WebLoop's timers are JavaScript's setTimeout" if name == "webloop"
                else "%s makes loops that are not asyncio.BaseEventLoop subclasses: their clock" % name)
        raise UsageError("--clock virtual: %s and cannot be virtualised; use --clock real (the default for this loop)" % what)
    if clock == "real" and EMSCRIPTEN and name != "webloop":
        raise UsageError("--clock real: real time needs a selector that can block, which Pyodide has not")
    if ns.tick_ms is not None and clock != "real":
        raise UsageError("--tick-ms applies to --clock real only")
    tick_ms = (ns.tick_ms or DEFAULT_TICK_MS) if clock == "real" else None
    cfg = Config(name, clock, tick_ms, make_loop, version, nest, base)
    if webloop is not None:
        cfg = webloop.adapt_config(sys.modules[__name__], cfg)
    if nest is not None:
        # nest_asyncio replaces asyncio's C Task and Future by the pure-Python
        # ones when first applied: do it now, so that the hello says so.
        nest.apply(VirtualTimeLoop())
    _config = cfg
    return cfg


_config = None


def current_config():
    if _config is None:
        configure([])
    return _config


# ---------------------------------------------------------------- serving

def hello():
    cfg = current_config()
    h = {
        "protocol": PROTOCOL,
        "implementation": platform.python_implementation(),
        "python": platform.python_version(),
        "version": "%d.%d" % PY,
        "task": task_flavour(),
        "loop": cfg.loop,
        "loop_version": cfg.loop_version,
        "clock": cfg.clock,
    }
    if cfg.clock == "real":
        h["tick_ms"] = cfg.tick_ms
    # CPython frees an object when its last reference goes and gc.collect()
    # finds every cycle, so what a weak reference sees after a collection
    # follows from the program. PyPy's collector moves objects between
    # generations by the process's whole allocation history, so the same
    # program can see an object collected in one run and alive in the next.
    h["gc"] = "nondeterministic" if platform.python_implementation() == "PyPy" else "deterministic"
    h["unsupported"] = sorted(cfg.unsupported())
    h["executable"] = sys.executable
    # Requests may queue up on stdin: they are read and answered one at a
    # time, in order, so the harness can keep several in flight.
    h["pipeline"] = PIPELINE
    return h


def handle_line(line):
    return drive(request_steps(line))


def request_steps(line):
    """handle_line as a generator (see scenario_steps and drive)."""
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
    if not isinstance(options, dict):
        options = {}
    # Without \u escapes, every key and op name of the request is in its text
    # as written: what the text does not name, the scenario does not use, and
    # the walks that look for it (most scenarios have no repeat and no gc op) can be skipped.
    # (A search for one character is a memchr: most lines have no backslash.)
    plain = "\\" not in line or "\\u" not in line
    maybe_gc = not plain or _names_gc_op(line)
    try:
        if not plain or '"repeat"' in line:
            scenario = expand_scenario(scenario)
    except ScenarioError as e:
        return {"id": rid, "error": "cannot interpret scenario: ScenarioError: %s" % e}
    cfg = current_config()
    unsupported = cfg.unsupported()
    # One walk checks the scenario and finds its features. A scenario it
    # rejects is surveyed by the lenient walk instead and checked again in
    # run_scenario, so that its error comes where it always has: after an
    # unsupported feature, and after a Task class this Python lacks.
    try:
        features = check_scenario(scenario)
        checked = True
    except Exception:
        features = scenario_features(scenario)
        checked = False
    missing = [feature for feature in features if feature in unsupported]
    if missing:
        feature = min(missing)  # the first in the order scenario_features gives
        return {"id": rid, "error": "unsupported feature %s on %s" % (feature, unsupported[feature])}
    try:
        if cfg.clock == "real":
            trace = yield from real_time_steps(scenario, options, rid, maybe_gc, checked)
        else:
            trace = yield from scenario_steps(scenario, options, maybe_gc=maybe_gc, checked=checked)
        return {"id": rid, "trace": trace}
    except (Unsupported, LateRun) as e:
        return {"id": rid, "error": str(e)}
    except (ScenarioError, KeyError, TypeError, ValueError) as e:
        return {"id": rid, "error": "cannot interpret scenario: %s: %s" % (type(e).__name__, e)}
    except Exception as e:
        return {"id": rid, "error": "driver failure: %s" % "".join(traceback.format_exception_only(type(e), e)).strip()}


class LateRun(Exception):
    """A real-time run that strayed from the tick grid every time it was tried."""


def run_real_time(scenario, options, rid, maybe_gc=True, checked=False):
    """Run a scenario in real time; run it again (up to LATE_RETRIES times)
    when the machine made it stray from the tick grid: a timer ran more
    than half a tick late, or an event happened at a later tick than the
    timer that led to it. A run that strays by a tick or more every time
    gets an error reply: its trace could differ from the scenario's."""
    return drive(real_time_steps(scenario, options, rid, maybe_gc, checked))


def real_time_steps(scenario, options, rid, maybe_gc=True, checked=False):
    """run_real_time as a generator (see scenario_steps and drive)."""
    cfg = current_config()
    tick = cfg.tick_ms / 1000.0
    for attempt in range(1 + LATE_RETRIES):
        stats = {}
        trace = yield from scenario_steps(scenario, options, stats, maybe_gc, checked)
        late, drifted = stats.get("late", 0.0), stats.get("drifted", False)
        if late <= tick / 2 and not drifted:
            return trace
        sys.stderr.write("aiospec_driver.py: request %s: %s (attempt %d of %d)\n" % (
            json.dumps(rid), _straying(late, drifted, cfg.tick_ms), attempt + 1, 1 + LATE_RETRIES))
    if late < tick * 0.9 and not drifted:
        return trace
    raise LateRun("real time: %s in each of %d runs, so the trace may not be the scenario's; "
                  "use a longer --tick-ms or a less loaded machine" % (_straying(late, drifted, cfg.tick_ms), 1 + LATE_RETRIES))


def _straying(late, drifted, tick_ms):
    what = "a timer ran %.3g ms late (one tick is %s ms)" % (late * 1000, tick_ms)
    if drifted:
        what += ", and callbacks ran past the next tick"
    return what


def hello_line():
    """The hello, as the line to write (without the newline)."""
    line = json.dumps({"hello": hello()})
    freeze_startup_objects()
    return line


def freeze_startup_objects():
    """What exists before the first scenario (modules, the driver's tables)
    lives until the driver exits: gc.freeze() puts it out of the collector's
    reach, so the full collection each gc-mode scenario starts with walks
    only what scenarios made (about 6x less CPU on generated scenarios:
    docs/performance.md). PyPy has no gc.freeze, and needs none."""
    freeze = getattr(gc, "freeze", None)
    if freeze is not None:
        gc.collect()
        freeze()


# The replies' JSON: what json.dumps(reply, sort_keys=True, separators=(",", ":"))
# writes, without making an encoder for each reply, and without checking for
# circular references: a reply is made of fresh lists and dicts and of
# values parsed from the request, so it has none.
_REPLY_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), check_circular=False)


def serve_line(line):
    """One request line in, its reply line out (without the newline): what a
    host that runs the driver itself (Pyodide) calls for each request."""
    return _REPLY_JSON.encode(handle_line(line))


def _profiled(main):
    """AIOSPEC_DRIVER_PROFILE=PREFIX: run under cProfile and write the
    statistics to PREFIX.<pid> at exit, and the process's CPU times to
    PREFIX.<pid>.times; AIOSPEC_DRIVER_PROFILE=times:PREFIX: only the CPU
    times, without the profiler's overhead (docs/performance.md: how the
    driver was profiled)."""
    prefix = os.environ.get("AIOSPEC_DRIVER_PROFILE")
    if not prefix:
        return main
    times_only = prefix.startswith("times:")
    if times_only:
        prefix = prefix[len("times:"):]

    def wrapper(argv=None):
        import cProfile
        import signal
        # The harness ends a driver with SIGTERM right after closing its stdin.
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
        prof = None if times_only else cProfile.Profile()
        try:
            if prof is None:
                main(argv)
            else:
                prof.runcall(main, argv)
        finally:
            if prof is not None:
                prof.dump_stats("%s.%d" % (prefix, os.getpid()))
            t = os.times()
            with open("%s.%d.times" % (prefix, os.getpid()), "w") as f:
                f.write("%.3f user %.3f sys\n" % (t.user, t.system))
    return wrapper


def main(argv=None):
    try:
        configure(sys.argv[1:] if argv is None else argv)
    except UsageError as e:
        sys.stderr.write("aiospec_driver.py: %s (see --help)\n" % " ".join(str(e).split()))
        sys.stderr.flush()
        sys.exit(2)
    out = sys.stdout
    out.write(hello_line() + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        out.write(serve_line(line) + "\n")
        out.flush()


if __name__ == "__main__":
    _profiled(main)()
