"""The structure of replay files, checked before anything runs.

A replay file is written by the harness but read back from wherever a user keeps it:
edited by hand, cut short by a full disk, from another version. ``store-harness replay``
therefore checks every field it needs -- presence, JSON type, range -- before it builds
a run from them, and names the first one that is wrong. Without that, a missing field
ends in a ``KeyError`` traceback and exit status 1 (which says "still reproduces"), and
``crash_at: -5`` runs a plan that breaks nothing and reports "fixed".

:func:`check_scenario_replay` and :func:`check_machine_replay` raise
:class:`~harness._errors.UsageError` with ``<path>: <field> <problem>``; they accept
exactly what :mod:`harness.replay._scenario_replay` and :mod:`harness.replay._machine_replay` write.
Whether the scenario, variant and layout exist is the front door's to check (this layer
does not load the scenario catalog): :func:`check_configuration` does it given the
scenario.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from harness._errors import UsageError
from harness.engine._oracle import VIOLATION_KINDS
from harness.engine._scenario import Scenario
from harness.faults._foreignfs import FS_SEMANTICS
from reference_store import LAYOUTS

__all__ = [
    "MACHINE_LAYOUTS",
    "SPEC_BACKENDS",
    "check_configuration",
    "check_machine_replay",
    "check_scenario_replay",
]

#: the backends a replay's run can use: the explorer's, and real kills / tmpfs
SPEC_BACKENDS = ("fake", "real", "kill", "tmpfs")
#: the layouts the gate's machine check runs in (``harness.gate.CHECK_LAYOUTS``)
MACHINE_LAYOUTS = ("legacy", "directory", "auto")

_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),
    (int, "an integer"),
    (float, "a number"),
    (str, "a string"),
    (list, "an array"),
    (dict, "an object"),
)
_MISSING = object()


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    for kind, name in _JSON_TYPES:  # bool first: in Python a bool is an int
        if isinstance(value, kind):
            return name
    return type(value).__name__


class _Reader:
    """Reads fields of one file, raising a one-line :class:`UsageError` on the first
    wrong one."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> NoReturn:
        raise UsageError(f"{self.path}: {where} {problem}")

    def get(self, obj: Mapping[str, Any], key: str, where: str, *, required: bool) -> Any:
        value = obj.get(key, _MISSING)
        if value is _MISSING and required:
            self.fail(f"{where}{key}", "is missing")
        return value

    def obj(
        self, parent: Mapping[str, Any], key: str, where: str = "", *, required: bool = True
    ) -> Mapping[str, Any] | None:
        value = self.get(parent, key, where, required=required)
        if value is _MISSING or (value is None and not required):
            return None
        if not isinstance(value, dict):
            self.fail(f"{where}{key}", f"must be an object, not {_json_type(value)}")
        return value

    def string(
        self,
        parent: Mapping[str, Any],
        key: str,
        where: str = "",
        *,
        required: bool = True,
        nullable: bool = False,
        choices: Sequence[str] | None = None,
        empty: bool = True,
    ) -> str | None:
        value = self.get(parent, key, where, required=required)
        if value is _MISSING or (value is None and nullable):
            return None
        if not isinstance(value, str):
            self.fail(f"{where}{key}", f"must be a string, not {_json_type(value)}")
        if not empty and not value:
            self.fail(f"{where}{key}", "must not be empty")
        if choices is not None and value not in choices:
            self.fail(f"{where}{key}", f"is {value!r}, not one of {', '.join(choices)}")
        return value

    def integer(
        self,
        parent: Mapping[str, Any],
        key: str,
        where: str = "",
        *,
        required: bool = True,
        nullable: bool = False,
        minimum: int | None = None,
        what: str = "",
    ) -> int | None:
        value = self.get(parent, key, where, required=required)
        if value is _MISSING or (value is None and nullable):
            return None
        self.check_int(value, f"{where}{key}", minimum=minimum, what=what)
        return int(value)

    def check_int(self, value: Any, where: str, *, minimum: int | None, what: str = "") -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, f"must be {what or 'an integer'}, not {_json_type(value)}")
        if minimum is not None and value < minimum:
            self.fail(where, f"must be {what or 'an integer'} >= {minimum}, not {value}")

    def boolean(
        self, parent: Mapping[str, Any], key: str, where: str = "", *, required: bool = False
    ) -> None:
        value = self.get(parent, key, where, required=required)
        if value is not _MISSING and not isinstance(value, bool):
            self.fail(f"{where}{key}", f"must be true or false, not {_json_type(value)}")

    def array(
        self, parent: Mapping[str, Any], key: str, where: str = "", *, required: bool = False
    ) -> list[Any]:
        value = self.get(parent, key, where, required=required)
        if value is _MISSING:
            return []
        if not isinstance(value, list):
            self.fail(f"{where}{key}", f"must be an array, not {_json_type(value)}")
        return value

    def errno_name(self, value: Any, where: str) -> None:
        if not isinstance(value, str):
            self.fail(where, f"must be an errno name such as EIO, not {_json_type(value)}")
        if not value.startswith("E") or not isinstance(getattr(errno, value, None), int):
            self.fail(where, f"is {value!r}, not an errno name such as EIO")


