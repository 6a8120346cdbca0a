/**
 * Every worker thread and child process the isolation layer starts is
 * registered here until it is gone, so that tests (and curious callers) can
 * check nothing is left behind, and so that child processes still alive when
 * the harness exits are killed with it.
 */

export interface IsolationResource {
  kind: "worker" | "process";
  /** Thread id (workers) or process id (processes; on POSIX also its process group). */
  id: number;
  /** What runs there: the implementation id. */
  label: string;
}

const live = new Map<string, IsolationResource & { kill?: () => void }>();
let hooked = false;

function key(r: IsolationResource): string {
  return `${r.kind}:${r.id}`;
}

/** Register a started resource; returns the function to call once it is gone. */
export function track(r: IsolationResource, kill?: () => void): () => void {
  const k = key(r);
  live.set(k, { ...r, kill });
  if (!hooked) {
    hooked = true;
    // Last resort: a harness that exits (normally or through process.exit)
    // takes its drivers with it. Worker threads end with the process anyway.
    process.once("exit", () => {
      for (const x of live.values()) {
        try {
          x.kill?.();
        } catch {
          /* already gone */
        }
      }
    });
  }
  return () => {
    live.delete(k);
  };
}

/** Worker threads and child processes started by the isolation layer that have not ended yet. */
export function liveResources(): IsolationResource[] {
  return [...live.values()].map(({ kind, id, label }) => ({ kind, id, label }));
}
