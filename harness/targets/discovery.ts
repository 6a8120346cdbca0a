/**
 * Interpreter ids: which real asyncio an id names, where it lives on this
 * machine, and how to start the driver on it (docs/adapters.md, docs/cli.md).
 *
 *   ID        := BASE ( "+" MODIFIER )*
 *   BASE      := "cpython"                  python3 on PATH
 *              | "cpython-3.X"              the CPython 3.X found first: pyenv (highest patch), then
 *                                           python3.X on PATH (pyenv's shims aside), then /usr/bin, /usr/local/bin
 *              | "cpython-3.X.Y"            exactly that release, wherever it is (pyenv 3.11.7, Debian's 3.11.2)
 *              | "pypy-3.X"                 PyPy claiming Python 3.X: pypy3.X or pypy3 on PATH, version checked
 *              | "pyodide-3.12" | "-3.13" | "-3.14"   Pyodide 0.27 / 0.29 / 314 (CPython in WebAssembly, on Node)
 *              | "nest_asyncio"             = the first CPython with nest_asyncio (python3 on PATH first), +nest_asyncio
 *   MODIFIER  := "pytask"                   the pure-Python Task (asyncio.tasks._PyTask) instead of the C Task
 *              | "uvloop"                   uvloop's loop (real clock); the first interpreter of the base that has it
 *              | "nest_asyncio"             asyncio's loop patched by nest_asyncio (virtual clock)
 *              | "realtime"                 asyncio's own loop on the real clock (calibration of real-time runs)
 *              | "webloop"                  Pyodide's own loop, pyodide.webloop.WebLoop (real clock; Pyodide only)
 *
 * Modifiers combine in any order (the canonical id lists them as above);
 * +uvloop and +nest_asyncio exclude each other; Pyodide takes +pytask or
 * +webloop (not both: the WebLoop makes its own tasks, PyodideTask, a C
 * Task), and +webloop applies to Pyodide only.
 *
 * Nothing here runs at import time: interpreters are looked for when an id
 * is resolved, and asked about their packages (one short subprocess each,
 * cached for the life of the process) only when an id needs it or `aiospec
 * list` shows everything.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { UsageError } from "./errors";
import { PYTHON_VERSIONS, PythonVersion, isPythonVersion } from "../../spec/scenario/versions";

export const MODIFIERS = ["pytask", "uvloop", "nest_asyncio", "realtime", "webloop"] as const;
export type Modifier = (typeof MODIFIERS)[number];
export type Family = "cpython" | "pypy" | "pyodide";
/** Packages a modifier needs in the interpreter. */
export type Package = "uvloop" | "nest_asyncio";

/** The command `npm run peers` (scripts/peers.sh) that installs the optional peers. */
export const PEERS_COMMAND = "npm run peers";

const ROOT = path.resolve(__dirname, "..", "..");
export const DRIVER_PATH = path.join(ROOT, "implementations", "python", "aiospec_driver.py");
export const PYODIDE_DRIVER_PATH = path.join(ROOT, "implementations", "pyodide", "driver.js");

/** Pyodide lines (npm alias pyodide-LINE in the peers directory) by the CPython version they embed. */
export const PYODIDE_LINES: Readonly<Record<string, string>> = { "3.12": "0.27", "3.13": "0.29", "3.14": "314" };

export interface InterpreterId {
  /** The canonical id: the base, then the modifiers in MODIFIERS order. */
  id: string;
  family: Family;
  /** "cpython", "cpython-3.11", "cpython-3.11.2", "pypy-3.9", "pyodide-3.13" or "nest_asyncio". */
  base: string;
  /** The version the id names (cpython-3.X[.Y], pypy-3.X, pyodide-3.X). */
  minor?: PythonVersion;
  /** The release a cpython-3.X.Y id names. */
  patch?: string;
  modifiers: Modifier[];
  pytask: boolean;
  /** The event loop: asyncio's own, a package's (uvloop, nest_asyncio), or Pyodide's WebLoop. */
  loop: "asyncio" | Package | "webloop";
  /** The driver runs on the real clock (+realtime, or +uvloop or +webloop, which have no virtual clock). */
  realtime: boolean;
}

