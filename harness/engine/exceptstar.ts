/**
 * try / except* / finally for the TypeScript interpreter (PEP 654), as
 * CPython 3.11–3.13 run it.
 *
 * The Python driver runs these steps with Python's own `except*`; this file
 * must give them the same meaning, event for event. What CPython does
 * (Python/ceval.c `exception_group_match` behind CHECK_EG_MATCH,
 * Objects/exceptions.c `exceptiongroup_split_recursive` and
 * `_PyExc_PrepReraiseStar` behind PREP_RERAISE_STAR), in short:
 *
 * - Each clause, in order, is checked against what the previous clauses left
 *   (at first, the exception the body raised). Before matching, the clause's
 *   type is checked: ExceptionGroup / BaseExceptionGroup raise TypeError,
 *   and they do so even when nothing is left to match (a raise in the body is
 *   enough to reach every clause).
 * - Matching: an exception that is itself an instance of the type matches
 *   whole (a group as it is; a naked exception wrapped in a new group with
 *   message ""). Otherwise a group is split by type, keeping its nesting:
 *   every part is `derive`d from the group it comes from (same message,
 *   same __cause__ / __context__; type chosen by BaseExceptionGroup's
 *   constructor: ExceptionGroup when every member is an Exception), empty
 *   subgroups are dropped. A naked exception that does not match stays as it is.
 * - A handler sees the matched group, runs, and may end with a bare `raise`
 *   (it re-raises the matched group) or raise something new. Either way the
 *   remaining clauses still run on what is left.
 * - At the end, what the handlers raised and what no clause matched are
 *   merged: the parts that are re-raises (same metadata as the original:
 *   parts derived from it, or the original object) are projected back onto
 *   the original group's structure; new exceptions are collected, in handler
 *   order, into ExceptionGroup("", [...new, projection]) — unless there is
 *   just one thing to raise, which is then raised as it is (a new naked
 *   exception propagates naked). When the body raised a naked exception,
 *   at most one clause ran and its outcome (or the unmatched exception) is
 *   raised as it is: a re-raise propagates the wrapping group.
 *
 * Handler bodies cannot `return` (Python: SyntaxError "'break', 'continue'
 * and 'return' cannot appear in an except* block"): a scenario that has one
 * is rejected with a ScenarioError.
 */
import type { Coroutine } from "./api";
import { PyBaseException, isinstance, pyexc } from "./pyexc";
import { EXCEPT_STAR_RAISES_NAKED_EXCEPTION, hasChange } from "../../spec/scenario/versions";
import type { ExceptClause, Step, TryStep } from "../../spec/scenario/types";
import { CATCHABLE, Return, ScenarioError, closeAgain, isCollectorClose } from "./flow";
import type { StepRunner } from "./flow";

/** The driver runs at most this many except* clauses (it pads to three real clauses). */
export const MAX_STAR_CLAUSES = 3;

/**
 * How many times each exception object has been raised into a frame (the
 * interpreter notes every await, and every probed call, that raises one).
 * Each raise gives the object a new traceback, and a part that except*
 * derived from it carries the traceback it had then: an exception shared
 * between tasks (one task's failure, awaited by two) that another task
 * raises while a handler runs no longer has the metadata of the parts
 * derived from it, and those count as new exceptions, not re-raises
 * (CPython's _PyExc_PrepReraiseStar, is_same_exception_metadata).
 */
const raises = new WeakMap<PyBaseException, number>();

/** Note that `e` was raised into a frame (its traceback replaced). */
export function noteRaised(e: PyBaseException): void {
  raises.set(e, (raises.get(e) ?? 0) + 1);
}

export function* runTryStar(run: StepRunner, s: TryStep): Coroutine<Return | undefined> {
  const clauses = s.except ?? [];
  checkClauses(clauses);
  let result: Return | undefined;
  let leaving: unknown = null; // the exception leaving the construct, which `finally` runs under
  let closed = false; // the collector's GeneratorExit came in (flow.ts isCollectorClose)
  try {
    let raised: PyBaseException | null = null;
    try {
      result = yield* run.steps(s.body ?? []);
    } catch (e) {
      if (!(e instanceof PyBaseException)) throw e;
      raised = e;
      closed = isCollectorClose(run, e);
    }
    if (raised !== null) {
      const out = yield* handle(run, clauses, raised);
      if (out !== null) throw out;
    }
  } catch (e) {
    leaving = e;
    throw e;
  } finally {
    const final = yield* run.whileHandling(leaving, run.steps(s.finally ?? []));
    // Ending normally after the collector's GeneratorExit: the caller's coroutine is closed next.
    // eslint-disable-next-line no-unsafe-finally
    if (final instanceof Return) return closed ? closeAgain() : final;
  }
  return closed ? closeAgain() : result;
}

