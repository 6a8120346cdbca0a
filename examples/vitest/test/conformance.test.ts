/**
 * my-asyncio against the aiospec specification: one vitest test per clause.
 *
 *   npx vitest run                                         100 scenarios per clause, seed 1
 *   AIOSPEC_RUNS=2000 AIOSPEC_SEED=random npx vitest run   a longer search, with a fresh seed
 *
 * The implementation is named by its module's path (relative to the
 * directory vitest runs in, the project's), as with `npx aiospec run --impl`:
 * aiospec loads it in a child process of its own and gives each case
 * `timeoutMs` (default 5000 ms), so that an endless loop or a crash in it
 * fails that clause's test instead of hanging the whole run.
 */
import { conformance } from "aiospec/vitest";

// The newest behaviour, every clause: the module's factory is asked for 3.13.
conformance("./src/my-asyncio.ts", { version: "3.13" });

// Python 3.11's behaviour too. A clause it is known to fail would be listed
// here, with why; its test then passes while the clause fails, and fails once
// the bug is fixed (or if the module cannot even be loaded):
//   knownFailures: { "<clause id>": "what is wrong (issue #12)" },
conformance("./src/my-asyncio.ts", { version: "3.11" });
