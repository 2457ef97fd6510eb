"""What a store takes from its process: the clock, fresh tokens, its pid, sleeping, and
whether another process is alive (the seed's lock asks, as upstream's does).

Injected so the harness can make runs deterministic (a clock that advances only when
read or slept on, and counter-based temp names, give byte-identical traces) and can
simulate a restart as a new "process".
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["SIMULATED_PID", "ManualClock", "Runtime", "deterministic_runtime"]

#: The pid a simulated process claims. The store writes its pid into the upstream lock
#: file, so a real pid would make a trace depend on which OS process ran it: a run
#: recorded in a forked child and replayed in a shell wrote lock files of different
#: lengths once the two pids had different numbers of digits.
SIMULATED_PID = 4242


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (upstream's isPidAlive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("State:"):
                    return "Z" not in line.split(":", 1)[1].split()[:1]
    except OSError:
        pass  # no /proc (not Linux): existence is all there is to know
    return True


def _token() -> str:
    # 64 random bits name a temp file: unique enough across processes and restarts, and
    # a tenth of uuid4()'s cost, which showed in the profile of every update.
    return os.urandom(8).hex()


@dataclass(frozen=True)
class Runtime:
    now_ms: Callable[[], int] = _now_ms
    new_token: Callable[[], str] = _token
    pid: int = field(default_factory=os.getpid)
    sleep: Callable[[float], None] = time.sleep
    pid_alive: Callable[[int], bool] = _pid_alive


class ManualClock:
    """Milliseconds that advance by one per reading and by the slept time on ``sleep``."""

    def __init__(self, start_ms: int) -> None:
        self.ms = start_ms

    def now_ms(self) -> int:
        self.ms += 1
        return self.ms

    def sleep(self, seconds: float) -> None:
        self.ms += max(0, round(seconds * 1000))


def deterministic_runtime(
    start_ms: int = 1_700_000_000_000, *, pid: int | None = None, token_prefix: str = ""
) -> Runtime:
    """A runtime with a :class:`ManualClock` and tokens ``<prefix>00000001``, ... ."""
    clock = ManualClock(start_ms)
    counter = iter(range(1, 1 << 62))
    return Runtime(
        now_ms=clock.now_ms,
        new_token=lambda: f"{token_prefix}{next(counter):08x}",
        pid=os.getpid() if pid is None else pid,
        sleep=clock.sleep,
    )
