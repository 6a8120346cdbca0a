/**
 * The reference as a module implementation (docs/adapters.md): what `aiospec
 * run --impl bench/verdict/reference-module.ts` loads into a worker thread.
 * Timing it next to `--impl reference` (in-process) shows what the worker's
 * isolation costs.
 */
import { makeReference, type PythonVersion } from "../../implementations/reference";

export default function make(version: PythonVersion) {
  return makeReference(version);
}
