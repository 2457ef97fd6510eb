"""Reading the JSON files other parts of the harness leave beside a report.

A report renders what it finds (``crash-summary.json``, ``mutation-score.json``,
``micro-benchmarks.json``) and says what it could not read; it never fails on one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["read_sidecar"]


def read_sidecar(path: Path) -> tuple[Any, str] | None:
    """``None`` when there is no file at ``path``; else (the parsed JSON, ``""``), or
    (``None``, why it could not be read)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        return None, f"unreadable: {exc}"
    try:
        return json.loads(text), ""
    except ValueError as exc:
        return None, f"not JSON: {exc}"
