/**
 * Loads .ts / .cts files in a worker thread: TypeScript's transpile-only
 * emit (ts.transpileModule, exactly what ts-node's transpileOnly mode runs,
 * with the project's tsconfig.json compiler options and CommonJS output), plus
 * an on-disk cache keyed by the source, the file name, the compiler options
 * and the TypeScript version.
 *
 * Why not ts-node's register(), as bin/aiospec.js does: every worker is a
 * fresh V8 isolate, and a cold TypeScript compiler takes seconds to transpile
 * the interpreter and the reference; a worker replaced after a crash or a
 * timeout would pay that each time. With the cache, a worker starts in a
 * fraction of a second and TypeScript is only loaded for files that changed.
 *
 * Plain JavaScript on purpose: it runs before any TypeScript can be loaded.
 */
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const crypto = require("node:crypto");

let ts = null;
let state = null;

function cacheDirectory() {
  if (process.env.AIOSPEC_CACHE_DIR) return path.join(process.env.AIOSPEC_CACHE_DIR, "ts");
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "aiospec", "ts");
}

/** A private directory for the cache (created 0700), or null when none can be used. */
function usableDirectory(dir) {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.statSync(dir);
    // Cached files are executed: never trust a directory someone else owns.
    if (typeof process.getuid === "function" && st.uid !== process.getuid()) return null;
    if (process.platform !== "win32" && (st.mode & 0o022) !== 0) return null;
    return dir;
  } catch {
    return null;
  }
}

function typescriptVersion() {
  try {
    return JSON.parse(fs.readFileSync(require.resolve("typescript/package.json"), "utf8")).version;
  } catch {
    return "unknown";
  }
}

/**
 * The TypeScript compiler, loaded on the first file not in the cache. It is
 * an optional peer of the aiospec package: only a .ts implementation needs it.
 */
function typescript() {
  if (ts) return ts;
  try {
    ts = require("typescript");
  } catch (e) {
    if (e && e.code === "MODULE_NOT_FOUND") {
      throw new Error("loading a .ts implementation needs TypeScript: install typescript (npm install --save-dev typescript), or hand aiospec the compiled .js");
    }
    throw e;
  }
  return ts;
}

/**
 * Compiler options when the project has no tsconfig.json (the installed
 * package): the repository's target and interop, so that an implementation
 * transpiles the same way in both layouts.
 */
const DEFAULT_OPTIONS = { target: "ES2022", esModuleInterop: true, resolveJsonModule: true };

function compilerOptions() {
  if (state.options) return state.options;
  const compiler = typescript();
  const read = compiler.readConfigFile(state.project, compiler.sys.readFile);
  const raw = (read.config && read.config.compilerOptions) || DEFAULT_OPTIONS;
  const { options } = compiler.convertCompilerOptionsFromJson(raw, path.dirname(state.project));
  state.options = {
    ...options,
    module: compiler.ModuleKind.CommonJS,
    noEmit: false,
    declaration: false,
    sourceMap: false,
    inlineSourceMap: true,
    inlineSources: false,
  };
  return state.options;
}

function transpile(source, filename) {
  const key = crypto
    .createHash("sha256")
    .update(state.salt)
    .update("\0")
    .update(filename)
    .update("\0")
    .update(source)
    .digest("hex");
  const file = state.dir && path.join(state.dir, key + ".js");
  if (file) {
    try {
      return fs.readFileSync(file, "utf8");
    } catch {
      /* not cached yet */
    }
  }
  // A miss: only now is the compiler loaded.
  const out = typescript().transpileModule(source, { compilerOptions: compilerOptions(), fileName: filename, reportDiagnostics: false }).outputText;
  if (file) {
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      fs.writeFileSync(tmp, out, { mode: 0o600 });
      fs.renameSync(tmp, file);
    } catch {
      try {
        fs.unlinkSync(tmp);
      } catch {
        /* nothing to clean */
      }
    }
  }
  return out;
}

/** Make require() load .ts and .cts files (transpile-only, with `project`'s compiler options). */
function register(project) {
  if (state) return;
  let configText = "";
  try {
    configText = fs.readFileSync(project, "utf8");
  } catch {
    /* defaults */
  }
  state = {
    project,
    options: null,
    dir: usableDirectory(cacheDirectory()),
    salt: `aiospec-ts-loader 1\0${typescriptVersion()}\0${configText}`,
  };
  const load = (module, filename) => {
    module._compile(transpile(fs.readFileSync(filename, "utf8"), filename), filename);
  };
  require.extensions[".ts"] = load;
  require.extensions[".cts"] = load;
}

module.exports = { register };
