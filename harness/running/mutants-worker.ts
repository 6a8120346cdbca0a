/**
 * A mutants worker (see huntMutants in mutants.ts): hunts the mutants it is
 * sent, one at a time, and sends each result back. It ends when the
 * coordinator disconnects (or dies).
 */
import { loadClauses } from "./clauseset";
import { FromMutantsWorker, ToMutantsWorker, huntMutant } from "./mutants";
import { tuneCompiler } from "./v8";

tuneCompiler();

process.on("disconnect", () => process.exit(0));

process.on("message", async (m: ToMutantsWorker) => {
  const result = await huntMutant(m.name, loadClauses(), m.search);
  if (process.connected) process.send!({ type: "result", index: m.index, result } satisfies FromMutantsWorker);
});