def _check_format(reader: _Reader, raw: Mapping[str, Any], expected: str) -> None:
    from harness.replay._machine_replay import MACHINE_REPLAY_FORMAT
    from harness.replay._scenario_replay import REPLAY_FORMAT

    value = reader.get(raw, "format", "", required=True)
    known = (REPLAY_FORMAT, MACHINE_REPLAY_FORMAT)
    if not isinstance(value, str) or value not in known:
        shown = repr(value) if isinstance(value, str) else _json_type(value)
        reader.fail("format", f"is {shown}, not one of {', '.join(known)}")
    if value != expected:
        reader.fail("format", f"is {value}, expected {expected}")


def _check_source(reader: _Reader, raw: Mapping[str, Any]) -> None:
    source = reader.obj(raw, "target_source", required=False)
    if source is not None:
        where = "target_source."
        reader.string(source, "module", where, empty=False)
        reader.string(source, "sys_path", where, required=False, nullable=True)
        reader.string(source, "ran_in", where, required=False, nullable=True)


def _check_violation(reader: _Reader, raw: Mapping[str, Any], *, required: bool) -> None:
    violation = reader.obj(raw, "violation", required=required)
    if violation is None:
        return
    where = "violation."
    reader.string(violation, "kind", where, required=required, choices=sorted(VIOLATION_KINDS))
    reader.string(violation, "detail", where, required=required)
    reader.string(violation, "key", where, required=False, nullable=True)


def _check_plan(reader: _Reader, plan: Mapping[str, Any]) -> None:
    where = "spec.plan."
    op = "an operation number"
    crash_at = reader.integer(
        plan, "crash_at", where, required=False, nullable=True, minimum=1, what=op
    )
    torn = reader.integer(plan, "torn_bytes", where, required=False, nullable=True, minimum=0)
    if torn is not None and crash_at is None:
        reader.fail(f"{where}torn_bytes", "needs crash_at: a write is torn only by a crash")
    reader.integer(plan, "enospc_budget", where, required=False, nullable=True, minimum=0)
    reader.boolean(plan, "enospc_at_close", where)
    reader.boolean(plan, "non_atomic_replace", where)
    for index, item in enumerate(reader.array(plan, "errors", where)):
        here = f"{where}errors[{index}]"
        if not isinstance(item, list) or len(item) != 2:
            reader.fail(here, "must be [operation number, errno name]")
        reader.check_int(item[0], f"{here}[0]", minimum=1, what=op)
        reader.errno_name(item[1], f"{here}[1]")
    for index, item in enumerate(reader.array(plan, "error_every", where)):
        here = f"{where}error_every[{index}]"
        if not isinstance(item, list) or len(item) != 3:
            reader.fail(here, "must be [operation name, path pattern, errno name]")
        for position in (0, 1):
            if not isinstance(item[position], str) or not item[position]:
                reader.fail(f"{here}[{position}]", "must be a non-empty string")
        reader.errno_name(item[2], f"{here}[2]")


def _check_power(reader: _Reader, spec: Mapping[str, Any]) -> None:
    power = reader.obj(spec, "power", "spec.", required=False)
    if power is None:
        return
    where = "spec.power."
    reader.string(power, "label", where, required=False)
    for key in ("survive", "torn"):
        for index, item in enumerate(reader.array(power, key, where)):
            reader.check_int(item, f"{where}{key}[{index}]", minimum=0, what="an effect index")


