import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  formatValidationErrors, parseScenarioText, scenarioSchema, validateScenario, type ValidationError,
} from "../spec/scenario/validate";
import { CATCHABLE_TYPES, OPS, RAISABLE_TYPES } from "../spec/scenario/types";

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
      message: 'unknown property "extra" (scenario properties: aiospec, description, coroutines)',
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
      message: "an awaitable needs exactly one of the keys task, coro, sleep, gather",
    });
    expect(errorOf(scenario([{ op: "await", on: { result: 1 } }]))).toEqual({
      path: "$.coroutines[0].body[0].on",
      message: "an awaitable needs exactly one of the keys task, coro, sleep, gather; this one has result",
    });
    expect(errorOf(scenario([{ op: "await", on: { task: "t", coro: "main" } }]))).toEqual({
      path: "$.coroutines[0].body[0].on",
      message: "an awaitable has exactly one of the keys task, coro, sleep, gather; this one has task, coro",
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
    expect(errors[0].message).toBe('task handle "t1" is never bound: no create_task step in the scenario has task "t1"');
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
      '$.coroutines[0].body[1].task: task handle "nope" is never bound: no create_task step in the scenario has task "nope"',
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
  it("shows a valid full example", () => {
    const doc = readFileSync(join(__dirname, "..", "docs", "scenario-language.md"), "utf8");
    const section = doc.slice(doc.indexOf("## A full example"));
    const block = /```json\n([\s\S]*?)\n```/.exec(section);
    expect(block).not.toBeNull();
    const r = parseScenarioText(block![1]);
    expect(r.ok ? "" : formatValidationErrors(r.errors)).toBe("");
  });
});
