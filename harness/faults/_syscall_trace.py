"""strace output read back as system calls, and the calls on one folder as model operations.

THE MODEL (written once, here; the strace options are :data:`STRACE_FORMAT`):

* The trace comes from ``strace -f -y -q -xx -s 16 -e write=all -e trace=<TRACED>``:
  every string is hex-escaped (so no quote, comma or bracket inside a string can fool
  the splitter), every descriptor carries its path (``3</abs/path>``, ``AT_FDCWD</cwd>``,
  from ``-y``), and the bytes of every write are dumped in full on the lines after the
  call (``-e write=all``), so ``-s`` can stay short and the reads of the runtime's
  start-up stay cheap.
* One :class:`SysCall` per system call, in the order the calls *entered* the kernel
  (an ``<unfinished ...>`` line and its ``<... resumed>`` line are one call, placed where
  it started). ``nth`` counts the calls of that name by that thread, which is what
  strace's ``inject=...:when=N`` counts (per thread, every call of the name, on any path).
* A call is *on the root* when a path it names (an argument resolved against its
  ``dirfd`` or the process's working folder, or the path of a descriptor it acts on) is
  the root folder or lies inside it. Calls on the root are numbered 1, 2, ... in that
  order, failed calls included (each is a place to crash); calls elsewhere (the
  interpreter's start-up, the protocol pipes) are not numbered.
* Each call on the root maps to one :class:`FsOp`: a change the durability model
  knows (open with create/truncate, write at an offset, truncate, rename, link, unlink,
  mkdir, rmdir, fsync/fdatasync, close, dup, seek), or a *neutral* call that changes no
  file (reads, stats, listings, locks, ``sync_file_range``: Linux documents that it
  flushes no metadata and no disk cache, so it makes nothing durable). Calls whose
  effect the model does not know (``fallocate``, ``chmod``, ``symlink``, a
  ``RENAME_EXCHANGE``, a shared writable ``mmap``, ``sync``, a rename from outside the
  root into it, ...) get no operation and are listed in :attr:`RootTrace.unmodelled`:
  they are numbered like every other call and never silently dropped.
* Paths are taken as the kernel was given them, normalised but not resolved through
  symbolic links; the root is matched both as given and as its real path.
* The writes to the process's first stdout (``RootTrace.stdout``, followed by the pipe's
  identity through dups, since an adapter may move its protocol stream off descriptor 1)
  are kept with their place in the trace: a runner finds there which requests had been
  answered before a numbered call.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = [
    "NEUTRAL_KINDS",
    "STRACE_FORMAT",
    "TRACED",
    "FsOp",
    "RootCall",
    "RootTrace",
    "SysCall",
    "parse_strace",
    "root_trace",
]

#: Output options every trace is written with (the parser depends on each of them).
STRACE_FORMAT: tuple[str, ...] = ("-f", "-y", "-q", "-xx", "-s", "16", "-e", "write=all")

# Where each traced call names its paths: (index of the dirfd argument or None, index of
# the path argument); and which arguments are descriptors it acts on.
_PATH_ARGS: dict[str, tuple[tuple[int | None, int], ...]] = {
    "open": ((None, 0),),
    "creat": ((None, 0),),
    "openat": ((0, 1),),
    "openat2": ((0, 1),),
    "rename": ((None, 0), (None, 1)),
    "renameat": ((0, 1), (2, 3)),
    "renameat2": ((0, 1), (2, 3)),
    "unlink": ((None, 0),),
    "unlinkat": ((0, 1),),
    "link": ((None, 0), (None, 1)),
    "linkat": ((0, 1), (2, 3)),
    "mkdir": ((None, 0),),
    "mkdirat": ((0, 1),),
    "rmdir": ((None, 0),),
    "truncate": ((None, 0),),
    "chdir": ((None, 0),),
    "symlink": ((None, 1),),
    "symlinkat": ((1, 2),),
    "chmod": ((None, 0),),
    "fchmodat": ((0, 1),),
    "chown": ((None, 0),),
    "lchown": ((None, 0),),
    "fchownat": ((0, 1),),
    "utimensat": ((0, 1),),
    "mknod": ((None, 0),),
    "mknodat": ((0, 1),),
    "stat": ((None, 0),),
    "lstat": ((None, 0),),
    "newfstatat": ((0, 1),),
    "statx": ((0, 1),),
    "access": ((None, 0),),
    "faccessat": ((0, 1),),
    "faccessat2": ((0, 1),),
    "readlink": ((None, 0),),
    "readlinkat": ((0, 1),),
}


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FD_ARGS: dict[str, tuple[int, ...]] = {
    name: (0,)
    for name in _names(
        """write pwrite64 writev pwritev pwritev2 ftruncate fsync fdatasync sync_file_range
        close lseek dup dup2 dup3 fcntl read pread64 readv preadv preadv2 fstat getdents64
        flock fchmod fchown fallocate fadvise64 syncfs fchdir"""
    )
} | {"mmap": (4,), "copy_file_range": (0, 2), "sendfile": (0, 1), "splice": (0, 2)}

_MODELLED = _names(
    """open creat openat openat2 write pwrite64 writev pwritev pwritev2 ftruncate truncate
    rename renameat renameat2 unlink unlinkat link linkat mkdir mkdirat rmdir fsync
    fdatasync sync_file_range close lseek dup dup2 dup3 fcntl chdir fchdir"""
)
_NEUTRAL = _names(
    """read pread64 readv preadv preadv2 stat lstat fstat newfstatat statx getdents64 flock
    access faccessat faccessat2 readlink readlinkat fadvise64"""
)
_UNMODELLED = _names(
    """fallocate symlink symlinkat chmod fchmod fchmodat chown fchown lchown fchownat
    utimensat mknod mknodat copy_file_range sendfile splice syncfs sync mmap"""
)
#: Every call the traces are taken with (``?``: unknown names on this architecture are
#: skipped by strace instead of refused).
TRACED: tuple[str, ...] = tuple(f"?{name}" for name in (*_MODELLED, *_NEUTRAL, *_UNMODELLED))
#: Operation kinds that change no file.
NEUTRAL_KINDS = frozenset({"read", "sync_file_range", "chdir"})

_LINE = re.compile(r"^(?P<pid>\d+)\s+(?:\d\d:\d\d:\d\d(?:\.\d+)?\s+)?(?P<rest>.*)$")
_START = re.compile(r"^(?P<name>\w+)\(")
_RESUMED = re.compile(r"^<\.\.\. (?P<name>\w+) resumed>")
_RESULT = re.compile(
    r"^\s*=\s*(?P<res>-?\d+|0x[0-9a-fA-F]+|\?)(?P<deco><[^>]*>)?"
    r"(?:\s+(?P<errno>E[A-Z0-9]+)\b)?(?P<rest>.*)$"
)
_DUMP = re.compile(r"^ \| (?P<offset>[0-9a-f]+)  (?P<hex>.{1,49})")
_HEX = re.compile(r"\\x([0-9a-fA-F]{2})")
_FD = re.compile(r"^(?P<fd>-?\d+|AT_FDCWD)(?:<(?P<path>[^>]*)>)?$")
_UNFINISHED = " <unfinished ...>"


@dataclass(frozen=True)
class SysCall:
    """One system call of the trace, as strace printed it."""

    seq: int  # position among every call of the trace, by entry (0-based)
    pid: int  # the thread that made it (strace -f prints thread ids)
    name: str
    args: tuple[str, ...]  # argument texts as printed (strings still hex-escaped)
    result: int | None  # None: it never returned ("= ?": killed, or the trace ended)
    errno: str | None  # "ENOENT", ... when it failed
    paths: tuple[str, ...]  # absolute paths it names, resolved, in argument order
    nth: int  # this is the nth call of ``name`` by ``pid`` (what ``when=`` counts)
    result_path: str | None = None  # the path of a descriptor it returned (open, dup)
    data: bytes = b""  # the bytes a write call wrote (from the -e write= dumps)
    injected: bool = False  # strace marked it "(INJECTED)"
    killed: bool = False  # its process died by a signal inside this call

    @property
    def ok(self) -> bool:
        return self.result is not None and self.errno is None

    def text(self, index: int) -> str | None:
        """Argument ``index`` decoded as a string (``None``: not a string argument)."""
        if index >= len(self.args):
            return None
        raw = self.args[index]
        if not raw.startswith('"'):
            return None
        return _decode(raw[1 : raw.rindex('"')])

    def fd(self, index: int) -> int | None:
        """Argument ``index`` as a descriptor number (``None``: not one)."""
        if index >= len(self.args):
            return None
        match = _FD.match(self.args[index])
        if match is None or match["fd"] == "AT_FDCWD":
            return None
        return int(match["fd"])

    def number(self, index: int) -> int | None:
        if index >= len(self.args):
            return None
        try:
            return int(self.args[index], 0)
        except ValueError:
            return None

    def flags(self, index: int) -> frozenset[str]:
        if index >= len(self.args):
            return frozenset()
        return frozenset(part.strip() for part in self.args[index].split("|"))


@dataclass(frozen=True)
class FsOp:
    """What one call on the root does, in the durability model's terms."""

    kind: str  # open write truncate rename link unlink mkdir rmdir fsync close dup seek read
    path: str | None = None  # relative to the root ("" is the root itself)
    path2: str | None = None  # the second path of rename and link (the new name)
    fd: int | None = None  # the descriptor it acts on
    new_fd: int | None = None  # the descriptor it returned (open, dup)
    data: bytes = b""  # what a write wrote
    offset: int | None = None  # pwrite's offset, seek's new offset; None: the file offset
    size: int | None = None  # truncate's length
    create: bool = False
    truncate: bool = False
    append: bool = False
    directory: bool = False  # opened with O_DIRECTORY (a folder may be opened without)


