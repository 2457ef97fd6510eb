"""Reading strace output back (``harness.faults._syscall_trace``).

Canned traces in the exact format strace writes (``-f -y -q -xx -s 16 -e write=all``)
pin the parser down without strace; one real trace of a small writer checks that what
this machine's strace prints maps onto the expected operations.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from harness.faults._syscall_run import injection_support, record
from harness.faults._syscall_trace import TRACED, parse_strace, root_trace

needs_strace = pytest.mark.skipif(
    not injection_support().usable, reason=f"strace unusable: {injection_support().reason}"
)

ROOT = "/t/root"


def hx(text: str) -> str:
    """A string as ``strace -xx`` prints it."""
    return "".join(f"\\x{b:02x}" for b in os.fsencode(text))


def q(text: str) -> str:
    return f'"{hx(text)}"'


def fd(n: int, path: str) -> str:
    return f"{n}<{hx(path)}>"


def dump(data: bytes) -> list[str]:
    lines = []
    for at in range(0, len(data), 16):
        chunk = data[at : at + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk[:8])
        if len(chunk) > 8:
            hexes += "  " + " ".join(f"{b:02x}" for b in chunk[8:])
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f" | {at:05x}  {hexes:<49}  {text:<16} |")
    return lines


CWD = f"AT_FDCWD<{hx('/t')}>"
LIBC = "/usr/lib/libc.so"


def canned() -> str:
    tmp, data = f"{ROOT}/a.tmp", f"{ROOT}/a"
    lines = [
        # the runtime's start-up: not on the root, never numbered
        f"100   openat({CWD}, {q(LIBC)}, O_RDONLY|O_CLOEXEC) = {fd(3, LIBC)}",
        f"100   close({fd(3, LIBC)}) = 0",
        f"100   write(1<pipe:[99]>, {q('hi')}, 2) = 2",
        *dump(b"hi"),
        # a relative path resolved against AT_FDCWD's folder
        f"100   openat({CWD}, {q('root/a.tmp')}, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0600)"
        f" = {fd(3, tmp)}",
        # thread 101 starts a write that another thread's calls interrupt
        f"101   write({fd(3, tmp)}, {q('hello wor')}... <unfinished ...>",
        f"100   newfstatat({CWD}, {q(data)}, 0x7ffc1, AT_SYMLINK_NOFOLLOW)"
        " = -1 ENOENT (No such file or directory)",
        "101   <... write resumed>, 22) = 22",
        *dump(b"hello world, 22 bytes!"),
        f"101   pwrite64({fd(3, tmp)}, {q('XY')}, 2, 6) = 2",
        *dump(b"XY"),
        f"100   writev({fd(3, tmp)}, [{{iov_base={q('1')}, iov_len=1}},"
        f" {{iov_base={q('22')}, iov_len=2}}], 2) = 3",
        " * 1 bytes in buffer 0",
        *dump(b"1"),
        " * 2 bytes in buffer 1",
        *dump(b"22"),
        f"100   fsync({fd(3, tmp)}) = 0",
        f"100   chmod({q(tmp)}, 0600) = 0",
        f"100   close({fd(3, tmp)}) = 0",
        f"100   rename({q('root/a.tmp')}, {q(data)}) = 0",
        f"100   renameat2({CWD}, {q(data)}, {CWD}, {q(f'{ROOT}/b')}, RENAME_EXCHANGE) = 0",
        f"100   rename({q('/elsewhere/x')}, {q(f'{ROOT}/x')}) = 0",
        f"100   unlinkat({fd(4, ROOT)}, {q('sub')}, AT_REMOVEDIR) = 0",
        f"100   write({fd(3, tmp)}, {q('boom')}, 4) = -1 EIO (Input/output error) (INJECTED)",
        f"100   mkdir({q(f'{ROOT}/d')}, 0700) = ?",
        "100   +++ killed by SIGKILL +++",
        "101   +++ exited with 0 +++",
    ]
    return "\n".join(lines) + "\n"


def test_calls_are_read_in_entry_order_with_resumed_calls_merged() -> None:
    calls, exits = parse_strace(canned(), cwd="/t")
    names = [c.name for c in calls]
    assert names[:6] == ["openat", "close", "write", "openat", "write", "newfstatat"]
    merged = calls[4]
    assert (merged.pid, merged.result, merged.data) == (101, 22, b"hello world, 22 bytes!")
    assert merged.paths == (f"{ROOT}/a.tmp",)
    assert exits == {100: "killed SIGKILL", 101: "exited 0"}


def test_nth_counts_each_name_per_thread_like_strace_when() -> None:
    calls, _ = parse_strace(canned(), cwd="/t")
    writes = [(c.pid, c.nth) for c in calls if c.name == "write"]
    # pid 100: the pipe write, then the failed one; pid 101: its own first write.
    assert writes == [(100, 1), (101, 1), (100, 2)]


def test_results_errors_injection_and_kill_marks() -> None:
    calls, _ = parse_strace(canned(), cwd="/t")
    stat = next(c for c in calls if c.name == "newfstatat")
    assert (stat.result, stat.errno, stat.ok) == (-1, "ENOENT", False)
    failed = calls[-2]
    assert (failed.errno, failed.injected, failed.killed) == ("EIO", True, False)
    last = calls[-1]
    assert (last.name, last.result, last.killed) == ("mkdir", None, True)
    opened = calls[3]
    assert opened.result_path == f"{ROOT}/a.tmp"


def test_only_calls_on_the_root_are_numbered_and_mapped() -> None:
    calls, exits = parse_strace(canned(), cwd="/t")
    trace = root_trace(calls, ROOT, exits)
    assert trace.total == len(calls)
    assert [c.n for c in trace.calls] == list(range(1, len(trace.calls) + 1))
    kinds = [(c.op.kind if c.op else None) for c in trace.calls]
    assert kinds == [
        "open",
        "write",
        "read",  # the stat of the target: numbered, changes nothing
        "write",
        "write",
        "fsync",
        None,  # chmod
        "close",
        "rename",
        None,  # RENAME_EXCHANGE
        None,  # a rename bringing content from outside the root
        "rmdir",
        "write",
        "mkdir",
    ]
    ops = [c.op for c in trace.calls if c.op is not None]
    assert ops[0].path == "a.tmp" and ops[0].create and ops[0].truncate and ops[0].new_fd == 3
    assert (ops[3].offset, ops[3].data) == (6, b"XY")
    assert (ops[4].offset, ops[4].data) == (None, b"122")
    rename = trace.calls[8].op
    assert rename is not None and (rename.path, rename.path2) == ("a.tmp", "a")
    assert trace.calls[11].op is not None and trace.calls[11].op.path == "sub"


def test_unmodelled_calls_are_listed_never_dropped() -> None:
    calls, exits = parse_strace(canned(), cwd="/t")
    trace = root_trace(calls, ROOT, exits)
    assert [c.call.name for c in trace.unmodelled] == ["chmod", "renameat2", "rename"]
    assert all(c.why for c in trace.unmodelled)
    assert all(c in trace.calls for c in trace.unmodelled)  # numbered like the others


def test_a_write_of_a_failed_call_carries_no_data() -> None:
    calls, exits = parse_strace(canned(), cwd="/t")
    trace = root_trace(calls, ROOT, exits)
    failed = trace.calls[12]
    assert failed.op is not None and failed.op.data == b""


def test_the_root_is_matched_as_a_folder_not_as_a_prefix() -> None:
    line = f"7 mkdir({q(ROOT + '-other/x')}, 0700) = 0\n7 mkdir({q(ROOT)}, 0700) = 0\n"
    calls, _ = parse_strace(line)
    trace = root_trace(calls, ROOT)
    assert [c.op.path if c.op else None for c in trace.calls] == [""]


def test_a_call_cut_off_by_the_end_of_the_trace_never_returned() -> None:
    text = f"5 openat({CWD}, {q(ROOT + '/f')}, O_WRONLY|O_CREAT, 0600 <unfinished ...>\n"
    calls, _ = parse_strace(text)
    assert [(c.name, c.result, c.ok) for c in calls] == [("openat", None, False)]
    assert root_trace(calls, ROOT).calls[0].op is not None


def test_timestamps_of_strace_tt_are_accepted() -> None:
    text = f"9 16:01:02.123456 mkdir({q(ROOT + '/d')}, 0700) = 0\n"
    calls, _ = parse_strace(text)
    assert [(c.pid, c.name, c.paths, c.result) for c in calls] == [(9, "mkdir", (ROOT + "/d",), 0)]


def test_every_traced_name_may_be_missing_on_another_architecture() -> None:
    assert all(name.startswith("?") for name in TRACED)


WRITER = """
import os, sys
root = sys.argv[1]
print("start", flush=True)
fd = os.open(os.path.join(root, "f.tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, b"abc")
os.pwrite(fd, b"Z", 1)
os.fsync(fd)
os.close(fd)
os.rename(os.path.join(root, "f.tmp"), os.path.join(root, "f"))
os.mkdir(os.path.join(root, "d"))
os.link(os.path.join(root, "f"), os.path.join(root, "d", "g"))
os.unlink(os.path.join(root, "f"))
os.rmdir(os.path.join(root, "d2")) if os.path.exists(os.path.join(root, "d2")) else None
dirfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
os.fsync(dirfd)
os.close(dirfd)
"""


@needs_strace
@pytest.mark.real_only
def test_a_real_trace_maps_onto_the_expected_operations(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    root = tmp_path / "root"
    root.mkdir()
    recording = record([sys.executable, str(script), str(root)], str(root))
    changes = [
        (c.op.kind, c.op.path, c.op.path2)
        for c in recording.trace.calls
        if c.op is not None and c.op.kind not in ("read", "close")
    ]
    assert changes == [
        ("open", "f.tmp", None),
        ("write", "f.tmp", None),
        ("write", "f.tmp", None),
        ("fsync", "f.tmp", None),
        ("rename", "f.tmp", "f"),
        ("mkdir", "d", None),
        ("link", "f", "d/g"),
        ("unlink", "f", None),
        ("open", "", None),
        ("fsync", "", None),
    ]
    assert recording.trace.unmodelled == ()
    # The interpreter's own start-up (hundreds of calls) is traced but not numbered.
    assert recording.trace.total > 5 * len(recording.trace.calls)


def test_the_protocol_stream_is_followed_off_descriptor_1() -> None:
    # The reference adapter dups its stdout to 3, then points 1 at stderr: its
    # responses are the writes to the first stdout's pipe, whatever the descriptor.
    out, err = "pipe:[11]", "pipe:[12]"
    lines = [
        f"100 fcntl({fd(1, out)}, F_DUPFD_CLOEXEC, 0) = {fd(3, out)}",
        f"100 dup2({fd(2, err)}, {fd(1, out)}) = {fd(1, err)}",
        f'100 write({fd(1, err)}, "", 6) = 6',
        *dump(b"noise\n"),
        f'100 write({fd(3, out)}, "", 10) = 10',
        *dump(b'{"id": 1}\n'),
        f"100 openat({CWD}, {q(ROOT + '/a')}, O_RDONLY) = {fd(4, ROOT + '/a')}",
        f'100 write({fd(3, out)}, "", 9) = 9',
        *dump(b'{"id": 2}'),
    ]
    calls, exits = parse_strace("\n".join(lines))
    trace = root_trace(calls, ROOT, exits)
    assert [data for _, data in trace.stdout] == [b'{"id": 1}\n', b'{"id": 2}']
    first, second = (seq for seq, _ in trace.stdout)
    assert first < trace.call(1).call.seq < second  # placed among the numbered calls
