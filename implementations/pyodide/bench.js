#!/usr/bin/env node
"use strict";
/*
 * Start-up time, throughput and trace differences of the Pyodide driver.
 *
 *   node implementations/pyodide/bench.js [--pyodide 0.27,0.29,314] [--repeat N] [--starts N] [--no-snapshot] [--json]
 *
 * For each Pyodide line installed in the peers directory it starts
 * driver.js (through the driver protocol, as the harness does), times the
 * hello (--starts times: the median and the fastest), runs every example scenario (spec/examples/**\/*.json) --repeat
 * times, and compares each trace with
 *  - the recorded CPython trace spec/examples/docs/expected/NAME.3.X.json
 *    (3.X = the Python version the driver claims), when there is one;
 *  - the trace the pyenv CPython of the same minor version (else of the
 *    newest one here, for 3.14) gives through the Python driver, run now.
 * It prints one line per difference (the first differing place), and a
 * summary table. Exit code 0 whatever the differences: it measures.
 */

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawn } = require("node:child_process");

const ROOT = path.resolve(__dirname, "..", "..");
const EXAMPLES = path.join(ROOT, "spec", "examples");
const EXPECTED = path.join(EXAMPLES, "docs", "expected");
const PY_DRIVER = path.join(ROOT, "implementations", "python", "aiospec_driver.py");
const DRIVER = path.join(__dirname, "driver.js");
const ALL_LINES = ["0.27", "0.29", "314"];

function parseArgs(argv) {
  const o = { lines: ALL_LINES, repeat: 3, starts: 3, json: false, driverArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--pyodide") o.lines = String(argv[++i]).split(",");
    else if (a === "--repeat") o.repeat = Math.max(1, Number(argv[++i]) | 0);
    else if (a === "--starts") o.starts = Math.max(1, Number(argv[++i]) | 0);
    else if (a === "--json") o.json = true;
    else if (a === "--no-snapshot") o.driverArgs.push(a);
    else {
      process.stderr.write(`bench.js: unknown argument ${JSON.stringify(a)}; usage: node implementations/pyodide/bench.js [--pyodide 0.27,0.29,314] [--repeat N] [--starts N] [--no-snapshot] [--json]\n`);
      process.exit(2);
    }
  }
  return o;
}

function examples() {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== "expected") walk(p);
      } else if (e.name.endsWith(".json")) {
        out.push({ name: path.relative(EXAMPLES, p).slice(0, -5), base: e.name.slice(0, -5), scenario: JSON.parse(fs.readFileSync(p, "utf8")) });
      }
    }
  };
  walk(EXAMPLES);
  return out;
}

function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = canonical(v[k]);
    return o;
  }
  return v;
}

/** The first place where a and b differ, as a path and the two values. */
function firstDifference(a, b, where = "$") {
  if (JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))) return null;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], `${where}[${i}]`);
      if (d) return d;
    }
    return { where: `${where}.length`, a: a.length, b: b.length };
  }
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const d = firstDifference(a[k], b[k], `${where}.${k}`);
      if (d) return d;
    }
  }
  return { where, a, b };
}

/** CPU time (user + system, all threads) a live process has used, in ms: less load-dependent than wall time. */
function cpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** A driver child process: start it, wait for its hello, send requests one at a time. */
class Driver {
  constructor(cmd, args) {
    this.t0 = process.hrtime.bigint();
    this.child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], cwd: ROOT });
    this.buf = "";
    this.stderr = "";
    this.waiting = [];
    this.child.stderr.on("data", (d) => (this.stderr += d));
    this.child.stdout.on("data", (d) => {
      this.buf += d;
      let nl;
      while ((nl = this.buf.indexOf("\n")) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const w = this.waiting.shift();
        if (w) w.resolve(JSON.parse(line));
      }
    });
    this.child.on("exit", (code) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`driver exited with ${code}: ${this.stderr.trim().split("\n").slice(-3).join(" | ")}`));
    });
    this.hello = this.next().then((h) => {
      this.startMs = Number(process.hrtime.bigint() - this.t0) / 1e6;
      this.startCpuMs = cpuMs(this.child.pid);
      return h.hello;
    });
    this.id = 0;
  }
  next() {
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }
  async run(scenario) {
    const id = ++this.id;
    const p = this.next();
    this.child.stdin.write(JSON.stringify({ id, scenario, options: {} }) + "\n");
    const r = await p;
    if (r.id !== id) throw new Error(`reply ${r.id} to request ${id}`);
    return r;
  }
  close() {
    this.child.stdin.end();
    return new Promise((res) => (this.child.exitCode !== null ? res() : this.child.on("exit", res)));
  }
}

function pyenvPython(minor) {
  const root = process.env.PYENV_ROOT || path.join(os.homedir(), ".pyenv");
  let dirs = [];
  try {
    dirs = fs.readdirSync(path.join(root, "versions")).filter((d) => d.startsWith(minor + "."));
  } catch {
    return null;
  }
  dirs.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const d = dirs.pop();
  return d ? path.join(root, "versions", d, "bin", "python3") : null;
}

function summarize(reply) {
  return "trace" in reply ? reply.trace : { error: reply.error };
}

