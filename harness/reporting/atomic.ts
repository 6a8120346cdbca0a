/** Writing report files whole or not at all: a temporary file beside the target, then a rename. */
import * as fs from "node:fs";
import * as path from "node:path";

export function writeFileAtomic(file: string, text: string | ((write: (chunk: string) => void) => void)): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  try {
    const fd = fs.openSync(tmp, "wx");
    try {
      if (typeof text === "string") fs.writeFileSync(fd, text);
      else writeChunks(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* never created */
    }
    throw e;
  }
}

/** Chunks written through a buffer of about a mebibyte: never one string of the whole file. */
function writeChunks(fd: number, produce: (write: (chunk: string) => void) => void): void {
  let pending: string[] = [];
  let size = 0;
  const flush = () => {
    if (pending.length) fs.writeSync(fd, pending.join(""));
    pending = [];
    size = 0;
  };
  produce((chunk) => {
    pending.push(chunk);
    size += chunk.length;
    if (size >= 1 << 20) flush();
  });
  flush();
}

/** How deep jsonChunks walks before it stringifies a value whole: matrix, reports, report, results, a clause. */
const STREAM_DEPTH = 4;

/**
 * `JSON.stringify(value, null, 2) + "\n"`, the same text, in chunks: the
 * outer objects and arrays piece by piece, each value below STREAM_DEPTH as
 * one string. A report of many clauses (or a matrix of many reports) never
 * becomes one string, so V8's string length limit cannot refuse it.
 */
export function jsonChunks(value: unknown, write: (chunk: string) => void, depth = 0): void {
  const pad = "  ".repeat(depth);
  const plain = value !== null && typeof value === "object" && typeof (value as { toJSON?: unknown }).toJSON !== "function";
  if (!plain || depth >= STREAM_DEPTH) {
    // Nested lines are indented relative to column 0: shift them to this depth (JSON strings hold no raw newline).
    write((JSON.stringify(value, null, 2) ?? "null").replace(/\n/g, `\n${pad}`));
  } else if (Array.isArray(value)) {
    if (value.length === 0) write("[]");
    else {
      write("[");
      value.forEach((v, i) => {
        write(`${i ? "," : ""}\n${pad}  `);
        jsonChunks(v === undefined || typeof v === "function" ? null : v, write, depth + 1);
      });
      write(`\n${pad}]`);
    }
  } else {
    const entries = Object.entries(value as object).filter(([, v]) => v !== undefined && typeof v !== "function");
    if (entries.length === 0) write("{}");
    else {
      write("{");
      entries.forEach(([k, v], i) => {
        write(`${i ? "," : ""}\n${pad}  ${JSON.stringify(k)}: `);
        jsonChunks(v, write, depth + 1);
      });
      write(`\n${pad}}`);
    }
  }
  if (depth === 0) write("\n");
}
