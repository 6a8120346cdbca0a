/**
 * The child process of an isolated TypeScript implementation: a watchdog
 * thread, then serve.ts on the IPC channel to the harness.
 *
 * The watchdog is why a worker thread runs here at all. A process whose
 * parent died (the harness was killed with SIGKILL) must not live on, but the
 * implementation may hold this process's only JavaScript thread forever
 * (`for (;;) {}`), so nothing on that thread can notice. A worker thread can:
 * it polls the parent's pid and kills the process once it changes.
 */
import { Worker } from "node:worker_threads";
import { serve } from "./serve";
import type { FromChild, ToChild } from "./serve";
import type { ImplSpec } from "./load";
import { describeThrown } from "./load";

const WATCHDOG = `
const { workerData } = require("node:worker_threads");
setInterval(() => {
  if (process.ppid !== workerData.parent) process.kill(workerData.pid, "SIGKILL");
}, 500);
`;

function startWatchdog(): void {
  const w = new Worker(WATCHDOG, { eval: true, workerData: { parent: process.ppid, pid: process.pid } });
  // It must not keep the process alive, nor be stopped by what it watches over.
  w.unref();
  w.on("error", () => {});
}

function main(): void {
  const send = process.send?.bind(process);
  if (send === undefined) {
    process.stderr.write("child.ts runs only as a child process of aiospec (no IPC channel)\n");
    process.exit(2);
  }
  // Taken before any implementation code runs, so that code cannot reroute replies.
  const post = (m: FromChild) => {
    send(m);
  };
  const spec = JSON.parse(process.env.AIOSPEC_CHILD_SPEC ?? "null") as ImplSpec;
  const maxReplyBytes = Number(process.env.AIOSPEC_CHILD_MAX_REPLY);
  // Thrown from a timer, a promise nobody handles: the process is in an unknown
  // state. Say what it was (the harness fails the case with it), then end.
  const fatal = (e: unknown) => {
    post({ t: "uncaught", message: describeThrown(e) });
    process.exitCode = 70;
    setImmediate(() => process.exit(70));
  };
  process.on("uncaughtException", fatal);
  process.on("unhandledRejection", fatal);
  // The harness closed the channel (it closed the target, or it is gone): so does this process.
  process.on("disconnect", () => process.exit(0));
  startWatchdog();
  serve({ post, onMessage: (cb) => process.on("message", (m) => cb(m as ToChild)) }, spec, maxReplyBytes);
}

main();
