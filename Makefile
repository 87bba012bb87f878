# The two commands a newcomer needs: `make run` (try the tracker) and `make test` (the whole suite).
# Both create the virtual environment and install the pinned dependencies when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint migrate demo serve

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo

run: demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The production stack without Docker: gunicorn, a Celery worker and beat (the same bin/ scripts
# as docker-compose.yml) with production settings against DATABASE_URL and REDIS_URL, e.g.
#   DATABASE_URL=postgres://... REDIS_URL=redis://... DJANGO_SECRET_KEY=... make serve
serve: install
	DJANGO_SETTINGS_MODULE=config.settings.production bin/serve

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run
