# Numerical Methods for Functional Genomics: every command a learner, an instructor or CI needs.
# `make help` lists them. The virtual environment (.venv/) is created on first use by any target.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# TORCH=cpu installs PyTorch 2.13.0 as the CPU-only build from PyTorch's own wheel index (Linux: a 0.19 GB wheel
# instead of 0.53 GB plus 2.2 GB of CUDA wheels), without its dependencies, which then come pinned from
# requirements.txt and constraints.txt; the default installs exactly the pins that CI tests. To switch an existing
# environment, `make clean` first (the install runs once, when .venv/ is created).
TORCH ?=
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
NOTEBOOKS := $(shell find phase* -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' 2>/dev/null | sort)
FIRST := phase1-foundations/module1.1-calculus-optimization/01_gradients_derivatives.ipynb
PHASES := $(wildcard phase*)
LINTED := utils tests tools benchmarks $(PHASES)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
MATHJAX := build/vendor/mathjax-3.2.2/tex-mml-chtml.js
# Cut the network for a command where the machine allows it (root or user namespaces): a new network
# namespace with only loopback, which the notebook kernels need. Evaluated only by the targets that use it.
OFFLINE_OK = $(shell unshare -n sh -c 'ip link set lo up' >/dev/null 2>&1 && echo yes)
OFFLINE = $(if $(OFFLINE_OK),unshare -n sh -c 'ip link set lo up && exec "$$0" "$$@"',)
OFFLINE_NOTE = $(if $(OFFLINE_OK),echo "== network cut for this run (unshare -n; loopback only)",echo "== note: cannot cut the network here (unshare -n needs root or user namespaces): running with the network up")

.DEFAULT_GOAL := help
.PHONY: help setup lab test lint format execute student book map normalize check-repro doctor bench freeze clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]} (set PYTHON=/path/to/python3.11)"'
	$(PYTHON) -m venv $(VENV)
	@echo "== installing the pinned environment into $(VENV)/ (README.md, 'Start', gives the size per system)"
	$(if $(filter cpu,$(TORCH)),$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on --no-deps --index-url $(TORCH_CPU_INDEX) torch==2.13.0,)
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on -r requirements.txt
	$(BIN)/python tools/install_jupyter_settings.py
	@touch $@

setup: $(STAMP) ## create .venv with the pinned environment (TORCH=cpu: CPU-only PyTorch from PyTorch's index)

lab: $(STAMP) ## open JupyterLab on the first notebook (LAB_ARGS="--port 9999" to pass options)
	$(BIN)/jupyter lab $(ROOT_FLAG) $(LAB_ARGS) $(FIRST)

# MathJax for the book is fetched once (npm, from the npm registry) before the network is cut. Without npm a
# learner's `make test` goes on, and tests/test_book.py says it did not run and why; under CI=true it fails.
$(MATHJAX): | $(STAMP)
	$(BIN)/python tools/build_book.py --vendor-only

test: $(STAMP) lint ## lint; tests, every notebook (nbval), the book in a browser, the student bundle; offline
	@$(MAKE) --no-print-directory $(MATHJAX) || [ "$$CI" != true ] || exit 1
	@$(OFFLINE_NOTE)
	$(OFFLINE) $(BIN)/pytest tests $(PHASES) tools/notebook_template --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

lint: $(STAMP) ## ruff (lint and format check) on utils, tests, tools, benchmarks and notebooks
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

format: $(STAMP) ## apply ruff's formatter and safe fixes
	$(BIN)/ruff check --fix $(LINTED)
	$(BIN)/ruff format $(LINTED)

execute: $(STAMP) ## re-execute every notebook in place from a fresh kernel (outputs are committed)
	@for nb in $(NOTEBOOKS); do echo "executing $$nb"; \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=300 "$$nb" || exit 1; done

student: $(STAMP) ## write the student hand-out: build/student/ (no solutions, outputs cleared, utils, data) + build/student.zip
	$(BIN)/python tools/make_student.py --bundle build/student

book: $(STAMP) ## build the course website: build/book/_build/html/index.html (offline once MathJax is fetched with npm)
	$(BIN)/python tools/build_book.py

map: $(STAMP) ## regenerate the README's curriculum map and every notebook's "Next" line from the notebooks
	$(BIN)/python tools/curriculum_map.py --write

normalize: $(STAMP) ## collapse solution outputs and drop check cells' True/False echo in every notebook
	$(BIN)/python tools/normalize_notebooks.py --write

check-repro: $(STAMP) ## execute every notebook twice from a fresh kernel and compare the text outputs
	@$(OFFLINE_NOTE)
	$(OFFLINE) $(BIN)/python tools/check_repro.py

doctor: $(STAMP) ## print versions, the PyTorch build (CPU or CUDA), and whether the kernel imports utils
	$(BIN)/python tools/doctor.py

bench: $(STAMP) ## run the speed benchmarks in benchmarks/ and list their verdict lines
	$(BIN)/python tools/run_benchmarks.py

freeze: $(STAMP) ## rewrite constraints.txt from the installed environment
	@{ head -2 constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | sed 's/+cpu$$//'; } > constraints.tmp && mv constraints.tmp constraints.txt

clean: ## remove .venv, build/ and caches
	rm -rf $(VENV) build .pytest_cache .ruff_cache .hypothesis *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
