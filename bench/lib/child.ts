/**
 * Child processes the bench runs and times: TypeScript scripts under
 * ts-node (transpile only, as bin/aiospec.js runs the CLI), each with a
 * time limit after which it is killed and the row says so.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..");
const TS_NODE = require.resolve("ts-node/dist/bin.js");

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  timedOut: boolean;
}

/** Run a command to its end (or its time limit), collecting its output and its wall time. */
export function runTimed(command: string, args: string[], opts: { timeoutMs: number; input?: string; env?: NodeJS.ProcessEnv }): Promise<Finished> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(command, args, { cwd: ROOT, env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input ?? "");
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seconds: Number(process.hrtime.bigint() - t0) / 1e9, timedOut });
    });
  });
}

/** Run one of the bench's TypeScript scripts in its own Node process. */
export function runScript(script: string, args: string[], timeoutMs: number): Promise<Finished> {
  return runTimed(process.execPath, [TS_NODE, "-T", path.join(ROOT, script), ...args], { timeoutMs });
}

/** The last line of a child's stdout, parsed as JSON. */
export function lastJson<T>(f: Finished): T {
  const lines = f.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as T;
}

/** Why a child gave no result, in a few words. */
export function failure(f: Finished, timeoutMs: number): string {
  if (f.timedOut) return `stopped after ${Math.round(timeoutMs / 1000)} s`;
  // The error's own line, not the stack under it.
  const lines = f.stderr.trim().split("\n").filter((l) => l.trim() !== "" && !/^\s+at /.test(l));
  const line = lines.find((l) => /Error\b/.test(l)) ?? lines[lines.length - 1] ?? "";
  return `failed (exit ${f.code}${line ? `: ${line.trim().slice(0, 160)}` : ""})`;
}
