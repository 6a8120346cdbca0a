/**
 * The command line's defaults, shown in its help. A module of their own so
 * that `aiospec --help` loads none of the machinery of the commands.
 */
import { DEFAULT_LIMITS } from "../targets/isolation/limits";

/** Scenarios per clause. */
export const DEFAULT_RUNS = 100;

/** Time limit of one scenario on the implementation. */
export const DEFAULT_TIMEOUT_MS = DEFAULT_LIMITS.timeoutMs;

/**
 * Where `aiospec report` writes without --out: reports/ in the working
 * directory, so that an installed aiospec never writes into node_modules.
 */
export const REPORTS_DIR = "reports";