const FORMS = "cpython, cpython-3.X, cpython-3.X.Y, pypy-3.X, pyodide-3.12|3.13|3.14, nest_asyncio, each with +MODIFIERs";

function modifierList(ms: readonly string[]): string {
  return ms.map((m) => "+" + m).join(", ");
}

/** Could `id` be meant as an interpreter id (so that a mistake in it is reported as such)? */
export function looksLikeInterpreterId(id: string): boolean {
  return /^(cpython|pypy|pyodide|nest_asyncio)(?=$|[-+.\d@])/.test(id) && !/\.[cm]?[jt]s(@\d+\.\d+)?$/.test(id);
}

/**
 * Parse an interpreter id. Returns null when `id` is not one (a module path,
 * cmd:, reference, ...); throws a UsageError (one line) for a malformed one:
 * an unknown version or modifier, a repeated or conflicting modifier.
 */
export function parseInterpreterId(id: string): InterpreterId | null {
  if (!looksLikeInterpreterId(id)) return null;
  const [base, ...mods] = id.split("+");
  let family: Family;
  let minor: PythonVersion | undefined;
  let patch: string | undefined;
  let implied: Modifier | undefined;
  const known = (v: string, what: string): PythonVersion => {
    if (!isPythonVersion(v)) {
      throw new UsageError(`unknown implementation "${id}": ${what} ${v} is not a Python version aiospec knows (${PYTHON_VERSIONS.join(", ")})`);
    }
    return v;
  };
  let m: RegExpExecArray | null;
  if (base === "cpython") family = "cpython";
  else if (base === "nest_asyncio") {
    family = "cpython";
    implied = "nest_asyncio";
  } else if ((m = /^cpython-(\d+\.\d+)(?:\.(\d+))?$/.exec(base))) {
    family = "cpython";
    minor = known(m[1], "CPython");
    if (m[2] !== undefined) patch = `${m[1]}.${Number(m[2])}`;
  } else if ((m = /^pypy-(\d+\.\d+)$/.exec(base))) {
    family = "pypy";
    minor = known(m[1], "PyPy");
  } else if ((m = /^pyodide-(\d+\.\d+)$/.exec(base))) {
    family = "pyodide";
    if (!(m[1] in PYODIDE_LINES)) {
      throw new UsageError(
        `unknown implementation "${id}": Pyodide ids are ${Object.entries(PYODIDE_LINES).map(([v, l]) => `pyodide-${v} (Pyodide ${l})`).join(", ")}`,
      );
    }
    minor = m[1] as PythonVersion;
  } else {
    throw new UsageError(`unknown implementation "${id}": interpreter ids are ${FORMS}`);
  }
  const allowed: readonly Modifier[] =
    family === "pyodide" ? ["pytask", "webloop"] : implied ? ["pytask", "realtime"] : MODIFIERS.filter((x) => x !== "webloop");
  const seen = new Set<Modifier>(implied ? [implied] : []);
  for (const raw of mods) {
    if (!(MODIFIERS as readonly string[]).includes(raw)) {
      throw new UsageError(`unknown modifier "+${raw}" in "${id}": the modifiers are ${modifierList(MODIFIERS)}`);
    }
    const mod = raw as Modifier;
    if (seen.has(mod)) throw new UsageError(`"${id}": +${mod} ${mod === implied ? `is already implied by ${base}` : "is given twice"}`);
    if (mod === "webloop" && family !== "pyodide") {
      throw new UsageError(
        `modifier "+webloop" does not apply to ${base}: it is Pyodide's own event loop (${Object.keys(PYODIDE_LINES).map((v) => `pyodide-${v}+webloop`).join(", ")})`,
      );
    }
    if (!allowed.includes(mod)) {
      throw new UsageError(`modifier "+${mod}" does not apply to ${base}: it takes ${modifierList(allowed)}`);
    }
    seen.add(mod);
  }
  if (seen.has("uvloop") && seen.has("nest_asyncio")) {
    throw new UsageError(`"${id}": +uvloop and +nest_asyncio cannot be combined (the driver runs one event loop)`);
  }
  if (seen.has("pytask") && seen.has("webloop")) {
    throw new UsageError(`"${id}": +pytask and +webloop cannot be combined (the WebLoop makes its own tasks, pyodide.webloop.PyodideTask, a C Task)`);
  }
  const modifiers = MODIFIERS.filter((x) => seen.has(x));
  const shown = modifiers.filter((x) => x !== implied);
  return {
    id: base + shown.map((x) => "+" + x).join(""),
    family,
    base,
    minor,
    patch,
    modifiers,
    pytask: seen.has("pytask"),
    loop: seen.has("uvloop") ? "uvloop" : seen.has("nest_asyncio") ? "nest_asyncio" : seen.has("webloop") ? "webloop" : "asyncio",
    realtime: seen.has("realtime") || seen.has("uvloop") || seen.has("webloop"),
  };
}

