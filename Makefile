# Two commands for a newcomer: `make run` and `make test`. Everything else is a step they call.
# Each step is idempotent: a second run only checks and is fast.
SHELL := /bin/bash
PY := .venv/bin/python
export PGPORT ?= 54329
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run dev scheduler test stop setup system-deps venv messages db migrate demo lint pytest bench

# The web server runs with the scheduler beside it (bin/with-scheduler: the daily `tick` at 01:00
# Asia/Shanghai, log in log/scheduler.log, stopped when the server stops). Whatever serves, keep the prefix.
run: setup demo
	HOST=$(HOST) PORT=$(PORT) bin/with-scheduler bin/serve

# For developers: Django's auto-reloading server with debug on (no scheduler: run `make scheduler` beside it).
dev: setup demo
	DJANGO_DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

# The scheduler alone, in the foreground (e.g. on a second machine, or under its own systemd unit).
scheduler: setup
	$(PY) manage.py run_scheduler

test: setup lint pytest

setup: system-deps venv messages db migrate

system-deps:
	@WITH_BROWSER=1 bin/system-deps

venv: .venv/.installed
.venv/.installed: requirements.txt
	@test -x $(PY) || python3 -m venv .venv
	.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

# The English catalogue (msgids are the Chinese text): compiled only when the .po is newer than the .mo.
# msgfmt from Debian's gettext; `manage.py compilemessages` would also walk .venv's own catalogues.
# django.po: pages and services; djangojs.po: the maps' and case pages' scripts (served by /jsi18n/).
messages: locale/en/LC_MESSAGES/django.mo locale/en/LC_MESSAGES/djangojs.mo
locale/en/LC_MESSAGES/%.mo: locale/en/LC_MESSAGES/%.po
	msgfmt --check -o $@ $<

db:
	@if [ -n "$$DATABASE_URL" ]; then echo "DATABASE_URL is set: using it, not the local cluster"; else bin/pg-cluster start; fi

# Schema changes and the demo load run as the owner role; the site itself (runserver) as the app
# role, which owns nothing (README "Database roles"). The test suite picks the owner in tests/settings.py.
migrate:
	@DB_ROLE=owner $(PY) manage.py migrate --noinput -v 0

demo:
	DB_ROLE=owner $(PY) manage.py load_demo

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports

# Parallel: one worker per core, at least two (TEST_WORKERS=0 runs serially). pytest-django gives each worker
# its own test database (TEST_DB_NAME + _gw0, _gw1, ...); tests/conftest.py spreads the long tests over them.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ "$$n" -lt 2 ] && n=2; echo $$n)

pytest:
	.venv/bin/pytest -n $(TEST_WORKERS)

stop:
	@bin/pg-cluster stop

bench: setup
	$(PY) -m bench
