/**
 * One scale scenario on a CPython, through the Python driver alone (no
 * harness): start the driver, wait for its hello, send the scenario with its
 * repeats (the driver writes them out), and time until the trace comes back.
 * Peak memory is the driver process's high-water mark (VmHWM in
 * /proc/PID/status), read before it exits.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as readline from "node:readline";
import { DRIVER_PATH } from "../../harness/targets";
import { scenario, type Shape } from "./shapes";

export interface ScaleRun {
  seconds: number;
  baseKb: number;
  peakKb: number;
}

function statusKb(pid: number, field: "VmHWM" | "VmRSS"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

export function runOnDriver(python: string, shape: Shape, steps: number, timeoutMs: number): Promise<ScaleRun> {
  const request = JSON.stringify({ id: 1, scenario: scenario(shape, steps).scenario }) + "\n";
  const child = spawn(python, ["-u", DRIVER_PATH], { stdio: ["pipe", "pipe", "ignore"] });
  const lines = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });
  return new Promise<ScaleRun>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`stopped after ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    let t0 = 0n;
    let baseKb = 0;
    lines.on("line", (line) => {
      if (t0 === 0n) {
        // The hello: the driver is ready.
        baseKb = statusKb(child.pid!, "VmRSS");
        t0 = process.hrtime.bigint();
        child.stdin.write(request);
        return;
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const peakKb = statusKb(child.pid!, "VmHWM");
      clearTimeout(timer);
      child.stdin.end();
      const reply = JSON.parse(line) as { trace?: { end: { kind: string } }; error?: string };
      if (!reply.trace) reject(new Error(`the driver answered: ${reply.error}`));
      else if (reply.trace.end.kind !== "complete") reject(new Error(`the run ended ${JSON.stringify(reply.trace.end)}`));
      else resolve({ seconds, baseKb, peakKb });
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the driver exited (code ${code})`));
    });
  });
}