// ---------------------------------------------------------------- finding interpreters

function pyenvRoot(): string {
  return process.env.PYENV_ROOT || path.join(os.homedir(), ".pyenv");
}

function realpath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

function executable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** `cmd` on PATH, or null. With skipPyenv, pyenv's shim directories are passed over (a shim runs whatever version pyenv selects). */
export function whichSync(cmd: string, opts: { skipPyenv?: boolean } = {}): string | null {
  const root = pyenvRoot() + path.sep;
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    if (opts.skipPyenv && (path.resolve(dir) + path.sep).startsWith(root)) continue;
    const p = path.join(dir, cmd);
    if (executable(p)) return p;
  }
  return null;
}

/** The pyenv version names selected here: PYENV_VERSION, else a .python-version up from the working directory, else pyenv's global version file. */
function pyenvSelected(): string[] {
  const split = (text: string) => text.split(/[\s:]+/).filter((x) => x && !x.startsWith("#"));
  if (process.env.PYENV_VERSION) return split(process.env.PYENV_VERSION);
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    try {
      return split(fs.readFileSync(path.join(dir, ".python-version"), "utf8"));
    } catch {
      /* look further up */
    }
    if (path.dirname(dir) === dir) break;
  }
  try {
    return split(fs.readFileSync(path.join(pyenvRoot(), "version"), "utf8"));
  } catch {
    return ["system"];
  }
}

/**
 * `python3` on PATH. A pyenv shim is resolved to the interpreter it would
 * run (as pyenv does: PYENV_VERSION, .python-version, the global version),
 * which spares a shell script at every start; when that does not settle it,
 * the shim itself.
 */
export function python3OnPath(): string | null {
  const p = whichSync("python3");
  if (!p || !(path.resolve(path.dirname(p)) + path.sep).startsWith(pyenvRoot() + path.sep)) return p;
  for (const v of pyenvSelected()) {
    if (v === "system") return whichSync("python3", { skipPyenv: true }) ?? p;
    const exe = path.join(pyenvRoot(), "versions", v, "bin", "python3");
    if (executable(exe)) return exe;
  }
  return p;
}

export interface Candidate {
  /** The interpreter to start. */
  path: string;
  /** Where it was found: "pyenv", "PATH", "/usr/bin", ... */
  source: string;
  /** Its release when known without running it (pyenv's directory name). */
  patch?: string;
}

