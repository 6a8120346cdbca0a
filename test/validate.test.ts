import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  FEATURES, FEATURE_VERSIONS, formatValidationErrors, parseScenarioText, requiredVersion, scenarioFeatures, scenarioSchema,
  validateScenario, type ValidationError,
} from "../spec/scenario/validate";
import { AWAITABLE_KINDS, CATCHABLE_TYPES, OPS, RAISABLE_TYPES } from "../spec/scenario/types";
import type { Scenario } from "../spec/scenario/types";

/** A scenario whose main runs `body`, plus extra coroutines. */
function scenario(body: unknown[], ...others: Array<{ name: string; body: unknown[] }>): unknown {
  return { aiospec: 1, coroutines: [{ name: "main", body }, ...others] };
}

function errorsOf(input: unknown): ValidationError[] {
  const r = validateScenario(input);
  if (r.ok) throw new Error("expected the scenario to be rejected");
  return r.errors;
}

/** The single error of an invalid scenario. */
function errorOf(input: unknown): ValidationError {
  const errors = errorsOf(input);
  expect(errors, formatValidationErrors(errors)).toHaveLength(1);
  return errors[0];
}

function expectValid(input: unknown): void {
  const r = validateScenario(input);
  expect(r.ok ? "" : formatValidationErrors(r.errors)).toBe("");
}

const everything = {
  aiospec: 1,
  description: "every op and every awaitable",
  coroutines: [
    {
      name: "main",
      body: [
        { op: "log", label: "start" },
        { op: "create_task", coro: "worker", task: "w", name: "the-worker" },
        { op: "create_task", coro: "worker", task: "w2" },
        { op: "sleep", ticks: 0 },
        { op: "inspect", task: "w" },
        { op: "cancel", task: "w", msg: "stop" },
        { op: "cancel", task: "w2" },
        {
          op: "try",
          body: [
            { op: "await", on: { task: "w" } },
            { op: "call", coro: "helper" },
          ],
          except: [
            { type: "CancelledError", body: [{ op: "log", label: "cancelled" }] },
            { type: "Exception", reraise: true },
            { type: "BaseException" },
          ],
          finally: [{ op: "log", label: "finally" }],
        },
        {
          op: "await",
          on: {
            gather: [
              { coro: "helper" },
              { sleep: 2, result: "slept" },
              { sleep: 1 },
              { task: "w2" },
              { gather: [] },
            ],
            return_exceptions: true,
          },
        },
        { op: "await", on: { coro: "helper" } },
        { op: "return", value: 42 },
      ],
    },
    {
      name: "worker",
      body: [
        { op: "sleep", ticks: 1000000 },
        { op: "raise", exc: { type: "CustomError", args: ["boom", 1, 2.5, true, null] } },
      ],
    },
    { name: "helper", body: [{ op: "return" }] },
    { name: "_Unused_2", body: [] },
  ],
};

describe("validateScenario: valid scenarios", () => {
  it("accepts the smallest scenario", () => {
    const s = { aiospec: 1, coroutines: [{ name: "main", body: [] }] };
    const r = validateScenario(s);
    expect(r).toEqual({ ok: true, scenario: s });
  });

  it("accepts a scenario using every op and every awaitable", () => {
    expectValid(everything);
  });

  it("accepts references to coroutines and handles defined later in the document", () => {
    expectValid(
      scenario(
        [{ op: "call", coro: "a" }, { op: "inspect", task: "t" }],
        { name: "a", body: [{ op: "create_task", coro: "b", task: "t" }, { op: "await", on: { task: "t" } }] },
        { name: "b", body: [] },
      ),
    );
  });

  it("accepts a diamond (shared callee), which is not a cycle", () => {
    expectValid(
      scenario(
        [{ op: "call", coro: "a" }, { op: "create_task", coro: "b", task: "t" }],
        { name: "a", body: [{ op: "call", coro: "c" }] },
        { name: "b", body: [{ op: "await", on: { coro: "c" } }] },
        { name: "c", body: [] },
      ),
    );
  });

  it("accepts explicit task names that only resemble default ones", () => {
    for (const name of ["Task-", "Task-1a", "task-1", "Task 1", "MyTask-1", ""]) {
      expectValid(scenario([{ op: "create_task", coro: "w", task: "t", name }], { name: "w", body: [] }));
    }
  });

  it("accepts names at the length limit", () => {
    const long = "a" + "_".repeat(63);
    expectValid(scenario([{ op: "call", coro: long }, { op: "log", label: "x".repeat(200) }], { name: long, body: [] }));
  });
});

