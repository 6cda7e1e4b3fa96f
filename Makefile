# changedesk: `make run` to try it, `make test` to test it. See README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint pytest bench soak clean

# The virtual environment is rebuilt whenever the pinned requirements change.
$(BIN)/changedesk: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

# The product as it runs in production (its own error pages, gunicorn, static files
# collected), on plain HTTP, with an outbox worker beside it printing the mail to the console
# with links to the port served. `DEBUG=true make run` for Django's debug pages and reloader.
RUN_ENV = DEBUG=$${DEBUG:-false} HTTPS=$${HTTPS:-false} EMAIL_URL=$${EMAIL_URL:-console://} \
	SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)}

run: $(BIN)/changedesk
	$(RUN_ENV) $(BIN)/changedesk demo
	$(RUN_ENV) $(BIN)/changedesk serve --host $(HOST) --port $(PORT) --worker

test: lint pytest

lint: $(BIN)/changedesk
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy changedesk
	$(BIN)/lint-imports
	$(BIN)/python -m django makemigrations --check --dry-run --settings=changedesk.settings

pytest: $(BIN)/changedesk
	$(BIN)/pytest $(PYTEST_ARGS)

# Every main page and API list against a bare view (the floor), interleaved, at 10 RFCs and at
# a large size (BENCH_SIZES: 20,000 on SQLite, 500,000 on PostgreSQL), each size in a database
# of its own, made once with `changedesk bench-data`. Exits 1 when a figure is over its bound.
bench: $(BIN)/changedesk
	$(BIN)/python -m changedesk.site.bench

# Web, worker and an SMTP sink under a user mix for SOAK_SECONDS (default 600; 3600 for a
# release): errors, p95 per endpoint, throughput and memory over time. Not a test.
soak: $(BIN)/changedesk
	$(BIN)/python -m changedesk.site.soak

clean:
	rm -rf $(VENV) var build *.egg-info
