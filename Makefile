# OrMa: the quick start is `make run` and `make test` on a fresh clone with only python3 installed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The embedded default: SQLite in var/, a Celery worker on the filesystem broker in var/celery/,
# a file cache in var/cache/ (shared by every process), sandbox DMS.
RUN_ENV := DEBUG=$${DEBUG:-1}

.PHONY: install run serve test e2e lint fuzz bench lock clean manage

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --constraint constraints.txt --editable '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The dev server on 127.0.0.1:${PORT:-8000} and `celery -A orma worker --beat`, together (Procfile.dev).
run: install
	bash scripts/run.sh dev

# The production shape on DATABASE_URL / CELERY_BROKER_URL: gunicorn (2 workers), a worker, beat (Procfile).
serve: install
	bash scripts/run.sh serve

# A support command as `make run` would run it: `make manage ARGS="orma_check --json"` (or .venv/bin/orma ...).
manage: install
	$(VENV)/bin/orma $(ARGS)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# The production shape end to end (tests/test_e2e.py): scripts/run.sh serve (nginx, gunicorn, workers, beat) on
# DATABASE_URL's PostgreSQL and a private redis-server, a loopback DMS peer; needs nginx (apt-get install -y nginx-light).
e2e: install
	ORMA_E2E=1 $(PY) -m pytest -q -p no:randomly tests/test_e2e.py $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=1 $(VENV)/bin/mypy

fuzz: install
	$(RUN_ENV) bash scripts/fuzz.sh

# Every bench/*.py benchmark (gunicorn 2 sync workers, PostgreSQL, Redis, wrk; the startproject yardstick in the
# same run), one table of issue 12's rows, bench/results.json (docs/performance.md); about 20-25 minutes.
# `make bench BENCH_ARGS=--quick`: a smoke run of the harness in a few minutes; --strict: exit 1 on a missed goal.
bench: install
	$(PY) bench/run.py $(BENCH_ARGS)

# Refresh the constraints after changing pyproject.toml's dependencies.
lock:
	rm -rf /tmp/orma-lock && $(PYTHON) -m venv /tmp/orma-lock
	/tmp/orma-lock/bin/pip install --quiet --upgrade pip
	/tmp/orma-lock/bin/pip install --quiet '.[dev]'
	/tmp/orma-lock/bin/pip freeze --exclude-editable | grep -v '^orma' > constraints.txt

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache .hypothesis
