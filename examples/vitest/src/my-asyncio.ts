/**
 * my-asyncio: a TypeScript implementation of asyncio's task model.
 *
 * What aiospec needs from an implementation is one object of type
 * AsyncioImplementation (aiospec/api): asyncio's module-level functions plus
 * `id`, `pythonVersion` and, optionally, `unsupported`. To keep the example
 * tiny, this one is aiospec's own reference under another name; a real
 * implementation builds the object from its own event loop, Future and Task.
 */
import type { AsyncioImplementation } from "aiospec/api";
import { makeReference } from "aiospec/reference";
import type { PythonVersion } from "aiospec/reference";

/** One implementation object per Python version whose behaviour it follows. */
export function makeAsyncio(version: PythonVersion): AsyncioImplementation {
  return {
    ...makeReference(version),
    id: `my-asyncio@${version}`,
    pythonVersion: version,
    // Scenario features not implemented (yet): clauses that need one are
    // skipped, and so are generated scenarios that use one.
    unsupported: ["as_completed:async"],
  };
}

// What aiospec loads from this module (test/conformance.test.ts names its
// path): the default export, here the factory; `npx aiospec run --impl
// ./src/my-asyncio.ts` loads it the same way.
export default makeAsyncio;
