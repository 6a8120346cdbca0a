/**
 * A client for out-of-process drivers: one long-lived child process that
 * reads scenarios as JSON lines on stdin and writes traces as JSON lines on
 * stdout (implementations/python/aiospec_driver.py is the first of them;
 * docs/adapters.md specifies the protocol).
 *
 * Requests may be pipelined (many in flight). A driver works on one at a
 * time, in the order they came, so a request's time limit starts when the
 * driver can start on it: when it is the oldest one still unanswered. A
 * driver that says `"pipeline": N` in its hello answers in that order, and
 * the isolation layer (harness/targets/isolation/supervisor.ts) keeps up to
 * N requests in flight to it (one to any other driver), so that the driver
 * never waits for the harness between two scenarios.
 *
 * The driver is untrusted: every way it can misbehave rejects the requests
 * in flight with a DriverError (a TargetFailure: verdict "timeout" or
 * "error") instead of hanging or crashing the harness:
 *
 *   no reply within the request's time limit     timeout  (the driver is killed)
 *   the driver exits                              crash
 *   a stdout line that is not JSON, or not a reply error    (the driver is killed)
 *   a reply to a request that is not pending      error    (the driver is killed)
 *   a pipelining driver answers out of order      error    (the driver is killed)
 *   a reply longer than maxLineBytes              error    (the driver keeps serving: the line is passed over)
 *   any other line longer than that               error    (the driver is killed)
 *   {"id": N, "error": "..."}                     error    (the driver keeps serving)
 *   a malformed trace                             error    (the driver keeps serving)
 *
 * When the driver is killed, the verdict goes to the request it was working
 * on (the oldest one in flight); the requests behind it, which it had not
 * started, are rejected with a NotStartedError, for the caller to send again
 * to a fresh driver.
 *
 * On POSIX the driver runs in its own process group, and killing it kills
 * the group: a driver started through a wrapper (a shell script, `env`,
 * `uv run`) leaves nothing behind. A process it started in a new session
 * (setsid) is killed too, found as its descendant, as a holder of its
 * stdout / stderr, or, a daemon that kept neither, by the token the driver
 * has in its environment and passes on (isolation/processes.ts); once the
 * driver is gone the harness stops reading those pipes, so nothing it left
 * keeps the run alive.
 */
import { ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import type { Scenario } from "../../spec/scenario/types";
import type { Trace } from "../../spec/scenario/trace";
import { ReplyTooLarge, TargetFailure } from "./errors";
import { traceShapeError } from "./isolation/trace-shape";
import { DEFAULT_LIMITS, mib, oneLine } from "./isolation/limits";
import { track } from "./isolation/resources";
import { TOKEN_VARIABLE, killProcessTree, residentBytes, stdioPipes } from "./isolation/processes";
import { randomBytes } from "node:crypto";
import { FEATURES } from "../../spec/scenario/validate";
import { PYTHON_VERSIONS, isPythonVersion } from "../../spec/scenario/versions";
import type { Engine, EngineInfo } from "./isolation/supervisor";
import { scenarioJson } from "./target";

export const PROTOCOL = 1;

export interface DriverHello {
  protocol: number;
  /** The Python version whose behaviour the driver claims ("3.13"). */
  version: string;
  /** What runs the scenarios ("CPython", "PyPy", "my-loop"). */
  implementation: string;
  /** The full version of that implementation ("3.13.1"). */
  python: string;
  /** "C" or "py" for the Python driver's Task class; free text otherwise. */
  task: string;
  executable: string;
  /** The event loop the driver runs ("asyncio", "uvloop", "nest_asyncio", "MODULE:FACTORY"). */
  loop?: string;
  /** The loop package's version, when it has one. */
  loop_version?: string | null;
  /** "virtual": the loop's clock is virtual; "real": one tick is tick_ms milliseconds of real time. */
  clock?: "virtual" | "real";
  tick_ms?: number;
  /**
   * "deterministic": what a collection frees follows from the program (CPython's
   * reference counting); "nondeterministic": it also depends on what the
   * process ran before (PyPy): the harness gives each clause a fresh process.
   */
  gc?: "deterministic" | "nondeterministic";
  /** Scenario features (spec/scenario/validate.ts FEATURES) the driver cannot run: scenarios using them are skipped. */
  unsupported?: string[];
  /**
   * How many requests the driver accepts in flight (an integer >= 1). A driver
   * that says so answers them in the order they came; without it the harness
   * sends one request at a time.
   */
  pipeline?: number;
}

export interface DriverOptions {
  /** "c" (default) or "py": which Task class runs the scenario (sent as a request option). */
  task?: "c" | "py";
  /** Longest stdout line accepted, in bytes (default 8 MiB): a longer one kills the driver. */
  maxLineBytes?: number;
  /** Working directory of the driver (default: the harness's). */
  cwd?: string;
  /** A name for messages and the resource registry (default: the command). */
  label?: string;
  /** Resident memory the driver process may use, in MB (default: no limit); past it, the case in flight is "out of memory". */
  memoryMb?: number;
}

export interface RunRequestOptions {
  /** Reject with verdict "timeout" (and kill the driver) when no reply comes within this many ms. */
  timeoutMs?: number;
}

/** A driver failed to produce a trace; `verdict` says how ("timeout" or "error"). */
export class DriverError extends TargetFailure {
  constructor(message: string, verdict: "timeout" | "error" | "crash" = "error") {
    super(verdict, message);
  }
}

/**
 * A request behind the one that made the driver fail: the driver never
 * started on it, so it has no verdict of its own; send it again to a fresh driver.
 */
export class NotStartedError extends DriverError {
  readonly notStarted = true;
}

/**
 * The most requests the harness keeps in flight to a driver that pipelines
 * (the Python driver says 64): as wide as the runner's and the diff's
 * windows, so that a window goes to the driver in one write.
 */
export const MAX_PIPELINE = 64;

interface Pending {
  resolve: (t: Trace) => void;
  reject: (e: Error) => void;
  /** The request's time limit, armed when the driver can start on it (when it is the oldest pending). */
  timeoutMs?: number;
  timer?: NodeJS.Timeout;
}

const STDERR_TAIL = 4000;
const KILL_GRACE_MS = 1000;

function preview(s: string): string {
  return JSON.stringify(s.length > 120 ? s.slice(0, 120) + "…" : s);
}

export class DriverProcess {
  private child: ChildProcessWithoutNullStreams;
  private nextId = 1;
  /** Requests in flight, oldest first (a Map keeps insertion order). */
  private pending = new Map<number, Pending>();
  /** The driver said it pipelines: it answers in order. */
  private inOrder = false;
  private stderr = "";
  private deadReason: string | null = null;
  private exitedFlag = false;
  private closing = false;
  private deathCallbacks: Array<(reason: string) => void> = [];
  private helloResolve!: (h: DriverHello) => void;
  private helloReject!: (e: Error) => void;
  private gotHello = false;
  private parts: Buffer[] = [];
  private partBytes = 0;
  private readonly maxLineBytes: number;
  private readonly label: string;
  private readonly exited: Promise<void>;
  /** The driver's stdout / stderr pipes, to find what still holds them once it is gone. */
  private pipes: string[] = [];
  /** In the driver's environment, and so in that of what it starts: finds a daemon that kept no other tie to it. */
  private readonly token = randomBytes(12).toString("hex");
  readonly hello: Promise<DriverHello>;
  /** The options every request carries, as JSON. */
  private readonly optionsJson: string;

  constructor(readonly command: string, readonly args: string[], readonly options: DriverOptions = {}) {
    this.optionsJson = JSON.stringify(options.task ? { task: options.task } : {});
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_LIMITS.maxReplyBytes;
    this.label = options.label ?? command;
    this.hello = new Promise((res, rej) => {
      this.helloResolve = res;
      this.helloReject = rej;
    });
    this.hello.catch(() => {});
    let exitedResolve!: () => void;
    this.exited = new Promise((r) => (exitedResolve = r));
    const posix = process.platform !== "win32";
    const env = { ...process.env, [TOKEN_VARIABLE]: this.token };
    this.child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], cwd: options.cwd, detached: posix, env });
    let untrack = () => {};
    if (this.child.pid !== undefined) {
      const pid = this.child.pid;
      this.pipes = stdioPipes(pid);
      untrack = track({ kind: "process", id: pid, label: this.label }, () => this.signal("SIGKILL"));
    }
    const gone = () => {
      if (this.exitedFlag) return;
      this.exitedFlag = true;
      // Whatever the driver started and left in its process group goes with it.
      this.signal("SIGKILL");
      untrack();
      exitedResolve();
      // A process that escaped the kill may still hold the pipes: stop reading
      // them soon (a last reply may still be in them), so it cannot keep the run alive.
      setTimeout(() => {
        this.child.stdout.destroy();
        this.child.stderr.destroy();
      }, 200).unref();
    };
    this.child.stdout.on("data", (d: Buffer) => this.onData(d));
    this.child.stdout.on("error", () => {});
    this.child.stderr.on("data", (d: Buffer) => {
      if (process.env.AIOSPEC_SHOW_IMPL_OUTPUT) process.stderr.write(d);
      this.stderr = (this.stderr + d.toString()).slice(-STDERR_TAIL);
    });
    this.child.stderr.on("error", () => {});
    this.child.stdin.on("error", () => {});
    this.child.on("error", (e: NodeJS.ErrnoException) => {
      if (this.child.pid === undefined) {
        const hint = e.code === "ENOENT" ? " (no such program)" : e.code === "EACCES" ? " (not executable)" : "";
        this.fail(`cannot start ${command}: ${e.code ?? e.message}${hint}`);
        gone();
      } else {
        this.fail(`driver process error: ${e.message}`);
      }
    });
    // A driver may write its last reply and exit at once: the reply is read
    // ('close' comes after the last stdout data) before the driver is declared dead.
    let exitReason: string | null = null;
    const ended = () => {
      if (exitReason !== null) this.fail(exitReason, "crash");
    };
    // Memory outside any language's own limit: watch the process, as for a module's child.
    const memoryLimit = options.memoryMb;
    const memoryTimer = memoryLimit === undefined ? null : setInterval(() => {
      const bytes = this.child.pid === undefined ? null : residentBytes(this.child.pid);
      if (bytes !== null && bytes > memoryLimit * 1024 * 1024) {
        this.fail(`out of memory: the driver used ${mib(bytes)}, over the ${memoryLimit} MB memory limit (it was killed)`, "crash");
      }
    }, 250);
    memoryTimer?.unref();
    this.child.on("exit", (code, signal) => {
      if (memoryTimer) clearInterval(memoryTimer);
      gone();
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      exitReason = `the driver ${how}${this.gotHello ? "" : " before introducing itself"}`;
      // Its stdout may stay open in a process it left behind: do not wait for 'close' long.
      setTimeout(() => {
        if (exitReason !== null) this.fail(exitReason + this.stderrTail(), "crash");
      }, 200).unref();
    });
    this.child.on("close", () => {
      if (exitReason !== null) exitReason += this.stderrTail();
      ended();
    });
  }

  get dead(): string | null {
    return this.deadReason;
  }

  /** Called once when the driver dies or is killed after a failure (not after close()). */
  onDeath(cb: (reason: string) => void): void {
    this.deathCallbacks.push(cb);
  }

  private stderrTail(): string {
    const t = this.stderr.trim();
    return t ? `: ${oneLine(t.split("\n").slice(-3).join("\n"), 300)}` : "";
  }

  private signal(sig: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      // The group outlives its leader while processes the driver started remain.
      if (sig === "SIGKILL" && process.platform === "linux") killProcessTree(pid, this.pipes, this.token);
      else if (process.platform !== "win32") process.kill(-pid, sig);
      else if (!this.exitedFlag) this.child.kill(sig);
    } catch {
      /* gone */
    }
  }

  /** Passing over the rest of a reply longer than the limit, up to its newline (tooLong). */
  private skipping = false;

  private onData(chunk: Buffer): void {
    while (this.deadReason === null) {
      const nl = chunk.indexOf(10);
      if (this.skipping) {
        if (nl < 0) return;
        this.skipping = false;
        chunk = chunk.subarray(nl + 1);
        continue;
      }
      if (nl < 0) {
        if (this.partBytes + chunk.length > this.maxLineBytes) {
          if (this.tooLong()) this.skipping = true;
          return;
        }
        if (chunk.length > 0) {
          this.parts.push(chunk);
          this.partBytes += chunk.length;
        }
        return;
      }
      const head = chunk.subarray(0, nl);
      if (this.partBytes + head.length > this.maxLineBytes) {
        if (!this.tooLong()) return;
        chunk = chunk.subarray(nl + 1);
        continue;
      }
      const line = this.parts.length ? Buffer.concat([...this.parts, head]) : head;
      this.parts = [];
      this.partBytes = 0;
      chunk = chunk.subarray(nl + 1);
      // Without a final \r (a CRLF line end), dropped as a byte rather than by a second pass over the text.
      const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length;
      this.onLine(line.toString("utf8", 0, end));
    }
  }

  /**
   * A line longer than the reply limit. A reply, and whose it is (the oldest
   * request in flight: the driver answers in order, or has one request),
   * fails its request, and the rest of the line is passed over: a trace too
   * large to take is the scenario's, not a misbehaving driver (a generated
   * scenario whose tasks list all_tasks() over and over writes tens of MiB).
   * Any other line kills the driver. True when the driver goes on.
   */
  private tooLong(): boolean {
    const why = `the driver wrote a line longer than ${mib(this.maxLineBytes)} (the reply limit)`;
    const first = this.pending.entries().next();
    if (!this.gotHello || first.done || (!this.inOrder && this.pending.size !== 1)) {
      this.fail(why);
      return false;
    }
    const [id, p] = first.value;
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    this.parts = [];
    this.partBytes = 0;
    this.armOldest();
    p.reject(new ReplyTooLarge(`the driver's reply is longer than ${mib(this.maxLineBytes)} (the reply limit); the driver goes on`, this.maxLineBytes));
    return true;
  }

  private onLine(line: string): void {
    if (line.trim() === "") return;
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.fail(`the driver printed a line that is not JSON: ${preview(line)}`);
      return;
    }
    if (!this.gotHello) {
      this.gotHello = true;
      // Read again now that the driver surely runs with its own stdio (at spawn time it may not yet).
      if (this.pipes.length === 0 && this.child.pid !== undefined) this.pipes = stdioPipes(this.child.pid);
      const why = helloProblem(msg);
      if (why !== null) {
        this.fail(`${why}: ${preview(line)}`);
        return;
      }
      const h = (msg as { hello: Record<string, unknown> }).hello;
      const text = (k: string) => (typeof h[k] === "string" ? (h[k] as string) : "");
      const hello: DriverHello = {
        protocol: h.protocol as number,
        version: h.version as string,
        implementation: text("implementation"),
        python: text("python"),
        task: text("task"),
        executable: text("executable"),
      };
      // The optional fields pass through as the driver sent them; `unsupported`
      // is checked by the caller (driverEngine, below), which knows the features.
      if (typeof h.loop === "string") hello.loop = h.loop;
      if (typeof h.loop_version === "string" || h.loop_version === null) hello.loop_version = h.loop_version as string | null;
      if (h.clock === "virtual" || h.clock === "real") hello.clock = h.clock;
      if (typeof h.tick_ms === "number" && Number.isFinite(h.tick_ms) && h.tick_ms > 0) hello.tick_ms = h.tick_ms;
      if (h.gc === "deterministic" || h.gc === "nondeterministic") hello.gc = h.gc;
      if (h.unsupported !== undefined) hello.unsupported = h.unsupported as string[];
      if (typeof h.pipeline === "number" && Number.isInteger(h.pipeline) && h.pipeline >= 1) {
        hello.pipeline = h.pipeline;
        this.inOrder = h.pipeline > 1;
      }
      this.helloResolve(hello);
      return;
    }
    if (typeof msg !== "object" || msg === null || Array.isArray(msg) || !("id" in msg)) {
      this.fail(`the driver printed a line that is not a reply: ${preview(line)}`);
      return;
    }
    const m = msg as { id: unknown; trace?: unknown; error?: unknown };
    if (m.id === null && m.error !== undefined) {
      this.fail(`the driver could not read a request: ${oneLine(String(m.error), 300)}`);
      return;
    }
    const p = typeof m.id === "number" ? this.pending.get(m.id) : undefined;
    if (p === undefined) {
      const waiting = [...this.pending.keys()];
      this.fail(
        `the driver answered request ${JSON.stringify(m.id)}, which is not pending (${waiting.length ? `waiting for ${waiting.join(", ")}` : "none is"})`,
      );
      return;
    }
    const oldest = this.pending.keys().next().value as number;
    if (this.inOrder && m.id !== oldest) {
      this.fail(`the driver answered request ${m.id} before request ${oldest}, though it said it pipelines (answers in order)`);
      return;
    }
    this.pending.delete(m.id as number);
    if (p.timer) clearTimeout(p.timer);
    this.armOldest();
    if (m.error !== undefined) {
      p.reject(new DriverError(oneLine(typeof m.error === "string" ? m.error : JSON.stringify(m.error), 600)));
      return;
    }
    if (m.trace === undefined) {
      p.reject(new DriverError("the driver's reply has neither a trace nor an error"));
      return;
    }
    const bad = traceShapeError(m.trace, line);
    if (bad !== null) {
      p.reject(new DriverError(`malformed trace: ${bad}`));
      return;
    }
    p.resolve(m.trace as Trace);
  }

  /**
   * The time limit of the oldest request starts now, when the driver can
   * start on it (it works on one request at a time, in order).
   */
  private armOldest(): void {
    const first = this.pending.entries().next();
    if (first.done) return;
    const [id, p] = first.value;
    if (p.timer !== undefined || p.timeoutMs === undefined) return;
    const ms = p.timeoutMs;
    p.timer = setTimeout(() => this.fail(`timed out: no reply after ${ms} ms (the driver was killed)`, "timeout"), ms);
  }

  /**
   * The driver can serve no more: the request it was working on (the oldest
   * in flight) gets the verdict, those behind it a NotStartedError; kill it,
   * tell who listens.
   */
  private fail(why: string, verdict: "error" | "crash" | "timeout" = "error"): void {
    if (this.deadReason !== null) return;
    this.deadReason = why;
    this.helloReject(new DriverError(why));
    let first: number | null = null;
    for (const [id, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      if (first === null) {
        first = id;
        p.reject(new DriverError(why, verdict));
      } else p.reject(new NotStartedError(`not run: the driver was killed while it ran request ${first} (${oneLine(why, 200)})`));
    }
    this.pending.clear();
    this.parts = [];
    this.partBytes = 0;
    this.signal("SIGKILL");
    if (!this.closing) for (const cb of this.deathCallbacks) cb(why);
  }

  run(scenario: Scenario, opts: RunRequestOptions = {}): Promise<Trace> {
    if (this.deadReason !== null) return Promise.reject(new DriverError(this.deadReason));
    const id = this.nextId++;
    return new Promise<Trace>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, timeoutMs: opts.timeoutMs });
      this.armOldest();
      // JSON.stringify({ id, scenario, options }), with the scenario's JSON
      // written once for the memo's key and this request (target.ts).
      this.send(`{"id":${id},"scenario":${scenarioJson(scenario)},"options":${this.optionsJson}}\n`);
    });
  }

  /** Request lines not yet written: those sent in the same turn of the event loop go in one write. */
  private outbox: string[] = [];

  /**
   * Write a request line, together with the others sent before the event
   * loop turns (a pipelining caller sends several at once): one write, one
   * wake-up of the driver, instead of one each (each write to the pipe cost
   * the harness tens of microseconds, most of it waking the driver).
   */
  private send(line: string): void {
    this.outbox.push(line);
    if (this.outbox.length > 1) return;
    setImmediate(() => {
      const text = this.outbox.join("");
      this.outbox = [];
      if (this.deadReason === null && !this.closing) this.child.stdin.write(text);
    });
  }

  /** End the driver: close its stdin, ask it to stop, kill it if it lingers. Resolves once it is gone. */
  close(): Promise<void> {
    this.closing = true;
    if (this.deadReason === null) {
      this.deadReason = "closed";
      this.helloReject(new DriverError("the driver was closed"));
      for (const p of this.pending.values()) {
        if (p.timer) clearTimeout(p.timer);
        p.reject(new DriverError("the driver was closed while the request was running"));
      }
      this.pending.clear();
    }
    if (!this.exitedFlag) {
      this.child.stdin.end();
      this.signal("SIGTERM");
      const t = setTimeout(() => this.signal("SIGKILL"), KILL_GRACE_MS);
      void this.exited.then(() => clearTimeout(t));
    }
    return this.exited;
  }
}

