/**
 * A pool worker (see pool.ts): resolves its own target, then runs the
 * clauses it is sent, one at a time, and sends each result back. It ends
 * when the coordinator disconnects (or dies).
 */
import { findClause } from "./clauseset";
import { openTarget } from "./pool";
import { runClause } from "./runner";
import type { Target } from "../targets";

type ToWorker =
  | { type: "init"; impl: string; timeoutMs: number }
  | { type: "run"; index: number; id: string; runs: number; seed: number; path?: string }
  | { type: "close" };

let target: Target | null = null;

function send(m: unknown): void {
  if (process.connected) process.send!(m);
}

async function quit(): Promise<void> {
  try {
    await target?.close();
  } finally {
    process.exit(0);
  }
}

process.on("disconnect", () => void quit());

process.on("message", async (m: ToWorker) => {
  try {
    if (m.type === "init") {
      target = await openTarget(m.impl, {
        timeoutMs: m.timeoutMs,
        onEvent: (e) => send({ type: "warning", message: `${e.target}: ${e.kind === "restart" ? `restarted after: ${e.reason}` : `gave up: ${e.reason}`}` }),
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
});
