# `make test` and friends work on a fresh clone: they create .venv and install chicrime into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# From npm (package.json): axe-core for the browser tests' accessibility checks, and plotly.js
# with esbuild for the dashboard's own plotly.js bundle (js/build-plotly.mjs), which the wheel
# ships. Without npm both are skipped (the dashboard then loads Dash's full plotly.js), except
# under CI=true.
NPM_STAMP := node_modules/.installed
PLOTLY := chicrime/app/static/plotly.min.js

.PHONY: install test lint bench demo screenshots constraints clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) $(PLOTLY)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

$(NPM_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --silent --no-audit --no-fund && touch $(NPM_STAMP); \
	elif [ "$$CI" = true ]; then echo "npm not found (apt-get install npm)"; exit 1; \
	else echo "npm not found: no plotly.js bundle, no accessibility checks (apt-get install npm)"; fi

$(PLOTLY): $(NPM_STAMP) js/build-plotly.mjs
	@if [ -f $(NPM_STAMP) ]; then npm run --silent build:plotly; fi

test: lint $(PLOTLY)
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/bench_ingest.py
	$(BIN)/python bench/bench_history.py
	$(BIN)/python bench/bench_dashboard.py

# Refresh the README's screenshots (docs/screenshots) from the browser tests.
screenshots: $(STAMP)
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest -q tests/test_browser.py -k every_page

# A synthetic lake (last 12 months) in its own folder and the dashboard on :8050, all offline.
DEMO_DATA_DIR ?= data/demo
DEMO_MAP_STYLE ?= white-bg
demo: $(STAMP) $(PLOTLY)
	DATA_DIR=$(DEMO_DATA_DIR) $(BIN)/chicrime demo
	DATA_DIR=$(DEMO_DATA_DIR) MAP_STYLE=$(DEMO_MAP_STYLE) $(BIN)/chicrime serve --host 127.0.0.1 --port 8050

# Re-pin constraints.txt: what `pip install '.[cloud]'` resolves today in a fresh venv (runtime
# only, the cloud extra included).
constraints:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PYTHON) -m venv "$$tmp/venv" && \
	"$$tmp/venv/bin/pip" install --quiet '.[cloud]' && \
	{ \
	  echo "# Exact versions of chicrime's runtime dependencies, transitive ones included: the set"; \
	  echo "# the tests run against. Made by 'make constraints' (a fresh venv, 'pip install .[cloud]',"; \
	  echo "# 'pip freeze --exclude chicrime'); regenerate it rather than edit it. To deploy with it:"; \
	  echo "#   pip install -c constraints.txt .    or    pip install -c constraints.txt chicrime-*.whl"; \
	  echo "# pip freeze leaves out pip and setuptools (dash requires setuptools; nothing imports it)."; \
	  "$$tmp/venv/bin/pip" freeze --exclude chicrime; \
	} > constraints.txt

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .mypy_cache .hypothesis build dist *.egg-info