def _check_real(reader: _Reader, spec: Mapping[str, Any]) -> None:
    """The fields a real-kill or tmpfs run adds (``harness.checks._realkill.RealSpec``)."""
    from harness.checks._kill_spec import KILL_KINDS

    kill = reader.obj(spec, "kill", "spec.", required=False)
    if kill is not None:
        where = "spec.kill."
        reader.string(kill, "kind", where, required=False, choices=KILL_KINDS)
        reader.integer(kill, "at", where, required=False, nullable=True, minimum=0)
        delay = kill.get("delay_ms")
        if delay is not None and (
            isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0
        ):
            reader.fail(f"{where}delay_ms", f"must be a number >= 0, not {delay!r}")
    reader.string(spec, "store_cmd", "spec.", required=False, nullable=True, empty=False)
    reader.integer(spec, "free_pages", "spec.", required=False, nullable=True, minimum=0)


def check_scenario_replay(path: str, raw: Mapping[str, Any]) -> None:
    """Every field a scenario replay file needs, its JSON type and its range."""
    from harness.replay._scenario_replay import REPLAY_FORMAT

    reader = _Reader(path)
    _check_format(reader, raw, REPLAY_FORMAT)
    spec = reader.obj(raw, "spec")
    assert spec is not None
    where = "spec."
    reader.string(spec, "scenario", where, empty=False)
    reader.string(spec, "variant", where, empty=False)
    reader.string(spec, "layout", where, choices=LAYOUTS)
    reader.string(spec, "profile", where, empty=False)
    backend = reader.string(spec, "backend", where, choices=SPEC_BACKENDS)
    plan = reader.obj(spec, "plan", where)
    assert plan is not None
    _check_plan(reader, plan)
    reader.string(spec, "family", where, required=False, empty=False)
    _check_power(reader, spec)
    reader.integer(spec, "seed", where, required=False)
    reader.string(spec, "target", where, required=False, empty=False)
    reader.string(spec, "fs_semantics", where, required=False, choices=FS_SEMANTICS)
    if backend in ("kill", "tmpfs"):
        _check_real(reader, spec)
    _check_source(reader, raw)
    _check_violation(reader, raw, required=True)
    for index, op in enumerate(reader.array(raw, "trace")):
        if not isinstance(op, dict):
            reader.fail(f"trace[{index}]", f"must be an object, not {_json_type(op)}")


def check_configuration(path: str, spec: Mapping[str, Any], scenario: Scenario) -> None:
    """The replay's variant and layout are a configuration ``scenario`` runs."""
    variant, layout = spec["variant"], spec["layout"]
    variants = [v.name for v in scenario.variants]
    if variant not in variants:
        raise UsageError(
            f"{path}: spec.variant is {variant!r}, not a variant of {scenario.name} "
            f"({', '.join(variants)})"
        )
    layouts = [lay for v, lay in scenario.configurations() if v.name == variant]
    if layout not in layouts:
        raise UsageError(
            f"{path}: spec.layout is {layout!r}, but {scenario.name} / {variant} runs in "
            f"{', '.join(layouts)} only"
        )


def check_machine_replay(path: str, raw: Mapping[str, Any]) -> None:
    """Every field a machine replay file needs, its JSON type and its range."""
    from harness.replay._machine_replay import MACHINE_REPLAY_FORMAT

    reader = _Reader(path)
    _check_format(reader, raw, MACHINE_REPLAY_FORMAT)
    reader.string(raw, "target", empty=False)
    _check_source(reader, raw)
    reader.string(raw, "layout", choices=MACHINE_LAYOUTS)
    reader.string(raw, "profile", empty=False)
    search = reader.obj(raw, "search")
    assert search is not None
    reader.integer(search, "seed", "search.")
    reader.integer(search, "examples", "search.", minimum=1)
    reader.integer(search, "steps", "search.", minimum=1)
    reader.string(raw, "hypothesis", required=False, nullable=True)
    reader.string(raw, "blob", required=False, nullable=True)
    _check_violation(reader, raw, required=False)
    for key in ("message", "example"):
        for index, line in enumerate(reader.array(raw, key)):
            if not isinstance(line, str):
                reader.fail(f"{key}[{index}]", f"must be a string, not {_json_type(line)}")
    reader.obj(raw, "crash", required=False)
    reader.string(raw, "store_cmd", required=False, nullable=True, empty=False)
