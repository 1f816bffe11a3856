# Parley: `make run` serves on embedded defaults; `make test` runs the suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# The Python for the venv: the pyenv version pinned in .python-version, else
# any python3.13 / python3.12 on PATH.
BASE_PYTHON ?= $(shell (pyenv which python 2>/dev/null) || command -v python3.13 || command -v python3.12 || command -v python3)

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/parley
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test test-main test-smoke chromium worker

$(VENV)/.installed: pyproject.toml
	@$(BASE_PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "Parley needs Python >= 3.12"'
	test -x $(PY) || $(BASE_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py firstrun --base-url "$${PARLEY_PUBLIC_URL:-http://127.0.0.1:$(PORT)}"
	@# Plain HTTP on loopback: cookies cannot be Secure here, and webhook
	@# targets on this machine are allowed.
	SESSION_COOKIE_SECURE=$${SESSION_COOKIE_SECURE:-false} \
	CSRF_COOKIE_SECURE=$${CSRF_COOKIE_SECURE:-false} \
	PARLEY_WEBHOOK_ALLOW_PRIVATE=$${PARLEY_WEBHOOK_ALLOW_PRIVATE:-true} \
	exec $(PY) manage.py serve --port $(PORT)

worker: $(VENV)/.installed
	exec $(PY) manage.py worker

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: $(VENV)/.installed chromium test-main test-smoke

# The whole suite on PostgreSQL + Redis (the production paths).
test-main:
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	$(PY) -m pytest -q $(PYTEST_ARGS)

# The smoke pass on the embedded defaults: SQLite, in-memory layer, in-process worker.
test-smoke:
	env -u DATABASE_URL -u REDIS_URL PARLEY_VAR_DIR=$(CURDIR)/var/smoke \
	$(PY) -m pytest -q -m smoke $(PYTEST_ARGS)
