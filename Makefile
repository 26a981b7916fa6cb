# Porta on a developer machine and in CI. Needs only python3 (3.11); everything else is installed
# when missing: Python packages into .venv, PostgreSQL/RabbitMQ from apt, s3rver from npm.
#   make run         all of Porta in the foreground (Ctrl-C stops what it started)
#   make test        every test suite against real PostgreSQL, RabbitMQ, S3 and SMTP
#   make test-unit   only the tests in unit/ folders, in seconds, with nothing running: every
#                    address of PostgreSQL, RabbitMQ, S3 and SMTP points at a closed port
#                    (127.0.0.1:1, dev/devstack/suites.py), so a unit test that reaches one fails
#   make lint        ruff
# PYTEST_ARGS="-x -k name" is passed to every pytest run of `make test` and `make test-unit`.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PACKAGES := shared $(patsubst %/pyproject.toml,%,$(sort $(wildcard services/*/pyproject.toml))) dev
# The install is redone only when a pyproject file or the pins change.
INSTALL_HASH := $(shell cat constraints.txt $(addsuffix /pyproject.toml,$(PACKAGES)) | sha256sum | cut -c1-16)
STAMP := $(VENV)/.porta-installed-$(INSTALL_HASH)

.PHONY: run test test-unit lint bootstrap

bootstrap: $(STAMP)

# nameko 2.14.1 imports pkg_resources, which setuptools 81 removed: install the pinned one first.
$(STAMP):
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt setuptools
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt $(addprefix -e ,$(PACKAGES))
	rm -f $(VENV)/.porta-installed-*
	touch $@

run: $(STAMP)
	$(PY) -m devstack.run

test: $(STAMP)
	$(PY) -m devstack.infra run -- $(PY) -m devstack.suites $(PYTEST_ARGS)

# No devstack.infra: nothing is started, and what already runs is out of reach.
test-unit: $(STAMP)
	$(PY) -m devstack.suites --unit $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
