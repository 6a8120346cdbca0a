/**
 * `npm run bench`: how fast aiospec answers, next to what bounds it, in one
 * run. Prints a table and writes bench/results.json; every figure's ratio
 * is to a baseline measured in the same run (docs/performance.md).
 *
 *   npm run bench [-- --quick | --full] [--realtime] [--out FILE] [--markdown FILE]
 *
 * --quick   a smoke run (a minute or two): the reference's verdict, small sizes;
 * (default) every row, a scale run capped at 5 minutes (the 1,000,000-step runs take
 *           about 10 to 80 s each on a quiet 2-core machine; docs/performance.md);
 * --full    every CPython split into phases, larger samples, 15 minutes a run;
 * --realtime  also the time to verdict on a real-clock loop (uvloop), which is long;
 * --sections  only these sections (verdict, differential, scale, scheduler).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "./lib/child";
import { missing, type Row } from "./lib/rows";
import { textTable, markdownTable } from "./lib/table";
import { verdictRows } from "./verdict/verdict";
import { throughputRows } from "./throughput";
import { scaleRows } from "./scale/scale";
import { schedulerRows, type SchedulerPeer } from "./scheduler/scheduler";
import { FULL_SIZES, QUICK_SIZES, type Sizes } from "./scheduler/workloads";

type Mode = "quick" | "default" | "full";

const SECTIONS = ["verdict", "differential", "scale", "scheduler"] as const;
type Section = (typeof SECTIONS)[number];

interface Options {
  mode: Mode;
  realtime: boolean;
  sections: Section[];
  out: string;
  markdown?: string;
}

interface Plan {
  /** CPythons whose full run is timed (the others are "not run"). */
  verdictCpythons: "all" | string[];
  split: "all" | string[];
  verdictTimeoutMs: number;
  /** Full runs per verdict row, one after the other; the row keeps the fastest (the machine's speed drifts between minutes). */
  verdictRounds: number;
  diffScenarios: number;
  diffPeers: string[];
  scaleSizes: number[];
  scaleTimeoutMs: number;
  schedulerSizes: Sizes;
  schedulerRepeat: number;
}

const PLANS: Record<Mode, Plan> = {
  quick: {
    verdictCpythons: [], split: ["reference"], verdictTimeoutMs: 300_000, verdictRounds: 1,
    diffScenarios: 200, diffPeers: ["cpython-3.11"],
    scaleSizes: [10, 1000], scaleTimeoutMs: 60_000,
    schedulerSizes: QUICK_SIZES, schedulerRepeat: 1,
  },
  default: {
    verdictCpythons: "all", split: ["reference", "cpython-3.11"], verdictTimeoutMs: 300_000, verdictRounds: 2,
    diffScenarios: 5000, diffPeers: ["cpython-3.11", "cpython-3.13"],
    scaleSizes: [10, 1000, 10_000, 100_000, 1_000_000], scaleTimeoutMs: 300_000,
    schedulerSizes: FULL_SIZES, schedulerRepeat: 2,
  },
  full: {
    verdictCpythons: "all", split: "all", verdictTimeoutMs: 900_000, verdictRounds: 3,
    diffScenarios: 5000, diffPeers: ["cpython-3.11", "cpython-3.12", "cpython-3.13", "cpython-3.14"],
    scaleSizes: [10, 1000, 10_000, 100_000, 1_000_000], scaleTimeoutMs: 900_000,
    schedulerSizes: FULL_SIZES, schedulerRepeat: 5,
  },
};

const USAGE = "usage: npm run bench [-- --quick | --full] [--realtime] [--sections verdict,differential,scale,scheduler] [--out FILE] [--markdown FILE]";

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const o: Options = { mode: "default", realtime: false, sections: [...SECTIONS], out: path.join(ROOT, "bench", "results.json") };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick" || a === "--full") {
      if (o.mode !== "default") throw new UsageError("--quick and --full exclude each other");
      o.mode = a === "--quick" ? "quick" : "full";
    } else if (a === "--realtime") o.realtime = true;
    else if (a === "--sections") {
      const list = (argv[++i] ?? "").split(",");
      const bad = list.find((x) => !(SECTIONS as readonly string[]).includes(x));
      if (bad !== undefined) throw new UsageError(`--sections takes a comma-separated list of ${SECTIONS.join(", ")}; got ${JSON.stringify(bad)}`);
      o.sections = list as Section[];
    } else if (a === "--out" || a === "--markdown") {
      const file = argv[++i];
      if (!file) throw new UsageError(`${a} needs a file`);
      if (!fs.existsSync(path.dirname(path.resolve(file)))) throw new UsageError(`${a} ${file}: no such directory`);
      if (a === "--out") o.out = path.resolve(file);
      else o.markdown = path.resolve(file);
    } else throw new UsageError(`unknown option ${a}; ${USAGE}`);
  }
  return o;
}

/** What `aiospec list --json` says about each implementation id. */
interface Listed {
  id: string;
  status: "found" | "absent";
  fullVersion: string | null;
  path: string | null;
  why: string | null;
  install: string | null;
  package: { name: string; version: string } | null;
}

