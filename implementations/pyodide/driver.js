#!/usr/bin/env node
"use strict";
/*
 * aiospec driver for CPython in WebAssembly (Pyodide), on Node.js.
 *
 *   node implementations/pyodide/driver.js --pyodide 0.27|0.29|314 [ARGS...]
 *
 * Speaks the driver protocol of docs/adapters.md on stdin/stdout: one hello
 * line, then one reply line per request line. It loads Pyodide from the
 * peers directory (`npm run peers` installs it there: .peers/node_modules/
 * pyodide-0.27 etc., or $AIOSPEC_PEERS_DIR), writes the project's Python
 * driver (implementations/python/aiospec_driver.py, read from disk now) into
 * Pyodide's virtual file system (with its sibling .py files), imports it and
 * hands it every request line: through its hello_line() / serve_line(line)
 * when it has them, else through hello() / handle_line(line) with a small
 * adaptation to Pyodide (BOOT below). ARGS other than --pyodide go to the
 * Python driver's configure(argv) (--loop, --clock, ...; it refuses what it
 * does not know: one line on stderr, exit code 2).
 *
 * With --loop webloop the scenarios run on Pyodide's own event loop
 * (pyodide.webloop.WebLoop), which cannot block: each request is then run by
 * awaiting it on Node's event loop (aiospec_webloop.py's AwaitedRequest),
 * one at a time, in the order the requests came.
 *
 * Nothing is fetched at run time: Pyodide's core and the standard library
 * (asyncio included) are files of the npm package, and no package is loaded.
 * A fetch of any URL fails loudly instead of going to a CDN.
 */

const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");

const ROOT = path.resolve(__dirname, "..", "..");
// $AIOSPEC_PYTHON_DRIVER: another aiospec_driver.py (an older one, say), with its siblings.
const PY_DRIVER = path.resolve(process.env.AIOSPEC_PYTHON_DRIVER || path.join(ROOT, "implementations", "python", "aiospec_driver.py"));
const PY_DIR = path.dirname(PY_DRIVER);
/** The Pyodide lines the peers script installs (npm alias pyodide-<line>) and their CPython. */
const LINES = ["0.27", "0.29", "314"]; // CPython 3.12, 3.13, 3.14
const USAGE = `usage: node ${path.relative(process.cwd(), __filename) || __filename} --pyodide ${LINES.join("|")} [--no-snapshot] [python driver arguments...]`;

// The protocol owns stdout: everything else (Pyodide's own messages, Python's
// print) goes to stderr.
const writeOut = process.stdout.write.bind(process.stdout);
console.log = console.error;
console.info = console.error;

