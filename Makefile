# corpuskit: the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORPUSKIT := $(BIN)/corpuskit
INPUT ?=
OUTPUT ?= out
WORKERS ?= $(shell nproc 2>/dev/null || echo 2)
EXECUTOR ?= local

.PHONY: install test demo web books code quality dedup pii clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[dev]'

test: install
	$(BIN)/python -m pytest -q tests

demo: install
	$(BIN)/python -m corpuskit.demo --output demo-out --workers $(WORKERS)

web books code quality dedup pii: install
	@test -n "$(INPUT)" || { echo "usage: make $@ INPUT=path/or/glob [OUTPUT=dir] [WORKERS=n]"; exit 2; }
	$(CORPUSKIT) run pipelines/$@.yaml --input '$(INPUT)' --output $(OUTPUT)/$@ --workers $(WORKERS) --executor $(EXECUTOR)

clean:
	rm -rf demo-out out .pytest_cache
