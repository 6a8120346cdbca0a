/**
 * The scheduler workloads on plain Node promises, the floor for a
 * JavaScript scheduler: async functions for coroutines, Promise.all for
 * gather and for the TaskGroup, setImmediate for sleep(0) (one turn of the
 * event loop, as sleep(0) is one iteration of asyncio's), setTimeout and
 * clearTimeout for timers (Node's finest delay is 1 ms).
 *
 * Run as a child process: `ts-node -T bench/scheduler/node.ts SIZE...`
 * prints one JSON object {workload: seconds} (best of the repetitions).
 */
import { WORKLOADS, type Sizes, bestOfAsync, parseSizes } from "./workloads";

const sleepZero = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A promise with its resolve function: what a Future is. */
function future<T>(): { promise: Promise<T>; set_result: (v: T) => void } {
  let set_result!: (v: T) => void;
  const promise = new Promise<T>((resolve) => (set_result = resolve));
  return { promise, set_result };
}

async function spawnAndGather(n: number): Promise<void> {
  const tasks = [];
  for (let i = 0; i < n; i++) tasks.push((async () => 1)());
  await Promise.all(tasks);
}

async function switches(n: number, tasks: number): Promise<void> {
  const switcher = async (k: number) => {
    for (let i = 0; i < k; i++) await sleepZero();
  };
  await Promise.all(Array.from({ length: tasks }, () => switcher(n / tasks)));
}

async function pingPong(n: number): Promise<void> {
  let ping = future<number>();
  let pong = future<number>();
  const player = async () => {
    for (let i = 0; i < n; i++) {
      await ping.promise;
      ping = future<number>();
      pong.set_result(i);
    }
  };
  const other = player();
  for (let i = 0; i < n; i++) {
    ping.set_result(i);
    await pong.promise;
    pong = future<number>();
  }
  await other;
}

async function fanOut(n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, async () => {
    await sleepZero();
    return 1;
  }));
}

async function timers(n: number): Promise<void> {
  let fired = 0;
  const handles = [];
  for (let i = 0; i < n; i++) handles.push(setTimeout(() => fired++, i % 2));
  for (let i = 0; i < n; i += 2) clearTimeout(handles[i]);
  await new Promise((resolve) => setTimeout(resolve, 3));
  if (fired !== n / 2) throw new Error(`${fired} timers fired, expected ${n / 2}`);
}

const BODIES: Record<string, (s: Sizes) => () => Promise<void>> = {
  spawn_gather: (s) => () => spawnAndGather(s.spawn),
  sleep0_switches: (s) => () => switches(s.switches, s.switchTasks),
  future_ping_pong: (s) => () => pingPong(s.pingPong),
  taskgroup_fan_out: (s) => () => fanOut(s.fanOut),
  timers_cancel: (s) => () => timers(s.timers),
};

async function main(): Promise<void> {
  const { sizes, repeat } = parseSizes(process.argv.slice(2));
  const out: Record<string, number> = {};
  for (const w of WORKLOADS) out[w] = await bestOfAsync(repeat, BODIES[w](sizes));
  process.stdout.write(JSON.stringify(out) + "\n");
}

main();
