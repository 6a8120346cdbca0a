/**
 * A client for out-of-process drivers: one long-lived child process that
 * reads scenarios as JSON lines on stdin and writes traces as JSON lines on
 * stdout (implementations/python/aiospec_driver.py is the first of them).
 *
 * Requests are pipelined: many can be in flight, replies are matched by id.
 */
import { ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import * as readline from "node:readline";
import type { Scenario } from "../spec/scenario/types";
import type { Trace } from "../spec/scenario/trace";

export interface DriverHello {
  protocol: number;
  implementation: string;
  python: string;
  version: string;
  task: string;
  executable: string;
}

export interface DriverOptions {
  /** "c" (default) or "py": which Task class runs the scenario. */
  task?: "c" | "py";
}

export class DriverError extends Error {}

interface Pending {
  resolve: (t: Trace) => void;
  reject: (e: Error) => void;
}

export class DriverProcess {
  private child: ChildProcessWithoutNullStreams;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private stderr = "";
  private exited: string | null = null;
  readonly hello: Promise<DriverHello>;

  constructor(readonly command: string, readonly args: string[], readonly options: DriverOptions = {}) {
    this.child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let helloResolve!: (h: DriverHello) => void;
    let helloReject!: (e: Error) => void;
    this.hello = new Promise((res, rej) => {
      helloResolve = res;
      helloReject = rej;
    });
    this.hello.catch(() => {});
    let gotHello = false;
    const lines = readline.createInterface({ input: this.child.stdout });
    lines.on("line", (line) => {
      let msg: any;
      try {
        msg = JSON.parse(line);
      } catch {
        this.fail(`driver printed a line that is not JSON: ${line.slice(0, 200)}`);
        return;
      }
      if (!gotHello) {
        gotHello = true;
        if (msg && msg.hello) helloResolve(msg.hello);
        else helloReject(new DriverError(`driver did not introduce itself: ${line.slice(0, 200)}`));
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new DriverError(String(msg.error)));
      else p.resolve(msg.trace as Trace);
    });
    this.child.stderr.on("data", (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.child.on("error", (e) => {
      const err = new DriverError(`cannot start driver ${command}: ${e.message}`);
      helloReject(err);
      this.fail(err.message);
    });
    this.child.on("exit", (code, signal) => {
      const why = `driver exited (${signal ?? `code ${code}`})${this.stderr ? `: ${this.stderr.trim().split("\n").slice(-3).join(" | ")}` : ""}`;
      if (!gotHello) helloReject(new DriverError(why));
      this.fail(why);
    });
    this.child.stdin.on("error", () => {});
  }

  private fail(why: string): void {
    this.exited = why;
    for (const p of this.pending.values()) p.reject(new DriverError(why));
    this.pending.clear();
  }

  run(scenario: Scenario): Promise<Trace> {
    if (this.exited !== null) return Promise.reject(new DriverError(this.exited));
    const id = this.nextId++;
    return new Promise<Trace>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const options = this.options.task ? { task: this.options.task } : {};
      this.child.stdin.write(JSON.stringify({ id, scenario, options }) + "\n");
    });
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}