@dataclass(frozen=True)
class RootCall:
    """A numbered call on the root and its operation (``None``: unmodelled, see ``why``)."""

    n: int
    call: SysCall
    op: FsOp | None
    why: str = ""
    rels: tuple[str | None, ...] = ()  # call.paths relative to the root (None: outside)

    def describe(self) -> str:
        paths = ", ".join(self.call.paths)
        status = self.call.errno or ("?" if self.call.result is None else str(self.call.result))
        return f"#{self.n} {self.call.name}({paths}) = {status}"


@dataclass(frozen=True)
class RootTrace:
    """The calls on one root folder, numbered, plus the exit of each process."""

    root: str
    calls: tuple[RootCall, ...]
    unmodelled: tuple[RootCall, ...]
    total: int  # calls in the whole trace, on any path
    exits: dict[int, str] = field(default_factory=dict)  # pid -> "exited 0" | "killed SIGKILL"
    #: Calls off the root that strace injected a fault into or that were killed inside:
    #: an injection aimed at the root must leave this empty.
    faulted_elsewhere: tuple[SysCall, ...] = ()
    #: (seq, bytes) of every successful write to the process's first stdout (followed
    #: through dups, see :func:`_stdout_pipe`), in entry order: an adapter's protocol
    #: responses, placed among the numbered calls by ``seq`` (what a runner needs to
    #: know which requests were answered before a crash point).
    stdout: tuple[tuple[int, bytes], ...] = ()

    def call(self, n: int) -> RootCall:
        if not 1 <= n <= len(self.calls):
            raise IndexError(f"call {n} is not one of the {len(self.calls)} calls on the root")
        return self.calls[n - 1]