describe("validateScenario: structure", () => {
  it("rejects a non-object", () => {
    for (const v of [null, 5, "main", []]) {
      expect(errorOf(v)).toEqual({ path: "$", message: "must be object (a scenario)" });
    }
  });

  it("checks the language version", () => {
    expect(errorOf({ aiospec: 2, coroutines: [{ name: "main", body: [] }] })).toEqual({
      path: "$.aiospec",
      message: "must be 1 (the scenario language version), got 2",
    });
    expect(errorOf({ coroutines: [{ name: "main", body: [] }] })).toMatchObject({
      path: "$.aiospec",
      message: expect.stringContaining('requires "aiospec"'),
    });
  });

  it("rejects unknown top-level and coroutine properties", () => {
    expect(errorOf({ aiospec: 1, coroutines: [{ name: "main", body: [] }], extra: 1 })).toEqual({
      path: "$.extra",
      message: 'unknown property "extra" (scenario properties: aiospec, description, coroutines, callbacks, eager)',
    });
    expect(errorOf({ aiospec: 1, coroutines: [{ name: "main", body: [], "a b": 1 }] })).toEqual({
      path: '$.coroutines[0]["a b"]',
      message: 'unknown property "a b" (coroutine properties: name, body)',
    });
  });

  it("requires at least one coroutine", () => {
    expect(errorOf({ aiospec: 1, coroutines: [] })).toEqual({
      path: "$.coroutines",
      message: "must have at least one coroutine",
    });
  });

  it("reports a bad field against the step's own op only", () => {
    expect(errorOf(scenario([{ op: "log", label: "a" }, { op: "sleep", ticks: 1.5 }]))).toEqual({
      path: "$.coroutines[0].body[1].ticks",
      message: "must be integer",
    });
    expect(errorOf(scenario([{ op: "sleep", ticks: "1" }]))).toEqual({
      path: "$.coroutines[0].body[0].ticks",
      message: "must be integer",
    });
    expect(errorOf(scenario([{ op: "sleep", ticks: -1 }]))).toMatchObject({
      path: "$.coroutines[0].body[0].ticks",
      message: "must be >= 0",
    });
    expect(errorOf(scenario([{ op: "sleep", ticks: 1000001 }]))).toMatchObject({
      path: "$.coroutines[0].body[0].ticks",
      message: "must be <= 1000000",
    });
  });

  it("names a missing field of a step", () => {
    expect(errorOf(scenario([{ op: "sleep" }]))).toEqual({
      path: "$.coroutines[0].body[0].ticks",
      message: 'missing: a "sleep" step requires "ticks"',
    });
    expect(errorOf(scenario([{ op: "create_task", coro: "main" }]))).toEqual({
      path: "$.coroutines[0].body[0].task",
      message: 'missing: a "create_task" step requires "task"',
    });
  });

  it("rejects properties of another op", () => {
    expect(errorOf(scenario([{ op: "sleep", ticks: 1, label: "x" }]))).toEqual({
      path: "$.coroutines[0].body[0].label",
      message: 'unknown property "label" ("sleep" step properties: op, ticks)',
    });
  });

  it("reports an unknown op with the list of known ones", () => {
    expect(errorOf(scenario([{ op: "log", label: "a" }, { op: "foo" }]))).toEqual({
      path: "$.coroutines[0].body[1].op",
      message: `unknown op "foo" (expected one of ${OPS.join(", ")})`,
    });
    expect(errorOf(scenario([{ op: 3 }])).message).toMatch(/^unknown op 3 \(expected one of log, /);
  });

  it("reports a step without op, and a step that is not an object", () => {
    expect(errorOf(scenario([{ label: "x" }]))).toMatchObject({
      path: "$.coroutines[0].body[0].op",
      message: expect.stringMatching(/^missing: a step needs an "op"/),
    });
    expect(errorOf(scenario(["log"]))).toEqual({ path: "$.coroutines[0].body[0]", message: "must be object (a step)" });
  });

  it("checks exception types", () => {
    expect(errorOf(scenario([{ op: "raise", exc: { type: "OSError" } }]))).toEqual({
      path: "$.coroutines[0].body[0].exc.type",
      message: `unknown exception type "OSError" (expected one of ${RAISABLE_TYPES.join(", ")})`,
    });
    expect(errorOf(scenario([{ op: "raise", exc: { type: "Exception" } }]))).toMatchObject({
      path: "$.coroutines[0].body[0].exc.type",
      message: expect.stringMatching(/^cannot raise Exception: it can only be named in an except clause/),
    });
    expect(errorOf(scenario([{ op: "try", body: [], except: [{ type: "ValueErr" }] }]))).toEqual({
      path: "$.coroutines[0].body[0].except[0].type",
      message: `unknown exception type "ValueErr" (expected one of ${CATCHABLE_TYPES.join(", ")})`,
    });
    expect(errorOf(scenario([{ op: "raise", exc: { type: "ValueError", args: [[1]] } }]))).toEqual({
      path: "$.coroutines[0].body[0].exc.args[0]",
      message: "must be null, boolean, number or string",
    });
  });

  it("rejects non-scalar and non-finite values", () => {
    expect(errorOf(scenario([{ op: "return", value: { a: 1 } }]))).toEqual({
      path: "$.coroutines[0].body[0].value",
      message: "must be null, boolean, number or string",
    });
    expect(errorOf(scenario([{ op: "return", value: Infinity }]))).toEqual({
      path: "$.coroutines[0].body[0].value",
      message: "must be a finite number, got Infinity",
    });
  });

  it("checks names and string lengths", () => {
    expect(errorOf(scenario([{ op: "call", coro: "1abc" }]))).toMatchObject({
      path: "$.coroutines[0].body[0].coro",
      message: expect.stringMatching(/^must be a name: .* \(got "1abc"\)$/),
    });
    expect(errorOf({ aiospec: 1, coroutines: [{ name: "main-2", body: [] }] }).path).toBe("$.coroutines[0].name");
    expect(errorOf(scenario([{ op: "cancel", task: "a".repeat(65) }])).path).toBe("$.coroutines[0].body[0].task");
    expect(errorOf(scenario([{ op: "log", label: "x".repeat(201) }]))).toEqual({
      path: "$.coroutines[0].body[0].label",
      message: "must NOT have more than 200 characters",
    });
    expect(errorOf(scenario([{ op: "cancel", task: "t", msg: "m".repeat(201) }])).path).toBe(
      "$.coroutines[0].body[0].msg",
    );
  });

  it("requires exactly one kind key in an awaitable", () => {
    expect(errorOf(scenario([{ op: "await", on: {} }]))).toEqual({
      path: "$.coroutines[0].body[0].on",
      message: `an awaitable needs exactly one of the keys ${AWAITABLE_KINDS.join(", ")}`,
    });
    expect(errorOf(scenario([{ op: "await", on: { result: 1 } }]))).toEqual({
      path: "$.coroutines[0].body[0].on",
      message: `an awaitable needs exactly one of the keys ${AWAITABLE_KINDS.join(", ")}; this one has result`,
    });
    expect(errorOf(scenario([{ op: "await", on: { task: "t", coro: "main" } }]))).toEqual({
      path: "$.coroutines[0].body[0].on",
      message: `an awaitable has exactly one of the keys ${AWAITABLE_KINDS.join(", ")}; this one has task, coro`,
    });
    expect(errorOf(scenario([{ op: "await", on: { task: "t", result: 1 } }]))).toEqual({
      path: "$.coroutines[0].body[0].on.result",
      message: 'unknown property "result" ({task} awaitable properties: task)',
    });
    expect(errorOf(scenario([{ op: "await", on: { sleep: 0.5 } }]))).toEqual({
      path: "$.coroutines[0].body[0].on.sleep",
      message: "must be integer",
    });
    expect(errorOf(scenario([{ op: "await", on: { gather: [], return_exceptions: 1 } }]))).toEqual({
      path: "$.coroutines[0].body[0].on.return_exceptions",
      message: "must be boolean",
    });
  });

  it("gives exact paths inside nested try bodies, handlers, finally blocks and gathers", () => {
    const nested = (inner: unknown) =>
      scenario([
        { op: "log", label: "0" },
        {
          op: "try",
          body: [{ op: "log", label: "a" }],
          except: [
            { type: "ValueError" },
            {
              type: "KeyError",
              body: [
                { op: "log", label: "b" },
                { op: "try", body: [], finally: [{ op: "log", label: "c" }, inner] },
              ],
            },
          ],
        },
      ]);
    expect(errorOf(nested({ op: "sleep", ticks: null }))).toEqual({
      path: "$.coroutines[0].body[1].except[1].body[1].finally[1].ticks",
      message: "must be integer",
    });
    expect(
      errorOf(nested({ op: "await", on: { gather: [{ sleep: 1 }, { gather: [{ coro: "main" }, { sleep: 1, x: 0 }] }] } })),
    ).toEqual({
      path: "$.coroutines[0].body[1].except[1].body[1].finally[1].on.gather[1].gather[1].x",
      message: 'unknown property "x" ({sleep} awaitable properties: sleep, result)',
    });
    expect(errorOf(nested({ op: "try", body: [{ op: "nope" }] })).path).toBe(
      "$.coroutines[0].body[1].except[1].body[1].finally[1].body[0].op",
    );
  });
});

describe("validateScenario: meaning", () => {
  it("rejects duplicate coroutine names", () => {
    expect(errorOf(scenario([], { name: "a", body: [] }, { name: "a", body: [] }))).toEqual({
      path: "$.coroutines[2].name",
      message: 'duplicate coroutine name "a" (also defined at $.coroutines[1].name)',
    });
  });

  it('requires a coroutine named "main"', () => {
    expect(errorOf({ aiospec: 1, coroutines: [{ name: "Main", body: [] }] })).toEqual({
      path: "$.coroutines",
      message: 'no coroutine named "main": the entry point is missing',
    });
  });

  it("rejects references to unknown coroutines, wherever they are", () => {
    const errors = errorsOf(
      scenario([
        { op: "call", coro: "a" },
        { op: "create_task", coro: "b", task: "t" },
        {
          op: "try",
          body: [{ op: "await", on: { coro: "c" } }],
          except: [{ type: "Exception", body: [{ op: "await", on: { gather: [{ sleep: 1 }, { coro: "d" }] } }] }],
          finally: [{ op: "call", coro: "main_" }],
        },
      ]),
    );
    expect(errors).toEqual([
      { path: "$.coroutines[0].body[0].coro", message: 'unknown coroutine "a" (defined: main)' },
      { path: "$.coroutines[0].body[1].coro", message: 'unknown coroutine "b" (defined: main)' },
      { path: "$.coroutines[0].body[2].body[0].on.coro", message: 'unknown coroutine "c" (defined: main)' },
      {
        path: "$.coroutines[0].body[2].except[0].body[0].on.gather[1].coro",
        message: 'unknown coroutine "d" (defined: main)',
      },
      { path: "$.coroutines[0].body[2].finally[0].coro", message: 'unknown coroutine "main_" (defined: main)' },
    ]);
  });

  it("rejects a cycle in the call/spawn graph and names it", () => {
    expect(
      errorOf({
        aiospec: 1,
        coroutines: [
          { name: "a", body: [{ op: "call", coro: "b" }] },
          { name: "b", body: [{ op: "call", coro: "a" }] },
          { name: "main", body: [{ op: "call", coro: "a" }] },
        ],
      }),
    ).toEqual({
      path: "$.coroutines[1].body[0].coro",
      message: 'coroutine "a" calls or spawns itself through a -> b -> a; scenarios must terminate',
    });
  });

  it("sees cycles through create_task, awaits, gathers and try blocks, and self-calls", () => {
    expect(errorOf(scenario([{ op: "create_task", coro: "main", task: "t" }]))).toEqual({
      path: "$.coroutines[0].body[0].coro",
      message: 'coroutine "main" calls or spawns itself through main -> main; scenarios must terminate',
    });
    expect(
      errorOf(
        scenario(
          [{ op: "try", body: [{ op: "create_task", coro: "x", task: "t" }] }],
          { name: "x", body: [{ op: "await", on: { gather: [{ sleep: 0 }, { coro: "y" }] } }] },
          { name: "y", body: [{ op: "try", body: [], finally: [{ op: "await", on: { coro: "x" } }] }] },
        ),
      ),
    ).toEqual({
      path: "$.coroutines[2].body[0].finally[0].on.coro",
      message: 'coroutine "x" calls or spawns itself through x -> y -> x; scenarios must terminate',
    });
  });

  it("reports cycles among coroutines main never reaches", () => {
    expect(errorOf(scenario([], { name: "z", body: [{ op: "call", coro: "z" }] }))).toMatchObject({
      path: "$.coroutines[1].body[0].coro",
      message: expect.stringContaining("z -> z"),
    });
  });

  it("rejects task handles that no create_task binds, in await, cancel, inspect and gather", () => {
    const errors = errorsOf(
      scenario(
        [
          { op: "create_task", coro: "v", task: "bound" },
          { op: "await", on: { task: "t1" } },
          { op: "cancel", task: "t2" },
          { op: "inspect", task: "bound" },
        ],
        { name: "w", body: [{ op: "try", body: [{ op: "await", on: { gather: [{ task: "bound" }, { task: "t3" }] } }] }] },
        { name: "v", body: [{ op: "inspect", task: "t4" }] },
      ),
    );
    expect(errors.map((e) => e.path)).toEqual([
      "$.coroutines[0].body[1].on.task",
      "$.coroutines[0].body[2].task",
      "$.coroutines[1].body[0].body[0].on.gather[1].task",
      "$.coroutines[2].body[0].task",
    ]);
    expect(errors[0].message).toBe('task handle "t1" is never bound: no create_task, create_future or ensure_future step in the scenario binds "t1"');
  });

  it("rejects tasks that could await each other (a cycle of awaits)", () => {
    const errors = errorsOf(
      scenario(
        [{ op: "create_task", coro: "a", task: "ta" }, { op: "create_task", coro: "b", task: "tb" }],
        { name: "a", body: [{ op: "await", on: { task: "tb" } }] },
        { name: "b", body: [{ op: "await", on: { gather: [{ coro: "c" }] } }] },
        { name: "c", body: [{ op: "await", on: { task: "ta" } }] },
      ),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/tasks could await each other: a -> b -> c -> a/);
    expect(errors[0].path).toBe("$.coroutines[3].body[0].on.task");
  });

  it("rejects a coroutine awaiting a handle bound to its own tasks (two such tasks could await each other)", () => {
    const errors = errorsOf(scenario([{ op: "create_task", coro: "a", task: "t" }], { name: "a", body: [{ op: "await", on: { task: "t" } }] }));
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/tasks could await each other: a -> a/)]);
  });

  it("rejects explicit task names that look like default names", () => {
    for (const name of ["Task-1", "Task-0", "Task-12345", "Task-\u0663"]) {
      expect(errorOf(scenario([{ op: "create_task", coro: "w", task: "t", name }], { name: "w", body: [] }))).toMatchObject({
        path: "$.coroutines[0].body[0].name",
        message: expect.stringMatching(/looks like a default task name/),
      });
    }
  });

  it("reports every semantic problem at once", () => {
    const errors = errorsOf({
      aiospec: 1,
      coroutines: [
        { name: "a", body: [{ op: "call", coro: "a" }, { op: "cancel", task: "nope" }] },
        { name: "a", body: [{ op: "call", coro: "ghost" }] },
      ],
    });
    expect(formatValidationErrors(errors).split("\n")).toEqual([
      '$.coroutines[1].name: duplicate coroutine name "a" (also defined at $.coroutines[0].name)',
      '$.coroutines: no coroutine named "main": the entry point is missing',
      '$.coroutines[1].body[0].coro: unknown coroutine "ghost" (defined: a)',
      '$.coroutines[0].body[1].task: task handle "nope" is never bound: no create_task, create_future or ensure_future step in the scenario binds "nope"',
      '$.coroutines[0].body[0].coro: coroutine "a" calls or spawns itself through a -> a; scenarios must terminate',
    ]);
  });
});

