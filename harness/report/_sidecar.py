"""Reading the JSON files other parts of the harness leave beside a report.

A report renders what it finds (``crash-summary.json``, ``mutation-score.json``,
``micro-benchmarks.json``) and says what it could not read; it never fails on one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["ROW_ERRORS", "parse_rows", "read_sidecar"]

T = TypeVar("T")

#: What a malformed row raises while it is parsed: it is counted and left out.
ROW_ERRORS: tuple[type[Exception], ...] = (KeyError, TypeError, ValueError)


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


def parse_rows(
    items: Any,
    parse: Callable[[Any], T],
    *,
    errors: tuple[type[Exception], ...] = ROW_ERRORS,
) -> tuple[list[T], int]:
    """(the rows ``parse`` accepts, how many it refused with one of ``errors``) of a JSON
    list; a missing or empty list gives no rows."""
    kept: list[T] = []
    refused = 0
    for item in items or []:
        try:
            kept.append(parse(item))
        except errors:
            refused += 1
    return kept, refused
