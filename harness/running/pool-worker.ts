/**
 * A pool worker (see pool.ts): resolves its own target, then runs the
 * clauses it is sent, one at a time, and sends each result back. It ends
 * when the coordinator disconnects (or dies).
 *
 * What its implementation leaves running and the worker kills (processes.ts)
 * goes into the worker's own ledger, which it sends to the coordinator after
 * each clause and once its target is closed: the run names those processes
 * as it names its own job's.
 */
import { findClause } from "./clauseset";
import { isolationWarning, openTarget } from "./pool";
import { runClause } from "./runner";
import type { Target } from "../targets";
import { StartedProcess, withProcessLedger } from "../targets/isolation/processes";
import { tuneCompiler } from "./v8";

tuneCompiler();

type ToWorker =
  | { type: "init"; impl: string; timeoutMs: number }
  | { type: "run"; index: number; id: string; runs: number; seed: number; path?: string }
  | { type: "close" };

let target: Target | null = null;
/** The processes killed on this worker's behalf; those up to `sent` are with the coordinator already. */
const ledger: StartedProcess[] = [];
let sent = 0;

function send(m: unknown, then?: () => void): void {
  if (!process.connected) then?.();
  else if (then) process.send!(m, () => then());
  else process.send!(m);
}

/** Sends what was killed since the last time (then calls `then`, once the message is handed over). */
function sendKilled(then?: () => void): void {
  if (ledger.length > sent) {
    const processes = ledger.slice(sent);
    sent = ledger.length;
    send({ type: "killed", processes }, then);
  } else then?.();
}

async function quit(): Promise<void> {
  try {
    await target?.close();
  } finally {
    // Closing the target kills what the implementation left: the coordinator hears of it before the worker exits.
    sendKilled(() => process.exit(0));
  }
}

// Everything the worker does runs with its ledger, so that killProcessTree writes in it.
process.on("disconnect", () => void withProcessLedger(ledger, quit));

process.on("message", (m: ToWorker) => void withProcessLedger(ledger, () => handle(m)));

async function handle(m: ToWorker): Promise<void> {
  try {
    if (m.type === "init") {
      target = await openTarget(m.impl, {
        timeoutMs: m.timeoutMs,
        onEvent: (e) => send({ type: "warning", message: isolationWarning(e) }),
      });
      send({ type: "ready" });
    } else if (m.type === "run") {
      const c = findClause(m.id);
      if (!c || !target) throw new Error(`worker: ${c ? "no target" : `no clause ${m.id}`}`);
      let last = 0;
      const result = await runClause(c, target, {
        runs: m.runs,
        seed: m.seed,
        path: m.path,
        onCase: (n) => {
          const now = Date.now();
          if (now - last >= 100) {
            last = now;
            send({ type: "case", index: m.index, cases: n });
          }
        },
      });
      sendKilled();
      send({ type: "result", index: m.index, result });
    } else if (m.type === "close") {
      await quit();
    }
  } catch (e) {
    if (m.type === "init") send({ type: "init-error", message: (e as Error).message });
    else {
      process.stderr.write(`${(e as Error).stack ?? e}\n`);
      process.exit(3);
    }
  }
}