describe("parseScenarioText", () => {
  it("parses and validates", () => {
    expect(parseScenarioText(JSON.stringify(everything)).ok).toBe(true);
    expect(parseScenarioText("\ufeff" + JSON.stringify(everything)).ok).toBe(true);
    expect(parseScenarioText('{"aiospec": 1, "coroutines": []}')).toEqual({
      ok: false,
      errors: [{ path: "$.coroutines", message: "must have at least one coroutine" }],
    });
  });

  it("reports malformed JSON as one error at $ with line and column", () => {
    const text = '{\n  "aiospec": 1,\n  "coroutines": [\n    {"name": "main", "body": [],}\n  ]\n}';
    const r = parseScenarioText(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0].path).toBe("$");
    // (newer Node versions word the position themselves: "(line 4 column 33)")
    expect(r.errors[0].message).toMatch(/^malformed JSON: .*\(line 4,? column 33\)$/);
  });

  it("locates errors the parser gives no position for", () => {
    for (const [text, line, column] of [
      ["[1,]", 1, 4],
      ['{"aiospec":\n  tru}', 2, 6],
      ['{"a": x}', 1, 7],
      ["", 1, 1],
      ['{"a": "b', 1, 9],
    ] as const) {
      const r = parseScenarioText(text);
      const where = new RegExp(`^malformed JSON: .*\\(line ${line},? column ${column}\\)$`);
      expect(r.ok ? null : r.errors).toEqual([{ path: "$", message: expect.stringMatching(where) }]);
      if (!r.ok) expect(r.errors[0].message).not.toContain("\n");
    }
  });
});

