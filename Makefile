# Two commands: `make run` and `make test`. Each creates .venv when missing and installs
# only when pyproject.toml or constraints.txt changed (the stamp file records the last install).
VENV := .venv
BIN := $(VENV)/bin
EXTRAS ?= dev  # optional dependency groups; CI adds airflow: make test EXTRAS=dev,airflow
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(strip $(EXTRAS)))

# The venv's commands first: `kedro mlflow ui` and `kedro viz` start `mlflow`/`uvicorn` by name.
export PATH := $(abspath $(BIN)):$(PATH)
export KEDRO_DISABLE_TELEMETRY := 1
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := false
export MLFLOW_DISABLE_TELEMETRY := true

ARGS ?=  # extra arguments for `make ui` / `make viz`, e.g. ARGS="--port 5001"

.PHONY: install run test test-fast lint format viz ui team-up team-down

install: $(STAMP)

$(BIN)/python:
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	# torch first and alone: pip then takes the CPU wheel instead of resolving a CUDA build.
	$(BIN)/python -m pip install --quiet -c constraints.txt torch
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[$(strip $(EXTRAS))]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kedro run

# --durations=20: the 20 slowest tests close the report, to see where the time goes.
test: $(STAMP)
	$(BIN)/python -m pytest --durations=20

# Every library test, none of the CLI/pipeline runs (marked slow in tests/conftest.py): a minute or two.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" --durations=10

# ruff's lint rules and formatting, as CI checks them (settings in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The UI and viz need an installed project, not a particular set of extras: no reinstall for them.
$(BIN)/kedro:
	$(MAKE) install

viz: | $(BIN)/kedro
	$(BIN)/kedro viz run $(ARGS)

ui: | $(BIN)/kedro
	$(BIN)/kedro mlflow ui $(ARGS)

# A team's MLflow server on this machine: PostgreSQL and `mlflow server` on 127.0.0.1:5050, state in
# .team/ (scripts/team-server). `kedro run --env team` logs there; `eval "$$(scripts/team-server env)"`
# points the server tests at it. team-down stops both, whatever state they are in.
team-up: $(STAMP)
	scripts/team-server up

team-down:
	scripts/team-server down
