/** Validators for the report files (report.schema.json), for tests and for readers of the reports. */
import type Ajv2020 from "ajv/dist/2020";
import reportSchema from "./report.schema.json";

let compiled: ReturnType<Ajv2020["compile"]> | undefined;

/**
 * ajv, loaded when a schema is first compiled, not at import: it is some 70
 * ms of CPU at start-up, which every run paid, validating a file or not.
 */
export function loadAjv(): typeof Ajv2020 {
  return (require("ajv/dist/2020") as typeof import("ajv/dist/2020")).default;
}

/** JSON Pointer ("/results/3/id") to "$.results[3].id". */
export function jsonPath(pointer: string): string {
  if (!pointer) return "$";
  return (
    "$" +
    pointer
      .split("/")
      .slice(1)
      .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
      .map((p) => (/^\d+$/.test(p) ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`))
      .join("")
  );
}

/** The problems with a report (run or matrix) as lines "path: message"; empty when it is valid. */
export function reportProblems(data: unknown): string[] {
  if (!compiled) {
    const ajv = new (loadAjv())({ allErrors: true, strict: false });
    ajv.addFormat("date-time", (s: string) => !Number.isNaN(Date.parse(s)) && /^\d{4}-\d\d-\d\dT/.test(s));
    compiled = ajv.compile(reportSchema);
  }
  if (compiled(data)) return [];
  return (compiled.errors ?? []).map((e) => `${jsonPath(e.instancePath)}: ${e.message}${e.params && "additionalProperty" in e.params ? ` (${(e.params as { additionalProperty: string }).additionalProperty})` : ""}`);
}
