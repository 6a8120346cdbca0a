/**
 * my-asyncio against the aiospec specification: one vitest test per clause.
 *
 *   npx vitest run                                         100 scenarios per clause, seed 1
 *   AIOSPEC_RUNS=2000 AIOSPEC_SEED=random npx vitest run   a longer search, with a fresh seed
 */
import { conformance } from "aiospec/vitest";
import { makeAsyncio } from "../src/my-asyncio.js";

// The newest behaviour, every clause.
conformance(makeAsyncio, { version: "3.13" });

// Python 3.11's behaviour too. A clause it is known to fail would be listed
// here, with why; its test then passes while the clause fails, and fails once
// the bug is fixed:
//   knownFailures: { "<clause id>": "what is wrong (issue #12)" },
conformance(makeAsyncio, { version: "3.11" });
