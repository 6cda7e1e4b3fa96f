# changedesk: `make run` to try it, `make test` to test it. See README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The OpenID Connect provider of the sign-in tests (see the rule below `pytest`).
OIDC_PROVIDER := changedesk/signin/tests/oidc

.PHONY: run test lint pytest bench soak clean

# The virtual environment is rebuilt whenever the pinned requirements change.
$(BIN)/changedesk: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

# LDAP sign-in's python-ldap has no wheel: it builds against Debian's libldap2-dev and
# libsasl2-dev (and Python's own headers). Where they are, requirements-ldap.txt goes into
# the venv (again whenever it, the venv or the headers change); where they are not, LDAP
# sign-in is left out and its tests skip, and this is tried again on every run until the
# headers appear. (.ci/run installs them, and makes the LDAP tests fail rather than skip.)
LDAP_HEADERS ?= /usr/include/ldap.h /usr/include/sasl/sasl.h \
	$(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h
$(VENV)/.ldap-installed: requirements-ldap.txt $(BIN)/changedesk $(wildcard $(LDAP_HEADERS))
	@if ls $(LDAP_HEADERS) >/dev/null 2>&1; then \
		echo "$(BIN)/pip install -r requirements-ldap.txt"; \
		$(BIN)/pip install --quiet -r requirements-ldap.txt && touch $@; \
	else \
		echo "LDAP sign-in left out: no libldap2-dev, libsasl2-dev or Python headers" \
			"(README, LDAP sign-in)"; \
	fi

run lint pytest: $(VENV)/.ldap-installed

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

pytest: $(BIN)/changedesk $(OIDC_PROVIDER)/node_modules
	$(BIN)/pytest $(PYTEST_ARGS)

# The OpenID Connect provider the sign-in tests start (npm's oidc-provider), installed from
# its lock file when missing or when the lock file changes. Without npm its tests are skipped
# (failed when CHANGEDESK_REQUIRE_OIDC=1).
$(OIDC_PROVIDER)/node_modules: $(OIDC_PROVIDER)/package-lock.json
	@if command -v npm >/dev/null; then \
		cd $(OIDC_PROVIDER) && npm ci --no-audit --no-fund && touch node_modules; \
	else echo "npm not found: the OpenID Connect sign-in tests will be skipped"; fi

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
