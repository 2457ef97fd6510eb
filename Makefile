# Two commands do all the set-up: `make report` (the main job) and `make test`.
# Both create .venv and install the project into it on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: report test lint bench openclaw clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

## the harness against the reference store; writes reports/latest/
report: $(STAMP)
	$(BIN)/store-harness report $(ARGS)

## the test suite, in parallel; MARKS= (empty) also runs the slow tier
MARKS ?= not slow
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --benchmark-skip -m "$(MARKS)" $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

## the real upstream store (openclaw 2026.3.11 from npm, installed on first use) through
## the gate, bounded; OUT= names the output folder (default reports/openclaw-2026.3.11/gate)
openclaw: $(STAMP)
	bash adapters/openclaw/gate.sh $(OUT)

bench: $(STAMP)
	mkdir -p reports/latest
	$(BIN)/python -m pytest tests/benchmarks -n 0 --benchmark-only --benchmark-json=reports/latest/micro-benchmarks.json $(ARGS)

clean:
	rm -rf $(VENV) reports/latest .pytest_cache .mypy_cache .ruff_cache
