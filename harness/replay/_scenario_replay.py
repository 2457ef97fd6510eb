"""Replay files: one JSON per distinct violation, enough to re-run it exactly.

A replay file records the scenario, variant, layout, profile, backend, seed, fault plan,
power-loss choice and file-system semantics (that is, a :class:`RunSpec`), plus what the
run saw: the trace, the outcome of each call, the files on disk after the fault, the
expected states and the state found. ``store-harness replay FILE`` re-runs the spec --
the run is deterministic, so the trace must come out identical -- and prints the trace up
to the fault, the files after it and the oracle's diff.

A target that exists only in memory (a mutant, ``mutant:<name>``) is re-created in a
fresh process from ``target_source``: the module that defines it and the folder it was
imported from (``harness.engine._target_source``); :func:`replay_target` does that.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from harness._errors import UsageError
from harness.engine._oracle import Violation
from harness.engine._run_spec import RunResult, RunSpec
from harness.engine._target import StoreTarget
from harness.engine._target_source import TargetSource, load_target
from harness.replay._validate import check_scenario_replay

__all__ = [
    "REPLAY_FORMAT",
    "ReplayFile",
    "distinct_violations",
    "load_replay",
    "read_replay_json",
    "replay_id",
    "replay_target",
    "write_replay",
    "write_replays",
]

REPLAY_FORMAT = "store-harness.replay/1"


@dataclass(frozen=True)
class ReplayFile:
    spec: RunSpec
    violation: Violation
    raw: Mapping[str, Any]

    @property
    def source(self) -> TargetSource | None:
        raw = self.raw.get("target_source")
        return TargetSource.from_json(raw) if isinstance(raw, Mapping) else None


def replay_id(result: RunResult, violation: Violation) -> str:
    spec = result.spec
    # Linux file names add nothing, so ids from before foreign semantics stay the same.
    fs = [] if spec.semantics == "linux" else [spec.semantics]
    text = "--".join(
        [spec.scenario, spec.variant, spec.layout, spec.profile, *fs, spec.family, violation.kind]
    )
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def _json(value: Any) -> str:
    """A value whole, as JSON: the part that differs may sit anywhere in it."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


_MISSING = object()


def _field_diffs(path: str, want: Any, got: Any) -> list[str]:
    """One line per differing leaf below ``path``: objects are walked key by key, so a
    long entry that differs in one field shows that field, not two equal prefixes."""
    if isinstance(want, Mapping) and isinstance(got, Mapping):
        lines: list[str] = []
        for name in sorted(set(want) | set(got)):
            sub = f"{path}.{name}" if path else str(name)
            lines += _field_diffs(sub, want.get(name, _MISSING), got.get(name, _MISSING))
        return lines
    if want == got:
        return []
    if got is _MISSING:
        return [f"{path}: missing (expected {_json(want)})"]
    if want is _MISSING:
        return [f"{path}: unexpected {_json(got)}"]
    return [f"{path}: found {_json(got)}, expected {_json(want)}"]


def _found_json(found: object) -> object:
    """What recovery loaded, as the replay file keeps it: a map as a dict, and whatever
    else a broken store's ``load`` returned as it was (JSON-able, or its repr)."""
    if found is None or isinstance(found, Mapping):
        return None if found is None else dict(found)
    try:
        json.dumps(found)
    except (TypeError, ValueError):
        return repr(found)
    return found


