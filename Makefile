# tgwebhook: `make run` (demo appliance) and `make test` (whole suite) work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run serve test lint format bench dashboards clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.deps

# The appliance in demo mode: the built-in Telegram simulator, a demo bot, traffic; no token.
run: $(VENV)/.deps
	$(BIN)/python app.py demo

serve: $(VENV)/.deps
	$(BIN)/python app.py serve

test: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.dev-deps
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Figures for bench/results/ (about 25 minutes; run on a quiet machine).
bench: $(VENV)/.dev-deps
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/ingest.py --connections 64 --dup 50 --name ingest-duplicates
	$(BIN)/python bench/ingest.py --targets tgwebhook --connections 64 --rate 1100 --name ingest-1000rps
	$(BIN)/python bench/ingest.py --targets tgwebhook --connections 64 --prefill 0,5000000 --name ingest-5m
	$(BIN)/python bench/alert_latency.py
	$(BIN)/python bench/e2e.py
	$(BIN)/python bench/proxy.py

# Regenerate grafana/dashboards/*.json from grafana/generate.py (commit the result).
dashboards: $(VENV)/.deps
	$(BIN)/python -m grafana.generate

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
