/**
 * Targets whose implementation runs out of the harness's reach: a
 * Supervisor (isolation/supervisor.ts) around a module's child process or a driver
 * process, replacing it after a crash or a timeout.
 */
import { ImplementationError, UsageError } from "./errors";
import { Target, TargetOptions, limitsFrom } from "./target";
import { Engine, EngineInfo, Supervisor } from "./isolation/supervisor";
import { ChildEngine } from "./isolation/child-engine";
import type { ImplSpec } from "./isolation/load";

/** A target whose implementation runs out of the harness's reach, supervised. */
export async function supervisedTarget(
  id: string,
  kind: "module" | "driver",
  make: () => Engine,
  options: TargetOptions,
  failure: (reason: string) => string,
  finish: (info: EngineInfo) => { id: string; description: string } = (info) => ({ id, description: info.description }),
): Promise<Target> {
  const limits = limitsFrom(id, options);
  const sup = new Supervisor(id, kind, make, limits, options.onEvent);
  let info: EngineInfo;
  try {
    info = await sup.start();
  } catch (e) {
    const reason = (e as Error).message;
    // Refused at once (a module aiospec cannot load as it is: no export, the contract, a throw while
    // loading; a program that cannot be executed) is a usage error; what it did while starting
    // (hung, exited, crashed, said a bad hello) is the implementation's fault.
    if ((e as { refused?: boolean }).refused || /^cannot start .*: (ENOENT|EACCES)\b/.test(reason)) throw new UsageError(failure(reason));
    throw new ImplementationError(failure(reason));
  }
  const named = finish(info);
  (sup as { id: string }).id = named.id;
  return {
    id: named.id,
    version: info.version,
    description: named.description,
    unsupported: info.unsupported,
    clock: info.clock ?? "virtual",
    ...(info.tickMs !== undefined ? { tickMs: info.tickMs } : {}),
    ...(info.gc ? { gc: info.gc } : {}),
    ...(info.fullVersion ? { fullVersion: info.fullVersion } : {}),
    ...(info.task ? { task: info.task } : {}),
    isolation: "process",
    run: (s) => sup.run(s),
    close: () => sup.close(),
    stats: () => ({ ...sup.stats }),
    resetRestarts: () => sup.resetRestarts(),
    abandon: () => sup.abandon(),
    renew: () => sup.renew(),
  };
}

/** A target whose TypeScript implementation runs in a child process (a module, or the reference / a mutant asked to be isolated). */
export function workerTarget(id: string, spec: ImplSpec, options: TargetOptions, failure: (reason: string) => string, finish?: (info: EngineInfo) => { id: string; description: string }): Promise<Target> {
  const limits = limitsFrom(id, options);
  return supervisedTarget(id, "module", () => new ChildEngine(spec, limits, id), options, failure, finish);
}

