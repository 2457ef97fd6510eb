"""What a store behind ``--store-cmd`` says about itself, asked once before a gate plans.

The adapter answers ``ping`` with the layouts it implements and the profiles it can be
opened with (``docs/adapter-protocol.md``). The gate plans only those: a layout the store
does not declare is reported as not explored, with the reason, instead of being run and
failing in every configuration. An adapter that does not answer ``ping`` is a usage
error (exit 2), never a verdict on the store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from harness._errors import UsageError
from harness._roots import temp_root
from harness.checks._kill_spec import StoreCommand
from harness.foreign import AdapterError
from reference_store import LAYOUTS

__all__ = ["Declared", "declared_by"]


@dataclass(frozen=True)
class Declared:
    implementation: str
    layouts: tuple[str, ...]
    profiles: tuple[str, ...]


def declared_by(template: str, timeout_s: float) -> Declared:
    """Start the adapter once on an empty folder and read its ``ping``."""
    with temp_root("declare") as root:
        store_path = os.path.join(root, "store", "sessions.json")
        os.makedirs(os.path.dirname(store_path))
        command = StoreCommand(template)
        try:
            with command.start(store_path, "auto", "hardened", timeout=timeout_s) as client:
                answer = client.ping()
        except (AdapterError, OSError) as exc:
            raise UsageError(f"--store-cmd: the adapter did not answer ping: {exc}") from None
    return Declared(
        implementation=str(answer.get("implementation") or "an adapter"),
        layouts=_names(answer, "layouts", LAYOUTS, known=LAYOUTS),
        profiles=_names(answer, "profiles", ("hardened",), known=None),
    )


def _names(
    answer: dict[str, object], field: str, default: tuple[str, ...], known: tuple[str, ...] | None
) -> tuple[str, ...]:
    raw = answer.get(field)
    if raw is None:
        return default
    if not isinstance(raw, list) or not raw or not all(isinstance(v, str) for v in raw):
        raise UsageError(
            f"--store-cmd: ping's {field!r} must be a non-empty list of names, got {raw!r:.80}"
        )
    names = tuple(dict.fromkeys(raw))
    if known is not None:
        names = tuple(n for n in names if n in known)
        if not names:
            raise UsageError(
                f"--store-cmd: the adapter declares no layout the harness knows "
                f"({', '.join(raw)}; known: {', '.join(known)})"
            )
    return names
