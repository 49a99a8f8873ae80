# Two commands do everything (see README.md):
#   make book   execute every chapter on the embedded data and build _build/html
#   make test   the formatter and linter (ruff), unit tests, strict nbval over
#               the chapters, the book build with warnings as errors, and the
#               headless-browser check of the HTML
# Both create or reuse the virtual environment in .venv.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Re-install when the dependency list changes.
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# Data made by the package (the synthetic set, sweep caches) stays in the repo.
export CARVANA_CACHE ?= $(CURDIR)/.cache
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0

.PHONY: book test lint notebooks setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[cpu,dev]'
	rm -f $(VENV)/.installed-*
	touch $@

book: $(STAMP)
	$(VENV)/bin/jupyter-book build . --builder html -W -n --keep-going
	@echo "The book is built: open $(CURDIR)/_build/html/index.html"

# ruff's settings are in pyproject.toml (book/ruff.toml holds the notebooks to 79 columns).
lint: $(STAMP)
	$(VENV)/bin/ruff format --check carvana_tutorial tests book
	$(VENV)/bin/ruff check carvana_tutorial tests book

test: lint
	$(PY) -m pytest tests book --nbval --nbval-current-env \
		--nbval-sanitize-with book/sanitize.cfg -p no:cacheprovider

# For authors: re-execute the chapters in place so the stored outputs are fresh.
notebooks: $(STAMP)
	for nb in book/0*.ipynb; do \
		$(VENV)/bin/jupyter execute --inplace --timeout=1800 "$$nb" || exit 1; \
	done
	$(PY) book/strip_stderr.py book/0*.ipynb

clean:
	rm -rf _build .cache
