# Two commands on a fresh clone: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEV := DJANGO_DEBUG=true
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run example test lint check clean bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 is required, found " + sys.version.split()[0]) if sys.version_info[:2] != (3, 11) else None'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

example: install
	mkdir -p var
	$(DEV) $(PY) manage.py migrate --verbosity 0
	$(DEV) $(PY) manage.py create_signing_certificate
	$(DEV) $(PY) manage.py load_example

# The background worker (mail) runs beside the server and stops with it.
run: example
	$(DEV) $(PY) manage.py db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(DEV) $(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(PY) -m pytest

# ruff's settings are in pyproject.toml ([tool.ruff]). `ruff check --fix .` and
# `ruff format .` fix what they can.
lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

check: install
	$(DEV) $(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var/db.sqlite3 var/staticfiles *.egg-info .pytest_cache

# Benchmark (a script, not a test): gunicorn with production settings on 127.0.0.1, driven
# by wrk; see README.md, Benchmark. Then the directory with 1,000 generated organisations
# (scripts/bench_directory.py, in process: server time per page). BENCH_ARGS passes options, e.g. BENCH_ARGS=--help.
# Once with each process's local-memory cache, once with Redis (started if it is down);
# both always run; the status is the first one's failure (3: the machine was busy).
bench: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	# WeasyPrint subsets fonts with HarfBuzz when this library is there (fontTools otherwise: slower).
	dpkg-query -W -f='$${Status}' libharfbuzz-subset0 2>/dev/null | grep -q "install ok installed" \
		|| (apt-get update -qq && apt-get install -y -qq libharfbuzz-subset0)
	redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || ( $(REDIS_START) )
	status=0; \
	$(PY) scripts/bench.py --cache locmem $(BENCH_ARGS) || status=$$?; \
	$(PY) scripts/bench.py --cache redis $(BENCH_ARGS) || { s=$$?; [ $$status -ne 0 ] || status=$$s; }; \
	$(PY) scripts/bench_directory.py || { s=$$?; [ $$status -ne 0 ] || status=$$s; }; \
	exit $$status

REDIS_START = mkdir -p /var/lib/redis /var/log/redis && redis-server --daemonize yes --bind 127.0.0.1 -::1 \
	--port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log \
	&& for i in 1 2 3 4 5 6 7 8 9 10; do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