describe("scenario.schema.json", () => {
  const defs = (scenarioSchema as { $defs: Record<string, any> }).$defs;

  it("lists the exception types and ops of types.ts", () => {
    expect(defs.RaisableType.enum).toEqual([...RAISABLE_TYPES]);
    expect(defs.CatchableType.enum).toEqual([...CATCHABLE_TYPES]);
    expect(defs.Step.properties.op.enum).toEqual([...OPS]);
  });

  it("dispatches every op to a closed schema whose op is that op", () => {
    const dispatched = defs.Step.allOf.map((b: any) => b.if.properties.op.const);
    expect(dispatched).toEqual([...OPS]);
    for (const branch of defs.Step.allOf) {
      const target = defs[branch.then.$ref.replace("#/$defs/", "")];
      expect(target.properties.op.const).toBe(branch.if.properties.op.const);
      expect(target.additionalProperties).toBe(false);
    }
  });

  it("closes every object schema", () => {
    for (const [name, def] of Object.entries(defs)) {
      if (def.type === "object" && name !== "Step" && name !== "Awaitable") {
        expect(def.additionalProperties, name).toBe(false);
      }
    }
    expect((scenarioSchema as any).additionalProperties).toBe(false);
  });
});

describe("docs/scenario-language.md", () => {
  const doc = readFileSync(join(__dirname, "..", "docs", "scenario-language.md"), "utf8");
  /** The first JSON block after a heading. */
  const firstJson = (heading: string): string => {
    expect(doc.indexOf(heading)).toBeGreaterThanOrEqual(0);
    const block = /```json\n([\s\S]*?)\n```/.exec(doc.slice(doc.indexOf(heading)));
    expect(block).not.toBeNull();
    return block![1];
  };

  for (const heading of ["## A scenario", "## A full example", "## A task API example"]) {
    it(`shows a valid scenario under "${heading}"`, () => {
      const r = parseScenarioText(firstJson(heading));
      expect(r.ok ? "" : formatValidationErrors(r.errors)).toBe("");
    });
  }

  it("documents every op, every awaitable kind and every feature", () => {
    for (const op of OPS) expect(doc, op).toContain(`{"op": "${op}"`);
    for (const kind of AWAITABLE_KINDS) expect(doc, kind).toContain(`{"${kind}": `);
    for (const f of FEATURES) expect(doc, f).toContain(f);
  });
});

// ---------------------------------------------------------------- the whole task API

/** A scenario using every op, every awaitable, callbacks, eager and except*. */
const wholeApi = {
  aiospec: 1,
  description: "every op of the task API",
  eager: true,
  callbacks: [
    { name: "on_done", body: [{ op: "log", label: "done" }, { op: "call_soon", callback: "later", handle: "h2" }] },
    {
      name: "later",
      body: [
        { op: "current_task" },
        { op: "all_tasks" },
        { op: "create_task", coro: "worker", task: "from_cb" },
        { op: "cancel", task: "f" },
        { op: "inspect", task: "f" },
        { op: "create_future", future: "f2" },
        { op: "ensure_future", on: { gather: [{ task: "f2" }] }, future: "gf" },
        { op: "unawaited", coro: "worker" },
        { op: "set_result", future: "f2", value: 1 },
        { op: "set_exception", future: "f2", exc: { type: "ValueError" } },
        { op: "result", task: "f2" },
        { op: "exception", task: "f2" },
        { op: "uncancel", task: "w" },
        { op: "set_name", task: "w", name: "renamed" },
        { op: "remove_done_callback", task: "w", callback: "on_done" },
        { op: "cancel_handle", handle: "h1" },
        { op: "call_later", delay: 1, callback: "last" },
        { op: "call_at", when: 5, callback: "last", handle: "h3" },
        { op: "weakref", task: "f2", ref: "wr" },
        { op: "drop", handle: "f2" },
        { op: "gc" },
        { op: "inspect_weakref", ref: "wr" },
        { op: "raise", exc: { type: "RuntimeError", args: ["from a callback"] } },
      ],
    },
    { name: "last", body: [] },
  ],
  coroutines: [
    {
      name: "main",
      body: [
        { op: "create_future", future: "f" },
        { op: "create_task", coro: "worker", task: "w", name: "worker" },
        { op: "add_done_callback", task: "w", callback: "on_done" },
        { op: "call_soon", callback: "later", handle: "h1" },
        { op: "set_result", future: "f", value: "v" },
        {
          op: "taskgroup",
          group: "g",
          body: [
            { op: "create_task", coro: "worker", task: "gt", group: "g" },
            { op: "timeout", cm: "c", delay: 5, body: [{ op: "reschedule", cm: "c", delay: null }, { op: "inspect_timeout", cm: "c" }] },
            { op: "timeout", delay: null, at: true, body: [{ op: "reschedule", cm: "c", delay: 3, at: true }] },
          ],
        },
        { op: "new_taskgroup", group: "unused" },
        {
          op: "try",
          star: true,
          body: [{ op: "raise", exc: { type: "ExceptionGroup", args: ["eg"], exceptions: [{ type: "ValueError" }, { type: "KeyError", args: ["k"] }] } }],
          except: [
            { type: "ValueError", body: [{ op: "log", label: "values" }] },
            { type: "KeyError", reraise: true },
            { type: "BaseException", body: [{ op: "call", coro: "returner" }] },
          ],
          finally: [{ op: "log", label: "finally" }],
        },
        { op: "await", on: { shield: { task: "w" } } },
        { op: "await", on: { wait_for: { coro: "worker" }, timeout: 2 } },
        { op: "await", on: { wait_for: { sleep: 1 }, timeout: null } },
        { op: "await", on: { wait: [{ task: "w" }, { task: "f" }], timeout: 1, return_when: "FIRST_EXCEPTION" } },
        { op: "await", on: { wait: [{ coro: "worker" }] } },
        { op: "await", on: { gather: [{ shield: { coro: "worker" } }, { wait: [{ task: "w" }], return_when: "FIRST_COMPLETED" }] } },
        { op: "as_completed", on: [{ task: "w" }, { task: "f" }], timeout: 3 },
        { op: "as_completed", on: [{ task: "w" }], mode: "async" },
        { op: "as_completed", on: [], mode: "iter", timeout: null },
        {
          op: "try",
          body: [{ op: "raise", exc: { type: "BaseExceptionGroup", exceptions: [{ type: "CancelledError" }, { type: "BaseExceptionGroup", exceptions: [{ type: "SystemExit" }] }] } }],
          except: [{ type: "BaseExceptionGroup" }, { type: "ExceptionGroup" }],
        },
        { op: "set_exception", future: "f", exc: { type: "ExceptionGroup", exceptions: [{ type: "BaseExceptionGroup", exceptions: [{ type: "ValueError" }] }] } },
      ],
    },
    { name: "worker", body: [{ op: "sleep", ticks: 1 }, { op: "return", value: 1 }] },
    { name: "returner", body: [{ op: "return", value: "ok in a called coroutine" }] },
  ],
};

