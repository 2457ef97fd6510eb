"""Run a command under strace: record its calls on a root, or kill or fail it at one of them.

THE MODEL (written once, here):

* *Record*: the command runs under ``strace`` with :data:`STRACE_FORMAT` and the calls of
  :data:`TRACED`; the trace is read back (:mod:`harness.faults._syscall_trace`) into the
  numbered calls on the root, with the tree of the root as it was before the run. A
  plain command runs to its end with the given stdin; a *driver* (a callable given the
  wrapped argv and environment, e.g. one that speaks the adapter protocol through
  ``harness.foreign.AdapterClient``, which this layer may not import) runs anything
  else, and what it returns or raises is the run's outcome.
* *Inject*: "call ``k`` on the root" is translated into what strace can aim at: the
  ``nth`` call of that system call's name by the thread that made it (strace counts
  every call of the name, per thread, on any path), taken from the recording. The run
  is traced again with ``-e inject=NAME:...:when=nth``:

  - ``kill``: ``error=EIO:signal=SIGKILL`` -- the call is replaced by a failure (so it
    never reaches the file system) and the process is killed before it returns: the disk
    holds exactly the effects of calls ``1 .. k-1``;
  - an errno (``ENOSPC``, ``EDQUOT``, ``EIO``, ``EACCES``, ...): the call fails with it, as
    if the kernel had said so, and the program goes on.

* *Determinism assumption*: the injecting run makes the same calls as the recording, in
  the same order, per thread, up to call ``k`` -- same argv, same starting tree, same
  requests in the same order, a deterministic clock and temp names. :func:`deterministic_env`
  removes two usual sources of drift for Python programs (hash seeds, and ``.pyc``
  files written by the first run only). Nothing here *relies* on it silently: the
  injecting run is traced too, and :class:`Injection` says whether the call that got
  the fault is call ``k`` of the recording (same number on the root, same name, same
  paths relative to the root up to the random part of a temp name) and whether any
  other call got one (another thread with as many calls of that name is faulted too:
  strace cannot filter injection by path).
* Only processes started here are ever signalled; a timed-out run's process group (its
  own session) is killed, because killing strace alone would detach, not end, its
  tracee.
"""

from __future__ import annotations

import errno as errno_module
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from harness._errors import HarnessError
from harness.faults._syscall_power import TreeState, snapshot_tree
from harness.faults._syscall_trace import (
    STRACE_FORMAT,
    TRACED,
    RootCall,
    RootTrace,
    SysCall,
    parse_strace,
    root_trace,
)

__all__ = [
    "FAULT_ERRNOS",
    "KILL",
    "Driver",
    "Injection",
    "InjectionSupport",
    "Recording",
    "RunResult",
    "StraceFault",
    "SyscallFaultError",
    "blank_random",
    "deterministic_env",
    "inject",
    "injection_support",
    "plan_fault",
    "record",
    "strace_command",
]

#: The errors the disk gives a store (any other errno name strace knows works too).
FAULT_ERRNOS = ("ENOSPC", "EDQUOT", "EIO", "EACCES")
#: The fault that kills the process at the call instead of failing it.
KILL = "kill"


class SyscallFaultError(HarnessError):
    """strace is missing, refused to run, or its trace cannot be used."""


@dataclass(frozen=True)
class StraceFault:
    """What strace is told: fail (or kill at) the ``nth`` ``syscall`` of a thread."""

    syscall: str
    nth: int
    fault: str  # "kill" or an errno name

    def option(self) -> str:
        if self.fault == KILL:
            return f"inject={self.syscall}:error=EIO:signal=SIGKILL:when={self.nth}"
        return f"inject={self.syscall}:error={self.fault}:when={self.nth}"


def strace_command(
    argv: Sequence[str], output: str, *, fault: StraceFault | None = None
) -> list[str]:
    """The argv that runs ``argv`` under strace, writing the trace to ``output``."""
    strace = shutil.which("strace")
    if strace is None:
        raise SyscallFaultError("strace is not installed (the syscall fault layer needs it)")
    command = [strace, *STRACE_FORMAT, "-e", "trace=" + ",".join(TRACED), "-o", output]
    if fault is not None:
        command += ["-e", fault.option()]
    return [*command, "--", *argv]


