# One-command set-up: every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASSETS := webui/static/vendor/leaflet/leaflet.js
CHROMIUM := /usr/bin/chromium
DAY ?= 2026-11-24
OUT ?= out

.PHONY: install assets chromium serve demo test test-slow lint sample bench bench-matrices bench-batch bench-api bench-day clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,dev]'
	touch $(STAMP)

# The web app's front-end libraries (Leaflet), from the npm registry, served by the app itself.
$(ASSETS): webui/package.json webui/package-lock.json
	@command -v npm >/dev/null || { echo "make: npm is needed for the web app's map library (Debian: apt-get install npm)"; exit 1; }
	cd webui && npm ci --no-audit --no-fund --loglevel=error
	rm -rf webui/static/vendor/leaflet
	mkdir -p webui/static/vendor
	cp -R webui/node_modules/leaflet/dist webui/static/vendor/leaflet
	touch $(ASSETS)

assets: $(ASSETS)

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
		|| echo "make: could not install chromium; the browser tests will be skipped"; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
		(sudo -n apt-get update -qq && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
		|| echo "make: could not install chromium; the browser tests will be skipped"; \
	else \
		echo "make: $(CHROMIUM) is missing and this user cannot install it (not root, no sudo -n);" \
			"the browser tests will be skipped: apt-get install chromium"; \
	fi

install: $(STAMP) assets chromium

serve: $(STAMP) assets
	$(BIN)/doorstep serve

demo: $(STAMP) assets
	$(BIN)/doorstep demo --day $(DAY) --out $(OUT)

test: install
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check optimizer geo doorstep webui tests benchmarks
	$(BIN)/mypy optimizer geo doorstep webui tests benchmarks

# Everything, in under an hour on 2 cores: VRPTW against the peers (bench suite), matrices,
# planning end to end. bench-quick: the same in a few minutes, writing nothing in the repository.
bench: $(VENV)/.bench-installed
	$(BIN)/python -m benchmarks.vrptw
	$(BIN)/python -m benchmarks.matrices
	$(BIN)/python -m benchmarks.plan_stages

.PHONY: bench-quick
bench-quick: $(VENV)/.bench-installed
	$(BIN)/python -m benchmarks.vrptw --quick
	$(BIN)/python -m benchmarks.matrices --quick
	$(BIN)/python -m benchmarks.plan_stages --quick

bench-matrices: $(STAMP)
	$(BIN)/python -m benchmarks.matrices

bench-batch: $(STAMP)
	$(BIN)/python -m benchmarks.batch

bench-api: $(STAMP) assets
	$(BIN)/python -m benchmarks.api_load

bench-day: $(STAMP)
	$(BIN)/python -m benchmarks.day_changes

# VRPTW quality against PyVRP and VROOM (the bench extra); options: make bench-vrptw VRPTW_ARGS="--sets solomon"
.PHONY: bench-vrptw
$(VENV)/.bench-installed: $(STAMP) setup.cfg constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,dev,bench]'
	touch $@

bench-vrptw: $(VENV)/.bench-installed
	$(BIN)/python -m benchmarks.vrptw $(VRPTW_ARGS)

# The issue's targets (about 85 minutes): all of Solomon at 10 s, one instance per class of
# Homberger 200 and 1,000 at 60 s; benchmarks/results/vrptw_targets.md (VRPTW_ARGS=--resume goes on
# after an interruption)
.PHONY: bench-targets
bench-targets: $(VENV)/.bench-installed
	$(BIN)/python -m benchmarks.vrptw --suite targets --out benchmarks/results/vrptw_targets.md $(VRPTW_ARGS)

sample: $(STAMP)
	$(BIN)/doorstep sample --out data/sample

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .hypothesis webui/node_modules webui/static/vendor
