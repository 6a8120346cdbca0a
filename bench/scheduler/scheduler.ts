/**
 * The reference as a scheduler: the same five workloads (workloads.ts) on
 * the reference through its programmatic API, on CPython's asyncio (3.11,
 * 3.13), on uvloop where installed, and on plain Node promises. Each runner
 * is a child process that prints {workload: best seconds}; the ratios are
 * to the first peer (CPython 3.11's asyncio).
 */
import * as path from "node:path";
import { ROOT, runScript, runTimed, lastJson, failure } from "../lib/child";
import { ok, missing, withRatios, type Row } from "../lib/rows";
import { WORKLOADS, sizeArgs, type Sizes } from "./workloads";

export interface SchedulerPeer {
  /** e.g. "CPython 3.11.7 asyncio" */
  name: string;
  /** The interpreter, or why there is none. */
  python?: string;
  loop: "asyncio" | "uvloop";
  why?: string;
}

type Timings = Record<string, number> & { absent?: never };

async function runner(kind: "reference" | "node" | SchedulerPeer, args: string[], timeoutMs: number): Promise<Timings | { absent: string } | string> {
  const f =
    kind === "reference" ? await runScript("bench/scheduler/reference.ts", args, timeoutMs)
    : kind === "node" ? await runScript("bench/scheduler/node.ts", args, timeoutMs)
    : await runTimed(kind.python!, [path.join(ROOT, "bench", "scheduler", "scheduler.py"), "--loop", kind.loop, ...args], { timeoutMs });
  if (f.code !== 0) return failure(f, timeoutMs);
  return lastJson(f);
}

function rowName(workload: string, sizes: Sizes, who: string): string {
  const n: Record<string, string> = {
    spawn_gather: `spawn-and-gather ${sizes.spawn.toLocaleString("en")} tasks`,
    sleep0_switches: `${sizes.switches.toLocaleString("en")} sleep(0) switches (${sizes.switchTasks} tasks)`,
    future_ping_pong: `future ping-pong, ${sizes.pingPong.toLocaleString("en")} round trips`,
    taskgroup_fan_out: `TaskGroup fan-out, ${sizes.fanOut.toLocaleString("en")} tasks`,
    timers_cancel: `${sizes.timers.toLocaleString("en")} timers, half cancelled`,
  };
  return `${n[workload]}: ${who}`;
}

export async function schedulerRows(peers: SchedulerPeer[], sizes: Sizes, repeat: number, timeoutMs: number, log: (s: string) => void): Promise<Row[]> {
  const args = sizeArgs(sizes, repeat);
  const who: Array<{ name: string; kind: "reference" | "node" | SchedulerPeer }> = [
    { name: "reference (programmatic API)", kind: "reference" },
    ...peers.map((p) => ({ name: p.name, kind: p })),
    { name: "Node promises", kind: "node" as const },
  ];
  const results = new Map<string, Timings | { absent: string } | string>();
  for (const w of who) {
    const peer = typeof w.kind === "object" ? w.kind : undefined;
    if (peer && !peer.python) {
      results.set(w.name, { absent: peer.why ?? "not installed" });
      continue;
    }
    log(`scheduler: ${w.name}`);
    results.set(w.name, await runner(w.kind, args, timeoutMs));
  }
  const rows: Row[] = [];
  for (const workload of WORKLOADS) {
    const group: Row[] = [];
    for (const w of who) {
      const name = rowName(workload, sizes, w.name);
      const r = results.get(w.name)!;
      if (typeof r === "string") group.push(missing("scheduler", name, "failed", r));
      else if ("absent" in r && r.absent) group.push(missing("scheduler", name, "absent", String(r.absent)));
      else group.push(ok("scheduler", name, (r as Timings)[workload]));
    }
    rows.push(...withRatios(group, rowName(workload, sizes, peers[0].name)));
  }
  return rows;
}
