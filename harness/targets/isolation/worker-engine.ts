/**
 * One worker thread running a TypeScript implementation (the parent's side;
 * harness/targets/isolation/worker.ts is the thread's side). It turns everything the
 * thread can do wrong into a TargetFailure for the case it was running:
 *
 *   no trace within the time limit      timeout   (the thread is terminated)
 *   the thread exits (process.exit)     error
 *   an uncaught exception / rejection   error     (thrown from a timer, say)
 *   the heap limit is exhausted         error
 *   the implementation throws           error     (the thread keeps serving)
 *   a malformed or oversized trace      error     (the thread keeps serving)
 */
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import type { Scenario } from "../../../spec/scenario/types";
import type { Trace } from "../../../spec/scenario/trace";
import { TargetFailure } from "../errors";
import type { Engine, EngineInfo } from "./supervisor";
import type { ImplSpec } from "./load";
import { describeThrown } from "./load";
import type { FromWorker, ToWorker } from "./worker";
import { IsolationLimits, mib, oneLine } from "./limits";
import { traceShapeError } from "./trace-shape";
import { track } from "./resources";

const ENTRY = path.join(__dirname, "worker-entry.js");
const OUTPUT_TAIL = 2000;

interface InFlight {
  seq: number;
  resolve: (t: Trace) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class WorkerEngine implements Engine {
  readonly ready: Promise<EngineInfo>;
  private readyResolve!: (i: EngineInfo) => void;
  private readyReject!: (e: Error) => void;
  private worker: Worker;
  private inflight: InFlight | null = null;
  private seq = 0;
  private output = "";
  private deathCallbacks: Array<(reason: string) => void> = [];
  private deadReason: string | null = null;
  private closing = false;
  private loaded = false;
  private readonly exited: Promise<void>;

  constructor(spec: ImplSpec, private readonly limits: IsolationLimits, label: string) {
    this.ready = new Promise((res, rej) => {
      this.readyResolve = res;
      this.readyReject = rej;
    });
    this.ready.catch(() => {});
    this.worker = new Worker(ENTRY, {
      workerData: { spec, maxReplyBytes: limits.maxReplyBytes },
      // The implementation's console output must never reach the harness's stdout.
      stdout: true,
      stderr: true,
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: limits.workerHeapMb },
    });
    const untrack = track({ kind: "worker", id: this.worker.threadId, label });
    let exitedResolve!: () => void;
    this.exited = new Promise((r) => (exitedResolve = r));
    const echo = !!process.env.AIOSPEC_SHOW_IMPL_OUTPUT;
    const keep = (d: Buffer | string) => {
      const s = d.toString();
      if (echo) process.stderr.write(s);
      this.output = (this.output + s).slice(-OUTPUT_TAIL);
    };
    this.worker.stdout.on("data", keep);
    this.worker.stderr.on("data", keep);
    this.worker.on("message", (m: FromWorker) => this.onMessage(m));
    this.worker.on("messageerror", (e) => this.die(`a message from the worker thread could not be read: ${describeThrown(e)}`));
    this.worker.on("error", (e: unknown) => {
      const code = (e as { code?: string } | null)?.code;
      if (code === "ERR_WORKER_OUT_OF_MEMORY") {
        this.die(`the worker thread ran out of memory (its heap is limited to ${limits.workerHeapMb} MB)`);
      } else {
        this.die(`uncaught in the worker thread: ${describeThrown(e)}`);
      }
    });
    this.worker.on("exit", (code) => {
      untrack();
      const when = this.loaded ? "" : " before the implementation was loaded";
      this.die(`the worker thread exited with code ${code}${when}${this.outputTail()}`);
      exitedResolve();
    });
  }

  get dead(): string | null {
    return this.deadReason;
  }

  onDeath(cb: (reason: string) => void): void {
    this.deathCallbacks.push(cb);
  }

