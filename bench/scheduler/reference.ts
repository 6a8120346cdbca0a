/**
 * The scheduler workloads on the reference, through its programmatic API
 * (implementations/reference): coroutines are generators, `yield*
 * fut.__await__()` is `await fut`, `yield* impl.sleep(0)` is `await
 * asyncio.sleep(0)`. The same workloads as scheduler.py and node.ts.
 *
 * Run as a child process: `ts-node -T bench/scheduler/reference.ts SIZE...`
 * prints one JSON object {workload: seconds} (best of the repetitions).
 */
import { makeReference } from "../../implementations/reference";
import { get_running_loop } from "../../implementations/reference/loop";
import type { CompleteAsyncioImplementation, Coroutine } from "../../harness/engine/api";
import { WORKLOADS, type Sizes, bestOf, parseSizes } from "./workloads";

const asyncio: CompleteAsyncioImplementation = makeReference("3.13");

/** asyncio.run(main()): a fresh loop, main as its task, run to the end. */
function run(main: () => Coroutine): void {
  const loop = asyncio.new_event_loop();
  loop.run_until_complete(loop.create_task(main()));
  loop.close();
}

/**
 * A loop of the reference runs at most MAX_LOOP_ITERATIONS (200,000)
 * iterations (a guard against scenarios that never end): a workload that
 * needs more runs as several asyncio.run()s of `chunk` rounds each.
 */
const MAX_ROUNDS_PER_RUN = 50_000;

function runInChunks(rounds: number, main: (rounds: number) => Coroutine): void {
  for (let done = 0; done < rounds; done += MAX_ROUNDS_PER_RUN) run(() => main(Math.min(MAX_ROUNDS_PER_RUN, rounds - done)));
}

function* returnOne(): Coroutine<number> {
  return 1;
}

function* sleepZero(): Coroutine<number> {
  yield* asyncio.sleep(0);
  return 1;
}

/** spawn-and-gather: create N tasks, then gather them. */
function* spawnAndGather(n: number): Coroutine<void> {
  const tasks = [];
  for (let i = 0; i < n; i++) tasks.push(asyncio.create_task(returnOne()));
  yield* asyncio.gather(tasks, false).__await__();
}

/** N sleep(0) switches, shared by `tasks` tasks (so the loop's iteration budget is not the limit). */
function* switches(n: number, tasks: number): Coroutine<void> {
  function* switcher(k: number): Coroutine<void> {
    for (let i = 0; i < k; i++) yield* asyncio.sleep(0);
  }
  const all = [];
  for (let t = 0; t < tasks; t++) all.push(asyncio.create_task(switcher(n / tasks)));
  yield* asyncio.gather(all, false).__await__();
}

/** Future ping-pong: two tasks hand a fresh future back and forth N times. */
function* pingPong(n: number): Coroutine<void> {
  const loop = get_running_loop();
  let ping = loop.create_future();
  let pong = loop.create_future();
  function* player(): Coroutine<void> {
    for (let i = 0; i < n; i++) {
      yield* ping.__await__();
      ping = loop.create_future();
      pong.set_result(i);
    }
  }
  const other = asyncio.create_task(player());
  for (let i = 0; i < n; i++) {
    ping.set_result(i);
    yield* pong.__await__();
    pong = loop.create_future();
  }
  yield* other.__await__();
}

/** A TaskGroup fanning out N tasks that each sleep(0) once. */
function* taskGroupFanOut(n: number): Coroutine<void> {
  const tg = asyncio.TaskGroup();
  yield* tg.__aenter__();
  for (let i = 0; i < n; i++) tg.create_task(sleepZero());
  yield* tg.__aexit__(null);
}

/** N timers spread over 1 ms, every other one cancelled, then wait past the last. */
function* timers(n: number): Coroutine<void> {
  const loop = get_running_loop();
  let fired = 0;
  const handles = [];
  for (let i = 0; i < n; i++) handles.push(loop.call_later((i % 1000) / 1e6, () => fired++));
  for (let i = 0; i < n; i += 2) handles[i].cancel();
  yield* asyncio.sleep(0.002);
  if (fired !== n / 2) throw new Error(`${fired} timers fired, expected ${n / 2}`);
}

const BODIES: Record<string, (s: Sizes) => () => void> = {
  spawn_gather: (s) => () => run(() => spawnAndGather(s.spawn)),
  sleep0_switches: (s) => () => run(() => switches(s.switches, s.switchTasks)),
  // Two loop iterations a round trip: 100,000 round trips are four runs of 50,000.
  future_ping_pong: (s) => () => runInChunks(s.pingPong, pingPong),
  taskgroup_fan_out: (s) => () => run(() => taskGroupFanOut(s.fanOut)),
  timers_cancel: (s) => () => run(() => timers(s.timers)),
};

function main(): void {
  const { sizes, repeat } = parseSizes(process.argv.slice(2));
  const out: Record<string, number> = {};
  for (const w of WORKLOADS) out[w] = bestOf(repeat, BODIES[w](sizes));
  process.stdout.write(JSON.stringify(out) + "\n");
}

main();