# --- parsing ----------------------------------------------------------------------------------


def _decode(escaped: str) -> str:
    raw = _HEX.sub(lambda m: chr(int(m.group(1), 16)), escaped)
    return os.fsdecode(raw.encode("latin-1"))


def _split_args(text: str) -> tuple[list[str], str]:
    """The top-level arguments of ``text`` (what follows ``name(``), and what follows
    the closing parenthesis."""
    args: list[str] = []
    depth = 0
    start = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            i = text.index('"', i + 1)  # -xx: no quote is ever escaped inside a string
        elif ch == "<":
            i = text.index(">", i + 1)
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                last = text[start:i].strip()
                if last or args:
                    args.append(last)
                return args, text[i + 1 :]
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(text[start:i].strip())
            start = i + 1
        i += 1
    # The trace ended inside the call (an unfinished line never resumed): keep what it
    # printed, so its paths still place it on the root.
    last = text[start:].strip()
    if last:
        args.append(last)
    return args, ""


@dataclass
class _Open:
    """A call being read: its text grows across unfinished/resumed lines."""

    seq: int
    pid: int
    name: str
    text: str
    done: bool = False
    data: list[bytes] = field(default_factory=list)
    killed: bool = False


def _lines(source: str | Iterable[str]) -> Iterator[str]:
    if isinstance(source, str):
        yield from source.splitlines()
    else:
        for line in source:
            yield line.rstrip("\n")


