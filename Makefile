# guildstats — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The PostgreSQL + Redis suite (CI and `make test`); pytest-django creates test_<db> itself and
# drops it at the end. The name is unique to the run, so parallel runs on a shared server never
# collide (the database named here need not exist: Django connects to `postgres` to create it).
RUN_ID := $(shell python3 -c "import uuid; print(uuid.uuid4().hex[:10])")
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/guildstats_$(RUN_ID)
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install install-dev chromium run test test-collector test-sqlite test-postgres lint bench clean

$(VENV)/.runtime: requirements.txt contract/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --require-hashes -r requirements.txt
	$(PY) -m pip install -q --no-deps -e ./contract
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt collector/pyproject.toml
	$(PY) -m pip install -q --require-hashes -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e ./contract -e ./collector
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

## chromium: Debian's Chromium for the browser tests (tests/dashboard/test_browser.py), from apt
## when missing (root, or sudo without a password); never a browser downloaded by Playwright.
## Without it (and no way to install it) the browser tests are skipped, saying why.
chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	  else echo "chromium missing and apt-get needs root: browser tests will be skipped"; exit 0; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

## run: migrate and start the ASGI server, a Celery worker and Beat (embedded defaults: SQLite,
## no Redis; set DATABASE_URL / REDIS_URL to use PostgreSQL and Redis), under supervisord: a
## process that dies is restarted, the others keep running (scripts/run.py).
run: install
	$(PY) manage.py migrate --noinput
	rm -rf var/prometheus
	$(PY) scripts/run.py

## test: lint, migration check, then the whole suite on SQLite and on PostgreSQL + Redis, the two
## side by side (one a core: much of the PostgreSQL suite waits on subprocesses and outages),
## each one's output printed whole when it ends; either failing fails the target.
test: install-dev chromium lint test-collector
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

## test-collector: the collector's own unit tests, without Django (the plugin off: the collector
## is a library for someone's bot); its acceptance by the server is in tests/collector.
test-collector: install-dev
	$(PY) -m pytest -q -p no:django collector/tests

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy contract/guildstats_contract core pipeline privacy ops guilds stats moderation \
	  invites dashboard directory config devtools collector/guildstats_collector
	$(VENV)/bin/lint-imports
	GUILDSTATS_VAR_DIR=var/test-lint $(PY) manage.py makemigrations --check --dry-run

test-sqlite: install-dev
	rm -rf var/test-sqlite
	GUILDSTATS_VAR_DIR=var/test-sqlite $(PY) -m pytest -q

## The default connection pool (10): Channels' test communicator no longer strands a pooled
## connection per WebSocket test (tests/conftest.py consumer_connections_returned).
test-postgres: install-dev
	$(PY) scripts/check_services.py "$(TEST_DATABASE_URL)" "$(TEST_REDIS_URL)"
	rm -rf var/test-postgres
	DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" GUILDSTATS_DB_CONN_MAX_AGE=0 \
	  GUILDSTATS_VAR_DIR=var/test-postgres $(PY) -m pytest -q --create-db; \
	  status=$$?; $(PY) scripts/check_services.py --drop-test-database "$(TEST_DATABASE_URL)"; \
	  exit $$status

## bench: the ingest benchmark on PostgreSQL + Redis (not part of CI).
bench: install-dev
	$(PY) scripts/check_services.py "$(TEST_DATABASE_URL)" "$(TEST_REDIS_URL)"
	$(PY) bench/ingest_bench.py

clean:
	rm -rf var $(VENV)
