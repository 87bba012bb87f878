# The two commands a newcomer needs: `make run` (try the tracker) and `make test` (the whole suite).
# Both create the virtual environment and install the pinned dependencies when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# The address `make run` serves on; load_demo prints it and reminder emails link to it.
export TRACKER_SITE_URL ?= http://$(HOST):$(PORT)
# load_demo keeps the demo accounts here; bin/run-local shows them again once the server answers.
export DEMO_ACCOUNTS_FILE ?= var/demo-accounts.txt

.PHONY: install run test lint migrate demo serve bench bench-reminders bench-import bench-exports bench-tools screenshots messages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo --accounts-file $(DEMO_ACCOUNTS_FILE)

# The web app plus a reminder worker and beat (bin/run-local; no Redis needed), stopped together.
run: demo
	bin/run-local $(HOST):$(PORT)

# The production stack without Docker: gunicorn, a Celery worker and beat (the same bin/ scripts
# as docker-compose.yml) with production settings against DATABASE_URL and REDIS_URL, e.g.
#   DATABASE_URL=postgres://... REDIS_URL=redis://... DJANGO_SECRET_KEY=... make serve
serve: install
	DJANGO_SETTINGS_MODULE=config.settings.production bin/serve

test: install
	test -d node_modules/axe-core || npm ci --no-audit --no-fund
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The Russian catalogue (locale/ru/LC_MESSAGES): refresh the .po after changing marked strings,
# then compile it (gettext's msgfmt, from Debian's gettext package). The .mo is committed too,
# so `make run` works without gettext.
messages: install
	$(BIN)/python manage.py makemessages -l ru --ignore=.venv --ignore=node_modules --ignore=bench --ignore=var
	$(BIN)/python manage.py compilemessages -l ru --ignore=.venv

# The docs' pictures (docs/screenshots/), taken by the browser journeys: Debian's Chromium
# (apt-get install -y chromium) and axe-core from package-lock.json (npm ci).
screenshots: install
	test -d node_modules/axe-core || npm ci --no-audit --no-fund
	TRACKER_SCREENSHOTS=1 $(BIN)/python -m pytest -m browser tests/browser

lint: install
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run

# The performance benchmark (docs/performance.md): a scale dataset in BENCH_DATABASE_URL
# (dropped and rebuilt), gunicorn with 2 workers on a free loopback port, wrk on every page,
# then the reminder dispatch and a bulk import. Figures are printed and kept in bench/results/<timestamp>.json.
#   make bench DOCUMENTS=200 COMMITMENTS=20000 STATUS_UPDATES=500000 ...
DOCUMENTS ?= 200
PARAGRAPHS ?= 5000
COMMITMENTS ?= 20000
STATUS_UPDATES ?= 500000
EVENTS ?= 2000
USERS ?= 10000
REMINDERS ?= 100000
BENCH_SECONDS ?= 8
BENCH_ROUNDS ?= 3
BENCH_SIZES = --documents $(DOCUMENTS) --paragraphs $(PARAGRAPHS) --commitments $(COMMITMENTS) \
	--status-updates $(STATUS_UPDATES) --events $(EVENTS) --users $(USERS)

bench-tools: install
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)

bench: bench-tools
	$(BIN)/python -m bench.run $(BENCH_SIZES) --seconds $(BENCH_SECONDS) --rounds $(BENCH_ROUNDS)
	$(MAKE) bench-reminders
	$(MAKE) bench-import

# A bulk import of IMPORT_ROWS rows in the export's format: its dry run and applying.
IMPORT_ROWS ?= 10000
bench-import: bench-tools
	$(BIN)/python -m bench.bulk_import --rows $(IMPORT_ROWS)

# The table's CSV and Excel exports of every commitment in BENCH_DATABASE_URL (the pages'
# dataset by default): time, CPU and peak memory, EXPORT_RUNS runs each, alternating.
EXPORT_RUNS ?= 3
bench-exports: bench-tools
	$(BIN)/python -m bench.exports --runs $(EXPORT_RUNS)

bench-reminders: bench-tools
	$(BIN)/python -m bench.reminders --reminders $(REMINDERS) --users $(USERS)