/** Where CPython 3.X may live, in the order ids pick them; `looked` says where it looked. */
export function cpythonCandidates(minor: string): { candidates: Candidate[]; looked: string[] } {
  const looked: string[] = [];
  const out: Candidate[] = [];
  const seen = new Set<string>();
  const add = (c: Candidate) => {
    const real = realpath(c.path);
    if (seen.has(real)) return;
    seen.add(real);
    out.push(c);
  };
  const versionsDir = path.join(pyenvRoot(), "versions");
  looked.push(path.join(versionsDir, `${minor}.*`, "bin", "python3"));
  try {
    const dirs = fs
      .readdirSync(versionsDir)
      .filter((d) => d.startsWith(minor + ".") && /^\d+\.\d+\.\d+$/.test(d))
      .sort((a, b) => Number(b.split(".")[2]) - Number(a.split(".")[2]));
    for (const d of dirs) {
      const p = path.join(versionsDir, d, "bin", "python3");
      if (executable(p)) add({ path: p, source: "pyenv", patch: d });
    }
  } catch {
    /* no pyenv */
  }
  looked.push(`python${minor} on PATH`);
  const onPath = whichSync(`python${minor}`, { skipPyenv: true });
  if (onPath) add({ path: onPath, source: "PATH" });
  for (const dir of ["/usr/bin", "/usr/local/bin"]) {
    const p = path.join(dir, `python${minor}`);
    if (executable(p)) add({ path: p, source: dir });
  }
  looked.push(`/usr/bin/python${minor}`);
  return { candidates: out, looked };
}

/** Where a CPython 3.X interpreter lives ("" when none), and where it looked. */
export function findCPython(version: string): { path: string; looked: string[] } {
  const { candidates, looked } = cpythonCandidates(version);
  return { path: candidates[0]?.path ?? "", looked };
}

// ---------------------------------------------------------------- asking an interpreter

export interface Probe {
  executable: string;
  /** platform.python_version(): "3.11.7". */
  python: string;
  /** "3.11". */
  version: string;
  /** platform.python_implementation(): "CPython", "PyPy". */
  implementation: string;
  /** The version of each package it can import, or null (uvloop: only with an extension module built for this interpreter). */
  packages: Record<Package, string | null>;
}

/** What the probe asks: no package is imported (importing uvloop takes a second); its files are looked for. */
const PROBE = `
import sys, os, json, platform
import importlib.util as u, importlib.machinery as m
def ver(name):
    try:
        from importlib.metadata import version
        return version(name)
    except BaseException:
        return "?"
def found(name, ext=None):
    try:
        spec = u.find_spec(name)
    except BaseException:
        return None
    if spec is None:
        return None
    if ext is not None:
        dirs = list(spec.submodule_search_locations or [])
        if not any(os.path.exists(os.path.join(d, ext + s)) for d in dirs for s in m.EXTENSION_SUFFIXES):
            return None
    return ver(name)
print(json.dumps({"executable": sys.executable, "python": platform.python_version(),
  "version": "%d.%d" % sys.version_info[:2], "implementation": platform.python_implementation(),
  "packages": {"uvloop": found("uvloop", "loop"), "nest_asyncio": found("nest_asyncio")}}))
`;

const probes = new Map<string, Promise<Probe | null>>();

/** Ask an interpreter what it is and which loop packages it has: one subprocess, cached per process. Null when it does not run. */
export function probe(python: string): Promise<Probe | null> {
  const key = realpath(python);
  let p = probes.get(key);
  if (!p) {
    p = new Promise((resolve) => {
      execFile(python, ["-c", PROBE], { timeout: 30_000, encoding: "utf8" }, (err, stdout) => {
        if (err) return resolve(null);
        try {
          const r = JSON.parse(stdout.trim().split("\n").pop() ?? "");
          resolve(typeof r.python === "string" && typeof r.version === "string" ? (r as Probe) : null);
        } catch {
          resolve(null);
        }
      });
    });
    probes.set(key, p);
  }
  return p;
}

// ---------------------------------------------------------------- locating an id

export interface Located {
  parsed: InterpreterId;
  status: "found" | "absent";
  /** How to start the driver (found). */
  command?: string;
  args?: string[];
  /** The interpreter (or the Pyodide package directory). */
  path?: string;
  /** The full version when known before starting it ("3.11.7", "Pyodide 0.27.8"). */
  fullVersion?: string;
  /** The loop package's version (+uvloop, +nest_asyncio). */
  packageVersion?: string;
  /** Absent: why, and the one command that installs it. */
  why?: string;
  install?: string;
}