function die(message, code = 2) {
  process.stderr.write(`aiospec pyodide driver: ${message}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  let line;
  let snapshot = !/^(0|no|false)$/i.test(process.env.AIOSPEC_PYODIDE_SNAPSHOT || "");
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--pyodide" || a.startsWith("--pyodide=")) {
      const v = a === "--pyodide" ? argv[++i] : a.slice("--pyodide=".length);
      if (v === undefined) die(`--pyodide needs a version (${LINES.join(", ")}); ${USAGE}`);
      line = v.replace(/^v/, "");
      if (!LINES.includes(line)) die(`unknown Pyodide version ${JSON.stringify(v)}: expected one of ${LINES.join(", ")}`);
    } else if (a === "--no-snapshot") {
      snapshot = false;
    } else if (a === "-h" || a === "--help") {
      process.stderr.write(USAGE + "\n");
      process.exit(0);
    } else {
      rest.push(a);
    }
  }
  if (line === undefined) die(`no --pyodide VERSION given; ${USAGE}`);
  return { line, rest, snapshot };
}

function peersDir() {
  // Compiled, this file is under dist/: .peers/ is in the package's folder, dist/'s parent.
  const packageRoot = path.basename(ROOT) === "dist" ? path.dirname(ROOT) : ROOT;
  return path.resolve(process.env.AIOSPEC_PEERS_DIR || path.join(packageRoot, ".peers"));
}

function blockNetwork() {
  const refuse = (what) => () => {
    throw new Error(`aiospec pyodide driver: no network access at run time (${what} refused)`);
  };
  globalThis.fetch = (url) => Promise.reject(new Error(`aiospec pyodide driver: no network access at run time (fetch ${String(url)} refused)`));
  if (typeof globalThis.XMLHttpRequest !== "undefined") globalThis.XMLHttpRequest = refuse("XMLHttpRequest");
}

// Python run once, after the driver module is imported. It picks the
// driver's own entry points when it has them (hello_line / serve_line: the
// portable driver, which handles sys.platform == "emscripten" itself), else
// adapts the older one: Pyodide's WebLoop is marked as running (BaseEventLoop
// refuses to run under it) and asyncio.new_event_loop() is a WebLoop, which
// the default-name probe cannot use.
const BOOT = String.raw`
import asyncio, json, sys
import aiospec_driver as _d

_portable = hasattr(_d, "serve_line") and hasattr(_d, "hello_line")
_args = sys.argv[1:]
# The driver's own argument check (configure(argv): it refuses an unknown
# argument with one line on stderr and SystemExit(2)); an older driver takes none.
_exit = None
_configure = getattr(_d, "configure", None)
try:
    if callable(_configure):
        _configure(_args)
    elif _args:
        raise SystemExit("the Python driver takes no arguments (got %s)" % " ".join(_args))
except SystemExit as e:
    _exit = e.code if isinstance(e.code, (int, str)) else str(e.code)
except Exception as e:
    if type(e).__name__ != "UsageError":
        raise
    _exit = "aiospec_driver.py: %s (see --help)" % " ".join(str(e).split())

if not _portable:
    asyncio.events._set_running_loop(None)
    if getattr(_d, "_probe_loop", 0) is None and hasattr(_d, "VirtualTimeLoop"):
        _probe = _d.VirtualTimeLoop()
        _probe.set_exception_handler(lambda loop, ctx: None)
        _d._probe_loop = _probe


def _aiospec_hello(pyodide_version, pyodide_dir):
    if _portable:
        h = json.loads(_d.hello_line())
        h = h.get("hello", h)
    else:
        h = _d.hello()
    impl = str(h.get("implementation") or "CPython")
    if pyodide_version not in impl:
        if "pyodide" in impl.lower():
            h["implementation"] = "%s %s" % (impl, pyodide_version)
        else:
            h["implementation"] = "Pyodide %s %s" % (pyodide_version, impl)
    h["pyodide"] = pyodide_version
    h["pyodide_dir"] = pyodide_dir
    h["entry"] = "serve_line" if _portable else "handle_line"
    return json.dumps({"hello": h}, sort_keys=True, separators=(",", ":"))


def _aiospec_serve(line):
    if _portable:
        return _d.serve_line(line)
    asyncio.events._set_running_loop(None)
    return json.dumps(_d.handle_line(line), sort_keys=True, separators=(",", ":"))


# --loop webloop: requests are awaited (aiospec_webloop.AwaitedRequest).
_aiospec_awaited = False
if _exit is None and _portable and callable(_configure):
    _aiospec_awaited = bool(getattr(_d.current_config(), "awaited", False))


def _aiospec_start(line):
    import aiospec_webloop
    return aiospec_webloop.AwaitedRequest(line)
`;

function requestId(line) {
  try {
    const req = JSON.parse(line);
    return req !== null && typeof req === "object" && !Array.isArray(req) && "id" in req ? req.id : null;
  } catch {
    return null;
  }
}

function oneLine(s) {
  return String(s).replace(/\s+/g, " ").trim();
}

/**
 * The reply to a request whose serving threw: a Python exception becomes an
 * error reply; anything else means the interpreter is gone (a trap, a stack
 * overflow), and the driver exits so that the harness starts a replacement.
 */
function failureReply(e, text) {
  const isPythonError = e && (e.constructor && e.constructor.name === "PythonError" || typeof e.type === "string");
  if (!isPythonError || e.pyodide_fatal_error) {
    process.stderr.write(`aiospec pyodide driver: Pyodide failed: ${oneLine(e && e.stack ? e.stack : e)}\n`);
    process.exit(70);
  }
  const msg = oneLine(e.message).slice(-2000);
  return JSON.stringify({ id: requestId(text), error: `driver failure (Pyodide): ${msg}` });
}

/** How often the deadlock watchdog of an awaited request looks (aiospec_webloop.py LoopWatchdog). */
const POLL_MS = 20;

/**
 * One request on the WebLoop: each run of the loop it needs is awaited on
 * Node's event loop, where the WebLoop's callbacks run, until the request's
 * Python side says the run ended.
 */
async function serveAwaited(start, text) {
  let req = null;
  try {
    req = start(text);
    while (!req.done) {
      await new Promise((resolve) => {
        const poll = setInterval(() => {
          try {
            req.poll();
          } catch (e) {
            process.stderr.write(`aiospec pyodide driver: the watchdog failed: ${oneLine(e && e.message ? e.message : e).slice(-500)}\n`);
          }
        }, POLL_MS);
        try {
          req.listen(() => {
            clearInterval(poll);
            resolve();
          });
        } catch (e) {
          clearInterval(poll);
          throw e; // rejects the promise: an error reply below
        }
      });
      req.resume();
    }
    return req.reply;
  } catch (e) {
    return failureReply(e, text);
  } finally {
    if (req !== null) req.destroy();
  }
}

// Start-up snapshots. Most of Pyodide's start-up (seconds) is the
// interpreter's own bootstrap and the first imports; a memory snapshot taken
// right after them (Pyodide's makeMemorySnapshot / _loadSnapshot) restores
// that state in a third of the time. The snapshot holds only the standard
// library's state: the driver itself is read from disk and imported after the
// restore, at every start. It is made by the first start that finds none,
// kept in <peers>/snapshots/ under a name that changes with Pyodide's files,
// and ignored (and replaced) when it cannot be loaded. --no-snapshot or
// AIOSPEC_PYODIDE_SNAPSHOT=0: plain start-up, no snapshot read or written.
const SNAPSHOT_FORMAT = 1;
const PRELOAD = "import argparse, asyncio, functools, importlib, importlib.util, itertools, json, os, platform, re, time, traceback";

function snapshotFile(dir, pkg, peers) {
  const stamp = ["pyodide.asm.wasm", "python_stdlib.zip"]
    .map((f) => {
      const st = fs.statSync(path.join(dir, f));
      return `${st.size}-${Math.floor(st.mtimeMs)}`;
    })
    .join("-");
  return path.join(peers, "snapshots", `pyodide-${pkg.version}-${stamp}-f${SNAPSHOT_FORMAT}.bin`);
}

async function startPyodide(dir, pkg, peers, useSnapshot) {
  const { loadPyodide } = require(path.join(dir, "pyodide.js"));
  const toStderr = (s) => process.stderr.write(s + "\n");
  const options = {
    indexURL: dir + path.sep,
    packageCacheDir: dir,
    stdin: () => null,
    stdout: toStderr,
    stderr: toStderr,
    args: [],
    checkAPIVersion: true,
  };
  let file = null;
  if (useSnapshot) {
    try {
      file = snapshotFile(dir, pkg, peers);
    } catch {
      file = null;
    }
  }
  if (file !== null && fs.existsSync(file)) {
    try {
      return await loadPyodide({ ...options, _loadSnapshot: fs.readFileSync(file) });
    } catch (e) {
      process.stderr.write(`aiospec pyodide driver: the start-up snapshot ${file} did not load (${oneLine(e && e.message ? e.message : e).slice(0, 200)}); starting without it\n`);
      try {
        fs.unlinkSync(file);
      } catch {}
    }
  }
  let pyodide;
  try {
    pyodide = await loadPyodide(file !== null ? { ...options, _makeSnapshot: true } : options);
  } catch (e) {
    die(`Pyodide ${pkg.version} failed to load from ${dir}: ${oneLine(e && e.message ? e.message : e)}`, 1);
  }
  pyodide.runPython(PRELOAD);
  if (file !== null) {
    // Written under a temporary name, then renamed: a concurrent start sees a whole file or none.
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      const snap = pyodide.makeMemorySnapshot();
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(tmp, snap);
      fs.renameSync(tmp, file);
    } catch (e) {
      try {
        fs.unlinkSync(tmp);
      } catch {}
      process.stderr.write(`aiospec pyodide driver: no start-up snapshot written (${oneLine(e && e.message ? e.message : e).slice(0, 200)})\n`);
    }
  }
  return pyodide;
}

async function main() {
  const { line, rest, snapshot } = parseArgs(process.argv.slice(2));
  const peers = peersDir();
  const dir = path.join(peers, "node_modules", `pyodide-${line}`);
  if (!fs.existsSync(path.join(dir, "pyodide.js"))) {
    die(`Pyodide ${line} is not installed (no ${path.relative(process.cwd(), dir) || dir}): run \`npm run peers\` (or \`npm run peers -- --only pyodide\`)`);
  }
  // The driver (as aiospec_driver.py) and its sibling modules (aiospec_star.py, ...).
  const sources = new Map();
  try {
    sources.set("aiospec_driver.py", fs.readFileSync(PY_DRIVER, "utf8"));
    for (const f of fs.readdirSync(PY_DIR)) {
      if (f.endsWith(".py") && f !== path.basename(PY_DRIVER) && !sources.has(f)) {
        sources.set(f, fs.readFileSync(path.join(PY_DIR, f), "utf8"));
      }
    }
  } catch (e) {
    die(`cannot read the Python driver ${PY_DRIVER}: ${e.message}`);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));

  blockNetwork();
  const pyodide = await startPyodide(dir, pkg, peers, snapshot);

  // The driver's file, as a module of the virtual file system.
  pyodide.FS.mkdirTree("/aiospec");
  for (const [f, text] of sources) pyodide.FS.writeFile(`/aiospec/${f}`, text, { encoding: "utf8" });
  const sys = pyodide.pyimport("sys");
  sys.path.insert(0, "/aiospec");
  sys.argv = pyodide.toPy(["/aiospec/aiospec_driver.py", ...rest]);
  sys.destroy();
  const ns = pyodide.globals.get("dict")();
  try {
    pyodide.runPython(BOOT, { globals: ns });
  } catch (e) {
    // A PythonError's message is the traceback: its last line says what happened.
    const lines = String(e && e.message ? e.message : e).split("\n").filter((l) => l.trim() !== "");
    die(`the Python driver failed to start in Pyodide ${pkg.version}: ${oneLine(lines[lines.length - 1] || "")}`);
  }
  const exit = ns.get("_exit");
  if (exit !== undefined && exit !== null) {
    if (typeof exit === "number") process.exit(exit); // the driver said why, on stderr
    die(String(exit));
  }
  const hello = ns.get("_aiospec_hello");
  const serve = ns.get("_aiospec_serve");
  const awaited = ns.get("_aiospec_awaited") === true;
  writeOut(hello(pkg.version, dir) + "\n");
  hello.destroy();

  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  // Pyodide may leave timers behind; the replies are written (stdout to a
  // pipe or file is synchronous on POSIX), so end now.
  const finish = () => writeOut("", () => process.exit(0));
  if (awaited) {
    // The WebLoop: requests are queued and awaited one at a time.
    const start = ns.get("_aiospec_start");
    const queue = [];
    let busy = false;
    let ended = false;
    const pump = async () => {
      if (busy) return;
      busy = true;
      while (queue.length > 0) {
        const text = queue.shift();
        writeOut((await serveAwaited(start, text)) + "\n");
      }
      busy = false;
      if (ended) finish();
    };
    rl.on("line", (text) => {
      if (text.trim() === "") return;
      queue.push(text);
      void pump();
    });
    rl.on("close", () => {
      ended = true;
      if (!busy) finish();
    });
    return;
  }
  rl.on("line", (text) => {
    if (text.trim() === "") return;
    let reply;
    try {
      reply = serve(text);
    } catch (e) {
      reply = failureReply(e, text);
    }
    writeOut(reply + "\n");
  });
  rl.on("close", finish);
}

main().catch((e) => die(`unexpected failure: ${oneLine(e && e.stack ? e.stack : e)}`, 1));
