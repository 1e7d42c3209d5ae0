# Two commands a new machine needs: `make demo` and `make test`. Each sets up what it uses.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TOOLS  := $(VENV)/.tools

.PHONY: demo test lint typecheck unit bench clean deploy-playbook prometheus-optional

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed: installing Debian's python3-venv"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends python3-venv && \
	  rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

# Tools the tests run that are not Python packages, from Debian: kubectl (kubernetes-client:
# kustomize renders deploy/), prometheus and promtool (integration tests, the demo's numbers,
# deploy/'s alert rules). The tests fail, never skip, without them.
$(TOOLS): $(BIN)/python
	@missing=""; \
	command -v kubectl >/dev/null || missing="$$missing kubernetes-client"; \
	{ command -v promtool >/dev/null && command -v prometheus >/dev/null; } || missing="$$missing prometheus"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian's$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@touch $(TOOLS)

# The demo's numbers come from a local Prometheus; without one it runs with metrics off.
prometheus-optional:
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || { \
	  echo "installing Debian's prometheus for the demo's numbers"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends prometheus; } \
	  || echo "prometheus could not be installed: the demo runs with metrics off"; }

# deploy/base ships the packaged playbook as a ConfigMap; kustomize cannot read outside deploy/.
deploy-playbook:
	cp workflows/istio-playbook.yaml deploy/base/istio-playbook.yaml

demo: $(STAMP) prometheus-optional
	$(BIN)/meshgate demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) $(TOOLS)
	$(BIN)/pytest -q

test: lint typecheck unit

bench: $(STAMP) $(TOOLS)
	$(BIN)/python bench/audit_scale.py
	$(BIN)/python bench/slack_ack_latency.py
	$(BIN)/python bench/metrics_scale.py
	$(BIN)/python bench/redis_scale.py
	$(BIN)/python bench/redis_recovery.py
	$(BIN)/python bench/watch_scale.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