/** What the driver and CPython's compiler reject before anything runs. */
function checkClauses(clauses: ExceptClause[]): void {
  if (clauses.length > MAX_STAR_CLAUSES) {
    throw new ScenarioError(`at most ${MAX_STAR_CLAUSES} except* clauses`);
  }
  for (const h of clauses) {
    if (!CATCHABLE.has(h.type)) throw new ScenarioError(`unknown exception type ${h.type}`);
    if (containsReturn(h.body ?? [])) {
      throw new ScenarioError("'break', 'continue' and 'return' cannot appear in an except* block");
    }
  }
}

/** Whether a `return` appears anywhere in these steps' own code (not in other coroutines). */
function containsReturn(steps: Step[]): boolean {
  return steps.some((st) => {
    switch (st.op) {
      case "return":
        return true;
      case "try":
        return (
          containsReturn(st.body ?? []) ||
          (st.except ?? []).some((h) => containsReturn(h.body ?? [])) ||
          containsReturn(st.finally ?? [])
        );
      case "taskgroup":
      case "timeout":
        return containsReturn(st.body ?? []);
      default:
        return false;
    }
  });
}

/**
 * Run the except* clauses on `orig` (the exception the body raised) and
 * return what the whole construct raises, or null when everything was handled.
 */
function* handle(run: StepRunner, clauses: ExceptClause[], orig: PyBaseException): Coroutine<PyBaseException | null> {
  const split = new Splitter();
  /** What is left to match (CPython keeps it on the stack); null once everything matched. */
  let left: PyBaseException | null = orig;
  /** What each handler raised or re-raised, in order. */
  const outcomes: PyBaseException[] = [];
  /**
   * Raising the original object again (a handler awaiting the failed task
   * once more) gives it a new traceback; from then on the parts derived
   * from it no longer carry its metadata and count as new exceptions.
   */
  let origRaisedAgain = false;
  const raisesBefore = raises.get(orig) ?? 0;

  for (const clause of clauses) {
    checkExceptStarType(clause.type);
    if (left === null) continue;
    const m = match(split, left, clause.type);
    if (m === null) continue;
    left = m.rest;
    run.emit("caught", { exc: run.enc.exc(m.match) });
    try {
      // The handler runs while the matched group is being handled: what it
      // raises has that group as its __context__.
      const r = yield* run.whileHandling(m.match, run.steps(clause.body ?? []));
      // checkClauses rejects a return in a handler body; nothing else returns.
      if (r instanceof Return) throw new ScenarioError("'return' cannot appear in an except* block");
    } catch (e) {
      if (!(e instanceof PyBaseException)) throw e;
      if (e === orig) origRaisedAgain = true;
      outcomes.push(e);
      continue;
    }
    if (clause.reraise) outcomes.push(m.match);
  }
  if (left !== null) outcomes.push(left);

  if (!isGroup(orig)) {
    // A naked exception: at most one clause matched it, so there is at most
    // one thing to raise, raised as it is.
    return outcomes.length > 0 ? outcomes[0] : null;
  }
  // Raised again meanwhile, here or by another task (see `raises`).
  if ((raises.get(orig) ?? 0) !== raisesBefore) origRaisedAgain = true;
  const isReraise = (e: PyBaseException) => e === orig || (split.derived.has(e) && !origRaisedAgain);
  const raised = outcomes.filter((e) => !isReraise(e));
  const reraised = project(split, orig, outcomes.filter(isReraise));
  if (raised.length === 0) return reraised;
  if (reraised !== null) raised.push(reraised);
  return raised.length === 1 && raisesOneUnwrapped(run) ? raised[0] : newGroup("", raised);
}

/**
 * Whether one exception left to raise goes out as it is (gh-103590: 3.11.4
 * and 3.12 on) rather than wrapped in ExceptionGroup("", [it]). Every
 * release the reference models has it; a run at an older 3.11 release does not.
 */