/**
 * The package's own folder: ROOT compiled is dist/, whose parent holds
 * .peers/ (`npm run peers` installs there, in a checkout that runs dist/ as
 * in one that runs the sources).
 */
const PACKAGE_ROOT = path.basename(ROOT) === "dist" ? path.dirname(ROOT) : ROOT;

/** Where `npm run peers` installs the peers (the Pyodides): .peers/, or AIOSPEC_PEERS_DIR. */
export function peersDir(): string {
  return path.resolve(process.env.AIOSPEC_PEERS_DIR || path.join(PACKAGE_ROOT, ".peers"));
}

/** The driver's arguments for the id's loop and clock. */
export function driverArgs(p: InterpreterId): string[] {
  const args: string[] = [];
  if (p.loop !== "asyncio") args.push("--loop", p.loop);
  // uvloop and the WebLoop run on the real clock by default (they have no other).
  if (p.realtime && p.loop !== "uvloop" && p.loop !== "webloop") args.push("--clock", "real");
  return args;
}

let python3Probe: Promise<Probe | null> | null = null;
/** What `python3` on PATH really is (pyenv's shim resolved by running it). */
function python3(): Promise<Probe | null> {
  if (!python3Probe) {
    const p = python3OnPath();
    python3Probe = p ? probe(p) : Promise.resolve(null);
  }
  return python3Probe;
}

/** The one command that installs `pkg` for `python`: npm run peers when scripts/peers.sh covers it. */
async function packageInstall(pkg: Package, python: string, family: Family): Promise<string> {
  const real = realpath(python);
  if (family === "cpython") {
    if (real === realpath("/usr/bin/python3")) return `${PEERS_COMMAND} (as root: apt-get install python3-${pkg.replace("_", "-")})`;
    const p3 = await python3();
    if (p3 && realpath(p3.executable) === real) return `${PEERS_COMMAND} (python3 -m pip install ${pkg})`;
  }
  return `${python} -m pip install ${pkg}`;
}

function cpythonInstall(p: InterpreterId): string {
  const v = p.patch ?? p.minor;
  return `pyenv install ${v} (${PEERS_COMMAND} does not install CPythons)`;
}

async function withPackage(
  parsed: InterpreterId,
  candidates: Candidate[],
  pkg: Package | null,
  what: string,
): Promise<Located> {
  for (const c of candidates) {
    if (parsed.patch !== undefined && c.patch !== undefined && c.patch !== parsed.patch) continue;
    const needProbe = pkg !== null || (parsed.patch !== undefined && c.patch === undefined) || parsed.family === "pypy";
    const info = needProbe ? await probe(c.path) : null;
    if (needProbe && info === null) continue;
    if (parsed.patch !== undefined && (info?.python ?? c.patch) !== parsed.patch) continue;
    if (parsed.family === "pypy" && (info!.implementation !== "PyPy" || info!.version !== parsed.minor)) continue;
    if (pkg !== null && !info!.packages[pkg]) continue;
    return {
      parsed,
      status: "found",
      command: c.path,
      args: ["-u", DRIVER_PATH, ...driverArgs(parsed)],
      path: c.path,
      fullVersion: info?.python ?? c.patch,
      packageVersion: pkg ? info!.packages[pkg]! : undefined,
    };
  }
  if (pkg !== null) {
    // Interpreters of the right version, but none with the package.
    for (const c of candidates) {
      const info = await probe(c.path);
      if (!info) continue;
      if (parsed.patch !== undefined && info.python !== parsed.patch) continue;
      if (parsed.family === "pypy" && (info.implementation !== "PyPy" || info.version !== parsed.minor)) continue;
      const looked = candidates.map((x) => x.path).join(", ");
      return { parsed, status: "absent", why: `no ${what} here has ${pkg} (looked at ${looked})`, install: await packageInstall(pkg, c.path, parsed.family) };
    }
  }
  return { parsed, status: "absent" };
}

