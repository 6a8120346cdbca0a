/**
 * aiospec's programmatic API: the package's main entry ("aiospec"). It is
 * the one place a program using aiospec imports from:
 *
 *   - the implementation contract (engine/api.ts) and Python's exceptions
 *     (engine/pyexc.ts), with the scenario feature names an implementation
 *     may declare `unsupported`;
 *   - running one scenario on an implementation (runScenario);
 *   - targets: an implementation id or object made runnable (resolveTarget,
 *     tsTarget) and the errors they raise;
 *   - running clauses and differential comparisons (runClause, differential).
 *
 * The CLI (cli/) and the vitest integration (vitest.ts) are built on the
 * same pieces; docs/dev/layout.md explains the stages.
 */
export * from "./engine/api";
export { PyBaseException, isKnownExceptionType, isinstance, pyStr, pyexc } from "./engine/pyexc";
export { runScenario } from "./engine/interpreter";
export { contractViolation } from "./engine/contract";
export { FEATURES } from "../spec/scenario/validate";
export { PYTHON_VERSIONS } from "../spec/scenario/versions";
export type { PythonVersion } from "../spec/scenario/versions";
export type { Scenario } from "../spec/scenario/types";
export type { Trace, TraceEvent } from "../spec/scenario/trace";
export type { Clause, Level } from "../spec/clauses/clause";

export { DEFAULT_LIMITS, ReplyTooLarge, TargetFailure, UsageError, resolvePair, resolveTarget, tsTarget } from "./targets";
export type { IsolationLimits, Target, TargetOptions } from "./targets";

export { findClause, loadClauses } from "./running/clauseset";
export { runClause, skipReason } from "./running/runner";
export type { ClauseResult, ClauseStatus, RunOptions } from "./running/runner";
export { differential } from "./running/differential";
export type { DiffOptions, DiffResult, Divergence } from "./running/differential";
