# Set-up and everyday commands. `make demo` and `make test` work on a fresh
# machine with Python 3.11 and pip.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo serve test bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Load the bundled UN Consolidated List into a demo store and look around.
DEMO_DB ?= $(CURDIR)/demo.db
demo: $(STAMP)
	$(BIN)/vigil --db $(DEMO_DB) import --bundled
	$(BIN)/vigil --db $(DEMO_DB) lists
	$(BIN)/vigil --db $(DEMO_DB) show QDe.161
	$(BIN)/vigil --db $(DEMO_DB) match "Aiman Zawahiri" --dob 1951 --country EG
	$(BIN)/vigil --db $(DEMO_DB) match "أيمن الظواهري"

# The HTTP service over the demo store, with a new screener key printed first.
serve: $(STAMP)
	$(BIN)/vigil --db $(DEMO_DB) import --bundled
	$(BIN)/vigil --db $(DEMO_DB) keys create --role screener --label demo
	$(BIN)/vigil --db $(DEMO_DB) serve

test: $(STAMP)
	$(BIN)/pytest -n 2 tests

# Import, matching quality and screening speed. The bench extra brings the
# reference matcher (nomenklatura) and names-dataset; the false-alert
# population is built once into benchmarks/.cache/; the HTTP benchmark needs wrk.
# About 20 minutes on 2 cores.
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/import.py
	$(BIN)/python benchmarks/quality.py
	$(BIN)/python benchmarks/speed.py
	$(BIN)/python benchmarks/exchange.py
	@command -v wrk >/dev/null || { echo "benchmarks/http_service.py needs wrk (Debian: apt-get install wrk)"; exit 1; }
	$(BIN)/python benchmarks/http_service.py

clean:
	rm -rf $(VENV) demo.db