/** Find what an interpreter id names on this machine. */
export async function locate(parsed: InterpreterId): Promise<Located> {
  const pkg: Package | null = parsed.loop === "asyncio" || parsed.loop === "webloop" ? null : parsed.loop;
  if (parsed.family === "pyodide") {
    const line = PYODIDE_LINES[parsed.minor!];
    const dir = path.join(peersDir(), "node_modules", `pyodide-${line}`);
    let version: string | undefined;
    try {
      if (fs.existsSync(path.join(dir, "pyodide.asm.wasm"))) version = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).version;
    } catch {
      version = undefined;
    }
    if (!version) {
      return { parsed, status: "absent", why: `Pyodide ${line} is not in ${path.relative(process.cwd(), dir) || dir}`, install: PEERS_COMMAND };
    }
    if (!fs.existsSync(PYODIDE_DRIVER_PATH)) {
      return { parsed, status: "absent", why: `the Pyodide driver ${PYODIDE_DRIVER_PATH} is missing`, install: "git checkout implementations/pyodide" };
    }
    return {
      parsed,
      status: "found",
      command: process.execPath,
      args: [PYODIDE_DRIVER_PATH, "--pyodide", line, ...driverArgs(parsed)],
      path: dir,
      fullVersion: `Pyodide ${version}`,
    };
  }
  if (parsed.family === "pypy") {
    const cands: Candidate[] = [];
    const seen = new Set<string>();
    for (const name of [`pypy${parsed.minor}`, "pypy3"]) {
      const p = whichSync(name, { skipPyenv: true });
      if (p && !seen.has(realpath(p))) {
        seen.add(realpath(p));
        cands.push({ path: p, source: "PATH" });
      }
    }
    const found = await withPackage(parsed, cands, pkg, `PyPy ${parsed.minor}`);
    if (found.status === "found" || found.why) return found;
    const seenAs: string[] = [];
    for (const c of cands) {
      const info = await probe(c.path);
      if (info) seenAs.push(`${c.path} is ${info.implementation} ${info.python}`);
    }
    const debian = parsed.minor === "3.9";
    return {
      parsed,
      status: "absent",
      why: cands.length === 0 ? `no pypy${parsed.minor} or pypy3 on PATH` : `no PyPy ${parsed.minor} (${seenAs.join("; ") || "pypy3 does not run"})`,
      install: debian ? `${PEERS_COMMAND} (as root: apt-get install pypy3)` : `put a PyPy ${parsed.minor} on PATH as pypy${parsed.minor}`,
    };
  }
  // CPython
  if (parsed.base === "cpython" || parsed.base === "nest_asyncio") {
    const p3 = python3OnPath();
    const cands: Candidate[] = p3 ? [{ path: p3, source: "PATH" }] : [];
    if (parsed.base === "nest_asyncio") {
      for (const v of [...PYTHON_VERSIONS].reverse()) cands.push(...cpythonCandidates(v).candidates);
    }
    const found = await withPackage(parsed, cands, pkg, parsed.base === "cpython" ? "python3" : "CPython");
    if (found.status === "found" || found.why) return found;
    return { parsed, status: "absent", why: parsed.base === "cpython" ? "no python3 on PATH" : "no CPython found", install: "apt-get install python3" };
  }
  const { candidates, looked } = cpythonCandidates(parsed.minor!);
  const what = `CPython ${parsed.patch ?? parsed.minor}`;
  const found = await withPackage(parsed, candidates, pkg, what);
  if (found.status === "found" || found.why) return found;
  if (parsed.patch !== undefined && candidates.length > 0) {
    const others: string[] = [];
    for (const c of candidates) others.push(c.patch ?? (await probe(c.path))?.python ?? "?");
    return { parsed, status: "absent", why: `no CPython ${parsed.patch} (found ${[...new Set(others)].join(", ")})`, install: cpythonInstall(parsed) };
  }
  return { parsed, status: "absent", why: `no ${what} found (looked for ${looked.join(", ")})`, install: cpythonInstall(parsed) };
}

