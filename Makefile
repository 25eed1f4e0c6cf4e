# WaPipe: `make demo` runs the product on the embedded default; `make test` runs every check.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast mutate check install services system-packages lock bench messages clean

demo: $(STAMP)
	$(VENV)/bin/wapipe demo

test: $(STAMP) system-packages services check

# The inner loop: domain, services and storage on SQLite (no browser, no PostgreSQL), in under a minute.
test-fast: $(STAMP)
	VENV=$(VENV) scripts/test-fast.sh

# Mutation testing of the modules where a silent bug costs most (see docs/testing.md); prints the score.
mutate: $(STAMP) services
	VENV=$(VENV) scripts/mutate.sh

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/install-python.sh
	PYTHON=$(PYTHON) VENV=$(VENV) scripts/install-python.sh
	touch $(STAMP)

system-packages:
	scripts/install-system.sh

services:
	scripts/services.sh

check:
	VENV=$(VENV) scripts/check.sh

# Re-resolve the pinned versions after changing dependencies in pyproject.toml.
lock:
	VENV=$(VENV) scripts/lock.sh

# Extract the words to translate into locale/messages.pot and list what each language does not translate yet.
messages: $(STAMP)
	$(VENV)/bin/python scripts/messages.py

# Sync engine benchmark (prints JSON); pass BENCH_ARGS="--seconds 60" for the issue's full scenario.
# Then the panel's, and matching's precision and recall on the labelled corpus.
bench: $(STAMP)
	$(VENV)/bin/python -m bench.sync_bench $(BENCH_ARGS)
	$(VENV)/bin/python -m bench.panel_bench
	$(VENV)/bin/python -m bench.matching_bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache mutants
