# Two commands on a fresh machine with Python 3 and make:
#   make build   set up .venv and build the site from content/ into output/
#   make test    set up everything the tests need and run the whole suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP_VERSION := 26.3
STAMP_SITE := $(VENV)/.installed-site
STAMP_TEST := $(VENV)/.installed-test
NODE_STAMP := tests/.node/.installed
MD_SUITE := $(VENV)/markdown-suite

.PHONY: build rebuild serve preview publish syndicate test test-fast lint clean distclean bench \
	system-deps

# The virtualenv is made once; the stamps below remember what was installed into it, so
# a second `make build` installs nothing until pyproject.toml or constraints.txt change.
$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP_SITE): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check pip==$(PIP_VERSION)
	$(BIN)/pip install -q -c constraints.txt --group site --group publish
	touch $@

$(STAMP_TEST): $(STAMP_SITE)
	$(BIN)/pip install -q -c constraints.txt --group test
	touch $@

# Python-Markdown's own test suite, from the source release of the pinned version: the
# tests run it with fastbuild's Markdown shortcuts on (tests/test_markdown_suite.py). Its
# copy of the package is removed, so the suite tests the installed one.
$(MD_SUITE)/.fetched: $(STAMP_SITE)
	rm -rf $(MD_SUITE) && mkdir -p $(MD_SUITE)
	$(BIN)/pip download -q --disable-pip-version-check --no-deps --no-binary :all: -d $(MD_SUITE) \
		"markdown==$$($(BIN)/python -c 'import markdown; print(markdown.__version__)')"
	tar -xzf $(MD_SUITE)/*.tar.gz -C $(MD_SUITE) --strip-components=1
	rm -rf $(MD_SUITE)/markdown $(MD_SUITE)/*.tar.gz
	touch $@

# Debian packages the browser, HTML-validator and comparison benchmarks need. Checked on
# every `make test` (a few `command -v`), installed only when something is missing.
system-deps:
	bash scripts/install-system-deps.sh

$(NODE_STAMP): tests/package.json | system-deps
	cd tests && npm install --no-audit --no-fund --silent --prefix .node $$(node -e 'const p=require("./package.json");console.log(Object.entries(p.dependencies).map(([k,v])=>k+"@"+v).join(" "))')
	touch $@

build: $(STAMP_SITE)
	$(BIN)/invoke build

rebuild: $(STAMP_SITE)
	$(BIN)/invoke rebuild

serve: $(STAMP_SITE)
	$(BIN)/invoke serve

preview: $(STAMP_SITE)
	$(BIN)/invoke preview

publish: $(STAMP_SITE)
	$(BIN)/invoke publish

syndicate: $(STAMP_SITE)
	$(BIN)/invoke syndicate

test: $(STAMP_TEST) $(MD_SUITE)/.fetched system-deps $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

test-fast: $(STAMP_TEST) $(MD_SUITE)/.fetched
	$(BIN)/python -m pytest -m "not slow and not browser"

lint: $(STAMP_TEST)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true

bench: $(STAMP_TEST)
	$(BIN)/python bench/run.py

clean:
	rm -rf output var outbox tests/artifacts .pytest_cache
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) tests/.node