// ---------------------------------------------------------------- aiospec list

export interface ListedInterpreter {
  id: string;
  family: Family;
  status: "found" | "absent";
  /** The Python version the id claims. */
  version: string | null;
  /** The full version ("3.11.7", "Pyodide 0.27.8"), when found. */
  fullVersion: string | null;
  /** The interpreter, or the Pyodide package directory, when found. */
  path: string | null;
  /** The loop package and its version (+uvloop, +nest_asyncio). */
  package: { name: Package; version: string } | null;
  /** Absent: why, and the one command that installs it. */
  why: string | null;
  install: string | null;
}

function listed(l: Located): ListedInterpreter {
  const found = l.status === "found";
  const pkg = l.parsed.loop === "asyncio" || l.parsed.loop === "webloop" ? null : l.parsed.loop;
  return {
    id: l.parsed.id,
    family: l.parsed.family,
    status: l.status,
    version: l.parsed.minor ?? null,
    fullVersion: found ? l.fullVersion ?? null : null,
    path: found ? l.path ?? null : null,
    package: found && pkg && l.packageVersion ? { name: pkg, version: l.packageVersion } : null,
    why: found ? null : l.why ?? null,
    install: found ? null : l.install ?? null,
  };
}

/**
 * Every interpreter id of the grammar that makes sense here, found or not:
 * cpython, nest_asyncio; for each version cpython-3.X with +pytask,
 * +realtime, +uvloop, +nest_asyncio, and cpython-3.X.Y for each release
 * found (with +uvloop / +nest_asyncio where that release has them); pypy-3.9;
 * pyodide-3.12, -3.13, -3.14, each with +pytask and +webloop. Interpreters
 * are probed in parallel.
 */
export async function listInterpreters(): Promise<ListedInterpreter[]> {
  // Start every probe at once; locate() then finds them cached.
  const all: Candidate[] = [];
  for (const v of PYTHON_VERSIONS) all.push(...cpythonCandidates(v).candidates);
  for (const p of [python3OnPath(), whichSync("pypy3", { skipPyenv: true }), whichSync("pypy3.9", { skipPyenv: true })]) {
    if (p) all.push({ path: p, source: "PATH" });
  }
  await Promise.all(all.map((c) => probe(c.path)));

  const ids: string[] = ["cpython", "nest_asyncio"];
  for (const v of PYTHON_VERSIONS) {
    ids.push(`cpython-${v}`);
    const releases: string[] = [];
    for (const c of cpythonCandidates(v).candidates) {
      const info = await probe(c.path);
      const r = info?.version === v ? info.python : c.patch;
      if (r && !releases.includes(r)) releases.push(r);
    }
    for (const r of releases) ids.push(`cpython-${r}`);
    ids.push(`cpython-${v}+pytask`, `cpython-${v}+realtime`, `cpython-${v}+uvloop`);
    for (const r of releases) ids.push(`cpython-${r}+uvloop`);
    ids.push(`cpython-${v}+nest_asyncio`);
    for (const r of releases) ids.push(`cpython-${r}+nest_asyncio`);
  }
  ids.push("pypy-3.9", "pypy-3.9+pytask", "pypy-3.9+nest_asyncio");
  for (const v of Object.keys(PYODIDE_LINES)) ids.push(`pyodide-${v}`, `pyodide-${v}+pytask`, `pyodide-${v}+webloop`);
  const rows = await Promise.all(
    ids.map(async (id) => {
      const l = await locate(parseInterpreterId(id)!);
      // The full version of an interpreter found on PATH: its probe (already made) says it.
      if (l.status === "found" && l.fullVersion === undefined && l.parsed.family !== "pyodide" && l.path) l.fullVersion = (await probe(l.path))?.python;
      return listed(l);
    }),
  );
  // A release's +uvloop / +nest_asyncio row only when that release has the package.
  return rows.filter((r) => !(/^cpython-\d+\.\d+\.\d+\+/.test(r.id) && r.status === "absent"));
}
