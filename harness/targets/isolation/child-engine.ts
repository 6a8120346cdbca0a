/**
 * One child process running a TypeScript implementation (the harness's side;
 * harness/targets/isolation/child.ts is the child's side). A child process,
 * not a worker thread: whatever the implementation does to its process
 * (process.exit, process.abort, kill(process.pid, "SIGKILL"), exhausting
 * memory) ends the child, never the run. Everything the child can do wrong
 * becomes a TargetFailure for the case it was running:
 *
 *   no trace within the time limit           timeout  (the child is killed)
 *   the child exits or is killed             crash
 *   it runs out of memory (heap or RSS)      crash    ("out of memory", with the figure)
 *   an uncaught exception / rejection        crash    (thrown from a timer, say)
 *   the implementation throws                error    (the child keeps serving)
 *   a malformed, too deep or oversized trace error    (the child keeps serving)
 *   a reply to a case it was not running     error    (the child is killed)
 *
 * What it prints on stdout / stderr (console.log, fs.writeSync(1, ...)) goes
 * to pipes the harness drains: the first OUTPUT_KEEP bytes of each case are
 * kept for messages, the rest is counted and dropped, so a flood costs the
 * reading of it and no memory.
 *
 * The child runs in its own process group: killing it kills what it started
 * (see also killDescendants for processes that left the group).
 */
import * as path from "node:path";
import { ChildProcess, spawn } from "node:child_process";
import type { Duplex } from "node:stream";
import type { Scenario } from "../../../spec/scenario/types";
import type { Trace } from "../../../spec/scenario/trace";
import { ReplyTooLarge, TargetFailure } from "../errors";
import type { Engine, EngineInfo } from "./supervisor";
import type { ImplSpec } from "./load";
import type { FromChild, ToChild } from "./serve";
import { IsolationLimits, mib, oneLine } from "./limits";
import { traceShapeError } from "./trace-shape";
import { CHANNEL_FD, maxMessageBytes, readLines } from "./channel";
import { track } from "./resources";
import { randomBytes } from "node:crypto";
import { TOKEN_VARIABLE, killProcessTree, residentBytes, stdioPipes } from "./processes";

const ENTRY = path.join(__dirname, "child-entry.js");
/** Bytes of the implementation's output kept per case (for messages); the rest is counted, not kept. */
export const OUTPUT_KEEP = 4096;
/** How often the child's resident memory is read. */
const MEMORY_POLL_MS = 250;
/** Longest wait, once the child exited, for the rest of its output. */
const OUTPUT_DRAIN_MS = 500;

/** Resolves once the child's stdout and stderr have both ended, or after `ms`. */
function drained(child: ChildProcess, ms: number): Promise<void> {
  const ended = (s: NodeJS.ReadableStream | null) =>
    new Promise<void>((resolve) => {
      if (s === null || (s as { readableEnded?: boolean }).readableEnded || (s as { destroyed?: boolean }).destroyed) return resolve();
      s.once("end", resolve);
      s.once("close", resolve);
      s.once("error", resolve);
    });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([Promise.all([ended(child.stdout), ended(child.stderr)]).then(() => {}), late]).finally(() => clearTimeout(timer));
}

