# Two commands a new machine needs: `make demo` and `make test`. Each sets up what it uses.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed: installing Debian's python3-venv"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends python3-venv && \
	  rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }

# Integration tests and the demo run Debian's prometheus and promtool; install them where missing.
PROMETHEUS := $(shell command -v prometheus 2>/dev/null)
PROMTOOL   := $(shell command -v promtool 2>/dev/null)

.PHONY: prometheus
prometheus:
ifeq ($(and $(PROMETHEUS),$(PROMTOOL)),)
	@echo "prometheus/promtool missing: installing Debian's prometheus"; \
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends prometheus
endif

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP) prometheus-optional
	$(BIN)/meshgate demo

# The demo runs without metrics when prometheus cannot be installed.
.PHONY: prometheus-optional
prometheus-optional:
	@$(MAKE) --no-print-directory prometheus || echo "prometheus could not be installed: the demo runs with metrics off"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) prometheus
	$(BIN)/pytest -q

test: lint typecheck unit

bench: $(STAMP) prometheus
	$(BIN)/python bench/audit_scale.py
	$(BIN)/python bench/slack_ack_latency.py
	$(BIN)/python bench/metrics_scale.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