function raisesOneUnwrapped(run: StepRunner): boolean {
  return run.pythonRelease === undefined || hasChange(run.pythonRelease, EXCEPT_STAR_RAISES_NAKED_EXCEPTION);
}

/** CPython's check_except_star_type_valid. */
function checkExceptStarType(type: string): void {
  if (type === "ExceptionGroup" || type === "BaseExceptionGroup") {
    throw pyexc("TypeError", "catching ExceptionGroup with except* is not allowed. Use except instead.");
  }
}

function isGroup(e: PyBaseException): boolean {
  return e.exceptions !== undefined && isinstance(e, "BaseExceptionGroup");
}

/** BaseExceptionGroup(message, excs): an ExceptionGroup when every member is an Exception. */
function newGroup(message: unknown, excs: PyBaseException[]): PyBaseException {
  const type = excs.every((x) => isinstance(x, "Exception")) ? "ExceptionGroup" : "BaseExceptionGroup";
  return new PyBaseException(type, [message], excs);
}

/**
 * `to.__traceback__ = from_.__traceback__`, as CPython gives a derived group
 * (a split's part, exceptiongroup_subset) the traceback of the group it
 * comes from: in gc mode, what the frames of that traceback hold (gcRefs,
 * implementations/reference/gc.ts), as they are now (a later raise of from_
 * starts a new traceback). Returns `to`.
 */
function withTracebackOf(from_: PyBaseException, to: PyBaseException): PyBaseException {
  const tb = (from_ as { gcRefs?: unknown[] }).gcRefs;
  if (tb !== undefined) (to as { gcRefs?: unknown[] }).gcRefs = [...tb];
  return to;
}

/** CPython's exception_group_match: the matched part and what is left, or null for no match. */
function match(
  split: Splitter,
  exc: PyBaseException,
  type: string,
): { match: PyBaseException; rest: PyBaseException | null } | null {
  if (isinstance(exc, type)) {
    // A naked exception is wrapped in a new group with no traceback of its
    // own (`e.__traceback__` is None in the handler, CPython 3.11-3.13):
    // what its frames hold stays the member's, and a later raise of the
    // member (a future's result() raising it again) replaces that.
    return { match: isGroup(exc) ? exc : newGroup("", [exc]), rest: null };
  }
  if (!isGroup(exc)) return null;
  const parts = split.split(exc, (x) => isinstance(x, type));
  return parts.match === null ? null : { match: parts.match, rest: parts.rest };
}

/**
 * The sub-group of `orig` holding the leaves of the `keep` groups, in
 * `orig`'s structure (CPython's exception_group_projection); null if none.
 */
function project(split: Splitter, orig: PyBaseException, keep: PyBaseException[]): PyBaseException | null {
  const leaves = new Set<PyBaseException>();
  const collect = (e: PyBaseException): void => {
    if (isGroup(e)) e.exceptions!.forEach(collect);
    else leaves.add(e);
  };
  keep.forEach(collect);
  // Groups are never leaves: the projection is always a new derived group.
  return split.split(orig, (x) => !isGroup(x) && leaves.has(x)).match;
}

/** BaseExceptionGroup.split, remembering every group it derives. */
class Splitter {
  readonly derived = new Set<PyBaseException>();

  split(exc: PyBaseException, matches: (e: PyBaseException) => boolean): {
    match: PyBaseException | null;
    rest: PyBaseException | null;
  } {
    if (matches(exc)) return { match: exc, rest: null };
    if (!isGroup(exc)) return { match: null, rest: exc };
    const ms: PyBaseException[] = [];
    const rs: PyBaseException[] = [];
    for (const child of exc.exceptions!) {
      const part = this.split(child, matches);
      if (part.match !== null) ms.push(part.match);
      if (part.rest !== null) rs.push(part.rest);
    }
    return { match: this.derive(exc, ms), rest: this.derive(exc, rs) };
  }

  /** eg.derive(excs) with eg's metadata copied, as split does; null for no members. */
  private derive(eg: PyBaseException, excs: PyBaseException[]): PyBaseException | null {
    if (excs.length === 0) return null;
    const part = newGroup(eg.args[0], excs);
    part.cause = eg.cause;
    part.context = eg.context;
    withTracebackOf(eg, part);
    this.derived.add(part);
    return part;
  }
}