def deterministic_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) with a fixed hash seed and no ``.pyc`` writing,
    unless the caller set them."""
    out = dict(os.environ if env is None else env)
    out.setdefault("PYTHONHASHSEED", "0")
    out.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    return out


@dataclass(frozen=True)
class RunResult:
    """How a plain (driver-less) run ended."""

    returncode: int
    stdout: bytes
    stderr: bytes


#: Runs the wrapped argv to its end with that environment (e.g. an adapter client
#: speaking the protocol to it); whatever it returns or raises is kept as the outcome.
Driver = Callable[[list[str], dict[str, str]], object]


@dataclass(frozen=True)
class Recording:
    """A recorded run: the command, its root as it started, and its calls on the root."""

    argv: tuple[str, ...]
    root: str
    cwd: str
    start: TreeState
    trace: RootTrace
    outcome: object  # a RunResult, or what the driver returned or raised


@dataclass(frozen=True)
class Injection:
    """An injecting run, and whether the fault hit the call it was aimed at."""

    k: int
    fault: StraceFault
    expected: RootCall  # call k of the recording
    faulted: tuple[RootCall, ...]  # the calls on the root that got the fault
    faulted_elsewhere: int  # faulted calls outside the root
    trace: RootTrace
    outcome: object

    @property
    def hit(self) -> bool:
        """Exactly one call got the fault, and it is call ``k`` of the recording."""
        if self.faulted_elsewhere or len(self.faulted) != 1:
            return False
        got = self.faulted[0]
        return got.n == self.k and _same(got, self.expected)

    def why_missed(self) -> str:
        if self.hit:
            return ""
        if not self.faulted and not self.faulted_elsewhere:
            return (
                f"no call got the fault: the run made fewer than {self.fault.nth} "
                f"{self.fault.syscall} calls"
            )
        got = ", ".join(c.describe() for c in self.faulted) or "none on the root"
        return (
            f"aimed at {self.expected.describe()}, faulted {got}"
            + (f" and {self.faulted_elsewhere} call(s) elsewhere" if self.faulted_elsewhere else "")
            + ": the run did not repeat the recording"
        )


#: A random part of a temp name: 8+ hex digits (``os.urandom(n).hex()``, uuid4) or the 8
#: characters of a ``tempfile.mkstemp`` name. A store that names its temp files at random
#: makes the "same" call on another path in every run; these parts are compared as equal.
_RANDOM_PART = re.compile(r"[0-9a-f]{8,}|(?<=tmp)[a-z0-9_]{8}")


def blank_random(text: str) -> str:
    """``text`` (a path, a call's description) with each :data:`_RANDOM_PART` as ``*``."""
    return _RANDOM_PART.sub("*", text)


def _shape(rel: str | None) -> str | None:
    return None if rel is None else blank_random(rel)


def _same(a: RootCall, b: RootCall) -> bool:
    """The same call of two runs: same name, same paths relative to the root (up to the
    random part of a temp name, :data:`_RANDOM_PART`)."""
    if a.call.name != b.call.name or len(a.rels) != len(b.rels):
        return False
    return a.rels == b.rels or [_shape(r) for r in a.rels] == [_shape(r) for r in b.rels]


def plan_fault(recording: Recording, k: int, fault: str = KILL) -> StraceFault:
    """Aim ``fault`` ("kill" or an errno name) at call ``k`` on the root."""
    if fault != KILL and fault not in errno_module.errorcode.values():
        raise ValueError(f"unknown errno name {fault!r}")
    target = recording.trace.call(k).call
    return StraceFault(target.name, target.nth, fault)


def _run(
    argv: Sequence[str],
    root: str,
    cwd: str,
    env: Mapping[str, str] | None,
    fault: StraceFault | None,
    drive: Driver | None,
    stdin: bytes | None,
    timeout: float,
) -> tuple[RootTrace, object]:
    full_env = deterministic_env(env)
    with tempfile.TemporaryDirectory(prefix="store-harness-strace-") as scratch:
        output = os.path.join(scratch, "trace.txt")
        command = strace_command(argv, output, fault=fault)
        outcome: object
        if drive is not None:
            try:
                outcome = drive(command, full_env)
            except Exception as exc:  # the driver's error is the run's outcome
                outcome = exc
        else:
            outcome = _plain(command, cwd, full_env, stdin, timeout)
        try:
            with open(output, encoding="ascii", errors="replace") as handle:
                calls, exits = parse_strace(handle, cwd=cwd)
        except FileNotFoundError:
            raise SyscallFaultError(f"strace wrote no trace: {outcome!r:.500}") from None
    return root_trace(calls, root, exits), outcome


def _plain(
    command: list[str], cwd: str, env: dict[str, str], stdin: bytes | None, timeout: float
) -> RunResult:
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # one group: strace and its tracees end together
    )
    try:
        out, err = process.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        raise SyscallFaultError(f"{command[-1]!r} did not end within {timeout} s") from None
    return RunResult(process.returncode, out, err)