def _diff(found: Any, expected: Iterable[Mapping[str, Any]]) -> list[str]:
    """The oracle's diff between ``found`` and the closest allowed state: per key that
    differs, each differing field by its path (``deliveryContext.to``), values whole."""
    if found is None:
        return ["(nothing could be loaded)"]
    if not isinstance(found, Mapping):
        # What a broken store's load returned (a list, say): no key to compare by.
        return [f"(load returned a {type(found).__name__}, not a map of keys to entries)"]
    options = list(expected)
    if not options:
        return []
    closest = min(
        options, key=lambda s: sum(1 for k in set(s) | set(found) if s.get(k) != found.get(k))
    )
    lines: list[str] = []
    for key in sorted(set(found) | set(closest)):
        want, got = closest.get(key, _MISSING), found.get(key, _MISSING)
        if want == got:
            continue
        if got is _MISSING:
            lines.append(f"- {key}: missing (expected {_json(want)})")
        elif want is _MISSING:
            lines.append(f"+ {key}: unexpected {_json(got)}")
        elif isinstance(want, Mapping) and isinstance(got, Mapping):
            fields = _field_diffs("", want, got)
            lines.append(
                f"~ {key}: {len(fields)} field{' differs' if len(fields) == 1 else 's differ'}"
            )
            lines += [f"    {line}" for line in fields]
        else:
            lines.append(f"~ {key}: found {_json(got)}, expected {_json(want)}")
    return lines


def to_json(
    result: RunResult,
    violation: Violation,
    *,
    command: str | None = None,
    source: TargetSource | None = None,
) -> dict[str, Any]:
    return {
        "format": REPLAY_FORMAT,
        "id": replay_id(result, violation),
        "spec": result.spec.to_json(),
        "target_source": None if source is None else source.to_json(),
        "violation": violation.to_json(),
        "all_violations": [v.to_json() for v in result.violations],
        "fault": result.spec.describe(),
        "outcomes": [o.to_json() for o in result.outcomes],
        "trace": [op.to_json() for op in result.trace],
        "files_after_fault": dict(result.files_after_fault),
        "unsynced_effects": list(result.unsynced),
        "expected": [dict(s) for s in result.expected],
        "found": _found_json(result.found),
        "diff": _diff(result.found, result.expected),
        "command": command or "store-harness replay <this file>",
    }


def write_replay(
    directory: str, result: RunResult, violation: Violation, *, source: TargetSource | None = None
) -> str:
    """Write one replay file; returns its path. ``source``: how a fresh process builds
    the run's target again, when its name alone does not say."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, replay_id(result, violation) + ".json")
    body = to_json(result, violation, command=f"store-harness replay {path}", source=source)
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


def write_replays(
    directory: str, results: Iterable[RunResult], *, source: TargetSource | None = None
) -> list[str]:
    return [write_replay(directory, r, v, source=source) for r, v in distinct_violations(results)]


def read_replay_json(path: str) -> dict[str, Any]:
    """The JSON object of a replay file of any format (scenario or machine)."""
    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    except FileNotFoundError:
        raise UsageError(f"no replay file at {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder, not a replay file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise UsageError(f"{path} is not a replay file (not JSON: {exc})") from None
    if not isinstance(raw, dict):
        raise UsageError(f"{path} is not a replay file (not a JSON object)")
    return raw


def load_replay(path: str, raw: Mapping[str, Any] | None = None) -> ReplayFile:
    """The scenario replay file at ``path`` (``raw``: its JSON, when already read)."""
    if raw is None:
        raw = read_replay_json(path)
    # Every field up front: a wrong one is the file's fault, said in one line, never a
    # traceback (whose exit status 1 would read as "still reproduces").
    check_scenario_replay(path, raw)
    violation = raw["violation"]
    return ReplayFile(
        spec=RunSpec.from_json(raw["spec"]),
        violation=Violation(violation["kind"], violation["detail"], violation.get("key")),
        raw=raw,
    )


def replay_target(name: str, source: TargetSource | None, module: str | None = None) -> StoreTarget:
    """Make the target ``name`` of a replay file exist in this process, importing what
    defines it: ``module`` when given (``--target-source``), else the file's ``source``."""
    hint = (
        "pass --target-source MODULE naming the module that defines it (for the "
        "seeded-bug catalog, from the project folder: --target-source tests.mutants)"
    )
    return load_target(name, source if module is None else TargetSource(module), hint=hint)
