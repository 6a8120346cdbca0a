/**
 * cmd:COMMAND LINE: any program speaking the driver protocol
 * (docs/adapters.md), run in a child process.
 */
import { UsageError } from "./errors";
import { DriverHello, driverEngine } from "./driver";
import { Target, TargetOptions, limitsFrom } from "./target";
import { supervisedTarget } from "./supervised";
import { CommandLineError, splitCommandLine } from "./isolation/cmdline";

/** The argv of a cmd: id. */
export function parseCmdId(id: string): string[] {
  try {
    return splitCommandLine(id.slice("cmd:".length));
  } catch (e) {
    if (e instanceof CommandLineError) throw new UsageError(`implementation "${id}": ${e.message}`);
    throw e;
  }
}

export function cmdTarget(id: string, options: TargetOptions): Promise<Target> {
  const argv = parseCmdId(id);
  const limits = limitsFrom(id, options);
  const describe = (h: DriverHello) => {
    const what = [h.implementation, h.python].filter(Boolean).join(" ");
    return `driver \`${argv.join(" ")}\`${what ? ` (${what})` : ""}, Python ${h.version} behaviour, in a child process`;
  };
  return supervisedTarget(
    id,
    "driver",
    () => driverEngine(argv[0], argv.slice(1), id, limits, undefined, describe),
    options,
    (reason) => `implementation "${id}" cannot start: ${reason}`,
  );
}

