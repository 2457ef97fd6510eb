"""Machine replay files: one shrunk failure of the gate's ``machine`` check, re-runnable.

The scenario explorer's replay files (``harness.replay._scenario_replay``) name a
catalogued workload and a fault plan; a machine failure has neither -- it is a sequence
of rules that Hypothesis drew and shrank. Its replay file therefore records what rebuilds
that sequence:

* the machine: store target (and the module that defines it, ``harness.engine._target_source``),
  layout, profile;
* the search that found it: seed, examples, steps -- the gate's machine check is a pure
  function of these (``harness.checks._target_machine``), so re-running it finds the same failure;
* the shortcut: Hypothesis's ``@reproduce_failure`` blob and its version, which replays
  the shrunk example alone, in a second.

Plus what the run saw: the violation kind and message (every call and its outcome), the
shrunk example as Hypothesis printed it, and the machine's crash details (the trace up to
the crash and the files after it, ``docs/machines.md``).

Promise of :func:`replay_machine`: it uses the blob when this process runs the same
Hypothesis version and the machine still draws the same choices; otherwise it falls back
to the seeded search. Either way the answer is a :class:`MachineRun`: failed when the
violation still reproduces, passed when it no longer does.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import hypothesis

from harness._errors import UsageError
from harness.checks._target_machine import BlobMismatchError, MachineRun, run_target_machine
from harness.engine._target import StoreTarget
from harness.engine._target_source import TargetSource
from harness.replay._validate import check_machine_replay

__all__ = [
    "MACHINE_REPLAY_FORMAT",
    "MachineReplay",
    "is_machine_replay",
    "load_machine_replay",
    "replay_machine",
    "write_machine_replay",
]

MACHINE_REPLAY_FORMAT = "store-harness.machine-replay/1"


@dataclass(frozen=True)
class MachineReplay:
    """One failing machine run and how to run it again."""

    target: str
    layout: str
    profile: str
    run: MachineRun
    source: TargetSource | None = None
    #: the Hypothesis version the blob belongs to
    hypothesis_version: str = hypothesis.__version__
    #: a store behind ``--store-cmd``: the command template that starts its adapter
    store_cmd: str | None = None

    @property
    def id(self) -> str:
        text = "--".join(["machine", self.layout, self.profile, self.run.kind or "failure"])
        return re.sub(r"[^A-Za-z0-9._-]+", "_", text)

    def to_json(self, *, command: str | None = None) -> dict[str, Any]:
        run = self.run
        return {
            "format": MACHINE_REPLAY_FORMAT,
            "id": self.id,
            "command": command,
            "target": self.target,
            "target_source": None if self.source is None else self.source.to_json(),
            "layout": self.layout,
            "profile": self.profile,
            "search": {"seed": run.seed, "examples": run.examples, "steps": run.steps},
            "hypothesis": self.hypothesis_version,
            "blob": run.blob,
            "violation": {"kind": run.kind, "detail": run.detail},
            "message": run.message.splitlines(),
            "example": list(run.example),
            "crash": run.crash,
            "store_cmd": self.store_cmd,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> MachineReplay:
        search = raw["search"]
        source = raw.get("target_source")
        violation = raw.get("violation") or {}
        run = MachineRun(
            False,
            int(search["examples"]),
            int(search["steps"]),
            int(search["seed"]),
            kind=str(violation.get("kind", "")),
            message="\n".join(raw.get("message") or []),
            example=tuple(raw.get("example") or ()),
            blob=str(raw.get("blob") or ""),
            crash=raw.get("crash"),
        )
        return cls(
            target=str(raw["target"]),
            layout=str(raw["layout"]),
            profile=str(raw["profile"]),
            run=run,
            source=TargetSource.from_json(source) if isinstance(source, Mapping) else None,
            hypothesis_version=str(raw.get("hypothesis") or ""),
            store_cmd=raw.get("store_cmd") or None,
        )


def is_machine_replay(raw: Any) -> bool:
    return isinstance(raw, Mapping) and raw.get("format") == MACHINE_REPLAY_FORMAT


def write_machine_replay(directory: str, replay: MachineReplay) -> str:
    """Write ``replay`` into ``directory`` (tmp + rename); returns its path."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, replay.id + ".json")
    body = replay.to_json(command=f"store-harness replay {path}")
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(body, handle, indent=2, ensure_ascii=False, default=repr)
        handle.write("\n")
    os.replace(path + ".tmp", path)
    return path


def load_machine_replay(path: str, raw: Mapping[str, Any] | None = None) -> MachineReplay:
    """The machine replay file at ``path`` (``raw``: its JSON, when already read)."""
    if raw is None:
        from harness.replay._scenario_replay import read_replay_json

        raw = read_replay_json(path)
    check_machine_replay(path, raw)
    try:
        return MachineReplay.from_json(raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"malformed machine replay file {path}: {exc!r}") from None


def replay_machine(replay: MachineReplay, target: StoreTarget) -> tuple[MachineRun, str]:
    """Run the failure again: (what happened, how -- ``"blob"`` or ``"search"``)."""
    run = replay.run

    def again(blob: str | None) -> MachineRun:
        return run_target_machine(
            target,
            replay.layout,
            replay.profile,
            examples=run.examples,
            steps=run.steps,
            seed_value=run.seed,
            blob=blob,
        )

    if run.blob and replay.hypothesis_version == hypothesis.__version__:
        try:
            return again(run.blob), "blob"
        except BlobMismatchError:
            pass  # the machine changed since: the seeded search still finds its failure
    return again(None), "search"