  private outputTail(): string {
    const t = this.output.trim();
    return t ? `; its last output: ${oneLine(t.slice(-300), 300)}` : "";
  }

  private onMessage(m: FromWorker): void {
    if (m === null || typeof m !== "object") return this.die("the worker thread sent a malformed message");
    if (m.t === "ready") {
      const info = m.info;
      this.loaded = true;
      this.readyResolve({
        version: info.version,
        description: info.description,
        unsupported: info.unsupported,
        implId: info.implId,
        factory: info.factory,
      });
      return;
    }
    if (m.t === "load-error") return this.die(oneLine(m.message));
    if (m.t !== "result") return this.die("the worker thread sent a malformed message");
    const f = this.inflight;
    if (f === null || m.seq !== f.seq) return this.die("the worker thread answered a case it was not running");
    this.inflight = null;
    clearTimeout(f.timer);
    if ("error" in m) {
      f.reject(new TargetFailure("error", oneLine(String(m.error))));
      return;
    }
    if (typeof m.json !== "string") {
      f.reject(new TargetFailure("error", "the worker thread sent no trace"));
      return;
    }
    const bytes = Buffer.byteLength(m.json, "utf8");
    if (bytes > this.limits.maxReplyBytes) {
      f.reject(new TargetFailure("error", `the trace is ${mib(bytes)} of JSON, over the ${mib(this.limits.maxReplyBytes)} limit`));
      return;
    }
    let trace: unknown;
    try {
      trace = JSON.parse(m.json);
    } catch (e) {
      f.reject(new TargetFailure("error", `the trace is not valid JSON: ${(e as Error).message}`));
      return;
    }
    const bad = traceShapeError(trace);
    if (bad !== null) {
      f.reject(new TargetFailure("error", `malformed trace: ${bad}`));
      return;
    }
    f.resolve(trace as Trace);
  }

  /** The thread can serve no more: fail the case in flight, stop the thread, tell the supervisor. */
  private die(reason: string, verdict: "timeout" | "error" = "error"): void {
    if (this.deadReason !== null) return;
    this.deadReason = reason;
    const f = this.inflight;
    this.inflight = null;
    if (f !== null) {
      clearTimeout(f.timer);
      f.reject(new TargetFailure(verdict, reason));
    }
    this.readyReject(new Error(reason));
    void this.worker.terminate().catch(() => {});
    if (!this.closing) for (const cb of this.deathCallbacks) cb(reason);
  }

  run(scenario: Scenario, timeoutMs: number): Promise<Trace> {
    if (this.deadReason !== null) return Promise.reject(new TargetFailure("error", this.deadReason));
    if (this.inflight !== null) return Promise.reject(new TargetFailure("error", "the worker thread is already running a case"));
    return new Promise<Trace>((resolve, reject) => {
      const seq = ++this.seq;
      const timer = setTimeout(
        () => this.die(`timed out: no trace after ${timeoutMs} ms (the worker thread running the case was stopped)`, "timeout"),
        timeoutMs,
      );
      this.inflight = { seq, resolve, reject, timer };
      try {
        this.worker.postMessage({ t: "run", seq, scenario } satisfies ToWorker);
      } catch (e) {
        this.inflight = null;
        clearTimeout(timer);
        reject(new TargetFailure("error", `the scenario cannot be sent to the worker thread: ${describeThrown(e)}`));
      }
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.deadReason === null) {
      this.deadReason = "closed";
      const f = this.inflight;
      this.inflight = null;
      if (f !== null) {
        clearTimeout(f.timer);
        f.reject(new TargetFailure("error", "the target was closed while the case was running"));
      }
      this.readyReject(new Error("closed before it was ready"));
    }
    void this.worker.terminate().catch(() => {});
    // terminate() stops even a thread spinning in a loop; the timer is a last resort.
    await Promise.race([this.exited, new Promise<void>((r) => setTimeout(r, 5000).unref())]);
  }
}