def parse_strace(
    source: str | Iterable[str], *, cwd: str | None = None
) -> tuple[list[SysCall], dict[int, str]]:
    """Every call of a trace written with :data:`STRACE_FORMAT`, by entry order, and how
    each process ended. ``cwd``: the working folder the traced command started in (for
    relative paths of calls that take no ``dirfd``)."""
    calls: list[_Open] = []
    pending: dict[int, _Open] = {}  # pid -> call unfinished
    last_done: _Open | None = None  # the call the next dump lines belong to
    last_of: dict[int, _Open] = {}
    exits: dict[int, str] = {}
    for line in _lines(source):
        dump = _DUMP.match(line)
        if dump is not None:
            if last_done is not None:
                last_done.data.append(bytes.fromhex(dump["hex"].replace(" ", "")))
            continue
        match = _LINE.match(line)
        if match is None:
            continue  # "* N bytes in buffer K" headers of writev dumps, blank lines
        pid, rest = int(match["pid"]), match["rest"]
        if rest.startswith("+++"):
            exits[pid] = _exit_text(rest)
            last = last_of.get(pid)
            if "killed" in rest and last is not None and _never_returned(last):
                last.killed = True
            continue
        if rest.startswith("---"):
            continue  # a signal delivered; its effect shows as the process's exit
        resumed = _RESUMED.match(rest)
        if resumed is not None:
            opened = pending.pop(pid, None)
            if opened is None or opened.name != resumed["name"]:
                continue  # the trace started inside this call
            opened.text += rest[resumed.end() :]
            opened.done = True
            last_done = opened
            continue
        start = _START.match(rest)
        if start is None:
            continue
        opened = _Open(len(calls), pid, start["name"], rest[start.end() :])
        calls.append(opened)
        last_of[pid] = opened
        if opened.text.endswith(_UNFINISHED):
            opened.text = opened.text[: -len(_UNFINISHED)]
            pending[pid] = opened
        else:
            opened.done = True
            last_done = opened
    return _finish(calls, cwd), exits


def _exit_text(rest: str) -> str:
    words = rest.strip("+ ").split()
    if words[:2] == ["exited", "with"]:
        return f"exited {words[2]}"
    if words[:2] == ["killed", "by"]:
        return f"killed {words[2]}"
    return " ".join(words)


def _never_returned(call: _Open) -> bool:
    if not call.done:
        return True
    try:
        _, after = _split_args(call.text)
    except ValueError:
        return True
    result = _RESULT.match(after)
    return result is None or result["res"] == "?"


def _finish(calls: list[_Open], cwd: str | None) -> list[SysCall]:
    counts: dict[tuple[int, str], int] = {}
    cwds: dict[int, str] = {}
    out: list[SysCall] = []
    for opened in calls:
        key = (opened.pid, opened.name)
        counts[key] = counts.get(key, 0) + 1
        try:
            args, after = _split_args(opened.text)
        except ValueError:
            args, after = [], ""  # a quote or decoration cut off by the end of the trace
        result = _RESULT.match(after) if opened.done else None
        value: int | None = None
        errno_name: str | None = None
        result_path: str | None = None
        injected = False
        if result is not None and result["res"] != "?":
            value = int(result["res"], 0)
            errno_name = result["errno"] if value < 0 else None
            if result["deco"]:
                result_path = _decode(result["deco"][1:-1])
            injected = "(INJECTED)" in result["rest"]
        for arg in args:  # every AT_FDCWD<...> tells the process's working folder
            fd = _FD.match(arg)
            if fd is not None and fd["fd"] == "AT_FDCWD" and fd["path"] is not None:
                cwds[opened.pid] = _decode(fd["path"])
        base = cwds.get(opened.pid, cwd)
        call = SysCall(
            seq=opened.seq,
            pid=opened.pid,
            name=opened.name,
            args=tuple(args),
            result=value,
            errno=errno_name,
            paths=_paths(opened.name, args, base),
            nth=counts[key],
            result_path=result_path,
            data=b"".join(opened.data),
            injected=injected,
            killed=opened.killed,
        )
        if call.name in ("chdir", "fchdir") and call.ok and call.paths:
            cwds[opened.pid] = call.paths[0]
        out.append(call)
    return out


