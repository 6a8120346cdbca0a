import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { DRIVER_PATH, findCPython } from "../harness/targets";

function driver(python: string, input: string): any[] {
  const r = spawnSync(python, [DRIVER_PATH], { input, encoding: "utf8" });
  expect(r.status).toBe(0);
  return r.stdout.trim().split("\n").map((l) => JSON.parse(l));
}

const tiny = { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "log", label: "hi" }] }] };
const deadlock = {
  aiospec: 1,
  coroutines: [
    { name: "main", body: [{ op: "create_task", coro: "w", task: "t" }, { op: "await", on: { task: "t" } }] },
    { name: "w", body: [{ op: "create_task", coro: "x", task: "u" }, { op: "await", on: { task: "u" } }] },
    { name: "x", body: [{ op: "await", on: { task: "t" } }] },
  ],
};

const pythons = ["python3", ...["3.12", "3.13"].map((v) => findCPython(v).path).filter(Boolean)];

describe.each(pythons)("the Python driver on %s", (python) => {
  it("introduces itself, answers malformed lines with an error and keeps serving", () => {
    const lines = [
      "this is not json",
      JSON.stringify({ id: 1, scenario: tiny }),
      "[1, 2",
      JSON.stringify({ id: 2, nothing: true }),
      JSON.stringify({ id: 3, scenario: { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "explode" }] }] } }),
      JSON.stringify({ id: 4, scenario: tiny }),
    ];
    const out = driver(python, lines.join("\n") + "\n");
    expect(out[0].hello.protocol).toBe(1);
    expect(out[1]).toMatchObject({ id: null, error: expect.stringMatching(/malformed JSON/) });
    expect(out[2].trace.events.map((e: any) => e.ev)).toEqual(["enter", "log", "exit"]);
    expect(out[3]).toMatchObject({ id: null, error: expect.stringMatching(/malformed JSON/) });
    expect(out[4]).toMatchObject({ id: 2, error: expect.stringMatching(/no scenario/) });
    expect(out[5]).toMatchObject({ id: 3, error: expect.stringMatching(/unknown op/) });
    expect(out[6].id).toBe(4);
    expect(out[6].trace.main).toEqual({ state: "result", value: null });
  });

  it("reports a deadlock as an outcome instead of hanging", () => {
    const out = driver(python, JSON.stringify({ id: 1, scenario: deadlock }) + "\n");
    expect(out[1].trace.end).toEqual({ kind: "deadlock" });
    expect(out[1].trace.main).toEqual({ state: "pending" });
  });

  it("never evaluates scenario text", () => {
    const evil = { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "log", label: "__import__('os').system('false')" }, { op: "raise", exc: { type: "ValueError", args: ["'); exit(3) #"] } }] }] };
    const out = driver(python, JSON.stringify({ id: 1, scenario: evil }) + "\n");
    expect(out[1].trace.events[1].label).toBe("__import__('os').system('false')");
    expect(out[1].trace.main.exc).toEqual({ type: "ValueError", args: ["'); exit(3) #"] });
  });

  it("keeps scenarios apart: a deadlocked scenario's leftovers never reach the next one", () => {
    // w waits on x, x waits on t (w's own task): a deadlock. w's finally
    // block spawns a task; if the leftover coroutine were closed during a
    // later run, that task would land on the later scenario's loop.
    const a = {
      aiospec: 1,
      coroutines: [
        { name: "main", body: [{ op: "create_task", coro: "w", task: "t" }, { op: "await", on: { task: "t" } }] },
        { name: "w", body: [{ op: "create_task", coro: "x", task: "u" },
          { op: "try", body: [{ op: "await", on: { task: "u" } }], finally: [{ op: "create_task", coro: "y", task: "v" }] }] },
        { name: "x", body: [{ op: "sleep", ticks: 1 }, { op: "await", on: { task: "t" } }] },
        { name: "y", body: [{ op: "log", label: "ghost" }] },
      ],
    };
    const b = {
      aiospec: 1,
      coroutines: [
        { name: "main", body: [{ op: "create_task", coro: "k", task: "k1" }, { op: "sleep", ticks: 1 }, { op: "await", on: { gather: [{ coro: "k" }, { coro: "k" }] } }] },
        { name: "k", body: [{ op: "sleep", ticks: 0 }] },
      ],
    };
    const lines: string[] = [];
    for (let i = 0; i < 30; i++) {
      lines.push(JSON.stringify({ id: 2 * i, scenario: a }), JSON.stringify({ id: 2 * i + 1, scenario: b }));
    }
    const out = driver(python, lines.join("\n") + "\n").slice(1);
    const traces = out.filter((r) => r.id % 2 === 1).map((r) => JSON.stringify(r.trace));
    expect(out[0].trace.end).toEqual({ kind: "deadlock" });
    expect(new Set(traces).size).toBe(1);
    expect(traces[0]).not.toContain("ghost");
  });
});
