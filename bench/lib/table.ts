/** The bench's table on the terminal (and in docs/performance.md, as Markdown). */
import type { Row } from "./rows";

const TITLES: Record<Row["section"], string> = {
  verdict: "Time to verdict (aiospec run, every clause, 100 scenarios each)",
  differential: "Differential throughput (same scenarios; ratio to the driver alone)",
  scale: "Scale (ratio: cost per step against 1,000 steps of the same shape and side)",
  scheduler: "The reference as a scheduler (ratio to CPython 3.11 asyncio)",
};

function fixed(x: number | undefined, digits: number): string {
  return x === undefined ? "" : x.toFixed(digits);
}

/** What a row adds beyond time and ratio: phases, rates, memory. */
function details(r: Row): string {
  const f = r.figures ?? {};
  if (r.status !== "ok") return r.note ?? "";
  switch (r.section) {
    case "verdict":
      return [
        r.note ?? "",
        f.cpu !== undefined ? `${fixed(f.cpu, 1)} s of CPU` : "",
        f.startup !== undefined
          ? `--jobs 1: ${fixed(f.total, 1)} s = start-up ${fixed(f.startup, 1)}, generation ${fixed(f.generation, 1)}, running ${fixed(f.running, 1)}, comparing ${fixed(f.comparing, 1)}, reporting ${fixed(f.reporting, 1)}`
          : "",
      ].filter(Boolean).join("; ");
    case "differential":
      return (
        `${Math.round(f.perSecond)} scenarios/s${f.ofDriverRate !== undefined ? `: ${fixed(f.ofDriverRate, 2)}x the driver-alone rate (${f.compared} compared)` : ""}` +
        (f.firstRoundOfDriverRate !== undefined ? `; its first round, the least warm, ${fixed(f.firstRoundOfDriverRate, 2)}x` : "") +
        (f.cpuBoundOfDriverRate !== undefined
          ? `; CPU per scenario: harness ${fixed(f.harnessCpuMsPerScenario, 3)} ms, driver ${fixed(f.driverCpuMsPerScenario, 3)} ms, so at most ${fixed(f.cpuBoundOfDriverRate, 2)}x on two free cores`
          : "")
      );
    case "scale":
      return `${fixed(f.usPerStep, 1)} µs/step, peak ${fixed(f.peakMb, 0)} MB (at start ${fixed(f.baseMb, 0)} MB)`;
    default:
      return "";
  }
}

function ratio(r: Row): string {
  return r.ratio === undefined ? "" : `${r.ratio.toFixed(2)}x`;
}

function seconds(r: Row): string {
  if (r.status !== "ok") return r.status;
  return r.seconds! < 0.1 ? r.seconds!.toFixed(4) : r.seconds!.toFixed(2);
}

export function textTable(rows: Row[]): string {
  const out: string[] = [];
  for (const section of Object.keys(TITLES) as Array<Row["section"]>) {
    const mine = rows.filter((r) => r.section === section);
    if (mine.length === 0) continue;
    out.push("", TITLES[section]);
    const width = Math.max(...mine.map((r) => r.name.length));
    for (const r of mine) out.push(`  ${r.name.padEnd(width)}  ${seconds(r).padStart(10)}  ${ratio(r).padStart(8)}  ${details(r)}`);
  }
  return out.join("\n");
}

export function markdownTable(rows: Row[]): string {
  const out: string[] = [];
  for (const section of Object.keys(TITLES) as Array<Row["section"]>) {
    const mine = rows.filter((r) => r.section === section);
    if (mine.length === 0) continue;
    out.push("", `**${TITLES[section]}**`, "", "| what | s | ratio | details |", "|---|---:|---:|---|");
    for (const r of mine) out.push(`| ${r.name} | ${seconds(r)} | ${ratio(r)} | ${details(r).replace(/\|/g, "\\|")} |`);
  }
  return out.join("\n");
}
