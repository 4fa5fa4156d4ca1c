# Two commands for a fresh machine: `make run` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint bench clean kafka-down java browser

# The broker runs from the jars Maven Central serves: Java 17 and Maven must be there.
java:
	@command -v java >/dev/null && command -v mvn >/dev/null || { \
	  echo "DataApp's Kafka broker needs Java 17 and Maven: apt-get install openjdk-17-jre-headless maven"; \
	  exit 1; }

# The browser tests drive Debian's headless Chromium through its chromedriver. Installed
# where we can (root with apt-get); elsewhere, or if apt-get fails (offline), `make test`
# goes on and those tests skip - except under CI=true, where a missing browser fails them.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; } || \
	    echo "apt-get could not install chromium chromium-driver: the browser tests will skip (and fail under CI=true)"; \
	else \
	  echo "No chromium/chromedriver on PATH and no root apt-get: the browser tests will skip (and fail under CI=true)"; \
	fi

$(STAMP): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "DataApp needs Python 3.11 or newer: make PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP) java
	$(BIN)/dataapp run

test: $(STAMP) java browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not kafka and not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Each prints its figures and a ratio against a ceiling measured in the same run
# (docs/benchmarks.md has the results and what limits them).
bench: $(STAMP) java
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/worker.py
	$(BIN)/python bench/lookups.py
	$(BIN)/python bench/memory.py

kafka-down: $(STAMP)
	$(BIN)/dataapp kafka down

clean:
	-[ -x $(BIN)/dataapp ] && $(BIN)/dataapp kafka down
	rm -rf $(VENV) .data build *.egg-info
