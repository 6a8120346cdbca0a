"""Pyodide's WebLoop for the aiospec driver (--loop webloop, inside Pyodide only).

What a Pyodide user gets by default is not asyncio's BaseEventLoop but
pyodide.webloop.WebLoop: its call_soon is call_later(0), its call_at is
call_later(when - time()), and call_later hands the callback to JavaScript
(setImmediate for a delay of 2 ms or less, else setTimeout), so JavaScript's
event loop, not a ready queue and a heap of deadlines, decides what runs
next. The WebLoop cannot block: run_until_complete does not run anything.
So the driver's host (implementations/pyodide/driver.js) runs each request
by awaiting it: AwaitedRequest steps through the driver's request_steps
generator, and for each run of the loop it asks for (the main task, the
shutdown) the host waits, on JavaScript's event loop, until that run ends.

Everything that runs the scenario is the WebLoop's own code. The driver
only
  - pins the hash of tasks and futures (as it does on every loop): the
    WebLoop's create_task and create_future make pyodide.webloop.PyodideTask
    and PyodideFuture, which are replaced, in that module, by subclasses
    whose hash is their creation number (aiospec_driver.pinned);
  - records every handle the loop makes (weakly), and times the timers on
    the real clock (RealClock.timed), in an override of call_later (which
    call_soon and call_at call); a scenario's call_later is the WebLoop's
    call_later, given the delay to its deadline on the tick grid
    (Run.op_call_later);
  - ends a run of the loop where run_until_complete would return: when the
    awaited future's done callback runs (the host awaiting the main task
    from JavaScript sees the same), or when the driver stops the loop (its
    deadlock watchdog, its event cap), or when a KeyboardInterrupt or a
    SystemExit escapes a callback (through the WebLoop's own
    _keyboard_interrupt_handler and _system_exit_handler hooks; without
    them the exception would escape into JavaScript and end the process);
  - closes the loop at the end of the scenario (the WebLoop's close does
    nothing): every handle it made is cancelled, so that nothing of one
    scenario runs during the next, it refuses new callbacks, and the async
    generator hooks it installed are put back (each WebLoop keeps the ones
    it replaced, the previous loop's: else every scenario's loop stays
    alive).
"""

import asyncio
import sys
import threading
import time
import weakref

# The driver module (aiospec_driver), set by adapt_config.
_d = None
# Pinned subclasses are made once; the module's own classes are kept here.
_ORIGINAL = {}


def pyodide_version():
    try:
        import pyodide
        return getattr(pyodide, "__version__", None)
    except ImportError:
        return None


def adapt_config(driver, cfg):
    """The driver's Config for --loop webloop: loops are AiospecWebLoops,
    awaited by the host; deadlocks are watched by LoopWatchdog."""
    global _d
    _d = driver
    import pyodide.webloop as wl
    if not _ORIGINAL:
        _ORIGINAL["PyodideTask"] = wl.PyodideTask
        _ORIGINAL["PyodideFuture"] = wl.PyodideFuture
        # The names the WebLoop's create_task and create_future look up at
        # each call: pinned subclasses (named Task and Future, like every
        # pinned class, so that reprs in messages normalise alike).
        wl.PyodideTask = driver.pinned_class(wl.PyodideTask)
        wl.PyodideFuture = driver.pinned_class(wl.PyodideFuture)
    _make_classes(driver, wl.WebLoop)
    cfg.__class__ = WebLoopConfig
    return cfg


WebLoopConfig = AiospecWebLoop = LoopWatchdog = None


