/**
 * The channel between aiospec and a module's child process: one JSON message
 * per line on a socket pair at file descriptor 3 of the child, read by both
 * sides with the line reader below.
 *
 * Not Node's IPC channel (fork's "ipc"), though that sits on the same fd:
 * the implementation runs in the child and can write anything to fd 3, and
 * Node parses what arrives on an IPC channel in a way nothing can catch (a
 * line that is not JSON is an uncaught SyntaxError: the whole aiospec process
 * died of `fs.writeSync(3, "garbage\n")`). Read here, such a line is a
 * malformed message: the case fails, the child is replaced, the run goes on.
 */
import type { Readable } from "node:stream";

/** The child's file descriptor for the channel. */
export const CHANNEL_FD = 3;

/**
 * Calls `onLine` with each line `stream` sends (without its newline); calls
 * `onTooLong` once, and stops reading, if a line grows past `maxBytes`.
 */
export function readLines(stream: Readable, maxBytes: number, onLine: (line: string) => void, onTooLong: (bytes: number) => void): void {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let stopped = false;
  stream.on("data", (chunk: Buffer) => {
    if (stopped) return;
    let from = 0;
    for (let nl = chunk.indexOf(10, from); nl !== -1; nl = chunk.indexOf(10, from)) {
      const piece = chunk.subarray(from, nl);
      const line = pending.length === 0 ? piece.toString("utf8") : Buffer.concat([...pending, piece]).toString("utf8");
      pending = [];
      pendingBytes = 0;
      from = nl + 1;
      onLine(line);
      if (stopped) return;
    }
    if (from < chunk.length) {
      pending.push(chunk.subarray(from));
      pendingBytes += chunk.length - from;
      if (pendingBytes > maxBytes) {
        stopped = true;
        pending = [];
        onTooLong(pendingBytes);
      }
    }
  });
}

/** Longest line a channel accepts: a trace's JSON quoted inside a message may double in size (every `"` escaped). */
export function maxMessageBytes(maxReplyBytes: number): number {
  return 2 * maxReplyBytes + 64 * 1024;
}