/** A scenario whose main runs `body`, with callbacks. */
function withCallbacks(body: unknown[], callbacks: Array<{ name: string; body: unknown[] }>, ...others: Array<{ name: string; body: unknown[] }>): unknown {
  return { aiospec: 1, callbacks, coroutines: [{ name: "main", body }, ...others] };
}

describe("validateScenario: the whole task API", () => {
  it("accepts a scenario using every op, every awaitable, callbacks, eager and except*", () => {
    expectValid(wholeApi);
  });

  it("checks the structure of the new ops and awaitables, naming the JSON path", () => {
    expect(errorOf(scenario([{ op: "call_later", callback: "c" }]))).toEqual({
      path: "$.coroutines[0].body[0].delay",
      message: 'missing: a "call_later" step requires "delay"',
    });
    expect(errorOf(scenario([{ op: "call_at", when: 1.5, callback: "c" }]))).toEqual({
      path: "$.coroutines[0].body[0].when",
      message: "must be integer",
    });
    expect(errorOf(scenario([{ op: "timeout", delay: "1", body: [] }]))).toEqual({
      path: "$.coroutines[0].body[0].delay",
      message: "must be integer or null",
    });
    expect(errorOf(scenario([{ op: "timeout", delay: 1 }]))).toEqual({
      path: "$.coroutines[0].body[0].body",
      message: 'missing: a "timeout" step requires "body"',
    });
    expect(errorOf(scenario([{ op: "taskgroup", group: "g", body: [], cm: "c" }]))).toEqual({
      path: "$.coroutines[0].body[0].cm",
      message: 'unknown property "cm" ("taskgroup" step properties: op, group, body)',
    });
    expect(errorOf(scenario([{ op: "as_completed", on: [], mode: "sync" }]))).toEqual({
      path: "$.coroutines[0].body[0].mode",
      message: "must be one of iter, async",
    });
    expect(errorOf(scenario([{ op: "await", on: { wait: [], return_when: "FIRST" } }]))).toEqual({
      path: "$.coroutines[0].body[0].on.return_when",
      message: "must be one of FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED",
    });
    expect(errorOf(scenario([{ op: "await", on: { wait_for: { sleep: 1 } } }]))).toEqual({
      path: "$.coroutines[0].body[0].on.timeout",
      message: 'missing: a {wait_for} awaitable requires "timeout"',
    });
    expect(errorOf(scenario([{ op: "await", on: { shield: { sleep: 1 }, timeout: 1 } }]))).toEqual({
      path: "$.coroutines[0].body[0].on.timeout",
      message: 'unknown property "timeout" ({shield} awaitable properties: shield)',
    });
    expect(errorOf(scenario([{ op: "await", on: { shield: { wait_for: { nope: 1 }, timeout: 1 } } }]))).toEqual({
      path: "$.coroutines[0].body[0].on.shield.wait_for",
      message: `an awaitable needs exactly one of the keys ${AWAITABLE_KINDS.join(", ")}; this one has nope`,
    });
    expect(errorOf(scenario([{ op: "try", body: [], star: 1 }]))).toEqual({
      path: "$.coroutines[0].body[0].star",
      message: "must be boolean",
    });
    expect(errorOf(scenario([{ op: "raise", exc: { type: "ExceptionGroup", exceptions: [{ type: "Exception" }] } }]))).toMatchObject({
      path: "$.coroutines[0].body[0].exc.exceptions[0].type",
      message: expect.stringMatching(/^cannot raise Exception/),
    });
    expect(errorOf({ aiospec: 1, eager: "yes", coroutines: [{ name: "main", body: [] }] })).toEqual({ path: "$.eager", message: "must be boolean" });
    expect(errorOf({ aiospec: 1, callbacks: [{ name: "cb" }], coroutines: [{ name: "main", body: [] }] })).toEqual({
      path: "$.callbacks[0].body",
      message: 'missing: a callback requires "body"',
    });
    expect(errorOf(withCallbacks([], [{ name: "cb", body: [{ op: "call_soon", callback: "cb", handle: "1h" }] }])).path).toBe(
      "$.callbacks[0].body[0].handle",
    );
  });

  it("callbacks: unique names, known references, only steps that do not await", () => {
    const errors = errorsOf(
      withCallbacks(
        [
          { op: "call_soon", callback: "a" },
          { op: "create_future", future: "f" },
          { op: "add_done_callback", task: "f", callback: "ghost" },
          { op: "remove_done_callback", task: "f", callback: "ghost2" },
        ],
        [
          { name: "a", body: [{ op: "log", label: "x" }, { op: "sleep", ticks: 1 }, { op: "try", body: [] }, { op: "return" }] },
          { name: "a", body: [] },
        ],
      ),
    );
    expect(formatValidationErrors(errors).split("\n")).toEqual([
      '$.callbacks[1].name: duplicate callback name "a" (also defined at $.callbacks[0].name)',
      '$.coroutines[0].body[2].callback: unknown callback "ghost" (defined: a)',
      '$.coroutines[0].body[3].callback: unknown callback "ghost2" (defined: a)',
      expect.stringMatching(/^\$\.callbacks\[0\]\.body\[1\]\.op: a callback cannot run a "sleep" step: .* \(steps a callback can run: log, create_task, /),
      expect.stringMatching(/^\$\.callbacks\[0\]\.body\[2\]\.op: a callback cannot run a "try" step/),
      expect.stringMatching(/^\$\.callbacks\[0\]\.body\[3\]\.op: a callback cannot run a "return" step/),
    ]);
    expect(errorOf(scenario([{ op: "call_later", delay: 1, callback: "cb" }]))).toEqual({
      path: "$.coroutines[0].body[0].callback",
      message: 'unknown callback "cb" (the scenario defines no callbacks: add it to "callbacks")',
    });
  });

  it("callbacks and coroutines have separate namespaces", () => {
    expectValid(withCallbacks([{ op: "call_soon", callback: "main" }], [{ name: "main", body: [{ op: "log", label: "cb" }] }]));
  });

  it("rejects a callback that schedules itself, directly or through others, and reports the cycle", () => {
    expect(errorOf(withCallbacks([{ op: "call_soon", callback: "a" }], [{ name: "a", body: [{ op: "call_soon", callback: "a" }] }]))).toEqual({
      path: "$.callbacks[0].body[0].callback",
      message: 'callback "a" is scheduled again by what it schedules or spawns: callback:a -> callback:a ' +
        "(call_soon, call_later, call_at and add_done_callback schedule a callback); scenarios must terminate",
    });
    expect(
      errorOf(
        withCallbacks(
          [{ op: "call_soon", callback: "a" }],
          [
            { name: "a", body: [{ op: "call_later", delay: 1, callback: "b" }] },
            { name: "b", body: [{ op: "create_future", future: "f" }, { op: "add_done_callback", task: "f", callback: "c" }] },
            { name: "c", body: [{ op: "call_at", when: 3, callback: "a" }] },
          ],
        ),
      ),
    ).toMatchObject({
      path: "$.callbacks[2].body[0].callback",
      message: expect.stringContaining("callback:a -> callback:b -> callback:c -> callback:a"),
    });
    // through a coroutine: the callback spawns a task that schedules the callback
    expect(
      errorOf(
        withCallbacks([{ op: "call_soon", callback: "cb" }], [{ name: "cb", body: [{ op: "create_task", coro: "w", task: "t" }] }], {
          name: "w",
          body: [{ op: "call_soon", callback: "cb" }],
        }),
      ),
    ).toMatchObject({
      path: "$.coroutines[1].body[0].callback",
      message: expect.stringContaining('callback "cb" is scheduled again by what it schedules or spawns: callback:cb -> w -> callback:cb'),
    });
  });

  it("accepts callback chains without cycles, and remove_done_callback of itself", () => {
    expectValid(
      withCallbacks(
        [{ op: "call_soon", callback: "a" }, { op: "call_soon", callback: "b" }],
        [
          { name: "a", body: [{ op: "call_soon", callback: "b" }, { op: "call_soon", callback: "c" }] },
          { name: "b", body: [{ op: "call_soon", callback: "c" }, { op: "create_future", future: "f" }, { op: "remove_done_callback", task: "f", callback: "b" }] },
          { name: "c", body: [] },
        ],
      ),
    );
  });

  it("keeps task/future, TaskGroup, timeout and timer handles in separate namespaces", () => {
    const errors = errorsOf(
      withCallbacks(
        [
          { op: "create_task", coro: "w", task: "x" },
          { op: "taskgroup", group: "x", body: [] },
          { op: "call_soon", callback: "cb", handle: "y" },
          { op: "cancel", task: "y" },
          { op: "timeout", cm: "z", delay: 1, body: [] },
          { op: "cancel_handle", handle: "z" },
          { op: "await", on: { gather: [{ task: "z" }] } },
        ],
        [{ name: "cb", body: [] }],
        { name: "w", body: [] },
      ),
    );
    expect(errors.map((e) => e.path)).toEqual([
      "$.coroutines[0].body[1].group",
      "$.coroutines[0].body[3].task",
      "$.coroutines[0].body[5].handle",
      "$.coroutines[0].body[6].on.gather[0].task",
    ]);
    expect(errors[0].message).toBe(
      '"x" is used as a TaskGroup handle here but as a task/future handle at $.coroutines[0].body[0].task; ' +
        "task/future, TaskGroup, timeout and timer handles are separate namespaces, so give them different names",
    );
    expect(errors[1].message).toMatch(/^"y" is used as a task\/future handle here but as a timer handle at \$\.coroutines\[0\]\.body\[2\]\.handle;/);
  });

  it("requires every handle to be bound by a step of its kind", () => {
    const errors = errorsOf(
      scenario([
        { op: "create_task", coro: "main_", task: "t", group: "g" },
        { op: "reschedule", cm: "c", delay: 1 },
        { op: "inspect_timeout", cm: "c" },
        { op: "cancel_handle", handle: "h" },
        { op: "result", task: "f" },
        { op: "as_completed", on: [{ task: "u" }] },
        { op: "await", on: { shield: { wait_for: { task: "v" }, timeout: 1 } } },
        { op: "await", on: { wait: [{ task: "w" }] } },
      ], { name: "main_", body: [] }),
    );
    expect(formatValidationErrors(errors).split("\n")).toEqual([
      '$.coroutines[0].body[0].group: TaskGroup handle "g" is never bound: no taskgroup or new_taskgroup step in the scenario has group "g"',
      '$.coroutines[0].body[1].cm: timeout handle "c" is never bound: no timeout step in the scenario has cm "c"',
      '$.coroutines[0].body[2].cm: timeout handle "c" is never bound: no timeout step in the scenario has cm "c"',
      '$.coroutines[0].body[3].handle: timer handle "h" is never bound: no call_soon, call_later or call_at step in the scenario has handle "h"',
      '$.coroutines[0].body[4].task: task handle "f" is never bound: no create_task, create_future or ensure_future step in the scenario binds "f"',
      '$.coroutines[0].body[5].on[0].task: task handle "u" is never bound: no create_task, create_future or ensure_future step in the scenario binds "u"',
      '$.coroutines[0].body[6].on.shield.wait_for.task: task handle "v" is never bound: no create_task, create_future or ensure_future step in the scenario binds "v"',
      '$.coroutines[0].body[7].on.wait[0].task: task handle "w" is never bound: no create_task, create_future or ensure_future step in the scenario binds "w"',
    ]);
  });

  it("set_result / set_exception need a future from create_future; uncancel / set_name a task", () => {
    const errors = errorsOf(
      scenario(
        [
          { op: "create_task", coro: "w", task: "t" },
          { op: "create_future", future: "f" },
          { op: "set_result", future: "t", value: 1 },
          { op: "set_exception", future: "t", exc: { type: "ValueError" } },
          { op: "uncancel", task: "f" },
          { op: "set_name", task: "f", name: "x" },
          { op: "set_result", future: "f" },
          { op: "uncancel", task: "t" },
        ],
        { name: "w", body: [] },
      ),
    );
    expect(formatValidationErrors(errors).split("\n")).toEqual([
      '$.coroutines[0].body[2].future: set_result needs a future: handle "t" is bound only by create_task, never by create_future (a Task\'s set_result() always raises RuntimeError)',
      '$.coroutines[0].body[3].future: set_exception needs a future: handle "t" is bound only by create_task, never by create_future (a Task\'s set_exception() always raises RuntimeError)',
      '$.coroutines[0].body[4].task: uncancel needs a task: handle "f" is bound only by create_future, never by create_task (a Future has no uncancel())',
      '$.coroutines[0].body[5].task: set_name needs a task: handle "f" is bound only by create_future, never by create_task (a Future has no set_name())',
    ]);
    // a handle rebound by both kinds of step may be used by both kinds of probe
    expectValid(
      scenario(
        [
          { op: "create_future", future: "x" },
          { op: "set_result", future: "x" },
          { op: "create_task", coro: "w", task: "x" },
          { op: "uncancel", task: "x" },
        ],
        { name: "w", body: [] },
      ),
    );
  });

  it("rejects default-looking names in set_name too", () => {
    expect(errorOf(scenario([{ op: "create_task", coro: "w", task: "t" }, { op: "set_name", task: "t", name: "Task-7" }], { name: "w", body: [] }))).toMatchObject({
      path: "$.coroutines[0].body[1].name",
      message: expect.stringMatching(/looks like a default task name/),
    });
  });

  it("except*: 1 to 3 clauses, no group types, no return in a handler", () => {
    const clause = (type: string, body: unknown[] = []) => ({ type, body });
    expect(
      errorOf(scenario([{ op: "try", star: true, body: [], except: ["ValueError", "KeyError", "RuntimeError", "CustomError"].map((t) => clause(t)) }])),
    ).toEqual({
      path: "$.coroutines[0].body[0].except",
      message: 'a try with "star": true has at most 3 except* clauses; this one has 4',
    });
    expect(errorOf(scenario([{ op: "try", star: true, body: [], finally: [] }]))).toEqual({
      path: "$.coroutines[0].body[0].except",
      message: 'a try with "star": true needs 1 to 3 except* clauses; this one has none (leave "star" out for a plain try/finally)',
    });
    expect(errorOf(scenario([{ op: "try", star: true, body: [], except: [clause("ValueError"), clause("BaseExceptionGroup")] }]))).toEqual({
      path: "$.coroutines[0].body[0].except[1].type",
      message: "except* cannot name BaseExceptionGroup (Python raises TypeError: catching ExceptionGroup with except* is not allowed); " +
        "use a plain try/except to catch the group itself",
    });
    const errors = errorsOf(
      scenario([
        {
          op: "try",
          star: true,
          body: [{ op: "return", value: 1 }],
          except: [
            clause("ValueError", [
              { op: "return" },
              { op: "try", body: [], finally: [{ op: "timeout", delay: 1, body: [{ op: "return", value: 2 }] }] },
            ]),
          ],
          finally: [{ op: "return", value: 3 }],
        },
      ]),
    );
    expect(errors.map((e) => e.path)).toEqual([
      "$.coroutines[0].body[0].except[0].body[0]",
      "$.coroutines[0].body[0].except[0].body[1].finally[0].body[0]",
    ]);
    expect(errors[0].message).toMatch(/^a "return" cannot appear in an except\* handler \(Python: SyntaxError: /);
    // without star, the same is fine
    expectValid(scenario([{ op: "try", body: [], except: [clause("ExceptionGroup", [{ op: "return" }]), clause("ValueError")] }]));
  });

  it("exception groups: at least one member, a string message, Exceptions only in an ExceptionGroup; members only in groups", () => {
    const raise = (exc: unknown) => scenario([{ op: "raise", exc }]);
    expect(errorOf(raise({ type: "ExceptionGroup", args: ["m"] }))).toEqual({
      path: "$.coroutines[0].body[0].exc.exceptions",
      message: 'an exception group needs at least one exception in "exceptions" (Python raises ValueError for ExceptionGroup(msg, []))',
    });
    expect(errorOf(raise({ type: "BaseExceptionGroup", exceptions: [] })).path).toBe("$.coroutines[0].body[0].exc.exceptions");
    expect(errorOf(raise({ type: "ValueError", exceptions: [{ type: "KeyError" }] }))).toEqual({
      path: "$.coroutines[0].body[0].exc.exceptions",
      message: 'only ExceptionGroup and BaseExceptionGroup have "exceptions", not ValueError',
    });
    expect(errorOf(raise({ type: "ExceptionGroup", args: [1], exceptions: [{ type: "KeyError" }] }))).toEqual({
      path: "$.coroutines[0].body[0].exc.args[0]",
      message: "the message of an ExceptionGroup must be a string (Python raises TypeError), got 1",
    });
    expect(errorOf(raise({ type: "ExceptionGroup", args: ["a", "b"], exceptions: [{ type: "KeyError" }] })).path).toBe(
      "$.coroutines[0].body[0].exc.args",
    );
    const nested = errorsOf(
      scenario([
        {
          op: "create_future",
          future: "f",
        },
        {
          op: "set_exception",
          future: "f",
          exc: {
            type: "ExceptionGroup",
            exceptions: [
              { type: "CancelledError" },
              { type: "BaseExceptionGroup", exceptions: [{ type: "ValueError" }, { type: "KeyboardInterrupt" }] },
              { type: "ExceptionGroup", exceptions: [{ type: "ValueError", exceptions: [] }] },
            ],
          },
        },
      ]),
    );
    expect(formatValidationErrors(nested).split("\n")).toEqual([
      "$.coroutines[0].body[1].exc.exceptions[0].type: an ExceptionGroup can only hold Exceptions, and a CancelledError is not one " +
        "(Python raises TypeError: Cannot nest BaseExceptions in an ExceptionGroup); use a BaseExceptionGroup",
      expect.stringMatching(/^\$\.coroutines\[0\]\.body\[1\]\.exc\.exceptions\[1\]\.type: an ExceptionGroup can only hold Exceptions, and a BaseExceptionGroup holding BaseExceptions is not one/),
      '$.coroutines[0].body[1].exc.exceptions[2].exceptions[0].exceptions: only ExceptionGroup and BaseExceptionGroup have "exceptions", not ValueError',
    ]);
  });

  it("as_completed and wait take task/future handles and coroutines", () => {
    const errors = errorsOf(
      scenario(
        [
          { op: "create_task", coro: "w", task: "t" },
          { op: "as_completed", on: [{ task: "t" }, { coro: "w" }, { sleep: 1 }] },
          { op: "await", on: { wait: [{ task: "t" }, { coro: "w" }, { gather: [] }, { shield: { task: "t" } }] } },
        ],
        { name: "w", body: [] },
      ),
    );
    expect(errors.map((e) => e.path)).toEqual([
      "$.coroutines[0].body[1].on[2]",
      "$.coroutines[0].body[2].on.wait[2]",
      "$.coroutines[0].body[2].on.wait[3]",
    ]);
    expect(errors[0].message).toBe('as_completed takes task and future handles ({"task": H}) and coroutines ({"coro": C}), not a {sleep} awaitable');
    expect(errors[1].message).toBe(
      'wait takes task and future handles ({"task": H}) and coroutines ({"coro": C}, which Python 3.11+ rejects with TypeError), not a {gather} awaitable',
    );
  });

  it("extends the waits-for cycle check to shield, wait_for, wait and as_completed", () => {
    const cycleThrough = (await_: unknown) =>
      errorsOf(
        scenario(
          [{ op: "create_task", coro: "a", task: "ta" }, { op: "create_task", coro: "b", task: "tb" }],
          { name: "a", body: [await_] },
          { name: "b", body: [{ op: "await", on: { task: "ta" } }] },
        ),
      );
    for (const step of [
      { op: "await", on: { shield: { task: "tb" } } },
      { op: "await", on: { wait_for: { task: "tb" }, timeout: 1 } },
      { op: "await", on: { wait: [{ task: "tb" }] } },
      { op: "await", on: { gather: [{ wait_for: { shield: { task: "tb" } }, timeout: null }] } },
      { op: "as_completed", on: [{ task: "tb" }] },
      { op: "taskgroup", group: "g", body: [{ op: "timeout", delay: 1, body: [{ op: "await", on: { task: "tb" } }] }] },
    ]) {
      const errors = cycleThrough(step);
      expect(errors.map((e) => e.message), JSON.stringify(step)).toEqual([expect.stringMatching(/^tasks could await each other: a -> b -> a /)]);
    }
    // coroutines inside shield / wait_for run as part of the awaiting task's wait
    expect(
      errorsOf(
        scenario(
          [{ op: "create_task", coro: "a", task: "ta" }],
          { name: "a", body: [{ op: "await", on: { shield: { coro: "c" } } }] },
          { name: "c", body: [{ op: "await", on: { wait_for: { task: "ta" }, timeout: 1 } }] },
        ),
      ).map((e) => e.message),
    ).toEqual([expect.stringMatching(/^tasks could await each other: a -> c -> a /)]);
    // a callback that cancels a task and a future awaited by a task are no cycle
    expectValid(
      withCallbacks(
        [{ op: "create_future", future: "f" }, { op: "create_task", coro: "a", task: "ta" }, { op: "add_done_callback", task: "ta", callback: "cb" }],
        [{ name: "cb", body: [{ op: "cancel", task: "ta" }, { op: "set_result", future: "f" }] }],
        { name: "a", body: [{ op: "await", on: { task: "f" } }] },
      ),
    );
  });

  it("sees spawn cycles through shield, wait_for, wait and as_completed coroutines", () => {
    expect(errorOf(scenario([{ op: "await", on: { shield: { coro: "main" } } }])).message).toMatch(/main -> main; scenarios must terminate/);
    expect(errorOf(scenario([{ op: "await", on: { wait: [{ coro: "main" }] } }])).path).toBe("$.coroutines[0].body[0].on.wait[0].coro");
    expect(errorOf(scenario([{ op: "await", on: { wait_for: { coro: "nope" }, timeout: 1 } }]))).toEqual({
      path: "$.coroutines[0].body[0].on.wait_for.coro",
      message: 'unknown coroutine "nope" (defined: main)',
    });
  });
});

describe("scenarioFeatures and requiredVersion", () => {
  it("lists every feature of the whole-API scenario", () => {
    // Every feature but cancel messages and eager_start (tested below: before 3.14 the keyword is a TypeError).
    expect(scenarioFeatures(wholeApi as Scenario)).toEqual([...FEATURES].filter((f) => f !== "cancel:msg" && f !== "create_task:eager_start").sort());
    expect(requiredVersion(wholeApi as Scenario)).toBe("3.13");
  });

  it("lists ops, awaitable kinds (nested too) and the special features, sorted", () => {
    const s = scenario(
      [
        { op: "await", on: { gather: [{ shield: { wait_for: { coro: "w" }, timeout: 1 } }] } },
        { op: "try", star: true, body: [{ op: "log", label: "x" }], except: [{ type: "ValueError" }] },
      ],
      { name: "w", body: [{ op: "timeout", delay: 1, body: [{ op: "sleep", ticks: 1 }] }] },
    ) as Scenario;
    expect(scenarioFeatures(s)).toEqual(["await", "coro", "except*", "gather", "log", "shield", "sleep", "timeout", "try", "wait_for"]);
    expect(requiredVersion(s)).toBe("3.11");
  });

  it("lists create_task's eager_start as a feature without a version of its own", () => {
    const main = (body: unknown[]) => ({ aiospec: 1 as const, coroutines: [{ name: "main", body }, { name: "c", body: [] }] }) as Scenario;
    for (const eager_start of [true, false, null]) {
      const s = main([{ op: "create_task", coro: "c", task: "t", eager_start }]);
      expect(validateScenario(s).ok).toBe(true);
      expect(scenarioFeatures(s)).toContain("create_task:eager_start");
      expect(requiredVersion(s)).toBe("3.8");
    }
    expect(scenarioFeatures(main([{ op: "create_task", coro: "c", task: "t" }]))).not.toContain("create_task:eager_start");
    expect(validateScenario(main([{ op: "create_task", coro: "c", task: "t", eager_start: 1 }])).ok).toBe(false);
  });

  it("refuses an eager_start=True child that names its own handle in its first step", () => {
    const s = {
      aiospec: 1,
      coroutines: [
        { name: "main", body: [{ op: "create_task", coro: "c", task: "t", eager_start: true }] },
        { name: "c", body: [{ op: "inspect", task: "t" }] },
      ],
    };
    const r = validateScenario(s);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.message).join("\n")).toMatch(/with eager tasks, "c" runs its first step inside create_task/);
    // eager_start=False: a lazy task, bound before it runs.
    const lazy = { ...s, coroutines: [{ name: "main", body: [{ op: "create_task", coro: "c", task: "t", eager_start: false }] }, s.coroutines[1]] };
    expect(validateScenario(lazy).ok).toBe(true);
  });

  it("gates cancel messages at 3.9 and exception groups at 3.11", () => {
    const main = (body: unknown[]) => ({ aiospec: 1 as const, coroutines: [{ name: "main", body }] }) as Scenario;
    const cancelMsg = main([{ op: "create_future", future: "f" }, { op: "cancel", task: "f", msg: "bye" }]);
    expect(scenarioFeatures(cancelMsg)).toContain("cancel:msg");
    expect(requiredVersion(cancelMsg)).toBe("3.9");
    expect(requiredVersion(main([{ op: "create_future", future: "f" }, { op: "cancel", task: "f" }]))).toBe("3.8");
    const raiseGroup = main([{ op: "raise", exc: { type: "ExceptionGroup", args: ["eg"], exceptions: [{ type: "ValueError" }] } }]);
    expect(scenarioFeatures(raiseGroup)).toContain("exception_group");
    expect(requiredVersion(raiseGroup)).toBe("3.11");
    const catchGroup = main([{ op: "try", body: [], except: [{ type: "BaseExceptionGroup" }] }]);
    expect(scenarioFeatures(catchGroup)).toContain("exception_group");
    expect(scenarioFeatures(main([{ op: "raise", exc: { type: "ValueError" } }]))).not.toContain("exception_group");
  });

  it("gates eager tasks at 3.12 and async as_completed at 3.13", () => {
    const base = { aiospec: 1 as const, coroutines: [{ name: "main", body: [] }] };
    expect(requiredVersion(base)).toBe("3.8");
    expect(scenarioFeatures(base)).toEqual([]);
    expect(requiredVersion({ ...base, eager: true })).toBe("3.12");
    expect(requiredVersion({ ...base, eager: false })).toBe("3.8");
    const asyncIter: Scenario = { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "as_completed", on: [], mode: "async" }] }] };
    expect(requiredVersion(asyncIter)).toBe("3.13");
    expect(scenarioFeatures(asyncIter)).toEqual(["as_completed", "as_completed:async"]);
    expect(requiredVersion({ ...asyncIter, coroutines: [{ name: "main", body: [{ op: "as_completed", on: [], mode: "iter" }] }] })).toBe("3.8");
    expect(Object.keys(FEATURE_VERSIONS).every((f) => FEATURES.includes(f))).toBe(true);
  });
});