def _fd_path(arg: str) -> str | None:
    match = _FD.match(arg)
    if match is None or match["path"] is None:
        return None
    path = _decode(match["path"])
    if path.endswith(" (deleted)"):
        path = path[: -len(" (deleted)")]
    return path if path.startswith("/") else None  # pipes, sockets: "pipe:[123]"


def _paths(name: str, args: list[str], cwd: str | None) -> tuple[str, ...]:
    found: list[str] = []
    specs = _PATH_ARGS.get(name)
    fds = _FD_ARGS.get(name)
    if specs is None and fds is None:  # a call we do not know: any path it shows
        for arg in args:
            path = _fd_path(arg)
            if path is None and arg.startswith('"'):
                path = _decode(arg[1 : arg.rindex('"')])
            if path is not None and path.startswith("/"):
                found.append(os.path.normpath(path))
        return tuple(found)
    for dirfd, index in specs or ():
        if index >= len(args):
            continue
        raw = args[index]
        text = _decode(raw[1 : raw.rindex('"')]) if raw.startswith('"') else ""
        if text.startswith("/"):
            found.append(os.path.normpath(text))
            continue
        base = _fd_path(args[dirfd]) if dirfd is not None and dirfd < len(args) else None
        base = base or cwd
        if base is not None:
            found.append(os.path.normpath(os.path.join(base, text)) if text else base)
    for index in fds or ():
        path = _fd_path(args[index]) if index < len(args) else None
        if path is not None:
            found.append(os.path.normpath(path))
    return tuple(found)


# --- the calls on the root, as model operations -----------------------------------------------


class _Root:
    def __init__(self, root: str) -> None:
        given = os.path.normpath(os.path.abspath(root))
        self.forms = tuple(dict.fromkeys((given, os.path.realpath(given))))

    def rel(self, path: str | None) -> str | None:
        if path is None:
            return None
        for form in self.forms:
            if path == form:
                return ""
            if path.startswith(form + "/"):
                return path[len(form) + 1 :]
        return None


_STDOUT_WRITES = frozenset({"write", "writev"})


def _arg_path(call: SysCall, index: int = 0) -> str | None:
    """The path ``-y`` printed for descriptor argument ``index`` (``pipe:[N]`` too)."""
    if index >= len(call.args):
        return None
    match = _FD.match(call.args[index])
    return None if match is None or match["path"] is None else _decode(match["path"])


def _stdout_pipe(call: SysCall) -> str | None:
    """The identity (``pipe:[N]``, or a path) of the process's first stdout, from the
    first call that names descriptor 1. An adapter may move its protocol stream off
    descriptor 1 (the reference one dups it, then points 1 at stderr, so that nothing
    the store prints corrupts it): the writes are then followed by that identity, not
    by the number. A program whose first mention of descriptor 1 comes after it moved
    it is not followed (its responses are then not found)."""
    for index, arg in enumerate(call.args):
        match = _FD.match(arg)
        if match is not None and match["fd"] == "1":
            return _arg_path(call, index)
    return None


def root_trace(
    calls: Iterable[SysCall], root: str, exits: dict[int, str] | None = None
) -> RootTrace:
    """Number the calls on ``root`` and map each onto a model operation."""
    where = _Root(root)
    numbered: list[RootCall] = []
    unmodelled: list[RootCall] = []
    elsewhere: list[SysCall] = []
    stdout: list[tuple[int, bytes]] = []
    pipe: str | None = None  # what descriptor 1 was when the trace first named it
    total = 0
    for call in calls:
        total += 1
        if pipe is None:
            pipe = _stdout_pipe(call)
        if call.name in _STDOUT_WRITES and call.ok and pipe is not None and _arg_path(call) == pipe:
            stdout.append((call.seq, call.data[: max(call.result or 0, 0)]))
        rels = [where.rel(p) for p in call.paths]
        if call.name == "sync":
            rels = [""]  # no path, but it reaches every folder, the root too
        if all(r is None for r in rels):
            if call.injected or call.killed:
                elsewhere.append(call)
            continue
        op, why = _operation(call, rels)
        entry = RootCall(len(numbered) + 1, call, op, why, tuple(rels))
        numbered.append(entry)
        if op is None:
            unmodelled.append(entry)
    return RootTrace(
        where.forms[0],
        tuple(numbered),
        tuple(unmodelled),
        total,
        dict(exits or {}),
        tuple(elsewhere),
        tuple(stdout),
    )


