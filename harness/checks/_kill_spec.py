"""What a real kill run is: the kill point, the run's spec and options, and the child's
command line (the reference adapter, or a ``--store-cmd`` template).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from harness.engine._run_spec import CHILD_TMPDIR, SEED_CLOCK_MS, RunSpec
from harness.faults import _tmpfs
from harness.foreign import (
    AdapterClient,
    reference_command,
)

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "ENV_ANNOUNCE",
    "ENV_LAYOUT",
    "ENV_PAUSE_AT",
    "ENV_PROFILE",
    "ENV_STORE_PATH",
    "KILL_KINDS",
    "REAL_MODES",
    "ROOMY_TMPFS_BYTES",
    "KillPoint",
    "RealKillOptions",
    "RealSpec",
    "StoreCommand",
    "spec_from_json",
]

REAL_MODES = ("kill", "tmpfs")
#: kill kinds, in the order the explorer lists them
KILL_KINDS = ("none", "op", "request", "acked", "random", "enospc")

#: Environment a ``--store-cmd`` child gets (besides the ``{placeholders}``).
ENV_STORE_PATH = "STORE_HARNESS_STORE_PATH"
ENV_LAYOUT = "STORE_HARNESS_LAYOUT"
ENV_PROFILE = "STORE_HARNESS_PROFILE"
ENV_ANNOUNCE = "STORE_HARNESS_ANNOUNCE"
ENV_PAUSE_AT = "STORE_HARNESS_PAUSE_AT"

DEFAULT_TIMEOUT_S = 60.0
#: tmpfs: the mount is this large while the setup is written and during recovery
ROOMY_TMPFS_BYTES = 256 << 20


# --- what to kill, and where --------------------------------------------------------------------
@dataclass(frozen=True)
class KillPoint:
    """Where a real-kill run kills its child (``kind`` one of :data:`KILL_KINDS`)."""

    kind: str = "none"
    #: ``op``: the seam operation number; ``request``/``acked``: the step index
    at: int | None = None
    #: ``random``: milliseconds after the child answered its first ping
    delay_ms: float | None = None

    def describe(self) -> str:
        if self.kind == "op":
            return f"SIGKILL before seam operation #{self.at}"
        if self.kind == "request":
            return f"SIGKILL as call {self.at} starts"
        if self.kind == "acked":
            return f"SIGKILL right after call {self.at} was answered"
        if self.kind == "random":
            return f"SIGKILL {self.delay_ms} ms after start-up (seeded random moment)"
        if self.kind == "enospc":
            return "disk full (tmpfs)"
        return "no kill"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "at": self.at, "delay_ms": self.delay_ms}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> KillPoint:
        delay = raw.get("delay_ms")
        at = raw.get("at")
        return cls(
            str(raw.get("kind", "none")),
            None if at is None else int(at),
            None if delay is None else float(delay),
        )


@dataclass(frozen=True)
class RealSpec(RunSpec):
    """A :class:`RunSpec` run in a child process: ``backend`` is ``kill`` or ``tmpfs``."""

    kill: KillPoint = field(default_factory=KillPoint)
    #: the adapter command template (``None``: the reference store's adapter)
    store_cmd: str | None = None
    #: tmpfs mode: pages left free on the mount when the workload starts
    free_pages: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            **super().to_json(),
            "kill": self.kill.to_json(),
            "store_cmd": self.store_cmd,
            "free_pages": self.free_pages,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RealSpec:
        return spec_from_json(raw)

    def calls_may_fail(self) -> bool:
        # A SIGKILL cuts calls short (indeterminate, not run) but never makes one answer
        # with an error; a full tmpfs does.
        return self.backend == "tmpfs" or super().calls_may_fail()

    def describe(self) -> str:
        if self.backend == "tmpfs":
            what = f"disk full: tmpfs with {self.free_pages} free page(s) of {_tmpfs.PAGE_SIZE} B"
        else:
            what = self.kill.describe()
        return what + (f" (store: {self.store_cmd})" if self.store_cmd else "")


def spec_from_json(raw: Mapping[str, Any]) -> RealSpec:
    """A :class:`RealSpec` from a replay file's ``spec`` object."""
    base = RunSpec.from_json(raw)
    free = raw.get("free_pages")
    return RealSpec(
        **{f.name: getattr(base, f.name) for f in fields(RunSpec)},
        kill=KillPoint.from_json(raw.get("kill") or {}),
        store_cmd=raw.get("store_cmd"),
        free_pages=None if free is None else int(free),
    )


@dataclass(frozen=True)
class RealKillOptions:
    mode: str = "kill"
    seed: int = 0
    #: bound on op kill points (and tmpfs budgets) per configuration, sampled with the
    #: seed; 0: every one
    kill_points: int = 0
    #: seeded random-moment kills per configuration
    random_kills: int = 3
    #: kills at each call's start and right after its answer
    request_kills: bool = True
    #: an adapter command template; ``None``: the reference store's adapter
    store_cmd: str | None = None
    #: runs at once (threads: each run mostly waits on its child)
    jobs: int = 1
    timeout: float = DEFAULT_TIMEOUT_S


# --- the child's command line -------------------------------------------------------------------
@dataclass(frozen=True)
class StoreCommand:
    """How to start the store's adapter for one store path.

    ``template`` is split like a shell command line; ``{store_path}``, ``{layout}`` and
    ``{profile}`` in it are replaced (the same values are in ``STORE_HARNESS_*``). A
    template without ``{store_path}`` gets an ``open`` request first. ``--announce`` and
    ``--pause-at N`` are appended as the protocol defines them.
    """

    template: str | None = None
    seed: int = 0

    @property
    def opens_itself(self) -> bool:
        return self.template is None or "{store_path}" in self.template

    def argv(
        self, store_path: str, layout: str, profile: str, *, announce: bool, pause_at: int | None
    ) -> list[str]:
        if self.template is None:
            return reference_command(
                store_path,
                layout=layout,
                profile=profile,
                announce=announce,
                pause_at=pause_at,
                no_sync=True,
                clock_ms=SEED_CLOCK_MS + self.seed,
            )
        values = {"{store_path}": store_path, "{layout}": layout, "{profile}": profile}
        argv = []
        for word in shlex.split(self.template):
            filled = word
            for name, value in values.items():
                filled = filled.replace(name, value)
            argv.append(filled)
        if announce:
            argv.append("--announce")
        if pause_at is not None:
            argv += ["--pause-at", str(pause_at)]
        return argv

    def env(
        self, store_path: str, layout: str, profile: str, *, announce: bool, pause_at: int | None
    ) -> dict[str, str] | None:
        env = dict(os.environ)
        tmpdir = os.path.join(os.path.dirname(os.path.dirname(store_path)), CHILD_TMPDIR)
        if os.path.isdir(tmpdir):  # the run made one: what the child leaves there is judged
            env["TMPDIR"] = env["TMP"] = env["TEMP"] = tmpdir
        if self.template is None:
            return env
        env.update({ENV_STORE_PATH: store_path, ENV_LAYOUT: layout, ENV_PROFILE: profile})
        env[ENV_ANNOUNCE] = "1" if announce else "0"
        if pause_at is not None:
            env[ENV_PAUSE_AT] = str(pause_at)
        return env

    def start(
        self,
        store_path: str,
        layout: str,
        profile: str,
        *,
        announce: bool = False,
        pause_at: int | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> AdapterClient:
        args = (store_path, layout, profile)
        return AdapterClient(
            self.argv(*args, announce=announce, pause_at=pause_at),
            timeout=timeout,
            env=self.env(*args, announce=announce, pause_at=pause_at),
        )
