# changedesk: `make run` to try it, `make test` to test it. See README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint pytest bench clean

# The virtual environment is rebuilt whenever the pinned requirements change.
$(BIN)/changedesk: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

run: $(BIN)/changedesk
	DEBUG=$${DEBUG:-true} SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)} $(BIN)/changedesk demo
	DEBUG=$${DEBUG:-true} SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)} \
		$(BIN)/changedesk serve --host $(HOST) --port $(PORT)

test: lint pytest

lint: $(BIN)/changedesk
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy changedesk
	$(BIN)/lint-imports
	$(BIN)/python -m django makemigrations --check --dry-run --settings=changedesk.settings

pytest: $(BIN)/changedesk
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(BIN)/changedesk
	$(BIN)/pytest -m bench -p no:randomly --benchmark-only $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var build *.egg-info
