# Numerical Methods for Functional Genomics: every command a learner, an instructor or CI needs.
# `make help` lists them. The virtual environment (.venv/) is created on first use by any target.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS := $(shell find phase* -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' 2>/dev/null | sort)
PHASES := $(wildcard phase*)
LINTED := utils tests tools benchmarks $(PHASES)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.DEFAULT_GOAL := help
.PHONY: help setup lab test lint format execute student book bench freeze clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]} (set PYTHON=/path/to/python3.11)"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

setup: $(STAMP) ## create .venv and install the pinned environment (every other target does this first)

lab: $(STAMP) ## start JupyterLab on the curriculum (LAB_ARGS="--port 9999" to pass options)
	$(BIN)/jupyter lab --notebook-dir=. $(ROOT_FLAG) $(LAB_ARGS)

test: $(STAMP) lint ## lint, unit tests of utils, every notebook under nbval, and the student versions
	$(BIN)/pytest tests $(PHASES) tools/notebook_template --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

lint: $(STAMP) ## ruff (lint and format check) on utils, tests, tools, benchmarks and notebooks
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

format: $(STAMP) ## apply ruff's formatter and safe fixes
	$(BIN)/ruff check --fix $(LINTED)
	$(BIN)/ruff format $(LINTED)

execute: $(STAMP) ## re-execute every notebook in place from a fresh kernel (outputs are committed)
	@for nb in $(NOTEBOOKS); do echo "executing $$nb"; \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=300 "$$nb" || exit 1; done

student: $(STAMP) ## write solution-free copies of the notebooks to build/student/ (outputs cleared)
	$(BIN)/python tools/make_student.py build/student

book: $(STAMP) ## render the executed notebooks as static HTML in build/html/ (offline)
	@for nb in $(NOTEBOOKS); do \
	  $(BIN)/jupyter nbconvert --to html --output-dir "build/html/$$(dirname $$nb)" "$$nb" || exit 1; done

bench: $(STAMP) ## run the speed benchmarks in benchmarks/ (prints ratios against a reference)
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python "$$script" || exit 1; done

freeze: $(STAMP) ## rewrite constraints.txt from the installed environment
	@{ head -2 constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | sed 's/+cpu$$//'; } > constraints.tmp && mv constraints.tmp constraints.txt

clean: ## remove .venv, build/ and caches
	rm -rf $(VENV) build .pytest_cache .ruff_cache .hypothesis *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
