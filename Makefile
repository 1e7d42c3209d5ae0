# Two commands a new machine needs: `make demo` and `make test`. Each sets up what it uses.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

TOOLS  := $(VENV)/.tools

.PHONY: demo test lint typecheck unit bench clean deploy-playbook

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

# Tools the tests run that are not Python packages: kubectl (kustomize renders deploy/) and
# promtool (checks deploy/'s alert rules), from Debian's kubernetes-client and prometheus.
$(TOOLS): $(BIN)/python
	@missing=""; \
	command -v kubectl >/dev/null || missing="$$missing kubernetes-client"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian's$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@touch $(TOOLS)

# deploy/base ships the packaged playbook as a ConfigMap; kustomize cannot read outside deploy/.
deploy-playbook:
	cp workflows/istio-playbook.yaml deploy/base/istio-playbook.yaml

demo: $(STAMP)
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

bench: $(STAMP)
	$(BIN)/python bench/audit_scale.py
	$(BIN)/python bench/slack_ack_latency.py
	$(BIN)/python bench/redis_scale.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