interface InFlight {
  seq: number;
  resolve: (t: Trace) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class ChildEngine implements Engine {
  readonly ready: Promise<EngineInfo>;
  private readyResolve!: (i: EngineInfo) => void;
  private readyReject!: (e: Error) => void;
  private child: ChildProcess;
  /** Messages to and from the child, a JSON text a line (channel.ts). */
  private readonly channel: Duplex;
  private inflight: InFlight | null = null;
  private seq = 0;
  /** The implementation's output since the last case started: kept head, and bytes seen. */
  private output = "";
  private outputBytes = 0;
  private deathCallbacks: Array<(reason: string) => void> = [];
  private deadReason: string | null = null;
  /** It could not start because the module was refused (load.ts LoadError), not because of what it did (hang, exit). */
  private refused = false;
  private closing = false;
  private loaded = false;
  private exitedFlag = false;
  private readonly exited: Promise<void>;
  private readonly memoryTimer: NodeJS.Timeout;
  /** The child's stdout / stderr pipes: whoever still holds one after it died was started by it. */
  private pipes: string[];
  /** In the child's environment, and so in that of what it starts. */
  private readonly token = randomBytes(12).toString("hex");

  constructor(spec: ImplSpec, private readonly limits: IsolationLimits, label: string) {
    this.ready = new Promise((res, rej) => {
      this.readyResolve = res;
      this.readyReject = rej;
    });
    this.ready.catch(() => {});
    const posix = process.platform !== "win32";
    // No flags of the harness's own process (a test runner's, a debugger's) reach the implementation.
    this.child = spawn(process.execPath, [`--max-old-space-size=${limits.workerHeapMb}`, ENTRY], {
      // The token is inherited by whatever the implementation starts: it finds a daemon that left every other trace (processes.ts).
      env: { ...process.env, AIOSPEC_CHILD_SPEC: JSON.stringify(spec), AIOSPEC_CHILD_MAX_REPLY: String(limits.maxReplyBytes), [TOKEN_VARIABLE]: this.token },
      // The implementation's console output must never reach the harness's stdout; fd 3 is the channel (channel.ts).
      stdio: ["ignore", "pipe", "pipe", "pipe"],
      detached: posix,
    });
    this.channel = this.child.stdio[CHANNEL_FD] as Duplex;
    const pid = this.child.pid ?? -1;
    this.pipes = stdioPipes(pid);
    const untrack = track({ kind: "process", id: pid, label }, () => killProcessTree(pid, this.pipes, this.token));
    let exitedResolve!: () => void;
    this.exited = new Promise((r) => (exitedResolve = r));
    const echo = !!process.env.AIOSPEC_SHOW_IMPL_OUTPUT;
    const keep = (d: Buffer) => {
      if (echo) process.stderr.write(d);
      if (this.output.length < OUTPUT_KEEP) this.output += d.subarray(0, OUTPUT_KEEP - this.output.length).toString();
      this.outputBytes += d.length;
    };
    this.child.stdout!.on("data", keep);
    this.child.stderr!.on("data", keep);
    this.child.stdout!.on("error", () => {});
    this.child.stderr!.on("error", () => {});
    // A line that is not a message (the implementation wrote to fd 3 itself) is the child's fault, never aiospec's end.
    readLines(this.channel, maxMessageBytes(limits.maxReplyBytes), (line) => this.onLine(line), (bytes) =>
      this.die(`the child process sent a message longer than ${mib(bytes)} on its channel to aiospec`),
    );
    this.channel.on("error", () => {});
    this.child.on("error", (e) => this.die(`the child process failed: ${e.message}`));
    // A child that exits closes its channel first: give the exit a moment to say how it ended.
    this.channel.once("end", () => {
      setTimeout(() => this.die(`the child process closed its channel to aiospec${this.outputNote()}`, "crash"), 1000).unref();
    });
    this.child.on("exit", (code, signal) => {
      this.exitedFlag = true;
      clearInterval(this.memoryTimer);
      // What it started and left in its process group (or beyond) goes with it.
      killProcessTree(pid, this.pipes, this.token);
      untrack();
      // What it wrote just before it exited may still be in the pipes (the
      // exit can be seen first): read them to their end, a moment at most,
      // so that the message quotes it. Then stop reading: grandchildren
      // holding the pipes must not keep the harness alive.
      void drained(this.child, OUTPUT_DRAIN_MS).then(() => {
        this.child.stdout?.destroy();
        this.child.stderr?.destroy();
        this.channel.destroy();
        const when = this.loaded ? "" : " before the implementation was loaded";
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        const oom = /heap out of memory|Reached heap limit/.test(this.output)
          ? `the child process ran out of memory (out of memory: its heap is limited to ${limits.workerHeapMb} MB)`
          : null;
        this.die(oom ?? `the child process ${how}${when}${this.outputNote()}`, "crash");
        exitedResolve();
      });
    });
    // Buffers and native memory are outside the V8 heap limit: watch the whole process.
    this.memoryTimer = setInterval(() => this.checkMemory(pid), MEMORY_POLL_MS);
    this.memoryTimer.unref();
  }

  get dead(): string | null {
    return this.deadReason;
  }

  onDeath(cb: (reason: string) => void): void {
    this.deathCallbacks.push(cb);
  }

  private checkMemory(pid: number): void {
    const bytes = residentBytes(pid);
    const limit = this.limits.memoryMb * 1024 * 1024;
    if (bytes !== null && bytes > limit) {
      this.die(`out of memory: the child process used ${mib(bytes)}, over the ${this.limits.memoryMb} MB memory limit (it was killed)`, "crash");
    }
  }

  /** What the implementation printed during the case, for a failure message. */
  private outputNote(): string {
    const t = this.output.trim();
    if (!t) return "";
    const dropped = this.outputBytes - Buffer.byteLength(this.output);
    return `; its output: ${oneLine(t.slice(-300), 300)}${dropped > 0 ? ` (and ${dropped} more bytes, dropped)` : ""}`;
  }

  private onLine(line: string): void {
    let m: FromChild;
    try {
      m = JSON.parse(line) as FromChild;
    } catch {
      return this.die(`the child process sent a malformed message (not JSON: "${oneLine(line, 60)}"; written to fd ${CHANNEL_FD} by the implementation?)`);
    }
    this.onMessage(m);
  }

  private onMessage(m: FromChild): void {
    if (m === null || typeof m !== "object") return this.die("the child process sent a malformed message");
    if (m.t === "ready") {
      const info = m.info;
      this.loaded = true;
      // Read again now that the child surely runs with its own stdio (at fork time it may not yet).
      if (this.pipes.length === 0 && this.child.pid !== undefined) this.pipes = stdioPipes(this.child.pid);
      this.readyResolve({
        version: info.version,
        description: info.description,
        unsupported: info.unsupported,
        implId: info.implId,
        factory: info.factory,
        ...(info.fullVersion !== undefined ? { fullVersion: info.fullVersion } : {}),
      });
      return;
    }
    if (m.t === "load-error") {
      // The module was refused as it loaded (no export, the contract, a throw while loading): said at once, in one line.
      this.refused = true;
      return this.die(oneLine(String(m.message)));
    }
    if (m.t === "uncaught") return this.die(`uncaught in the child process: ${oneLine(String(m.message))}`);
    if (m.t !== "result") return this.die("the child process sent a malformed message");
    const f = this.inflight;
    if (f === null || m.seq !== f.seq) return this.die("the child process answered a case it was not running");
    this.inflight = null;
    clearTimeout(f.timer);
    if ("error" in m) {
      // The child found the trace over the limit (serve.ts), and goes on serving.
      const message = oneLine(String(m.error));
      f.reject(typeof m.overLimit === "number" ? new ReplyTooLarge(message, m.overLimit) : new TargetFailure("error", message));
      return;
    }
    const checked = this.readTrace(m.json);
    if (checked instanceof ReplyTooLarge) f.reject(checked);
    else if (typeof checked === "string") f.reject(new TargetFailure("error", checked));
    else f.resolve(checked);
  }

  /** The trace in a reply, or why it is not one. */
  private readTrace(json: unknown): Trace | string | ReplyTooLarge {
    if (typeof json !== "string") return "the child process sent no trace";
    const bytes = Buffer.byteLength(json, "utf8");
    if (bytes > this.limits.maxReplyBytes) return new ReplyTooLarge(`the trace is ${mib(bytes)} of JSON, over the ${mib(this.limits.maxReplyBytes)} limit`, this.limits.maxReplyBytes);
    let trace: unknown;
    try {
      trace = JSON.parse(json);
    } catch (e) {
      return `the trace is not valid JSON: ${(e as Error).message}`;
    }
    const bad = traceShapeError(trace);
    return bad !== null ? `malformed trace: ${bad}` : (trace as Trace);
  }

  /** The child can serve no more: fail the case in flight, kill the child, tell the supervisor. */
  private die(reason: string, verdict: "timeout" | "error" | "crash" = "error"): void {
    if (this.deadReason !== null) return;
    this.deadReason = reason;
    clearInterval(this.memoryTimer);
    const f = this.inflight;
    this.inflight = null;
    if (f !== null) {
      clearTimeout(f.timer);
      f.reject(new TargetFailure(verdict, reason));
    }
    this.readyReject(Object.assign(new Error(reason), { refused: this.refused }));
    this.kill();
    if (!this.closing) for (const cb of this.deathCallbacks) cb(reason);
  }

  private kill(): void {
    if (this.child.pid !== undefined) killProcessTree(this.child.pid, this.pipes, this.token);
  }

  run(scenario: Scenario, timeoutMs: number): Promise<Trace> {
    if (this.deadReason !== null) return Promise.reject(new TargetFailure("error", this.deadReason));
    if (this.inflight !== null) return Promise.reject(new TargetFailure("error", "the child process is already running a case"));
    this.output = "";
    this.outputBytes = 0;
    return new Promise<Trace>((resolve, reject) => {
      const seq = ++this.seq;
      const timer = setTimeout(
        () => this.die(`timed out: no trace after ${timeoutMs} ms (the child process running the case was killed)`, "timeout"),
        timeoutMs,
      );
      this.inflight = { seq, resolve, reject, timer };
      try {
        this.channel.write(JSON.stringify({ t: "run", seq, scenario } satisfies ToChild) + "\n");
      } catch (e) {
        this.inflight = null;
        clearTimeout(timer);
        reject(new TargetFailure("error", `the scenario cannot be sent to the child process: ${(e as Error).message}`));
      }
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.deadReason === null) {
      this.deadReason = "closed";
      clearInterval(this.memoryTimer);
      const f = this.inflight;
      this.inflight = null;
      if (f !== null) {
        clearTimeout(f.timer);
        f.reject(new TargetFailure("error", "the target was closed while the case was running"));
      }
      this.readyReject(new Error("closed before it was ready"));
    }
    if (!this.exitedFlag) this.kill();
    // SIGKILL cannot be ignored; the timer is a last resort against a process stuck in the kernel.
    await Promise.race([this.exited, new Promise<void>((r) => setTimeout(r, 5000).unref())]);
  }
}