def _make_classes(d, WebLoop):
    global WebLoopConfig, AiospecWebLoop, LoopWatchdog
    if AiospecWebLoop is not None:
        return

    class _AiospecWebLoop(d._Pinning, WebLoop):
        """A WebLoop with pinned tasks and futures, recorded handles, timed
        timers, and the ends of the runs its host awaits (see the module's
        docstring)."""

        _aiospec_relative_timers = True  # Run.op_call_later: call_later is its own operation

        def __init__(self, task_class, future_class, eager):
            super().__init__()  # 0.27 / 0.29: it becomes the running loop
            self._init_pinning(task_class, future_class)
            self._aiospec_clock = None
            # Every handle made, weakly: a pending one is kept alive by
            # JavaScript's timer (through the WebLoop's run_handle), as
            # asyncio's loop keeps its ready queue and timer heap; once it
            # has run, nothing of the driver's keeps its callback's objects.
            self._aiospec_handles = weakref.WeakSet()
            self._aiospec_main = True
            self._aiospec_closed = False
            self._aiospec_resolve = None
            self._aiospec_interrupt = None
            self._keyboard_interrupt_handler = self._aiospec_interrupted
            self._system_exit_handler = self._aiospec_exited
            if eager:
                # What a user's loop.set_task_factory(asyncio.eager_task_factory) makes: asyncio.Task.
                self.set_task_factory(asyncio.create_eager_task_factory(task_class))

        # -- tasks and futures: the WebLoop's own, pinned

        def create_task(self, coro, **kwargs):
            main, self._aiospec_main = self._aiospec_main, False
            try:
                task = super().create_task(coro, **kwargs)
            except SystemError as e:  # see aiospec_driver.PinnedTasks.create_task
                if isinstance(e.__cause__, (KeyboardInterrupt, SystemExit)):
                    raise e.__cause__ from None
                raise
            except Exception as e:
                if not main:
                    raise  # the scenario's own create_task: its coroutine sees it
                # The driver's main task: the WebLoop cannot make it (on
                # Pyodide 0.29, any task under a task factory: its
                # create_task calls asyncio.tasks._set_task_name, which
                # Python 3.13 removed).
                coro.close()
                raise d.Unsupported("the WebLoop's create_task failed on the main task: %s: %s"
                                    % (type(e).__name__, e)) from None
            self.created_tasks.append(task)
            return task

        def create_future(self):
            fut = super().create_future()
            fut._aiospec_hash = self.next_hash()  # see aiospec_driver.pinned
            return fut

        # -- callbacks: every one goes through call_later

        def call_later(self, delay, callback, *args, context=None):
            self._check_closed()
            clock = self._aiospec_clock
            if clock is not None and delay > 0:
                callback = clock.timed(self.time() + delay, callback)
            handle = super().call_later(delay, callback, *args, context=context)
            self._aiospec_handles.add(handle)
            return handle

        def _check_closed(self):
            if self._aiospec_closed:
                raise RuntimeError("Event loop is closed")

        def is_closed(self):
            return self._aiospec_closed

        def close(self):
            self._aiospec_closed = True
            for h in list(self._aiospec_handles):
                h.cancel()
            self._aiospec_handles.clear()
            # The WebLoop installs its async generator hooks at its first
            # callback and keeps the ones it replaced (the previous loop's
            # bound methods): left there, each scenario's loop would keep the
            # one before it alive. Put them back, as BaseEventLoop.run_forever
            # does when it returns.
            old = getattr(self, "_old_agen_hooks", None)
            if old is not None:
                sys.set_asyncgen_hooks(*old)
                self._old_agen_hooks = None

        # -- the runs the host awaits

        def aiospec_begin(self, fut, watchdog, resolve):
            """A run of the loop until fut is done: resolve() (the host's)
            is called when it ends."""
            self._aiospec_resolve = resolve
            if watchdog is not None:
                watchdog.start(fut)
            # As run_until_complete adds its own done callback.
            fut.add_done_callback(self._aiospec_end_run)

        def _aiospec_end_run(self, fut=None):
            if fut is not None and not fut.cancelled() and isinstance(fut.exception(), (SystemExit, KeyboardInterrupt)):
                # As run_until_complete's callback: that exception already
                # ended the run (bpo-22429), no need to end it.
                return
            resolve, self._aiospec_resolve = self._aiospec_resolve, None
            if resolve is not None:
                resolve()

        def stop(self):
            """The driver stops the run (the watchdog's deadlock, the event cap)."""
            self._aiospec_end_run()

        def _aiospec_interrupted(self):
            # Called by the WebLoop inside its `except KeyboardInterrupt:`.
            if self._aiospec_interrupt is None:
                self._aiospec_interrupt = sys.exc_info()[1] or KeyboardInterrupt()
            self._aiospec_end_run()

        def _aiospec_exited(self, code):
            if self._aiospec_interrupt is None:
                self._aiospec_interrupt = sys.exc_info()[1] or SystemExit(code)
            self._aiospec_end_run()

        def aiospec_end(self, run, fut, watchdog):
            """How the run ended, as run_loop says it."""
            if watchdog is not None:
                watchdog.stop()
            self._aiospec_resolve = None
            fut.remove_done_callback(self._aiospec_end_run)
            exc, self._aiospec_interrupt = self._aiospec_interrupt, None
            if exc is not None:
                return {"kind": "interrupted", "exc": run.enc.exc(exc)}
            if fut.done():
                return {"kind": "complete"}
            if run.ended is not None:
                return run.ended
            # Stopped before fut was done (the main task's done callback
            # ran late, in the shutdown's run): what run_until_complete raises.
            return {"kind": "error", "exc": run.enc.exc(RuntimeError("Event loop stopped before Future completed."))}

    class _LoopWatchdog(d.Watchdog):
        """The driver's Watchdog without a thread: the host calls poll()
        every few milliseconds while it awaits a run (Pyodide has no
        threads). A suspect run is confirmed from inside the loop by the
        same probe."""

        def start(self, fut):
            self.fut = fut
            self.active = True
            self.probed = threading.Event()  # set: no probe in flight
            self.probed.set()

        def stop(self):
            self.active = False

        def poll(self):
            if not self.active or not self.probed.is_set():
                return
            if self.fut.done() or self.run.ended is not None:
                return
            if time.monotonic() - self.quiet_since() < self.grace:
                return
            self.probed.clear()
            self.loop.call_soon(self.probe, (len(self.run.events), self.clock.last_deadline))

    class _WebLoopConfig(d.Config):
        awaited = True  # run_scenario: the loop is the running loop from the start
        watchdog_class = _LoopWatchdog

        def new_loop(self, task_class, future_class, eager):
            if task_class is not d.PINNED_TASK:
                raise d.Unsupported("the WebLoop makes its own tasks (pyodide.webloop.PyodideTask, a C Task): "
                                    "it has no pure-Python Task")
            loop = _AiospecWebLoop(task_class, future_class, eager)
            clock = d.RealClock(loop, self.tick_ms / 1000.0)
            loop._aiospec_clock = clock
            return loop, clock

    AiospecWebLoop, LoopWatchdog, WebLoopConfig = _AiospecWebLoop, _LoopWatchdog, _WebLoopConfig


class AwaitedRequest:
    """One request line, run by a host that awaits the loop:

        req = AwaitedRequest(line)
        while not req.done:
            wait until the callback given to req.listen(callback) is called,
                calling req.poll() every 20 ms meanwhile
            req.resume()
        req.reply    # the reply line, without its newline
    """

    def __init__(self, line):
        self.steps = _d.request_steps(line)
        self.wait = None
        self.reply = None
        self._send(None)

    @property
    def done(self):
        return self.reply is not None

    def _send(self, value):
        try:
            self.wait = self.steps.send(value)
        except StopIteration as stop:
            self.wait = None
            self.steps = None
            self.reply = _d._REPLY_JSON.encode(stop.value)

    def listen(self, callback):
        loop, run, fut, phase, watchdog = self.wait
        loop.aiospec_begin(fut, watchdog, callback)

    def poll(self):
        if self.wait is not None and self.wait[4] is not None:
            self.wait[4].poll()

    def resume(self):
        loop, run, fut, phase, watchdog = self.wait
        self._send(loop.aiospec_end(run, fut, watchdog))
