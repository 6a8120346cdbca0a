"""The scheduler workloads on CPython's asyncio (or uvloop's loop): the same
workloads, names and sizes as reference.ts and node.ts.

    python bench/scheduler/scheduler.py [--loop asyncio|uvloop] KEY=VALUE... repeat=N

prints one JSON object {workload: seconds} (best of the repetitions), or
{"absent": "why"} when the loop cannot be had here.
"""
import asyncio
import json
import sys
import time

FULL = dict(spawn=100_000, switches=1_000_000, switchTasks=10, pingPong=100_000, fanOut=10_000, timers=10_000)


async def return_one():
    return 1


async def sleep_zero():
    await asyncio.sleep(0)
    return 1


async def spawn_and_gather(n):
    tasks = [asyncio.create_task(return_one()) for _ in range(n)]
    await asyncio.gather(*tasks)


async def switches(n, tasks):
    async def switcher(k):
        for _ in range(k):
            await asyncio.sleep(0)
    await asyncio.gather(*[asyncio.create_task(switcher(n // tasks)) for _ in range(tasks)])


async def ping_pong(n):
    loop = asyncio.get_running_loop()
    futs = {"ping": loop.create_future(), "pong": loop.create_future()}

    async def player():
        for i in range(n):
            await futs["ping"]
            futs["ping"] = loop.create_future()
            futs["pong"].set_result(i)

    other = asyncio.create_task(player())
    for i in range(n):
        futs["ping"].set_result(i)
        await futs["pong"]
        futs["pong"] = loop.create_future()
    await other


async def fan_out(n):
    if hasattr(asyncio, "TaskGroup"):
        async with asyncio.TaskGroup() as tg:
            for _ in range(n):
                tg.create_task(sleep_zero())
    else:  # before 3.11: the nearest thing, gather over created tasks
        await asyncio.gather(*[asyncio.create_task(sleep_zero()) for _ in range(n)])


async def timers(n):
    loop = asyncio.get_running_loop()
    fired = [0]

    def fire():
        fired[0] += 1

    handles = [loop.call_later((i % 1000) / 1e6, fire) for i in range(n)]
    for h in handles[::2]:
        h.cancel()
    await asyncio.sleep(0.002)
    assert fired[0] == n // 2, (fired[0], n)


BODIES = {
    "spawn_gather": lambda s: spawn_and_gather(s["spawn"]),
    "sleep0_switches": lambda s: switches(s["switches"], s["switchTasks"]),
    "future_ping_pong": lambda s: ping_pong(s["pingPong"]),
    "taskgroup_fan_out": lambda s: fan_out(s["fanOut"]),
    "timers_cancel": lambda s: timers(s["timers"]),
}


def new_loop(kind):
    if kind == "uvloop":
        import uvloop
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def best_of(repeat, kind, make):
    best = float("inf")
    for _ in range(repeat):
        loop = new_loop(kind)
        try:
            t0 = time.perf_counter()
            loop.run_until_complete(make())
            best = min(best, time.perf_counter() - t0)
        finally:
            loop.close()
    return best


def main(argv):
    kind = "asyncio"
    if argv[:1] == ["--loop"]:
        kind, argv = argv[1], argv[2:]
    kv = dict(a.split("=", 1) for a in argv)
    sizes = {k: int(kv.get(k, v)) for k, v in FULL.items()}
    repeat = int(kv.get("repeat", 3))
    if kind == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError as e:
            print(json.dumps({"absent": "no uvloop for this Python (%s)" % e}))
            return
    out = {name: best_of(repeat, kind, lambda: body(sizes)) for name, body in BODIES.items()}
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