function show(x) {
  const s = JSON.stringify(x);
  return s === undefined ? "(absent)" : s.length > 160 ? s.slice(0, 157) + "..." : s;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const exs = examples();
  const rows = [];
  const diffs = [];
  const cpythonCache = new Map();
  const startTimes = async (cmd, args) => {
    const ms = [];
    const cpu = [];
    for (let i = 0; i < o.starts; i++) {
      const s = new Driver(cmd, args);
      await s.hello;
      ms.push(s.startMs);
      cpu.push(s.startCpuMs);
      await s.close();
    }
    ms.sort((a, b) => a - b);
    cpu.sort((a, b) => a - b);
    const mid = Math.floor((ms.length - 1) / 2);
    return { min: ms[0], median: ms[mid], cpuMedian: cpu[mid] };
  };
  for (const line of o.lines) {
    let starts;
    try {
      starts = await startTimes(process.execPath, [DRIVER, "--pyodide", line, ...o.driverArgs]);
    } catch (e) {
      rows.push({ line, error: e.message });
      continue;
    }
    const d = new Driver(process.execPath, [DRIVER, "--pyodide", line, ...o.driverArgs]);
    const hello = await d.hello;
    const version = hello.version;
    // Compare with the pyenv CPython of the same minor version, else the newest one here.
    const cmpMinor = pyenvPython(version) ? version : ["3.13", "3.12", "3.11"].find((v) => pyenvPython(v));
    const traces = [];
    const cpu0 = cpuMs(d.child.pid);
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < o.repeat; r++) {
      for (const ex of exs) {
        const reply = await d.run(ex.scenario);
        if (r === 0) traces.push(summarize(reply));
      }
    }
    const runMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const runCpuMs = cpuMs(d.child.pid) - cpu0;
    await d.close();

    if (!cpythonCache.has(cmpMinor)) {
      const py = pyenvPython(cmpMinor);
      const cStarts = await startTimes(py, ["-u", PY_DRIVER]);
      const c = new Driver(py, ["-u", PY_DRIVER]);
      const ch = await c.hello;
      const ct = [];
      const ccpu0 = cpuMs(c.child.pid);
      const c0 = process.hrtime.bigint();
      for (let r = 0; r < o.repeat; r++) {
        for (const ex of exs) {
          const reply = await c.run(ex.scenario);
          if (r === 0) ct.push(summarize(reply));
        }
      }
      const cMs = Number(process.hrtime.bigint() - c0) / 1e6;
      const cCpuMs = cpuMs(c.child.pid) - ccpu0;
      await c.close();
      cpythonCache.set(cmpMinor, { hello: ch, traces: ct, starts: cStarts, runMs: cMs, runCpuMs: cCpuMs });
    }
    const cp = cpythonCache.get(cmpMinor);
    let vsRecorded = 0;
    let recordedCount = 0;
    let vsLive = 0;
    exs.forEach((ex, i) => {
      const expectedFile = path.join(EXPECTED, `${ex.base}.${version}.json`);
      if (ex.name.startsWith("docs/") && fs.existsSync(expectedFile)) {
        recordedCount++;
        const dd = firstDifference(traces[i], JSON.parse(fs.readFileSync(expectedFile, "utf8")));
        if (dd) {
          vsRecorded++;
          diffs.push({ line, pyodide: hello.pyodide, example: ex.name, against: `recorded ${version}`, ...dd });
        }
      }
      const dd = firstDifference(traces[i], cp.traces[i]);
      if (dd) {
        vsLive++;
        diffs.push({ line, pyodide: hello.pyodide, example: ex.name, against: `CPython ${cp.hello.python}`, ...dd });
      }
    });
    const n = exs.length * o.repeat;
    rows.push({
      line,
      pyodide: hello.pyodide,
      python: hello.python,
      entry: hello.entry,
      start: starts,
      scenarios: n,
      perSec: Math.round((n / runMs) * 1000),
      perCpuSec: Math.round((n / runCpuMs) * 1000),
      cpython: cp.hello.python,
      cpythonStart: cp.starts,
      cpythonPerSec: Math.round((n / cp.runMs) * 1000),
      cpythonPerCpuSec: Math.round((n / cp.runCpuMs) * 1000),
      recorded: recordedCount,
      diffRecorded: vsRecorded,
      diffCpython: vsLive,
    });
  }
  if (o.json) {
    process.stdout.write(JSON.stringify({ rows, diffs }, null, 2) + "\n");
    return;
  }
  for (const d of diffs) {
    console.log(`pyodide ${d.pyodide} ${d.example} vs ${d.against}: first difference at ${d.where}\n    pyodide: ${show(d.a)}\n    cpython: ${show(d.b)}`);
  }
  console.log("");
  const ms = (x) => `${Math.round(x.median)}/${Math.round(x.min)}/${Math.round(x.cpuMedian)}cpu`;
  console.log(`start-up: wall median / wall fastest / CPU median of ${o.starts} starts, in ms; scenarios/s: ${exs.length} examples x ${o.repeat} in one process, per wall second / per CPU second`);
  console.log("line  pyodide   python               start-up  scenarios/s | cpython            start-up  scenarios/s | differ: recorded  live CPython");
  for (const r of rows) {
    if (r.error) {
      console.log(`${r.line.padEnd(5)} ${r.error}`);
      continue;
    }
    console.log(
      `${r.line.padEnd(5)} ${r.pyodide.padEnd(9)} ${r.python.padEnd(8)} ${ms(r.start).padStart(22)}  ${(r.perSec + "/" + r.perCpuSec).padStart(11)} | ` +
        `${r.cpython.padEnd(8)} ${ms(r.cpythonStart).padStart(18)}  ${(r.cpythonPerSec + "/" + r.cpythonPerCpuSec).padStart(11)} | ` +
        `${String(r.diffRecorded + "/" + r.recorded).padStart(14)}  ${String(r.diffCpython + "/" + exs.length).padStart(12)}`,
    );
  }
}

main().catch((e) => {
  process.stderr.write(`bench.js: ${e.stack || e}\n`);
  process.exit(1);
});