def _operation(call: SysCall, rels: list[str | None]) -> tuple[FsOp | None, str]:
    name = call.name
    first = rels[0] if rels else None
    if name in ("open", "creat", "openat", "openat2"):
        if name == "creat":
            flags = frozenset({"O_CREAT", "O_TRUNC", "O_WRONLY"})
        else:
            index = 1 if name == "open" else 2
            raw = call.args[index] if index < len(call.args) else ""
            if name == "openat2":
                found = re.search(r"flags=([A-Z_|0-9]+)", raw)
                raw = found.group(1) if found else ""
            flags = frozenset(raw.split("|"))
        return FsOp(
            "open",
            first,
            fd=None,
            new_fd=call.result if call.ok else None,
            create="O_CREAT" in flags,
            truncate="O_TRUNC" in flags,
            append="O_APPEND" in flags,
            directory="O_DIRECTORY" in flags,
        ), ""
    if name in ("write", "writev", "pwrite64", "pwritev", "pwritev2"):
        offset = call.number(3) if name in ("pwrite64", "pwritev", "pwritev2") else None
        if offset is not None and offset < 0:
            offset = None  # pwritev2 with offset -1: at the file offset
        written = call.data[: max(call.result or 0, 0)]
        return FsOp("write", first, fd=call.fd(0), data=written, offset=offset), ""
    if name in ("ftruncate", "truncate"):
        fd = call.fd(0) if name == "ftruncate" else None
        return FsOp("truncate", first, fd=fd, size=call.number(1)), ""
    if name in ("rename", "renameat", "renameat2", "link", "linkat"):
        op_name = "link" if name.startswith("link") else "rename"
        if name == "renameat2" and call.flags(4) & {"RENAME_EXCHANGE", "RENAME_WHITEOUT"}:
            return None, "renameat2 exchange/whiteout: not in the model"
        src, dst = ([*rels, None, None])[:2]
        if src is None or dst is None:
            return None, f"{op_name} across the root's edge: content from outside is unknown"
        return FsOp(op_name, src, dst), ""
    if name in ("unlink", "unlinkat"):
        op_name = "rmdir" if name == "unlinkat" and "AT_REMOVEDIR" in call.flags(2) else "unlink"
        return FsOp(op_name, first), ""
    if name in ("mkdir", "mkdirat"):
        return FsOp("mkdir", first), ""
    if name == "rmdir":
        return FsOp("rmdir", first), ""
    if name in ("fsync", "fdatasync"):
        return FsOp("fsync", first, fd=call.fd(0)), ""
    if name == "sync_file_range":
        return FsOp("sync_file_range", first, fd=call.fd(0)), ""
    if name == "close":
        return FsOp("close", first, fd=call.fd(0)), ""
    if name == "lseek":
        return FsOp("seek", first, fd=call.fd(0), offset=call.result if call.ok else None), ""
    if name in ("dup", "dup2", "dup3"):
        return FsOp("dup", first, fd=call.fd(0), new_fd=call.result if call.ok else None), ""
    if name == "fcntl":
        command = call.args[1] if len(call.args) > 1 else ""
        if command.startswith("F_DUPFD"):
            return FsOp("dup", first, fd=call.fd(0), new_fd=call.result if call.ok else None), ""
        return FsOp("read", first, fd=call.fd(0)), ""
    if name in ("chdir", "fchdir"):
        return FsOp("chdir", first), ""
    if name == "mmap":
        prot, share = call.flags(2), call.flags(3)
        if "PROT_WRITE" in prot and "MAP_SHARED" in share:
            return None, "a shared writable mapping: its writes are no system calls"
        return FsOp("read", first, fd=call.fd(4)), ""
    if name in _NEUTRAL:
        return FsOp("read", first, fd=call.fd(0) if name in _FD_ARGS else None), ""
    if name in _UNMODELLED:
        return None, f"{name}: its effect is not in the durability model"
    return None, f"{name}: not a call this layer maps"
