/**
 * The child process of an isolated TypeScript implementation: a watchdog
 * thread, then serve.ts on the channel to the harness (channel.ts: fd 3, a
 * JSON message a line).
 *
 * The watchdog is why a worker thread runs here at all. A process whose
 * parent died (the harness was killed with SIGKILL) must not live on, but the
 * implementation may hold this process's only JavaScript thread forever
 * (`for (;;) {}`), so nothing on that thread can notice. A worker thread can:
 * it polls the parent's pid and kills the process once it changes.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import { Worker } from "node:worker_threads";
import { CHANNEL_FD, maxMessageBytes, readLines } from "./channel";
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

/** The channel to aiospec (channel.ts), or null when this process was not started by aiospec. */
function openChannel(): net.Socket | null {
  try {
    if (!fs.fstatSync(CHANNEL_FD).isSocket()) return null;
    return new net.Socket({ fd: CHANNEL_FD, readable: true, writable: true });
  } catch {
    return null;
  }
}

function main(): void {
  const channel = openChannel();
  if (channel === null) {
    process.stderr.write(`child.ts runs only as a child process of aiospec (no channel on fd ${CHANNEL_FD})\n`);
    process.exit(2);
  }
  // Taken before any implementation code runs, so that code cannot reroute replies.
  const write = channel.write.bind(channel);
  const post = (m: FromChild) => {
    write(JSON.stringify(m) + "\n");
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
  channel.on("end", () => process.exit(0));
  channel.on("error", () => process.exit(0));
  startWatchdog();
  const onMessage = (cb: (m: ToChild) => void) =>
    readLines(channel, maxMessageBytes(maxReplyBytes), (line) => cb(JSON.parse(line) as ToChild), () => process.exit(2));
  serve({ post, onMessage }, spec, maxReplyBytes);
}

main();
