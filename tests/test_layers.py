"""The packages are layers: no module imports from a layer above its own.

Read from the source (every ``import`` statement, the lazy ones inside functions too), so
a late import that runs back up is caught even when no test happens to execute it. The
ranks are those of ``harness/__init__.py`` and docs/design.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Longest prefix wins. Equal ranks may import each other only inside one package.
RANKS: dict[str, int] = {
    "reference_store": 0,
    "harness._errors": 1,
    "harness._roots": 1,
    "harness": 1,  # the package root re-exports the error root only
    "harness.faults": 2,
    "harness.faultfs": 2,
    "harness.foreign": 3,
    "harness.engine": 4,
    "harness.checks": 5,
    "harness.machines": 5,
    "harness.strategies": 5,
    "scenarios": 6,
    "harness.replay": 7,
    "harness.gate": 8,
    "harness.bench": 8,
    "harness.report": 8,
    "harness.cli": 9,
    "harness.pytest_plugin": 9,
}
#: Packages of one rank that must still not import each other.
SEPARATE = {("harness.gate", "harness.bench"), ("harness.gate", "harness.report")}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in RANKS:
            return prefix
    return None


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            # "from pkg import name" may name a submodule: judge by the deepest match.
            for alias in node.names:
                found.append((node.lineno, f"{target}.{alias.name}"))
    return found


def _sources() -> list[Path]:
    paths: list[Path] = []
    for package in ("reference_store", "harness", "scenarios"):
        paths += sorted((ROOT / package).rglob("*.py"))
    return paths


def test_every_module_has_a_layer() -> None:
    assert [p for p in _sources() if _layer(_module_of(p)) is None] == []


def test_no_import_runs_up_a_layer() -> None:
    upward: list[str] = []
    for path in _sources():
        module = _module_of(path)
        own = _layer(module)
        assert own is not None
        for line, target in _imports(path, module):
            theirs = _layer(target)
            if theirs is None or theirs == own:
                continue
            if RANKS[theirs] > RANKS[own] or (
                RANKS[theirs] == RANKS[own]
                and (own, theirs) in SEPARATE | {(b, a) for a, b in SEPARATE}
            ):
                upward.append(f"{path.relative_to(ROOT)}:{line}: {own} imports {target}")
    assert upward == []


@pytest.mark.parametrize(
    ("module", "target"),
    [
        ("harness.engine._explorer", "harness.gate"),  # a lower layer reaching up
        ("scenarios._catalog", "harness.cli._main"),  # the catalog reaching a front door
    ],
)
def test_the_rule_sees_an_upward_import(module: str, target: str) -> None:
    own, theirs = _layer(module), _layer(target)
    assert own is not None and theirs is not None
    assert RANKS[theirs] > RANKS[own]


def test_the_scanner_sees_a_lazy_import(tmp_path: Path) -> None:
    # The scanner must see imports inside functions, where upward imports like to hide.
    source = tmp_path / "lazy.py"
    source.write_text("def f():\n    from harness.gate import run_gate\n", encoding="utf-8")
    assert (2, "harness.gate.run_gate") in _imports(source, "harness.engine.lazy")


#: A module longer than this says why in its docstring (a line starting "Long because").
LONGEST = 650


def test_no_module_is_long_without_saying_why() -> None:
    long = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(text)) or ""
        if text.count("\n") > LONGEST and "Long because" not in doc:
            long.append(f"{path.relative_to(ROOT)}: {text.count(chr(10))} lines")
    assert long == []
