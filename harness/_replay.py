"""Replay files: one JSON per distinct violation, enough to re-run it exactly.

A replay file records the scenario, variant, layout, profile, backend, seed, fault plan
and power-loss choice (that is, a :class:`RunSpec`), plus what the run saw: the trace,
the outcome of each call, the files on disk after the fault, the expected states and the
state found. ``store-harness replay FILE`` re-runs the spec -- the run is deterministic,
so the trace must come out identical -- and prints the trace up to the fault, the files
after it and the oracle's diff.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import UsageError
from ._explorer import RunResult, RunSpec
from ._oracle import Violation
from ._workload import canonical

__all__ = [
    "REPLAY_FORMAT",
    "ReplayFile",
    "distinct_violations",
    "load_replay",
    "replay_id",
    "write_replay",
    "write_replays",
]

REPLAY_FORMAT = "store-harness.replay/1"


@dataclass(frozen=True)
class ReplayFile:
    spec: RunSpec
    violation: Violation
    raw: Mapping[str, Any]


def replay_id(result: RunResult, violation: Violation) -> str:
    spec = result.spec
    text = "--".join(
        [spec.scenario, spec.variant, spec.layout, spec.profile, spec.family, violation.kind]
    )
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def _diff(found: Mapping[str, Any] | None, expected: Iterable[Mapping[str, Any]]) -> list[str]:
    if found is None:
        return ["(nothing could be loaded)"]
    options = list(expected)
    if not options:
        return []
    closest = min(
        options, key=lambda s: sum(1 for k in set(s) | set(found) if s.get(k) != found.get(k))
    )
    lines: list[str] = []
    for key in sorted(set(found) | set(closest)):
        want, got = closest.get(key), found.get(key)
        if want == got:
            continue
        if got is None:
            lines.append(f"- {key}: missing (expected {canonical({'v': want})[5:-1][:100]})")
        elif want is None:
            lines.append(f"+ {key}: unexpected {canonical({'v': got})[5:-1][:100]}")
        else:
            lines.append(f"~ {key}: found {canonical({'v': got})[5:-1][:100]}")
            lines.append(f"  {' ' * len(key)}  expected {canonical({'v': want})[5:-1][:100]}")
    return lines


def to_json(
    result: RunResult, violation: Violation, *, command: str | None = None
) -> dict[str, Any]:
    return {
        "format": REPLAY_FORMAT,
        "id": replay_id(result, violation),
        "spec": result.spec.to_json(),
        "violation": violation.to_json(),
        "all_violations": [v.to_json() for v in result.violations],
        "fault": result.spec.describe(),
        "outcomes": [o.to_json() for o in result.outcomes],
        "trace": [op.to_json() for op in result.trace],
        "files_after_fault": dict(result.files_after_fault),
        "unsynced_effects": list(result.unsynced),
        "expected": [dict(s) for s in result.expected],
        "found": None if result.found is None else dict(result.found),
        "diff": _diff(result.found, result.expected),
        "command": command or "store-harness replay <this file>",
    }


def write_replay(directory: str, result: RunResult, violation: Violation) -> str:
    """Write one replay file; returns its path."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, replay_id(result, violation) + ".json")
    body = to_json(result, violation, command=f"store-harness replay {path}")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(body, handle, indent=2, ensure_ascii=False, sort_keys=False)
        handle.write("\n")
    os.replace(tmp, path)
    return path


def distinct_violations(results: Iterable[RunResult]) -> list[tuple[RunResult, Violation]]:
    """The first run (in exploration order) of each distinct violation."""
    seen: dict[str, tuple[RunResult, Violation]] = {}
    for result in results:
        for violation in result.violations:
            seen.setdefault(replay_id(result, violation), (result, violation))
    return list(seen.values())


def write_replays(directory: str, results: Iterable[RunResult]) -> list[str]:
    return [write_replay(directory, r, v) for r, v in distinct_violations(results)]


def load_replay(path: str) -> ReplayFile:
    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    except FileNotFoundError:
        raise UsageError(f"no replay file at {path}") from None
    except ValueError as exc:
        raise UsageError(f"{path} is not a replay file (not JSON: {exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != REPLAY_FORMAT:
        raise UsageError(f"{path} is not a replay file (format is not {REPLAY_FORMAT})")
    violation = raw["violation"]
    return ReplayFile(
        spec=RunSpec.from_json(raw["spec"]),
        violation=Violation(violation["kind"], violation["detail"], violation.get("key")),
        raw=raw,
    )
