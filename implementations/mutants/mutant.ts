/** What a mutant is: a named, deliberately faulty variant of the reference. */
import type { AsyncioImplementation } from "../../harness/engine/api";
import type { PythonVersion } from "../reference";

export interface Mutant {
  name: string;
  /** The one behaviour it breaks, in a sentence. */
  description: string;
  make(version: PythonVersion): AsyncioImplementation;
}
