/**
 * Python interpreters found on this machine (harness/targets/discovery.ts
 * has the id grammar): CPython, PyPy, Pyodide under Node and
 * nest_asyncio's CPython, each running the Python driver in a child
 * process. The driver's hello must match what the id asked for.
 */
import { DriverHello, driverEngine } from "./driver";
import { InterpreterId } from "./discovery";
import { Target, TargetOptions, limitsFrom } from "./target";
import { supervisedTarget } from "./supervised";

/** The start limit of a Pyodide target (the driver's hello), unless one is given. */
export const PYODIDE_START_TIMEOUT_MS = 60_000;

/** A driver on an interpreter an id names (discovery.ts): the hello must match the id. */
export function interpreterTarget(p: InterpreterId, command: string, args: string[], options: TargetOptions): Promise<Target> {
  const id = p.id;
  // Pyodide loads CPython's WebAssembly and standard library first: seconds, more on a loaded machine.
  if (p.family === "pyodide" && options.startTimeoutMs === undefined) options = { ...options, startTimeoutMs: PYODIDE_START_TIMEOUT_MS };
  const limits = limitsFrom(id, options);
  const describe = (h: DriverHello) => {
    const task = p.pytask || h.task === "py" ? "pure-Python Task" : h.task === "C" ? "C Task" : `${h.task || "its"} Task`;
    const parts = [`${h.implementation || p.family} ${h.python}`.trim(), `(${task})`];
    if (h.loop && h.loop !== "asyncio") parts.push(`on ${h.loop}${h.loop_version ? ` ${h.loop_version}` : ""}`);
    if (h.clock === "real") parts.push(`real clock${h.tick_ms ? ` (${h.tick_ms} ms a tick)` : ""}`);
    if (h.executable) parts.push(`at ${h.executable}`);
    return parts.join(" ");
  };
  const check = (h: DriverHello): string | null => {
    const who = `${command}${args[0] === "-u" ? "" : ` ${args.join(" ")}`} is ${h.implementation || "a driver"} ${h.python || ""}`.trim();
    if (p.minor !== undefined && h.version !== p.minor) return `${who}, claiming Python ${h.version}, not ${p.minor}`;
    if (p.patch !== undefined && h.python !== p.patch) return `${who}, not ${p.patch}`;
    if (p.family === "pypy" && !/pypy/i.test(h.implementation)) return `${who}, not PyPy`;
    if (p.loop !== "asyncio" && h.loop !== p.loop) {
      return `the driver did not confirm --loop ${p.loop} (its hello says loop ${JSON.stringify(h.loop ?? null)}): it cannot run +${p.loop}`;
    }
    if (p.realtime && h.clock !== "real") {
      const mod = p.loop === "uvloop" || p.loop === "webloop" ? p.loop : "realtime";
      return `the driver did not confirm the real clock (its hello says clock ${JSON.stringify(h.clock ?? null)}): it cannot run +${mod}`;
    }
    return null;
  };
  return supervisedTarget(
    id,
    "driver",
    () => driverEngine(command, args, id, limits, p.pytask ? "py" : undefined, describe, check),
    options,
    (reason) => `implementation "${id}": ${reason}`,
  );
}

