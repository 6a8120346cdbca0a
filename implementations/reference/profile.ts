/**
 * Version profiles: what differs between the Python versions the reference
 * models. Every behaviour that changed between versions is a named flag here,
 * with the change that introduced it, so the differences read as a list.
 */

export type PythonVersion = "3.11" | "3.12" | "3.13";
export const VERSIONS: readonly PythonVersion[] = ["3.11", "3.12", "3.13"];
export const NEWEST: PythonVersion = "3.13";

export interface Profile {
  version: PythonVersion;
  /**
   * asyncio.create_task(coro, name=...) creates the task unnamed and renames
   * it afterwards, so a named task still takes a number from the default-name
   * counter (3.11, 3.12). 3.13 passes the name through to the loop.
   */
  namedCreateTaskTakesCounter: boolean;
  /**
   * gather() handles children that are already done right away, after
   * creating the outer future, instead of through done callbacks (3.12+,
   * gh-97696's fast paths): a gather of finished tasks is done before it is
   * awaited.
   */
  gatherEagerDoneChildren: boolean;
  /**
   * uncancel() down to zero withdraws a cancellation not yet delivered
   * (3.13, gh-116720).
   */
  uncancelClearsMustCancel: boolean;
}

export function profileFor(version: PythonVersion): Profile {
  const v = VERSIONS.indexOf(version);
  return {
    version,
    namedCreateTaskTakesCounter: v <= VERSIONS.indexOf("3.12"),
    gatherEagerDoneChildren: v >= VERSIONS.indexOf("3.12"),
    uncancelClearsMustCancel: v >= VERSIONS.indexOf("3.13"),
  };
}