/** Why a first line is not a valid hello, or null. */
function helloProblem(msg: unknown): string | null {
  if (typeof msg !== "object" || msg === null || !("hello" in msg)) return "the driver did not introduce itself (its first line must be {\"hello\": {...}})";
  const h = (msg as { hello: unknown }).hello;
  if (typeof h !== "object" || h === null) return "the driver's hello is not an object";
  const x = h as Record<string, unknown>;
  if (x.protocol !== PROTOCOL) return `the driver speaks protocol ${JSON.stringify(x.protocol)}; aiospec speaks ${PROTOCOL}`;
  if (typeof x.version !== "string") return "the driver's hello has no version (the Python version it claims, e.g. \"3.13\")";
  return null;
}

/** An engine around a driver process: ready once it said a valid hello. */
export function driverEngine(
  command: string,
  args: string[],
  label: string,
  limits: { maxReplyBytes: number; memoryMb?: number },
  task: "c" | "py" | undefined,
  describe: (h: DriverHello) => string,
  check: (h: DriverHello) => string | null = () => null,
): Engine {
  const driver = new DriverProcess(command, args, { task, maxLineBytes: limits.maxReplyBytes, label, memoryMb: limits.memoryMb });
  const ready = driver.hello.then((h): EngineInfo => {
    if (!isPythonVersion(h.version)) {
      void driver.close();
      const who = h.python ? `${h.implementation || "the driver"} ${h.python}` : "the driver";
      throw new Error(`${command} is ${who}, claiming Python ${h.version}; aiospec knows ${PYTHON_VERSIONS.join(", ")}`);
    }
    const unsupported = h.unsupported ?? [];
    if (!Array.isArray(unsupported) || unsupported.some((f) => typeof f !== "string")) {
      void driver.close();
      throw new Error(`${command} said hello with "unsupported" ${JSON.stringify(unsupported)}: expected a list of feature names`);
    }
    const unknown = unsupported.filter((f) => !FEATURES.includes(f));
    if (unknown.length > 0) {
      void driver.close();
      throw new Error(`${command} declares unknown feature(s) ${unknown.map((f) => JSON.stringify(f)).join(", ")} unsupported; features are ${FEATURES.join(", ")}`);
    }
    const wrong = check(h);
    if (wrong !== null) {
      void driver.close();
      throw new Error(wrong);
    }
    return {
      version: h.version,
      description: describe(h),
      unsupported,
      clock: h.clock ?? "virtual",
      ...(h.tick_ms !== undefined ? { tickMs: h.tick_ms } : {}),
      ...(h.gc === "nondeterministic" ? { gc: "nondeterministic" as const } : {}),
      ...(h.python ? { fullVersion: h.python } : {}),
      ...(task === "py" || h.task === "py" ? { task: "py" as const } : h.task === "C" ? { task: "C" as const } : {}),
      // Several requests in flight, up to what the driver accepts; not on a real clock,
      // where the harness's work beside a running scenario could make it stray from its ticks.
      ...(h.pipeline !== undefined && h.pipeline > 1 && h.clock !== "real" ? { pipeline: Math.min(h.pipeline, MAX_PIPELINE) } : {}),
    };
  });
  ready.catch(() => {});
  return {
    ready,
    run: (s, timeoutMs) => driver.run(s, { timeoutMs }),
    get dead() {
      return driver.dead;
    },
    onDeath: (cb) => driver.onDeath(cb),
    close: () => driver.close(),
  };
}
