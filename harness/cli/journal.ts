/**
 * The run journal: what `aiospec run` has found so far, appended to a JSON
 * lines file as each clause finishes, so that a run that dies (SIGKILL, a
 * machine that goes down) still leaves every finished clause on disk.
 * `aiospec report --resume JOURNAL` turns a journal into the usual reports,
 * marked incomplete when the run did not reach its end.
 *
 *   {"journal": 1, "kind": "start", ...}    the run: implementation, clause ids, options
 *   {"kind": "clause", "index": I, "result": {...}}   one finished clause (ClauseResult)
 *   {"kind": "end", "interrupted": false}   the run ended (its reports were written)
 *
 * Each line is written with one appendFileSync call (write(2) on a file
 * opened for appending): a line is whole or, if the process died in the
 * middle of writing it, the last line is cut, and reading skips it.
 */
import * as fs from "node:fs";
import type { ClauseResult } from "../running/runner";
import type { ImplementationInfo, RunReport, Timing } from "../reporting/model";
import { UsageError } from "../targets";

export const JOURNAL_FORMAT = 1;
export const JOURNAL_NAME = "aiospec-journal.jsonl";

export interface JournalStart {
  journal: typeof JOURNAL_FORMAT;
  kind: "start";
  startedAt: string;
  implementation: ImplementationInfo;
  clauses: string[];
  options: RunReport["options"];
  notes: string[];
  failuresDir: string;
}

export class Journal {
  private constructor(readonly file: string) {}

  /** Start a journal at `file` (replacing an earlier run's). */
  static open(file: string, start: Omit<JournalStart, "journal" | "kind">): Journal {
    const j = new Journal(file);
    fs.writeFileSync(file, JSON.stringify({ journal: JOURNAL_FORMAT, kind: "start", ...start }) + "\n");
    return j;
  }

  clause(index: number, result: ClauseResult): void {
    fs.appendFileSync(this.file, JSON.stringify({ kind: "clause", index, result }) + "\n");
  }

  end(interrupted: boolean, timing: Timing): void {
    fs.appendFileSync(this.file, JSON.stringify({ kind: "end", interrupted, timing }) + "\n");
  }
}

export interface ReadJournal {
  start: JournalStart;
  /** Results by clause index (undefined: did not finish). */
  results: Array<ClauseResult | undefined>;
  /** The run reached its end (false: it was killed, or is still running). */
  ended: boolean;
  interrupted: boolean;
  timing: Timing | null;
  /** Lines that could not be read (a line cut by a kill). */
  skipped: number;
}

/** Read a journal; a malformed one is the user's error (one line). */
export function readJournal(file: string): ReadJournal {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`--resume ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  let start: JournalStart | null = null;
  const out: ReadJournal = { start: null as unknown as JournalStart, results: [], ended: false, interrupted: false, timing: null, skipped: 0 };
  lines.forEach((line, n) => {
    let x: Record<string, unknown>;
    try {
      x = JSON.parse(line);
    } catch {
      // Only the last line can be cut by a kill; anything else is not a journal.
      if (n === lines.length - 1) {
        out.skipped++;
        return;
      }
      throw new UsageError(`--resume ${file}: line ${n + 1} is not JSON: not an aiospec journal`);
    }
    if (n === 0) {
      if (x.journal !== JOURNAL_FORMAT || x.kind !== "start" || !Array.isArray(x.clauses)) {
        throw new UsageError(`--resume ${file}: not an aiospec journal (its first line must be {"journal": ${JOURNAL_FORMAT}, "kind": "start", ...})`);
      }
      start = x as unknown as JournalStart;
      out.results = new Array(start.clauses.length).fill(undefined);
      return;
    }
    if (x.kind === "clause" && typeof x.index === "number" && x.index >= 0 && x.index < out.results.length) {
      out.results[x.index] = x.result as ClauseResult;
    } else if (x.kind === "end") {
      out.ended = true;
      out.interrupted = x.interrupted === true;
      out.timing = (x.timing as Timing) ?? null;
    } else {
      throw new UsageError(`--resume ${file}: line ${n + 1} is not a journal entry`);
    }
  });
  if (start === null) throw new UsageError(`--resume ${file}: the journal is empty`);
  out.start = start;
  return out;
}