def record(
    argv: Sequence[str],
    root: str,
    *,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    drive: Driver | None = None,
    stdin: bytes | None = None,
    timeout: float = 60.0,
) -> Recording:
    """Run ``argv`` under strace (through ``drive`` when given, else to its end with
    ``stdin``) and number its calls on ``root``."""
    where = os.path.abspath(cwd or os.getcwd())
    start = snapshot_tree(root)
    trace, outcome = _run(argv, root, where, env, None, drive, stdin, timeout)
    return Recording(tuple(argv), os.path.abspath(root), where, start, trace, outcome)


def inject(
    recording: Recording,
    k: int,
    fault: str = KILL,
    *,
    argv: Sequence[str] | None = None,
    root: str | None = None,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    drive: Driver | None = None,
    stdin: bytes | None = None,
    timeout: float = 60.0,
) -> Injection:
    """Run the recorded command again (``argv`` / ``root``: the same command on a fresh
    copy of the root) with ``fault`` at call ``k`` on the root. The root must hold the
    recording's starting tree."""
    target = os.path.abspath(root or recording.root)
    if snapshot_tree(target) != recording.start:
        raise SyscallFaultError(
            f"{target} does not hold the recording's starting tree: the run could not repeat it"
        )
    plan = plan_fault(recording, k, fault)
    where = os.path.abspath(cwd or recording.cwd)
    command = list(argv if argv is not None else recording.argv)
    trace, outcome = _run(command, target, where, env, plan, drive, stdin, timeout)
    expected = recording.trace.call(k)
    faulted = tuple(c for c in trace.calls if _got(c.call, plan))
    elsewhere = sum(1 for c in trace.faulted_elsewhere if _got(c, plan))
    return Injection(k, plan, expected, faulted, elsewhere, trace, outcome)


def _got(call: SysCall, plan: StraceFault) -> bool:
    """Whether ``call`` is one strace aimed ``plan`` at. A kill ends every thread of the
    process inside whatever call it was in; only the one the plan names is the fault's."""
    if plan.fault == KILL:
        return call.killed and call.name == plan.syscall and call.nth == plan.nth
    return call.injected


@dataclass(frozen=True)
class InjectionSupport:
    """Whether strace can trace and inject here (ptrace may be forbidden in containers)."""

    usable: bool
    reason: str


@functools.cache
def injection_support() -> InjectionSupport:
    """Try both faults on a harmless ``chdir`` of a child Python; cached per process."""
    strace = shutil.which("strace")
    if strace is None:
        return InjectionSupport(False, "strace is not installed")
    probe = "import os, sys\ntry:\n    os.chdir('/')\nexcept OSError as e:\n    sys.exit(e.errno)\n"
    base = [strace, "-f", "-qq", "-o", os.devnull, "-e", "trace=chdir"]
    checks = (
        ("inject=chdir:error=EACCES:when=1", errno_module.EACCES),
        ("inject=chdir:error=EIO:signal=SIGKILL:when=1", -signal.SIGKILL),
    )
    for option, wanted in checks:
        try:
            done = subprocess.run(
                [*base, "-e", option, "--", sys.executable, "-c", probe],
                capture_output=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return InjectionSupport(False, f"strace did not run: {exc}")
        got = done.returncode
        if got == 128 + signal.SIGKILL:
            got = -signal.SIGKILL
        if got != wanted:
            tail = done.stderr.decode("utf-8", "replace").strip()[-300:]
            return InjectionSupport(False, f"{option} gave status {done.returncode}: {tail}")
    return InjectionSupport(True, "strace traces and injects here")
