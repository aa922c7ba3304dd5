# Quick start: `make demo` then `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Compile the numba kernels ahead (once; about a second when already compiled), so the demo
# and a notebook's first solve do not wait for the compiler.
install: $(STAMP)
	$(BIN)/python -m siting.kernels

# The default demo, then the same region with sites and backhaul planned together.
demo: install
	$(BIN)/siting demo --out out/demo
	$(BIN)/siting run data/demo/scenario_backhaul.yaml --out out/demo-backhaul

# Two worker processes, each taking whole test files (the module fixtures that plan a demo
# run once); the machine CI runs on has two cores.
test: install
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

clean:
	rm -rf out .pytest_cache