function listImplementations(): Map<string, Listed> {
  const r = spawnSync(process.execPath, [path.join(ROOT, "bin", "aiospec.js"), "list", "--json"], { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`aiospec list --json failed: ${r.stderr}`);
  const listed = JSON.parse(r.stdout).implementations as Listed[];
  return new Map(listed.map((i) => [i.id, i]));
}

function absentWhy(l: Listed | undefined, id: string): string {
  if (!l) return `${id} is not an implementation id here`;
  return `absent: ${l.why ?? "not found"}${l.install ? `; install: ${l.install}` : ""}`;
}

const CPYTHONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14"].map((v) => `cpython-${v}`);

function chosen(list: "all" | string[], id: string): boolean {
  return list === "all" || list.includes(id);
}

async function verdictSection(plan: Plan, o: Options, impls: Map<string, Listed>, log: (s: string) => void): Promise<Row[]> {
  const rt = impls.get("cpython-3.11+uvloop");
  return verdictRows({
    cpythons: CPYTHONS.map((id) => ({
      id,
      found: impls.get(id)?.status === "found",
      why: absentWhy(impls.get(id), id),
      run: chosen(plan.verdictCpythons, id),
    })),
    realtime: { id: "cpython-3.11+uvloop", found: rt?.status === "found", why: absentWhy(rt, "cpython-3.11+uvloop"), run: o.realtime },
    split: plan.split === "all" ? ["reference", "bench/verdict/reference-module.ts", ...CPYTHONS, "cpython-3.11+uvloop"] : plan.split,
    timeoutMs: plan.verdictTimeoutMs,
    rounds: plan.verdictRounds,
    log,
  });
}

async function differentialSection(plan: Plan, impls: Map<string, Listed>, log: (s: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  for (const id of plan.diffPeers) {
    log(`differential: ${id}, ${plan.diffScenarios} scenarios`);
    const l = impls.get(id);
    const found = l?.status === "found";
    rows.push(...(await throughputRows(plan.diffScenarios, {
      id, version: id.replace("cpython-", ""), python: found ? l!.path! : undefined, why: absentWhy(l, id),
    })));
  }
  return rows;
}

async function scaleSection(plan: Plan, o: Options, impls: Map<string, Listed>, log: (s: string) => void): Promise<Row[]> {
  const l = impls.get("cpython-3.11");
  const rows = await scaleRows({
    sizes: plan.scaleSizes,
    python: l?.status === "found" ? l.path! : undefined,
    pythonId: "cpython-3.11 driver",
    why: absentWhy(l, "cpython-3.11"),
    timeoutMs: plan.scaleTimeoutMs,
    log,
  });
  if (o.mode !== "quick") return rows;
  const left = [100_000, 1_000_000].map((n) => missing("scale", `every shape at ${n.toLocaleString("en")} steps`, "not run", "not run (--quick)"));
  return [...rows, ...left];
}

function schedulerPeer(impls: Map<string, Listed>, id: string, label: string, loop: "asyncio" | "uvloop"): SchedulerPeer {
  const l = impls.get(id);
  if (l?.status !== "found") return { name: label, loop, why: absentWhy(l, id) };
  const pkg = l.package ? ` ${l.package.name} ${l.package.version}` : "";
  return { name: `${label} (${l.fullVersion}${pkg})`, python: l.path!, loop };
}

async function schedulerSection(plan: Plan, impls: Map<string, Listed>, log: (s: string) => void): Promise<Row[]> {
  const peers = [
    schedulerPeer(impls, "cpython-3.11", "CPython 3.11 asyncio", "asyncio"),
    schedulerPeer(impls, "cpython-3.13", "CPython 3.13 asyncio", "asyncio"),
    schedulerPeer(impls, "cpython-3.11+uvloop", "CPython 3.11 uvloop", "uvloop"),
    schedulerPeer(impls, "cpython-3.11.2+uvloop", "CPython 3.11.2 uvloop", "uvloop"),
    schedulerPeer(impls, "cpython-3.13+uvloop", "CPython 3.13 uvloop", "uvloop"),
  ];
  return schedulerRows(peers, plan.schedulerSizes, plan.schedulerRepeat, 600_000, log);
}

function machine(): Record<string, unknown> {
  const git = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" });
  return {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    commit: git.stdout.trim(),
  };
}

async function main(argv: string[]): Promise<number> {
  let o: Options;
  try {
    o = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`bench: ${e.message}\n`);
    return 2;
  }
  const plan = PLANS[o.mode];
  const started = new Date();
  const t0 = process.hrtime.bigint();
  const loadBefore = os.loadavg();
  const log = (s: string) => process.stderr.write(`[${((Number(process.hrtime.bigint() - t0) / 1e9) | 0).toString().padStart(4)} s] ${s}\n`);
  log(`mode ${o.mode}; load average ${loadBefore.map((x) => x.toFixed(2)).join(" ")} on ${os.cpus().length} cores`);
  const impls = listImplementations();
  const rows: Row[] = [];
  const run: Record<Section, () => Promise<Row[]>> = {
    verdict: () => verdictSection(plan, o, impls, log),
    differential: () => differentialSection(plan, impls, log),
    scale: () => scaleSection(plan, o, impls, log),
    scheduler: () => schedulerSection(plan, impls, log),
  };
  for (const section of SECTIONS) if (o.sections.includes(section)) rows.push(...(await run[section]()));
  const results = {
    bench: 1,
    mode: o.mode,
    realtime: o.realtime,
    sections: o.sections,
    started: started.toISOString(),
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
    machine: { ...machine(), loadAverageAtStart: loadBefore, loadAverageAtEnd: os.loadavg() },
    rows,
  };
  fs.writeFileSync(o.out, JSON.stringify(results, null, 2) + "\n");
  const header = `aiospec bench (${o.mode}), ${started.toISOString()}, ${results.seconds.toFixed(0)} s; load average ${loadBefore.map((x) => x.toFixed(1)).join("/")} -> ${os.loadavg().map((x) => x.toFixed(1)).join("/")} on ${os.cpus().length} cores`;
  process.stdout.write(`${header}\n${textTable(rows)}\n\nwritten: ${path.relative(process.cwd(), o.out)}\n`);
  if (o.markdown) fs.writeFileSync(o.markdown, `${header}\n${markdownTable(rows)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
