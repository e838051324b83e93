# Two entry points for people (see README): `make run` and `make test`. Everything else is a step of those.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
CODE := service tests $(wildcard bench)

.PHONY: run test install lint typecheck rules-check unit chart-check clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

run: install
	$(BIN)/b24rules serve --sandbox

lint: install
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)

typecheck: install
	$(BIN)/mypy

rules-check: install
	$(BIN)/b24rules check rules
	$(BIN)/b24rules test rules

unit: install
	$(BIN)/pytest

chart-check: install
	bash deploy/check-chart.sh

test: lint typecheck rules-check unit chart-check

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var
